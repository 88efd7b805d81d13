/*
 * The machine: zones, determinism, panic and deadlock reports, shutdown, bad input,
 * migration.
 */
import { describe, it, expect } from 'vitest';
import { boot, PanicError, DeterministicMachine, ParallelMachine, firstDivergence } from '../src/index.js';
import { EOPNOTSUPP } from '../src/kernel.js';
import { ENGINES, PROGS, machine, down, downFailed, spawner, zoneUsed } from './helpers.js';

describe.each(ENGINES)('machine (%s engine)', (engine) => {
  it('an exhausted zone returns NULL, counts the failure, and recovers', async () => {
    const m = await machine({ cpus: 1, engine });
    const before = m.stats().zones.find((z) => z.name === 'kmalloc256')!;
    const [n, nullAgain, ok] = (await m.join(await spawner(m)(0, 'zone_exhaust'))) as number[];
    expect(n).toBe(before.free);
    expect(nullAgain).toBe(1);
    expect(ok).toBe(1);
    const after = m.stats().zones.find((z) => z.name === 'kmalloc256')!;
    expect(after.failures).toBe(before.failures + 2);
    expect(after.used).toBe(before.used);
    expect(after.hiwat).toBe(after.limit);
    await down(m);
  });

  it('a thread that throws panics the machine with a report of every thread', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const flag = m.kmalloc(1);
    const sleeper = await spawn(0, 'sleep_forever', m.kmalloc(1), flag);
    const t = await spawn(1, 'thrower', 'boom in thread', flag);
    const err = (await m.join(t).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err).toBeInstanceOf(PanicError);
    expect(err.kind).toBe('panic');
    expect(err.panicMessage).toContain('boom in thread');
    expect(err.cpu).toBe(1);
    expect(err.threadName).toBe('thrower');
    const s = err.threads.find((x) => x.id === sleeper)!;
    expect(s.state).toBe('sleep');
    expect(s.wmesg).toBe('forever');
    expect(err.message).toContain('WMESG');
    await expect(m.join(sleeper)).rejects.toBe(err);
    expect(await downFailed(m)).toBe(err);
  });

  it('a failed KASSERT panics with its message', async () => {
    const m = await machine({ cpus: 1, engine });
    const err = (await m.join(await spawner(m)(0, 'kassert_fails')).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err.kind).toBe('panic');
    expect(err.panicMessage).toContain('kassert_fails: arithmetic is broken');
    await downFailed(m);
  });

  it('a panic the thread catches still fails the machine: it is recorded where it is raised', async () => {
    const m = await machine({ cpus: 1, engine });
    const err = (await m.join(await spawner(m)(0, 'kassert_caught')).then((v) => v, (e: unknown) => e)) as PanicError;
    expect(err).toBeInstanceOf(PanicError);
    expect(err.kind).toBe('panic');
    expect(err.panicMessage).toBe('kassert_caught: a broken invariant, caught');
    await downFailed(m);
  });

  it('every thread asleep with no timer and no IPI is reported as a deadlock', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const a = await spawn(0, 'sleep_forever', m.kmalloc(1), 0);
    await spawn(1, 'sleep_forever', m.kmalloc(1), 0);
    const err = (await m.join(a).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err).toBeInstanceOf(PanicError);
    expect(err.kind).toBe('deadlock');
    expect(err.threads.filter((t) => t.wmesg === 'forever')).toHaveLength(2);
    await downFailed(m);
  });

  it('spawn rejects bad requests with clear errors and the machine carries on', async () => {
    const m = await machine({ cpus: 2, engine });
    await expect(m.spawn({ cpu: 5, module: PROGS, export: 'hello' })).rejects.toThrow(/cpu must be 0\.\.1/);
    await expect(m.spawn({ cpu: 0, module: PROGS, export: 'no_such_export' })).rejects.toThrow(/no function export/);
    await expect(m.spawn({ cpu: 0, module: PROGS, export: 'zone_exhaust', priority: 99 })).rejects.toThrow(/priority/);
    const t = await m.spawn({ cpu: 1, module: PROGS, export: 'timeout_sleeper', args: [m.kmalloc(1), 1] });
    expect(((await m.join(t)) as number[])[0]).toBeGreaterThan(0);
    await down(m);
  });

  it('join of a thread never spawned rejects; shutdown settles pending joins', async () => {
    const m = await machine({ cpus: 1, engine });
    await expect(m.join(12345)).rejects.toThrow(/no thread 12345/);
    const t = await spawner(m)(0, 'timeout_sleeper', m.kmalloc(1), 100_000);   // armed: no deadlock
    const pending = engine === 'parallel' ? m.join(t).then(() => 'resolved', (e: Error) => e.message) : null;
    await down(m);
    if (pending !== null) expect(await pending).toMatch(/shut down/);
  });

  it('shutdown hands kmem to the next boot of its size, zeroed; the old machine keeps its last figures', async () => {
    const m1 = await machine({ cpus: 1, engine });
    const spawn1 = spawner(m1);
    const sab = m1.kmem;
    const item = m1.kmalloc(4);
    m1.i32[item + 2] = 0x5a5a;                 // past the words zalloc clears itself
    // 'test_token' is interned by m1 under the id that m2 gives 'test_spin'.
    await m1.join(await spawn1(0, 'token_setup', m1.kmalloc(4)));
    const zones = m1.stats().zones;
    await down(m1);
    expect(() => m1.kmem).toThrow(/shut down/);
    expect(() => m1.kmalloc(1)).toThrow(/shut down/);
    expect(m1.stats().zones).toEqual(zones);

    const m2 = await machine({ cpus: 1, engine });
    const spawn2 = spawner(m2);
    expect(m2.kmem).toBe(sab);
    expect(m2.i32[item + 2]).toBe(0);
    await m2.join(await spawn2(0, 'spin_setup', m2.kmalloc(4)));
    await m2.join(await spawn2(0, 'token_setup', m2.kmalloc(4)));
    const names = m2.stats().locks.map((l) => l.name);
    expect(names).toContain('test_spin');
    expect(names).toContain('test_token');
    await down(m2);
  });

  it('lwkt_setcpu_self moves a thread only in the deterministic engine', async () => {
    const m = await machine({ cpus: 3, engine });
    const r = (await m.join(await spawner(m)(0, 'migrate_to', 2))) as number[];
    if (engine === 'deterministic') expect(r).toEqual([0, 0, 2, 2]);
    else expect(r).toEqual([0, EOPNOTSUPP, 0, 0]);
    await down(m);
  });
});

