/*
 * seed_run.ts: one seed of a stress run.  Boots a machine with the run's settings (the
 * deterministic engine seeded, with the tail of its trace kept), runs the workloads side
 * by side (run_workloads.ts), and reports what happened: the failures, the figures (ops,
 * bytes, checks, faults fired, lock-order edges, steps, schedule hash) and, on a failure,
 * the last events before it, decoded, and the command that reruns it.
 *
 * Runs in a piscina worker (stress_task.ts) for the deterministic engine, and in the
 * caller's process for the parallel one.
 */

import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { boot } from '../machine/boot.js';
import type { BootOptions, Machine } from '../machine/machine.js';
import type { DeterministicMachine } from '../machine/deterministic.js';
import { PanicError } from '../machine/dump.js';
import type { Decision, PctReport } from '../machine/det_sched.js';
import { runWorkloads } from './run_workloads.js';
import { WORKLOADS } from './workloads/index.js';
import type { Workload } from './workload.js';
import { repro_command, type StressSettings } from './settings.js';
import { resolve_faults } from './faults.js';
import { module_load } from '../machine/modules.js';

export interface WorkloadFigures { name: string; processes: number; ops: number; bytes: number; checks: number }

export interface SeedOutcome {
  seed: number;
  ok: boolean;
  failures: string[];
  panic: string | null;             // the machine's failure (PanicError's report), if any
  traceHash: string;                // deterministic engine: the schedule's hash ('' in the parallel engine)
  steps: number;
  virtualNs: number;
  faults: Record<string, number>;   // the fault sites and rates this seed ran with
  faultsFired: Record<string, number>;
  workloads: WorkloadFigures[];
  lockOrderEdges: number;
  pct: PctReport | null;
  tail: string[];                   // the last events before a failure, decoded
  wallMs: number;
  repro: string;
  settings: StressSettings;
  divergence?: string;              // --check-determinism: where two runs of the seed first differed
  schedule?: Decision[];            // recordChoices and the run failed: its decisions (the schedule shrinker's input)
  choices?: number[];               // the replayed choices this run followed (part of its repro)
}

export interface SeedRunOptions {
  tail?: number;                    // events to keep for a failure's report (deterministic engine; default 40)
  pctSteps?: number;                // PCT's k
  choices?: number[];               // replay these scheduler choices instead (the shrinker)
  traceAll?: boolean;               // keep every event (--check-determinism)
  onEnd?: (m: DeterministicMachine) => void;   // called before shutdown (in-process callers only)
  recordChoices?: boolean;          // keep a failing run's schedule (outcome.schedule)
}

