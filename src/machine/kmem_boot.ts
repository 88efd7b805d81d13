/*
 * kmem_boot.ts: size kmem for the boot parameters, lay out its regions and format it.
 * Runs once, on the host, before any CPU starts.  Workers only attach.
 */

import {
  k32, kmem_attach, H_MAGIC, H_VERSION, H_WORDS, H_NCPUS, H_ENGINE, H_IPI, H_SEED, H_HZ, H_LOCKSTAT,
  H_DISPATCH, H_OFF_KSTR, H_OFF_LOCKCLASS, H_OFF_LOCKSTAT, H_OFF_PCPU, H_OFF_IPIQ, H_OFF_SLPQ, H_OFF_SLPMASK,
  H_OFF_GLOBALS, H_OFF_ZONES, H_NZONES, H_BOOT_EPOCH_F64, H_IPIQ_SLOTS, H_BOOTID, HDR_WORDS,
} from '../../shared/kmem.js';
import { KMEM_MAGIC, KMEM_VERSION, LINE_WORDS, SLPQUE_BUCKETS, NCPU_MAX, HZ } from '../../shared/param.js';
import { KSTR_WORDS, kstr_intern } from '../../shared/kstr.js';
import { LOCKCLASS_WORDS, lockstat_words, lockclass_register } from '../../shared/lockstat.js';
import { PCPU_WORDS } from '../../shared/pcpu.js';
import { ZD, zone_format, NZONES_STD, Z_FILE, Z_CLUSTER } from '../../shared/zone.js';
import { MB } from '../sys/mbuf.js';
import { cpu_attach, set_mycpuid } from '../../shared/cpu.js';
import { TD } from '../lwkt/thread.js';
import { MSG, PORT } from '../sys/msgport.js';
import { CALLOUT } from '../lwkt/kern_timeout.js';
import { ipiq_ring_words } from '../lwkt/lwkt_ipiq.js';
import { lwkt_token_init } from '../lwkt/lwkt_token.js';
import { GLOBALS_WORDS, KG } from '../sys/kglobals.js';
import { kfunc_attach } from '../lwkt/kfunc.js';
import { ipc_init } from '../kern/uipc_socket2.js';
import { kmem_bootid_next, kmem_sab_get } from './kmem_pool.js';
import { unp_space_init } from '../kern/uipc_usrreq.js';
import { lwkt_std_ports_init } from '../lwkt/lwkt_msgport.js';
import { netisr_init_globals } from '../kern/uipc_msg.js';
import { witness_format, witness_words } from '../kern/subr_witness.js';
import { H_WITNESS, H_INVARIANTS } from '../../shared/kmem.js';
import { kfail_init, kfail_words } from '../kern/kern_fail.js';

export interface KmemParams {
  ncpus: number;
  engine: number;
  ipi: number;
  seed: number;
  lockstat: number;
  dispatch: number;
  memoryBytes: number;
  ipiqSlots: number;
  maxThreads: number;
  maxsockets?: number;            // the kern.ipc.maxsockets tunable (0: the floor)
  witness?: boolean;              // WITNESS: a lock-order graph region in kmem (kern/subr_witness.ts)
  invariants?: boolean;           // INVARIANTS checks
  faults?: number[] | null;       // fault-site rates by FS_* (kern_fail.ts), or none
  bugs?: number;                  // injected bugs, BUG_* mask (shared/fail.ts)
  bootEpochMs: number;
}

export interface ZoneSpec { name: string; words: number; count: number; zero?: number }

/* Item sizes of the socket layer's objects, in words (MSIZE 256 and MCLBYTES 2048 bytes). */
export const SOCKET_WORDS = 192;
export const MBUF_WORDS = 64;
export const CLUSTER_WORDS = 514;     // struct mbcluster: mcl_refs, mcl_data, then MCLBYTES of data
const CLUSTER_HEADER_WORDS = 2;       // mcl_refs, mcl_data: all a freed cluster has zeroed
// A freed mbuf has its header, packet header and m_ext zeroed (MB); m_dat's bytes are data.
export const FILE_WORDS = 16;
export const PROC_WORDS = 160;

function even(n: number): number { return (n + 1) & ~1; }
function line(n: number): number { return Math.ceil(n / LINE_WORDS) * LINE_WORDS; }

/* Zones in Z_* order.  mbufs and clusters take what memory is left. */
export function zone_specs(p: KmemParams, fixedWords: number): ZoneSpec[] {
  const specs: ZoneSpec[] = [
    { name: 'thread', words: even(TD.SIZE), count: p.maxThreads + p.ncpus },
    { name: 'lwkt_msg', words: even(MSG.SIZE), count: 8192 },
    { name: 'lwkt_port', words: even(PORT.SIZE), count: 1024 },
    { name: 'kmalloc16', words: 16, count: 8192 },
    { name: 'kmalloc64', words: 64, count: 2048 },
    { name: 'kmalloc256', words: 256, count: 512 },
    { name: 'socket', words: SOCKET_WORDS, count: 4096 },
    { name: 'mbuf', words: MBUF_WORDS, count: 0, zero: MB.SIZE },
    { name: 'mbuf_cluster', words: CLUSTER_WORDS, count: 0, zero: CLUSTER_HEADER_WORDS },
    { name: 'file', words: FILE_WORDS, count: 4096 },
    { name: 'proc', words: PROC_WORDS, count: 512 },
    { name: 'callout', words: even(CALLOUT.SIZE), count: 1024 },
  ];
  if (specs.length !== NZONES_STD) throw new Error('zone_specs: out of step with shared/zone.ts');
  let used = fixedWords + specs.length * ZD.SIZE;
  for (const s of specs) used += s.words * s.count;
  const left = p.memoryBytes / 4 - used;
  if (left < 1024 * (MBUF_WORDS + CLUSTER_WORDS)) {
    throw new RangeError(`boot: memory ${p.memoryBytes} bytes is too small (need at least ${Math.ceil((used + 1024 * (MBUF_WORDS + CLUSTER_WORDS)) * 4 / 1048576)} MiB)`);
  }
  specs[7].count = Math.floor((left * 0.25) / MBUF_WORDS);
  specs[8].count = Math.floor((left * 0.75) / CLUSTER_WORDS);
  return specs;
}

