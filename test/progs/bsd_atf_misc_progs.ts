/*
 * Programs for test/bsd_atf_misc.test.ts: four of FreeBSD's ATF kernel tests
 * (tests/sys/kern/) ported to this socket layer and held to DragonFly 2008 (SEED):
 *
 *  - socket_msg_waitall.c: close_unix_stream and close_unix_seqpacket (a MSG_WAITALL
 *    recv asking one byte more than the server sends must come back with what was sent
 *    when the server closes, PR 212716), with fewer rounds than FreeBSD's 1000; plus the
 *    other ways DragonFly's soreceive ends a MSG_WAITALL wait (waitall_ends).
 *  - socket_accept.c: tcp4 and tcp4_noaddr moved to AF_LOCAL streams (the name accept
 *    would give is read back with getpeername); plus listen on a connected socket and
 *    accept on a non-listener (both EINVAL in solisten / kern_accept).
 *  - listener_wakeup.c: all 18 rows of its table for PF_UNIX.
 *  - kern_descrip_test.c: dup2__simple, dup2__ebadf_when_2nd_arg_out_of_range and
 *    kern_maxfiles__increase, on sockets instead of regular files.
 *
 * Left out, and why:
 *  - close_tcp (socket_msg_waitall.c), the PF_INET half of listener_wakeup.c: there is no
 *    AF_INET here; close_unix_stream and the PF_UNIX half are the same tests on AF_LOCAL.
 *  - tcp4_zerolen (socket_accept.c): it passes accept a name buffer with a zero length
 *    (and then a NULL length, EFAULT); Sys.accept takes no name arguments, so neither the
 *    namelen copy-back nor the copyin fault can be expressed.  (DragonFly 2008's
 *    sys_accept would leave namelen 0, where the 2023 FreeBSD test wants the full size.)
 *    For the same reason tcp4's "salen == sizeof(sin)" is not checked.
 *  - Nothing here needs accept4, SOCK_NONBLOCK/SOCK_CLOEXEC, SO_LISTENQLIMIT,
 *    close_range or F_DUP2FD_CLOEXEC, which DragonFly 2008 lacks.
 *
 * Where DragonFly 2008 differs from the FreeBSD these tests were written for, the
 * program's comment says so and the test asserts DragonFly's answer:
 *  - shutdown(2) of a listener succeeds (uipc_shutdown has no ENOTCONN); FreeBSD: ENOTCONN.
 *  - dup2 to a descriptor above RLIMIT_NOFILE (INT_MAX included) is EINVAL: SEED's
 *    kern_dup tests `new > rlim_cur || new >= maxfilesperproc` first, for dup2 as for
 *    F_DUPFD, and returns EINVAL (FreeBSD r234131 made it EBADF; DragonFly followed later).
 *
 * Every wait is bounded: recvs under SO_RCVTIMEO (a MSG_WAITALL read that fits so_rcv
 * waits without taking anything, so a timeout is EAGAIN, never a plausible short count),
 * select and poll with timeouts, accepts behind a bounded poll or released by a connect.
 * Nothing sleeps to let things settle: wait_asleep says when a thread is blocked.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO, SO_REUSEADDR, MSG_WAITALL,
  MSG_DONTWAIT, FIONREAD, SHUT_RD, SHUT_WR, SHUT_RDWR, F_SETFL, O_NONBLOCK, POLLIN, POLLPRI, POLLRDNORM, POLLWRNORM,
  POLLRDBAND, POLLWRBAND, EVFILT_READ, EV_ADD, SIGUSR1, SA_RESTART, RLIMIT_NOFILE, WEXITSTATUS, WNOHANG,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep, count_or_code } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const BOUND = { sec: 10, usec: 0 };          // SO_RCVTIMEO of every recv that waits for another side
const BOUND_MS = 10_000;                     // the same bound for poll and select
const HIWAT = 57344;                         // net.local.stream.recvspace (SEED's PIPSIZ)

function code_of(e: unknown): string {
  if (e instanceof SysError) return e.code;
  throw e;
}

function tally(t: Record<string, number>, k: string): void { t[k] = (t[k] ?? 0) + 1; }

/* One JSON report over a status socket (one small send: it arrives whole). */
function* report(sys: Sys, fd: number, v: unknown): Blocking<void> {
  yield* sys.send(fd, enc.encode(JSON.stringify(v)));
}

