/*
 * Programs for test/bsd_rights.test.ts: FreeBSD's socket regression tests for descriptor
 * passing, ported to this simulation (tools/regression/sockets/unix_passfd, unix_gc,
 * unix_sorflush, and the SCM_RIGHTS / cmsg-length / MSG_CTRUNC parts of unix_cmsg, with
 * a few checks of the later tests/sys/kern/unix_passfd_test.c that 2008 code can be held
 * to).  Each check's intent is translated, not its code:
 *  - FreeBSD proves "same file" with fstat on a temporary file; there are no regular files
 *    here, so the passed file is one end of a socketpair: fstat's st_dev and st_ino (the
 *    inode number uipc_sense makes up for a socket) must agree, and a text written through
 *    the received descriptor must come out of the pair's other end.
 *  - FreeBSD's "leak" checks read kern.openfiles and net.local.inflight after sleeping a
 *    second for unp_gc; here unp_gc runs in its own thread, so we wait (bounded) until both
 *    are back or the bound runs out, and return what we saw.
 *  - Descriptor counts (getnfds in the later tests) are counted with F_GETFD over the
 *    low descriptors.
 * Every program returns plain values; the test compares them with what a BSD kernel
 * (DragonFly 2008 first) gives.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO, MSG_CTRUNC, MSG_WAITALL, SHUT_RD,
  SCM_RIGHTS, SIGKILL, SO_RCVBUF, WNOHANG, WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG, RLIMIT_NOFILE, FIONREAD,
  CMSG_LEN, CMSG_SPACE, S_IFMT, scm_rights, cmsg_rights, type Cmsg,
} from '../../src/libc/index.js';
import { k32, NULL, TD, TDF_BLOCKED, TDF_TSLEEPQ, PROC, pfind, spin_lock, spin_unlock, type Blocking, type Ptr } from '../../src/kernel.js';
import { kstr_intern } from '../../shared/kstr.js';
import { attempt } from './common.js';
import { SETTLE_TICKS, gc_settle, inflight, nfds, openfiles, samefile } from './rights_common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/* A receive that cannot hang the test: at most 5 seconds, then EAGAIN. */
function* bounded(sys: Sys, fd: number): Blocking<void> {
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 5, usec: 0 });
}

/* unix_passfd's sendfd: one byte (a zero) carrying one descriptor; the count sent. */
function* sendfd(sys: Sys, via: number, fd: number): Blocking<number> {
  return yield* sys.sendmsg(via, { buf: new Uint8Array(1), control: [scm_rights([fd])] });
}

/* The descriptors of the first SCM_RIGHTS message, or []. */
function rights_of(control: Cmsg[]): number[] {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS);
  return c === undefined ? [] : cmsg_rights(c.data);
}

/* unix_passfd's recvfd: one byte and room for exactly one descriptor; [bytes, fd or -1, flags]. */
function* recvfd(sys: Sys, s: number): Blocking<[number, number, number]> {
  const r = yield* sys.recvmsg(s, new Uint8Array(1), { controlLen: CMSG_SPACE(4) });
  const fds = rights_of(r.control);
  return [r.bytes, fds.length === 1 ? fds[0] : -1, r.flags];
}

/* Write text through fd and read it at peer: the proof that fd is the file we think. */
function* through(sys: Sys, fd: number, peer: number, text: string): Blocking<string> {
  yield* sys.send(fd, enc.encode(text));
  const buf = new Uint8Array(64);
  const n = yield* sys.recv(peer, buf);
  return dec.decode(buf.subarray(0, n));
}

