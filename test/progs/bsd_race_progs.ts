/*
 * Programs for test/bsd_race.test.ts: FreeBSD's socket regression tests
 * (tools/regression/sockets/) translated to this kernel, checking DragonFly 2008's
 * behaviour where it differs from FreeBSD's.  kqueue, sblock, unix_close_race,
 * unix_sendtorace and unix_seqpacket_exercise run on AF_LOCAL as they do there;
 * listenclose, accept_fd_leak, listen_backlog and accf_data_attach were TCP tests and run
 * on AF_LOCAL stream sockets.  The races put their two sides on different CPUs and run a
 * bounded number of rounds; every wait is bounded (a lost wake-up shows as a wrong result,
 * not a hang) except where the thing waited for always happens.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, SO_ACCEPTFILTER,
  MSG_WAITALL, MSG_TRUNC, MSG_DONTWAIT, F_GETFL, F_SETFL, O_NONBLOCK, FIONREAD, SIGHUP, SIGPIPE, SIGUSR1, SIG_IGN, WNOHANG,
  WEXITSTATUS, POLLOUT, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_DELETE, EV_CLEAR, type Kevent,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep } from './common.js';

const ZERO = { sec: 0, nsec: 0 };
const enc = new TextEncoder();

/* A kevent as [ident, filter, flags, fflags, data]: udata is not what these tests check. */
function ev(e: Kevent): number[] { return [e.ident, e.filter, e.flags, e.fflags ?? 0, e.data ?? 0]; }

function* pending(sys: Sys, kq: number, n = 4): Blocking<number[][]> {
  return (yield* sys.kevent(kq, null, n, ZERO)).map(ev);
}

function code_of(e: unknown): string {
  if (e instanceof SysError) return e.code;
  throw e;
}

function tally(t: Record<string, number>, k: string): void { t[k] = (t[k] ?? 0) + 1; }

/* Little-endian int32 lists, for handing descriptor numbers to another CPU over a socket. */
function ints(v: number[]): Uint8Array {
  const b = new Uint8Array(4 * v.length);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setInt32(4 * i, x, true));
  return b;
}

function* recv_exact(sys: Sys, fd: number, n: number): Blocking<Uint8Array> {
  const b = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = yield* sys.recv(fd, b.subarray(got));
    if (k === 0) break;
    got += k;
  }
  return b.subarray(0, got);
}

/* ------------------------------------------------------------------------------------ */
/* kqueue.c: EVFILT_READ and EVFILT_WRITE on non-blocking socketpairs.                  */
/* ------------------------------------------------------------------------------------ */

/*
 * The read filter: an empty socket is not readable, one byte makes it readable, reading
 * it makes it unreadable again, and EV_DELETE removes the knote (a second delete: ENOENT).
 * The event's data is filt_soread's so_rcv.ssb_cc, which for a datagram counts the
 * MT_SONAME record too (sbappendaddr sballocs the sender's address: 16 bytes of
 * sun_noname for an unbound sender).
 */
function* kq_read(sys: Sys, kq: number, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  yield* sys.fcntl(b, F_SETFL, O_NONBLOCK);
  yield* sys.kevent(kq, [{ ident: a, filter: EVFILT_READ, flags: EV_ADD }]);
  const empty = yield* pending(sys, kq);
  const wrote = yield* sys.write(b, enc.encode('a'));
  const ready = yield* pending(sys, kq);
  const got = yield* sys.read(a, new Uint8Array(1));
  const drained = yield* pending(sys, kq);
  const again = yield* attempt(sys.read(a, new Uint8Array(1)));
  yield* sys.kevent(kq, [{ ident: a, filter: EVFILT_READ, flags: EV_DELETE }]);
  const gone = yield* attempt(sys.kevent(kq, [{ ident: a, filter: EVFILT_READ, flags: EV_DELETE }]));
  yield* sys.close(a);
  yield* sys.close(b);
  return [a, empty, wrote, ready, got, drained, again, gone];
}

/* The drainer of kq_write: once the writer sleeps in kevent, read everything it wrote. */
export function* kq_drainer(sys: Sys, fd: number, total: number, pid: number, tid: number): Blocking<unknown[]> {
  const asleep = yield* wait_asleep(sys, pid, tid, 'kqread');
  const got = (yield* recv_exact(sys, fd, total)).length;
  return [asleep, got];
}

/*
 * The write filter on a stream pair: writable at first (data: ssb_space, the whole
 * hiwat, since an AF_LOCAL stream's own so_snd stays empty); written full until EAGAIN
 * (SEED's SSB_STOP trips once the peer's so_rcv holds the sender's hiwat), then not
 * writable; then a reader on the other CPU drains it while this thread sleeps in kevent,
 * and uipc_rcvd's sowwakeup must wake it.
 */
