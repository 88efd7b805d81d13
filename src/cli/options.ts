/*
 * options.ts: the boot options every machine-booting subcommand shares (--cpus, --engine,
 * --ipi, --seed, --soft-lockup), their parsers, and booting with them.  A value that does
 * not parse is rejected by commander (InvalidArgumentError); a value boot() finds out of
 * range (RangeError) is reported the same way.  Both exit with status 2.
 */

import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { boot } from '../machine/boot.js';
import type { BootOptions, EngineName, IpiCarrier, Machine } from '../machine/machine.js';
import { NCPU_MAX } from '../../shared/param.js';
import { machineTables } from './stats_tables.js';

export const USAGE_EXIT = 2;

/* The parsed values of the shared options, as commander hands them to an action. */
export interface BootFlags {
  cpus?: number;
  engine: EngineName;
  ipi: IpiCarrier;
  seed?: number;
  softLockup?: number;
}

export function parseInteger(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*[+-]?\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be an integer.`);
    return n;
  };
}

/* The seed is a 32-bit word in kmem: reject what would silently wrap. */
export function parseSeed(value: string): number {
  const n = parseInteger('seed')(value);
  if (n < 0 || n > 0xffffffff) throw new InvalidArgumentError('seed must be an integer 0..4294967295.');
  return n;
}

/* A parser of seconds: a finite number above 0, or (zeroOk) at least 0. */
function secondsParser(zeroOk: boolean): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) {
      throw new InvalidArgumentError(`seconds must be a number ${zeroOk ? '>=' : '>'} 0.`);
    }
    return n;
  };
}

export const parseSeconds = secondsParser(false);
/* Seconds, where 0 means "never". */
export const parseSecondsOrNever = secondsParser(true);

export function addBootOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--cpus <n>', `simulated CPUs, 1..${NCPU_MAX} (default: one per host core)`)
      .argParser(parseInteger('cpus')))
    .addOption(new Option('--engine <name>', 'parallel: a worker thread per CPU; deterministic: seeded, virtual time')
      .choices(['parallel', 'deterministic']).default('parallel'))
    .addOption(new Option('--ipi <carrier>', 'how IPIs travel between CPUs')
      .choices(['sab', 'messageport']).default('sab'))
    .addOption(new Option('--seed <n>', "the deterministic engine's seed (default: 1)").argParser(parseSeed))
    .addOption(new Option('--soft-lockup <seconds>', 'parallel engine: fail when a CPU runs one step this long (0: never; default: 10)')
      .argParser(parseSecondsOrNever));
}

/*
 * An option given on the command line that the run would ignore is a usage error: a
 * seed for the parallel engine (its runs are not seeded), a soft-lockup limit for the
 * deterministic one (it has no watchdog: its budgets bound a run), or a scenario's option
 * another scenario has no use for.
 */
export function refuseInapplicable(cmd: Command, flags: BootFlags, scenarioOpts: Record<string, string[]> = {},
    scenario?: string): void {
  const given = (o: string): boolean => cmd.getOptionValueSource(o) === 'cli';
  const bad = (msg: string): never => cmd.error(`error: ${msg}`, { exitCode: USAGE_EXIT, code: 'lwkt-sim.inapplicable' });
  if (given('seed') && flags.engine !== 'deterministic') bad('--seed applies to the deterministic engine (add --engine deterministic)');
  if (given('softLockup') && flags.engine === 'deterministic') {
    bad('--soft-lockup applies to the parallel engine (the deterministic one is bounded by its step and time budgets)');
  }
  for (const [opt, users] of Object.entries(scenarioOpts)) {
    if (given(opt) && (scenario === undefined || !users.includes(scenario))) {
      const flag = `--${opt.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      bad(`${flag} applies to ${users.join(' and ')}${scenario !== undefined ? `, not to ${scenario}` : ''}`);
    }
  }
}

/*
 * Ctrl-C during a run: print what was measured so far (the machine's tables since boot)
 * and exit with 130, as a shell expects of a process ended by SIGINT.
 */
export function reportOnInterrupt(m: Machine, out: NodeJS.WritableStream = process.stdout): void {
  const before = m.stats();
  const t0 = performance.now();
  process.once('SIGINT', () => {
    const say = (s = ''): void => { out.write(`${s}\n`); };
    const virtual = m.engine === 'deterministic';
    say(`\ninterrupted after ${((performance.now() - t0) / 1e3).toFixed(1)} s; what was measured so far:`);
    try {
      const after = m.stats();
      machineTables(say, before, after, virtual, after.cpus.map((c) => c.threads));
    } catch (e) {
      say(`(no figures: ${e instanceof Error ? e.message : String(e)})`);
    }
    process.exit(130);
  });
}

/* Host cores, but no more CPUs than a machine can have. */
export function defaultCpus(): number {
  return Math.min(availableParallelism(), NCPU_MAX);
}

export function bootOptions(flags: BootFlags): BootOptions {
  return { cpus: flags.cpus ?? defaultCpus(), engine: flags.engine, ipi: flags.ipi, seed: flags.seed,
    softLockupMs: flags.softLockup === undefined ? undefined : flags.softLockup * 1000 };
}

/* boot(), with an out-of-range option reported as a usage error of `cmd`. */
export async function bootMachine(cmd: Command, opts: BootOptions): Promise<Machine> {
  let m: Machine;
  try {
    m = await boot(opts);
  } catch (e) {
    if (e instanceof RangeError) cmd.error(`error: ${e.message}`, { exitCode: USAGE_EXIT, code: 'lwkt-sim.invalidOption' });
    throw e;
  }
  reportOnInterrupt(m);
  return m;
}
