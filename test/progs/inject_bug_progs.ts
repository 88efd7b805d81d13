/*
 * Programs for test/inject_bug.test.ts: one small program per injectable kernel bug
 * (kern/kern_fail.ts, docs/faults.md), each of which passes on a correct kernel and fails
 * with its bug injected: a hang (every thread asleep: the deterministic engine reports a
 * deadlock), or a wrong result.
 */
import {
  AF_LOCAL, SOCK_STREAM, MSG_WAITALL, F_SETFL, O_NONBLOCK, FIONREAD, type Sys, SysError,
} from '../../src/libc/index.js';
import {
  k32, NULL, SO, SSB, FILE, PROC, MT_DATA, M_PKTHDR, MB, MB_DONTWAIT, holdfp, fdrop, m_getl, sbappend, spin_lock,
  spin_unlock, curthread, TD, type Blocking,
} from '../../src/kernel.js';
import { wait_asleep } from './common.js';

/* ---- ssb-unlock-no-wakeup ---- */

/* Receive n bytes with MSG_WAITALL: soreceive sleeps with so_rcv's I/O lock held. */
export function* waitall_reader(sys: Sys, fd: number, n: number): Blocking<number> {
  return yield* sys.recv(fd, new Uint8Array(n), MSG_WAITALL);
}

/* A plain receive of up to n bytes. */
export function* plain_reader(sys: Sys, fd: number, n: number): Blocking<number> {
  return yield* sys.recv(fd, new Uint8Array(n));
}

/* A MSG_WAITALL read longer than so_rcv's hiwat (57344): it takes what there is and waits in the loop. */
const WAITALL_LEN = 65536;

/*
 * A MSG_WAITALL reader that has part of its WAITALL_LEN bytes sleeps for the rest with
 * so_rcv's I/O lock held (the one wait that keeps it); a second reader then sleeps in
 * "sblock" for the lock (SSB_WANT).  The rest and 10 more bytes arrive: the first takes
 * its share and unlocks, which must wake the second (it gets the last 10).  With
 * ssb_unlock forgetting SSB_WANT's wakeup the second sleeps on for ever: a deadlock.
 */
export function* sblock_wakeup(sys: Sys, cpuA: number, cpuB: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pid = yield* sys.getpid();
  const t1 = yield* sys.thread(waitall_reader, { cpu: cpuA, args: [a, WAITALL_LEN] });
  yield* sys.send(b, new Uint8Array(1));
  // Once so_rcv is empty the reader has the byte; asleep after that, it sleeps in the WAITALL loop.
  let taken = false;
  for (let i = 0; i < 1000 && !taken; i++) {
    taken = (yield* sys.ioctl(a, FIONREAD)) === 0;
    if (!taken) yield* sys.sleep(10);
  }
  const holding = taken && (yield* wait_asleep(sys, pid, t1, 'sbwait'));
  const t2 = yield* sys.thread(plain_reader, { cpu: cpuB, args: [a, 10] });
  const wanting = yield* wait_asleep(sys, pid, t2, 'sblock');
  yield* sys.send(b, new Uint8Array(WAITALL_LEN - 1 + 10));
  const r1 = yield* sys.join(t1);
  const r2 = yield* sys.join(t2);
  yield* sys.close(a);
  yield* sys.close(b);
  return [holding, wanting, r1, r2];
}

/* ---- sonewconn-wrong-queue ---- */

/*
 * listen(s, backlog) and connect n sockets to it without accepting: sonewconn refuses once
 * so_qlen > 3 * backlog / 2, so floor(3b/2) + 1 connect and the rest get ECONNREFUSED.
 * Then accept what was queued (non-blocking, until EAGAIN).  Returns [connected, refused,
 * accepted].  Counting so_incqlen instead (AF_LOCAL connections pass through the
 * incomplete queue at once, so it is 0 at the test) admits every one.
 */
export function* backlog_limit(sys: Sys, path: string, backlog: number, n: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, backlog);
  const cs: number[] = [];
  let ok = 0, refused = 0;
  for (let i = 0; i < n; i++) {
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    cs.push(c);
    try {
      yield* sys.connect(c, path);
      ok++;
    } catch (e) {
      if (!(e instanceof SysError) || e.code !== 'ECONNREFUSED') throw e;
      refused++;
    }
  }
  yield* sys.fcntl(s, F_SETFL, O_NONBLOCK);
  let accepted = 0;
  for (;;) {
    try {
      yield* sys.close(yield* sys.accept(s));
      accepted++;
    } catch (e) {
      if (!(e instanceof SysError) || e.code !== 'EAGAIN') throw e;
      break;
    }
  }
  for (const c of cs) yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [ok, refused, accepted];
}

/* ---- soisdisconnected-keeps-snd ---- */

/* The socket of descriptor fd of the calling process (no reference kept: the caller holds fd). */
function* socket_of(fd: number): Blocking<number> {
  const p = k32[curthread() + TD.td_proc];
  const fp = holdfp(k32[p + PROC.p_fd], fd, -1);
  if (fp === NULL) throw new Error(`socket_of: no file at fd ${fd}`);
  const so = k32[fp + FILE.f_data];
  yield* fdrop(fp);
  return so;
}

/*
 * Queue n mbufs of unsent data on fd's so_snd, as a protocol that keeps unsent data there
 * (TCP) would: AF_LOCAL never does, its sends go straight to the peer's so_rcv, so no
 * system call can leave any.  The kernel's own sbappend, under the sockbuf's spinlock.
 */
