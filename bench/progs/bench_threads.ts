/*
 * bench_threads.ts: kernel threads for the benchmarks, thin wrappers around the ready-made
 * workloads (src/workloads/lwkt.ts) that add what a multi-CPU measurement needs:
 *
 *   - a start gate: every thread waits (yielding) on a `go` word that the host sets once
 *     all of them are spawned, so no thread runs alone while the host is still spawning
 *     the others (a spawn takes up to tens of ms);
 *   - a time bound: the counters run in chunks until `ms` have passed, so a badly
 *     contended lock cannot stretch the run;
 *   - start and end stamps (nanotime, real time on the parallel engine, the same clock on
 *     every CPU) so the host can compute an aggregate rate over the common window.
 */

import { k32, nanotime, lwkt_yield, spin_lock, spin_unlock, zalloc, zfree, Z_MSG,
  type Blocking } from '../../src/kernel.js';
import { spin_counter, token_counter, bgl_counter } from '../../src/workloads/lwkt.js';

export const K_SPIN = 0;
export const K_TOKEN = 1;
export const K_BGL = 2;

function* gate(go: number): Blocking<void> {
  while (Atomics.load(k32, go) === 0) yield* lwkt_yield();
}

/*
 * yield_loop (src/workloads/lwkt.ts) with a start gate: the same loop, written inline.
 * Delegating to yield_loop would put a second generator frame under every resume, which
 * costs ~25 ns a switch here (measured: 110 ns gated-by-delegation vs 85 ns plain).
 * Returns its elapsed ns.
 */
export function* gated_yield_loop(go: number, n: number): Blocking<number> {
  while (Atomics.load(k32, go) === 0) yield* lwkt_yield();
  const t0 = nanotime();
  for (let i = 0; i < n; i++) yield* lwkt_yield();
  return nanotime() - t0;
}

/*
 * Run spin_counter / token_counter / bgl_counter in chunks of `chunk` increments until
 * `ms` have passed.  Returns [increments, t0 ns, t1 ns].
 */
export function* timed_counter(kind: number, go: number, lock: number, counter: number, ms: number,
    chunk: number): Blocking<number[]> {
  yield* gate(go);
  const t0 = nanotime();
  const end = t0 + ms * 1e6;
  let n = 0;
  do {
    if (kind === K_SPIN) yield* spin_counter(lock, counter, chunk);
    else if (kind === K_TOKEN) yield* token_counter(lock, counter, chunk, 0);
    else yield* bgl_counter(counter, chunk);
    n += chunk;
  } while (nanotime() < end);
  return [n, t0, nanotime()];
}

/*
 * In-thread cross-check of the host's tinybench figures: `n` uncontended spinlock
 * acquire+release pairs, then `n` raw CAS+store pairs on a plain kmem word, each timed
 * with nanotime.  Returns [spin ns/op, raw ns/op, zalloc+zfree ns/op].
 */
export function* uncontended_ops(lock: number, word: number, n: number): Blocking<number[]> {
  let t = nanotime();
  for (let i = 0; i < n; i++) {
    spin_lock(lock);
    spin_unlock(lock);
  }
  const spin = (nanotime() - t) / n;
  t = nanotime();
  for (let i = 0; i < n; i++) {
    Atomics.compareExchange(k32, word, 0, 1);
    Atomics.store(k32, word, 0);
  }
  const raw = (nanotime() - t) / n;
  t = nanotime();
  for (let i = 0; i < n; i++) zfree(Z_MSG, zalloc(Z_MSG));
  const zone = (nanotime() - t) / n;
  return [spin, raw, zone];
}
