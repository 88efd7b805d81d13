/*
 * Fidelity fixes, each against DragonFly 2008: _ssb_lock reads SSB_NOINTR again before
 * every sleep; ssb_reserve's mbmax in i386 u_long arithmetic (maxsockbuf 2^31-1 and
 * SO_SNDBUF 6e8 give 505032704; a negative waste factor no negative mbmax); a negative
 * kern.ipc.maxsockbuf refused (EINVAL); dup_sockaddr's failure in unp_connect and
 * soreceive is ENOBUFS with nothing half done (test/progs/fidelity_progs.ts).
 */
import { describe, it, expect } from 'vitest';
import { EINVAL, EINTR, SO, SSB } from '../src/kernel.js';
import { ENGINES, MODELS, machine, down, runProgram } from './helpers.js';

const P = new URL('./progs/fidelity_progs.ts', import.meta.url).href;

describe.each(ENGINES)('fidelity fixes (%s engine)', (engine) => {
  it('_ssb_lock: SSB_NOINTR cleared while waiting makes the next sleep interruptible', async () => {
    const m = await machine({ cpus: 2, engine });
    const ssb = m.kmalloc(SSB.SIZE), w = m.kmalloc(3);
    const h = await m.spawn({ cpu: 0, module: P, export: 'noint_holder', args: [ssb, w] });
    const t = await m.spawn({ cpu: 1, module: P, export: 'noint_waiter', args: [ssb, w] });
    expect(await m.join(h)).toEqual([0, 1, EINTR]);
    expect(await m.join(t)).toBe(EINTR);
    await down(m);
  });

  it('ssb_reserve: u_long mbmax; negative waste factor; negative maxsockbuf refused', async () => {
    const m = await machine({ cpus: 1, engine });
    const so = m.kmalloc(SO.SIZE);
    const r = await m.join(await m.spawn({ module: P, export: 'reserve_ulong', args: [so] }));
    expect(r).toEqual([
      0, 2147483647,
      1, 600000000, 505032704,      // (6e8 * 8) mod 2^32; min with sb_max (u_int)
      0, 1, 2147483647,             // waste factor -1: (-100000 mod 2^32) > sb_max: sb_max
      1, 0,                         // waste factor 0: mbmax 0
      EINVAL, 2147483647,
    ]);
    await down(m);
  });

  describe.each(MODELS)('%s dispatch', (model) => {
    it('dup_sockaddr failing: connect and recvfrom are ENOBUFS, then work', async () => {
      const r = (await runProgram({ engine, model, seed: 47, cpus: 2 }, P, 'dup_enobufs', ['/fx'])).r;
      expect(r).toEqual({
        connect1: 'ENOBUFS', connect2: 'ok', name: '/fx/l', recv1: 'ENOBUFS', recv2: [2, '/fx/d1', 7, 8],
      });
    });
  });
});
