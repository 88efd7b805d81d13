/*
 * stress.ts: `lwkt-sim stress` and `lwkt-sim stress merge`.
 *
 * Runs the stress workloads over many seeds (src/stress/runner.ts), shows a live bar on a
 * terminal (plain lines elsewhere), prints each failure with its last events and the one
 * command that reruns it, the shrunk run, and a summary.  Exit status: 0 every seed
 * passed, 1 a seed failed, 2 a usage error.  --shard K/N writes JSON lines for `merge`.
 */

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { NCPU_MAX } from '../../shared/param.js';
import { stress, type StressResult } from '../stress/runner.js';
import { run_stress_seed, type SeedOutcome } from '../stress/seed_run.js';
import { DEFAULT_SETTINGS, MODELS, format_fault_rates, parse_fault_rates, type FaultSpec, type StressSettings } from '../stress/settings.js';
import { summarize, type StressSummary } from '../stress/summary.js';
import { WORKLOADS } from '../stress/workloads/index.js';
import { INJECT_BUGS, FAULT_SITES } from '../kern/kern_fail.js';
import { fmtCount } from './format.js';
import { startCountBar } from './progress.js';
import { format_faults } from '../stress/swarm.js';
import { decode_choices } from '../machine/shrink_schedule.js';
import { parseInteger, parseSeed, parseSeconds, USAGE_EXIT } from './options.js';

interface StressFlags {
  engine: 'deterministic' | 'parallel';
  cpus: number;
  seed?: number;
  seeds?: number;
  firstSeed: number;
  jobs: number;
  ops: number;
  seconds?: number;
  workload?: string[];
  model: StressSettings['model'];
  faults: FaultSpec;
  pctDepth: number;
  checkDeterminism: boolean;
  json: boolean;
  shard?: [number, number];
  out?: string;
  injectBug: string[];
  witness: boolean;
  invariants: boolean;
  all: boolean;
  shrink: boolean;
  rehunt: number;
  stepBudget: number;
  timeBudget: number;
  replay?: number[];
}

function usage(cmd: Command, msg: string): never {
  return cmd.error(`error: ${msg}`, { exitCode: USAGE_EXIT, code: 'lwkt-sim.stressUsage' });
}

function range(what: string, lo: number, hi: number): (v: string) => number {
  return (v) => {
    const n = parseInteger(what)(v);
    if (n < lo || n > hi) throw new InvalidArgumentError(`${what} must be an integer ${lo}..${hi}.`);
    return n;
  };
}

function parseWorkloads(v: string): string[] {
  const names = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (names.length === 0) throw new InvalidArgumentError('give at least one workload.');
  for (const n of names) {
    if (WORKLOADS[n] !== undefined) continue;
    const path = n.replace(/:[A-Za-z_$][\w$]*$/, '');
    if (/[/.]/.test(path) && existsSync(path) && statSync(path).isFile()) continue;
    throw new InvalidArgumentError(`unknown workload '${n}': not one of ${Object.keys(WORKLOADS).join(', ')}, nor a module file.`);
  }
  return names;
}

