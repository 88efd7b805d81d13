/*
 * boot.ts: boot a machine.  Sizes and formats kmem on the host, then starts the engine:
 * one worker per CPU (parallel) or every CPU in this thread (deterministic).
 */

import { availableParallelism } from 'node:os';
import inspector from 'node:inspector';
import { ENGINE_DETERMINISTIC, ENGINE_PARALLEL, IPI_CARRIER_MESSAGEPORT, IPI_CARRIER_SAB, LOCKSTAT_OFF,
  LOCKSTAT_ON } from '../../shared/kmem.js';
import { NCPU_MAX, IPIQ_SLOTS } from '../../shared/param.js';
import { clock_now_abs_ms } from '../../shared/clock.js';
import { kmem_boot } from './kmem_boot.js';
import { ParallelMachine } from './parallel.js';
import { DeterministicMachine, type DetOptions } from './deterministic.js';
import type { BootOptions, Machine } from './machine.js';
import { kfail_parse_bugs, kfail_parse_faults } from '../kern/kern_fail.js';
import { check_boot_options, check_max_threads } from './validate.js';

export const DISPATCH_BGL = 0;
export const DISPATCH_NETISR = 1;
export const DISPATCH_MPSAFE = 2;

export async function boot(options?: BootOptions): Promise<Machine> {
  const opts = check_boot_options(options);
  const engine = opts.engine ?? 'parallel';
  if (engine !== 'parallel' && engine !== 'deterministic') throw new RangeError(`boot: engine must be 'parallel' or 'deterministic'`);
  const cpus = opts.cpus ?? Math.min(availableParallelism(), NCPU_MAX);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > NCPU_MAX) throw new RangeError(`boot: cpus must be an integer 1..${NCPU_MAX}`);
  const ipi = opts.ipi ?? 'sab';
  if (ipi !== 'sab' && ipi !== 'messageport') throw new RangeError(`boot: ipi must be 'sab' or 'messageport'`);
  const dispatch = opts.dispatch ?? 'bgl';
  if (dispatch !== 'bgl' && dispatch !== 'netisr' && dispatch !== 'mpsafe') throw new RangeError(`boot: dispatch must be 'bgl' or 'netisr' (or 'mpsafe', which routes requests as DragonFly's later kernels do but has no AF_LOCAL locks of its own yet), not ${String(dispatch)}`);
  const memory = opts.memory ?? 64 * 1024 * 1024;
  if (!Number.isInteger(memory) || memory <= 0) throw new RangeError('boot: memory must be a positive number of bytes');
  const maxsockets = opts.maxsockets ?? 0;
  if (!Number.isInteger(maxsockets) || maxsockets < 0) throw new RangeError('boot: maxsockets must be a non-negative integer');
  // Under a debugger (the inspector listening) a worker paused at a breakpoint would look
  // stuck: the watchdog is off unless asked for.
  const lockup = opts.softLockupMs ?? (inspector.url() === undefined ? 10_000 : 0);
  if (!Number.isFinite(lockup) || lockup < 0) throw new RangeError('boot: softLockupMs must be a non-negative number of ms (0: never)');
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw new RangeError('boot: seed must be an integer');
  if (opts.witness !== undefined && typeof opts.witness !== 'boolean') throw new TypeError('boot: witness must be a boolean');
  if (opts.invariants !== undefined && typeof opts.invariants !== 'boolean') throw new TypeError('boot: invariants must be a boolean');
  const faults = kfail_parse_faults(opts.faults);
  const bugs = kfail_parse_bugs(opts.injectBug);
  const maxThreads = check_max_threads(opts.maxThreads, cpus, dispatch);
  const kmem = kmem_boot_checked({
    ncpus: cpus,
    engine: engine === 'parallel' ? ENGINE_PARALLEL : ENGINE_DETERMINISTIC,
    ipi: ipi === 'sab' ? IPI_CARRIER_SAB : IPI_CARRIER_MESSAGEPORT,
    seed,
    lockstat: opts.lockstat === false ? LOCKSTAT_OFF : LOCKSTAT_ON,
    dispatch: dispatch === 'bgl' ? DISPATCH_BGL : dispatch === 'netisr' ? DISPATCH_NETISR : DISPATCH_MPSAFE,
    memoryBytes: memory,
    ipiqSlots: opts.ipiqSlots ?? IPIQ_SLOTS,
    maxThreads,
    maxsockets,
    witness: opts.witness === true,
    invariants: opts.invariants === true,
    faults,
    bugs,
    bootEpochMs: clock_now_abs_ms(),
  });
  const modules = opts.modules ?? [];
  if (engine === 'parallel') return ParallelMachine.boot(kmem, ipi, modules, lockup);
  return DeterministicMachine.boot(kmem, modules, det_options(opts, ipi === 'messageport'));
}

/* kmem_boot, with a failed allocation of kmem reported as the memory option's. */
function kmem_boot_checked(p: Parameters<typeof kmem_boot>[0]): SharedArrayBuffer {
  try {
    return kmem_boot(p);
  } catch (e) {
    if (e instanceof RangeError && /allocation failed|Invalid array buffer length/i.test(e.message)) {
      throw new RangeError(`boot: memory: could not allocate ${p.memoryBytes} bytes of kmem (${e.message}); boot with less memory`);
    }
    throw e;
  }
}

export const DEFAULT_STEP_BUDGET = 200_000_000;
export const DEFAULT_TIME_BUDGET_MS = 300_000;

function count_opt(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`boot: ${name} must be a non-negative integer (0: none)`);
  return v;
}

function trace_log_opt(v: unknown): boolean | number {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new TypeError('boot: traceLog must be a boolean, or the number of last events to keep');
}

/* The deterministic engine's options, checked. */
function det_options(opts: BootOptions, ports: boolean): DetOptions {
  const points = opts.points ?? 'fine';
  if (points !== 'fine' && points !== 'blocking') throw new RangeError(`boot: points must be 'fine' or 'blocking'`);
  const scheduler = opts.scheduler ?? 'random';
  if (scheduler !== 'random' && scheduler !== 'pct' && scheduler !== 'replay') {
    throw new RangeError(`boot: scheduler must be 'random', 'pct' or 'replay'`);
  }
  const pctDepth = opts.pctDepth ?? 3;
  if (!Number.isInteger(pctDepth) || pctDepth < 1 || pctDepth > 64) throw new RangeError('boot: pctDepth must be an integer 1..64');
  const pctSteps = opts.pctSteps ?? 100_000;
  if (!Number.isInteger(pctSteps) || pctSteps < 1) throw new RangeError('boot: pctSteps must be a positive integer');
  const choices = opts.choices ?? [];
  if (!Array.isArray(choices) || !choices.every((c) => Number.isInteger(c) && c >= 0)) {
    throw new TypeError('boot: choices must be an array of non-negative integers');
  }
  if (opts.stepLimit !== undefined && opts.stepBudget !== undefined) throw new TypeError('boot: give stepBudget or its old name stepLimit, not both');
  return {
    traceLog: trace_log_opt(opts.traceLog),
    stepBudget: count_opt(opts.stepBudget ?? opts.stepLimit, 'stepBudget', DEFAULT_STEP_BUDGET),
    timeBudgetMs: count_opt(opts.timeBudgetMs, 'timeBudgetMs', DEFAULT_TIME_BUDGET_MS),
    ports, points, scheduler, pctDepth, pctSteps, choices, recordChoices: opts.recordChoices === true,
  };
}
