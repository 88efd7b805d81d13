/*
 * workload.ts: what a stress workload is.  A workload is a seeded generator of simulated
 * processes: given the run's settings it plans which programs run on which CPUs, and
 * after they end it checks what they returned.  Workloads compose: a stress run plans
 * several side by side on one machine.  Users add their own as modules exporting a
 * Workload (default export, or a named one).
 *
 * Programs run as processes (Machine.spawnProcess), so they live in modules every engine
 * can import: a plan names the module and the export, and passes only plain data.
 */

import type { DispatchModel, EngineName } from '../machine/machine.js';

/* The settings a workload plans from. */
export interface WorkloadContext {
  seed: number;              // the run's seed: derive every random choice of the plan from it
  ops: number;               // the operation budget of this workload (each process's share is the plan's choice)
  cpus: number;              // CPUs of the machine
  engine: EngineName;
  model: DispatchModel;
  index: number;             // this workload's position in the run (distinct paths, distinct seeds)
}

/* One process of a plan. */
export interface ProcessPlan {
  cpu: number;
  module: string;            // module URL or absolute path
  export: string;            // the program: function* (sys, ...args)
  args: unknown[];           // plain data (structured-cloneable)
  name?: string;
  uid?: number;
}

/* What a process ended with: its join value, or why it was killed. */
export type ProcessOutcome = { ok: true; value: unknown } | { ok: false; error: string };

/* What a workload's check says. */
export interface WorkloadReport {
  failures: string[];        // empty: passed
  ops: number;               // operations done (system calls the workload counts as its own)
  bytes: number;             // payload bytes moved
  checks: number;            // invariants checked
}

export interface Workload {
  name: string;
  description: string;
  plan(ctx: WorkloadContext): ProcessPlan[];
  check(outcomes: ProcessOutcome[], ctx: WorkloadContext): WorkloadReport;
}
