/*
 * mbufs and socket buffers (sys/mbuf.ts, kern/uipc_mbuf.ts, kern/uipc_sockbuf.ts).
 * Goal: DragonFly 2008's exact ssb_cc / ssb_mbcnt accounting, record structure and mbuf
 * sharing (dragonfly.md 4.2, 4.9, 4.10, 5.6, 6), and MB_WAIT allocation that never loses
 * a waiter.  Method: kernel threads (test/progs/sockbuf_progs.ts) build sockbufs from the
 * zones with _sbcheck after every step and return the counters; every test then checks
 * that the mbuf and cluster zones are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, machine, down, zoneUsed, type TestMachine } from './helpers.js';
import {
  MSIZE, MLEN, MHLEN, MINCLSIZE, MCLBYTES, M_MAXCOMPRESS, MT_DATA, MT_SONAME, MT_CONTROL, M_EXT, M_PKTHDR,
  MT_RIGHTS, MB, CL,
} from '../src/sys/mbuf.js';
import { CLUSTER_WORDS, MBUF_WORDS } from '../src/machine/kmem_boot.js';

const SB_PROGS = new URL('./progs/sockbuf_progs.ts', import.meta.url).href;
const CL_BYTES = MSIZE + MCLBYTES;   // mbcnt of one mbuf with a cluster

type Spawn = (cpu: number, name: string, ...args: unknown[]) => Promise<number>;

function spawner(m: TestMachine): Spawn {
  return (cpu, name, ...args) => m.spawn({ cpu, module: SB_PROGS, export: name, args, name });
}

/* Boot, run one thread on CPU 0, check the zones came back, shut down. */
async function run1(engine: (typeof ENGINES)[number], name: string, ...args: unknown[]): Promise<unknown> {
  const m = await machine({ cpus: 2, engine });
  const mb0 = zoneUsed(m, 'mbuf'), cl0 = zoneUsed(m, 'mbuf_cluster');
  const r = await m.join(await spawner(m)(0, name, ...args));
  expect(zoneUsed(m, 'mbuf')).toBe(mb0);
  expect(zoneUsed(m, 'mbuf_cluster')).toBe(cl0);
  await down(m);
  return r;
}

describe('mbuf constants (DragonFly 2008, i386)', () => {
  it('has the i386 sizes and the zones are sized to match', () => {
    expect([MSIZE, MLEN, MHLEN, MINCLSIZE, MCLBYTES, M_MAXCOMPRESS]).toEqual([256, 180, 136, 137, 2048, 68]);
    expect([MT_DATA, MT_SONAME, MT_CONTROL, MT_RIGHTS]).toEqual([1, 3, 5, 12]);
    expect([M_EXT, M_PKTHDR]).toEqual([1, 2]);
    expect(MBUF_WORDS * 4).toBe(MSIZE);
    expect(CLUSTER_WORDS).toBe(CL.SIZE);
    expect(MB.m_ext_arg).toBeLessThan(MBUF_WORDS);
  });
});

