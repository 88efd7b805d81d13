/*
 * Programs for test/notify.test.ts: accept and connect waiting through DragonFly's
 * predicate notify messages (soaccept_predicate dequeues inside the predicate, so
 * acceptors racing connectors from other CPUs neither lose nor share a connection; a
 * signal aborts the wait with EINTR, SA_RESTART or not).
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, MSG_DONTWAIT, SIGUSR1, SIG_IGN, connect_retry,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/* Read one int32 (all 4 bytes) from fd. */
function* recv_int(sys: Sys, fd: number): Blocking<number> {
  const b = new Uint8Array(4);
  let got = 0;
  while (got < 4) {
    const n = yield* sys.recv(fd, b.subarray(got));
    if (n === 0) throw new Error('recv_int: EOF');
    got += n;
  }
  return new DataView(b.buffer).getInt32(0, true);
}

/* An acceptor thread: accept and read each connection's id until the sentinel (-1). */
export function* acceptor(sys: Sys, s: number): Blocking<number[]> {
  const ids: number[] = [];
  for (;;) {
    const c = yield* sys.accept(s);
    const id = yield* recv_int(sys, c);
    yield* sys.close(c);
    if (id === -1) return ids;
    ids.push(id);
  }
}

/* A connector process: connect to path and send id. */
export function* connector(sys: Sys, path: string, id: number): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  yield* sys.send(s, int32(id));
  yield* sys.close(s);
  return id;
}

/*
 * One listener, an acceptor thread on each CPU, n connector processes spread over the
 * CPUs; then one sentinel connection per acceptor.  Returns each acceptor's ids.
 */
export function* accept_race(sys: Sys, path: string, n: number, ncpu: number): Blocking<number[][]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 64);
  const tids: number[] = [];
  for (let c = 0; c < ncpu; c++) tids.push(yield* sys.thread(acceptor, { cpu: c, args: [s] }));
  const pids: number[] = [];
  for (let i = 0; i < n; i++) pids.push(yield* sys.spawn(connector, { cpu: i % ncpu, args: [path, i] }));
  for (const pid of pids) yield* sys.waitpid(pid);
  for (let c = 0; c < ncpu; c++) {
    const k = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    yield* sys.connect(k, path);
    yield* sys.send(k, int32(-1));
    yield* sys.close(k);
  }
  const out: number[][] = [];
  for (const t of tids) out.push((yield* sys.join(t)) as number[]);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return out;
}

/*
 * A process blocked in accept, with a SIGUSR1 handler (flags: SA_RESTART or 0): the
 * signal ends the accept with EINTR either way; the next accept then works.  It reports
 * through its status socket.
 */
export function* eintr_acceptor(sys: Sys, path: string, flags: number, status: number): Blocking<number> {
  let caught = 0;
  yield* sys.sigaction(SIGUSR1, () => { caught++; }, flags);
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 4);
  let first = '';
  try {
    yield* sys.accept(s);
    first = 'accepted';
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    first = e.code;
  }
  const seen = caught;
  yield* sys.sigaction(SIGUSR1, SIG_IGN);     // the parent's last kills must not reach the next accept
  yield* sys.send(status, int32(first === 'EINTR' ? 1 : 0));
  const c = yield* sys.accept(s);             // the parent connects once it has the status
  const id = yield* recv_int(sys, c);
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.send(status, int32(seen > 0 ? id : -1));
  return 0;
}

/*
 * The parent: signal the acceptor until it reports (bounded: a signal that lands before
 * the acceptor blocks is simply caught, and the next one interrupts the accept), then
 * connect and check the accept after the interruption works.
 */
export function* accept_eintr(sys: Sys, path: string, flags: number, childCpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pid = yield* sys.spawn(eintr_acceptor, { cpu: childCpu, args: [path, flags, b] });
  const buf = new Uint8Array(4);
  let n = -1;
  let kills = 0;
  for (; kills < 20_000 && n < 0; kills++) {
    yield* sys.kill(pid, SIGUSR1);
    try {
      n = yield* sys.recv(a, buf, MSG_DONTWAIT);
    } catch (e) {
      if (!(e instanceof SysError) || e.code !== 'EAGAIN') throw e;
      yield* sys.sleep(1);
    }
  }
  const interrupted = new DataView(buf.buffer).getInt32(0, true);
  const k = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(k, path);
  yield* sys.send(k, int32(77));
  yield* sys.close(k);
  const second = yield* recv_int(sys, a);
  const st = yield* sys.waitpid(pid);
  yield* sys.close(a);
  yield* sys.close(b);
  return [n, interrupted, second, st.status];
}
