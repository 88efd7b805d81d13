/*
 * IPIs: a critical section defers them until crit_exit; rings full in both directions at
 * once do not deadlock; more simulated CPUs than host cores work.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, machine, down, spawner } from './helpers.js';

describe.each(ENGINES)('IPIs (%s engine)', (engine) => {
  it('a critical section defers an incoming IPI until crit_exit, which runs it', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const w = m.kmalloc(3);
    const h = await spawn(0, 'crit_holder', w);
    const s = await spawn(1, 'crit_ipi_sender', w);
    await m.join(s);
    expect(await m.join(h)).toEqual([0, 1]);
    await down(m);
  });

  describe.each(['sab', 'messageport'] as const)('ipi %s', (ipi) => {
    it('full IPI rings in both directions at once do not deadlock; every IPI runs once', async () => {
      const m = await machine({ cpus: 3, engine, ipi, ipiqSlots: 8, seed: 13 });
      const spawn = spawner(m);
      const ready = m.kmalloc(1), c0 = m.kmalloc(1), c1 = m.kmalloc(1), c2 = m.kmalloc(1);
      const n = 2000;
      const a = await spawn(0, 'ipi_flood', 1, c1, n, ready, 3);
      const b = await spawn(1, 'ipi_flood', 0, c0, n, ready, 3);
      const c = await spawn(2, 'ipi_flood', 0, c2, n, ready, 3);
      for (const id of [a, b, c]) expect(await m.join(id)).toBe(n);
      expect(await m.join(await spawn(0, 'await_count', c0, n))).toBe(n);
      expect(await m.join(await spawn(1, 'await_count', c1, n))).toBe(n);
      expect(await m.join(await spawn(0, 'await_count', c2, n))).toBe(n);
      await down(m);
    });
  });

  it('8 CPUs (more than host cores): ping-pong on every CPU pair', async () => {
    const cpus = 8;
    const m = await machine({ cpus, engine, seed: 77 });
    const spawn = spawner(m);
    const n = 60;
    const servers: number[] = [];
    const clients: number[] = [];
    for (let b = 0; b < cpus; b++) {
      const rdv = m.kmalloc(1);
      servers.push(await spawn(b, 'order_server', rdv, cpus - 1));
      for (let a = 0; a < cpus; a++) if (a !== b) clients.push(await spawn(a, 'order_client', rdv, a, n, 0));
    }
    for (const c of clients) expect(await m.join(c)).toBe(n);
    for (const s of servers) expect(await m.join(s)).toEqual([(cpus - 1) * n, 0]);
    await down(m);
  });
});

describe('the largest machine', () => {
  it('32 CPUs: IPIs from and to the last CPU arrive (deterministic engine)', async () => {
    const m = await machine({ cpus: 32, engine: 'deterministic', seed: 31 });
    const spawn = spawner(m);
    for (const [a, b] of [[31, 0], [0, 31], [31, 30]]) {
      const rdv = m.kmalloc(1);
      const s = await spawn(b, 'order_server', rdv, 1);
      const c = await spawn(a, 'order_client', rdv, 0, 50, 0);
      expect(await m.join(c)).toBe(50);
      expect(await m.join(s)).toEqual([50, 0]);
    }
    await down(m);
  });
});
