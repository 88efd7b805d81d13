/*
 * sweep.ts: run one deterministic scenario under many seeds, across the host's cores.
 *
 * Each seed is an independent deterministic machine with its own kmem, so the seeds run
 * side by side in a piscina pool (DESIGN.md section 6: piscina is for batches of
 * independent work; a CPU of the parallel engine is a long-lived loop and is not a task).
 * A scenario is an async function exported from a module: it gets a freshly booted
 * deterministic machine and returns a structured-cloneable result.  Each seed's result
 * comes back with the run's trace hash, so a failing seed can be replayed in-process
 * with boot({ engine: 'deterministic', seed }) and the same scenario.
 */

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { BootOptions, Machine } from './machine.js';
import { module_url } from './modules.js';
import { DEFAULT_TIME_BUDGET_MS } from './boot.js';

export type Scenario = (m: Machine & { kmalloc(words: number): number }) => Promise<unknown>;

export interface SweepOptions {
  module: string;                  // module URL or absolute path of the scenario
  export?: string;                 // its exported async function (default 'default')
  seeds: number[];
  boot?: Omit<BootOptions, 'engine' | 'seed'>;
  threads?: number;                // pool size (default: host cores)
  timeBudgetMs?: number;           // each seed's wall-clock budget (default: boot's timeBudgetMs, else 300 s);
                                   // a seed past it fails; one stuck in a step that never yields is stopped
                                   // by terminating its worker a little later
}

export interface SeedResult {
  seed: number;
  ok: boolean;
  traceHash: string;
  result?: unknown;
  error?: string;                  // the scenario's or the machine's failure, with its report
}

export interface SweepTaskInput {
  module: string;
  export: string;
  seed: number;
  boot: Omit<BootOptions, 'engine' | 'seed'>;
}

function task_file(): string {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../workers/sweep-tsx.mjs', here).href : new URL('./sweep_task.js', here).href;
}

/* A seed's task, its worker terminated if the machine cannot stop itself (a step that never yields). */
async function run_one(pool: Piscina, input: SweepTaskInput, budget: number): Promise<SeedResult> {
  if (budget === 0) return pool.run(input) as Promise<SeedResult>;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), budget + 5_000);
  try {
    return (await pool.run(input, { signal: ac.signal })) as SeedResult;
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    return { seed: input.seed, ok: false, traceHash: '', error: `budget: seed ${input.seed} ran past its time budget ` +
      `of ${budget} ms inside one step (a thread that never yields); its worker was terminated` };
  } finally {
    clearTimeout(timer);
  }
}

/* How many distinct schedules (trace hashes) a sweep explored. */
export function distinctSchedules(results: readonly SeedResult[]): number {
  return new Set(results.filter((r) => r.traceHash !== '').map((r) => r.traceHash)).size;
}

export async function sweep(opts: SweepOptions): Promise<SeedResult[]> {
  if (opts.seeds.length === 0) return [];
  for (const s of opts.seeds) if (!Number.isInteger(s)) throw new RangeError(`sweep: seed ${s} is not an integer`);
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), opts.seeds.length));
  const pool = new Piscina({
    filename: task_file(),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  try {
    const budget = opts.timeBudgetMs ?? opts.boot?.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    if (!Number.isInteger(budget) || budget < 0) throw new RangeError('sweep: timeBudgetMs must be a non-negative integer (0: none)');
    const input = (seed: number): SweepTaskInput =>
      ({ module: module_url(opts.module), export: opts.export ?? 'default', seed, boot: { ...opts.boot, timeBudgetMs: budget } });
    return await Promise.all(opts.seeds.map((seed) => run_one(pool, input(seed), budget)));
  } finally {
    await pool.destroy();
  }
}
