/*
 * The deterministic engine explores interleavings: scheduling points let other CPUs run
 * between any two of a thread's points, so seeds give different schedules; PCT and the
 * bounded exhaustive search are schedulers over the same points; nothing hangs (the quantum
 * at system-call return, step and wall-clock budgets); virtual time grows with the work.
 */
import { describe, it, expect } from 'vitest';
import { boot, explore, PanicError, type DeterministicMachine, type Machine } from '../src/index.js';
import { machine, down, downFailed, ENGINES } from './helpers.js';
import { serverClient, twoSenders, twoSendersBFirst } from './progs/explore_scenarios.js';

const P = new URL('./progs/explore_progs.ts', import.meta.url).href;
const MODELS3 = ['bgl', 'netisr', 'mpsafe'] as const;

async function det(seed: number, opts: Record<string, unknown> = {}): Promise<DeterministicMachine> {
  return (await machine({ engine: 'deterministic', seed, cpus: 2, ...opts })) as unknown as DeterministicMachine;
}

describe('scheduling points: seeds give different schedules', () => {
  for (const model of MODELS3) {
    it(`100 seeds of the README's server/client give at least 90 distinct schedules (${model})`, async () => {
      const hashes = new Set<string>();
      for (let seed = 1; seed <= 100; seed++) {
        const m = await det(seed, { dispatch: model });
        expect(await serverClient(m)).toBe(100_000);
        hashes.add(m.traceHash());
        await down(m);
      }
      expect(hashes.size).toBeGreaterThanOrEqual(90);
    });
  }

  for (const cpus of [2, 4]) {
    it(`two senders on two CPUs: both orders within 20 seeds (${cpus} CPUs)`, async () => {
      const seen = new Set<string>();
      for (let seed = 1; seed <= 20; seed++) {
        const m = await det(seed, { cpus });
        seen.add(await twoSenders(m));
        await down(m);
      }
      expect([...seen].sort()).toEqual(['A', 'B']);
    });
  }

  it('with points at blocking only (the old engine) the race shows one order and few schedules', async () => {
    const seen = new Set<string>();
    const hashes = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const m = await det(seed, { points: 'blocking' });
      seen.add(await twoSenders(m));
      hashes.add(m.traceHash());
      await down(m);
    }
    expect([...seen]).toEqual(['B']);
    expect(hashes.size).toBeLessThan(5);
  });

  it('the same seed replays event for event; traceEvents are decoded', async () => {
    const run = async (): Promise<{ hash: string; events: ReturnType<DeterministicMachine['traceEvents']> }> => {
      const m = await det(7, { traceLog: true });
      await twoSenders(m);
      const out = { hash: m.traceHash(), events: m.traceEvents() };
      await down(m);
      return out;
    };
    const a = await run(), b = await run();
    expect(a.hash).toBe(b.hash);
    expect(a.events).toEqual(b.events);
    const calls = a.events.filter((e) => e.what === 'syscall').map((e) => e.detail);
    expect(calls).toContain('socketpair');
    expect(calls.filter((c) => c === 'send')).toHaveLength(2);
    const ret = a.events.find((e) => e.what === 'sysret');
    expect(ret?.detail).toBe('ok');
    expect(a.events.every((e) => e.thread !== '' && Number.isInteger(e.step) && e.cpu >= 0)).toBe(true);
  });
});

