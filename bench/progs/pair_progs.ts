/*
 * pair_progs.ts: process programs (Sys) for the `socket` bench section: one process makes
 * an AF_LOCAL stream socketpair and a thread on the other end's CPU, as the host helper
 * (bench/host_socketpair.c) makes a socketpair and a pthread.
 *
 * Every buffer is made once, before the measured loop, so the loop's sends and receives
 * are the only JS work done per byte moved (the heap probe measures what they allocate).
 * Times are nanotime() (real time on the parallel engine).
 */

import { Sys, AF_LOCAL, SOCK_STREAM } from '../../src/libc/index.js';
import { nanotime, type Blocking } from '../../src/kernel.js';

/*
 * The reader thread: `rounds` rounds of `total` bytes each, read with an `rbuf`-byte
 * buffer, one byte back after each round.  Returns the bytes read.
 */
export function* pair_reader(sys: Sys, fd: number, total: number, rounds: number, rbuf: number): Blocking<number> {
  const buf = new Uint8Array(rbuf);
  const ack = new Uint8Array(1);
  let all = 0;
  for (let r = 0; r < rounds; r++) {
    let got = 0;
    while (got < total) {
      const n = yield* sys.recv(fd, buf);
      if (n === 0) throw new Error(`pair_reader: EOF after ${got} of ${total} bytes`);
      got += n;
    }
    all += got;
    yield* sys.send(fd, ack);
  }
  return all;
}

/*
 * The writer (the process): a reader thread on readerCpu, then `rounds` rounds of `total`
 * bytes in `wsize`-byte writes, each timed from the first write to the reader's answer.
 * Returns [bytes the reader got, bytes/s of each round...].
 */
export function* pair_stream(sys: Sys, readerCpu: number, wsize: number, total: number, rounds: number,
    rbuf: number): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(pair_reader, { cpu: readerCpu, args: [b, total, rounds, rbuf] });
  const buf = new Uint8Array(wsize);
  const ack = new Uint8Array(1);
  const out: number[] = [0];
  for (let r = 0; r < rounds; r++) {
    const t0 = nanotime();
    for (let sent = 0; sent < total; ) sent += yield* sys.send(a, buf, 0, Math.min(wsize, total - sent));
    if ((yield* sys.recv(a, ack)) !== 1) throw new Error('pair_stream: no answer');
    out.push(total / ((nanotime() - t0) / 1e9));
  }
  out[0] = (yield* sys.join(tid)) as number;
  yield* sys.close(a);
  yield* sys.close(b);
  return out;
}

/* The 1-byte echo thread: echoes until EOF; returns the bytes echoed. */
export function* pair_echo(sys: Sys, fd: number): Blocking<number> {
  const b = new Uint8Array(1);
  let n = 0;
  while ((yield* sys.recv(fd, b)) === 1) {
    yield* sys.send(fd, b);
    n++;
  }
  return n;
}

/*
 * 1-byte round trips against an echo thread on echoCpu: `rounds` rounds of n; returns
 * [bytes echoed, ns per round trip of each round...].
 */
export function* pair_rt(sys: Sys, echoCpu: number, n: number, rounds: number): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(pair_echo, { cpu: echoCpu, args: [b] });
  const buf = new Uint8Array(1);
  const out: number[] = [0];
  for (let r = 0; r < rounds; r++) {
    const t0 = nanotime();
    for (let i = 0; i < n; i++) {
      buf[0] = i & 0xff;
      yield* sys.send(a, buf);
      if ((yield* sys.recv(a, buf)) !== 1 || buf[0] !== (i & 0xff)) throw new Error('pair_rt: wrong echo');
    }
    out.push((nanotime() - t0) / n);
  }
  yield* sys.shutdown(a, 1);           // SHUT_WR: the echo thread reads EOF
  out[0] = (yield* sys.join(tid)) as number;
  yield* sys.close(a);
  yield* sys.close(b);
  return out;
}

