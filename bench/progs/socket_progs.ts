/*
 * socket_progs.ts: process programs (Sys) for the `socket` bench section.  Sys has no
 * threads, so the writer and the reader are two processes on an AF_LOCAL stream socket
 * (a listening server, a connecting client) rather than two threads on a socketpair.
 *
 * Every buffer is made once, before the measured loop, so the loop's sends and receives
 * are the only JS work done per byte moved (the heap probe checks that they allocate
 * nothing).  Times are nanotime() (real time on the parallel engine).
 */

import { Sys, SysError, AF_LOCAL, SOCK_STREAM, ECONNREFUSED, ENOENT, ENOTCONN } from '../../src/sys/index.js';
import { k32, nanotime, type Blocking } from '../../src/kernel.js';
import { connect_retry } from '../../src/sys/libsim.js';


/*
 * close(2), tolerating ENOTCONN: with the netisr dispatch model, closing an accepted
 * socket whose peer has already closed sometimes failed with ENOTCONN (a simulator
 * quirk the bench notes; the descriptor is gone either way).
 */
function* close_quiet(sys: Sys, fd: number): Blocking<void> {
  try {
    yield* sys.close(fd);
  } catch (e) {
    if (!(e instanceof SysError) || e.errno !== ENOTCONN) throw e;
  }
}

/*
 * Listen at path, set the kmem word `ready` (the host spawns the client only then), accept.
 * The word is a benchmark rendezvous, not something a process could do: with the netisr
 * dispatch model a connect that races the listen across CPUs panicked the kernel
 * ('unp_connect: listener without cached peercred'), so the client starts after listen.
 */
function* accept_one(sys: Sys, path: string, ready: number): Blocking<[number, number]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 1);
  Atomics.store(k32, ready, 1);
  return [s, yield* sys.accept(s)];
}

/*
 * The reader: rounds + warm rounds of `total` bytes each, read with a `rbuf`-byte buffer;
 * one byte back after each round.  Returns the bytes read.
 */
export function* stream_reader(sys: Sys, path: string, ready: number, total: number, rounds: number, rbuf: number): Blocking<number> {
  const [s, c] = yield* accept_one(sys, path, ready);
  const buf = new Uint8Array(rbuf);
  const ack = new Uint8Array(1);
  let all = 0;
  for (let r = 0; r < rounds; r++) {
    let got = 0;
    while (got < total) {
      const n = yield* sys.recv(c, buf);
      if (n === 0) throw new Error(`stream_reader: EOF after ${got} of ${total} bytes`);
      got += n;
    }
    all += got;
    yield* sys.send(c, ack);
  }
  yield* close_quiet(sys, c);
  yield* close_quiet(sys, s);
  yield* sys.unlink(path);
  return all;
}

/*
 * The writer: `rounds` rounds of `total` bytes in `wsize`-byte writes, each timed from
 * the first write to the reader's one-byte answer.  Returns bytes/s per round.
 */
export function* stream_writer(sys: Sys, path: string, wsize: number, total: number, rounds: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const buf = new Uint8Array(wsize);
  const ack = new Uint8Array(1);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nanotime();
    for (let sent = 0; sent < total; ) sent += yield* sys.send(s, buf, 0, Math.min(wsize, total - sent));
    if ((yield* sys.recv(s, ack)) !== 1) throw new Error('stream_writer: no answer');
    out.push(total / ((nanotime() - t0) / 1e9));
  }
  yield* close_quiet(sys, s);
  return out;
}

/* The 1-byte echo server: echoes until EOF; returns the bytes echoed. */
export function* rt_server(sys: Sys, path: string, ready: number): Blocking<number> {
  const [s, c] = yield* accept_one(sys, path, ready);
  const b = new Uint8Array(1);
  let n = 0;
  while ((yield* sys.recv(c, b)) === 1) {
    yield* sys.send(c, b);
    n++;
  }
  yield* close_quiet(sys, c);
  yield* close_quiet(sys, s);
  yield* sys.unlink(path);
  return n;
}

/* The 1-byte round-trip client: `rounds` rounds of n round trips; ns per round trip per round. */
export function* rt_client(sys: Sys, path: string, n: number, rounds: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const b = new Uint8Array(1);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nanotime();
    for (let i = 0; i < n; i++) {
      b[0] = i & 0xff;
      yield* sys.send(s, b);
      if ((yield* sys.recv(s, b)) !== 1 || b[0] !== (i & 0xff)) throw new Error('rt_client: wrong echo');
    }
    out.push((nanotime() - t0) / n);
  }
  yield* close_quiet(sys, s);
  return out;
}
