/*
 * det_sched.ts: the deterministic engine's schedulers.  At each step the engine has the
 * CPUs with work (the candidates); a scheduler picks which steps next.  Between two
 * scheduling points of a thread (lwkt_schedpt.ts) every other CPU may run, so the pick
 * decides the interleaving.
 *
 *  - random: uniform among the candidates, from the seed.
 *  - pct: PCT (Burckhardt et al., ASPLOS 2010).  Every thread gets a random priority
 *    when first seen; the candidate CPU whose next thread has the highest runs; at d-1
 *    change points, drawn from the first k steps, the thread about to run drops below
 *    every other.  A bug of depth d is found with probability at least 1/(n k^(d-1)) per
 *    run, n threads and k steps; the run reports its measured n and k and that bound.
 *    Pure PCT starves a low thread that a high one spins on; here a candidate CPU that
 *    has waited FAIR_STEPS steps runs next (the fair variant).
 *  - replay: follows a list of choices (an index into the candidates at each step that
 *    had more than one), then never preempts: the CPU that ran last runs on while it
 *    can.  It records every decision; explore.ts enumerates schedules with it (bounded
 *    exhaustive search, as Loom and CHESS).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL } from '../../shared/struct.js';
import { PC } from '../../shared/pcpu.js';
import { TD } from '../lwkt/thread.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import type { DetRng } from './det_rng.js';

export type SchedulerName = 'random' | 'pct' | 'replay';

export interface DetScheduler {
  readonly name: SchedulerName;
  /* Pick the CPU to step among cand[0..n) (n >= 2). */
  pick(cand: Int32Array, n: number, gds: readonly Globaldata[], step: number, last: number): number;
}

/*
 * Uniform choice at every step makes a thread that needs a few more steps than another
 * almost never win a race (the chance halves with each step).  Real CPUs run at
 * different speeds from moment to moment: each CPU gets a random speed (1..8), the pick
 * is weighted by speed, and the speeds are drawn again after a random stretch of steps.
 * Across seeds this gives every CPU runs where it is much the faster one.
 */
const SPEEDS = 8;
const RESPEED_STEPS = 2000;

export class RandomScheduler implements DetScheduler {
  readonly name = 'random' as const;
  private readonly speed: Int32Array;
  private respeed_at = 0;
  constructor(private readonly rng: DetRng, ncpus: number) { this.speed = new Int32Array(ncpus); }

  pick(cand: Int32Array, n: number, _gds: readonly Globaldata[], step: number): number {
    const speed = this.speed;
    if (step >= this.respeed_at) {
      for (let c = 0; c < speed.length; c++) speed[c] = 1 + this.rng.below(SPEEDS);
      this.respeed_at = step + 1 + this.rng.below(RESPEED_STEPS);
    }
    let total = 0;
    for (let i = 0; i < n; i++) total += speed[cand[i]];
    let r = this.rng.below(total);
    for (let i = 0; i < n; i++) {
      r -= speed[cand[i]];
      if (r < 0) return cand[i];
    }
    return cand[n - 1];
  }
}

/* The thread a CPU would run next: its current one, else the head of its best run queue (0: none). */
function next_thread_id(gd: Globaldata): number {
  if (gd.curtd !== gd.idletd) return k32[gd.curtd + TD.td_id];
  if (gd.runqmask === 0) return 0;
  const pri = 31 - Math.clz32(gd.runqmask);
  const td = k32[gd.pcpu + PC.pc_runq + pri * 2];
  return td === NULL ? 0 : k32[td + TD.td_id];
}

const FAIR_STEPS = 1000;

export interface PctReport { depth: number; threads: number; steps: number; bound: number }

export class PctScheduler implements DetScheduler {
  readonly name = 'pct' as const;
  private readonly prio = new Map<number, number>();
  private readonly changes: number[];     // step numbers, ascending
  private next_change = 0;
  private lowered = 0;
  private readonly last_ran: number[] = [];

  constructor(private readonly rng: DetRng, readonly depth: number, readonly k: number) {
    const set = new Set<number>();
    while (set.size < Math.min(depth - 1, k)) set.add(1 + rng.below(k));
    this.changes = [...set].sort((a, b) => a - b);
  }

  private priority(tid: number): number {
    let p = this.prio.get(tid);
    if (p === undefined) {
      p = this.depth + this.rng.below(0x3fffffff);   // above every lowered priority (< depth)
      this.prio.set(tid, p);
    }
    return p;
  }

  pick(cand: Int32Array, n: number, gds: readonly Globaldata[], step: number): number {
    for (let i = 0; i < n; i++) {
      const c = cand[i];
      const since = this.last_ran[c] ?? step;
      if (step - since > FAIR_STEPS) return this.ran(c, step);
    }
    let best = this.best(cand, n, gds);
    if (this.next_change < this.changes.length && step >= this.changes[this.next_change]) {
      this.next_change++;
      this.prio.set(next_thread_id(gds[best]), this.depth - 1 - this.lowered++);
      best = this.best(cand, n, gds);
    }
    return this.ran(best, step);
  }

  private best(cand: Int32Array, n: number, gds: readonly Globaldata[]): number {
    let best = cand[0], bp = -1;
    for (let i = 0; i < n; i++) {
      const p = this.priority(next_thread_id(gds[cand[i]]));
      if (p > bp) { bp = p; best = cand[i]; }
    }
    return best;
  }

  private ran(cpu: number, step: number): number {
    this.last_ran[cpu] = step;
    return cpu;
  }

  /* n threads seen, k steps taken (the run's), and the probability bound 1/(n k^(d-1)). */
  report(steps: number): PctReport {
    const n = Math.max(1, this.prio.size), k = Math.max(1, steps);
    return { depth: this.depth, threads: n, steps: k, bound: 1 / (n * Math.pow(k, this.depth - 1)) };
  }
}

/* One decision of a replayed run: how many candidates, which was taken, which was the default. */
export interface Decision { n: number; chosen: number; fallback: number; lastRunnable: boolean }

export class ReplayScheduler implements DetScheduler {
  readonly name = 'replay' as const;
  readonly decisions: Decision[] = [];
  constructor(private readonly choices: readonly number[]) {}

  pick(cand: Int32Array, n: number, _gds: readonly Globaldata[], _step: number, last: number): number {
    let fallback = 0;
    let lastRunnable = false;
    for (let i = 0; i < n; i++) if (cand[i] === last) { fallback = i; lastRunnable = true; }
    const d = this.decisions.length;
    let chosen = d < this.choices.length ? this.choices[d] : fallback;
    if (chosen >= n) chosen = fallback;   // the prefix no longer fits: the run changed
    this.decisions.push({ n, chosen, fallback, lastRunnable });
    return cand[chosen];
  }
}
