/*
 * socket_bench.ts: the `socket` section's measurements.
 *
 *  - The host kernel's socketpair(2) doing the same work (bench/host_socketpair.c, compiled
 *    here with the system compiler into a temporary directory; null when there is none).
 *  - The simulation's figures: a writer process and its reader thread on an AF_LOCAL
 *    stream socketpair (bench/progs/pair_progs.ts), timed inside the simulation with
 *    nanotime().
 *  - The heap probe: a child node (--expose-gc, a big young generation) running
 *    bench/socket_heap.js, which measures the JS heap bytes a steady-state send/recv pair
 *    allocates on a deterministic-engine machine.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join as join_thread, type Kmachine } from './lwkt_bench.js';

export const SOCKET_PROGS = new URL('./progs/pair_progs.js', import.meta.url).href;

/* ---- the host helper ---- */

export interface HostHelper { bin: string; cc: string; dir: string }

/* The C source sits in <root>/bench/ whether this runs from dist/bench or bench. */
function helper_source(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, here.endsWith(join('dist', 'bench')) ? '../..' : '..');
  return join(root, 'bench', 'host_socketpair.c');
}

/* Compile bench/host_socketpair.c with $CC or cc; null (and why) when that fails. */
export function compile_host_helper(): { helper: HostHelper | null; why: string } {
  const src = helper_source();
  if (!existsSync(src)) return { helper: null, why: `${src} is missing` };
  const cc = process.env.CC ?? 'cc';
  const dir = mkdtempSync(join(tmpdir(), 'lwkt-sim-bench-'));
  const bin = join(dir, 'host_socketpair');
  try {
    execFileSync(cc, ['-O2', '-pthread', '-o', bin, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { helper: { bin, cc, dir }, why: '' };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { code?: string; stderr?: Buffer };
    return { helper: null, why: err.code === 'ENOENT' ? `no C compiler ('${cc}' not found)` : `${cc} failed: ${String(err.stderr ?? e).trim()}` };
  }
}

export function remove_host_helper(h: HostHelper | null): void {
  if (h !== null) rmSync(h.dir, { recursive: true, force: true });
}

function run_helper(h: HostHelper, args: string[]): number[] {
  const out = execFileSync(h.bin, args, { encoding: 'utf8', timeout: 120_000 });
  const xs = out.trim().split('\n').map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`host_socketpair ${args.join(' ')}: bad output '${out}'`);
  return xs;
}

/* Host socketpair stream: bytes/s per round (same: both threads on CPU 0; cross: CPUs 0 and 1). */
export function host_stream(h: HostHelper, wsize: number, total: number, rounds: number, cross: boolean): number[] {
  return run_helper(h, ['stream', String(wsize), String(total), String(rounds), cross ? 'cross' : 'same']);
}

/* Host socketpair 1-byte round trip: ns per round trip per round. */
export function host_rt(h: HostHelper, n: number, rounds: number, cross: boolean): number[] {
  return run_helper(h, ['rt', String(n), String(rounds), cross ? 'cross' : 'same']);
}

/* Host socketpair wake-up latency (reader on CPU 1 blocked in mode's call): median ns per round. */
export function host_wake(h: HostHelper, n: number, rounds: number, mode: 'recv' | 'poll' | 'kevent'): number[] {
  return run_helper(h, ['wake', String(n), String(rounds), mode]);
}

/* ---- the simulation ---- */

function as_nums(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`${what}: unexpected result ${JSON.stringify(v)}`);
  return v as number[];
}

/*
 * Stream throughput over a socketpair: the writer process on writerCpu, its reader thread
 * on readerCpu, `rounds` rounds of `total` bytes in `wsize`-byte writes (the reader's
 * buffer: max(wsize, 64 KB), as the host helper's).  bytes/s per round, as the writer
 * timed them.
 */
export async function sim_stream(m: Kmachine, wsize: number, total: number, rounds: number, readerCpu: number,
    writerCpu: number): Promise<number[]> {
  const writer = await m.spawnProcess({ cpu: writerCpu, module: SOCKET_PROGS, export: 'pair_stream',
    args: [readerCpu, wsize, total, rounds, Math.max(wsize, 65536)] });
  const [got, ...r] = as_nums(await join_thread(m, writer, 'pair_stream'), 'pair_stream');
  if (got !== total * rounds) throw new Error(`stream: reader got ${got} bytes, ${total * rounds} were sent`);
  return r;
}

/*
 * The copy ceiling of a stream of wsize-byte writes on this host: bytes/s when a write
 * costs nothing but the two copies every BSD socket makes, one into kernel memory and one
 * out, in pieces of at most a cluster (MCLBYTES), as sosend and soreceive cut them.
 * `shared` copies through a SharedArrayBuffer, as the simulation's kmem is; `plain`
 * through an ordinary ArrayBuffer.  V8 moves bytes into and out of shared memory with
 * relaxed atomic word moves, not memcpy, so `shared` is the most any socket built on kmem
 * could carry here, whatever the rest of its path costs.  The views are made before the
 * loop: it copies and allocates nothing else.
 */