/* The report, or 'ETIMEDOUT' when none came within the status socket's SO_RCVTIMEO. */
function* take_report(sys: Sys, fd: number): Blocking<unknown> {
  const b = new Uint8Array(1024);
  const n = yield* count_or_code(sys.recv(fd, b));
  if (n === 'EAGAIN') return 'ETIMEDOUT';
  if (typeof n === 'string') return n;
  return JSON.parse(dec.decode(b.subarray(0, n)));
}

/* ------------------------------------------------------------------------------------ */
/* socket_msg_waitall.c: closing a connection kicks a MSG_WAITALL recv out (PR 212716). */
/* ------------------------------------------------------------------------------------ */

const HELLO = enc.encode('hello bonjour\0');   // strlen(msg) + 1 = 14 bytes

/*
 * close_test_client: count times connect, recv(msglen + 1, MSG_WAITALL), close.  The
 * recvs' outcomes by value; it stops at the first that is not msglen (noting what was
 * queued then), so a lost wake-up costs one SO_RCVTIMEO (then EAGAIN: the 14 bytes fit
 * so_rcv, so the wait takes nothing); then it says "done" on its status socket.
 */
export function* mw_client(sys: Sys, path: string, type: number, count: number, msglen: number,
    done: number): Blocking<Record<string, number>> {
  const buf = new Uint8Array(msglen + 1);
  const got: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const s = yield* sys.socket(AF_LOCAL, type);
    yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, BOUND);
    const e = yield* attempt(sys.connect(s, path));
    const n = e === 'ok' ? yield* count_or_code(sys.recv(s, buf, MSG_WAITALL)) : `connect ${e}`;
    tally(got, String(n));
    if (n !== msglen) tally(got, `then ${yield* count_or_code(sys.ioctl(s, FIONREAD))} bytes queued`);
    yield* sys.close(s);
    if (n !== msglen) break;
  }
  yield* sys.send(done, new Uint8Array(1));   // the server stops waiting for connections
  return got;
}

/*
 * close_test: a listener (backlog 1) and a client thread on the other CPU; count times the
 * server accepts, sends "hello bonjour\0" and closes.  The accept waits behind a bounded
 * poll, which also watches for the client's "done" (it stops at its first wrong answer).
 * → { name (getsockname of the listener), accepted, sent, stop, client }.
 */
export function* msg_waitall_close(sys: Sys, path: string, type: number, count: number,
    other: number): Blocking<Record<string, unknown>> {
  const s = yield* sys.socket(AF_LOCAL, type);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 1);
  const name = yield* sys.getsockname(s);
  const [done, done2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const t = yield* sys.thread(mw_client, { cpu: other, args: [path, type, count, HELLO.length, done2] });
  let accepted = 0, sent = 0, stop = '';
  for (let i = 0; i < count; i++) {
    const fds = [{ fd: s, events: POLLIN, revents: 0 }, { fd: done, events: POLLIN, revents: 0 }];
    if ((yield* sys.poll(fds, BOUND_MS)) === 0 || fds[0].revents === 0) { stop = `no connection ${i}`; break; }
    const cs = yield* sys.accept(s);
    accepted++;
    if ((yield* sys.send(cs, HELLO)) === HELLO.length) sent++;
    yield* sys.close(cs);
  }
  yield* sys.close(s);
  const client = yield* sys.join(t);
  yield* sys.close(done);
  yield* sys.close(done2);
  yield* sys.unlink(path);
  return { name, accepted, sent, stop, client };
}

/*
 * The other ways SEED's soreceive ends a MSG_WAITALL wait on a stream.  A read that fits
 * so_rcv (resid <= hiwat) waits in the block condition with the I/O lock dropped and
 * takes nothing until it can take everything; a larger one copies what there is and then
 * waits in the WAITALL loop holding the lock, and any wait error there returns the short
 * count with no error.
 */