function* queue_unsent(fd: number, n: number): Blocking<number> {
  const snd = (yield* socket_of(fd)) + SO.so_snd;
  let queued = 0;
  for (let i = 0; i < n; i++) {
    const m = m_getl(100, MB_DONTWAIT, MT_DATA, M_PKTHDR);
    if (m === NULL) break;
    k32[m + MB.m_len] = 100;
    k32[m + MB.m_pkthdr_len] = 100;
    spin_lock(snd + SSB.ssb_spin);
    sbappend(snd, m);
    spin_unlock(snd + SSB.ssb_spin);
    queued++;
  }
  return queued;
}

/* Bytes in fd's so_snd (its ssb_cc). */
function* snd_cc(fd: number): Blocking<number> {
  return k32[(yield* socket_of(fd)) + SO.so_snd + SSB.ssb_cc];
}

/*
 * A connected stream with unsent data in one end's so_snd; the peer closes, which
 * disconnects that end (unp_disconnect, soisdisconnected), and soisdisconnected must
 * drop the unsent data: so_snd empty and its mbufs freed at once (the mbufs in use, as
 * kern.ipc.mbstat.m_mbufs reports them, back where they were).  Keeping so_snd leaves
 * them until the socket itself goes.  Returns [queued, cc before, cc after, mbufs left].
 */
export function* disconnect_drops_snd(sys: Sys): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const m0 = yield* sys.sysctl('kern.ipc.mbstat.m_mbufs');
  const queued = yield* queue_unsent(a, 3);
  const before = yield* snd_cc(a);
  yield* sys.close(b);
  const after = yield* snd_cc(a);
  const left = (yield* sys.sysctl('kern.ipc.mbstat.m_mbufs')) - m0;
  yield* sys.close(a);
  return [queued, before, after, left];
}

/* ---- token-held-across-block ---- */

/*
 * One thread blocks in recv on CPU cpuR; then this thread sends it a line and waits for
 * the echo.  Under the BGL (every 2008 socket call holds it) the reader's sleep must
 * give the BGL up, or the sender can never get it to send: every other thread stalls.
 */
export function* echo_once(sys: Sys, fd: number): Blocking<number> {
  const buf = new Uint8Array(16);
  const n = yield* sys.recv(fd, buf);
  return yield* sys.send(fd, buf, 0, n);
}

export function* block_with_bgl(sys: Sys, cpuR: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pid = yield* sys.getpid();
  const t = yield* sys.thread(echo_once, { cpu: cpuR, args: [a] });
  const asleep = yield* wait_asleep(sys, pid, t, 'sbwait');
  yield* sys.send(b, new TextEncoder().encode('ping'));
  const got = yield* sys.recv(b, new Uint8Array(16));
  const echoed = yield* sys.join(t);
  yield* sys.close(a);
  yield* sys.close(b);
  return [asleep, got, echoed];
}

/* ---- wakeup-no-interlock ---- */

/* Receive n one-byte messages (each recv may sleep for its byte), then send one byte back. */
export function* byte_reader(sys: Sys, fd: number, n: number): Blocking<number> {
  const one = new Uint8Array(1);
  let got = 0;
  while (got < n) {
    const k = yield* sys.recv(fd, one);
    if (k === 0) break;
    got += k;
  }
  yield* sys.send(fd, one);
  return got;
}

/*
 * rounds times: a fresh stream pair; a reader thread on CPU cpuR takes n bytes one at a
 * time, sleeping whenever none is there; this thread sends them one at a time, then
 * waits for the reader's byte back.  Every sleep here is a check followed by tsleep, and
 * many are woken from another CPU: under netisr the reader's, by the protocol thread
 * that appends the byte; in either model the wait for a new thread (exec_request's), by
 * the IPI handler that made it.  Without the interlock a wakeup that falls between a
 * check and its sleep finds no sleeper, and the sleeper sleeps on for ever.
 */
export function* byte_stream(sys: Sys, cpuR: number, rounds: number, n: number): Blocking<number> {
  let total = 0;
  const one = new Uint8Array([7]);
  for (let r = 0; r < rounds; r++) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    const t = yield* sys.thread(byte_reader, { cpu: cpuR, args: [a, n] });
    for (let i = 0; i < n; i++) yield* sys.send(b, one);
    yield* sys.recv(b, new Uint8Array(1));
    total += (yield* sys.join(t)) as number;
    yield* sys.close(a);
    yield* sys.close(b);
  }
  return total;
}

/* ---- sowakeup-skips-notify ---- */

/* Accept one connection on s; its descriptor (closed) as the result. */
export function* acceptor(sys: Sys, s: number): Blocking<number> {
  const c = yield* sys.accept(s);
  yield* sys.close(c);
  return c;
}

/*
 * A thread blocks in accept (its predicate notify message queued on the listener's
 * so_rcv, SSB_MEVENT set); then a connection arrives, and the sorwakeup of soisconnected
 * must evaluate the predicate and reply to the message.  Skipping the notify predicates
 * leaves the acceptor waiting for ever.
 */
export function* accept_wakeup(sys: Sys, path: string, cpuA: number): Blocking<unknown[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 4);
  const pid = yield* sys.getpid();
  const t = yield* sys.thread(acceptor, { cpu: cpuA, args: [s] });
  const waiting = yield* wait_asleep(sys, pid, t, 'waitmsg');
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, path);
  const fd = yield* sys.join(t);
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [waiting, typeof fd];
}