function* kq_write(sys: Sys, kq: number, other: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  yield* sys.kevent(kq, [{ ident: a, filter: EVFILT_WRITE, flags: EV_ADD }]);
  const room = yield* pending(sys, kq);
  const chunk = new Uint8Array(1024);
  let total = 0, stop = '';
  for (let i = 0; i < 4096 && stop === ''; i++) {
    try {
      const n = yield* sys.write(a, chunk);
      if (n !== chunk.length) stop = `short ${n}`;
      total += n;
    } catch (e) {
      stop = code_of(e);
    }
  }
  const full = yield* pending(sys, kq);
  const fds = [{ fd: a, events: POLLOUT, revents: 0 }];
  const polled = yield* sys.poll(fds, 0);
  const t = yield* sys.thread(kq_drainer, { cpu: other, args: [b, total, yield* sys.getpid(), yield* sys.gettid()] });
  const woke = (yield* sys.kevent(kq, null, 4, { sec: 10, nsec: 0 })).map(ev);
  const drained = yield* sys.join(t);
  yield* sys.kevent(kq, [{ ident: a, filter: EVFILT_WRITE, flags: EV_DELETE }]);
  yield* sys.close(a);
  yield* sys.close(b);
  return [a, room, total, stop, full, [polled, fds[0].revents], woke, drained];
}

/*
 * kqueue.c leaves the datagram write test out (XXXRW: "kqueue can't tell when the remote
 * socket receive buffer is full").  DragonFly 2008 behaves just so: filt_sowrite looks at
 * the sender's own so_snd, which a unix datagram never fills, so the knote stays ready
 * (data: the 2048-byte dgram hiwat) while sends fail with ENOBUFS because the peer's
 * so_rcv is full (ssb_appendaddr's ssb_space <= 0: 64 one-byte datagrams fill its 32768
 * mbmax at 512 mbcnt each).
 */
function* kq_dgram_write(sys: Sys, kq: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  yield* sys.kevent(kq, [{ ident: a, filter: EVFILT_WRITE, flags: EV_ADD }]);
  const before = yield* pending(sys, kq);
  let sent = 0, stop = '';
  for (let i = 0; i < 1000 && stop === ''; i++) {
    try {
      yield* sys.send(a, enc.encode('x'));
      sent++;
    } catch (e) {
      stop = code_of(e);
    }
  }
  const after = yield* pending(sys, kq);
  yield* sys.close(a);
  yield* sys.close(b);
  return [a, before, sent, stop, after];
}

