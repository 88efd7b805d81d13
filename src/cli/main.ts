#!/usr/bin/env node
/*
 * main.ts: the lwkt-sim command line: the program, its subcommands and exit statuses
 * (0 ok, 1 a run failed or a check did not hold, 2 a usage error).
 */

import { Command, CommanderError, Option } from 'commander';
import { addBootOptions, bootMachine, bootOptions, parseSeconds, USAGE_EXIT, type BootFlags } from './options.js';
import { DEMO_MODULES, demoMaxThreads } from './demo_workload.js';
import { runDemo } from './demo.js';
import { packageVersion } from './version.js';

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
      const opts = bootOptions(flags);
      const m = await bootMachine(cmd, { ...opts, maxThreads: demoMaxThreads(opts.cpus ?? 1), modules: DEMO_MODULES });
      process.exitCode = await runDemo(m, { seconds: flags.seconds, ipi: flags.ipi },
        { out: process.stdout, err: process.stderr });
    });

  return prog;
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