export function copy_ceiling(wsize: number, ms: number): { shared: number; plain: number } {
  const MCLBYTES = 2048;
  const RING = 64 * 1024;                        // the pieces cycle through 64 KB, as clusters do
  const piece = Math.min(wsize, MCLBYTES);
  if (wsize % piece !== 0) throw new RangeError('copy_ceiling: wsize must be a multiple of its piece');
  const per_write = wsize / piece;
  const user_out = new Uint8Array(wsize);
  const user_in = new Uint8Array(wsize).fill(0x5a);
  const run = (mem: ArrayBufferLike, ms: number): number => {
    const k = new Uint8Array(mem);
    const slots = Math.max(1, Math.floor(RING / piece));
    const kv = Array.from({ length: slots }, (_, i) => k.subarray(i * piece, i * piece + piece));
    const uin = Array.from({ length: per_write }, (_, i) => user_in.subarray(i * piece, (i + 1) * piece));
    const uout = Array.from({ length: per_write }, (_, i) => user_out.subarray(i * piece, (i + 1) * piece));
    let slot = 0, writes = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let n = 0; n < 64; n++, writes++) {
        for (let i = 0; i < per_write; i++) {
          const v = kv[slot];
          v.set(uin[i]);
          uout[i].set(v);
          slot = slot + 1 === slots ? 0 : slot + 1;
        }
      }
      t = performance.now();
    }
    if (user_out[wsize - 1] !== 0x5a) throw new Error('copy_ceiling: the bytes did not arrive');
    return (writes * wsize) / ((t - t0) / 1e3);
  };
  run(new SharedArrayBuffer(RING), ms / 4);     // warm both paths up
  run(new ArrayBuffer(RING), ms / 4);
  return { shared: run(new SharedArrayBuffer(RING), ms), plain: run(new ArrayBuffer(RING), ms) };
}

/* 1-byte round trips over a socketpair: an echo thread on serverCpu, the client on clientCpu; ns per round trip per round. */
export async function sim_rt(m: Kmachine, n: number, rounds: number, serverCpu: number, clientCpu: number): Promise<number[]> {
  const client = await m.spawnProcess({ cpu: clientCpu, module: SOCKET_PROGS, export: 'pair_rt', args: [serverCpu, n, rounds] });
  const [echoed, ...r] = as_nums(await join_thread(m, client, 'pair_rt'), 'pair_rt');
  if (echoed !== n * rounds) throw new Error(`rt: the echo thread echoed ${echoed}, the client sent ${n * rounds}`);
  return r;
}

/*
 * Warm a shape until it is steady: a fresh CPU worker runs the kernel's code cold, and
 * V8 optimizes the deep send/receive paths only after thousands of calls (a 2 KB stream
 * on one CPU goes from 80 MB/s in its first round to about 900 MB/s by its twentieth).
 * `once` runs the shape and returns its rate (higher is better); the warm-up runs at
 * least `minRuns` times and `minMs`, then stops when `calm` runs in a row fail to beat the
 * best rate so far by more than `gain` (this host's noise alone can look steady for a few
 * runs), or after `capMs`.  Returns the runs made and the best rate, for the progress line.
 */
export async function warm_until_steady(once: () => Promise<number>, minMs: number, capMs: number, minRuns = 8,
    calm = 4, gain = 0.03): Promise<{ runs: number; best: number }> {
  const t0 = performance.now();
  let best = 0, still = 0, runs = 0;
  for (;;) {
    const ms = performance.now() - t0;
    if (ms >= capMs || (runs >= minRuns && ms >= minMs && still >= calm)) break;
    const v = await once();
    runs++;
    if (v > best * (1 + gain)) still = 0;
    else still++;
    if (v > best) best = v;
  }
  return { runs, best };
}

export const WAKE_PROGS = new URL('./progs/wake_progs.js', import.meta.url).href;
const WAKE_MODES = { recv: 0, poll: 1, kevent: 2 } as const;

/* Wake-up latency: the writer on writerCpu, the reader thread on readerCpu blocked in mode's call; median ns per round. */
export async function sim_wake(m: Kmachine, n: number, rounds: number, mode: 'recv' | 'poll' | 'kevent', readerCpu: number,
    writerCpu: number): Promise<number[]> {
  const writer = await m.spawnProcess({ cpu: writerCpu, module: WAKE_PROGS, export: 'wake_pair', args: [readerCpu, n, rounds, WAKE_MODES[mode]] });
  const [seen, ...r] = as_nums(await join_thread(m, writer, 'wake_pair'), 'wake_pair');
  if (seen !== n * rounds) throw new Error(`wake: the reader saw ${seen} wake-ups, ${n * rounds} were sent`);
  return r;
}

/* ---- the heap probe (a child node: see bench/socket_heap.ts) ---- */

/*
 * stream: writer and reader threads on one CPU; self: one thread sending to itself; xcpu:
 * the reader on a second CPU of a parallel-engine machine, lock statistics off
 * (xcpu-lockstat: on).  See socket_heap.ts.
 */
export type HeapShape = 'stream' | 'self' | 'xcpu' | 'xcpu-lockstat';

export interface HeapProbe {
  dispatch: string;
  shape: HeapShape;
  bytesPerPair: number;          // JS heap bytes per send/recv pair (slope between two transfer sizes)
  bytesPerObject: number;        // JS heap bytes of one minimal object ({ i }), measured the same way
  pairs: [number, number];
  deltas: [number, number];      // heap growth of the two windows (the least over the reps)
  gcsInWindows: number;          // GCs seen during the measured windows (0: the deltas are allocations)
}

export function heap_probe(dispatch: string, wsize: number, quick: boolean, shape: HeapShape = 'stream'): HeapProbe {
  const script = fileURLToPath(new URL('./socket_heap.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=128', script, dispatch, String(wsize),
    quick ? 'quick' : 'full', shape], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as HeapProbe;
}