export function* kq_filters(sys: Sys, other: number): Blocking<Record<string, unknown>> {
  const kq = yield* sys.kqueue();
  const r: Record<string, unknown> = {};
  r.dgramRead = yield* kq_read(sys, kq, SOCK_DGRAM);
  r.streamRead = yield* kq_read(sys, kq, SOCK_STREAM);
  r.streamWrite = yield* kq_write(sys, kq, other);
  r.dgramWrite = yield* kq_dgram_write(sys, kq);
  r.left = yield* pending(sys, kq);
  yield* sys.close(kq);
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* sblock.c: a wait for a socket buffer's I/O lock can be interrupted by a signal.      */
/* ------------------------------------------------------------------------------------ */

/*
 * FreeBSD's soreceive holds sblock while it sleeps in sbwait, so its second reader waits
 * on the lock.  DragonFly 2008's soreceive drops the lock before ssb_wait (uipc_socket.c:
 * ssb_unlock then ssb_wait, then "goto restart"), so two plain readers both sleep in
 * "sbwait".  The one wait that keeps the lock is MSG_WAITALL's inner loop, reached when
 * the read is larger than so_rcv's hiwat (otherwise the block condition waits unlocked
 * for all of it): the holder here asks for more than hiwat with MSG_WAITALL, takes the
 * first byte and then sleeps holding SSB_LOCK, and the second reader sleeps in "sblock".
 */
const WAITALL_LEN = 57344 + 8192;

/* The lock holder: one MSG_WAITALL read of len bytes.  Exit 0 if it got them all, unsignalled. */
export function* sb_holder(sys: Sys, fd: number, len: number): Blocking<number> {
  let caught = 0;
  yield* sys.sigaction(SIGHUP, () => { caught++; });
  const n = yield* sys.recv(fd, new Uint8Array(len), MSG_WAITALL);
  return n === len && caught === 0 ? 0 : 1;
}

/*
 * The lock waiter: a one-byte recv that first waits for the lock.  Exit status: 1 EINTR,
 * 2 data, 3 EOF, 4 another error; plus 10 for each SIGHUP the handler saw.
 */
export function* sb_waiter(sys: Sys, fd: number, flags: number): Blocking<number> {
  let caught = 0;
  yield* sys.sigaction(SIGHUP, () => { caught++; }, flags);
  let r: number;
  try {
    r = (yield* sys.recv(fd, new Uint8Array(1))) === 0 ? 3 : 2;
  } catch (e) {
    r = code_of(e) === 'EINTR' ? 1 : 4;
  }
  return r + 10 * caught;
}

/* Wait (bounded) for pid to exit; its status, or -1 if it is still running. */
function* reap_within(sys: Sys, pid: number, tries: number): Blocking<number> {
  for (let i = 0; i < tries; i++) {
    const w = yield* sys.waitpid(pid, WNOHANG);
    if (w.pid === pid) return WEXITSTATUS(w.status);
    yield* sys.sleep(10);
  }
  return -1;
}

/*
 * flags: the waiter's sigaction flags (0 or SA_RESTART).  Without SA_RESTART the signal
 * must end the lock wait with EINTR at once (FreeBSD's failure signature is the waiter
 * still asleep until the close, then EOF).  With SA_RESTART, _ssb_lock's ERESTART
 * restarts the recv, which waits for the lock again and then gets the byte sent after
 * the holder finishes.
 */
export function* sblock(sys: Sys, flags: number, holderCpu: number, waiterCpu: number): Blocking<unknown[]> {
  const [snd, rcv] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const holder = yield* sys.spawn(sb_holder, { cpu: holderCpu, args: [rcv, WAITALL_LEN] });
  yield* sys.send(snd, enc.encode('a'));
  // The holder has the byte once so_rcv is empty; asleep after that, it sleeps in the WAITALL loop.
  let taken = false;
  for (let i = 0; i < 1000 && !taken; i++) {
    taken = (yield* sys.ioctl(rcv, FIONREAD)) === 0;
    if (!taken) yield* sys.sleep(10);
  }
  const holding = taken && (yield* wait_asleep(sys, holder, 0, 'sbwait'));
  const waiter = yield* sys.spawn(sb_waiter, { cpu: waiterCpu, args: [rcv, flags] });
  const locked = yield* wait_asleep(sys, waiter, 0, 'sblock');
  yield* sys.kill(waiter, SIGHUP);
  // Without SA_RESTART the waiter must be gone before any data or EOF could release it.
  const early = flags === 0 ? yield* reap_within(sys, waiter, 1000) : -1;
  yield* sys.send(snd, new Uint8Array(WAITALL_LEN - 1));
  const holderStatus = yield* reap_within(sys, holder, 1000);
  yield* sys.send(snd, enc.encode('z'));
  const waiterStatus = early !== -1 ? early : yield* reap_within(sys, waiter, 1000);
  yield* sys.close(snd);
  yield* sys.close(rcv);
  // Reap whatever is left (blocking: the close released any reader).
  if (waiterStatus === -1) yield* sys.waitpid(waiter);
  if (holderStatus === -1) yield* sys.waitpid(holder);
  return [holding, locked, holderStatus, waiterStatus];
}

/* ------------------------------------------------------------------------------------ */
/* unix_close_race.c: both ends of a connection closed at once on different CPUs.       */
/* ------------------------------------------------------------------------------------ */

/* The acceptor process: accept and close n connections; exit status: the closes that failed. */
export function* cr_acceptor(sys: Sys, s: number, n: number): Blocking<number> {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const c = yield* sys.accept(s);
    if ((yield* attempt(sys.close(c))) !== 'ok') bad++;
  }
  return Math.min(bad, 255);
}

/*
 * The FreeBSD test: a child accepts and closes while the parent connects and closes, so
 * the two soclose paths (sodisconnect, unp_disconnect, unp_detach) of one connection run
 * concurrently.  Every connect and every close must succeed: close never reports the
 * ENOTCONN of a disconnect that lost the race.  listen(1024) is clamped to somaxconn
 * (128), whose completed-queue limit (193) n stays below, so no connect is refused.
 */
export function* close_race(sys: Sys, path: string, n: number, other: number): Blocking<unknown[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 1024);
  const pid = yield* sys.spawn(cr_acceptor, { cpu: other, args: [s, n] });
  yield* sys.close(s);
  const connects: Record<string, number> = {}, closes: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    tally(connects, yield* attempt(sys.connect(c, path)));
    tally(closes, yield* attempt(sys.close(c)));
  }
  const st = yield* sys.waitpid(pid);
  yield* sys.unlink(path);
  return [connects, closes, WEXITSTATUS(st.status)];
}

/*
 * The closer thread of pair_close_race: for each round, read a list of descriptors from
 * the control socket, close them all, and answer with how many closes failed.  An empty
 * list ends it.
 */
export function* cr_closer(sys: Sys, ctl: number): Blocking<number> {
  let rounds = 0;
  for (;;) {
    const hdr = yield* recv_exact(sys, ctl, 4);
    const k = new DataView(hdr.buffer, hdr.byteOffset).getInt32(0, true);
    if (k === 0) return rounds;
    const body = yield* recv_exact(sys, ctl, 4 * k);
    const dv = new DataView(body.buffer, body.byteOffset);
    let bad = 0;
    for (let i = 0; i < k; i++) if ((yield* attempt(sys.close(dv.getInt32(4 * i, true)))) !== 'ok') bad++;
    yield* sys.send(ctl, ints([bad]));
    rounds++;
  }
}

/*
 * The race itself, without the listener: k socketpairs of `type` with data queued both
 * ways; a thread on the other CPU closes one end of each while this one closes the other
 * ends, for `rounds` rounds.  Every close succeeds, nothing leaks (runProgram's zones).
 */