describe('nothing hangs', () => {
  for (const engine of ENGINES) {
    it(`a receiver busy-polling with MSG_DONTWAIT until another CPU's sender delivers finishes (${engine})`, async () => {
      const m = await machine({ engine, cpus: 2, seed: 3 });
      const t = await m.spawnProcess({ cpu: 0, module: P, export: 'busy_poll', args: [1] });
      expect(await m.join(t)).toBe('ok');
      await down(m);
    });

    it(`a busy-polling receiver shares its CPU with the sender: the quantum at system-call return (${engine})`, async () => {
      const m = await machine({ engine, cpus: 1, seed: 3 });
      const t = await m.spawnProcess({ cpu: 0, module: P, export: 'busy_poll_same_cpu', args: [] });
      expect(await m.join(t)).toBe('ok');
      await down(m);
    });
  }

  it('a loop of system calls ends at the step budget with a report', async () => {
    const m = await det(1, { stepBudget: 20_000 });
    const t = await m.spawnProcess({ cpu: 0, module: P, export: 'spin_forever', args: [] });
    const err = await m.join(t).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PanicError);
    const p = err as PanicError;
    expect(p.kind).toBe('budget');
    expect(p.message).toContain('step budget of 20000 steps reached');
    expect(p.message).toContain('spin_forever');
    await downFailed(m);
  });

  it('... and at the wall-clock budget', async () => {
    const m = await det(1, { timeBudgetMs: 200, stepBudget: 0 });
    const t = await m.spawnProcess({ cpu: 0, module: P, export: 'spin_forever', args: [] });
    const err = (await m.join(t).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err.kind).toBe('budget');
    expect(err.message).toContain('time budget of 200 ms reached');
    await downFailed(m);
  });

  it('budgets and schedulers are checked at boot', async () => {
    for (const bad of [{ stepBudget: -1 }, { timeBudgetMs: 1.5 }, { scheduler: 'fifo' }, { points: 'some' },
      { pctDepth: 0 }, { choices: [-1] }, { stepBudget: 5, stepLimit: 5 }]) {
      await expect(boot({ engine: 'deterministic', ...bad } as never)).rejects.toThrow(/boot: /);
    }
  });
});

describe('virtual time grows with the work done', () => {
  it('a stream of twice the bytes takes about twice the virtual time, in every seed', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const vt: number[] = [];
      for (const n of [256 << 10, 512 << 10]) {
        const m = await det(seed);
        const t = await m.spawnProcess({ cpu: 0, module: P, export: 'stream_pair', args: [n] });
        expect(await m.join(t)).toBe(n);
        vt.push(m.virtualTimeNs);
        await down(m);
      }
      expect(vt[0]).toBeGreaterThan(100_000);        // 256 KiB: not the tens of µs of a run that counted only blocking steps
      expect(vt[1] / vt[0]).toBeGreaterThan(1.6);
      expect(vt[1] / vt[0]).toBeLessThan(2.4);
    }
  });
});

describe('schedulers', () => {
  it('PCT runs the scenario and reports its probability bound from the measured threads and steps', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const m = await det(seed, { scheduler: 'pct', pctDepth: 2, pctSteps: 40 });
      seen.add(await twoSenders(m));
      const r = m.pctReport()!;
      expect(r.depth).toBe(2);
      expect(r.threads).toBeGreaterThanOrEqual(2);
      expect(r.steps).toBeGreaterThan(10);
      expect(r.bound).toBeCloseTo(1 / (r.threads * r.steps), 12);
      await down(m);
    }
    expect(seen.size).toBe(2);
  });

  it('the bounded exhaustive search covers a tiny scenario, and finds the order a scenario forbids', async () => {
    const all = await explore({ scenario: twoSenders as (m: Machine) => Promise<unknown>, boot: { cpus: 2, memory: 32 << 20 },
      preemptions: 1, maxSchedules: 2000 });
    expect(all.failures).toEqual([]);
    expect(all.complete).toBe(true);
    expect(all.schedules).toBeGreaterThanOrEqual(3);
    expect(all.distinct).toBe(all.schedules);      // no schedule run twice

    const hunt = await explore({ scenario: twoSendersBFirst as (m: Machine) => Promise<unknown>,
      boot: { cpus: 2, memory: 32 << 20 }, preemptions: 2 });
    expect(hunt.failures).toHaveLength(1);
    expect(hunt.failures[0].error).toContain('A arrived first');
    // The choices replay the failure.
    const m = await det(1, { scheduler: 'replay', choices: hunt.failures[0].choices });
    expect(await twoSenders(m)).toBe('A');
    await down(m);
  });

  it('a bound of 0 runs exactly one schedule', async () => {
    const r = await explore({ scenario: twoSenders as (m: Machine) => Promise<unknown>, boot: { cpus: 2, memory: 32 << 20 },
      preemptions: 0 });
    expect(r).toMatchObject({ schedules: 1, complete: true, failures: [] });
  });
});
