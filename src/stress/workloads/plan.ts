/*
 * plan.ts: the host's side of the stress workloads: what every plan and check uses.  A
 * plan draws all its choices from a seeded Rng (never Math.random), so the same context
 * plans the same processes; a check turns the processes' outcomes into a WorkloadReport.
 */

import type { ProcessOutcome, WorkloadContext, WorkloadReport } from '../workload.js';
import { Rng, seedOf } from '../rng.js';

/* The generator a workload plans from: the run's seed, the workload's position and its name. */
export function planRng(ctx: WorkloadContext, name: string): Rng {
  return new Rng(seedOf(ctx.seed, ctx.index, name));
}

/*
 * The URL of a programs module beside `base` (the planning module's import.meta.url):
 * the .ts source when the workloads run from sources (vitest, tsx), the .js file when
 * they run from dist.
 */
export function progsUrl(base: string, file: string): string {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${file}${ext}`, base).href;
}

/* An AF_LOCAL path of its own for this workload instance (several runs may share a machine). */
export function pathFor(ctx: WorkloadContext, name: string, k: number | string): string {
  return `/stress.${ctx.seed >>> 0}.${ctx.index}.${name}.${k}`;
}

/* Two CPUs, different ones when the machine has more than one. */
export function cpuPair(rng: Rng, cpus: number): [number, number] {
  const a = rng.below(cpus);
  if (cpus <= 1) return [a, a];
  return [a, (a + 1 + rng.below(cpus - 1)) % cpus];
}

/* ops split over `parts` processes, at least min each. */
export function share(ops: number, parts: number, min = 1): number {
  return Math.max(min, Math.floor(ops / Math.max(1, parts)));
}

/* The counters every program returns beside its own results. */
export interface ProgCounts {
  ops: number;               // system calls the program counts as the workload's
  bytes: number;             // payload bytes it moved (sent; the checks count each byte once)
  anomalies: string[];       // what it saw that DragonFly does not allow
}

/*
 * A check in progress: failures, invariants checked, and the ops and bytes to report.
 * Outcomes are read through value(), which turns a killed or failed process into a
 * failure and gives null.
 */
export class Checker {
  readonly failures: string[] = [];
  checks = 0;
  ops = 0;
  bytes = 0;

  /* One invariant: when it does not hold, msg() is a failure. */
  expect(cond: boolean, msg: () => string): boolean {
    this.checks++;
    if (!cond) this.failures.push(msg());
    return cond;
  }

  eq(got: unknown, want: unknown, what: string): boolean {
    return this.expect(got === want, () => `${what}: got ${fmt(got)}, want ${fmt(want)}`);
  }

  fail(msg: string): void {
    this.checks++;
    this.failures.push(msg);
  }

  /*
   * The value of a process's outcome, with its counters taken in (ops, and bytes when
   * countBytes) and its anomalies made failures; null (a failure) when it was killed or
   * returned something that is not an object.
   */
  value<T extends object>(o: ProcessOutcome | undefined, label: string, countBytes = true): (T & Partial<ProgCounts>) | null {
    this.checks++;
    if (o === undefined) {
      this.failures.push(`${label}: no outcome`);
      return null;
    }
    if (!o.ok) {
      this.failures.push(`${label}: ${firstLines(o.error, 6)}`);
      return null;
    }
    const v = o.value;
    if (typeof v !== 'object' || v === null) {
      this.failures.push(`${label}: returned ${fmt(v)}`);
      return null;
    }
    const c = v as Partial<ProgCounts>;
    if (typeof c.ops === 'number') this.ops += c.ops;
    if (countBytes && typeof c.bytes === 'number') this.bytes += c.bytes;
    if (Array.isArray(c.anomalies)) {
      this.checks++;
      for (const a of c.anomalies.slice(0, 10)) this.failures.push(`${label}: ${String(a)}`);
      if (c.anomalies.length > 10) this.failures.push(`${label}: ... and ${c.anomalies.length - 10} more anomalies`);
    }
    return v as T & Partial<ProgCounts>;
  }

  report(): WorkloadReport {
    return { failures: this.failures, ops: this.ops, bytes: this.bytes, checks: this.checks };
  }
}

export function fmt(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return String(v);
  }
}

export function firstLines(s: string, n: number): string {
  const lines = s.split('\n');
  return lines.length <= n ? s : `${lines.slice(0, n).join('\n')}\n  ... (${lines.length - n} more lines)`;
}

export const hex = (h: number): string => `0x${(h >>> 0).toString(16).padStart(8, '0')}`;