/*
 * One thread, both ends: n times, `wsize` bytes sent on one end of a stream socketpair
 * and read back on the other.  With wsize below the buffer's limit nothing ever blocks
 * in the bgl model (netisr: every request is a message to the socket's netisr thread,
 * a wait).  Returns the bytes read back.
 */
export function* pair_self(sys: Sys, wsize: number, n: number): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(wsize);
  const rbuf = new Uint8Array(wsize);
  let all = 0;
  for (let i = 0; i < n; i++) {
    yield* sys.send(a, buf);
    for (let got = 0; got < wsize; ) got += yield* sys.recv(b, rbuf, 0, wsize - got);
    all += wsize;
  }
  yield* sys.close(a);
  yield* sys.close(b);
  return all;
}

/*
 * The heap probe's programs (bench/socket_heap.ts, deterministic engine: the program runs
 * in the probe's own isolate).  As pair_stream's one round (writer and reader threads)
 * or pair_self, `warm + n` writes, with the JS heap read after the first `warm` and
 * after the rest, so the window holds nothing but the sends and receives: no spawn, no
 * join, no socketpair.  Returns [bytes read, heap growth over the n writes].
 */
function heap_used(): number { return process.memoryUsage().heapUsed; }

export function* pair_stream_heap(sys: Sys, wsize: number, warm: number, n: number): Blocking<number[]> {
  const total = (warm + n) * wsize;
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(pair_reader, { cpu: 0, args: [b, total, 1, Math.max(wsize, 65536)] });
  const buf = new Uint8Array(wsize);
  const ack = new Uint8Array(1);
  for (let i = 0; i < warm; i++) yield* sys.send(a, buf);
  const h0 = heap_used();
  for (let i = 0; i < n; i++) yield* sys.send(a, buf);
  const h1 = heap_used();
  if ((yield* sys.recv(a, ack)) !== 1) throw new Error('pair_stream_heap: no answer');
  const got = (yield* sys.join(tid)) as number;
  yield* sys.close(a);
  yield* sys.close(b);
  return [got, h1 - h0];
}

/*
 * The same stream across CPUs on the parallel engine: the reader thread on CPU 1.  A CPU
 * is a worker with a JS heap of its own, so each side reads its own heap around the same
 * n writes: the writer from the warm-th write to the last, the reader from the byte that
 * ends the warm-up to the last.  Returns [bytes read, writer's growth, reader's growth].
 */
export function* pair_xcpu_reader(sys: Sys, fd: number, warmBytes: number, total: number): Blocking<number[]> {
  const buf = new Uint8Array(65536);
  let got = 0, h0 = 0;
  while (got < total) {
    const n = yield* sys.recv(fd, buf);
    if (n === 0) throw new Error(`pair_xcpu_reader: EOF after ${got} of ${total} bytes`);
    if (got < warmBytes && got + n >= warmBytes) h0 = heap_used();
    got += n;
  }
  return [got, heap_used() - h0];
}

export function* pair_xcpu_heap(sys: Sys, wsize: number, warm: number, n: number): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(pair_xcpu_reader, { cpu: 1, args: [b, warm * wsize, (warm + n) * wsize] });
  const buf = new Uint8Array(wsize);
  for (let i = 0; i < warm; i++) yield* sys.send(a, buf);
  const h0 = heap_used();
  for (let i = 0; i < n; i++) yield* sys.send(a, buf);
  const h1 = heap_used();
  const [got, reader] = (yield* sys.join(tid)) as number[];
  yield* sys.close(a);
  yield* sys.close(b);
  return [got, h1 - h0, reader];
}

export function* pair_self_heap(sys: Sys, wsize: number, warm: number, n: number): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(wsize);
  const rbuf = new Uint8Array(wsize);
  let all = 0, h0 = 0;
  for (let i = 0; i < warm + n; i++) {
    if (i === warm) h0 = heap_used();
    yield* sys.send(a, buf);
    for (let got = 0; got < wsize; ) got += yield* sys.recv(b, rbuf, 0, wsize - got);
    all += wsize;
  }
  const h1 = heap_used();
  yield* sys.close(a);
  yield* sys.close(b);
  return [all, h1 - h0];
}
