/*
 * runner.ts: a stress run over many seeds.
 *
 * Deterministic seeds run side by side on a piscina pool (each task boots its own
 * machine: DESIGN.md section 6), `jobs` at a time, submitted as earlier ones finish so a
 * run can stop at its first failure or when its wall-clock budget is spent.  Parallel-
 * engine seeds run one after another in this process: each machine already uses every
 * core.  A deterministic failure is shrunk (shrink.ts) to the smallest run that still
 * fails; a parallel one can be hunted again across deterministic seeds (rehunt).
 */

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { run_stress_seed, type SeedOutcome, type SeedRunOptions } from './seed_run.js';
import { check_settings, type StressSettings } from './settings.js';
import type { StressTaskInput } from './stress_task.js';
import { shrink, type ShrinkResult } from './shrink.js';
import { worker_stack } from '../machine/worker_stack.js';
import { summarize, type StressSummary } from './summary.js';

export interface StressOptions {
  settings: StressSettings;
  seeds: number[];                  // in order; with wallMs, a run may stop before the last
  jobs?: number;                    // deterministic engine: seeds at once (default: host cores)
  stopAtFirstFailure?: boolean;     // default true
  checkDeterminism?: boolean;       // run each seed twice and compare (deterministic engine)
  shrink?: boolean;                 // shrink the first deterministic failure (default true)
  wallMs?: number;                  // stop starting seeds after this long (0: run them all)
  tail?: number;                    // events of a failure's tail (default 40)
  choices?: number[];               // replay this schedule (a shrunk failure's --replay): one seed only
  onSeed?: (o: SeedOutcome) => void;
  onShrinkStep?: (what: string, failed: boolean) => void;
}

export interface StressResult {
  outcomes: SeedOutcome[];          // in the order they finished
  summary: StressSummary;
  shrunk: ShrinkResult | null;
  stoppedEarly: boolean;            // a failure or the wall-clock budget ended the run before its last seed
}

function task_file(): string {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../workers/stress-tsx.mjs', here).href : new URL('./stress_task.js', here).href;
}

/* A pool of deterministic machines; tasks are killed if a seed runs past its budget inside one step. */
export class StressPool {
  private readonly pool: Piscina;
  constructor(readonly jobs: number) {
    this.pool = new Piscina({ filename: task_file(), minThreads: jobs, maxThreads: jobs, idleTimeout: 1000 });
  }

  /*
   * A seed past its budget inside one step (a thread that never yields) cannot stop
   * itself: its worker is terminated, after the host has taken the JS stack it is stuck
   * in through the inspector (worker_stack.ts), which names the program's file and line.
   * The task writes its worker's thread id into `hb` so the host knows which one.
   */
  async run(input: StressTaskInput): Promise<SeedOutcome> {
    const budget = input.settings.timeBudgetMs;
    if (budget === 0) return (await this.pool.run(input)) as SeedOutcome;
    const hb = new Int32Array(new SharedArrayBuffer(4));
    const ac = new AbortController();
    let stack: string | undefined;
    const timer = setTimeout(() => {
      const w = this.pool.threads.find((t) => t.threadId === Atomics.load(hb, 0));
      const take = w !== undefined ? worker_stack(w, 1000) : Promise.resolve(undefined);
      void take.then((s) => { stack = s; ac.abort(); });
    }, (input.twice ? 2 : 1) * budget + 3_000);
    try {
      return (await this.pool.run({ ...input, heartbeat: hb.buffer as SharedArrayBuffer }, { signal: ac.signal })) as SeedOutcome;
    } catch (e) {
      if (!ac.signal.aborted) throw e;
      return stuck_outcome(input, budget, stack);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): Promise<void> { return this.pool.destroy(); }
}

function stuck_outcome(input: StressTaskInput, budget: number, stack: string | undefined): SeedOutcome {
  return {
    seed: input.seed, ok: false, panic: null, traceHash: '', steps: 0, virtualNs: 0, faults: {}, faultsFired: {},
    workloads: [], lockOrderEdges: 0, pct: null, tail: [], wallMs: budget, repro: '', settings: input.settings,
    failures: [`budget: seed ${input.seed} ran past its time budget of ${budget} ms inside one step (a thread that never ` +
      'yields, such as a workload computing without system calls); its worker was terminated' +
      (stack !== undefined ? `; it was stuck in:\n${stack.split('\n').filter((l) => !/node:internal|piscina/.test(l)).slice(0, 12).join('\n')}` : '')],
  };
}

/* PCT's k: the steps a run takes, measured on the first seed under the random scheduler. */
async function pct_steps(pool: StressPool, s: StressSettings, seed: number): Promise<number> {
  const probe = await pool.run({ seed, settings: { ...s, pctDepth: 0 }, opts: { tail: 0 }, twice: false });
  return Math.max(1, probe.steps);
}

export async function stress(o: StressOptions): Promise<StressResult> {
  const s = o.settings;
  check_settings(s);
  if (o.seeds.length === 0) throw new RangeError('stress: no seeds to run');
  for (const seed of o.seeds) if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`stress: bad seed ${seed}`);
  const stopFirst = o.stopAtFirstFailure ?? true;
  const wallMs = o.wallMs ?? 0;
  const t0 = Date.now();
  const outcomes: SeedOutcome[] = [];
  let stoppedEarly = false;
  const out_of_time = (): boolean => wallMs > 0 && Date.now() - t0 >= wallMs;

  if (s.engine === 'parallel') {
    for (const seed of o.seeds) {
      if (out_of_time() || (stopFirst && outcomes.some((x) => !x.ok))) { stoppedEarly = true; break; }
      const r = await run_stress_seed(seed, s, { tail: o.tail });
      outcomes.push(r);
      o.onSeed?.(r);
    }
    return { outcomes, summary: summarize(outcomes, Date.now() - t0), shrunk: null, stoppedEarly };
  }

  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), o.seeds.length));
  const pool = new StressPool(jobs);
  try {
    const opts: SeedRunOptions = { tail: o.tail };
    if (o.choices !== undefined) {
      if (o.seeds.length !== 1) throw new RangeError('stress: a replayed schedule goes with one seed');
      opts.choices = o.choices;
    }
    if (s.pctDepth > 0) opts.pctSteps = await pct_steps(pool, s, o.seeds[0]);
    let next = 0;
    let failed = false;
    await new Promise<void>((done, fail) => {
      let inflight = 0;
      const launch = (): void => {
        while (inflight < jobs && next < o.seeds.length && !(stopFirst && failed) && !out_of_time()) {
          const seed = o.seeds[next++];
          inflight++;
          pool.run({ seed, settings: s, opts, twice: o.checkDeterminism === true }).then((r) => {
            inflight--;
            outcomes.push(r);
            if (!r.ok) failed = true;
            o.onSeed?.(r);
            launch();
          }, (e: unknown) => fail(e));
        }
        if (inflight === 0) done();
      };
      launch();
    });
    stoppedEarly = next < o.seeds.length;
    let shrunk: ShrinkResult | null = null;
    const first = outcomes.find((x) => !x.ok);
    if (first !== undefined && (o.shrink ?? true) && first.traceHash !== '') {
      shrunk = await shrink(first, (seed, settings, x) => pool.run({ seed, settings, opts: { tail: o.tail, pctSteps: opts.pctSteps, ...x },
        twice: false }), o.onShrinkStep);
    }
    return { outcomes, summary: summarize(outcomes, Date.now() - t0), shrunk, stoppedEarly };
  } finally {
    await pool.destroy();
  }
}
