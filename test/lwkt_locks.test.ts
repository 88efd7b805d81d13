/*
 * Locks: threads on every CPU increment a kmem counter under a spinlock, a token, the BGL
 * and the SSB_LOCK-style sleep lock; the final count must be exact.  Tokens must really
 * be dropped when their holder blocks.  Lock statistics must count what happened.
 */
import { describe, it, expect } from 'vitest';
import { LWKT_WORKLOADS } from '../src/index.js';
import { EINTR as EINTR_K } from '../src/kernel.js';
import { ENGINES, machine, down, spawner } from './helpers.js';

describe.each(ENGINES)('locks (%s engine)', (engine) => {
  it('spinlock counter on every CPU, with windows inside the section', async () => {
    const cpus = 4;
    const m = await machine({ cpus, engine, seed: 21 });
    const spawn = spawner(m);
    const lock = m.kmalloc(2), counter = m.kmalloc(1);
    await m.join(await spawn(0, 'spin_setup', lock));
    const n = 3000;
    const ids: number[] = [];
    for (let c = 0; c < cpus; c++) for (let k = 0; k < 2; k++) ids.push(await spawn(c, 'spin_counter_window', lock, counter, n));
    for (const id of ids) expect(await m.join(id)).toBe(n);
    expect(m.i32[counter]).toBe(cpus * 2 * n);
    const cls = m.stats().locks.find((l) => l.name === 'test_spin')!;
    expect(cls.acquisitions).toBe(cpus * 2 * n);
    if (engine === 'deterministic') expect(cls.contended).toBeGreaterThan(0);   // windows guarantee meetings
    await down(m);
  });

  it('token counter on every CPU, blocking while holding it; BGL counter', async () => {
    const cpus = 3;
    const m = await machine({ cpus, engine, seed: 4 });
    const tok = m.kmalloc(4), counter = m.kmalloc(1), bglc = m.kmalloc(1);
    await m.join(await m.spawn({ module: LWKT_WORKLOADS, export: 'token_init', args: [tok, 'test_tok'] }));
    const n = 600;
    const ids: number[] = [];
    for (let c = 0; c < cpus; c++) {
      ids.push(await m.spawn({ cpu: c, module: LWKT_WORKLOADS, export: 'token_counter', args: [tok, counter, n, 50] }));
      ids.push(await m.spawn({ cpu: c, module: LWKT_WORKLOADS, export: 'bgl_counter', args: [bglc, n] }));
    }
    for (const id of ids) expect(((await m.join(id)) as number[])[0]).toBe(n);
    expect(m.i32[counter]).toBe(cpus * n);
    expect(m.i32[bglc]).toBe(cpus * n);
    const locks = m.stats().locks;
    expect(locks.find((l) => l.name === 'test_tok')!.acquisitions).toBe(cpus * n);
    expect(locks.find((l) => l.name === 'bgl')!.acquisitions).toBe(cpus * n);
    await down(m);
  });

  it('a token is released while its holder sleeps and re-taken before it resumes', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const tok = m.kmalloc(4), w = m.kmalloc(2);
    await m.join(await spawn(0, 'token_setup', tok));
    const h = await spawn(0, 'token_holder', tok, w);
    const t = await spawn(1, 'token_taker', tok, w);
    expect(await m.join(t)).toBe(1);
    expect(await m.join(h)).toEqual([1, 1]);   // stale (someone else held it), and ours again
    expect(m.i32[tok]).toBe(0);                // nobody holds it at the end
    await down(m);
  });

  it('SSB_LOCK-style sleep lock: exact count with holders that block; other flag bits kept', async () => {
    const cpus = 3;
    const m = await machine({ cpus, engine, seed: 8 });
    const spawn = spawner(m);
    const w = m.kmalloc(1), counter = m.kmalloc(1);
    m.i32[w] = 0x0500;   // unrelated SSB_* bits that the lock must not disturb
    const n = 40;
    const ids: number[] = [];
    for (let c = 0; c < cpus; c++) ids.push(await spawn(c, 'sleeplock_counter', w, counter, n));
    for (const id of ids) expect(await m.join(id)).toBe(n);
    expect(m.i32[counter]).toBe(cpus * n);
    expect(m.i32[w]).toBe(0x0500);
    await down(m);
  });

  it('a signal ends a PCATCH sleep-lock wait with EINTR', async () => {
    const m = await machine({ cpus: 2, engine });
    const spawn = spawner(m);
    const w = m.kmalloc(1), sync = m.kmalloc(3);
    m.i32[w] = 0x0300;
    const t = await spawn(0, 'sleeplock_signalled', w, sync);
    const s = await spawn(1, 'signal_sender', sync);
    expect(await m.join(t)).toEqual([1, EINTR_K, 0x0300]);
    await m.join(s);
    expect(m.i32[w]).toBe(0x0300);
    await down(m);
  });
});