/* A reader thread: one MSG_WAITALL recv of len bytes, then a MSG_DONTWAIT look at what is left. */
export function* wa_reader(sys: Sys, fd: number, len: number): Blocking<unknown[]> {
  const buf = new Uint8Array(len);
  const n = yield* count_or_code(sys.recv(fd, buf, MSG_WAITALL));
  const rest = yield* count_or_code(sys.recv(fd, buf, MSG_DONTWAIT));
  return [n, rest];
}

/* A reader process: the same, with a SIGUSR1 handler (flags: 0 or SA_RESTART); it reports [n, rest, caught]. */
export function* wa_sig_reader(sys: Sys, fd: number, len: number, flags: number, status: number,
    others: number[]): Blocking<number> {
  for (const o of others) yield* sys.close(o);   // the parent's ends: its close must be the last
  let caught = 0;
  yield* sys.sigaction(SIGUSR1, () => { caught++; }, flags);
  const [n, rest] = yield* wa_reader(sys, fd, len);
  yield* report(sys, status, [n, rest, caught]);
  return 0;
}

/* A stream pair whose reading end times out (the bound on every reader below). */
function* wa_pair(sys: Sys): Blocking<[number, number]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, BOUND);
  return [a, b];
}

/*
 * A reader thread on the other CPU, asleep in "sbwait" with queued bytes queued on its
 * socket and asking for ask; then `kick` runs; → [reader's result, asleep before the kick].
 */
function* wa_thread_case(sys: Sys, other: number, queued: number, ask: number,
    kick: (a: number, b: number) => Blocking<void>): Blocking<unknown[]> {
  const [a, b] = yield* wa_pair(sys);
  if (queued > 0) yield* sys.send(a, new Uint8Array(queued));
  const t = yield* sys.thread(wa_reader, { cpu: other, args: [b, ask] });
  const asleep = yield* wait_asleep(sys, yield* sys.getpid(), t, 'sbwait');
  yield* kick(a, b);
  const r = yield* sys.join(t);
  yield* attempt(sys.close(a));
  yield* sys.close(b);
  return [r, asleep];
}

/*
 * A reader process on the other CPU (flags: its SIGUSR1 sigaction flags), asleep in
 * "sbwait" with queued bytes queued (a read larger than so_rcv has taken them by then: it
 * can only sleep in the WAITALL loop); SIGUSR1, then `after` (data or EOF, to end a read
 * the signal did not end).  signalEnds: the read must end by the signal alone, so its
 * report is taken before `after`.  → [[n, rest, caught], asleep].
 */