/* A registry name, or a user module 'path[:export]' exporting a Workload. */
export async function load_workload(spec: string): Promise<Workload> {
  const builtin = WORKLOADS[spec];
  if (builtin !== undefined) return builtin;
  const colon = spec.lastIndexOf(':');
  const hasExport = colon > 1 && !/^[a-zA-Z]:[\\/]/.test(spec.slice(colon - 1)) && !spec.slice(colon + 1).includes('/');
  const path = hasExport ? spec.slice(0, colon) : spec;
  const name = hasExport ? spec.slice(colon + 1) : 'default';
  const url = path.startsWith('file:') ? path : pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await module_load(url);
  } catch (e) {
    throw new Error(`workload ${spec}: cannot load ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const w = mod[name] as Partial<Workload> | undefined;
  if (w === undefined || typeof w !== 'object' || typeof w.plan !== 'function' || typeof w.check !== 'function') {
    throw new Error(`workload ${spec}: ${path} has no export '${name}' with plan() and check() (see docs/stress-workloads.md)`);
  }
  return { name: w.name ?? spec, description: w.description ?? '', plan: w.plan.bind(w), check: w.check.bind(w) } as Workload;
}

function boot_options(seed: number, s: StressSettings, faults: Record<string, number>, o: SeedRunOptions): BootOptions {
  const det = s.engine === 'deterministic';
  const b: Record<string, unknown> = {
    engine: s.engine, cpus: s.cpus, seed, dispatch: s.model, memory: s.memory, lockstat: false,
    timeBudgetMs: s.timeBudgetMs,
  };
  if (det) {
    b.stepBudget = s.stepBudget;
    b.traceLog = o.traceAll === true ? true : (o.tail ?? 40);
    if (o.recordChoices === true) b.recordChoices = true;
    if (o.choices !== undefined) {
      b.scheduler = 'replay';
      b.choices = o.choices;
    } else if (s.pctDepth > 0) {
      b.scheduler = 'pct';
      b.pctDepth = s.pctDepth;
      b.pctSteps = o.pctSteps ?? 100_000;
    }
  }
  // The kernel's debugging aids, passed only when asked, so a machine without them boots as before.
  if (Object.keys(faults).length > 0) b.faults = faults;
  if (s.injectBug.length > 0) b.injectBug = s.injectBug;
  if (s.witness) b.witness = true;
  if (s.invariants) b.invariants = true;
  return b as BootOptions;
}

export async function run_stress_seed(seed: number, s: StressSettings, o: SeedRunOptions = {}): Promise<SeedOutcome> {
  const t0 = Date.now();
  const faults = resolve_faults(s.faults, seed);
  const out: SeedOutcome = {
    seed, ok: false, failures: [], panic: null, traceHash: '', steps: 0, virtualNs: 0, faults, faultsFired: {},
    workloads: [], lockOrderEdges: 0, pct: null, tail: [], wallMs: 0, repro: repro_command(seed, s, faults, o.choices), settings: s,
  };
  if (o.choices !== undefined) out.choices = o.choices;
  const workloads: Workload[] = [];
  for (const spec of s.workloads.length > 0 ? s.workloads : Object.keys(WORKLOADS)) workloads.push(await load_workload(spec));
  const m: Machine = await boot(boot_options(seed, s, faults, o));
  const det = s.engine === 'deterministic' ? (m as DeterministicMachine) : null;
  try {
    const r = await runWorkloads(m, workloads, { seed, ops: s.ops, model: s.model, cpus: s.cpus, engine: s.engine,
      timeoutMs: s.timeBudgetMs });
    out.failures.push(...r.failures);
    out.workloads = r.reports.map((w) => ({ name: w.name, processes: w.processes, ops: w.report.ops, bytes: w.report.bytes,
      checks: w.report.checks }));
  } catch (e) {
    out.failures.push(`run: ${e instanceof Error ? e.message : String(e)}`);
  }
  const failed = (m as unknown as { panicked: PanicError | null }).panicked;
  if (failed instanceof PanicError) {
    out.panic = failed.message;
    out.failures = [`machine: ${failed.message.split('\n')[0]}`, ...out.failures.filter((f) => !f.includes(failed.panicMessage))];
  }
  const dbg = m as Machine & { faults?: () => Record<string, number>; witness?: () => { edges: unknown[] } };
  try { out.faultsFired = dbg.faults?.() ?? {}; } catch { /* machine down */ }
  try { out.lockOrderEdges = dbg.witness?.().edges.length ?? 0; } catch { /* machine down */ }
  if (det !== null) {
    out.traceHash = det.traceHash();
    out.steps = det.stepCount;
    out.virtualNs = det.virtualTimeNs;
    out.pct = det.pctReport();
    if (out.failures.length > 0) out.tail = det.traceTail(o.tail ?? 40);
    if (out.failures.length > 0 && (o.recordChoices === true || o.choices !== undefined)) {
      const ch = det.choices() ?? [];
      const dec = det.decisions();
      // A recorded (not replayed) run has no fallbacks: replaying its choices gives them (runner.ts).
      out.schedule = dec !== null ? dec.slice() : ch.map((c) => ({ n: 0, chosen: c, fallback: -1, lastRunnable: false }));
    }
    o.onEnd?.(det);
  }
  await m.shutdown().catch(() => undefined);
  out.ok = out.failures.length === 0;
  out.wallMs = Date.now() - t0;
  return out;
}
