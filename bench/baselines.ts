/*
 * baselines.ts: the raw figures every simulation figure is compared with, measured in the
 * same run: worker_threads bouncing a word through a SharedArrayBuffer (spinning, or
 * spinning then sleeping), a MessagePort round trip between two workers, a futex-mutex
 * counter on N workers.  Fresh workers for every measurement (bench/raw_worker.ts).
 */

import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { RAW_SAB_WORDS, W_COUNT, W_GO, W_READY, type RawKind, type RawResult, type RawWorkerData } from './raw_worker.js';

const RAW_WORKER = new URL('./raw_worker.js', import.meta.url);
const START_TIMEOUT_MS = 30_000;

interface RawRun { results: RawResult[]; counter: number }

async function raw_run(kind: RawKind, workers: number, ms: number): Promise<RawRun> {
  const sab = new SharedArrayBuffer(RAW_SAB_WORDS * 4);
  const i32 = new Int32Array(sab);
  const ports: (MessagePort | undefined)[] = new Array(workers).fill(undefined);
  if (kind === 'mp-pp') {
    const ch = new MessageChannel();
    ports[0] = ch.port1;
    ports[1] = ch.port2;
  }
  const ws: Worker[] = [];
  const done: Promise<RawResult>[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      const data: RawWorkerData = { kind, sab, index: i, workers, ms, port: ports[i] };
      const w = new Worker(RAW_WORKER, { workerData: data, transferList: ports[i] ? [ports[i]!] : [] });
      ws.push(w);
      done.push(new Promise<RawResult>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`raw ${kind} worker ${i} exited (${code}) before reporting`)));
      }));
    }
    // Everyone at the start line, then go: no worker pays another's start-up.
    const t0 = Date.now();
    while (Atomics.load(i32, W_READY) < workers) {
      if (Date.now() - t0 > START_TIMEOUT_MS) throw new Error(`raw ${kind}: workers did not start`);
      await new Promise((r) => setTimeout(r, 1));
    }
    Atomics.store(i32, W_GO, 1);
    Atomics.notify(i32, W_GO);
    const results = await Promise.all(done);
    return { results, counter: Atomics.load(i32, W_COUNT) };
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/* ns per round trip, measured by side 0. */
async function pingpong(kind: RawKind, ms: number): Promise<{ ns: number; rounds: number }> {
  const { results } = await raw_run(kind, 2, ms);
  const r = results[0];
  if (r.ops <= 0) throw new Error(`raw ${kind}: no round trips`);
  return { ns: ((r.t1 - r.t0) * 1e6) / r.ops, rounds: r.ops };
}

export const raw_spin_pp = (ms: number) => pingpong('spin-pp', ms);
export const raw_spinwait_pp = (ms: number) => pingpong('spinwait-pp', ms);
export const raw_mp_pp = (ms: number) => pingpong('mp-pp', ms);

/* A counter under a futex mutex on `workers` workers: total increments per second. */
export async function raw_futex_counter(workers: number, ms: number): Promise<{ opsPerSec: number; ops: number; counterOk: boolean }> {
  const { results, counter } = await raw_run('futex-counter', workers, ms);
  const ops = results.reduce((s, r) => s + r.ops, 0);
  const t0 = Math.min(...results.map((r) => r.t0));
  const t1 = Math.max(...results.map((r) => r.t1));
  return { opsPerSec: ops / ((t1 - t0) / 1e3), ops, counterOk: counter === (ops | 0) };
}