describe('parallel engine specifics', () => {
  it('shutdown leaves no worker, also after a panic', async () => {
    const m = (await machine({ cpus: 3, engine: 'parallel' })) as unknown as ParallelMachine;
    expect(m.aliveWorkers()).toBe(3);
    await down(m);
    expect(m.aliveWorkers()).toBe(0);
    const p = (await machine({ cpus: 2, engine: 'parallel' })) as unknown as ParallelMachine;
    const spin = await p.spawn({ cpu: 0, module: PROGS, export: 'spin_forever' });
    const t = await p.spawn({ cpu: 1, module: PROGS, export: 'thrower', args: ['stop everything', 0] });
    await expect(p.join(t)).rejects.toBeInstanceOf(PanicError);
    await expect(p.join(spin)).rejects.toBeInstanceOf(PanicError);
    expect(await downFailed(p)).toBeInstanceOf(PanicError);
    expect(p.aliveWorkers()).toBe(0);
  });

  it('a CPU stuck in one step is reported as a soft lockup, with its thread and its stack', async () => {
    const m = (await machine({ cpus: 2, engine: 'parallel', softLockupMs: 300 })) as unknown as ParallelMachine;
    const spawn = spawner(m);
    const sleeper = await spawn(0, 'sleep_forever', m.kmalloc(1), 0);
    const t = await spawn(1, 'stuck_in_one_step', 30_000);
    const err = (await m.join(t).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err).toBeInstanceOf(PanicError);
    expect(err.kind).toBe('lockup');
    expect(err.cpu).toBe(1);
    expect(err.thread).toBe(t);
    expect(err.threadName).toBe('stuck_in_one_step');
    expect(err.panicMessage).toMatch(/^cpu1 has run one step for \d+\.\d s without a thread switch/);
    expect(err.panicMessage).toContain('softLockupMs is 300');
    expect(err.kernelStack).toMatch(/^ {4}at stuck_in_one_step \(.*lwkt_tests\.[jt]s:\d+:\d+\)$/m);
    expect(err.message).toMatch(/^soft lockup: cpu1 /);
    expect(err.message).toContain('stack of the stuck CPU:');
    await expect(m.join(sleeper)).rejects.toBe(err);
    expect(await downFailed(m)).toBe(err);
    expect(m.aliveWorkers()).toBe(0);
  });

  it('a long computation that yields is no lockup, and softLockupMs 0 turns the watchdog off', async () => {
    // Twice the limit of computing; each step is 1 ms, far below it, even on a loaded host.
    const m = await machine({ cpus: 1, engine: 'parallel', softLockupMs: 500 });
    expect(await m.join(await spawner(m)(0, 'compute_yielding', 1000))).toBeGreaterThan(100);
    await down(m);
    // 0 is "never", not a limit of 0 ms: a step of 0.5 s finishes.
    const off = await machine({ cpus: 1, engine: 'parallel', softLockupMs: 0 });
    expect(await off.join(await spawner(off)(0, 'stuck_in_one_step', 500))).toBe(1);
    await down(off);
  });

  it('stats report per-CPU figures and the lock table', async () => {
    const m = await machine({ cpus: 2, engine: 'parallel' });
    const spawn = spawner(m);
    const rdv = m.kmalloc(1);
    const s = await spawn(1, 'order_server', rdv, 1);
    await m.join(await spawn(0, 'order_client', rdv, 0, 100, 0));
    await m.join(s);
    const st = m.stats();
    expect(st.engine).toBe('parallel');
    expect(st.cpus).toHaveLength(2);
    expect(st.cpus[0].msgsSent).toBeGreaterThanOrEqual(101);
    expect(st.cpus[1].msgsReceived).toBeGreaterThanOrEqual(101);
    expect(st.locks.map((l) => l.name)).toContain('bgl');
    expect(zoneUsed(m, 'thread')).toBe(3);   // the idle threads and the unp_gc daemon
    await down(m);
  });
});

