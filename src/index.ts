/*
 * lwkt-sim: the public API.  Boot a machine, start kernel threads on its CPUs, join them,
 * read its statistics.  Thread modules import their kernel calls from 'lwkt-sim/kernel'.
 */

export { boot } from './machine/boot.js';
export type { Machine, BootOptions, SpawnOptions, MachineStats, CpuStats, EngineName, IpiCarrier,
  DispatchModel } from './machine/machine.js';
export { DeterministicMachine } from './machine/deterministic.js';
export { ParallelMachine } from './machine/parallel.js';
export { PanicError, format_threads, type PanicKind, type ThreadInfo } from './machine/dump.js';
export type { WitnessReport, WitnessEdge, WitnessCycle } from './kern/subr_witness.js';
export type { LockClassStats } from '../shared/lockstat.js';
export type { ZoneStats } from '../shared/zone.js';
export { firstDivergence } from './machine/divergence.js';
export { LWKT_WORKLOADS } from './workloads/lwkt.js';
export { sweep, distinctSchedules, type SweepOptions, type SeedResult, type Scenario } from './machine/sweep.js';
export { explore, type ExploreOptions, type ExploreResult, type ExploreFailure } from './machine/explore.js';
export type { TraceEvent } from './lwkt/lwkt_trace.js';
export type { PctReport, Decision } from './machine/det_sched.js';
export type { ProcessOptions } from './machine/machine.js';
export * from './libc/index.js';