export function* pair_close_race(sys: Sys, type: number, rounds: number, k: number, other: number): Blocking<unknown[]> {
  const [ctl, ctl2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const t = yield* sys.thread(cr_closer, { cpu: other, args: [ctl2] });
  let bad = 0, sendErr = 0;
  for (let r = 0; r < rounds; r++) {
    const mine: number[] = [], theirs: number[] = [];
    for (let i = 0; i < k; i++) {
      const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
      for (const [x, y] of [[a, b], [b, a]]) if ((yield* attempt(sys.send(x, enc.encode(`${y}`)))) !== 'ok') sendErr++;
      mine.push(a);
      theirs.push(b);
    }
    yield* sys.send(ctl, ints([k, ...theirs]));
    for (const fd of mine) if ((yield* attempt(sys.close(fd))) !== 'ok') bad++;
    bad += new DataView((yield* recv_exact(sys, ctl, 4)).buffer).getInt32(0, true);
  }
  yield* sys.send(ctl, ints([0]));
  const done = yield* sys.join(t);
  yield* sys.close(ctl);
  yield* sys.close(ctl2);
  return [bad, sendErr, done];
}

/* ------------------------------------------------------------------------------------ */
/* unix_sendtorace.c: sendto's connect-send-disconnect against the receiver.            */
/* ------------------------------------------------------------------------------------ */

/* The datagram receiver: count 1-byte datagrams of 0 until one of 1; → the count. */
export function* st_receiver(sys: Sys, s: number): Blocking<number> {
  const b = new Uint8Array(4);
  let n = 0;
  for (;;) {
    const k = yield* sys.recv(s, b);
    if (k === 1 && b[0] === 1) return n;
    if (k === 1 && b[0] === 0) n++;
    else return -1;
  }
}

/* The receiver that closes: take m datagrams, then close the socket under the senders. */
export function* st_closer(sys: Sys, s: number, m: number): Blocking<number> {
  const b = new Uint8Array(4);
  for (let i = 0; i < m; i++) yield* sys.recv(s, b);
  yield* sys.close(s);
  return m;
}

/*
 * The datagram test: a new unbound socket per sendto (socket, sendto, close), n times,
 * while the receiver on the other CPU reads.  Each sendto connects to the path for the
 * send and disconnects after (uipc_send's temporary unp_connect); it either delivers or
 * fails with ENOBUFS when the receiver is behind (unix datagrams never block), and the
 * receiver gets exactly what was delivered.
 *
 * Then the receiver closes its socket after m datagrams while the sender keeps going:
 * each sendto delivers (or ENOBUFS) until unp_detach unbinds the vnode, and from then on
 * it is ECONNREFUSED (v_socket NULL), and ENOENT once the path is unlinked.
 *
 * The stream test, which FreeBSD leaves out (no implied connect there either): sendto on
 * an unconnected AF_LOCAL stream socket is ENOTCONN in DragonFly 2008 (sosend: the
 * protocol is PR_CONNREQUIRED without PR_IMPLOPCL), and queues nothing on the listener.
 */
export function* sendto_race(sys: Sys, path: string, n: number, m: number, other: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const zero = new Uint8Array([0]);
  let s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(s, path);
  let t = yield* sys.thread(st_receiver, { cpu: other, args: [s] });
  let sent = 0;
  const fails: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const fd = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    try {
      sent += yield* sys.sendto(fd, zero, 0, path);
    } catch (e) {
      tally(fails, code_of(e));
    }
    yield* sys.close(fd);
  }
  // The end marker, retried while the receiver is full (bounded).
  const fd = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  let marker = 'unsent';
  for (let i = 0; i < 100_000 && marker !== 'ok'; i++) {
    marker = yield* attempt(sys.sendto(fd, new Uint8Array([1]), 0, path));
    if (marker === 'ENOBUFS') yield* sys.sched_yield();
  }
  yield* sys.close(fd);
  r.dgram = [sent, fails, marker, yield* sys.join(t)];
  yield* sys.close(s);
  yield* sys.unlink(path);

  // The receiver closes under the senders.
  s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(s, path);
  t = yield* sys.thread(st_closer, { cpu: other, args: [s, m] });
  const seq: string[] = [];
  for (let i = 0; i < 100_000 && seq.filter((x) => x === 'ECONNREFUSED').length < 5; i++) {
    const c = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    const e = yield* attempt(sys.sendto(c, zero, 0, path));
    if (seq.length === 0 || seq[seq.length - 1] !== e) seq.push(e);   // runs collapsed
    else if (e === 'ECONNREFUSED') seq.push(e);
    yield* sys.close(c);
    if (e === 'ENOBUFS') yield* sys.sched_yield();
  }
  const took = yield* sys.join(t);
  yield* sys.unlink(path);
  const c = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const unlinked = yield* attempt(sys.sendto(c, zero, 0, path));
  yield* sys.close(c);
  r.closed = [seq, took, unlinked];

  // Stream sendto: no implied connect.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, 4);
  yield* sys.fcntl(l, F_SETFL, O_NONBLOCK);
  const st = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const streamTo = yield* attempt(sys.sendto(st, zero, 0, path));
  const queued = yield* attempt(sys.accept(l));
  yield* sys.close(st);
  yield* sys.close(l);
  yield* sys.unlink(path);
  r.stream = [streamTo, queued];
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* unix_seqpacket_exercise.c: a seqpacket echo server and a client of many sizes.       */
/* ------------------------------------------------------------------------------------ */

const SEQ_BUF = 131072 - 16;        // SEQPACKET_RCVBUF and SEQPACKET_SNDBUF
const SEQ_BUFLEN = 32768;           // the server's receive buffer: longer records are cut (MSG_TRUNC)
const SEQ_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

function* seq_socket(sys: Sys): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_SEQPACKET);
  yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVBUF, SEQ_BUF);
  yield* sys.setsockopt(s, SOL_SOCKET, SO_SNDBUF, SEQ_BUF);
  return s;
}

