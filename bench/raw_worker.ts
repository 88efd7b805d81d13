/*
 * raw_worker.ts: the body of every raw baseline worker (no simulation code at all):
 * plain worker_threads, one SharedArrayBuffer, Atomics.  bench/baselines.ts starts them.
 *
 * Shared words (Int32Array over the SAB), each on its own 64-byte line:
 *   W_READY  workers that reached the start line     W_GO    set by the host: start
 *   W_STOP   set by whoever ends the run first         W_PP    ping-pong value
 *   W_SLEEP0/1  "side i is (about to be) asleep"        W_LOCK  mutex word  W_COUNT counter
 */

import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';

export const W_READY = 0;
export const W_GO = 16;
export const W_STOP = 32;
export const W_PP = 48;
export const W_SLEEP0 = 64;
export const W_SLEEP1 = 80;
export const W_LOCK = 96;
export const W_COUNT = 112;
export const RAW_SAB_WORDS = 128;

export type RawKind = 'spin-pp' | 'spinwait-pp' | 'mp-pp' | 'futex-counter';

export interface RawWorkerData {
  kind: RawKind;
  sab: SharedArrayBuffer;
  index: number;          // 0 = the side that measures (ping-pong), or worker number
  workers: number;
  ms: number;             // measuring window
  port?: MessagePort;     // mp-pp: this side's end of the channel
}

export interface RawResult {
  ops: number;            // round trips (side 0) or counter increments
  t0: number;             // absolute ms (performance.timeOrigin + now)
  t1: number;
}

const POLLS = 2000;        // spin-then-wait: polls before Atomics.wait (as the kernel's IDLE_POLLS)
const SPIN_TRIES = 100;    // futex mutex: busy polls before the futex wait (as shared/futex.ts)

function abs_now(): number { return performance.timeOrigin + performance.now(); }

/* Every worker checks in, then waits for the host's go. */
function start_line(i32: Int32Array): void {
  Atomics.add(i32, W_READY, 1);
  Atomics.notify(i32, W_READY);
  while (Atomics.load(i32, W_GO) === 0) Atomics.wait(i32, W_GO, 0, 5);
}

/* Two workers bounce a counter through one word; spin with Atomics.load, publish with store. */
function spin_pp(i32: Int32Array, side: number, ms: number): RawResult {
  const wait = (want: number): boolean => {
    while (Atomics.load(i32, W_PP) !== want) if (Atomics.load(i32, W_STOP) !== 0) return false;
    return true;
  };
  return pp_loop(i32, side, ms, wait, (v) => Atomics.store(i32, W_PP, v));
}

/* As spin_pp, but each side polls POLLS times, then marks itself asleep and Atomics.waits. */
function spinwait_pp(i32: Int32Array, side: number, ms: number): RawResult {
  const mine = side === 0 ? W_SLEEP0 : W_SLEEP1;
  const theirs = side === 0 ? W_SLEEP1 : W_SLEEP0;
  const wait = (want: number): boolean => {
    for (;;) {
      for (let i = 0; i < POLLS; i++) if (Atomics.load(i32, W_PP) === want) return true;
      if (Atomics.load(i32, W_STOP) !== 0) return false;
      Atomics.store(i32, mine, 1);
      const v = Atomics.load(i32, W_PP);
      if (v !== want && Atomics.load(i32, W_STOP) === 0) Atomics.wait(i32, W_PP, v, 20);
      Atomics.store(i32, mine, 0);
    }
  };
  const post = (v: number): void => {
    Atomics.store(i32, W_PP, v);
    if (Atomics.load(i32, theirs) !== 0) Atomics.notify(i32, W_PP);
  };
  return pp_loop(i32, side, ms, wait, post);
}

function pp_loop(i32: Int32Array, side: number, ms: number, wait: (want: number) => boolean,
    post: (v: number) => void): RawResult {
  start_line(i32);
  let n = 0;
  const t0 = abs_now();
  const end = t0 + ms;
  for (let k = 0; ; k++) {
    if (side === 0) {
      post(2 * k + 1);
      if (!wait(2 * k + 2)) break;
      n++;
      if ((n & 255) === 0 && abs_now() >= end) {
        Atomics.store(i32, W_STOP, 1);
        Atomics.notify(i32, W_PP);
        break;
      }
    } else {
      if (!wait(2 * k + 1)) break;
      post(2 * k + 2);
    }
  }
  return { ops: n, t0, t1: abs_now() };
}

/* Two workers bounce a small message over a MessageChannel ('message' events). */
function mp_pp(i32: Int32Array, side: number, ms: number, port: MessagePort, done: (r: RawResult) => void): void {
  start_line(i32);
  if (side === 1) {
    port.on('message', (v: number) => {
      if (v < 0) { port.close(); done({ ops: 0, t0: 0, t1: 0 }); return; }
      port.postMessage(v + 1);
    });
    return;
  }
  let n = 0;
  const t0 = abs_now();
  const end = t0 + ms;
  port.on('message', (v: number) => {
    if (v !== 2 * n + 1) throw new Error(`mp-pp: got ${v}, expected ${2 * n + 1}`);
    n++;
    if ((n & 63) !== 0 || abs_now() < end) { port.postMessage(2 * n); return; }
    const t1 = abs_now();
    port.postMessage(-1);
    port.close();
    done({ ops: n, t0, t1 });
  });
  port.postMessage(0);
}

/* Drepper's three-state mutex, as shared/futex.ts, and a counter under it. */
function futex_counter(i32: Int32Array, ms: number): RawResult {
  const lock = (): void => {
    if (Atomics.compareExchange(i32, W_LOCK, 0, 1) === 0) return;
    for (let s = 0; s < SPIN_TRIES; s++) {
      if (Atomics.load(i32, W_LOCK) === 0 && Atomics.compareExchange(i32, W_LOCK, 0, 1) === 0) return;
    }
    while (Atomics.exchange(i32, W_LOCK, 2) !== 0) Atomics.wait(i32, W_LOCK, 2, 20);
  };
  const unlock = (): void => {
    if (Atomics.exchange(i32, W_LOCK, 0) === 2) Atomics.notify(i32, W_LOCK, 1);
  };
  start_line(i32);
  let n = 0;
  const t0 = abs_now();
  const end = t0 + ms;
  for (;;) {
    for (let i = 0; i < 256; i++) {
      lock();
      i32[W_COUNT]++;
      unlock();
    }
    n += 256;
    if (abs_now() >= end) break;
  }
  return { ops: n, t0, t1: abs_now() };
}

if (!isMainThread && parentPort !== null && (workerData as RawWorkerData | null)?.kind !== undefined) {
  const wd = workerData as RawWorkerData;
  const i32 = new Int32Array(wd.sab);
  const out = parentPort;
  switch (wd.kind) {
    case 'spin-pp': out.postMessage(spin_pp(i32, wd.index, wd.ms)); break;
    case 'spinwait-pp': out.postMessage(spinwait_pp(i32, wd.index, wd.ms)); break;
    case 'futex-counter': out.postMessage(futex_counter(i32, wd.ms)); break;
    case 'mp-pp': mp_pp(i32, wd.index, wd.ms, wd.port!, (r) => out.postMessage(r)); break;
  }
}
