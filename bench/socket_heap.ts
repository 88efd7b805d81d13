/*
 * socket_heap.ts: run by bench/socket_bench.ts as a child node with --expose-gc and
 * --max-semi-space-size=128 (so a window of a few MB allocates without a scavenge):
 *
 *   node --expose-gc --max-semi-space-size=128 dist/bench/socket_heap.js <bgl|netisr> <write size> <quick|full> [stream|self]
 *
 * On a 1-CPU deterministic-engine machine in this isolate, a writer process sends N writes
 * of <write size> bytes to its reader thread over an AF_LOCAL stream socketpair (stream:
 * the bench's pair_stream program, one round; the writer blocks when the buffer is full
 * and the reader when it is empty), or one thread sends each write on one end and reads
 * it back on the other (self: pair_self, where nothing blocks in the bgl model).  heapUsed is read after a full GC before the spawn and
 * right after the joins, with no GC in between (checked with a PerformanceObserver);
 * that growth is the bytes allocated.  Two values of N; the slope is the bytes per
 * send/recv pair, the fixed costs (spawning, sockets, the joins) cancel.  For scale, the
 * same measurement of a loop making one minimal object ({ i }) a turn.
 * Prints one JSON line (HeapProbe, bench/socket_bench.ts).
 */

import { PerformanceObserver } from 'node:perf_hooks';
import { boot, type Machine } from '../src/index.js';
import { SOCKET_PROGS } from './socket_bench.js';
import { median } from './report.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('socket_heap: run with --expose-gc\n');
  process.exit(2);
}

const [dispatch = 'bgl', wsizeArg = '2048', mode = 'full', shape = 'stream'] = process.argv.slice(2);
const wsize = Number(wsizeArg);
// The fixed costs of a transfer (spawn, join) vary by up to ~100 KB between runs: more
// pairs where they are cheap (self; 64 B writes) spread that noise thinner.
// A window with a scavenge in it measures nothing: when one happens (netisr allocates
// kilobytes a write), the probe starts over with a quarter of the pairs, up to 3 times.
let N1 = (mode === 'quick' ? 2_000 : 5_000) * (shape === 'self' ? 20 : wsize <= 64 ? 5 : 1);
const N2_OF_N1 = shape === 'self' ? 3 : 2;
const REPS = mode === 'quick' ? 3 : 5;
const SHRINKS = 3;

let gcs = 0;
const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function transfer(m: Machine, writes: number): Promise<{ delta: number; gcs: number }> {
  const total = writes * wsize;
  gc!();
  await flush();
  const g0 = gcs;
  const h0 = process.memoryUsage().heapUsed;
  const writer = shape === 'self'
    ? await m.spawnProcess({ module: SOCKET_PROGS, export: 'pair_self', args: [wsize, writes] })
    : await m.spawnProcess({ module: SOCKET_PROGS, export: 'pair_stream', args: [0, wsize, total, 1, Math.max(wsize, 65536)] });
  const r = await m.join(writer);
  const got = shape === 'self' ? r as number : (r as number[])[0];
  const h1 = process.memoryUsage().heapUsed;
  await flush();
  if (got !== total) throw new Error(`heap probe: reader got ${String(got)} of ${total}`);
  return { delta: h1 - h0, gcs: gcs - g0 };
}

/* The same window around a loop that makes one small object a turn and keeps the last. */
let sink: unknown;
async function objects(n: number): Promise<{ delta: number; gcs: number }> {
  gc!();
  await flush();
  const g0 = gcs;
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) sink = { i };
  const h1 = process.memoryUsage().heapUsed;
  await flush();
  return { delta: h1 - h0, gcs: gcs - g0 };
}

async function main(): Promise<void> {
  const m = await boot({ engine: 'deterministic', cpus: 1, memory: 32 << 20, dispatch: dispatch as 'bgl' | 'netisr',
    modules: [SOCKET_PROGS] });
  try {
    let N2 = N2_OF_N1 * N1;
    for (let i = 0; i < 3; i++) { await transfer(m, N1); await transfer(m, N2); }   // warm: compile the paths
    let d1: number[] = [], d2: number[] = [];
    let windowGcs = 0;
    for (let shrink = 0; ; shrink++) {
      d1 = []; d2 = []; windowGcs = 0;
      for (let r = 0; r < REPS; r++) {
        const a = await transfer(m, N1);
        const b = await transfer(m, N2);
        d1.push(a.delta); d2.push(b.delta);
        windowGcs += a.gcs + b.gcs;
      }
      if (windowGcs === 0 || shrink === SHRINKS || N1 < 400) break;
      N1 = Math.floor(N1 / 4);
      N2 = N2_OF_N1 * N1;
    }
    for (let i = 0; i < 3; i++) { await objects(N1); await objects(N2); }
    const o1: number[] = [], o2: number[] = [];
    for (let r = 0; r < REPS; r++) {
      o1.push((await objects(N1 * 10)).delta);
      o2.push((await objects(N2 * 10)).delta);
    }
    const m1 = median(d1), m2 = median(d2);
    process.stdout.write(JSON.stringify({
      dispatch, shape, bytesPerPair: (m2 - m1) / (N2 - N1), bytesPerObject: (median(o2) - median(o1)) / ((N2 - N1) * 10),
      pairs: [N1, N2], deltas: [m1, m2], gcsInWindows: windowGcs, rawDeltas: [d1, d2],
    }) + '\n');
  } finally {
    await m.shutdown();
    obs.disconnect();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`socket_heap: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