function* wa_signal_case(sys: Sys, other: number, flags: number, queued: number, ask: number,
    signalEnds: boolean, after: (a: number) => Blocking<void>): Blocking<unknown[]> {
  const [a, b] = yield* wa_pair(sys);
  const [st, st2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.setsockopt(st, SOL_SOCKET, SO_RCVTIMEO, BOUND);
  yield* sys.send(a, new Uint8Array(queued));
  const pid = yield* sys.spawn(wa_sig_reader, { cpu: other, args: [b, ask, flags, st2, [a, st]] });
  const asleep = yield* wait_asleep(sys, pid, 0, 'sbwait');
  yield* sys.kill(pid, SIGUSR1);
  const first = signalEnds ? yield* take_report(sys, st) : null;
  yield* after(a);
  const r = first ?? (yield* take_report(sys, st));
  yield* sys.waitpid(pid);
  yield* attempt(sys.close(a));
  yield* sys.close(b);
  yield* sys.close(st);
  yield* sys.close(st2);
  return [r, asleep];
}

/*
 * The cases, by name (a program runs the ones it is given, in order, so that one that
 * brings the machine down does not take the others with it).
 */
export function* waitall_ends(sys: Sys, other: number, names: string[]): Blocking<Record<string, unknown>> {
  const Q = HELLO.length, ASK = Q + 1, BIG = HIWAT + 8192;
  const close = function* (a: number): Blocking<void> { yield* sys.close(a); };
  const shut_rd = function* (_a: number, b: number): Blocking<void> { yield* sys.shutdown(b, SHUT_RD); };
  const cases: Record<string, () => Blocking<unknown[]>> = {
    // The peer's close: EOF ends the wait, the queued bytes come back (the ATF case, once).
    peerClose: () => wa_thread_case(sys, other, Q, ASK, close),
    // The peer's SHUT_WR: the same EOF.
    peerShutWr: () => wa_thread_case(sys, other, Q, ASK, function* (a) { yield* sys.shutdown(a, SHUT_WR); }),
    // Its own SHUT_RD (another thread of the process): sorflush marks it CANTRCVMORE, wakes
    // the reader, and discards so_rcv before the reader can lock it again: it reads EOF.
    ownShutRdEmpty: () => wa_thread_case(sys, other, 0, ASK, shut_rd),
    ownShutRdQueued: () => wa_thread_case(sys, other, Q, ASK, shut_rd),
    // A signal in the outer wait: nothing was taken, so EINTR (the bytes stay queued).
    signalOuter: () => wa_signal_case(sys, other, 0, Q, ASK, true, close),
    // With SA_RESTART the read restarts and waits on; one more byte completes it.
    signalOuterRestart: () => wa_signal_case(sys, other, SA_RESTART, Q, ASK, false,
      function* (a) { yield* sys.send(a, new Uint8Array(1)); }),
    // A read larger than so_rcv: Q bytes taken, then the signal in the WAITALL loop gives
    // the short count, with or without SA_RESTART.
    signalInner: () => wa_signal_case(sys, other, 0, Q, BIG, true, close),
    signalInnerRestart: () => wa_signal_case(sys, other, SA_RESTART, Q, BIG, true, close),
  };
  const r: Record<string, unknown> = {};
  for (const name of names) r[name] = yield* cases[name]();
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* socket_accept.c, on AF_LOCAL streams.                                                 */
/* ------------------------------------------------------------------------------------ */

/* tcp4_listensock: SO_REUSEADDR, bind, getsockname, listen(-1).  [fd, name]. */
function* sa_listensock(sys: Sys, path: string): Blocking<[number, string]> {
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, 1);
  yield* sys.bind(l, path);
  const name = yield* sys.getsockname(l);
  yield* sys.listen(l, -1);
  return [l, name];
}

/*
 * tcp4: a client with a name (a TCP client always has one: here it binds a path)
 * connects; accept gives a descriptor > 0, and the name accept would copy out
 * (uipc_accept: the connector's unp_addr) is the client's getsockname.  tcp4_noaddr:
 * accept(l, NULL, NULL) of an unnamed client; its peer name is sun_noname ('').  Then
 * DragonFly's refusals: listen on a connected socket (solisten: EINVAL), accept on a
 * connected socket and on a listener-less one (kern_accept: not SO_ACCEPTCONN, EINVAL).
 */
export function* socket_accept_cases(sys: Sys, lpath: string, cpath: string): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [l, lname] = yield* sa_listensock(sys, lpath);
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, cpath);
  yield* sys.connect(s, lname);
  const a = yield* sys.accept(l);
  r.tcp4 = [a > 0, yield* sys.getpeername(a), yield* sys.getsockname(s)];
  const s2 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(s2, lname);
  const a2 = yield* sys.accept(l);
  r.tcp4_noaddr = [a2 > 0, yield* sys.getpeername(a2)];
  const u = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.refusals = [yield* attempt(sys.listen(s, 5)), yield* attempt(sys.accept(s)), yield* attempt(sys.accept(a)),
    yield* attempt(sys.accept(u))];
  for (const fd of [u, a2, s2, a, s, l]) yield* sys.close(fd);
  yield* sys.unlink(cpath);
  yield* sys.unlink(lpath);
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* listener_wakeup.c: a sleep on a listener interrupted by shutdown(2) or close(2).      */
/* ------------------------------------------------------------------------------------ */