describe('deterministic engine specifics', () => {
  async function run(seed: number): Promise<{ hash: string; events: number[]; results: unknown[] }> {
    const m = (await machine({ cpus: 3, engine: 'deterministic', seed, traceLog: true })) as unknown as DeterministicMachine & { kmalloc(n: number): number };
    const spawn = spawner(m);
    const rdv = m.kmalloc(1), lock = m.kmalloc(2), counter = m.kmalloc(1), gen = m.kmalloc(1), chan = m.kmalloc(1);
    await m.join(await spawn(0, 'spin_setup', lock));
    const ids = [
      await spawn(0, 'order_server', rdv, 2),
      await spawn(1, 'order_client', rdv, 0, 50, 4),
      await spawn(2, 'order_client', rdv, 1, 50, 0),
      await spawn(1, 'spin_counter_window', lock, counter, 200),
      await spawn(2, 'spin_counter_window', lock, counter, 200),
      await spawn(0, 'storm_sleeper', gen, chan, 40),
      await spawn(2, 'storm_waker', gen, chan, 40, 0),
    ];
    const results: unknown[] = [];
    for (const id of ids) results.push(await m.join(id));
    const out = { hash: m.traceHash(), events: m.traceEvents().slice(), results };
    await down(m);
    return out;
  }

  it('the same seed gives the same run, event for event; another seed another run', async () => {
    const a = await run(1234);
    const b = await run(1234);
    const c = await run(4321);
    expect(b.hash).toBe(a.hash);
    expect(firstDivergence(a.events, b.events)).toBeNull();
    expect(b.results).toEqual(a.results);
    expect(c.hash).not.toBe(a.hash);
    expect(firstDivergence(a.events, c.events)).not.toBeNull();
    expect(c.results.slice(1, 5)).toEqual(a.results.slice(1, 5));   // same outcomes, other interleaving
  });

  it('service threads (netisr) are not live threads: run() ends, and a lone sleeper is still a deadlock', async () => {
    const m = (await machine({ cpus: 2, engine: 'deterministic', dispatch: 'netisr' })) as unknown as DeterministicMachine & { kmalloc(n: number): number };
    await m.join(await spawner(m)(0, 'zone_exhaust'));
    await m.run();
    expect(m.stats().liveThreads).toBe(0);
    expect(m.threads().filter((t) => t.name.startsWith('netisr_cpu'))).toHaveLength(2);
    const s = await spawner(m)(1, 'sleep_forever', m.kmalloc(1), 0);
    const err = (await m.join(s).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err.kind).toBe('deadlock');
    await downFailed(m);
  });

  it('virtual time jumps to the next timer when every CPU is idle', async () => {
    const m = (await machine({ cpus: 2, engine: 'deterministic' })) as unknown as DeterministicMachine & { kmalloc(n: number): number };
    const [, ns] = (await m.join(await spawner(m)(1, 'timeout_sleeper', m.kmalloc(1), 50))) as number[];
    expect(ns).toBeGreaterThanOrEqual(500_000_000);
    expect(m.stepCount).toBeLessThan(100);   // no stepping through half a second of idleness
    await down(m);
  });
});

describe('boot validation', () => {
  it.each([
    [{ cpus: 0 }, /cpus/],
    [{ cpus: 33 }, /cpus/],
    [{ cpus: 1.5 }, /cpus/],
    [{ engine: 'quantum' as never }, /engine/],
    [{ ipi: 'pigeon' as never }, /ipi/],
    [{ memory: 1024 }, /memory/],
    [{ ipiqSlots: 12 }, /ipiqSlots/],
    [{ seed: 0.5 }, /seed/],
    [{ dispatch: 'smp' as never }, /dispatch/],
    [{ softLockupMs: -1 }, /softLockupMs/],
    [{ softLockupMs: Infinity }, /softLockupMs/],
    [{ softLockupMs: '5' as never }, /softLockupMs/],
  ])('rejects %o', async (opts, re) => {
    await expect(boot({ engine: 'deterministic', ...opts })).rejects.toThrow(re);
  });
});

