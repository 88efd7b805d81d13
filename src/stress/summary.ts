/*
 * summary.ts: what a stress run did, over its seeds: seeds passed and failed, each
 * workload's operations (and per second), bytes moved, invariants checked, faults fired,
 * lock-order edges seen, distinct schedules explored.  Pure: `stress merge` builds the same
 * summary from the seeds of several shards.
 */

import type { PctReport } from '../machine/det_sched.js';
import type { SeedOutcome } from './seed_run.js';

export interface WorkloadTotal { name: string; ops: number; bytes: number; checks: number; opsPerSec: number }

export interface StressSummary {
  seeds: number;
  passed: number;
  failed: number;
  failedSeeds: number[];
  workloads: WorkloadTotal[];
  bytes: number;
  checks: number;                       // invariants checked by the workloads
  faultsFired: Record<string, number>;
  lockOrderEdges: number;               // the most any seed's WITNESS graph held
  schedules: number;                    // distinct schedule hashes (deterministic seeds)
  steps: number;
  pct: PctReport | null;                // the first seed's PCT figures, when PCT ran
  elapsedMs: number;                    // wall time of the run (merge: the slowest shard's)
  seedMs: number;                       // time spent in seeds, summed (the basis of ops/s)
}

export function summarize(outcomes: readonly SeedOutcome[], elapsedMs: number): StressSummary {
  const by = new Map<string, WorkloadTotal>();
  const fired: Record<string, number> = {};
  const hashes = new Set<string>();
  let bytes = 0, checks = 0, edges = 0, steps = 0, seedMs = 0;
  for (const o of outcomes) {
    for (const w of o.workloads) {
      const t = by.get(w.name) ?? { name: w.name, ops: 0, bytes: 0, checks: 0, opsPerSec: 0 };
      t.ops += w.ops;
      t.bytes += w.bytes;
      t.checks += w.checks;
      by.set(w.name, t);
      bytes += w.bytes;
      checks += w.checks;
    }
    for (const [k, v] of Object.entries(o.faultsFired)) fired[k] = (fired[k] ?? 0) + v;
    if (o.traceHash !== '') hashes.add(o.traceHash);
    edges = Math.max(edges, o.lockOrderEdges);
    steps += o.steps;
    seedMs += o.wallMs;
  }
  const workloads = [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const w of workloads) w.opsPerSec = seedMs > 0 ? w.ops / (seedMs / 1e3) : 0;
  const failed = outcomes.filter((o) => !o.ok);
  return {
    seeds: outcomes.length, passed: outcomes.length - failed.length, failed: failed.length,
    failedSeeds: failed.map((o) => o.seed).sort((a, b) => a - b), workloads, bytes, checks, faultsFired: fired,
    lockOrderEdges: edges, schedules: hashes.size, steps, pct: outcomes.find((o) => o.pct !== null)?.pct ?? null,
    elapsedMs, seedMs,
  };
}