const LW_WMESG: Record<string, string> = { accept: 'waitmsg', select: 'select', poll: 'poll' };
const LW_POLL_EVENTS = POLLIN | POLLPRI | POLLRDNORM | POLLWRNORM | POLLRDBAND | POLLWRBAND;

/* The table of listener_wakeup.c (its result column is FreeBSD's; the test holds DragonFly's). */
const LW_TESTS: [sleep: string, wakeup: 'shutdown' | 'close', when: 'after' | 'before', nonblock: boolean][] = [
  ['accept', 'shutdown', 'after', false],
  ['select', 'shutdown', 'after', false],
  ['poll', 'shutdown', 'after', false],
  ['kqueue', 'shutdown', 'after', false],
  ['accept', 'close', 'after', false],
  ['select', 'close', 'after', false],
  ['poll', 'close', 'after', false],
  ['kqueue', 'close', 'after', false],
  ['accept', 'shutdown', 'before', false],
  ['select', 'shutdown', 'before', false],
  ['poll', 'shutdown', 'before', false],
  ['kqueue', 'shutdown', 'before', false],
  ['select', 'shutdown', 'after', true],
  ['poll', 'shutdown', 'after', true],
  ['kqueue', 'shutdown', 'after', true],
  ['select', 'shutdown', 'before', true],
  ['poll', 'shutdown', 'before', true],
  ['kqueue', 'shutdown', 'before', true],
];

/*
 * sleep_syscall_thread: the sleeping call on listener s, its outcome reported on the
 * status socket: [result ('ok' or the errno), detail].  Details: select [n, in readfds,
 * in writefds, in exceptfds]; poll [n, revents]; accept 'fd' (the descriptor is closed).
 * select and poll wait at most BOUND_MS ('timeout' then) where FreeBSD waits forever;
 * kevent only registers (nevents 0), as in the ATF test.
 */
export function* lw_sleeper(sys: Sys, kind: string, s: number, status: number): Blocking<unknown[]> {
  let out: unknown[];
  try {
    if (kind === 'accept') {
      yield* sys.close(yield* sys.accept(s));
      out = ['ok', 'fd'];
    } else if (kind === 'select') {
      const r = yield* sys.select(s + 1, [s], [s], [s], { sec: BOUND_MS / 1000, usec: 0 });
      out = [r.n === 0 ? 'timeout' : 'ok', [r.n, r.readfds.includes(s), r.writefds.includes(s), r.exceptfds.includes(s)]];
    } else if (kind === 'poll') {
      const fds = [{ fd: s, events: LW_POLL_EVENTS, revents: 0 }];
      const n = yield* sys.poll(fds, BOUND_MS);
      out = [n === 0 ? 'timeout' : 'ok', [n, fds[0].revents]];
    } else {
      const kq = yield* sys.kqueue();
      const e = yield* attempt(sys.kevent(kq, [{ ident: s, filter: EVFILT_READ, flags: EV_ADD }], 0, null));
      yield* sys.close(kq);
      out = [e, null];
    }
  } catch (e) {
    out = [code_of(e), null];
  }
  yield* report(sys, status, out);
  return out;
}

/*
 * run_tests for PF_UNIX: each row on a fresh listener (bound, listen(-1), O_NONBLOCK for
 * the nonblock rows), the sleeper a thread on the other CPU.  "after": the wake-up comes
 * once the thread sleeps (wait_asleep, where FreeBSD usleeps 100 ms; kevent does not
 * sleep, so its report is awaited first, as FreeBSD's 100 ms lets it finish).
 * → per row { wake: the shutdown/close outcome, result, detail, asleep, blocked }.
 *
 * FreeBSD cancels a thread still asleep after 1 s and records ETIMEDOUT; that is the
 * accept after close (close only drops the table's reference: kern_accept holds its own
 * on the listener's file).  Here "blocked" records that it is still asleep after the
 * close, and a connect to the listener, which is still bound and listening, releases it.
 */
