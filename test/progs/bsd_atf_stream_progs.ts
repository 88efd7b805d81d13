/*
 * Programs for test/bsd_atf_stream.test.ts: FreeBSD's ATF tests
 *   tests/sys/kern/unix_stream.c          (all 14 cases),
 *   tests/sys/kern/unix_socketpair_test.c (getpeereid),
 *   tests/sys/kern/shutdown_dgram.c       (unblock),
 * ported to this socket layer.  Each ATF case is one step of a program here, under its ATF
 * name; the programs return what the cases check (counts, errno names, revents, kevent
 * fields) and the test compares that with what DragonFly 2008 gives.
 *
 * Where DragonFly 2008 differs from the FreeBSD the tests were written for:
 *  - getpeereid on a socketpair: DragonFly 2008's kern_socketpair/unp_connect2 set no
 *    peer credentials (no UNP_HAVEPC), so LOCAL_PEERCRED on a stream is ENOTCONN (FreeBSD
 *    fills them in since 2013).
 *  - kevent's returned flags keep EV_ADD: DragonFly's kqueue_register copies the whole
 *    kevent into kn_kevent (FreeBSD strips EV_ADD|EV_DELETE|EV_ENABLE|EV_DISABLE), so
 *    ourshutdown_kevent's "flags == EV_EOF" is EV_ADD|EV_EOF here.
 *  - shutdown(SHUT_RD) of a datagram socket succeeds: DragonFly's soshutdown has no
 *    ENOTCONN check (sorflush, then 0); the blocked recv is woken by sorflush's
 *    socantrcvmore and returns 0, as FreeBSD's test wants.
 *  - kevent events also assert fflags and data (filt_sowrite: ssb_space, 57344 on a
 *    stream whose SSB_STOP is clear; filt_soread: so_rcv cc), which FreeBSD leaves unchecked.
 *
 * Left out:
 *  - POLLRDHUP (peershutdown_wakeup_poll): FreeBSD 14's; DragonFly 2008 has none, so the
 *    poll asks for POLLIN|POLLRDNORM and the revents asserted are those.
 *  - The AF_INET half of shutdown_dgram's unblock (a UDP socket bound to INADDR_ANY:0):
 *    only AF_LOCAL exists; it becomes an unbound AF_LOCAL datagram socket, the other
 *    kind of socket (no name) the same soshutdown/sorflush path serves.
 *
 * Waits: the ATF "no timeout" waits (select NULL, poll INFTIM, kevent NULL) become 5 s
 * timeouts and blocked recvs get SO_RCVTIMEO 5 s, so a lost wake-up ends in a wrong count
 * (0 or EAGAIN), never a hang.  pthread_create_blocked's usleep(10000) + peekjoin EBUSY
 * becomes wait_asleep (the thread seen asleep in its call), and shutdown_dgram's
 * usleep(1000) too; the blocked thread runs on the other CPU.  sysctlbyname becomes
 * sys.sysctl; the ATF "sock" path becomes a path of its own.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_RCVTIMEO, F_SETFL, O_NONBLOCK, SHUT_RD, SHUT_WR,
  POLLIN, POLLRDNORM, POLLOUT, POLLWRNORM, EVFILT_READ, EVFILT_WRITE, EV_ADD, type Timeval, type Timespec,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep, count_or_code } from './common.js';

/* The bound for a wait the ATF test makes without a timeout. */
const LONG_MS = 5000;

/*
 * check_ctx: method (select, poll, kevent), what (read or write readiness), whether the
 * short ATF timeout (1 ms) applies.  Encoded as plain values so threads get it as args.
 */
type Method = 'select' | 'poll' | 'kevent';
interface Ctx { method: Method; read: boolean; timeout: boolean }

/*
 * One check on fd, as check_select / check_poll / check_kevent make it:
 *  select: ['select', n, fd in the returned set]
 *  poll:   ['poll', n, revents]
 *  kevent: ['kevent', n, ...[ident === fd, filter, flags, fflags, data] per event]
 */
export function* st_check(sys: Sys, ctx: Ctx, fd: number): Blocking<unknown[]> {
  switch (ctx.method) {
    case 'select': {
      const tv: Timeval = ctx.timeout ? { sec: 0, usec: 1000 } : { sec: LONG_MS / 1000, usec: 0 };
      const r = yield* sys.select(fd + 1, ctx.read ? [fd] : null, ctx.read ? null : [fd], null, tv);
      const set = ctx.read ? r.readfds : r.writefds;
      return ['select', r.n, set.length === 1 && set[0] === fd];
    }
    case 'poll': {
      const pfd = [{ fd, events: ctx.read ? POLLIN | POLLRDNORM : POLLOUT | POLLWRNORM, revents: 0 }];
      const n = yield* sys.poll(pfd, ctx.timeout ? 1 : LONG_MS);
      return ['poll', n, pfd[0].revents];
    }
    case 'kevent': {
      const kq = yield* sys.kqueue();
      const filter = ctx.read ? EVFILT_READ : EVFILT_WRITE;
      yield* sys.kevent(kq, [{ ident: fd, filter, flags: EV_ADD }], 0);    // kevent() == 0
      const ts: Timespec = ctx.timeout ? { sec: 0, nsec: 1_000_000 } : { sec: LONG_MS / 1000, nsec: 0 };
      const evs = yield* sys.kevent(kq, null, 1, ts);
      yield* sys.close(kq);
      return ['kevent', evs.length,
        ...evs.map((e) => [e.ident === fd, e.filter, e.flags, e.fflags ?? 0, e.data ?? 0])];
    }
  }
}