/*
 * The echo server (a thread on the other CPU): for each of n connections, check the
 * buffer sizes it inherited from the listener (sonewconn's soreserve of the head's
 * hiwats), then echo each record, cut to SEQ_BUFLEN, until EOF or EPIPE.  → [bad buffer
 * sizes, records cut with MSG_TRUNC, records echoed].
 */
export function* sq_server(sys: Sys, s: number, n: number): Blocking<number[]> {
  const buf = new Uint8Array(SEQ_BUFLEN);
  let badbuf = 0, truncs = 0, echoed = 0;
  for (let i = 0; i < n; i++) {
    const c = yield* sys.accept(s);
    yield* sys.setsockopt(c, SOL_SOCKET, SO_RCVBUF, SEQ_BUF);
    if ((yield* sys.getsockopt(c, SOL_SOCKET, SO_RCVBUF)) !== SEQ_BUF) badbuf++;
    if ((yield* sys.getsockopt(c, SOL_SOCKET, SO_SNDBUF)) !== SEQ_BUF) badbuf++;
    for (;;) {
      const r = yield* sys.recvmsg(c, buf);
      if (r.bytes === 0) break;
      if ((r.flags & MSG_TRUNC) !== 0) truncs++;
      if ((yield* attempt(sys.send(c, buf, 0, r.bytes))) !== 'ok') break;
      echoed++;
    }
    yield* sys.close(c);
  }
  return [badbuf, truncs, echoed];
}

/*
 * The (size, count) pairs of the counted test.  The client sends all `count` records
 * before reading any echo, so the echoes must fit in its receive buffer: with more, the
 * server blocks echoing (SSB_STOP) while the client blocks sending into the server, on any
 * BSD.  FreeBSD runs all eight counts of every size; these are the ones that cannot
 * deadlock.
 */
function seq_counted(): [number, number][] {
  const out: [number, number][] = [];
  for (let c = 1; c <= 8; c++) {
    for (const size of SEQ_SIZES) if (c * Math.min(size, SEQ_BUFLEN) < SEQ_BUF) out.push([size, c]);
  }
  return out;
}

export function* seqpacket(sys: Sys, path: string, other: number): Blocking<Record<string, unknown>> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);       // FreeBSD sets SO_NOSIGPIPE, which DragonFly 2008 lacks
  const l = yield* seq_socket(sys);
  yield* sys.bind(l, path);
  yield* sys.listen(l, -1);
  const counted = seq_counted();
  const nconn = 3 + SEQ_SIZES.length + counted.length;
  const t = yield* sys.thread(sq_server, { cpu: other, args: [l, nconn] });
  const r: Record<string, unknown> = {};
  const wrong: unknown[] = [];

  // test_connect, test_connect_send.
  let s = yield* seq_socket(sys);
  r.connect = yield* attempt(sys.connect(s, path));
  yield* sys.close(s);
  s = yield* seq_socket(sys);
  yield* sys.connect(s, path);
  r.send = yield* sys.send(s, enc.encode('c'));
  yield* sys.close(s);

  // test_connect_shutdown_send: EPIPE after SHUT_RDWR.
  s = yield* seq_socket(sys);
  yield* sys.connect(s, path);
  yield* sys.shutdown(s, 2);
  r.shutdownSend = yield* attempt(sys.send(s, enc.encode('c')));
  yield* sys.close(s);

  // test_connect_send_recv and test_connect_send_recv_count: each record comes back alone, cut to SEQ_BUFLEN.
  const one = (function* (size: number, count: number): Blocking<void> {
    const buf = new Uint8Array(size + 4);    // room to see extra bytes or records run together
    const c = yield* seq_socket(sys);
    yield* sys.connect(c, path);
    for (let i = 0; i < count; i++) {
      buf[0] = i;
      const n = yield* sys.send(c, buf, 0, size);
      if (n !== size) wrong.push(['send', size, count, n]);
    }
    const want = Math.min(size, SEQ_BUFLEN);
    for (let i = 0; i < count; i++) {
      const n = yield* sys.recv(c, buf);
      if (n !== want || buf[0] !== i) wrong.push(['recv', size, count, i, n]);
    }
    yield* sys.close(c);
  });
  for (const size of SEQ_SIZES) yield* one(size, 1);
  for (const [size, count] of counted) yield* one(size, count);

  // test_sendto: FreeBSD's seqpacket has PR_IMPLOPCL and connects; DragonFly 2008's has not: ENOTCONN.
  s = yield* seq_socket(sys);
  r.sendto = yield* attempt(sys.sendto(s, enc.encode('c'), 0, path));
  yield* sys.close(s);

  r.server = yield* sys.join(t);
  r.wrong = wrong;
  r.conns = nconn;
  yield* sys.close(l);
  yield* sys.unlink(path);
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* listenclose.c: closing a listener with connections not yet accepted.                 */
/* ------------------------------------------------------------------------------------ */

