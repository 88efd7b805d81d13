/*
 * run_workloads.ts: run stress workloads side by side on one machine.  Every workload is
 * planned from the run's seed and its position, every process of every plan is spawned
 * (Machine.spawnProcess), each is joined (a rejected join is an outcome { ok: false,
 * error }), and each workload checks its outcomes.  Then, once the machine is quiet
 * again, the run itself checks what no workload may leave behind: every kernel zone back
 * to the count it had before the run (kernel daemons started on demand, such as an
 * aiod, aside), and the kernel's global counters (descriptors in flight, open sockets
 * and files, the socket-buffer sysctls) as they were.
 *
 * Every wait is bounded: joins share one deadline (timeoutMs), and quiescing has its own
 * bound.  A process still running at the deadline is a failure; the caller shuts the
 * machine down either way.
 */

import type { DispatchModel, EngineName, Machine } from '../machine/machine.js';
import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext, WorkloadReport } from './workload.js';
import { WORKLOADS } from './workloads/index.js';
import { firstLines } from './workloads/plan.js';
import { PROBE_SYSCTLS } from './probe_progs.js';

const PROBE = new URL(`./probe_progs${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

export interface RunWorkloadsOptions {
  seed: number;                 // the run's seed (ctx.seed)
  ops: number;                  // each workload's operation budget (ctx.ops)
  model?: DispatchModel;        // the machine's dispatch model, for ctx.model (default 'bgl')
  cpus?: number;                // CPUs to plan over (default: the machine's)
  engine?: EngineName;          // for ctx.engine (default: the machine's)
  timeoutMs?: number;           // every process must have ended within this (default 120 s)
  quiesceMs?: number;           // bound on waiting for the machine to go quiet (default 20 s)
}

/* One workload's part of a run. */
export interface WorkloadRun {
  name: string;
  index: number;
  processes: number;
  report: WorkloadReport;
  outcomes: ProcessOutcome[];
}

export interface ZoneDelta { name: string; before: number; after: number }

export interface RunWorkloadsResult {
  reports: WorkloadRun[];
  failures: string[];           // every workload's failures, prefixed "name#index: ", and the run's own
  zones: ZoneDelta[];           // the zones whose counts differ after the run (allowed ones included)
  daemons: string[];            // kernel daemons that the run started and that stay (their threads are allowed)
  sysctls: { before: Record<string, number | null>; after: Record<string, number | null> | null };
  ms: number;
}

type WorkloadSpec = string | Workload;

function resolve(w: WorkloadSpec): Workload {
  if (typeof w !== 'string') return w;
  const found = WORKLOADS[w];
  if (found === undefined) throw new Error(`runWorkloads: no workload '${w}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  return found;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/* p, or { timedOut } once ms have passed. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { timedOut: true }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<{ timedOut: true }>((r) => { timer = setTimeout(() => r({ timedOut: true }), Math.max(0, ms)); });
  try {
    return await Promise.race([p.then((value) => ({ value })), t]);
  } finally {
    clearTimeout(timer);
  }
}

/*
 * Wait until no thread is alive (bounded): the deterministic engine runs until then, the
 * parallel one is polled.  Throws the machine's failure, or a timeout.
 */
