/*
 * lwkt-sim/testing: machine tests in a user's own vitest suite.
 *
 *   import { machineTest } from 'lwkt-sim/testing';
 *   machineTest('two senders', { engines: ['deterministic', 'parallel'], seeds: 200 }, function* (sys) {
 *     const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
 *     ...
 *   });
 *
 * The program runs as a process on a fresh machine per seed (deterministic engine) and
 * per run (parallel engine), with the kernel's checks on (WITNESS, the invariants), and
 * every kernel zone must be back where it was when the machine comes to rest.  A failure
 * fails the test with the engine, the model, the seed, the program's error, the last
 * events before it, and, in the deterministic engine, the schedule shrunk to its fewest
 * preemptions with the options that replay it (or LWKT_SEED / LWKT_REPLAY in the
 * environment to rerun just that).
 *
 * The program is run from its source, in every engine alike: each CPU worker of the
 * parallel engine is an isolate of its own, and a function cannot cross into it.  So a
 * program may use lwkt-sim's exports and its `args`, but not other variables or imports
 * of the test file (give { module, export } for a program that needs them).
 */

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { it } from 'vitest';
import { boot } from '../machine/boot.js';
import type { BootOptions, DispatchModel, EngineName, Machine } from '../machine/machine.js';
import type { DeterministicMachine } from '../machine/deterministic.js';
import { PanicError } from '../machine/dump.js';
import { decode_choices, encode_choices, shrink_schedule } from '../machine/shrink_schedule.js';
import type { Sys } from '../libc/sys.js';
import type { Blocking } from '../../shared/effect.js';

export type MachineProgram = ((sys: Sys, ...args: never[]) => Blocking<unknown>) | { module: string; export: string };

export interface MachineTestOptions {
  engines?: EngineName[];        // default both
  seeds?: number;                // deterministic seeds, from firstSeed (default 50)
  firstSeed?: number;            // default 1
  parallelRuns?: number;         // parallel-engine runs (default 3)
  cpus?: number;                 // default 2
  models?: DispatchModel[];      // default ['bgl']
  args?: unknown[];              // the program's arguments after sys (plain data)
  witness?: boolean;             // default true
  invariants?: boolean;          // default true
  timeoutMs?: number;            // each run's wall-clock budget (default 30 s)
  shrink?: boolean;              // shrink a deterministic failure's schedule (default true)
  boot?: Omit<BootOptions, 'engine' | 'cpus' | 'seed' | 'dispatch'>;
}

const SCOPE_RE = /^__vi(?:te)?_(?:ssr_)?import_\d+__$/;

function api_url(): string {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? '../index.ts' : '../index.js', here).href;
}

/*
 * A module exporting the program rebuilt from its source, with lwkt-sim's exports in
 * scope.  A test file's imports appear in a transformed source as __vi_import_N__.X
 * (vitest), which the scope answers with the API too.
 */
export function program_module(fn: (...a: never[]) => unknown): string {
  const src = fn.toString();
  if (!/^(async\s+)?function\s*\*/.test(src.trim())) {
    throw new TypeError('machineTest: the program must be a generator function: function* (sys) { ... }');
  }
  const api = api_url();
  const body = `import * as api from ${JSON.stringify(api)};
const scope = new Proxy(Object.create(null), {
  has(_, k) { return typeof k === 'string' && (k in api || ${SCOPE_RE}.test(k)); },
  get(_, k) { return typeof k === 'string' && ${SCOPE_RE}.test(k) ? api : api[k]; },
});
export const program = new Function('__scope', ${JSON.stringify(`with (__scope) { return (${src}); }`)})(scope);
`;
  const dir = join(tmpdir(), 'lwkt-sim-machinetest');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(body).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file)) writeFileSync(file, body);
  return pathToFileURL(file).href;
}

interface RunSpec { engine: EngineName; model: DispatchModel; seed: number; choices?: number[] }

interface RunResult { failed: boolean; error: string; tail: string[]; choices: number[] | null; decisions: import('../machine/det_sched.js').Decision[] }

async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no end after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