/*
 * The listener thread of listenclose's race: wait (EV_CLEAR on the listener, each new
 * connection one event) until k connections are queued, then close the listener under
 * the connector.  → the queue length it saw.
 */
export function* lc_listener(sys: Sys, l: number, k: number): Blocking<number> {
  const kq = yield* sys.kqueue();
  yield* sys.kevent(kq, [{ ident: l, filter: EVFILT_READ, flags: EV_ADD | EV_CLEAR }]);
  let qlen = 0;
  for (let i = 0; i < 10_000 && qlen < k; i++) {
    const e = yield* sys.kevent(kq, null, 1, { sec: 10, nsec: 0 });
    if (e.length === 1) qlen = e[0].data ?? 0;
  }
  yield* sys.close(kq);
  yield* sys.close(l);
  return qlen;
}

/*
 * The port: a non-blocking connect to a listener (AF_LOCAL connects complete at once: 0,
 * not EINPROGRESS), then close the connector and the listener with it still queued.
 * Then the same with the connector kept open: closing the listener aborts the queued
 * connection (soclose's soaborta → uipc_abort → unp_drop(ECONNABORTED) and
 * soisdisconnected on both ends), so the client reads EOF and its send is EPIPE; the path
 * stays in the file system but refuses (ECONNREFUSED), and ENOENT once unlinked.
 *
 * Then the race: a connector here against the listener closing on the other CPU after k
 * connections.  Each connect either succeeds or is refused once the listener is gone;
 * every one that succeeded sees EOF (nobody accepted it: it was aborted).
 */
export function* listenclose(sys: Sys, path: string, k: number, max: number, other: number): Blocking<Record<string, unknown>> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);
  const r: Record<string, unknown> = {};
  let l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, -1);
  let c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.fcntl(c, F_SETFL, O_NONBLOCK);
  r.nbconnect = yield* attempt(sys.connect(c, path));
  r.closes = [yield* attempt(sys.close(c)), yield* attempt(sys.close(l))];
  r.refused = yield* attempt(sys.connect(c = yield* sys.socket(AF_LOCAL, SOCK_STREAM), path));
  yield* sys.close(c);
  yield* sys.unlink(path);

  l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, -1);
  c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, path);
  yield* sys.close(l);
  const again = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.aborted = [
    yield* sys.recv(c, new Uint8Array(4)),
    yield* attempt(sys.send(c, enc.encode('x'))),
    yield* attempt(sys.connect(again, path)),
  ];
  yield* sys.unlink(path);
  r.aborted = [...(r.aborted as unknown[]), yield* attempt(sys.connect(again, path))];
  yield* sys.close(again);
  yield* sys.close(c);

  // The race.
  l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, -1);
  const t = yield* sys.thread(lc_listener, { cpu: other, args: [l, k] });
  const kept: number[] = [];
  let refused = '';
  while (kept.length < max && refused === '') {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const e = yield* attempt(sys.connect(s, path));
    if (e === 'ok') kept.push(s);
    else {
      refused = e;
      yield* sys.close(s);
    }
  }
  const qlen = yield* sys.join(t);
  const after: Record<string, number> = {};
  for (const s of kept) {
    const n = yield* sys.recv(s, new Uint8Array(4));   // blocks only until the listener's close
    tally(after, n === 0 ? 'eof' : `data ${n}`);
    tally(after, yield* attempt(sys.send(s, enc.encode('x'))));
    yield* sys.close(s);
  }
  yield* sys.unlink(path);
  r.race = [kept.length >= k, refused, (qlen as number) >= k, after, kept.length];
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* accept_fd_leak.c: failed accepts must not leak the descriptor accept reserved.       */
/* ------------------------------------------------------------------------------------ */

/* The connector process: connect and close n times. */
export function* al_connector(sys: Sys, path: string, n: number): Blocking<number> {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    if ((yield* attempt(sys.connect(s, path))) !== 'ok') bad++;
    yield* sys.close(s);
  }
  return Math.min(bad, 255);
}