export function* listener_wakeup(sys: Sys, path: string, other: number): Blocking<Record<string, unknown>[]> {
  const pid = yield* sys.getpid();
  const [st, st2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.setsockopt(st, SOL_SOCKET, SO_RCVTIMEO, BOUND);
  const rows: Record<string, unknown>[] = [];
  for (const [kind, wakeup, when, nonblock] of LW_TESTS) {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    yield* sys.bind(s, path);
    yield* sys.listen(s, -1);
    if (nonblock) yield* sys.fcntl(s, F_SETFL, O_NONBLOCK);
    const row: Record<string, unknown> = {};
    let tid = 0;
    let rep: unknown = null;
    if (when === 'after') {
      tid = yield* sys.thread(lw_sleeper, { cpu: other, args: [kind, s, st2] });
      if (kind === 'kqueue') rep = yield* take_report(sys, st);
      else row.asleep = yield* wait_asleep(sys, pid, tid, LW_WMESG[kind]);
    }
    row.wake = yield* attempt(wakeup === 'shutdown' ? sys.shutdown(s, SHUT_RDWR) : sys.close(s));
    if (when === 'before') tid = yield* sys.thread(lw_sleeper, { cpu: other, args: [kind, s, st2] });
    if (kind === 'accept' && wakeup === 'close') {
      row.blocked = yield* wait_asleep(sys, pid, tid, 'waitmsg');
      const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      row.connect = yield* attempt(sys.connect(c, path));
      rep = yield* take_report(sys, st);
      yield* sys.close(c);
    }
    if (rep === null) rep = yield* take_report(sys, st);
    if (rep === 'ETIMEDOUT' && kind === 'accept') {
      // Not woken (a wrong answer): release the accept with a connection, so it ends.
      const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* attempt(sys.connect(c, path));
      yield* take_report(sys, st);
      yield* sys.close(c);
    }
    yield* sys.join(tid);
    row.result = Array.isArray(rep) ? rep[0] : rep;
    row.detail = Array.isArray(rep) ? rep[1] : null;
    if (wakeup === 'shutdown') yield* sys.close(s);
    yield* sys.unlink(path);
    rows.push(row);
  }
  yield* sys.close(st);
  yield* sys.close(st2);
  return rows;
}

/* ------------------------------------------------------------------------------------ */
/* kern_descrip_test.c, with sockets where it opens "afile".                            */
/* ------------------------------------------------------------------------------------ */

/* dup2__simple: dup2(fd1, 27); both descriptors fstat the same.  [dup2's result, same stat, mode]. */
export function* dup2_simple(sys: Sys): Blocking<unknown[]> {
  const fd1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const fd2 = yield* sys.dup2(fd1, 27);
  const sb1 = yield* sys.fstat(fd1);
  const sb2 = yield* sys.fstat(27);
  yield* sys.close(27);
  yield* sys.close(fd1);
  return [fd2, JSON.stringify(sb1) === JSON.stringify(sb2), sb1.mode === sb2.mode];
}

/*
 * dup2__ebadf_when_2nd_arg_out_of_range: dup2(fd1, INT_MAX).  SEED's kern_dup refuses a
 * new descriptor above RLIMIT_NOFILE (or at maxfilesperproc) with EINVAL, before it even
 * looks at the old one, for dup2 as for F_DUPFD; FreeBSD's r234131 answer is EBADF.  Also
 * one above a lowered RLIMIT_NOFILE (EINVAL), one below it (fine), and the old
 * descriptor still open.  [INT_MAX, bad old onto INT_MAX, rlimit + 1, rlimit - 1, fd1 open].
 */
export function* dup2_out_of_range(sys: Sys): Blocking<unknown[]> {
  const fd1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const intMax = yield* attempt(sys.dup2(fd1, 0x7fffffff));
  const badOld = yield* attempt(sys.dup2(100, 0x7fffffff));
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: 64, max: 64 });
  const above = yield* attempt(sys.dup2(fd1, 65));
  const below = yield* count_or_code(sys.dup2(fd1, 63));
  if (below === 63) yield* sys.close(63);
  const open = yield* attempt(sys.fstat(fd1));
  yield* sys.close(fd1);
  return [intMax, badOld, above, below, open];
}

