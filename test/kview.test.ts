/*
 * shared/kview.ts: the cached byte views that let uiomove and m_copydata copy between
 * kmem and a caller's array without making a view per mbuf.  A cached view must always
 * be exactly the bytes asked for (colliding slots, repeated keys), and views of one
 * machine's kmem must never serve another's.
 */
import { describe, it, expect } from 'vitest';
import { kmem_view, user_view } from '../shared/kview.js';
import { down, machine } from './helpers.js';

describe('kview', () => {
  it('kmem_view: every (address, length) gives exactly those bytes, through collisions and a second machine', async () => {
    const m1 = await machine({ cpus: 1, engine: 'deterministic' });
    const base = 4096;                       // views only: nothing is read or written
    // 2000 keys over 512 slots: most share a slot with another; each is asked for twice.
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < 2000; k++) {
        const cp = base + ((k * 256) % 15000), n = 1 + ((k * 37) % 1300);
        const v = kmem_view(cp, n);
        expect(v.buffer).toBe(m1.kmem);
        expect([v.byteOffset, v.length]).toEqual([cp, n]);
      }
    }
    const v1 = kmem_view(base, 64);
    await down(m1);
    const m2 = await machine({ cpus: 1, engine: 'deterministic' });   // attaches its own kmem in this isolate
    const v2 = kmem_view(base, 64);
    expect(v2.buffer).toBe(m2.kmem);
    expect(v2).not.toBe(v1);
    await down(m2);
  });

  it('user_view: keyed by the array too, so two arrays never share a view', () => {
    const a = new Uint8Array(4096).fill(1), b = new Uint8Array(4096).fill(2);
    for (let k = 0; k < 500; k++) {
      const off = (k * 64) % 3000, n = 65 + (k % 200);
      for (const buf of [a, b]) {
        const v = user_view(buf, off, n);
        expect(v.buffer).toBe(buf.buffer);
        expect([v.byteOffset, v.length]).toEqual([off, n]);
      }
    }
  });
});
