/*
 * LWKT messages: cross-CPU ping-pong on every CPU pair with exact counts, per-sender
 * order with many senders, the abort protocol, and every port kind.  Both engines; the
 * cross-CPU cases with both IPI carriers.
 */
import { describe, it, expect } from 'vitest';
import { EINTR } from '../src/kernel.js';
import { ENGINES, machine, down, spawner, zoneUsed } from './helpers.js';

describe.each(ENGINES)('messages (%s engine)', (engine) => {
  describe.each(['sab', 'messageport'] as const)('ipi %s', (ipi) => {
    it('domsg ping-pong on every ordered CPU pair: exact counts, zones back to start', async () => {
      const cpus = 3;
      const m = await machine({ cpus, engine, ipi, seed: 11 });
      const spawn = spawner(m);
      const msgs0 = zoneUsed(m, 'lwkt_msg');
      const n = engine === 'parallel' ? 300 : 200;
      for (let a = 0; a < cpus; a++) {
        for (let b = 0; b < cpus; b++) {
          if (a === b) continue;
          const rdv = m.kmalloc(1);
          const s = await spawn(b, 'order_server', rdv, 1);
          const c = await spawn(a, 'order_client', rdv, 0, n, 0);
          expect(await m.join(c)).toBe(n);
          expect(await m.join(s)).toEqual([n, 0]);
        }
      }
      const st = m.stats();
      const sent = st.cpus.reduce((x, c) => x + c.ipisSent, 0);
      const recv = st.cpus.reduce((x, c) => x + c.ipisReceived, 0);
      expect(sent).toBeGreaterThanOrEqual(cpus * (cpus - 1) * n * 2);   // a put and a reply per round trip
      expect(recv).toBe(sent);
      expect(zoneUsed(m, 'lwkt_msg')).toBe(msgs0);
      await down(m);
    });

    it('async sendmsg from many CPUs keeps per-sender order', async () => {
      const m = await machine({ cpus: 4, engine, ipi, seed: 5 });
      const spawn = spawner(m);
      const rdv = m.kmalloc(1);
      const n = 400;
      const s = await spawn(0, 'order_server', rdv, 6);
      const clients: number[] = [];
      for (let i = 0; i < 6; i++) clients.push(await spawn(1 + (i % 3), 'order_client', rdv, i, n, 8));
      for (const c of clients) expect(await m.join(c)).toBe(n);
      expect(await m.join(s)).toEqual([6 * n, 0]);
      await down(m);
    });
  });

  it('same-CPU domsg completes without IPIs', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const rdv = m.kmalloc(1);
    const s = await spawn(1, 'order_server', rdv, 1);
    const c = await spawn(1, 'order_client', rdv, 0, 500, 0);
    expect(await m.join(c)).toBe(500);
    expect(await m.join(s)).toEqual([500, 0]);
    expect(m.stats().cpus[1].ipisSent).toBe(0);
    await down(m);
  });

  it('lwkt_abortmsg: a signal during domsg(PCATCH) aborts and the target replies EINTR', async () => {
    const m = await machine({ cpus: 3, engine, seed: 3 });
    const spawn = spawner(m);
    const w = m.kmalloc(4);
    const s = await spawn(0, 'abort_server', w);
    const c = await spawn(1, 'abort_client', w);
    const g = await spawn(2, 'abort_signaller', w);
    expect(await m.join(c)).toEqual([EINTR, 0x80]);
    expect(await m.join(s)).toBe(1);
    expect(await m.join(g)).toBe(0);
    await down(m);
  });

  it('spin, putonly, replyonly, serializer ports; priority queue; dropmsg; waitmsg', async () => {
    const m = await machine({ cpus: 1, engine });
    const spawn = spawner(m);
    const msgs0 = zoneUsed(m, 'lwkt_msg');
    const t = await spawn(0, 'port_kinds', m.kmalloc(128));
    expect(await m.join(t)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(zoneUsed(m, 'lwkt_msg')).toBe(msgs0);
    await down(m);
  });
});