/*
 * openfiles2: a child that opens n files (AF_LOCAL sockets), reports, and holds them until
 * the rendezvous.  Exit status 0 when it opened all n and then saw the rendezvous (EOF
 * on rdv once the parent closes the other end); 1 otherwise.
 */
export function* kd_openfiles_child(sys: Sys, n: number, rdv: number, rdvParent: number, rep: number): Blocking<number> {
  yield* sys.close(rdvParent);                 // our copy of the parent's end would hold off the EOF
  let opened = 0;
  for (let i = 0; i < n; i++) {
    if ((yield* attempt(sys.socket(AF_LOCAL, SOCK_STREAM))) !== 'ok') break;
    opened++;
  }
  yield* sys.send(rep, new Uint8Array([opened === n ? 1 : 2]));
  const eof = yield* count_or_code(sys.recv(rdv, new Uint8Array(1)));
  return opened === n && eof === 0 ? 0 : 1;
}

/*
 * kern_maxfiles__increase (root): raise kern.maxfiles by expandby, raise RLIMIT_NOFILE to
 * it, and have `parallel` children open oldmaxfiles - current + expandby / 2 files in all:
 * more than the old limit left room for.  Scaled to this machine: the file zone is
 * kern.maxfiles' ceiling (4096) and a table holds at most NDFILE_MAX (128) descriptors, so
 * kern.maxfiles is first set to current + base ("oldmaxfiles"), and the children open 3/2
 * base files rather than FreeBSD's thousands.  The children report with a byte each on a
 * socketpair where FreeBSD sends SIGUSR1 (signals of one kind arriving together merge
 * into one pending signal), and the rendezvous file becomes a socketpair's EOF.
 * kern.maxfiles is put back.  → { room, n, reports, early, held, statuses, restored }.
 */
export function* kern_maxfiles_increase(sys: Sys, base: number, expandby: number,
    parallel: number): Blocking<Record<string, unknown>> {
  const [repR, repW] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [rdvParent, rdv] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.setsockopt(repR, SOL_SOCKET, SO_RCVTIMEO, BOUND);
  yield* sys.setsockopt(rdv, SOL_SOCKET, SO_RCVTIMEO, BOUND);
  const sysMaxfiles = yield* sys.sysctl('kern.maxfiles');
  const current = yield* sys.sysctl('kern.openfiles');
  yield* sys.sysctl('kern.maxfiles', current + base);
  const oldmaxfiles = yield* sys.sysctl('kern.maxfiles');
  const maxfiles = oldmaxfiles + expandby;
  yield* sys.sysctl('kern.maxfiles', maxfiles);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: maxfiles, max: maxfiles });
  const n = oldmaxfiles - current + expandby / 2;
  const each = Math.floor(n / parallel);
  const pids: number[] = [];
  for (let i = 0; i < parallel; i++) pids.push(yield* sys.fork(kd_openfiles_child, each, rdv, rdvParent, repW));
  const reports: Record<string, number> = {};
  let early = 0;
  for (let got = 0; got < parallel;) {
    const b = new Uint8Array(parallel);
    const k = yield* count_or_code(sys.recv(repR, b));
    if (typeof k === 'string' || k === 0) { tally(reports, String(k)); break; }
    for (let j = 0; j < k; j++) tally(reports, b[j] === 1 ? 'opened all' : 'short');
    got += k;
    if ((yield* sys.waitpid(-1, WNOHANG)).pid !== 0) early++;   // "a child exited unexpectedly"
  }
  const held = (yield* sys.sysctl('kern.openfiles')) - current;
  yield* sys.close(rdvParent);                 // the rendezvous: every child's recv sees EOF
  const statuses: number[] = [];
  for (const pid of pids) statuses.push(WEXITSTATUS((yield* sys.waitpid(pid)).status));
  for (const fd of [repR, repW, rdv]) yield* sys.close(fd);
  yield* sys.sysctl('kern.maxfiles', sysMaxfiles);
  const restored = (yield* sys.sysctl('kern.maxfiles')) === sysMaxfiles;
  return { room: oldmaxfiles - current, n: each * parallel, reports, early, held, statuses, restored };
}