function parseFaults(v: string): FaultSpec {
  if (v === 'swarm' || v === 'none') return v;
  let f: Record<string, number>;
  try {
    f = parse_fault_rates(v);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message} (use swarm, none, or site=rate,...).`);
  }
  for (const site of Object.keys(f)) {
    if (!FAULT_SITES.includes(site)) throw new InvalidArgumentError(`unknown fault site '${site}': one of ${FAULT_SITES.join(', ')}.`);
  }
  return f;
}

function parseBugs(v: string): string[] {
  const names = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const n of names) {
    if (!INJECT_BUGS.includes(n)) throw new InvalidArgumentError(`unknown bug '${n}': one of ${INJECT_BUGS.join(', ')}.`);
  }
  return names;
}

function parseChoices(v: string): number[] {
  try {
    return decode_choices(v);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}

function parseShard(v: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (m === null) throw new InvalidArgumentError(`shard must be K/N, e.g. 3/8.`);
  const k = Number(m[1]), n = Number(m[2]);
  if (n < 1 || k < 1 || k > n) throw new InvalidArgumentError(`shard K/N needs 1 <= K <= N.`);
  return [k, n];
}

export function registerStress(prog: Command): void {
  const cmd = prog.command('stress')
    .description('stress the simulated kernel: workloads over many seeds, with invariants, WITNESS and faults; ' +
      'every failure prints the command that reruns it')
    .addOption(new Option('--engine <name>', 'deterministic: seeded, replayable; parallel: real threads')
      .choices(['deterministic', 'parallel']).default('deterministic'))
    .addOption(new Option('--cpus <n>', `simulated CPUs, 1..${NCPU_MAX}`).argParser(range('cpus', 1, NCPU_MAX)).default(2))
    .addOption(new Option('--seed <s>', 'run this one seed').argParser(parseSeed).conflicts('seeds'))
    .addOption(new Option('--seeds <n>', 'run n seeds, from --first-seed').argParser(range('seeds', 1, 10_000_000)))
    .addOption(new Option('--first-seed <s>', 'the first of --seeds').argParser(parseSeed).default(1))
    .addOption(new Option('--jobs <j>', 'deterministic seeds at once (a piscina pool)').argParser(range('jobs', 1, 256))
      .default(availableParallelism(), 'host cores'))
    .addOption(new Option('--ops <n>', "each workload's operations per seed").argParser(range('ops', 1, 10_000_000)).default(DEFAULT_SETTINGS.ops))
    .addOption(new Option('--seconds <t>', 'run seeds until this much wall time has passed').argParser(parseSeconds))
    .addOption(new Option('--workload <a,b>', `workloads (default: all): ${Object.keys(WORKLOADS).join(', ')}, or path[:export] of your own`)
      .argParser(parseWorkloads))
    .addOption(new Option('--model <m>', 'socket dispatch model').choices([...MODELS]).default('bgl'))
    .addOption(new Option('--faults <spec>', 'fault sites: swarm (a subset at rates drawn from each seed), none, or site=rate,...')
      .argParser(parseFaults).default('swarm'))
    .addOption(new Option('--pct-depth <d>', 'deterministic engine: the PCT scheduler with bug depth d (default: random)')
      .argParser(range('pct-depth', 1, 64)))
    .addOption(new Option('--check-determinism', 'run each seed twice and name the first event where the runs differ').default(false))
    .addOption(new Option('--json', 'print the result as JSON').default(false))
    .addOption(new Option('--shard <K/N>', 'run the K-th of N disjoint slices of the seeds; write JSON lines for `stress merge`')
      .argParser(parseShard))
    .addOption(new Option('--out <file>', '--shard: write the JSON lines here instead of stdout'))
    .addOption(new Option('--inject-bug <names>', 'switch on known kernel bugs (the tool\'s own test)').argParser(parseBugs).default([]).hideHelp())
    .addOption(new Option('--no-witness', 'turn off WITNESS lock-order checking'))
    .addOption(new Option('--no-invariants', 'turn off the kernel invariant checks'))
    .addOption(new Option('--all', 'run every seed and collect every failure (default: stop at the first)').default(false))
    .addOption(new Option('--no-shrink', 'do not shrink a deterministic failure'))
    .addOption(new Option('--rehunt <n>', "parallel engine: after a failure, hunt it across n deterministic seeds").argParser(range('rehunt', 1, 1_000_000)).default(0))
    .addOption(new Option('--step-budget <n>', 'deterministic engine: steps per seed before it fails as stuck').argParser(range('step-budget', 0, 2 ** 31 - 1))
      .default(DEFAULT_SETTINGS.stepBudget))
    .addOption(new Option('--time-budget <s>', 'wall time per seed before it fails as stuck').argParser(parseSeconds)
      .default(DEFAULT_SETTINGS.timeBudgetMs / 1e3))
    .addOption(new Option('--replay <choices>', 'deterministic engine, with --seed: follow this schedule (printed by a shrunk failure)')
      .argParser(parseChoices))
    .action(async (flags: StressFlags, c: Command) => { process.exitCode = await runStress(flags, c); });

  cmd.command('merge')
    .description('combine the JSON lines of --shard runs into one summary')
    .argument('<files...>', 'JSON-lines files written by stress --shard')
    .option('--json', 'print the result as JSON', false)
    .action((files: string[], flags: { json: boolean }, c: Command) => { process.exitCode = merge(files, flags.json, c); });
}

function settingsOf(f: StressFlags): StressSettings {
  return {
    ...DEFAULT_SETTINGS, engine: f.engine, cpus: f.cpus, model: f.model, workloads: f.workload ?? [], ops: f.ops, faults: f.faults,
    pctDepth: f.pctDepth ?? 0, injectBug: f.injectBug, witness: f.witness, invariants: f.invariants, stepBudget: f.stepBudget,
    timeBudgetMs: Math.round(f.timeBudget * 1e3),
  };
}

function describe(s: StressSettings, seeds: string, jobs: number): string {
  return `stress: ${s.engine} engine, ${s.cpus} CPUs, ${s.model}, workloads ${s.workloads.length > 0 ? s.workloads.join(',') : 'all'} ` +
    `(${s.ops} ops each), ${seeds}${s.engine === 'deterministic' ? ` on ${jobs} jobs` : ''}, ` +
    `scheduler ${s.pctDepth > 0 ? `pct depth ${s.pctDepth}` : s.engine === 'deterministic' ? 'random' : 'the host\'s'}, ` +
    `faults ${typeof s.faults === 'string' ? s.faults : format_fault_rates(s.faults)}, witness ${s.witness ? 'on' : 'off'}, ` +
    `invariants ${s.invariants ? 'on' : 'off'}` + (s.injectBug.length > 0 ? `, bugs injected: ${s.injectBug.join(',')}` : '');
}

/* Seeds done, and the run's figures so far: a live bar on a terminal, a line a second elsewhere. */
interface Tally { ops: number; sched: Set<string>; fail: number }
function progressBar(total: number, open: boolean): { update(t: Tally): void; stop(): void } {
  const t0 = Date.now();
  let done = 0;
  const bar = startCountBar(process.stderr,
    `seeds ${open ? '{value}' : '{bar} {value}/{total}'} | ops {ops} | schedules {sched} | failures {fail} | {secs} s`,
    (v, t, f) => `seeds ${v}${open ? '' : `/${t}`}, ops ${f.ops}, schedules ${f.sched}, failures ${f.fail}, ${f.secs} s`);
  return {
    update(t) {
      done++;
      bar.update(done, open ? done + 1 : total, { ops: fmtCount(t.ops), sched: t.sched.size, fail: t.fail,
        secs: ((Date.now() - t0) / 1e3).toFixed(1) });
    },
    stop() { bar.stop(); },
  };
}

function indent(text: string, by = '  '): string { return text.split('\n').map((l) => by + l).join('\n'); }

export function formatFailure(o: SeedOutcome): string {
  const lines = [`FAIL seed ${o.seed}${o.settings.engine === 'parallel' ? ' (parallel engine: not replayable event for event)' : ''}`];
  for (const f of o.failures.slice(0, 8)) lines.push(indent(f));
  if (o.failures.length > 8) lines.push(`  ... ${o.failures.length - 8} more`);
  if (o.panic !== null) lines.push('  the machine\'s report:', indent(o.panic.split('\n').slice(0, 30).join('\n'), '    '));
  lines.push(`  ${format_faults(o.faults)}`);
  if (o.divergence !== undefined) lines.push(`  runs differ at: ${o.divergence}`);
  if (o.tail.length > 0) lines.push(`  the last ${o.tail.length} events:`, ...o.tail.map((l) => `    ${l}`));
  lines.push(`  repro: ${o.repro}`);
  return lines.join('\n');
}

export function formatSummary(s: StressSummary): string {
  const lines: string[] = [];
  const w = s.workloads;
  if (w.length > 0) {
    const name = Math.max(8, ...w.map((x) => x.name.length));
    lines.push(`${'workload'.padEnd(name)}  ${'ops'.padStart(10)}  ${'ops/s'.padStart(10)}  ${'bytes'.padStart(13)}  ${'checks'.padStart(8)}`);
    for (const x of w) {
      lines.push(`${x.name.padEnd(name)}  ${fmtCount(x.ops).padStart(10)}  ${fmtCount(Math.round(x.opsPerSec)).padStart(10)}  ` +
        `${fmtCount(x.bytes).padStart(13)}  ${fmtCount(x.checks).padStart(8)}`);
    }
    lines.push('  (ops: the system calls each workload counts as its own; ops/s over the time spent in seeds; ' +
      'checks: the invariants its check verified)');
  }
  const fired = Object.entries(s.faultsFired).filter(([, n]) => n > 0);
  lines.push(`seeds: ${s.seeds} run, ${s.passed} passed, ${s.failed} failed${s.failed > 0 ? ` (${s.failedSeeds.slice(0, 20).join(', ')})` : ''}`);
  lines.push(`bytes moved: ${fmtCount(s.bytes)}; invariants checked: ${fmtCount(s.checks)}; ` +
    `faults fired: ${fired.length === 0 ? 'none' : fired.map(([k, n]) => `${k} ${fmtCount(n)}`).join(', ')}`);
  lines.push(`lock-order edges seen: ${s.lockOrderEdges}; distinct schedules: ${s.schedules}; steps: ${fmtCount(s.steps)}`);
  if (s.pct !== null) {
    lines.push(`PCT depth ${s.pct.depth}: n = ${s.pct.threads} threads, k = ${fmtCount(s.pct.steps)} steps measured; ` +
      `a depth-${s.pct.depth} bug is found with probability >= 1/(n k^(d-1)) = ${s.pct.bound.toExponential(2)} per run`);
  }
  lines.push(`elapsed: ${(s.elapsedMs / 1e3).toFixed(1)} s`);
  return lines.join('\n');
}

function seedList(f: StressFlags, c: Command): { seeds: number[]; text: string } {
  if (f.seed !== undefined) return { seeds: [f.seed], text: `seed ${f.seed}` };
  const n = f.seeds ?? (f.seconds !== undefined ? 10_000_000 : 100);
  if (f.firstSeed + n - 1 > 0xffffffff) usage(c, 'the seed range passes 4294967295');
  let seeds = Array.from({ length: Math.min(n, 10_000_000) }, (_, i) => f.firstSeed + i);
  let text = f.seeds === undefined && f.seconds !== undefined ? `seeds from ${f.firstSeed} for ${f.seconds} s` : `seeds ${f.firstSeed}..${f.firstSeed + n - 1}`;
  if (f.shard !== undefined) {
    const [k, of] = f.shard;
    seeds = seeds.filter((_, i) => i % of === k - 1);
    text += `, shard ${k}/${of} (${seeds.length} seeds)`;
  }
  return { seeds, text };
}

async function runStress(f: StressFlags, c: Command): Promise<number> {
  if (f.out !== undefined && f.shard === undefined) usage(c, '--out goes with --shard');
  if (f.engine === 'parallel' && f.checkDeterminism) usage(c, '--check-determinism needs the deterministic engine');
  if (f.engine === 'parallel' && f.pctDepth !== undefined) usage(c, '--pct-depth needs the deterministic engine');
  if (f.engine === 'deterministic' && f.rehunt > 0) usage(c, '--rehunt hunts a parallel-engine failure across deterministic seeds');
  if (f.replay !== undefined && (f.seed === undefined || f.engine !== 'deterministic')) usage(c, '--replay goes with --seed, in the deterministic engine');
  const s = settingsOf(f);
  const { seeds, text } = seedList(f, c);
  if (seeds.length === 0) usage(c, 'the shard holds no seeds');
  const jobs = Math.min(f.jobs, seeds.length);
  const quiet = f.json || f.shard !== undefined;
  if (!quiet) process.stderr.write(`${describe(s, text, jobs)}\n`);
  const tally: Tally = { ops: 0, sched: new Set<string>(), fail: 0 };
  const bar = quiet ? null : progressBar(seeds.length, f.seconds !== undefined && f.seeds === undefined);
  const lines: string[] = [];
  const sofar: SeedOutcome[] = [];
  const t0 = Date.now();
  // Ctrl-C: the summary of the seeds that finished, and status 130.
  process.once('SIGINT', () => {
    bar?.stop();
    const failedSoFar = sofar.filter((o) => !o.ok).sort((a, b) => a.seed - b.seed);
    for (const o of failedSoFar) process.stdout.write(`${formatFailure(o)}\n\n`);
    process.stdout.write(`interrupted; the seeds that finished:\n${formatSummary(summarize(sofar, Date.now() - t0))}\n`);
    process.exit(130);
  });
  let result: StressResult;
  try {
    result = await stress({
      settings: s, seeds, jobs, stopAtFirstFailure: !f.all, checkDeterminism: f.checkDeterminism, shrink: f.shrink && f.replay === undefined,
      choices: f.replay,
      wallMs: f.seconds !== undefined ? f.seconds * 1e3 : 0,
      onSeed: (o) => {
        sofar.push(o);
        tally.ops += o.workloads.reduce((a, w) => a + w.ops, 0);
        if (o.traceHash !== '') tally.sched.add(o.traceHash);
        if (!o.ok) tally.fail++;
        bar?.update(tally);
        if (f.shard !== undefined) lines.push(JSON.stringify({ type: 'seed', ...o }));
      },
      onShrinkStep: quiet ? undefined : (what, kept) => process.stderr.write(`shrink: ${what}: ${kept ? 'still fails, kept' : 'passes'}\n`),
    });
  } catch (e) {
    bar?.stop();
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof RangeError || e instanceof TypeError) usage(c, msg);
    process.stderr.write(`lwkt-sim stress: ${msg}\n`);
    return 1;
  }
  bar?.stop();
  const failed = result.outcomes.filter((o) => !o.ok).sort((a, b) => a.seed - b.seed);
  if (f.shard !== undefined) {
    lines.push(JSON.stringify({ type: 'summary', shard: f.shard, settings: s, summary: result.summary }));
    const body = lines.join('\n') + '\n';
    if (f.out !== undefined) writeFileSync(f.out, body);
    else process.stdout.write(body);
    return failed.length > 0 ? 1 : 0;
  }
  let rehunt: SeedOutcome | null = null;
  if (failed.length > 0 && f.engine === 'parallel' && f.rehunt > 0) rehunt = await rehuntDet(s, f.rehunt, quiet);
  if (f.json) {
    process.stdout.write(JSON.stringify({ settings: s, summary: result.summary, failures: failed, shrunk: result.shrunk, rehunt }, null, 2) + '\n');
    return failed.length > 0 ? 1 : 0;
  }
  for (const o of failed) process.stdout.write(`${formatFailure(o)}\n\n`);
  if (result.shrunk !== null && result.shrunk.steps.length > 0) {
    const sh = result.shrunk;
    process.stdout.write(`shrunk in ${sh.runs} runs (${sh.steps.join('; ')}): the smallest run that still fails:\n` +
      `${formatFailure(sh.outcome)}\n\n`);
  } else if (result.shrunk !== null) {
    process.stdout.write(`shrinking: no smaller run fails the same way (${result.shrunk.runs} runs tried)\n\n`);
  }
  if (failed.length > 0 && f.engine === 'parallel') {
    process.stdout.write(rehunt !== null ? `re-hunted in the deterministic engine: seed ${rehunt.seed} fails too:\n${formatFailure(rehunt)}\n\n`
      : f.rehunt > 0 ? `re-hunt: ${f.rehunt} deterministic seeds passed\n\n`
        : `hunt it in the deterministic engine: add --rehunt 200 (the same workloads across 200 deterministic seeds)\n\n`);
  }
  process.stdout.write(formatSummary(result.summary) + '\n');
  return failed.length > 0 ? 1 : 0;
}

/* A parallel-engine failure, hunted again across deterministic seeds. */
async function rehuntDet(s: StressSettings, n: number, quiet: boolean): Promise<SeedOutcome | null> {
  if (!quiet) process.stderr.write(`re-hunting across ${n} deterministic seeds\n`);
  const r = await stress({ settings: { ...s, engine: 'deterministic' }, seeds: Array.from({ length: n }, (_, i) => i + 1), shrink: false });
  return r.outcomes.filter((o) => !o.ok).sort((a, b) => a.seed - b.seed)[0] ?? null;
}

function merge(files: string[], json: boolean, c: Command): number {
  const outcomes: SeedOutcome[] = [];
  let elapsed = 0;
  const seen = new Set<number>();
  for (const file of files) {
    if (!existsSync(file)) usage(c, `no such file: ${file}`);
    const text = readFileSync(file, 'utf8');
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let rec: { type?: string; seed?: number; summary?: StressSummary };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        usage(c, `${file}:${i + 1}: not a JSON line of stress --shard`);
      }
      if (rec.type === 'seed') {
        if (seen.has(rec.seed!)) usage(c, `${file}:${i + 1}: seed ${rec.seed} appears in two shards`);
        seen.add(rec.seed!);
        outcomes.push(rec as unknown as SeedOutcome);
      } else if (rec.type === 'summary') {
        elapsed = Math.max(elapsed, rec.summary?.elapsedMs ?? 0);
      } else {
        usage(c, `${file}:${i + 1}: not a JSON line of stress --shard`);
      }
    });
  }
  const summary = summarize(outcomes, elapsed);
  const failed = outcomes.filter((o) => !o.ok).sort((a, b) => a.seed - b.seed);
  if (json) process.stdout.write(JSON.stringify({ summary, failures: failed }, null, 2) + '\n');
  else {
    for (const o of failed) process.stdout.write(`${formatFailure(o)}\n\n`);
    process.stdout.write(`merged ${files.length} shards\n${formatSummary(summary)}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

export { run_stress_seed };
