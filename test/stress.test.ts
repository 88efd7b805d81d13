/*
 * lwkt-sim stress: a short run passes in each engine with its figures counted; a user's
 * workload module runs beside the built-in ones; a workload that throws, never yields or
 * checks wrongly is reported as that workload's failure (with where it was stuck), with a
 * repro command that fails again; the command line refuses bad input with one line and
 * status 2; shards merge into one summary.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stress, DEFAULT_SETTINGS, runStressSeed, type StressSettings } from '../src/stress/index.js';

const USER = fileURLToPath(new URL('./progs/user_workload.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/main.ts')];

const S = (o: Partial<StressSettings>): StressSettings => ({ ...DEFAULT_SETTINGS, ops: 30, ...o });

function cli(args: string[], timeout = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, timeout, maxBuffer: 16 << 20 }, (e, out, err) => {
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

describe('stress runs', () => {
  it('a short deterministic run of every workload passes; its figures and schedules are counted', async () => {
    const r = await stress({ settings: S({}), seeds: [1, 2, 3, 4], jobs: 2 });
    expect(r.outcomes.map((o) => o.failures)).toEqual([[], [], [], []]);
    const s = r.summary;
    expect(s).toMatchObject({ seeds: 4, passed: 4, failed: 0, schedules: 4 });
    expect(s.workloads.length).toBeGreaterThanOrEqual(5);
    for (const w of s.workloads) expect(w.ops, w.name).toBeGreaterThan(0);
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.checks).toBeGreaterThan(0);
    expect(s.steps).toBeGreaterThan(1000);
  });

  it('a short parallel-engine run passes', async () => {
    const r = await stress({ settings: S({ engine: 'parallel', workloads: ['stream', 'dgram', 'accept'] }), seeds: [1, 2] });
    expect(r.outcomes.map((o) => o.failures)).toEqual([[], []]);
    expect(r.summary.passed).toBe(2);
  });

  it('a seed replays exactly: same schedule hash, same figures', async () => {
    const a = await runStressSeed(9, S({ workloads: ['stream', 'seqpacket'] }));
    const b = await runStressSeed(9, S({ workloads: ['stream', 'seqpacket'] }));
    expect(a.ok).toBe(true);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.workloads).toEqual(a.workloads);
  });

  it("a user's workload module runs beside the built-in ones", async () => {
    const r = await stress({ settings: S({ workloads: ['stream', USER] }), seeds: [1, 2], jobs: 2 });
    expect(r.summary.failed).toBe(0);
    expect(r.summary.workloads.map((w) => w.name)).toEqual(['pingpong', 'stream']);
  });
});

describe('broken workloads are that workload\'s failure, not a crash', () => {
  it('a plan that throws, and a check that finds a wrong value', async () => {
    const r = await stress({ settings: S({ workloads: [`${USER}:planThrows`, `${USER}:wrongCheck`] }), seeds: [3], shrink: false });
    const f = r.outcomes[0].failures.join('\n');
    expect(f).toContain('plan-throws#0: plan threw: plan: no such socket family');
    expect(f).toContain('wrong-check#1: expected 31, got 30');
    expect(r.outcomes[0].repro).toContain('--seed 3');
  });

  it('a program that never yields is stopped at its time budget, with the stack it was stuck in', async () => {
    const r = await stress({ settings: S({ workloads: [`${USER}:neverYields`], timeBudgetMs: 1000 }), seeds: [1], shrink: false });
    const f = r.outcomes[0].failures.join('\n');
    expect(f).toContain('ran past its time budget of 1000 ms inside one step');
    expect(f).toMatch(/spins .*user_workload\.ts:\d+/);
  }, 30_000);
});

describe('the command line', () => {
  it('runs, reports its settings, summary and schedules, and exits 0', async () => {
    const r = await cli(['stress', '--seeds', '3', '--ops', '20', '--workload', 'stream,dgram', '--jobs', '2']);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.err).toContain('stress: deterministic engine, 2 CPUs, bgl, workloads stream,dgram (20 ops each), seeds 1..3 on 2 jobs');
    expect(r.out).toMatch(/seeds: 3 run, 3 passed, 0 failed/);
    expect(r.out).toMatch(/distinct schedules: 3/);
  });

  it('refuses bad input with one line and status 2', async () => {
    const bad: [string[], RegExp][] = [
      [['--workload', 'nosuch'], /unknown workload 'nosuch'/],
      [['--faults', 'nosuch=0.1'], /unknown fault site 'nosuch'/],
      [['--faults', 'mbuf=2'], /rate of mbuf must be 0..1/],
      [['--inject-bug', 'nosuch'], /unknown bug 'nosuch'/],
      [['--seed', '-1'], /seed must be an integer/],
      [['--seeds', '0'], /seeds must be an integer 1/],
      [['--shard', '2/1'], /shard K\/N needs/],
      [['--shard', 'x'], /shard must be K\/N/],
      [['--time-budget', '0'], /seconds must be a number > 0/],
      [['--step-budget', '-5'], /step-budget must be an integer/],
      [['--engine', 'parallel', '--pct-depth', '2'], /--pct-depth needs the deterministic engine/],
      [['--out', 'x.jsonl'], /--out goes with --shard/],
    ];
    for (const [args, re] of bad) {
      const r = await cli(['stress', ...args], 30_000);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    }
  });

  it('--shard K/N runs disjoint slices; stress merge combines them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lwkt-shard-'));
    const files = [1, 2].map((k) => join(dir, `s${k}.jsonl`));
    for (const [i, f] of files.entries()) {
      const r = await cli(['stress', '--seeds', '4', '--ops', '15', '--workload', 'stream', '--jobs', '1', '--shard', `${i + 1}/2`, '--out', f]);
      expect(r.code, r.err).toBe(0);
    }
    const seedsOf = (f: string): number[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; seed?: number })
      .filter((x) => x.type === 'seed').map((x) => x.seed!);
    expect(seedsOf(files[0]).sort()).toEqual([1, 3]);
    expect(seedsOf(files[1]).sort()).toEqual([2, 4]);
    const m = await cli(['stress', 'merge', ...files]);
    expect(m.code, m.err).toBe(0);
    expect(m.out).toMatch(/merged 2 shards/);
    expect(m.out).toMatch(/seeds: 4 run, 4 passed, 0 failed/);
    const dup = await cli(['stress', 'merge', files[0], files[0]]);
    expect(dup.code).toBe(2);
    expect(dup.err).toMatch(/appears in two shards/);
  });

  it('a failing run exits 1 and prints a repro command that fails again the same way', async () => {
    const r = await cli(['stress', '--seeds', '2', '--ops', '10', '--workload', `${USER}:wrongCheck`, '--no-shrink']);
    expect(r.code).toBe(1);
    const repro = /repro: npx lwkt-sim (.*)/.exec(r.out)![1];
    expect(repro).toContain('--seed 1');
    const again = await cli(repro.split(' ').map((w) => w.replace(/^'|'$/g, '')));
    expect(again.code).toBe(1);
    expect(again.out).toContain('wrong-check#0: expected 11, got 10');
  });

  it('--pct-depth prints the probability bound from the measured threads and steps; --check-determinism finds none', async () => {
    const r = await cli(['stress', '--seeds', '2', '--ops', '15', '--workload', 'stream', '--pct-depth', '2', '--check-determinism', '--faults', 'none']);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.err).toContain('scheduler pct depth 2');
    expect(r.out).toMatch(/PCT depth 2: n = \d+ threads, k = [\d,]+ steps measured; a depth-2 bug is found with probability >= 1\/\(n k\^\(d-1\)\) = \d/);
  });

  it('--replay follows a schedule: a shrunk failure reruns from its printed command', async () => {
    const r = await cli(['stress', '--seeds', '30', '--ops', '40', '--inject-bug', 'wakeup-no-interlock', '--faults', 'none']);
    expect(r.code).toBe(1);
    const m = /shrunk in \d+ runs \((.*)\): the smallest run that still fails:\n[\s\S]*?repro: npx lwkt-sim (.*)/.exec(r.out);
    expect(m, r.out.slice(0, 3000)).not.toBeNull();
    expect(m![1]).toMatch(/schedule: \d+ preemptions -> \d+/);
    const args = m![2].match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'|'$/g, ''));
    expect(args).toContain('--replay');
    const again = await cli(args);
    expect(again.code).toBe(1);
    expect(again.out).toContain('machine: deadlock');
  });
});
