/*
 * The stress workloads (src/stress/workloads/) and their runner (src/stress/run_workloads.ts):
 * every workload with a small operation budget in both engines and both dispatch models,
 * all of them side by side on one machine, and the runner's own failure paths: a check
 * that sees corrupted data, a process that never ends, a plan that cannot be spawned.
 * Every run must end with no failure and every kernel zone back where it was.
 */
import { describe, it, expect } from 'vitest';
import { machine, down, downFailed, within } from './helpers.js';
import { runWorkloads } from '../src/stress/run_workloads.js';
import { WORKLOADS, stream } from '../src/stress/workloads/index.js';
import { progsUrl } from '../src/stress/workloads/plan.js';
import { Rng, seedOf } from '../src/stress/rng.js';
import type { ProcessOutcome, Workload, WorkloadContext } from '../src/stress/workload.js';

const ENGINES = ['deterministic', 'parallel'] as const;
const MODELS = ['bgl', 'netisr'] as const;
const NAMES = Object.keys(WORKLOADS);
const OPS = 150;
const SEED = 7;

async function run(engine: (typeof ENGINES)[number], model: (typeof MODELS)[number], which: (string | Workload)[], seed = SEED, ops = OPS) {
  const m = await machine({ engine, cpus: 2, dispatch: model, seed });
  const r = await runWorkloads(m, which, { seed, ops, model, timeoutMs: 40_000, quiesceMs: 15_000 });
  return { m, r };
}

describe.each(ENGINES)('stress workloads (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each(NAMES)('%s: no failure, every zone back', async (name) => {
      const { m, r } = await run(engine, model, [name]);
      expect(r.failures).toEqual([]);
      // Only kernel daemons started on demand (an aiod per CPU) may stay.
      expect(r.zones.filter((z) => z.name !== 'thread')).toEqual([]);
      expect(r.daemons.every((d) => d.startsWith('aiod'))).toBe(true);
      const rep = r.reports[0];
      expect(rep.name).toBe(name);
      expect(rep.outcomes.every((o) => o.ok)).toBe(true);
      expect(rep.report.checks).toBeGreaterThan(0);
      expect(rep.report.ops).toBeGreaterThan(0);
      expect(r.sysctls.after).toEqual(r.sysctls.before);
      await down(m);
    });
  });

  it('every workload side by side on one machine', async () => {
    const { m, r } = await run(engine, engine === 'parallel' ? 'netisr' : 'bgl', NAMES, 11, 80);
    expect(r.failures).toEqual([]);
    expect(r.reports.map((x) => x.name)).toEqual(NAMES);
    expect(r.reports.map((x) => x.index)).toEqual(NAMES.map((_, i) => i));
    await down(m);
  });

  it('a check that sees corrupted data is reported as a failure', async () => {
    // stream's own check, fed outcomes in which one reader's checksum and count are off.
    const corrupt = (outcomes: ProcessOutcome[]): ProcessOutcome[] => {
      let done = false;
      return outcomes.map((o) => {
        if (done || !o.ok) return o;
        const v = structuredClone(o.value) as { recs: { role: string; h: number; bytes: number }[] };
        const rd = v.recs.find((x) => x.role === 'r');
        if (rd === undefined) return o;
        rd.h = (rd.h ^ 1) >>> 0;
        rd.bytes += 1;
        done = true;
        return { ok: true, value: v };
      });
    };
    const broken: Workload = { ...stream, name: 'stream-corrupted', check: (o, ctx) => stream.check(corrupt(o), ctx) };
    const { m, r } = await run(engine, 'bgl', [broken, 'dgram']);
    expect(r.failures.length).toBeGreaterThanOrEqual(2);
    expect(r.failures.every((f) => f.startsWith('stream-corrupted#0: '))).toBe(true);
    expect(r.failures.some((f) => /checksum received/.test(f))).toBe(true);
    expect(r.failures.some((f) => /bytes received vs sent/.test(f))).toBe(true);
    expect(r.reports[1].report.failures).toEqual([]);       // the other workload passed
    expect(r.zones.filter((z) => z.name !== 'thread')).toEqual([]);
    await down(m);
  });

  it('a check that throws, and a plan whose program cannot be spawned, are failures', async () => {
    const throws: Workload = { ...stream, name: 'stream-throws', check: () => { throw new Error('boom in check'); } };
    const unspawnable: Workload = {
      name: 'unspawnable', description: 'a program that is not there',
      plan: () => [{ cpu: 0, module: progsUrl(new URL('../src/stress/workloads/stream.ts', import.meta.url).href, 'stream_progs'),
        export: 'noSuchProgram', args: [] }],
      check: (outcomes) => ({ failures: outcomes.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.error)), ops: 0, bytes: 0, checks: 1 }),
    };
    const { m, r } = await run(engine, 'netisr', [throws, unspawnable]);
    expect(r.failures.some((f) => f.startsWith('stream-throws#0: check threw: Error: boom in check'))).toBe(true);
    expect(r.failures.some((f) => f.startsWith('unspawnable#1: ') && /noSuchProgram/.test(f))).toBe(true);
    expect(r.reports[1].outcomes[0].ok).toBe(false);
    await down(m);
  });

  it('a process that never ends is a failure, not a hang', async () => {
    // A stream server whose client was never planned: it waits in accept for good.
    const lonely: Workload = {
      name: 'lonely', description: 'a server nobody connects to',
      plan: (ctx) => [{ cpu: 1, module: progsUrl(new URL('../src/stress/workloads/stream.ts', import.meta.url).href, 'stream_progs'),
        export: 'streamServer', args: [`/lonely.${ctx.seed}`, 0, { id: 0, seed: 1, writes: 1, maxWrite: 16, maxRead: 16, close: true }, null], uid: 1000 }],
      check: (outcomes) => ({ failures: outcomes.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.error.split('\n')[0])), ops: 0, bytes: 0, checks: 1 }),
    };
    const m = await machine({ engine, cpus: 2, dispatch: 'bgl', seed: SEED });
    // The runner's own deadlines (1.5 s for the joins, 1 s to quiesce) end it; the bound is for a runner that would not.
    const r = await within(20_000, 'runWorkloads', runWorkloads(m, [lonely], { seed: SEED, ops: OPS, model: 'bgl', timeoutMs: 1500, quiesceMs: 1000 }));
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]).toMatch(/^lonely#0: /);
    // The engines report the deadlock (every thread asleep while a join waits), or the
    // runner its deadline, whichever comes first: the process did not end either way.
    expect(r.reports[0].outcomes[0].ok).toBe(false);
    await downFailed(m);
  });
});

