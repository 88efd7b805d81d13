/*
 * explore.ts: bounded exhaustive search over the schedules of a tiny scenario (as Loom
 * and CHESS's iterative context bounding do).
 *
 * A schedule is the list of choices the deterministic engine made at the steps where
 * more than one CPU could run.  The replay scheduler (det_sched.ts) follows a prefix of
 * choices and then never preempts: the CPU that ran last runs on while it can.  Choosing
 * another CPU while the last one could still run is a preemption; a search with bound c
 * visits every schedule with at most c of them.  The search is a depth-first walk over
 * choice prefixes: each run records its decisions, and the next prefix is the deepest
 * decision with an untried alternative within the bound.  Runs are replays from boot
 * (the engine has no snapshots), so the scenario must be small: two or three threads and
 * a few system calls, where a bound of 2 or 3 finds most bugs.
 *
 * A scenario is the same async function a sweep takes: it gets a booted machine and
 * throws (or its machine fails) when the run is wrong.
 */

import { boot } from './boot.js';
import type { BootOptions } from './machine.js';
import type { DeterministicMachine } from './deterministic.js';
import type { Decision } from './det_sched.js';
import type { Scenario } from './sweep.js';

export interface ExploreOptions {
  scenario: Scenario;
  boot?: Omit<BootOptions, 'engine' | 'scheduler' | 'choices'>;
  preemptions?: number;        // the bound c (default 2)
  maxSchedules?: number;       // stop after this many runs (default 10,000)
  stopAtFirstFailure?: boolean; // default true
}

export interface ExploreFailure { choices: number[]; error: string }

export interface ExploreResult {
  schedules: number;           // runs made
  distinct: number;            // distinct trace hashes among them
  complete: boolean;           // every schedule within the bound was run
  preemptions: number;
  failures: ExploreFailure[];
}

/* One position of the current path: its decision and the alternatives tried there. */
interface Node { d: Decision; tried: number; preempts: number }

function is_preemption(d: Decision, choice: number): boolean { return d.lastRunnable && choice !== d.fallback; }

export async function explore(opts: ExploreOptions): Promise<ExploreResult> {
  if (typeof opts.scenario !== 'function') throw new TypeError('explore: scenario must be an async function (m) => ...');
  const bound = opts.preemptions ?? 2;
  if (!Number.isInteger(bound) || bound < 0) throw new RangeError('explore: preemptions must be a non-negative integer');
  const max = opts.maxSchedules ?? 10_000;
  if (!Number.isInteger(max) || max < 1) throw new RangeError('explore: maxSchedules must be a positive integer');
  const stop = opts.stopAtFirstFailure ?? true;
  const path: Node[] = [];
  let prefix: number[] = [];
  const hashes = new Set<string>();
  const failures: ExploreFailure[] = [];
  let runs = 0;
  for (;;) {
    const m = (await boot({ ...opts.boot, engine: 'deterministic', scheduler: 'replay', choices: prefix })) as DeterministicMachine;
    let error: string | null = null;
    try {
      await opts.scenario(m as Parameters<Scenario>[0]);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    runs++;
    hashes.add(m.traceHash());
    const decisions = m.decisions() ?? [];
    await m.shutdown().catch((e: unknown) => { error ??= e instanceof Error ? e.message : String(e); });
    if (m.panicked !== null) error ??= m.panicked.message;   // shutdown resolves after a failure
    if (error !== null) {
      failures.push({ choices: decisions.map((d) => d.chosen), error });
      if (stop) return { schedules: runs, distinct: hashes.size, complete: false, preemptions: bound, failures };
    }
    // Extend the path with this run's decisions past the prefix (defaults from there on).
    for (let i = path.length; i < decisions.length; i++) {
      const d = decisions[i];
      const before = i === 0 ? 0 : path[i - 1].preempts + (is_preemption(path[i - 1].d, path[i - 1].d.chosen) ? 1 : 0);
      path.push({ d, tried: 1 << d.chosen, preempts: before });
    }
    // Backtrack to the deepest position with an untried choice within the bound.
    let next: number[] | null = null;
    while (path.length > 0 && next === null) {
      const i = path.length - 1;
      const node = path[i];
      for (let c = 0; c < node.d.n && next === null; c++) {
        if ((node.tried & (1 << c)) !== 0) continue;
        node.tried |= 1 << c;
        if (node.preempts + (is_preemption(node.d, c) ? 1 : 0) > bound) continue;
        node.d = { ...node.d, chosen: c };
        next = path.map((p) => p.d.chosen);
      }
      if (next === null) path.pop();
    }
    if (next === null) return { schedules: runs, distinct: hashes.size, complete: true, preemptions: bound, failures };
    if (runs >= max) return { schedules: runs, distinct: hashes.size, complete: false, preemptions: bound, failures };
    prefix = next;
  }
}
