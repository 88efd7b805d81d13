/*
 * A module whose import stalls one CPU's worker (test/token_kick.test.ts): loaded with
 * ParallelMachine.load(), it keeps that CPU's host thread busy in its event loop, as a
 * long GC pause or a descheduled worker thread would, while the simulated CPU is idle.
 * The other CPUs import it at once.  Its URL's query says which CPU (cpu), the kmem word
 * it sets when the stall begins (flag) and the word that ends it (release); the stall
 * ends after 10 s in any case.
 */
import { k32, mycpuid } from '../../src/kernel.js';

const q = new URL(import.meta.url).searchParams;
if (mycpuid === Number(q.get('cpu'))) {
  const flag = Number(q.get('flag')), release = Number(q.get('release'));
  Atomics.store(k32, flag, 1);
  const t0 = Date.now();
  while (Atomics.load(k32, release) === 0 && Date.now() - t0 < 10_000) { /* the worker does nothing else */ }
}

export const stalled = true;
