/*
 * socket_heap.ts: run by bench/socket_bench.ts as a child node with --expose-gc and
 * --min-semi-space-size=64 --max-semi-space-size=128 (so a window of a few MB allocates
 * without a scavenge):
 *
 *   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=128 dist/bench/socket_heap.js <bgl|netisr> <write size> <quick|full> [stream|self|xcpu|xcpu-lockstat]
 *
 * On a 1-CPU deterministic-engine machine in this isolate, a writer process sends writes
 * of <write size> bytes to its reader thread over an AF_LOCAL stream socketpair (stream:
 * pair_stream_heap, the bench's stream in one round; the writer blocks when the buffer is
 * full and the reader when it is empty), or one thread sends each write on one end and
 * reads it back on the other (self: pair_self_heap, where nothing waits for space or
 * data).  The program itself reads heapUsed after WARM writes (the stream is steady by
 * then) and after N more, so the window holds only sends and receives; a transfer with any GC in it (a
 * PerformanceObserver watches) is not counted.  Each N is run REPS times and the least
 * growth taken: what a window gains besides the sends themselves (the deterministic
 * engine's turn of the event loop between slices, a compilation finishing) can only add,
 * and comes in some windows, not all.  Two values of N; the slope is the bytes per send
 * and its receives, and what the two heap reads cost cancels.
 * xcpu: the stream across CPUs on a 2-CPU parallel-engine machine (pair_xcpu_heap), where
 * the BGL is contended on most calls; each CPU is a worker with its own JS heap, so the
 * writer and the reader each read their own and the growth is the sum.  Lock statistics
 * are off: timing a contended wait reads the clock twice, and V8 returns each reading of
 * performance.now() as a fresh 16-byte heap number; xcpu-lockstat measures that too.
 * The main thread's GC observer cannot see a worker's collections; a scavenge there
 * frees megabytes, so a window in which either side's heap shrank counts as one with a GC.
 * For scale, the same measurement of a loop making one minimal object ({ i }) a turn.
 * Prints one JSON line (HeapProbe, bench/socket_bench.ts).
 */

import { PerformanceObserver } from 'node:perf_hooks';
import { boot, type Machine } from '../src/index.js';
import { SOCKET_PROGS } from './socket_bench.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('socket_heap: run with --expose-gc\n');
  process.exit(2);
}

const [dispatch = 'bgl', wsizeArg = '2048', mode = 'full', shape = 'stream'] = process.argv.slice(2);
const wsize = Number(wsizeArg);
// More pairs where they are cheap (self; 64 B writes): the slope is then finer.
// The window reads are exact, so a few thousand pairs do.
// A window with a scavenge in it measures nothing: when one happens (netisr allocates
// kilobytes a write), the probe starts over with a quarter of the pairs, up to 3 times.
const xcpu = shape === 'xcpu' || shape === 'xcpu-lockstat';
let N1 = (mode === 'quick' ? 1_000 : 2_000) * (shape === 'self' ? 5 : wsize <= 64 ? 5 : 1);
const N2_OF_N1 = shape === 'self' ? 3 : 2;
const REPS = mode === 'quick' ? 3 : 5;
const SHRINKS = 3;

let gcs = 0;
const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/* Two full buffers' worth of writes before the window: the stream is in its steady state. */
const WARM = Math.max(200, Math.ceil((4 * 65536) / wsize));

/*
 * No gc() between transfers: the first run of the paths after a full GC allocates tens of
 * kilobytes (V8 re-creating what the collector dropped), which would land in the window.
 * The young generation is big enough (--min-semi-space-size) for what a warm window
 * allocates, and a window a scavenge fell in is seen and not counted.
 */
async function transfer(m: Machine, writes: number): Promise<{ delta: number; gcs: number }> {
  await flush();
  const g0 = gcs;
  const writer = await m.spawnProcess({ cpu: 0, module: SOCKET_PROGS,
    export: shape === 'self' ? 'pair_self_heap' : xcpu ? 'pair_xcpu_heap' : 'pair_stream_heap', args: [wsize, WARM, writes] });
  const [got, delta, reader = 0] = (await m.join(writer)) as number[];
  await flush();
  if (got !== (WARM + writes) * wsize) throw new Error(`heap probe: reader got ${String(got)} of ${(WARM + writes) * wsize}`);
  const shrank = delta < 0 || reader < 0 ? 1 : 0;
  return { delta: delta + reader, gcs: gcs - g0 + shrank };
}

/*
 * Warm until the paths are compiled for good: V8 keeps re-optimizing the send and
 * receive paths for dozens of transfers (each new continuation kind seen at a call site
 * deoptimizes it once), and every recompilation lands in some window's heap growth.
 * Steady when WARM_CALM windows in a row differ by no more than WARM_SLACK bytes (after
 * WARM_MIN transfers, at most WARM_MAX).  The heap reads themselves allocate a constant
 * few hundred bytes, which the slope cancels.
 */
const WARM_MIN = 15, WARM_MAX = 60, WARM_CALM = 3, WARM_SLACK = 64;
async function warm(m: Machine, n: number): Promise<void> {
  gc!();
  let calm = 0, last = NaN;
  for (let i = 0; i < WARM_MAX; i++) {
    const { delta, gcs: g } = await transfer(m, n);
    calm = g === 0 && Math.abs(delta - last) <= WARM_SLACK ? calm + 1 : 0;
    last = delta;
    if (i + 1 >= WARM_MIN && calm >= WARM_CALM) return;
  }
}

/*
 * The same window around a loop that makes one small object a turn and keeps it in a
 * ring of slots (one kept only in a variable that is overwritten, V8 need not make at
 * all).  No gc() before it, as for the transfers.
 */
const ring: unknown[] = new Array<unknown>(1024).fill(null);
async function objects(n: number): Promise<{ delta: number; gcs: number }> {
  await flush();
  const g0 = gcs;
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) ring[i & 1023] = { i };
  const h1 = process.memoryUsage().heapUsed;
  await flush();
  return { delta: h1 - h0, gcs: gcs - g0 };
}

async function main(): Promise<void> {
  const m = await boot({ engine: xcpu ? 'parallel' : 'deterministic', cpus: xcpu ? 2 : 1, memory: 32 << 20,
    dispatch: dispatch as 'bgl' | 'netisr', lockstat: shape !== 'xcpu', modules: [SOCKET_PROGS] });
  try {
    let N2 = N2_OF_N1 * N1;
    await warm(m, N1);
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
    const m1 = Math.min(...d1), m2 = Math.min(...d2);
    process.stdout.write(JSON.stringify({
      dispatch, shape, bytesPerPair: (m2 - m1) / (N2 - N1), bytesPerObject: (Math.min(...o2) - Math.min(...o1)) / ((N2 - N1) * 10),
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