/*
 * The process whose accepts a signal interrupts: kern_accept reserves the new descriptor
 * (falloc) before it waits, so an EINTR must give it back.  rounds accepts, each ended by
 * the parent's SIGUSR1 and reported on the status socket.  Exit status: 0 when every
 * accept was EINTR and the next dup is the one after fd2; else 1.
 */
export function* al_eintr(sys: Sys, s: number, status: number, rounds: number): Blocking<number> {
  let caught = 0;
  yield* sys.sigaction(SIGUSR1, () => { caught++; }, 0);
  const fd1 = yield* sys.dup(0);
  const fd2 = yield* sys.dup(0);
  let eintr = 0;
  for (let i = 0; i < rounds; i++) {
    if ((yield* attempt(sys.accept(s))) === 'EINTR') eintr++;
    yield* sys.send(status, new Uint8Array([i]));
  }
  const fd3 = yield* sys.dup(0);
  return fd2 === fd1 + 1 && fd3 === fd2 + 1 && eintr === rounds && caught >= rounds ? 0 : 1;
}

export function* accept_leak(sys: Sys, path: string, loops: number, n: number, other: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const files0 = yield* sys.sysctl('kern.openfiles');
  const fd1 = yield* sys.dup(0);
  const fd2 = yield* sys.dup(0);
  r.sequential = fd2 === fd1 + 1;
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, -1);
  yield* sys.fcntl(s, F_SETFL, (yield* sys.fcntl(s, F_GETFL)) | O_NONBLOCK);
  r.nonblock = ((yield* sys.fcntl(s, F_GETFL)) & O_NONBLOCK) !== 0;
  const fails: Record<string, number> = {};
  for (let i = 0; i < loops; i++) tally(fails, yield* attempt(sys.accept(s)));
  // Other refusals: not a listener (EINVAL), not a socket (ENOTSOCK), not open (EBADF).
  const [p, q] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  r.refusals = [yield* attempt(sys.accept(p)), yield* attempt(sys.accept(0)), yield* attempt(sys.accept(99))];
  yield* sys.close(p);
  yield* sys.close(q);
  r.fails = fails;
  let fd3 = yield* sys.dup(0);
  r.after1 = fd3 - fd2;                      // 2: only the listener was added
  yield* sys.close(fd3);

  // Non-blocking accepts racing a connector on the other CPU: each gets a connection or EAGAIN.
  let pid = yield* sys.spawn(al_connector, { cpu: other, args: [path, n] });
  let accepted = 0, again = 0;
  for (let i = 0; i < 1_000_000 && accepted < n; i++) {
    try {
      yield* sys.close(yield* sys.accept(s));
      accepted++;
    } catch (e) {
      if (code_of(e) !== 'EAGAIN') throw e;
      again++;
      yield* sys.sched_yield();
    }
  }
  r.nbrace = [accepted, WEXITSTATUS((yield* sys.waitpid(pid)).status)];

  // Blocking accepts against the connector.
  yield* sys.fcntl(s, F_SETFL, (yield* sys.fcntl(s, F_GETFL)) & ~O_NONBLOCK);
  pid = yield* sys.spawn(al_connector, { cpu: other, args: [path, n] });
  accepted = 0;
  for (let i = 0; i < n; i++) {
    yield* sys.close(yield* sys.accept(s));
    accepted++;
  }
  r.blocking = [accepted, WEXITSTATUS((yield* sys.waitpid(pid)).status)];

  // Accepts interrupted by signals, in a child on the other CPU.
  const [st, st2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const rounds = 3;
  pid = yield* sys.spawn(al_eintr, { cpu: other, args: [s, st2, rounds] });
  // Signal until the child reports its last round (bounded).  A signal may land between
  // two accepts and only be caught (under netisr dispatch "waitmsg" is also a send's
  // wait), or end the next accept early: either way every accept must end in EINTR.
  const seen = yield* wait_asleep(sys, pid, 0, 'waitmsg');
  const got = new Uint8Array(16);
  let last = -1;
  for (let k = 0; k < 5000 && last < rounds - 1; k++) {
    yield* attempt(sys.kill(pid, SIGUSR1));   // ESRCH once it has reported its last and exited
    try {
      const n = yield* sys.recv(st, got, MSG_DONTWAIT);
      if (n > 0) last = got[n - 1];
    } catch (e) {
      if (code_of(e) !== 'EAGAIN') throw e;
      yield* sys.sleep(5);
    }
  }
  r.eintr = [seen, WEXITSTATUS((yield* sys.waitpid(pid)).status)];
  yield* sys.close(st);
  yield* sys.close(st2);

  fd3 = yield* sys.dup(0);
  r.after2 = fd3 - fd2;
  yield* sys.close(fd3);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.close(fd1);
  yield* sys.close(fd2);
  r.files = (yield* sys.sysctl('kern.openfiles')) - files0;
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* listen_backlog.c, without SO_LISTENQLIMIT: the backlog as sonewconn enforces it.     */
/* ------------------------------------------------------------------------------------ */

/*
 * Connect (and close: the server side stays on so_comp, counted in so_qlen) until the
 * listener refuses; → how many got through, at most max.
 */
function* fill(sys: Sys, path: string, max: number): Blocking<[number, string]> {
  for (let i = 0; i < max; i++) {
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const e = yield* attempt(sys.connect(c, path));
    yield* sys.close(c);
    if (e !== 'ok') return [i, e];
  }
  return [max, 'ok'];
}

/* A listener with backlog b (then b2 if given), filled: → connections that got through, and the refusal. */
function* limit(sys: Sys, path: string, b: number, b2?: number, pre = 0): Blocking<unknown[]> {
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, b);
  const first = pre > 0 ? yield* fill(sys, path, pre) : null;
  if (b2 !== undefined) yield* sys.listen(l, b2);
  const got = yield* fill(sys, path, 400);
  yield* sys.close(l);                      // aborts everything still queued
  yield* sys.unlink(path);
  return first === null ? got : [first[0], ...got];
}

