/*
 * demo_threads.ts: kernel threads the demo adds to the ready-made workloads.  A module of
 * thread functions: the CPUs import it, the host only names it in spawn().
 */

import { nanotime, type Blocking } from '../kernel.js';
import { token_counter } from '../workloads/lwkt.js';

export const DEMO_THREADS = import.meta.url;

/*
 * token_counter in rounds until `ns` nanoseconds have passed: each round is one block's
 * worth of increments (blockEvery, or 256 when it never blocks), so the last round ends
 * shortly after the deadline.  Returns [increments, elapsed ns, rounds].
 */
export function* token_counter_for(tok: number, counter: number, ns: number, blockEvery: number): Blocking<number[]> {
  const round = blockEvery > 0 ? blockEvery : 256;
  const t0 = nanotime();
  let n = 0;
  let rounds = 0;
  do {
    const [done] = yield* token_counter(tok, counter, round, blockEvery);
    n += done;
    rounds++;
  } while (nanotime() - t0 < ns);
  return [n, nanotime() - t0, rounds];
}