describe('plans are functions of their context', () => {
  const ctx = (seed: number, index = 0): WorkloadContext => ({ seed, ops: 40, cpus: 2, engine: 'deterministic', model: 'bgl', index });

  it.each(NAMES)('%s: the same context plans the same processes; another seed plans others', (name) => {
    const w = WORKLOADS[name];
    const a = w.plan(ctx(3)), b = w.plan(ctx(3)), c = w.plan(ctx(4));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    for (const p of a) {
      expect(p.cpu).toBeGreaterThanOrEqual(0);
      expect(p.cpu).toBeLessThan(2);
      expect(structuredClone(p.args)).toEqual(p.args);
    }
    // Another position in the run: other paths, other seeds.
    expect(w.plan(ctx(3, 1))).not.toEqual(a);
  });

  it('the generator is seeded and stable', () => {
    const r1 = new Rng(seedOf(1, 2, 'x')), r2 = new Rng(seedOf(1, 2, 'x'));
    const s1 = Array.from({ length: 8 }, () => r1.next());
    expect(Array.from({ length: 8 }, () => r2.next())).toEqual(s1);
    expect(new Rng(0).next()).toBe(new Rng(0).next());
    expect(seedOf(1, 2, 'x')).not.toBe(seedOf(1, 2, 'y'));
    const r = new Rng(9);
    for (let i = 0; i < 1000; i++) {
      const v = r.range(3, 7);
      expect(v >= 3 && v <= 7 && Number.isInteger(v)).toBe(true);
    }
  });
});
