/*
 * The scheduler: strict priority, round robin within a priority, no involuntary switch
 * inside a critical section, interrupt-priority preemption at an interrupt window,
 * forwarding, IPIs to self, and (parallel engine) control calls served while CPUs are
 * busy, idle CPUs asleep rather than spinning, a dead worker reported.
 */
import { describe, it, expect } from 'vitest';
import { PanicError, type ParallelMachine } from '../src/index.js';
import { TDPRI_INT_MED, TDPRI_KERN_DAEMON, TDPRI_SOFT_NORM } from '../src/kernel.js';
import { ENGINES, PROGS, machine, down, downFailed, spawner } from './helpers.js';

function logOf(i32: Int32Array, log: number): number[] {
  return Array.from(i32.subarray(log + 1, log + 1 + i32[log]));
}

describe.each(ENGINES)('scheduler (%s engine)', (engine) => {
  it('round robin within a priority, strict priority between them', async () => {
    const m = await machine({ cpus: 1, engine });
    const log = m.kmalloc(64);
    const spawn = (tag: number, pri: number): Promise<number> =>
      m.spawn({ cpu: 0, module: PROGS, export: 'log_yield', args: [log, tag, 4], priority: pri });
    // Spawned together (the deterministic engine runs nothing until we join; the
    // parallel CPU may start the first before the others arrive, so check the shape).
    const ids = [await spawn(1, TDPRI_KERN_DAEMON), await spawn(2, TDPRI_KERN_DAEMON), await spawn(9, TDPRI_SOFT_NORM)];
    for (const id of ids) await m.join(id);
    const l = logOf(m.i32, log);
    expect(l).toHaveLength(12);
    if (engine === 'deterministic') {
      expect(l).toEqual([9, 9, 9, 9, 1, 2, 1, 2, 1, 2, 1, 2]);
    } else {
      // The CPU may run the first thread before the others arrive; but once the
      // high-priority thread is runnable it runs to completion.
      const first9 = l.indexOf(9);
      expect(l.slice(first9, first9 + 4)).toEqual([9, 9, 9, 9]);
      expect(l.filter((t) => t === 1)).toHaveLength(4);
      expect(l.filter((t) => t === 2)).toHaveLength(4);
    }
    await down(m);
  });

  it('a critical section holds off preemption; an interrupt thread preempts at the next window', async () => {
    const m = await machine({ cpus: 1, engine });
    const log = m.kmalloc(2), w = m.kmalloc(1);
    const hi = await m.spawn({ cpu: 0, module: PROGS, export: 'preempt_intr', args: [log, w], priority: TDPRI_INT_MED });
    const v = await m.spawn({ cpu: 0, module: PROGS, export: 'preempt_victim', args: [log, w] });
    expect(await m.join(v)).toEqual([0, 1]);
    expect(await m.join(hi)).toBe(1);
    await down(m);
  });

  it('lwkt_forwardmsg passes a message on; the final target replies to the sender', async () => {
    const m = await machine({ cpus: 3, engine });
    const spawn = spawner(m);
    const rdv = m.kmalloc(1), fwd = m.kmalloc(1);
    const n = 20;
    const s = await spawn(2, 'order_server', fwd, 1);
    const f = await spawn(1, 'forwarder', rdv, fwd, n + 1);   // n requests and the stop
    const c = await spawn(0, 'order_client', rdv, 0, n, 0);
    expect(await m.join(c)).toBe(n);
    expect(await m.join(f)).toBe(n + 1);
    expect(await m.join(s)).toEqual([n, 0]);
    await down(m);
  });

  it('an IPI to our own CPU runs inline', async () => {
    const m = await machine({ cpus: 2, engine });
    expect(await m.join(await spawner(m)(1, 'ipi_self', m.kmalloc(1)))).toBe(1);
    expect(m.stats().cpus[1].ipisSent).toBe(0);
    await down(m);
  });
});

describe('parallel engine CPU loop', () => {
  it('control calls are served while every CPU is busy', async () => {
    const m = await machine({ cpus: 2, engine: 'parallel' });
    const spawn = spawner(m);
    for (const cpu of [0, 1, 1]) await spawn(cpu, 'spin_forever');
    // The spawn below is a control call to a CPU that never idles; it must still be served.
    const t = await spawn(1, 'ipi_self', m.kmalloc(1));
    expect(await m.join(t)).toBe(1);
    expect(m.stats().cpus[1].threads).toBe(2);   // the two spinners are still there
    await down(m);
  });

  it('idle CPUs sleep instead of spinning', async () => {
    const m = await machine({ cpus: 2, engine: 'parallel' });
    const spawn = spawner(m);
    await m.join(await spawn(0, 'timeout_sleeper', m.kmalloc(1), 1));
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const [, ns] = (await m.join(await spawn(0, 'timeout_sleeper', m.kmalloc(1), 40))) as number[];
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(u0);
    expect(ns).toBeGreaterThanOrEqual(400_000_000 * 0.99);
    // Two CPUs spinning would burn about 2 x wall; sleeping ones a small fraction of one.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(wall * 0.5);
    const idle = m.stats().cpus.map((c) => c.idleNs);
    expect(Math.min(...idle)).toBeGreaterThan(0);
    await down(m);
  });

  it('a worker that dies is reported, never waited for', async () => {
    const m = (await machine({ cpus: 2, engine: 'parallel' })) as unknown as ParallelMachine & { kmalloc(n: number): number };
    const other = await m.spawn({ cpu: 0, module: PROGS, export: 'sleep_forever', args: [m.kmalloc(1), 0] });
    const t = await m.spawn({ cpu: 1, module: PROGS, export: 'exit_worker' });
    const err = (await m.join(t).then(() => null, (e: unknown) => e)) as PanicError;
    expect(err).toBeInstanceOf(PanicError);
    expect(err.kind).toBe('worker');
    expect(err.panicMessage).toMatch(/cpu1: worker died/);
    await expect(m.join(other)).rejects.toBe(err);
    await downFailed(m);
    expect(m.aliveWorkers()).toBe(0);
  });
});