async function run_once(url: string, exp: string, o: MachineTestOptions, r: RunSpec): Promise<RunResult> {
  const det = r.engine === 'deterministic';
  const timeout = o.timeoutMs ?? 30_000;
  const opts: Record<string, unknown> = {
    memory: 32 << 20, ...o.boot, engine: r.engine, cpus: o.cpus ?? 2, dispatch: r.model, timeBudgetMs: timeout,
  };
  if (o.witness ?? true) opts.witness = true;
  if (o.invariants ?? true) opts.invariants = true;
  if (det) {
    opts.seed = r.seed;
    opts.traceLog = 30;
    opts.recordChoices = true;
    if (r.choices !== undefined) { opts.scheduler = 'replay'; opts.choices = r.choices; }
  }
  const m: Machine = await boot(opts as BootOptions);
  const out: RunResult = { failed: false, error: '', tail: [], choices: null, decisions: [] };
  try {
    const zones0 = new Map(m.stats().zones.map((z) => [z.name, z.used]));
    const tid = await m.spawnProcess({ cpu: 0, module: url, export: exp, args: o.args ?? [], name: 'machineTest' });
    await bounded(m.join(tid), timeout + 5_000, 'the program');
    const dm = m as Machine & { run?: () => Promise<void> };
    if (typeof dm.run === 'function') await bounded(dm.run(), timeout, 'the machine coming to rest');
    else {
      const t0 = Date.now();
      while (m.stats().liveThreads !== 0) {
        if (Date.now() - t0 > timeout) throw new Error(`${m.stats().liveThreads} threads still alive ${timeout} ms after the program ended`);
        await new Promise((res) => setTimeout(res, 2));
      }
    }
    const leaks = m.stats().zones.filter((z) => z.used !== (zones0.get(z.name) ?? 0) && z.name !== 'thread')
      .map((z) => `${z.name} ${zones0.get(z.name) ?? 0} -> ${z.used}`);
    if (leaks.length > 0) throw new Error(`kernel zones not back where they were: ${leaks.join(', ')}`);
  } catch (e) {
    out.failed = true;
    out.error = e instanceof PanicError ? e.message : e instanceof Error ? e.message : String(e);
  }
  if (det) {
    const d = m as DeterministicMachine;
    if (out.failed) out.tail = d.traceTail(30);
    out.choices = d.choices();
    out.decisions = (d.decisions() ?? []).slice();
  }
  await m.shutdown().catch(() => undefined);
  return out;
}

function specs(o: MachineTestOptions): RunSpec[] {
  const env_seed = process.env.LWKT_SEED;
  const env_replay = process.env.LWKT_REPLAY;
  const engines = o.engines ?? ['deterministic', 'parallel'];
  const models = o.models ?? ['bgl'];
  const out: RunSpec[] = [];
  for (const model of models) {
    for (const engine of engines) {
      if (engine === 'deterministic') {
        if (env_seed !== undefined) {
          out.push({ engine, model, seed: Number(env_seed), choices: env_replay !== undefined ? decode_choices(env_replay) : undefined });
          continue;
        }
        const first = o.firstSeed ?? 1;
        for (let s = 0; s < (o.seeds ?? 50); s++) out.push({ engine, model, seed: first + s });
      } else if (env_seed === undefined) {
        for (let i = 0; i < (o.parallelRuns ?? 3); i++) out.push({ engine, model, seed: i + 1 });
      }
    }
  }
  return out;
}

function check_options(o: MachineTestOptions): void {
  const known = ['engines', 'seeds', 'firstSeed', 'parallelRuns', 'cpus', 'models', 'args', 'witness', 'invariants', 'timeoutMs', 'shrink', 'boot'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`machineTest: unknown option '${k}' (${known.join(', ')})`);
  for (const e of o.engines ?? []) if (e !== 'deterministic' && e !== 'parallel') throw new RangeError(`machineTest: engines: '${String(e)}' is not 'deterministic' or 'parallel'`);
  for (const k of ['seeds', 'parallelRuns'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new RangeError(`machineTest: ${k} must be a non-negative integer`);
  }
}

/* Run program over the engines, models and seeds; throws an Error describing the first failure. */
export async function runMachineTest(program: MachineProgram, o: MachineTestOptions = {}): Promise<{ runs: number }> {
  check_options(o);
  const { url, exp } = typeof program === 'function' ? { url: program_module(program), exp: 'program' }
    : { url: program.module, exp: program.export };
  const list = specs(o);
  for (const r of list) {
    const res = await run_once(url, exp, o, r);
    if (!res.failed) continue;
    const head = `${r.engine} engine, ${r.model}, ${r.engine === 'deterministic' ? `seed ${r.seed}` : `run ${r.seed}`}: ${res.error}`;
    const lines = [head];
    if (res.tail.length > 0) lines.push('the last events:', ...res.tail.map((l) => `  ${l}`));
    if (r.engine === 'deterministic' && (o.shrink ?? true) && res.choices !== null) {
      const sh = await shrink_schedule(res.choices, async (choices) => {
        const x = await run_once(url, exp, o, { ...r, choices });
        return { failed: x.failed, decisions: x.decisions };
      });
      const enc = encode_choices(sh.choices);
      lines.push(`schedule shrunk from ${sh.preemptionsBefore} preemptions to ${sh.preemptions} (${sh.runs} replays); replay it with`,
        `  LWKT_SEED=${r.seed} LWKT_REPLAY='${enc}' npx vitest run -t '<this test>'`,
        `  or boot({ engine: 'deterministic', seed: ${r.seed}, scheduler: 'replay', choices: decode_choices('${enc}') })`);
    } else if (r.engine === 'deterministic') {
      lines.push(`rerun it with LWKT_SEED=${r.seed} npx vitest run -t '<this test>'`);
    } else {
      lines.push('the parallel engine does not replay: run the deterministic engine over more seeds to hunt it');
    }
    throw new Error(lines.join('\n'));
  }
  return { runs: list.length };
}

/* A vitest test that runs program across engines, models and seeds. */
export function machineTest(name: string, o: MachineTestOptions, program: MachineProgram): void {
  check_options(o);
  const runs = specs(o).length;
  it(name, async () => { await runMachineTest(program, o); }, Math.max(60_000, runs * 2_000 + (o.timeoutMs ?? 30_000)));
}

export { decode_choices, encode_choices };
