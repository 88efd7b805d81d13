/*
 * tsleep/wakeup: storms with no lost wakeup (a lost one deadlocks, which the machine
 * reports), strict alternation, wakeup_one, timeouts, PCATCH with EINTR and ERESTART,
 * and callouts.
 */
import { describe, it, expect } from 'vitest';
import { EINTR, ERESTART, EWOULDBLOCK } from '../src/kernel.js';
import { ENGINES, machine, down, spawner } from './helpers.js';

describe.each(ENGINES)('sleep and wakeup (%s engine)', (engine) => {
  describe.each(['sab', 'messageport'] as const)('ipi %s', (ipi) => {
    it('wakeup storm across CPUs loses no wakeup', async () => {
      const cpus = 4;
      const m = await machine({ cpus, engine, ipi, seed: 99 });
      const spawn = spawner(m);
      const gen = m.kmalloc(1), chan = m.kmalloc(1), pace = m.kmalloc(1);
      const gens = 300;
      const ids: number[] = [];
      for (let c = 0; c < cpus; c++) for (let k = 0; k < 3; k++) ids.push(await spawn(c, 'storm_sleeper', gen, chan, gens));
      const w = await spawn(1, 'storm_waker', gen, chan, gens, pace);
      expect(await m.join(w)).toBe(gens);
      for (const id of ids) expect(await m.join(id)).toBeGreaterThanOrEqual(0);
      expect(m.stats().liveThreads).toBe(0);
      await down(m);
    });

    it('two threads on different CPUs alternate strictly', async () => {
      const m = await machine({ cpus: 2, engine, ipi, seed: 2 });
      const spawn = spawner(m);
      const turn = m.kmalloc(1);
      const rounds = 1000;
      const a = await spawn(0, 'turn_player', turn, 0, rounds);
      const b = await spawn(1, 'turn_player', turn, 1, rounds);
      expect(await m.join(a)).toBe(rounds);
      expect(await m.join(b)).toBe(rounds);
      expect(m.i32[turn]).toBe(0);
      await down(m);
    });
  });

  it('wakeup_one wakes exactly one sleeper of this CPU', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const chan = m.kmalloc(1), w = m.kmalloc(3);
    const ids: number[] = [];
    for (let k = 0; k < 4; k++) ids.push(await spawn(0, 'one_sleeper', chan, w));
    const waker = await spawn(0, 'one_waker', chan, w, 4);
    expect(await m.join(waker)).toBe(1);
    for (const id of ids) expect(await m.join(id)).toBe(0);
    await down(m);
  });

  it('wakeup_one with no local sleeper wakes at most one per CPU (DragonFly SMP)', async () => {
    const m = await machine({ cpus: 3, engine, seed: 6 });
    const spawn = spawner(m);
    const chan = m.kmalloc(1), w = m.kmalloc(3);
    const ids: number[] = [];
    for (let k = 0; k < 3; k++) { ids.push(await spawn(1, 'one_sleeper', chan, w)); ids.push(await spawn(2, 'one_sleeper', chan, w)); }
    const woken = (await m.join(await spawn(0, 'one_waker', chan, w, 6))) as number;
    expect(woken).toBeGreaterThanOrEqual(1);
    expect(woken).toBeLessThanOrEqual(2);
    for (const id of ids) expect(await m.join(id)).toBe(0);
    await down(m);
  });

  it('a timeout gives EWOULDBLOCK after at least the ticks asked for', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const [e, ns] = (await m.join(await spawn(1, 'timeout_sleeper', m.kmalloc(1), 3))) as number[];
    expect(e).toBe(EWOULDBLOCK);
    expect(ns).toBeGreaterThanOrEqual(3 * 10_000_000 * 0.99);   // hz = 100: 3 ticks = 30 ms of engine time
    await down(m);
  });

  it.each([[1, EINTR], [0, ERESTART]])('PCATCH: a signal ends the sleep (sigintr %i)', async (eintr, expected) => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const w = m.kmalloc(3);
    const t = await spawn(0, 'signal_sleeper', w, eintr);
    const s = await spawn(1, 'signal_sender', w);
    expect(await m.join(t)).toEqual([expected, expected, EWOULDBLOCK]);
    await m.join(s);
    await down(m);
  });

  it('callouts fire once, in order, and callout_stop disarms', async () => {
    const m = await machine({ cpus: 1, engine });
    const spawn = spawner(m);
    const c1 = m.kmalloc(8), c2 = m.kmalloc(8), w = m.kmalloc(3);
    expect(await m.join(await spawn(0, 'callouts', c1, c2, w))).toEqual([1, 0, 1, 0]);
    expect(m.stats().cpus[0].callouts).toBeGreaterThanOrEqual(1);
    await down(m);
  });
});