export async function quiesceMachine(m: Machine, ms: number): Promise<void> {
  const det = m as Machine & { run?: () => Promise<void> };
  if (typeof det.run === 'function') {
    const r = await bounded(det.run(), ms);
    if ('timedOut' in r) throw new Error(`quiesce: the machine still runs after ${ms} ms (${m.stats().liveThreads} threads alive)`);
    return;
  }
  const t0 = Date.now();
  for (;;) {
    const failed = (m as unknown as { panicked?: unknown }).panicked;
    if (failed !== null && failed !== undefined) throw failed;
    if (m.stats().liveThreads === 0) return;
    if (Date.now() - t0 > ms) throw new Error(`quiesce: ${m.stats().liveThreads} threads still alive after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function probe(m: Machine, ms: number): Promise<Record<string, number | null>> {
  const tid = await m.spawnProcess({ cpu: 0, module: PROBE, export: 'probe', args: [PROBE_SYSCTLS], name: 'stress probe' });
  const r = await bounded(m.join(tid), ms);
  if ('timedOut' in r) throw new Error(`the sysctl probe did not end within ${ms} ms`);
  await quiesceMachine(m, ms);
  return r.value as Record<string, number | null>;
}

function systhreads(m: Machine): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of m.threads()) if (t.flags.includes('TDF_SYSTHREAD')) out.set(t.id, t.name);
  return out;
}

/*
 * Run the workloads (registry names or Workload objects) on m, each with ctx
 * { seed, ops, cpus, engine, model, index }.  Resolves with every workload's report and
 * the run's failures (empty: everything passed); rejects only when the machine cannot
 * run at all (it failed before the run, or a name is unknown).
 */
export async function runWorkloads(m: Machine, which: WorkloadSpec | readonly WorkloadSpec[], opts: RunWorkloadsOptions): Promise<RunWorkloadsResult> {
  const t0 = Date.now();
  const list = (Array.isArray(which) ? which : [which as WorkloadSpec]).map(resolve);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const quiesceMs = opts.quiesceMs ?? 20_000;
  const failures: string[] = [];

  await quiesceMachine(m, quiesceMs);
  const sysBefore = await probe(m, quiesceMs);
  const zones0 = new Map(m.stats().zones.map((z) => [z.name, z.used]));
  const daemons0 = systhreads(m);

  // Plan every workload, then spawn every process.
  const runs = list.map((w, index) => {
    const ctx: WorkloadContext = { seed: opts.seed, ops: opts.ops, cpus: opts.cpus ?? m.ncpus, engine: opts.engine ?? m.engine,
      model: opts.model ?? 'bgl', index };
    let plans: ProcessPlan[] = [];
    let planError: string | null = null;
    try {
      plans = w.plan(ctx);
    } catch (e) {
      planError = errText(e);
    }
    return { w, ctx, plans, planError, tids: [] as (number | string)[], outcomes: [] as ProcessOutcome[] };
  });
  for (const r of runs) {
    if (r.planError !== null) failures.push(`${r.w.name}#${r.ctx.index}: plan threw: ${r.planError}`);
    for (const p of r.plans) {
      try {
        r.tids.push(await m.spawnProcess({ cpu: p.cpu, module: p.module, export: p.export, args: p.args, name: p.name, uid: p.uid }));
      } catch (e) {
        r.tids.push(`spawnProcess failed: ${errText(e)}`);
      }
    }
  }

  // Join every process against one deadline.
  const deadline = Date.now() + timeoutMs;
  let running = 0;
  for (const r of runs) {
    for (const tid of r.tids) {
      if (typeof tid === 'string') {
        r.outcomes.push({ ok: false, error: tid });
        continue;
      }
      const j = await bounded(m.join(tid).then((value): ProcessOutcome => ({ ok: true, value }),
        (e: unknown): ProcessOutcome => ({ ok: false, error: errText(e) })), deadline - Date.now());
      if ('timedOut' in j) {
        running++;
        r.outcomes.push({ ok: false, error: `still running after ${timeoutMs} ms` });
      } else {
        r.outcomes.push(j.value);
      }
    }
  }

  // Each workload's check.
  const reports: WorkloadRun[] = runs.map((r) => {
    let report: WorkloadReport;
    try {
      report = r.w.check(r.outcomes, r.ctx);
    } catch (e) {
      report = { failures: [`check threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`], ops: 0, bytes: 0, checks: 0 };
    }
    for (const f of report.failures) failures.push(`${r.w.name}#${r.ctx.index}: ${f}`);
    return { name: r.w.name, index: r.ctx.index, processes: r.plans.length, report, outcomes: r.outcomes };
  });

  // The run's own checks, once the machine is quiet.
  const result: RunWorkloadsResult = { reports, failures, zones: [], daemons: [], sysctls: { before: sysBefore, after: null }, ms: 0 };
  if (running > 0) {
    failures.push(`run: ${running} processes still running at the deadline; zones and counters not checked`);
  } else {
    try {
      await quiesceMachine(m, quiesceMs);
      const sysAfter = await probe(m, quiesceMs);
      result.sysctls.after = sysAfter;
      for (const n of Object.keys(sysBefore)) {
        if (sysAfter[n] !== sysBefore[n]) failures.push(`run: sysctl ${n} was ${sysBefore[n]} before the run and is ${sysAfter[n]} after`);
      }
      const started = [...systhreads(m)].filter(([id]) => !daemons0.has(id)).map(([, name]) => name);
      result.daemons = started;
      for (const z of m.stats().zones) {
        const before = zones0.get(z.name) ?? 0;
        if (z.used === before) continue;
        result.zones.push({ name: z.name, before, after: z.used });
        const allowed = z.name === 'thread' ? started.length : 0;
        if (z.used - before !== allowed) {
          failures.push(`run: zone ${z.name} had ${before} items in use before the run and has ${z.used} after` +
            (allowed !== 0 ? ` (${allowed} of them new kernel daemons: ${started.join(', ')})` : ''));
        }
      }
    } catch (e) {
      failures.push(`run: the machine did not come back to rest: ${firstLines(errText(e), 12)}`);
    }
  }
  result.ms = Date.now() - t0;
  return result;
}
