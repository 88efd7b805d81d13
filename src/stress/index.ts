/*
 * stress/index.ts: the stress tool's API (also what a user's workload module imports its
 * types from: 'lwkt-sim/stress').
 */
export type { Workload, WorkloadContext, ProcessPlan, ProcessOutcome, WorkloadReport } from './workload.js';
export { stress, type StressOptions, type StressResult } from './runner.js';
export { DEFAULT_SETTINGS, type StressSettings, type FaultSpec } from './settings.js';
export { run_stress_seed as runStressSeed, type SeedOutcome } from './seed_run.js';
export type { StressSummary } from './summary.js';
export { WORKLOADS } from './workloads/index.js';
export { runWorkloads } from './run_workloads.js';