/* Read until EOF (0) or the 5-second bound (EAGAIN); what it ended with. */
function* eof_of(sys: Sys, fd: number): Blocking<number | string> {
  yield* bounded(sys, fd);
  try {
    return yield* sys.recv(fd, new Uint8Array(8));
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

/* ---------------------------------------------------------------- unix_passfd */

/*
 * unix_passfd tests 1-4 over a pair of `type` (FreeBSD ran them on stream only and wished
 * for datagrams; seqpacket is DragonFly's since 2008-05).  Returns per test what BSD
 * guarantees: the byte moved, a descriptor came back, it is the same file; and for the
 * cancelled send, that the passed file's last reference went with the pair (its peer
 * sees EOF) and nothing is left in flight.
 */
export function* passfd_basic(sys: Sys, type: number): Blocking<unknown[]> {
  const out: unknown[] = [];
  // test1-simplesendfd: the sender keeps its reference.
  let [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  let [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  let sent = yield* sendfd(sys, a, x);
  let [n, g] = yield* recvfd(sys, b);
  out.push(['test1', sent, n, g >= 0 && g !== x, yield* samefile(sys, x, g), yield* through(sys, g, y, 'one')]);
  for (const fd of [x, g, y, a, b]) yield* sys.close(fd);
  // test2-sendandclose: only the message holds the file while it is queued.
  [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const before = yield* sys.fstat(x);
  sent = yield* sendfd(sys, a, x);
  yield* sys.close(x);
  [n, g] = yield* recvfd(sys, b);
  const after = yield* sys.fstat(g);
  out.push(['test2', sent, n, g >= 0, before.ino === after.ino && before.dev === after.dev, yield* through(sys, g, y, 'two')]);
  for (const fd of [g, y, a, b]) yield* sys.close(fd);
  // test3-sendandcancel: the pair closes with the right queued; it must be disposed of.
  [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sendfd(sys, a, x);
  yield* sys.close(x);
  yield* sys.close(a);
  yield* sys.close(b);
  out.push(['test3', yield* eof_of(sys, y), yield* inflight(sys)]);
  yield* sys.close(y);
  // test4-twofile: two messages, received in order, each its own file.
  [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const [x1, y1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x2, y2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sendfd(sys, a, x1);
  yield* sendfd(sys, a, x2);
  yield* sys.close(x1);
  yield* sys.close(x2);
  const [, g1] = yield* recvfd(sys, b);
  const [, g2] = yield* recvfd(sys, b);
  out.push(['test4', yield* through(sys, g1, y1, 'first'), yield* through(sys, g2, y2, 'second')]);
  for (const fd of [g1, g2, y1, y2, a, b]) yield* sys.close(fd);
  out.push(['inflight', yield* inflight(sys)]);
  return out;
}

/*
 * unix_passfd tests 5 and 6: a socket sent over itself.  test5-bundle receives it back and
 * closes everything; test6-bundlecancel leaves fd[0] queued in both buffers (a cycle
 * through fd[0]'s own buffer), which only unp_gc can free.  Both end with nothing in
 * flight and the open-file count back where it started.
 */
/*
 * devfs_orphan (unix_passfd_test.c, PR 151758): a character device (here a descriptor of
 * the console, a dup of fd 1) in flight when both ends of the pair close.  The right is
 * disposed of, nothing stays in flight or open, and the console itself is untouched: fd 1
 * still writes and still fstats as S_IFCHR.  [sent, inflight and openfiles after, written, mode].
 */
export function* passfd_devfs_orphan(sys: Sys, type: number): Blocking<unknown[]> {
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const dev = yield* sys.dup(1);
  const sent = yield* sendfd(sys, a, dev);
  yield* sys.close(dev);
  yield* sys.close(a);
  yield* sys.close(b);
  const left = yield* gc_settle(sys, in0, of0);
  const wrote = yield* sys.write(1, enc.encode('devfs_orphan\n'));
  return [sent, ...left, wrote, ((yield* sys.fstat(1)).mode & S_IFMT).toString(8)];
}

export function* passfd_bundle(sys: Sys, type: number): Blocking<unknown[]> {
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  let [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  yield* sendfd(sys, a, a);
  yield* sys.close(a);
  const [n, g] = yield* recvfd(sys, b);
  yield* sys.close(g);
  yield* sys.close(b);
  const t5 = ['test5', n, g >= 0, ...(yield* gc_settle(sys, in0, of0))];
  [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  yield* sendfd(sys, a, a);     // a queued in b's buffer
  yield* sendfd(sys, b, a);     // a queued in its own buffer
  const inq = (yield* inflight(sys)) - in0;
  yield* sys.close(a);
  yield* sys.close(b);
  const t6 = ['test6', inq, ...(yield* gc_settle(sys, in0, of0))];
  return [t5, t6];
}

/*
 * tests/sys/kern/unix_passfd_test.c send_and_shutdown: shutdown(SHUT_RD) flushes the
 * receive buffer (sorflush), and that disposes of the right queued there: the passed
 * file's last reference goes at once, so kern.openfiles is one less when shutdown returns
 * (DragonFly 2008 soshutdown -> sorflush -> dom_dispose -> unp_discard -> closef, all in
 * the caller).
 */
export function* passfd_shutdown(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sendfd(sys, a, x);
  const of1 = yield* openfiles(sys);
  yield* sys.close(x);
  const held = (yield* openfiles(sys)) - of1;         // the message still holds x's file
  yield* sys.shutdown(b, SHUT_RD);
  const after = (yield* openfiles(sys)) - of1;        // x's file gone with the flush
  const in1 = yield* inflight(sys);
  const eof = yield* eof_of(sys, y);
  for (const fd of [y, a, b]) yield* sys.close(fd);
  return [held, after, in1, eof];
}

/* ---------------------------------------------------------------- unix_gc */

interface GcCtx { bad: string[] }

/* unix_gc's sendfd: inflight must go up by exactly one. */
function* gc_sendfd(sys: Sys, ctx: GcCtx, name: string, via: number, fd: number): Blocking<void> {
  const before = yield* inflight(sys);
  yield* sendfd(sys, via, fd);
  const after = yield* inflight(sys);
  if (after !== before + 1) ctx.bad.push(`${name}: sendfd inflight ${before} -> ${after}`);
}

/* One unix_gc case: body, then the collection; [name, inflight left, open files left]. */
function* gc_case(sys: Sys, name: string, body: () => Blocking<void>): Blocking<[string, number, number]> {
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  yield* body();
  const [din, dof] = yield* gc_settle(sys, in0, of0);
  return [name, din, dof];
}

function* closeall(sys: Sys, fds: number[]): Blocking<void> {
  for (const fd of fds) yield* sys.close(fd);
}

/*
 * unix_gc's twosome, threesome, fivesome and complex_cycles cases: socket pairs (and a
 * spare) sent over each other in every combination and closed in every order.  Each case
 * must leave nothing in flight and no file open.  Returns the cases and any sendfd whose
 * inflight step was not +1.
 */
export function* gc_pairs(sys: Sys): Blocking<unknown[]> {
  const ctx: GcCtx = { bad: [] };
  const res: unknown[] = [];
  // twosome_nothing: a pair closed in each order (FreeBSD's second case repeats the first order).
  for (const order of [[0, 1], [1, 0]]) {
    res.push(yield* gc_case(sys, `twosome_nothing${order[0] + 1}`, function* () {
      const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* closeall(sys, order.map((i) => sv[i]));
    }));
  }
  // twosome_drop1..8: sendvia, tosend, closefirst.
  let k = 1;
  for (const via of [0, 1]) for (const what of [0, 1]) for (const first of [0, 1]) {
    const name = `twosome_drop${k++}`;
    res.push(yield* gc_case(sys, name, function* () {
      const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* gc_sendfd(sys, ctx, name, sv[via], sv[what]);
      yield* closeall(sys, first === 0 ? [sv[0], sv[1]] : [sv[1], sv[0]]);
    }));
  }
  // threesome: a spare s and a pair; s sent over the pair, closes in six orders.
  res.push(yield* gc_case(sys, 'threesome_nothing', function* () {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* closeall(sys, [s, sv[0], sv[1]]);
  }));
  const orders: Array<(s: number, sv: number[]) => number[]> = [
    (s, sv) => [s, sv[0], sv[1]], (s, sv) => [s, sv[1], sv[0]], (s, sv) => [sv[1], s, sv[0]],
    (s, sv) => [sv[1], sv[0], s], (s, sv) => [sv[0], sv[1], s], (s, sv) => [sv[0], s, sv[1]],
  ];
  // (FreeBSD's threesome_drop6 forgets its sendfd; here every case sends.)
  for (let i = 0; i < orders.length; i++) {
    const name = `threesome_drop${i + 1}`;
    res.push(yield* gc_case(sys, name, function* () {
      const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* gc_sendfd(sys, ctx, name, sv[0], s);
      yield* closeall(sys, orders[i](s, sv));
    }));
  }
  // fivesome: spare over sva, sva's two ends over svb, closes before or after.
  res.push(yield* gc_case(sys, 'fivesome_nothing', function* () {
    const spare = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const sva = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    const svb = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* closeall(sys, [spare, ...sva, ...svb]);
  }));
  k = 1;
  for (const spareAfter of [false, true]) for (const svaAfter of [false, true]) {
    const name = `fivesome_drop${k++}`;
    res.push(yield* gc_case(sys, name, function* () {
      const spare = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      const sva = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      const svb = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* gc_sendfd(sys, ctx, name, sva[0], spare);
      if (spareAfter) yield* sys.close(spare);
      yield* gc_sendfd(sys, ctx, name, svb[0], sva[0]);
      yield* gc_sendfd(sys, ctx, name, svb[0], sva[1]);
      if (svaAfter) yield* closeall(sys, sva);
      yield* closeall(sys, svb);
      if (!svaAfter) yield* closeall(sys, sva);
      if (!spareAfter) yield* sys.close(spare);
    }));
  }
  // complex_cycles: each pair queued in the other, the spare in both.
  res.push(yield* gc_case(sys, 'complex_cycles', function* () {
    const spare = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const sva = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    const svb = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', sva[0], svb[0]);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', sva[0], svb[1]);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', svb[0], sva[0]);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', svb[0], sva[1]);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', svb[0], spare);
    yield* gc_sendfd(sys, ctx, 'complex_cycles', sva[0], spare);
    yield* closeall(sys, [spare, ...sva, ...svb]);
  }));
  return [res, ctx.bad];
}

/*
 * unix_gc's listen cases.  FreeBSD also runs them on TCP sockets; AF_LOCAL is the only
 * domain here, so the listen_connect cases use an AF_LOCAL listener with a connection
 * that was never accepted (it sits on so_comp, and is aborted when the listener goes).
 * listen(-1) is the backlog FreeBSD passes: solisten makes a negative backlog somaxconn.
 */
export function* gc_listen(sys: Sys): Blocking<unknown[]> {
  const ctx: GcCtx = { bad: [] };
  const res: unknown[] = [];
  res.push(yield* gc_case(sys, 'listen_nothing_unp', function* () {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    yield* sys.bind(s, '/listen_nothing_unp');
    yield* sys.listen(s, -1);
    yield* sys.close(s);
    yield* sys.unlink('/listen_nothing_unp');
  }));
  for (const listenerFirst of [true, false]) {
    const name = `listen_drop_unp${listenerFirst ? 1 : 2}`;
    res.push(yield* gc_case(sys, name, function* () {
      const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* sys.bind(s, `/${name}`);
      yield* sys.listen(s, -1);
      const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* gc_sendfd(sys, ctx, name, sv[0], s);
      yield* closeall(sys, listenerFirst ? [s, sv[0], sv[1]] : [sv[0], sv[1], s]);
      yield* sys.unlink(`/${name}`);
    }));
  }
  for (const drop of [false, true]) {
    const name = drop ? 'listen_connect_drop' : 'listen_connect_nothing';
    res.push(yield* gc_case(sys, name, function* () {
      const sl = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* sys.bind(sl, `/${name}`);
      yield* sys.listen(sl, -1);
      const sv = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      const sc = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* sys.connect(sc, `/${name}`);          // completes at once: AF_LOCAL connects are synchronous
      if (drop) {
        yield* gc_sendfd(sys, ctx, name, sv[0], sl);
        yield* closeall(sys, [sl, sv[0], sv[1]]);
        yield* sys.close(sc);
      } else {
        yield* closeall(sys, [sl, sc, sv[0], sv[1]]);
      }
      yield* sys.unlink(`/${name}`);
    }));
  }
  return [res, ctx.bad];
}

/*
 * unix_gc's recursion: a chain of pairs, each pair sent over the next, until the system
 * file table is full (ENFILE; kern.maxfiles lowered first so the chain is short; needs
 * root), then the last pair closed: every file in the chain must go.  The per-process
 * descriptors are reused, so RLIMIT_NOFILE is never what stops the loop.
 */
export function* gc_recursion(sys: Sys, room: number): Blocking<unknown[]> {
  const ctx: GcCtx = { bad: [] };
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  const max0 = yield* sys.sysctl('kern.maxfiles', of0 + room);
  let fd = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  let links = 0;
  let stop = '';
  for (;;) {
    let ff: [number, number];
    try {
      ff = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      stop = e.code;
      break;
    }
    yield* gc_sendfd(sys, ctx, 'recursion', ff[0], fd[0]);
    yield* gc_sendfd(sys, ctx, 'recursion', ff[0], fd[1]);
    yield* closeall(sys, [fd[1], fd[0]]);
    fd = ff;
    links++;
  }
  const peak = (yield* inflight(sys)) - in0;
  yield* closeall(sys, fd);
  const left = yield* gc_settle(sys, in0, of0);
  yield* sys.sysctl('kern.maxfiles', max0);
  return [stop, links > 10, peak === 2 * links, ...left, ctx.bad];
}

/* ---------------------------------------------------------------- unix_sorflush */

/* Is a thread of process pid asleep (tsleep or blocked) with wait message wmesg? */
function asleep_in(pid: number, wmesg: string): boolean {
  const id = kstr_intern(wmesg);
  const p = pfind(pid);
  if (p === NULL) return false;
  let asleep = false;
  spin_lock(p + PROC.p_spin);
  for (let j = 0; j < k32[p + PROC.p_nthreads] && !asleep; j++) {
    const td: Ptr = k32[p + PROC.p_threads + j];
    asleep = k32[td + TD.td_wmesg] === id && (k32[td + TD.td_flags] & (TDF_TSLEEPQ | TDF_BLOCKED)) !== 0;
  }
  spin_unlock(p + PROC.p_spin);
  return asleep;
}

/* Wait (bounded) until cond() holds; false if it never did. */
function* until(sys: Sys, cond: () => Blocking<boolean>): Blocking<boolean> {
  for (let i = 0; i < SETTLE_TICKS; i++) {
    if (yield* cond()) return true;
    yield* sys.sleep(1);
  }
  return false;
}

/*
 * unix_sorflush's process (a): a blocking receive of len bytes (MSG_WAITALL when
 * waitall); exits 0 when it got them all, 1 for a short count, 100 for an error.
 */
export function* sorflush_reader(sys: Sys, s: number, len: number, waitall: boolean): Blocking<number> {
  yield* bounded(sys, s);
  try {
    const n = yield* sys.recv(s, new Uint8Array(len), waitall ? MSG_WAITALL : 0);
    return n === len || (!waitall && n === 0) ? 0 : 1;
  } catch (e) {
    if (e instanceof SysError) return 100;
    throw e;
  }
}

/* unix_sorflush's process (b): shutdown(SHUT_RD) on the socket (a) reads from. */
export function* sorflush_shutter(sys: Sys, s: number): Blocking<number> {
  yield* sys.shutdown(s, SHUT_RD);
  return 0;
}

function status_of(st: number): string {
  if (WIFEXITED(st)) return `exit ${WEXITSTATUS(st)}`;
  if (WIFSIGNALED(st)) return `signal ${WTERMSIG(st)}`;
  return `status ${st}`;
}

/*
 * unix_sorflush, as FreeBSD wrote it: (a) blocks in recv on sv[1]; (b) shuts down sv[1]'s
 * receive side.  sorflush's socantrcvmore must wake (a), which reads EOF.  (a) waits
 * without the sockbuf lock (soreceive drops it before ssb_wait), so (b) does not block.
 */
export function* sorflush_plain(sys: Sys): Blocking<unknown[]> {
  const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pa = yield* sys.fork(sorflush_reader, s1, 1, false);   // exits 0 on EOF
  const aBlocked = yield* until(sys, function* () { return asleep_in(pa, 'sbwait'); });
  const pb = yield* sys.fork(sorflush_shutter, s1);
  const sb = yield* sys.waitpid(pb);
  const sa = yield* sys.waitpid(pa);
  const eof = yield* sys.recv(s1, new Uint8Array(1));
  yield* closeall(sys, [s0, s1]);
  return [aBlocked, status_of(sb.status), status_of(sa.status), eof];
}

/*
 * unix_sorflush's race proper: (b) blocked in shutdown() waiting on (a), and a signal
 * delivered to (b) meanwhile.  (a) reads more than so_rcv's hiwat with MSG_WAITALL, so
 * soreceive does not wait for it all up front: it takes the first byte and then sleeps in
 * its MSG_WAITALL copy loop still holding so_rcv's I/O lock (DragonFly soreceive calls
 * ssb_wait there without ssb_unlock).  (b)'s sorflush then waits for that lock with
 * SSB_NOINTR, which SIGKILL must not break.  When the rest of (a)'s data comes, (a)
 * finishes, (b) flushes and dies of the SIGKILL on its way out, and sv[1] reads EOF.
 */
export function* sorflush_race(sys: Sys): Blocking<unknown[]> {
  const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const len = (yield* sys.getsockopt(s1, SOL_SOCKET, SO_RCVBUF)) + 8;
  const pa = yield* sys.fork(sorflush_reader, s1, len, true);
  const aWaits = yield* until(sys, function* () { return asleep_in(pa, 'sbwait'); });
  yield* sys.send(s0, enc.encode('x'));
  // (a) has taken the byte and sleeps again, now inside the MSG_WAITALL loop.
  const aHolds = yield* until(sys, function* () {
    return (yield* sys.ioctl(s1, FIONREAD)) === 0 && asleep_in(pa, 'sbwait');
  });
  const pb = yield* sys.fork(sorflush_shutter, s1);
  let bExited = false;
  const bBlocked = yield* until(sys, function* () {
    if (asleep_in(pb, 'sblock')) return true;
    bExited = (yield* sys.waitpid(pb, WNOHANG)).pid === pb;
    return bExited;
  });
  const killed = yield* attempt(sys.kill(pb, SIGKILL));
  const stillBlocked = !bExited && asleep_in(pb, 'sblock');
  yield* sys.send(s0, new Uint8Array(len - 1));
  const sa = yield* sys.waitpid(pa);
  const sb = bExited ? 'exited early' : status_of((yield* sys.waitpid(pb)).status);
  const eof = yield* eof_of(sys, s1);
  yield* closeall(sys, [s0, s1]);
  return [aWaits, aHolds, bBlocked && !bExited, killed, stillBlocked, status_of(sa.status), sb, eof, yield* inflight(sys)];
}

/* ---------------------------------------------------------------- unix_cmsg (SCM_RIGHTS) */

const IPC_MESSAGE = enc.encode('hello\0');   // unix_cmsg's ipc_message, NUL included
const EXTRA_CMSG_SPACE = 512;

/*
 * unix_cmsg's client, with SCM_RIGHTS where the original sent SCM_CREDS: connect (stream)
 * or address the server (dgram), then two messages of IPC_MESSAGE each carrying one
 * descriptor: one end of a fresh pair whose other end has already written a text.
 */
export function* cmsg_client(sys: Sys, path: string, type: number): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, type);
  if (type === SOCK_STREAM) {
    // uc_sync_recv: wait until the server has accepted, so the connection is one of its
    // files before any right is queued in it (unp_gc does not look into accept queues).
    yield* sys.connect(s, path);
    yield* bounded(sys, s);
    if ((yield* sys.recv(s, new Uint8Array(1))) !== 1) return 2;
  }
  for (let i = 0; i < 2; i++) {
    const [u, v] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* sys.send(v, enc.encode(`payload ${i}`));
    yield* sys.close(v);
    const n = yield* sys.sendmsg(s, { buf: IPC_MESSAGE, control: [scm_rights([u])], path: type === SOCK_STREAM ? null : path });
    if (n !== IPC_MESSAGE.length) return 1;
    yield* sys.close(u);
  }
  yield* sys.close(s);
  return 0;
}

/*
 * unix_cmsg's server checks, per message: the whole message read (MSG_WAITALL), no
 * MSG_CTRUNC, exactly one control message, at SOL_SOCKET, SCM_RIGHTS, cmsg_len exactly
 * CMSG_LEN(one int), and the descriptor works.  The first receive offers
 * EXTRA_CMSG_SPACE more room than needed, the second exactly CMSG_SPACE(int).
 */
export function* cmsg_server(sys: Sys, type: number, clientCpu: number): Blocking<unknown[]> {
  const path = '/unix_cmsg.sock';
  const s = yield* sys.socket(AF_LOCAL, type);
  yield* sys.bind(s, path);
  if (type === SOCK_STREAM) yield* sys.listen(s, 1);
  const pid = yield* sys.spawn(cmsg_client, { cpu: clientCpu, args: [path, type] });
  const c = type === SOCK_STREAM ? yield* sys.accept(s) : s;
  if (c !== s) yield* sys.send(c, new Uint8Array(1));         // uc_sync_send
  yield* bounded(sys, c);
  const out: unknown[] = [];
  let room = CMSG_SPACE(4) + EXTRA_CMSG_SPACE;
  for (let i = 0; i < 2; i++) {
    const buf = new Uint8Array(IPC_MESSAGE.length);
    const r = yield* sys.recvmsg(c, buf, { flags: MSG_WAITALL, controlLen: room });
    room = CMSG_SPACE(4);
    const cm = r.control[0];
    const fds = cm !== undefined ? cmsg_rights(cm.data) : [];
    const echo = fds.length === 1 ? yield* eof_text(sys, fds[0]) : '';
    out.push([r.bytes, dec.decode(buf) === 'hello\0', r.flags & MSG_CTRUNC, r.control.length,
      cm?.level === SOL_SOCKET && cm?.type === SCM_RIGHTS, cm === undefined ? -1 : CMSG_LEN(cm.data.length), echo]);
    for (const fd of fds) yield* sys.close(fd);
  }
  const st = yield* sys.waitpid(pid);
  if (c !== s) yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  out.push(status_of(st.status), yield* inflight(sys));
  return out;
}

/* Everything readable on fd up to EOF, as text (bounded). */
function* eof_text(sys: Sys, fd: number): Blocking<string> {
  yield* bounded(sys, fd);
  const buf = new Uint8Array(64);
  let text = '';
  for (let n; (n = yield* sys.recv(fd, buf)) !== 0; ) text += dec.decode(buf.subarray(0, n));
  return text;
}

/*
 * Control lengths and truncation (unix_cmsg t_cmsg_len's intent, and the later
 * unix_passfd_test truncated_rights / send_a_lot / empty_rights_message), held to
 * DragonFly 2008:
 *  - sys_sendmsg refuses msg_controllen > MLEN (180 on i386) with EINVAL, before the
 *    protocol sees it: 42 descriptors (CMSG_SPACE = 180) go, 43 do not, and nothing is
 *    left in flight.  (FreeBSD later allowed a cluster and answers EMSGSIZE past it.)
 *  - Two SCM_RIGHTS messages in one send: EINVAL (unp_internalize wants cmsg_len ==
 *    m_len, one message per send).  (FreeBSD later took several.)
 *  - An empty SCM_RIGHTS message is internalised and externalised as an empty one.
 *  - A receive with too little control room sets MSG_CTRUNC; the descriptors that did
 *    not fit must not stay in the table (the simulation follows FreeBSD here and closes
 *    them; DragonFly 2008 left them open).
 *  - A receiver whose table is full gets EMSGSIZE, with the rights discarded; the next
 *    receive brings the data alone.
 */
export function* cmsg_lengths(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const one = new Uint8Array(1);
  const res: Record<string, unknown> = {};
  const nf0 = yield* nfds(sys);
  // MLEN: 42 ints fit an mbuf's data, 43 do not.
  res.over = yield* attempt(sys.sendmsg(a, { buf: one, control: [scm_rights(new Array<number>(43).fill(x))] }));
  res.overInflight = yield* inflight(sys);
  if (res.over === 'ok') {
    // Taken anyway: receive it whole (and close what came) so the checks below stand alone.
    const r = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: 1024 });
    yield* closeall(sys, rights_of(r.control));
  }
  res.max = yield* sys.sendmsg(a, { buf: one, control: [scm_rights(new Array<number>(42).fill(x))] });
  const rmax = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(42 * 4) });
  const got = rights_of(rmax.control);
  res.maxGot = [got.length, new Set(got).size, rmax.flags & MSG_CTRUNC, (yield* nfds(sys)) - nf0];
  yield* closeall(sys, got);
  // Two messages in one send.
  res.two = yield* attempt(sys.sendmsg(a, { buf: one, control: [scm_rights([x]), scm_rights([x])] }));
  // An empty rights message.
  res.empty = yield* sys.sendmsg(a, { buf: one, control: [scm_rights([])] });
  const re = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: 64 });
  res.emptyGot = [re.bytes, re.control.length, re.control.map((c) => [c.type, c.data.length]), re.flags & MSG_CTRUNC];
  // Truncation: no room past the header for one descriptor; room for one of three.
  yield* sendfd(sys, a, x);
  const t1 = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_LEN(0) });
  res.trunc1 = [t1.bytes, (t1.flags & MSG_CTRUNC) !== 0, (yield* nfds(sys)) - nf0, yield* inflight(sys)];
  yield* sys.sendmsg(a, { buf: one, control: [scm_rights([x, x, x])] });
  const t3 = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(4) });
  res.trunc3 = [t3.bytes, (t3.flags & MSG_CTRUNC) !== 0, (yield* nfds(sys)) - nf0, yield* inflight(sys)];
  // No room in the table: EMSGSIZE, then the data alone.
  yield* sendfd(sys, a, x);
  const lim = yield* sys.getrlimit(RLIMIT_NOFILE);
  const nf = yield* nfds(sys);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: nf, max: lim.max });
  const hard = (yield* sys.getrlimit(RLIMIT_NOFILE)).max;   // setrlimit may have clamped it to maxfilesperproc
  res.full = yield* attempt(sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(4) }));
  res.fullAfter = [(yield* nfds(sys)) - nf, yield* inflight(sys)];
  const rest = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(4) });
  res.rest = [rest.bytes, rest.control.length];
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: Math.min(lim.cur, hard), max: hard });
  yield* closeall(sys, [x, y, a, b]);
  res.end = yield* inflight(sys);
  return [res];
}
