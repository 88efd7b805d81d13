/*
 * shrink.ts: after a deterministic failure, the smallest run that still fails.
 *
 * No anchor tool shrinks schedules (fast-check shrinks its inputs but not its
 * scheduler); here a run is its seed and settings, and each is rerun exactly, so the
 * settings can be shrunk greedily: fewer workloads (the failing one alone first), fewer
 * operations (halving), fewer fault sites, fewer CPUs.  A candidate is kept when it still
 * fails the same way: the same signature (the machine's failure kind, or the workload and
 * check that failed).  The seed stays: with it the schedule is the same random walk, and
 * smaller settings usually keep the race.  Every attempt is one run, and the shrink has a
 * budget in runs.
 */

import type { SeedOutcome, SeedRunOptions } from './seed_run.js';
import { shrink_schedule } from '../machine/shrink_schedule.js';
import type { StressSettings } from './settings.js';
import { WORKLOADS } from './workloads/index.js';

export interface ShrinkResult {
  outcome: SeedOutcome;        // the smallest failing run found
  runs: number;                // attempts made
  steps: string[];             // what each kept reduction was
}

type Rerun = (seed: number, s: StressSettings, o?: SeedRunOptions) => Promise<SeedOutcome>;

const MAX_RUNS = 40;

/* What kind of failure: 'machine: deadlock', 'stream: ...check name...', 'run: zone'. */
export function failure_signature(o: SeedOutcome): string {
  if (o.panic !== null) return `machine: ${o.panic.split(':')[0]}`;
  const f = o.failures[0] ?? '';
  const m = /^([a-z_]+)(?:#\d+)?: ([^:0-9]*)/.exec(f);
  return m === null ? f.slice(0, 40) : `${m[1]}: ${m[2].trim()}`;
}

function failing_workload(o: SeedOutcome): string | null {
  const m = /^([a-z_./-]+)#\d+: /.exec(o.failures.find((f) => /^[a-z_./-]+#\d+: /.test(f)) ?? '');
  return m === null ? null : m[1];
}

export async function shrink(first: SeedOutcome, rerun: Rerun, on?: (what: string, failed: boolean) => void): Promise<ShrinkResult> {
  const sig = failure_signature(first);
  let best = first;
  let cur: StressSettings = { ...first.settings, faults: first.faults };
  if (cur.workloads.length === 0) cur = { ...cur, workloads: Object.keys(WORKLOADS) };
  let runs = 0;
  const steps: string[] = [];
  const attempt = async (what: string, cand: StressSettings): Promise<boolean> => {
    if (runs >= MAX_RUNS) return false;
    runs++;
    const r = await rerun(first.seed, cand);
    const kept = !r.ok && failure_signature(r) === sig;
    on?.(what, kept);
    if (kept) {
      best = r;
      cur = cand;
      steps.push(what);
    }
    return kept;
  };

  // The workload that failed, alone; then drop the others one at a time.
  const culprit = failing_workload(first);
  if (cur.workloads.length > 1 && culprit !== null) await attempt(`workload ${culprit} alone`, { ...cur, workloads: [culprit] });
  for (let i = 0; cur.workloads.length > 1 && i < cur.workloads.length; ) {
    const w = cur.workloads[i];
    if (!(await attempt(`without workload ${w}`, { ...cur, workloads: cur.workloads.filter((x) => x !== w) }))) i++;
  }
  // Fewer faults: none at all, else one site at a time.
  const faults = cur.faults as Record<string, number>;
  if (Object.keys(faults).length > 0 && !(await attempt('no faults', { ...cur, faults: {} }))) {
    for (const site of Object.keys(faults)) {
      const f = { ...(cur.faults as Record<string, number>) };
      delete f[site];
      await attempt(`without fault ${site}`, { ...cur, faults: f });
    }
  }
  // Fewer operations: halve while it still fails.
  while (cur.ops > 1 && (await attempt(`ops ${Math.max(1, cur.ops >> 1)}`, { ...cur, ops: Math.max(1, cur.ops >> 1) }))) { /* keep halving */ }
  // Fewer CPUs.
  for (let c = cur.cpus - 1; c >= 2; c--) if (!(await attempt(`cpus ${c}`, { ...cur, cpus: c }))) break;
  // Fewer preemptions: the schedule of the smallest failing run, replayed with its
  // preemptions taken out one by one (shrink_schedule.ts).
  if (runs < MAX_RUNS) {
    runs++;
    const rec = await rerun(first.seed, cur, { recordChoices: true });
    if (!rec.ok && failure_signature(rec) === sig && rec.schedule !== undefined) {
      const settings = cur;
      const sh = await shrink_schedule(rec.schedule.map((d) => d.chosen), async (choices) => {
        const r = await rerun(first.seed, settings, { choices });
        return { failed: !r.ok && failure_signature(r) === sig, decisions: r.schedule ?? [] };
      }, Math.max(8, MAX_RUNS - runs));
      runs += sh.runs;
      const fin = await rerun(first.seed, settings, { choices: sh.choices });
      runs++;
      if (!fin.ok && failure_signature(fin) === sig) {
        best = fin;
        steps.push(`schedule: ${sh.preemptionsBefore} preemptions -> ${sh.preemptions}`);
        on?.(`schedule with ${sh.preemptions} preemptions (from ${sh.preemptionsBefore})`, true);
      }
    }
  }
  return { outcome: best, runs, steps };
}