/* do_socketpair, with its requirements as a boolean. */
function* do_socketpair(sys: Sys): Blocking<[number, number, boolean]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  return [a, b, a >= 0 && b >= 0 && a !== b];
}

/* getpeereid: the ids, or the errno name. */
function* peereid(sys: Sys, fd: number): Blocking<unknown> {
  try {
    return yield* sys.getpeereid(fd);
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

/* The three methods one after the other, as connected_writability and its siblings do. */
function* all_methods(sys: Sys, fd: number, read: boolean, timeout: boolean): Blocking<unknown[]> {
  const out: unknown[] = [];
  for (const method of ['select', 'poll', 'kevent'] as Method[]) out.push(yield* st_check(sys, { method, read, timeout }, fd));
  return out;
}

/*
 * unix_stream.c: getpeereid, send_0, connected_writability, unconnected_writability,
 * peerclosed_writability, peershutdown_writability, peershutdown_readability,
 * ourshutdown_kevent; and unix_socketpair_test.c's getpeereid.
 */
export function* st_basic_cases(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  // getpeereid: both ends of a stream socketpair.
  let [a, b, ok] = yield* do_socketpair(sys);
  r.getpeereid = [ok, yield* peereid(sys, a), yield* peereid(sys, b)];
  yield* sys.close(a);
  yield* sys.close(b);
  // unix_socketpair_test.c getpeereid: the same, with ATF_CHECKs on socketpair's result.
  [a, b, ok] = yield* do_socketpair(sys);
  r.socketpair_getpeereid = [ok, yield* peereid(sys, a), yield* peereid(sys, b)];
  yield* sys.close(a);
  yield* sys.close(b);
  // send_0: sending zero bytes succeeds with 0.
  [a, b] = yield* do_socketpair(sys);
  r.send_0 = yield* count_or_code(sys.send(a, new Uint8Array(8), 0, 0));
  yield* sys.close(a);
  yield* sys.close(b);
  // connected_writability: a connected pair is writable (1 ms timeouts, 1 fd each).
  [a, b] = yield* do_socketpair(sys);
  r.connected_writability = yield* all_methods(sys, a, false, true);
  yield* sys.close(a);
  yield* sys.close(b);
  // unconnected_writability: a lone stream socket is not writable (PR_CONNREQUIRED).
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.unconnected_writability = [s > 0, ...(yield* all_methods(sys, s, false, true))];
  yield* sys.close(s);
  // peerclosed_writability: the peer closed: writable (CANTSENDMORE), EV_EOF.
  [a, b] = yield* do_socketpair(sys);
  yield* sys.close(b);
  r.peerclosed_writability = yield* all_methods(sys, a, false, false);
  yield* sys.close(a);
  // peershutdown_writability: the peer's SHUT_RD tells us nothing: writable, no EV_EOF.
  [a, b] = yield* do_socketpair(sys);
  const shutRd = yield* attempt(sys.shutdown(b, SHUT_RD));
  r.peershutdown_writability = [shutRd, ...(yield* all_methods(sys, a, false, false))];
  yield* sys.close(a);
  yield* sys.close(b);
  // peershutdown_readability: the peer's SHUT_WR makes us readable (EOF) for select and
  // poll; the read then does not block and gives 0.
  [a, b] = yield* do_socketpair(sys);
  const shutWr = yield* attempt(sys.shutdown(b, SHUT_WR));
  const sel = yield* st_check(sys, { method: 'select', read: true, timeout: false }, a);
  const pol = yield* st_check(sys, { method: 'poll', read: true, timeout: false }, a);
  yield* sys.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { sec: LONG_MS / 1000, usec: 0 });
  const rd = yield* count_or_code(sys.read(a, new Uint8Array(1)));
  r.peershutdown_readability = [shutWr, sel, pol, rd];
  yield* sys.close(a);
  yield* sys.close(b);
  // ourshutdown_kevent: EVFILT_WRITE registered on sv[1], then sv[1] shut for writing:
  // the event comes back with EV_EOF.
  [a, b] = yield* do_socketpair(sys);
  const kq = yield* sys.kqueue();
  const added = yield* sys.kevent(kq, [{ ident: b, filter: EVFILT_WRITE, flags: EV_ADD }], 0);
  const shut = yield* attempt(sys.shutdown(b, SHUT_WR));
  const evs = yield* sys.kevent(kq, null, 1, { sec: LONG_MS / 1000, nsec: 0 });
  r.ourshutdown_kevent = [added.length, shut, evs.length,
    ...evs.map((e) => [e.ident === b, e.filter, e.flags, e.fflags ?? 0, e.data ?? 0])];
  yield* sys.close(kq);
  yield* sys.close(a);
  yield* sys.close(b);
  return r;
}

/*
 * full_socketpair: non-blocking sends of net.local.stream.sendspace bytes until one is
 * not whole; [sendspace, whole sends, how the last one ended].  Leaves sv[0] blocking.
 */
function* full_socketpair(sys: Sys): Blocking<[number, number, number, (number | string)[]]> {
  const sendspace = yield* sys.sysctl('net.local.stream.sendspace');
  const buf = new Uint8Array(sendspace);
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  let whole = 0, last: number | string = 0;
  for (let i = 0; i < 64; i++) {          // bounded: SSB_STOP must trip
    last = yield* count_or_code(sys.send(a, buf));
    if (last !== sendspace) break;
    whole++;
  }
  yield* sys.fcntl(a, F_SETFL, 0);
  return [a, b, sendspace, [whole, last]];
}

/*
 * full_writability_select / _poll / _kevent: a full socketpair is not writable (1 ms
 * check); a thread on the other CPU blocks in the method; reading half of sendspace on
 * sv[1] (uipc_rcvd clears SSB_STOP and sowwakeup's) must wake it; the check again.
 * { full, first, blocked, read, woken, again }.
 */
export function* st_full_writability(sys: Sys, method: Method, other: number): Blocking<Record<string, unknown>> {
  const [a, b, sendspace, full] = yield* full_socketpair(sys);
  const space = sendspace / 2;
  const buf = new Uint8Array(space);
  const first = yield* st_check(sys, { method, read: false, timeout: true }, a);
  const tid = yield* sys.thread(st_check, { cpu: other, args: [{ method, read: false, timeout: false }, a] });
  const blocked = yield* wait_asleep(sys, yield* sys.getpid(), tid, method === 'kevent' ? 'kqread' : method);
  const read = yield* count_or_code(sys.read(b, buf));
  const woken = yield* sys.join(tid);
  const again = yield* st_check(sys, { method, read: false, timeout: false }, a);
  yield* sys.close(a);
  yield* sys.close(b);
  return { full, first, blocked, read, woken, again };
}

/*
 * peershutdown_wakeup_select / _poll / _kevent: a thread on the other CPU blocks waiting
 * for sv[0] to be readable; shutdown(sv[1], SHUT_WR) (unp_shutdown: socantrcvmore on the
 * peer) must wake it.  [blocked, shutdown, what the thread saw].
 */
export function* st_peershutdown_wakeup(sys: Sys, method: Method, other: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(st_check, { cpu: other, args: [{ method, read: true, timeout: false }, a] });
  const blocked = yield* wait_asleep(sys, yield* sys.getpid(), tid, method === 'kevent' ? 'kqread' : method);
  const shut = yield* attempt(sys.shutdown(b, SHUT_WR));
  const woken = yield* sys.join(tid);
  yield* sys.close(a);
  yield* sys.close(b);
  return [blocked, shut, woken];
}

/* shutdown_dgram's blocking_thread: recv one byte; the count, or the errno name. */
export function* st_blocking_recv(sys: Sys, fd: number): Blocking<number | string> {
  return yield* count_or_code(sys.recv(fd, new Uint8Array(1)));
}

/*
 * shutdown_dgram.c unblock: a datagram socket (bound; then, for the AF_INET half, an
 * unbound one) with a recv blocked on the other CPU; shutdown(SHUT_RD) must unblock it.
 * Per socket: [blocked, shutdown's outcome, the recv's result].
 */
export function* st_shutdown_dgram_unblock(sys: Sys, path: string, other: number): Blocking<unknown[][]> {
  const out: unknown[][] = [];
  for (const bound of [true, false]) {
    const s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    if (bound) yield* sys.bind(s, path);
    yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, { sec: LONG_MS / 1000, usec: 0 });
    const tid = yield* sys.thread(st_blocking_recv, { cpu: other, args: [s] });
    const blocked = yield* wait_asleep(sys, yield* sys.getpid(), tid, 'sbwait');
    const shut = yield* attempt(sys.shutdown(s, SHUT_RD));
    const rv = yield* sys.join(tid);
    yield* sys.close(s);
    if (bound) yield* sys.unlink(path);
    out.push([blocked, shut, rv]);
  }
  return out;
}
