#!/usr/bin/env node
/*
 * main.ts: the lwkt-sim command line: the program, its subcommands and exit statuses
 * (0 ok, 1 a run failed or a check did not hold, 2 a usage error).
 */

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  addBootOptions, bootMachine, bootOptions, parseInteger, parseSeconds, refuseInapplicable, USAGE_EXIT, type BootFlags,
} from './options.js';
import { DEMO_MODULES, demoMaxThreads } from './demo_workload.js';
import { runDemo } from './demo.js';
import { BUILTIN_SCENARIOS, runScenario, type BuiltinScenario, type ScenarioSpec } from './run.js';
import { SCENARIO_PROGS } from './scenario_progs.js';
import { packageVersion } from './version.js';
import { module_load } from '../machine/modules.js';
import { registerStress } from './stress.js';

function program(): Command {
  const prog = new Command('lwkt-sim')
    .description("a multi-core simulation of DragonFly BSD's LWKT machinery")
    .version(packageVersion(), '-V, --version')
    .exitOverride();

  addBootOptions(prog.command('demo')
    .description('run message ping-pong on every CPU pair and a contended token counter on every CPU, then report'))
    .addOption(new Option('--seconds <s>', 'how long to run (virtual seconds in the deterministic engine)')
      .argParser(parseSeconds).default(3))
    .action(async (flags: BootFlags & { seconds: number }, cmd: Command) => {
      refuseInapplicable(cmd, flags);
      const opts = bootOptions(flags);
      const m = await bootMachine(cmd, { ...opts, maxThreads: demoMaxThreads(opts.cpus ?? 1), modules: DEMO_MODULES });
      process.exitCode = await runDemo(m, { seconds: flags.seconds, ipi: flags.ipi, seed: flags.seed,
        rerun: rerunCommand(process.argv.slice(2), flags.seed) },
        { out: process.stdout, err: process.stderr });
    });

  addBootOptions(prog.command('run')
    .description(`boot a machine and run a scenario: ${BUILTIN_SCENARIOS.join(', ')}, or the path of a module ` +
      'whose export is a process main (run as one process on CPU 0)')
    .argument('<scenario>', `${BUILTIN_SCENARIOS.join(' | ')} | <path to a module>`)
    .argument('[args...]', "a module's program: its string arguments after sys"))
    .addOption(new Option('--dispatch <model>', 'socket dispatch model').choices(['bgl', 'netisr']).default('bgl'))
    .addOption(new Option('--bytes <n>', 'stream: bytes to send').argParser(parseRange('bytes', 1, 2 ** 31 - 1))
      .default(1 << 20, '1 MiB'))
    .addOption(new Option('--backlog <n>', "accept-storm: the listener's backlog").argParser(parseRange('backlog', 1, 128))
      .default(2))
    .addOption(new Option('--connectors <n>', 'accept-storm: connector processes; poll-server: clients')
      .argParser(parseRange('connectors', 1, 256)).default(12))
    .addOption(new Option('--messages <n>', 'poll-server: lines each client sends').argParser(parseRange('messages', 1, 100000))
      .default(20))
    .addOption(new Option('--export <name>', "a module's program: the export to run").default('main'))
    .action(async (scenario: string, args: string[], flags: RunFlags, cmd: Command) => {
      const spec = await resolveScenario(cmd, scenario, args, flags.export);
      refuseInapplicable(cmd, flags, { bytes: ['stream'], backlog: ['accept-storm'], connectors: ['accept-storm', 'poll-server'],
        messages: ['poll-server'], export: ['a module'] }, spec.kind === 'builtin' ? spec.name : 'a module');
      const opts = bootOptions(flags);
      const m = await bootMachine(cmd, { ...opts, dispatch: flags.dispatch,
        modules: spec.kind === 'builtin' ? [SCENARIO_PROGS] : [] });
      process.exitCode = await runScenario(m, spec,
        { bytes: flags.bytes, backlog: flags.backlog, connectors: flags.connectors, messages: flags.messages, ipi: flags.ipi,
          dispatch: flags.dispatch, seed: flags.seed, rerun: rerunCommand(process.argv.slice(2), flags.seed) },
        { out: process.stdout });
    });

  registerStress(prog);
  return prog;
}

interface RunFlags extends BootFlags {
  dispatch: 'bgl' | 'netisr';
  bytes: number;
  backlog: number;
  connectors: number;
  messages: number;
  export: string;
}

function parseRange(what: string, lo: number, hi: number): (value: string) => number {
  return (value) => {
    const n = parseInteger(what)(value);
    if (n < lo || n > hi) throw new InvalidArgumentError(`${what} must be an integer ${lo}..${hi}.`);
    return n;
  };
}

/*
 * A built-in name, or a module path that exists and exports a function under `exp`
 * (imported on the host to check).  Anything else is a usage error (status 2).
 */
async function resolveScenario(cmd: Command, name: string, args: string[], exp: string): Promise<ScenarioSpec> {
  const usage = (msg: string): never => cmd.error(`error: ${msg}`, { exitCode: USAGE_EXIT, code: 'lwkt-sim.badScenario' });
  if ((BUILTIN_SCENARIOS as readonly string[]).includes(name)) {
    if (args.length > 0) usage(`scenario '${name}' takes no arguments`);
    return { kind: 'builtin', name: name as BuiltinScenario };
  }
  const path = resolve(name);
  if (!existsSync(path) || !statSync(path).isFile()) {
    usage(`unknown scenario '${name}': not one of ${BUILTIN_SCENARIOS.join(', ')}, nor a module file`);
  }
  const url = pathToFileURL(path).href;
  const mod = await importUserModule(cmd, url, name);
  if (typeof mod[exp] !== 'function') usage(`module '${name}' has no function export '${exp}'`);
  return { kind: 'module', url, path: name, export: exp, args };
}

/*
 * Import the user's module (TypeScript too: modules.ts registers tsx for it).  A module
 * that does not load (a syntax error, a failing import) is a usage error naming the file
 * and, where Node gives one, the line.
 */
async function importUserModule(cmd: Command, url: string, path: string): Promise<Record<string, unknown>> {
  try {
    return await module_load(url);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const at = (err.stack ?? '').split('\n').find((l) => l.includes(url) || /^file:\/\/.*:\d+$/.test(l.trim()));
    const where = at !== undefined && !err.message.includes(path) ? ` (${at.trim().replace(/^at /, '')})` : '';
    return cmd.error(`error: cannot load module '${path}': ${err.name}: ${err.message}${where}`,
      { exitCode: USAGE_EXIT, code: 'lwkt-sim.badModule' });
  }
}

/* The command line that reruns this one: the same arguments, with the seed written out. */
function rerunCommand(argv: string[], seed: number | undefined): string {
  const args = argv.includes('--seed') || argv.some((a) => a.startsWith('--seed=')) ? argv : [...argv, '--seed', String(seed ?? 1)];
  return ['npx', 'lwkt-sim', ...args].map((a) => (/^[\w./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/* A reader that goes away (`| head`) is not an error: stop writing, finish the run. */
function quietEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') return;
    process.stderr.write(`lwkt-sim: stdout: ${e.message}\n`);
    process.exitCode = 1;
  });
}

async function main(argv: string[]): Promise<void> {
  quietEpipe();
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed the help, the version or the error already
      process.exitCode = e.exitCode === 0 ? 0 : USAGE_EXIT;
      return;
    }
    process.stderr.write(`lwkt-sim: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