describe.each(ENGINES)('mbufs and sockbufs (%s engine)', (engine) => {
  it('allocators give MLEN, MHLEN or a cluster; MH_ALIGN and M_ALIGN place data at the end', async () => {
    expect(await run1(engine, 'mbuf_sizes')).toEqual({
      get_space: 180, get_lead: 0, gethdr_space: 136, getcl_space: 2048, getcl_flags: M_EXT | M_PKTHDR, getcl_refs: 1,
      getl136: 136, getl137: 2048, getl100: 180, getl180: 2048,
      mh_align_lead: 124, mh_align_trail: 12, m_align_lead: 168, m_align_trail: 12,
      mclget: 1, mclget_space: 2048, mclget_ext: M_EXT, free_returns_next: 1,
    });
  });

  it('m_copym shares a cluster (refcount 2, neither writable); freeing both returns it', async () => {
    // [refs, same cluster, data offset, bytes ok, writable before, writable after (none),
    //  trailing + leading space when shared, header copied, refs after one free, writable then]
    expect(await run1(engine, 'copym_share')).toEqual([2, 1, 100, 1, 1, 0, 0, 0, 1, 1]);
  });

  it('m_copym copies small mbufs and the packet header', async () => {
    expect(await run1(engine, 'copym_chain')).toEqual([180, 180, 3, 1, 100, 1, 0, 10, 10]);
  });

  it('m_copydata, m_copyback (growing the chain) and m_pullup', async () => {
    expect(await run1(engine, 'copy_in_out')).toEqual([1, 1, 108, 108, 1, 1, 25, 108, 1, 1]);
  });

  it('100 one-byte writes coalesce into one mbuf: cc 100, mbcnt 256', async () => {
    // [cc, mbcnt, records, mbufs, bytes in order] for sbappend, then sbappendstream
    expect(await run1(engine, 'stream_coalesce')).toEqual([100, 256, 1, 1, 1, 100, 256, 1, 1, 1]);
  });

  it('a 600-byte write takes a cluster; small writes are copied into the tail while they fit', async () => {
    expect(await run1(engine, 'cluster_coalesce')).toEqual([
      600, CL_BYTES, 1, 1,                       // a cluster
      601, CL_BYTES, 1, 1,                       // +1 copied into it
      1114, 2 * CL_BYTES, 1, 2,                  // +513 > MCLBYTES/4: its own cluster
      1626, 2 * CL_BYTES, 1, 2,                  // +512 copied into the second cluster
      2826, 2 * CL_BYTES + 2 * MSIZE, 1, 4,      // +12 x 100: ten copied, two linked
      1,
    ]);
  });

  it('a tail whose cluster is shared is not written into', async () => {
    expect(await run1(engine, 'shared_tail')).toEqual([600, CL_BYTES, 1, 2, 610, CL_BYTES + MSIZE, 1, 2, 600, 1, 1]);
  });

  it('sbappendaddr: 16-byte address + 1 byte is one record, cc 17, mbcnt 512', async () => {
    expect(await run1(engine, 'appendaddr')).toEqual([
      1, 17, 512, 1, 2,                          // address + data
      MT_SONAME, 16, 16, 1, 0x70, MT_DATA, 1, 4, // the SONAME mbuf; data last, with M_EOR
      12,                                        // an empty cmsghdr
      1, 17 + 16 + 12 + 1, 4 * MSIZE + MSIZE, 2, 5, // + [SONAME 16][CONTROL 12][data 1]
      1, MT_CONTROL,
      1, MLEN + 1, 512, 1, 2,                    // an address of MLEN bytes fits
      0, 0, 0, 0,                                // (dropped)
      0, 0, 0, 0, 0,                             // MLEN + 1: refused, nothing taken
      1, 16, 256, 1, 1,                          // the address alone
    ]);
  });

  it('the 65th one-byte datagram gets 0 from ssb_appendaddr (rcv hiwat 4096, mbmax 32768)', async () => {
    expect(await run1(engine, 'dgram_65th')).toEqual([
      64, 64 * 17, 32768, 0,                     // mbcnt reaches mbmax long before cc reaches hiwat
      1, 2064, 2560, 2032,                       // a 2048-byte datagram
      1, 4128, 5120, -32,                        // the next still goes in: space was 2032 > 0
      0,                                         // then no space: refused
    ]);
  });

  it('records stay separate; sbappend joins the last record unless it ends with M_EOR', async () => {
    expect(await run1(engine, 'record_layout')).toEqual([
      10, 256, 1, 1,
      30, 512, 2, 2,
      100, 768, 3, 3, 70,                        // [30][40] compressed into one mbuf
      100, 1024, 4, 4, 1, 1,                     // a zero-length record
      105, 1024, 4, 4,                           // sbappend: copied into the empty record
      112, 1280, 5, 5,                           // a record with M_EOR
      120, 1536, 6, 6,                           // sbappend after it: a new record
      127, 1536 + MSIZE + CL_BYTES, 7, 8,        // EOR moved from first to last mbuf
      0, 4, 1,
    ]);
  });

  it('sbcompress drops empty mbufs; an empty end of record stays only after a different type', async () => {
    expect(await run1(engine, 'compress_empties')).toEqual([
      12, 256, 1, 1, 1,                          // [5][0][7]: the empty one dropped, 7 copied
      15, 512, 2, 2, 1, 4,                       // [3][0 EOR]: dropped, EOR on the 3
      19, 1024, 3, 4, 1, 4, 0,                   // [4][0 OOB EOR]: kept, it ends the record
      25, 1280, 4, 5,                            // sbappend after it: a new record
      1,
    ]);
  });

  it('sbdrop crosses record boundaries; sbdroprecord and sbunlinkmbuf', async () => {
    expect(await run1(engine, 'drop_records')).toEqual([
      100, 1024, 3, 4,
      75, 768, 2, 3, 1,                          // drop 25: first record, 15 of the second
      70, 512, 1, 2,                             // drop 5: the second record goes
      40, 256, 1, 1, 1, 1,                       // drop 30: first mbuf of the third
      9, 256, 1, 1,                              // sbdroprecord
      1, 1, 11, 256, 1, 1,                       // sbunlinkmbuf at a record's end: NULL
      0, 0, 0, 0,
      0, 0, 0, 0,
    ]);
  });

  it('sbdrop removes the empty mbufs it leaves at the front of a record; sbflush the rest', async () => {
    expect(await run1(engine, 'drop_empties')).toEqual([
      17, 768, 1, 3,                             // [SONAME 16][data 1][data 0]
      0, 0, 0, 0,                                // sbdrop(17) takes all three
      5, 512, 2, 2,
      0, 256, 1, 1,                              // the zero-length record stays
      0, 0, 0, 0,                                // until sbflush
    ]);
  });

  it('sbappendcontrol, ssb_appendcontrol and ssb_space (signed, 0 under SSB_STOP)', async () => {
    expect(await run1(engine, 'appendcontrol')).toEqual([
      20, MT_CONTROL, 17, 0xffff, 3, 1, 5,       // CMSG_SPACE(5) = 20, cmsg_len = CMSG_LEN(5) = 17
      1, 640, 2816, 1, 3, 1, 1,                  // [CONTROL 20][600 cluster][20]
      360,
      1, 1152, 5376, 2, 5,                       // space 360 > 0: a 512-byte record goes in
      -152,
      0, 1152, 5376, 2, 5,                       // space < 0: refused
      0,                                         // SSB_STOP
      -52,
      1,
    ]);
  });

  it.each([[0], [1]])('MB_WAIT sleeps on an empty zone until m_free on another CPU (cluster %i)', async (cluster) => {
    const m = await machine({ cpus: 2, engine, seed: 3 });
    const mb0 = zoneUsed(m, 'mbuf'), cl0 = zoneUsed(m, 'mbuf_cluster');
    const spawn = spawner(m);
    const w = m.kmalloc(8);
    const freer = await spawn(0, 'wait_freer', w, 3, cluster);
    const waiter = await spawn(1, 'wait_waiter', w, cluster);
    const want = cluster ? [1, MT_DATA, M_PKTHDR | M_EXT, MCLBYTES] : [1, MT_DATA, 0, MLEN];
    expect(await m.join(waiter)).toEqual(want);
    const [held, cheld, empty] = (await m.join(freer)) as number[];
    expect(empty).toBe(1);
    const zones = m.stats().zones;
    const mlimit = zones.find((z) => z.name === 'mbuf')!.limit;
    const climit = zones.find((z) => z.name === 'mbuf_cluster')!.limit;
    expect(held + cheld).toBe(mlimit - mb0);
    expect(cheld).toBe(cluster ? climit - cl0 : 0);
    expect(zones.find((z) => z.name === 'mbuf')!.failures).toBeGreaterThan(0);
    expect(zoneUsed(m, 'mbuf')).toBe(mb0);
    expect(zoneUsed(m, 'mbuf_cluster')).toBe(cl0);
    await down(m);
  });

  it.each([[0], [1]])('MB_WAIT under pressure on 3 CPUs loses no waiter (cluster %i)', async (cluster) => {
    const m = await machine({ cpus: 3, engine, seed: 11 });
    const mb0 = zoneUsed(m, 'mbuf'), cl0 = zoneUsed(m, 'mbuf_cluster');
    const spawn = spawner(m);
    const w = m.kmalloc(8);
    // The zone starts empty: the first allocation after go must wait.  Two mbufs (and two
    // clusters) come back only once one has, so 9 threads share 2 under MB_WAIT.
    const [, , empty] = (await m.join(await spawn(0, 'drain', w, 0, cluster))) as number[];
    expect(empty).toBe(1);
    const failures = (): number =>
      m.stats().zones.filter((z) => z.name.startsWith('mbuf')).reduce((a, z) => a + z.failures, 0);
    const failed0 = failures();
    const iters = 300;
    const ids: number[] = [];
    for (let t = 0; t < 9; t++) ids.push(await spawn(t % 3, 'wait_pressure', w + 2, iters, cluster, t + 1));
    const rel = await spawn(0, 'release_some', w, 2, failed0);
    Atomics.store(m.i32, w + 2, 1);                 // go: the threads poll for it every tick
    expect(await m.join(rel)).toBeLessThan(100_000);   // it saw a refusal before it gave any back
    for (const id of ids) expect(await m.join(id)).toEqual([iters, 0]);
    expect(failures()).toBeGreaterThan(failed0);   // a thread found the zones empty (and so waited)
    await m.join(await spawn(0, 'undrain', w));
    expect(zoneUsed(m, 'mbuf')).toBe(mb0);
    expect(zoneUsed(m, 'mbuf_cluster')).toBe(cl0);
    await down(m);
  });
});