/*
 * solisten: a backlog below 0 or above kern.ipc.somaxconn becomes somaxconn, and a
 * second listen replaces so_qlimit.  sonewconn refuses once so_qlen > 3 * so_qlimit / 2
 * (integer division, the completed queue only), so backlog b admits 3b/2 + 1
 * connections: 0 → 1, 1 → 2, 2 → 4, 5 → 8, 128 → 193.  DragonFly 2008 has no
 * SO_LISTENQLIMIT (FreeBSD's 0x1011): get and set are ENOPROTOOPT.  Runs as root to
 * lower somaxconn.
 */
export function* listen_backlog(sys: Sys, path: string): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const somaxconn = yield* sys.sysctl('kern.ipc.somaxconn');
  r.somaxconn = somaxconn;
  r.defaults = [];
  for (const b of [0, 1, 2, 5, -1, somaxconn, somaxconn + 1]) (r.defaults as unknown[]).push(yield* limit(sys, path, b));
  // Updates: 5 then -1, 0, 1, somaxconn + 1, each after 3 connections already queued.
  r.updates = [];
  for (const b2 of [-1, 0, 1, somaxconn + 1]) (r.updates as unknown[]).push(yield* limit(sys, path, 5, b2, 3));
  // Another somaxconn.
  yield* sys.sysctl('kern.ipc.somaxconn', 10);
  r.lowered = [yield* limit(sys, path, -1), yield* limit(sys, path, 20), yield* limit(sys, path, 3)];
  yield* sys.sysctl('kern.ipc.somaxconn', somaxconn);
  // SO_LISTENQLIMIT.
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const SO_LISTENQLIMIT = 0x1011;
  r.qlimit = [yield* attempt(sys.getsockopt(s, SOL_SOCKET, SO_LISTENQLIMIT)), yield* attempt(sys.setsockopt(s, SOL_SOCKET, SO_LISTENQLIMIT, 0))];
  yield* sys.close(s);
  // An accept makes room for exactly one more.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, 2);
  const full = yield* fill(sys, path, 10);
  yield* sys.close(yield* sys.accept(l));
  r.room = [full, yield* fill(sys, path, 10)];
  // The program ends right after closing a listener with full queues: soaborta's
  // messages (netisr: queued on a netisr thread) count as live work until they ran, so
  // runProgram's zone check waits for them.
  yield* sys.close(l);
  yield* sys.unlink(path);
  return r;
}

/* ------------------------------------------------------------------------------------ */
/* accf_data_attach.c: attaching and removing the dataready filter.                     */
/* ------------------------------------------------------------------------------------ */

/*
 * FreeBSD's steps, on an AF_LOCAL stream listener.  Two of them follow DragonFly 2008,
 * not FreeBSD: sogetopt(SO_ACCEPTFILTER) on a listener with no filter succeeds with a
 * zeroed accept_filter_arg (it is EINVAL only when the socket is not listening), where
 * FreeBSD (since 2008) answers EINVAL; and setsockopt(SO_ACCEPTFILTER, NULL) removes the
 * filter here, as FreeBSD does (a documented departure: DragonFly 2008 dropped it only
 * with the socket).
 */
export function* accf_attach(sys: Sys, path: string): Blocking<unknown[]> {
  const out: unknown[] = [];
  const get = (s: number): Blocking<unknown> => (function* () {
    try {
      return yield* sys.getsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER);
    } catch (e) {
      return code_of(e);
    }
  })();
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  out.push(yield* get(s));                                                             // after socket()
  yield* sys.bind(s, path);
  out.push(yield* get(s));                                                             // after bind()
  out.push(yield* attempt(sys.setsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'dataready' })));   // before listen()
  out.push(yield* get(s));
  yield* sys.listen(s, -1);
  out.push(yield* get(s));                                                             // listening, no filter
  out.push(yield* attempt(sys.setsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'dataready' })));
  out.push(yield* get(s));
  out.push(yield* attempt(sys.setsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER, null)));
  out.push(yield* get(s));
  yield* sys.close(s);
  yield* sys.unlink(path);
  return out;
}
