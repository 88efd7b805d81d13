/*
 * kmem.ts: kernel memory.  One SharedArrayBuffer, sized at boot, seen through an Int32,
 * a Uint8 and a Float64 view.  Every kernel structure lives here, so every CPU (and the
 * host, for stats and panic dumps) reads the same state.
 *
 *   word 0          header: magic, version, sizes, boot parameters, panic word,
 *                   then the offsets of every region below, then the panic message
 *   kstr            interned strings: names of threads, locks, zones, wait messages
 *   lockclass       lock classes; per-(class, CPU) statistics as doubles
 *   pcpu            per-CPU words: IPI summary, doorbell, counters (one line each)
 *   ipiq            one ring per (source, target) CPU pair
 *   slpq            per-CPU tsleep hash buckets, and the global bucket CPU masks
 *   globals         the BGL token and other kernel-wide words
 *   zones           zone descriptors, then each zone's items
 *
 * The views are module globals, like a kernel's linker-placed data: a worker attaches
 * once; the deterministic engine re-attaches when it switches between machines.
 */

import { KMEM_MAGIC, KMEM_VERSION, PANICMSG_BYTES } from './param.js';

export let kmem_sab: SharedArrayBuffer = new SharedArrayBuffer(8);
export let k32: Int32Array = new Int32Array(kmem_sab);
export let ku8: Uint8Array = new Uint8Array(kmem_sab);
export let kf64: Float64Array = new Float64Array(kmem_sab);
/*
 * The boot attached.  A buffer can serve several boots in turn (src/machine/kmem_pool.ts),
 * so "the same machine" is the same buffer and the same boot id.  Each new attach makes
 * new views: caches of what belongs to one machine (interned strings, the kfunc table,
 * cached byte views) compare the k32 they were made under with the current one.
 */
export let kmem_bootid = 0;

/* Header words. */
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_WORDS = 2;         // total words of kmem
export const H_NCPUS = 3;
export const H_ENGINE = 4;        // ENGINE_*
export const H_IPI = 5;           // IPI_CARRIER_*
export const H_SEED = 6;
export const H_HZ = 7;
export const H_PANIC = 8;         // 0, or 1 + the CPU that panicked first (claimed by CAS)
export const H_PANIC_TD = 9;      // id of the thread that panicked (not its pointer: it may exit after), or 0
export const H_PANIC_LEN = 10;    // bytes of panic message at H_PANICMSG
export const H_LOCKSTAT = 11;     // LOCKSTAT_* mode
export const H_NEXT_TID = 12;     // thread id allocator (Atomics.add)
export const H_HALT = 13;         // set by the host at shutdown: every CPU leaves its loop
export const H_LIVE = 14;         // threads alive, all CPUs (Atomics.add)
export const H_DISPATCH = 15;     // socket dispatch model, for the socket layer
export const H_OFF_KSTR = 16;
export const H_OFF_LOCKCLASS = 17;
export const H_OFF_LOCKSTAT = 18; // word offset (even) of the lock statistics doubles
export const H_OFF_PCPU = 19;
export const H_OFF_IPIQ = 20;
export const H_OFF_SLPQ = 21;
export const H_OFF_SLPMASK = 22;
export const H_OFF_GLOBALS = 23;
export const H_OFF_ZONES = 24;
export const H_NZONES = 25;
export const H_BOOT_EPOCH_F64 = 26; // 2 words: host performance.timeOrigin + now() at boot (ms)
export const H_IPIQ_SLOTS = 28;
export const H_BOOTID = 29;       // this boot's id: kmem reused by a later boot (kmem_pool) gets a new one
export const H_WITNESS = 30;      // word offset of the WITNESS region (src/kern/subr_witness.ts), or 0: witness off
export const H_INVARIANTS = 31;   // 1: INVARIANTS checks on (src/kern/kern_invariants.ts, src/lwkt/lwkt_invariants.ts)
export const H_FAIL_TABLE = 32;   // word offset of the fault-site table (shared/fail.ts), or 0 when none
export const H_FAIL_ON = 33;      // 1 when any fault site has a rate above 0
export const H_BUGS = 34;         // injected kernel bugs (BUG_* of shared/fail.ts), a bit mask
export const H_PANICMSG = 64;     // PANICMSG_BYTES bytes of UTF-8
export const HDR_WORDS = H_PANICMSG + PANICMSG_BYTES / 4;

export const ENGINE_PARALLEL = 0;
export const ENGINE_DETERMINISTIC = 1;
export const IPI_CARRIER_SAB = 0;
export const IPI_CARRIER_MESSAGEPORT = 1;
export const LOCKSTAT_OFF = 0;
export const LOCKSTAT_ON = 1;

/* Attach this isolate's kernel to a kmem buffer. */
export function kmem_attach(sab: SharedArrayBuffer): void {
  if (sab === kmem_sab && Atomics.load(k32, H_BOOTID) === kmem_bootid) return;
  kmem_sab = sab;
  k32 = new Int32Array(sab);
  ku8 = new Uint8Array(sab);
  kf64 = new Float64Array(sab);
  if (k32[H_MAGIC] !== KMEM_MAGIC) throw new Error('kmem_attach: bad magic');
  if (k32[H_VERSION] !== KMEM_VERSION) throw new Error(`kmem_attach: layout version ${k32[H_VERSION]}, want ${KMEM_VERSION}`);
  kmem_bootid = k32[H_BOOTID];
}

/* Views on a kmem buffer without attaching (host-side readers). */
export interface KmemViews { i32: Int32Array; u8: Uint8Array; f64: Float64Array }
export function kmem_views(sab: SharedArrayBuffer): KmemViews {
  return { i32: new Int32Array(sab), u8: new Uint8Array(sab), f64: new Float64Array(sab) };
}

/* Copy a short string into kmem bytes (NUL padded); returns the bytes written. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
export function kmem_putstr(u8: Uint8Array, byteoff: number, max: number, s: string): number {
  const bytes = encoder.encode(s);
  const n = Math.min(bytes.length, max);
  u8.fill(0, byteoff, byteoff + max);
  for (let i = 0; i < n; i++) u8[byteoff + i] = bytes[i];
  return n;
}
export function kmem_getstr(u8: Uint8Array, byteoff: number, max: number): string {
  let n = 0;
  while (n < max && u8[byteoff + n] !== 0) n++;
  // TextDecoder refuses views on shared memory: copy out first.
  return decoder.decode(u8.slice(byteoff, byteoff + n));
}
