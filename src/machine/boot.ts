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
import { DeterministicMachine } from './deterministic.js';
import type { BootOptions, Machine } from './machine.js';

export const DISPATCH_BGL = 0;
export const DISPATCH_NETISR = 1;
export const DISPATCH_MPSAFE = 2;

export async function boot(opts: BootOptions = {}): Promise<Machine> {
  const engine = opts.engine ?? 'parallel';
  if (engine !== 'parallel' && engine !== 'deterministic') throw new RangeError(`boot: engine must be 'parallel' or 'deterministic'`);
  const cpus = opts.cpus ?? Math.min(availableParallelism(), NCPU_MAX);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > NCPU_MAX) throw new RangeError(`boot: cpus must be an integer 1..${NCPU_MAX}`);
  const ipi = opts.ipi ?? 'sab';
  if (ipi !== 'sab' && ipi !== 'messageport') throw new RangeError(`boot: ipi must be 'sab' or 'messageport'`);
  const dispatch = opts.dispatch ?? 'bgl';
  if (dispatch !== 'bgl' && dispatch !== 'netisr' && dispatch !== 'mpsafe') throw new RangeError(`boot: dispatch must be 'bgl', 'netisr' or 'mpsafe'`);
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
  const kmem = kmem_boot({
    ncpus: cpus,
    engine: engine === 'parallel' ? ENGINE_PARALLEL : ENGINE_DETERMINISTIC,
    ipi: ipi === 'sab' ? IPI_CARRIER_SAB : IPI_CARRIER_MESSAGEPORT,
    seed,
    lockstat: opts.lockstat === false ? LOCKSTAT_OFF : LOCKSTAT_ON,
    dispatch: dispatch === 'bgl' ? DISPATCH_BGL : dispatch === 'netisr' ? DISPATCH_NETISR : DISPATCH_MPSAFE,
    memoryBytes: memory,
    ipiqSlots: opts.ipiqSlots ?? IPIQ_SLOTS,
    maxThreads: opts.maxThreads ?? 1024,
    maxsockets,
    bootEpochMs: clock_now_abs_ms(),
  });
  const modules = opts.modules ?? [];
  if (engine === 'parallel') return ParallelMachine.boot(kmem, ipi, modules, lockup);
  return DeterministicMachine.boot(kmem, modules, opts.traceLog ?? false, opts.stepLimit ?? 0, ipi === 'messageport');
}
