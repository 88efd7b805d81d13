/*
 * wake_progs.ts: process programs for the `wake` bench section: the wake-up latency from
 * a send on one CPU to a reader thread on another blocked in recv, in poll or in kevent,
 * as the host helper (bench/host_socketpair.c, mode wake) measures it.  The reader notes
 * nanotime() when it wakes (real time on the parallel engine, one clock for every CPU)
 * and sends it back; the writer waits 100 us between wake-ups so the reader is asleep
 * again in its call.
 */

import { Sys, AF_LOCAL, SOCK_STREAM, POLLIN, EVFILT_READ, EV_ADD, type PollFd } from '../../src/libc/index.js';
import { nanotime, type Blocking } from '../../src/kernel.js';

export const WAKE_RECV = 0;
export const WAKE_POLL = 1;
export const WAKE_KEVENT = 2;

/* The reader thread: n wake-ups in the mode's call; each wake time goes back as a double. */
export function* wake_reader(sys: Sys, fd: number, n: number, mode: number): Blocking<number> {
  const b = new Uint8Array(1);
  const t = new Float64Array(1);
  const tb = new Uint8Array(t.buffer);
  const pfd: PollFd[] = [{ fd, events: POLLIN, revents: 0 }];
  const kq = mode === WAKE_KEVENT ? yield* sys.kqueue() : -1;
  if (kq >= 0) yield* sys.kevent(kq, [{ ident: fd, filter: EVFILT_READ, flags: EV_ADD }]);
  for (let i = 0; i < n; i++) {
    if (mode === WAKE_RECV) {
      yield* sys.recv(fd, b);
      t[0] = nanotime();
    } else {
      if (mode === WAKE_POLL) yield* sys.poll(pfd, -1);
      else yield* sys.kevent(kq, null, 1);
      t[0] = nanotime();
      yield* sys.recv(fd, b);
    }
    yield* sys.send(fd, tb);
  }
  if (kq >= 0) yield* sys.close(kq);
  return n;
}

/*
 * The writer (the process, on its CPU): a reader thread on readerCpu, then `rounds`
 * rounds of n wake-ups; returns [wake-ups the reader saw, the median latency (ns) of each
 * round...].
 */
export function* wake_pair(sys: Sys, readerCpu: number, n: number, rounds: number, mode: number): Blocking<number[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tid = yield* sys.thread(wake_reader, { cpu: readerCpu, args: [b, n * rounds, mode] });
  const one = new Uint8Array([0x77]);
  const t = new Float64Array(1);
  const tb = new Uint8Array(t.buffer);
  const lat = new Float64Array(n);
  const out: number[] = [0];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const until = nanotime() + 100_000;
      while (nanotime() < until) yield* sys.sched_yield();   // the reader is back in its call
      const t0 = nanotime();
      yield* sys.send(a, one);
      let got = 0;
      while (got < 8) got += yield* sys.recv(a, got === 0 ? tb : tb.subarray(got));
      lat[i] = t[0] - t0;
    }
    lat.sort();
    out.push(lat[n >> 1]);
  }
  out[0] = (yield* sys.join(tid)) as number;
  yield* sys.close(a);
  yield* sys.close(b);
  return out;
}
