/*
 * settings.ts: what one stress run is, checked, and the command that reruns it.
 *
 * A run is a seed and its settings: the engine, CPUs, dispatch model, workloads and their
 * operation budget, the scheduler, the faults, the bugs injected, the checks.  Everything
 * random in a deterministic run comes from the seed, so the settings and the seed are the
 * whole repro: repro_command() prints them as one lwkt-sim command line.
 */

import type { DispatchModel, EngineName } from '../machine/machine.js';
import { NCPU_MAX } from '../../shared/param.js';
import { encode_choices } from '../machine/shrink_schedule.js';

export type FaultSpec = 'swarm' | 'none' | Record<string, number>;

export interface StressSettings {
  engine: EngineName;
  cpus: number;
  model: DispatchModel;
  workloads: string[];          // registry names, or user modules as path[:export]
  ops: number;                  // each workload's operation budget
  faults: FaultSpec;            // 'swarm': a subset of sites at rates drawn from the seed
  pctDepth: number;             // 0: the random scheduler; d >= 1: PCT with depth d
  injectBug: string[];
  witness: boolean;
  invariants: boolean;
  stepBudget: number;           // deterministic engine, per seed
  timeBudgetMs: number;         // per seed, both engines
  memory: number;
}

export const DEFAULT_SETTINGS: StressSettings = {
  engine: 'deterministic',
  cpus: 2,
  model: 'bgl',
  workloads: [],                // empty: every built-in workload
  ops: 200,
  faults: 'swarm',
  pctDepth: 0,
  injectBug: [],
  witness: true,
  invariants: true,
  stepBudget: 20_000_000,
  timeBudgetMs: 60_000,
  memory: 32 << 20,
};

export const MODELS: readonly DispatchModel[] = ['bgl', 'netisr', 'mpsafe'];

/* Check settings a caller built (the API's counterpart of the CLI's parsing): TypeError/RangeError naming the field. */
export function check_settings(s: StressSettings): void {
  if (s.engine !== 'deterministic' && s.engine !== 'parallel') throw new RangeError(`stress: engine must be 'deterministic' or 'parallel'`);
  if (!Number.isInteger(s.cpus) || s.cpus < 1 || s.cpus > NCPU_MAX) throw new RangeError(`stress: cpus must be an integer 1..${NCPU_MAX}`);
  if (!MODELS.includes(s.model)) throw new RangeError(`stress: model must be one of ${MODELS.join(', ')}`);
  if (!Array.isArray(s.workloads) || !s.workloads.every((w) => typeof w === 'string' && w !== '')) {
    throw new TypeError('stress: workloads must be an array of names or module paths');
  }
  if (!Number.isInteger(s.ops) || s.ops < 1) throw new RangeError('stress: ops must be a positive integer');
  if (!Number.isInteger(s.pctDepth) || s.pctDepth < 0 || s.pctDepth > 64) throw new RangeError('stress: pctDepth must be an integer 0..64');
  if (s.faults !== 'swarm' && s.faults !== 'none' && (typeof s.faults !== 'object' || s.faults === null)) {
    throw new TypeError(`stress: faults must be 'swarm', 'none' or { site: rate }`);
  }
  for (const k of ['stepBudget', 'timeBudgetMs', 'memory'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 0) throw new RangeError(`stress: ${k} must be a non-negative integer`);
  }
}

/* 'mbuf=0.02,yield=0.1' <-> { mbuf: 0.02, yield: 0.1 }. */
export function format_fault_rates(f: Record<string, number>): string {
  return Object.keys(f).sort().map((k) => `${k}=${+f[k].toPrecision(3)}`).join(',');
}

export function parse_fault_rates(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^([a-z_]+)=([0-9.eE-]+)$/.exec(part.trim());
    if (m === null) throw new RangeError(`faults: '${part}' is not site=rate`);
    const rate = Number(m[2]);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`faults: the rate of ${m[1]} must be 0..1`);
    out[m[1]] = rate;
  }
  return out;
}

function shell_word(s: string): string { return /^[\w./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`; }

/* One command line that reruns seed with these settings (faults resolved: the swarm's draw for the seed). */
export function repro_command(seed: number, s: StressSettings, faults: Record<string, number>, choices?: readonly number[]): string {
  const a = ['npx', 'lwkt-sim', 'stress', '--seed', String(seed), '--engine', s.engine, '--cpus', String(s.cpus),
    '--model', s.model, '--ops', String(s.ops)];
  if (s.workloads.length > 0) a.push('--workload', s.workloads.join(','));
  a.push('--faults', Object.keys(faults).length === 0 ? 'none' : format_fault_rates(faults));
  if (s.pctDepth > 0) a.push('--pct-depth', String(s.pctDepth));
  if (s.injectBug.length > 0) a.push('--inject-bug', s.injectBug.join(','));
  if (!s.witness) a.push('--no-witness');
  if (!s.invariants) a.push('--no-invariants');
  if (choices !== undefined) a.push('--replay', encode_choices(choices));
  return a.map(shell_word).join(' ');
}