/* Create, format and attach kmem (the host becomes cpu -1). */
export function kmem_boot(p: KmemParams): SharedArrayBuffer {
  if (p.ncpus < 1 || p.ncpus > NCPU_MAX) throw new RangeError(`boot: cpus must be 1..${NCPU_MAX}`);
  if ((p.ipiqSlots & (p.ipiqSlots - 1)) !== 0 || p.ipiqSlots < 8) throw new RangeError('boot: ipiqSlots must be a power of two >= 8');
  let off = line(HDR_WORDS);
  const at = (words: number): number => { const o = off; off = line(off + words); return o; };
  const o_kstr = at(KSTR_WORDS);
  const o_lockclass = at(LOCKCLASS_WORDS);
  const o_lockstat = at(lockstat_words(p.ncpus));
  const o_pcpu = at((p.ncpus + 1) * PCPU_WORDS);
  const o_ipiq = at(p.ncpus * p.ncpus * ipiq_ring_words(p.ipiqSlots));
  const o_slpq = at(p.ncpus * SLPQUE_BUCKETS * 2);
  const o_slpmask = at(SLPQUE_BUCKETS);
  const o_globals = at(GLOBALS_WORDS);
  const o_witness = p.witness === true ? at(witness_words(p.maxThreads + p.ncpus)) : 0;
  const fail_words = kfail_words(p.faults ?? null, p.bugs ?? 0, p.ncpus);
  const o_fail = fail_words !== 0 ? at(fail_words) : 0;
  const specs = zone_specs(p, off);
  const o_zones = at(specs.length * ZD.SIZE);
  const bases: number[] = [];
  for (const s of specs) bases.push(at(s.words * s.count));
  // kmem is the memory asked for (the zones' floors leave some over), so that machines
  // booted with the same memory take buffers of one size, which the pool can hand on.
  const total = Math.max(off, line(Math.ceil(p.memoryBytes / 4)));

  const sab = kmem_sab_get(total * 4);
  const i32 = new Int32Array(sab);
  i32[H_MAGIC] = KMEM_MAGIC;
  i32[H_BOOTID] = kmem_bootid_next();
  i32[H_VERSION] = KMEM_VERSION;
  i32[H_WORDS] = total;
  i32[H_NCPUS] = p.ncpus;
  i32[H_ENGINE] = p.engine;
  i32[H_IPI] = p.ipi;
  i32[H_SEED] = p.seed | 0;
  i32[H_HZ] = HZ;
  i32[H_LOCKSTAT] = p.lockstat;
  i32[H_DISPATCH] = p.dispatch;
  i32[H_OFF_KSTR] = o_kstr;
  i32[H_OFF_LOCKCLASS] = o_lockclass;
  i32[H_OFF_LOCKSTAT] = o_lockstat;
  i32[H_OFF_PCPU] = o_pcpu;
  i32[H_OFF_IPIQ] = o_ipiq;
  i32[H_OFF_SLPQ] = o_slpq;
  i32[H_OFF_SLPMASK] = o_slpmask;
  i32[H_OFF_GLOBALS] = o_globals;
  i32[H_OFF_ZONES] = o_zones;
  i32[H_NZONES] = specs.length;
  i32[H_IPIQ_SLOTS] = p.ipiqSlots;
  i32[H_WITNESS] = o_witness;
  if (o_witness !== 0) witness_format(i32, o_witness, p.maxThreads + p.ncpus);
  i32[H_INVARIANTS] = p.invariants === true ? 1 : 0;
  kfail_init(i32, o_fail, p.faults ?? null, p.bugs ?? 0, p.seed | 0);
  new Float64Array(sab)[H_BOOT_EPOCH_F64 >> 1] = p.bootEpochMs;

  kmem_attach(sab);
  cpu_attach();
  set_mycpuid(-1);
  kfunc_attach();
  for (let z = 0; z < specs.length; z++) {
    const s = specs[z];
    zone_format(k32, o_zones + z * ZD.SIZE, kstr_intern(s.name), lockclass_register(`zone:${s.name}`),
      bases[z], s.words, s.count, s.zero ?? s.words);
  }
  lwkt_token_init(o_globals + KG.g_bgl, 'bgl');
  ipc_init(p.maxsockets ?? 0, specs[Z_FILE].count, specs[Z_CLUSTER].count);
  unp_space_init();
  lwkt_std_ports_init();
  netisr_init_globals(p.dispatch);   // the socket layer's sync port; the netisr port table
  return sab;
}
