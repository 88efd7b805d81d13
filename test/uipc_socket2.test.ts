/*
 * uipc_socket2 so far: the kern.ipc sysctls (maxsockbuf's EINVAL floor and sb_max_adj
 * arithmetic) and the signalsockbuf lock and wait, in both engines.
 */
import { describe, it, expect } from 'vitest';
import { EINVAL, ENOENT, EOPNOTSUPP, EPERM, EWOULDBLOCK, EINTR, SO, SSB, SSB_LOCK, SSB_WANT, XSOCKBUF, XSOCKET } from '../src/kernel.js';
import { STAT } from '../src/sys/stat.js';
import { ENGINES, machine, down, zoneUsed } from './helpers.js';

const P = new URL('./progs/socket2_progs.ts', import.meta.url).href;

describe.each(ENGINES)('uipc_socket2 (%s engine)', (engine) => {
  it('kern.ipc.maxsockbuf: EINVAL below MSIZE+MCLBYTES keeps the old value; sb_max_adj recomputed', async () => {
    const m = await machine({ cpus: 1, engine });
    const r = (await m.join(await m.spawn({ module: P, export: 'maxsockbuf' }))) as number[];
    expect(r).toEqual([
      0, 262144, 233016,          // default sb_max and sb_max_adj = 262144 * 2048 / 2304
      EINVAL, 262144,             // 2303 refused, old kept
      0, 262144, 466033,          // 524288 accepted: adj = floor(524288 * 2048 / 2304)
      0, 2048,                    // exactly MSIZE + MCLBYTES is allowed: adj = 2048
      EPERM, EPERM, ENOENT,       // not root; read-only OID; unknown name
    ]);
    await down(m);
  });

  it('ssb_lock: M_NOWAIT gives EWOULDBLOCK; a waiter sets SSB_WANT and gets the lock at unlock', async () => {
    const m = await machine({ cpus: 2, engine });
    const ssb = m.kmalloc(SSB.SIZE), w = m.kmalloc(2);
    const h = await m.spawn({ cpu: 0, module: P, export: 'ssb_holder', args: [ssb, w] });
    const t = await m.spawn({ cpu: 1, module: P, export: 'ssb_waiter', args: [ssb, w] });
    expect(await m.join(h)).toEqual([0, EWOULDBLOCK, SSB_LOCK | SSB_WANT]);
    expect(await m.join(t)).toEqual([0, 1, 0]);
    await down(m);
  });

  it('ssb_wait: timeout EWOULDBLOCK, signal EINTR, and SSB_NOINTR ignores the signal', async () => {
    const m = await machine({ cpus: 2, engine });
    const ssb = m.kmalloc(SSB.SIZE), w = m.kmalloc(1);
    const t = await m.spawn({ cpu: 0, module: P, export: 'ssb_waits', args: [ssb, w] });
    const s = await m.spawn({ cpu: 1, module: P, export: 'signaller', args: [w] });
    expect(await m.join(t)).toEqual([EWOULDBLOCK, EINTR, EWOULDBLOCK]);
    await m.join(s);
    await down(m);
  });

  it('dup_sockaddr copies and frees; the notsupp defaults; pru_sense_null; ssbtoxsockbuf', async () => {
    const m = await machine({ cpus: 1, engine });
    const so = m.kmalloc(SO.SIZE), sb = m.kmalloc(STAT.SIZE), xsb = m.kmalloc(XSOCKBUF.SIZE), sa = m.kmalloc(8);
    const k16 = zoneUsed(m, 'kmalloc16');
    const r = (await m.join(await m.spawn({ module: P, export: 'socket2_misc', args: [so, sb, xsb, sa] }))) as number[];
    expect(r).toEqual([1, 1, ...Array(7).fill(EOPNOTSUPP), 0, 8192, 10, 4096, 256, 32768, 1, 0x44, 7]);
    expect(zoneUsed(m, 'kmalloc16')).toBe(k16);   // the copy went back
    await down(m);
  });

  it('soreserve, ssb_reserve (sb_max_adj clamp, mbmax rule), ssb_release; per-uid charge; sotoxsocket', async () => {
    const m = await machine({ cpus: 1, engine });
    const so = m.kmalloc(SO.SIZE), xso = m.kmalloc(64);
    const zones0 = m.stats().zones.map((z) => z.used);
    const r = (await m.join(await m.spawn({ module: P, export: 'reserve', args: [so, xso] }))) as number[];
    expect(r).toEqual([
      0, 8192, 65536, 2048, 8192, 65536, 1, 16384,   // soreserve: send lowat MCLBYTES, receive 1; 16384 charged
      1, 233016, 262144, 8192 + 233016,              // clamped to sb_max_adj; mbmax capped at sb_max
      1, 1000, 1000, 8000,                           // send lowat follows hiwat down; mbmax = 1000 * 8
      // SEED chgsbsize: growing past the limit scales hiwat to floor(100000 * 50000 / 333016)
      // but charges the unscaled 100000 (the uid's total becomes 333016)...
      1, 15014,
      1000, 233016, XSOCKET.SIZE * 4,                // sotoxsocket: uid, receive hiwat, its length
      // ...so releasing both buffers leaves 333016 - 15014 - 233016 charged: the drift.
      0, 0, 84986,
    ]);
    expect(m.stats().zones.map((z) => z.used)).toEqual(zones0);
    await down(m);
  });
});
