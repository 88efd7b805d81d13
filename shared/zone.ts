/*
 * zone.ts: fixed-size object pools in kmem (DragonFly's zalloc/zfree, FreeBSD's uma).
 *
 * Every kernel object (thread, message, port, socket, mbuf, cluster, file, proc) comes
 * from a zone sized at boot.  An empty zone returns NULL (0); the caller turns that into
 * ENOBUFS, or sleeps when it asked to wait.  Items come back zeroed, except past a
 * zone's zd_zero_words (mbufs and clusters zero only their headers: like FreeBSD's
 * zones, their data bytes are written before they are read, and zeroing them on every
 * free doubled the memory traffic of a bulk transfer).  Each zone counts
 * items in use, the high-water mark and failed allocations, for a `vmstat -z` report.
 *
 * A free item holds the next free item in its word 0 and ZFREE_MAGIC in word 1, so a
 * double free or a write through a stale pointer into a free item is caught.
 */

import { k32, kf64, H_NZONES, H_OFF_ZONES } from './kmem.js';
import { kstr_read } from './kstr.js';
import { layout, NULL, type Ptr } from './struct.js';
import { spin_lock, spin_unlock } from './spinlock.js';
import { panic } from './panic.js';

export const ZD = layout('zone', {
  zd_lock: 2,        // spinlock guarding everything below
  zd_name: 1,        // kstr id
  zd_item_words: 1,  // item size in words (even)
  zd_count: 1,       // items in the zone
  zd_base: 1,        // word offset of item 0
  zd_free: 1,        // first free item, or NULL
  zd_inuse: 1,
  zd_hiwat: 1,       // most items ever in use at once
  zd_fail: 1,        // allocations that found the zone empty
  zd_allocs_f64: 2,
  zd_frees_f64: 2,
  zd_zero_words: 1,  // words of an item zeroed when it is freed (from its start); the rest is left as it was
  zd_pad: 1,         // keeps descriptors an even number of words (their doubles on even words)
});

/* Zone numbers: fixed, so kernel code names a zone by a constant. */
export const Z_THREAD = 0;
export const Z_MSG = 1;
export const Z_PORT = 2;
export const Z_KMALLOC16 = 3;
export const Z_KMALLOC64 = 4;
export const Z_KMALLOC256 = 5;
export const Z_SOCKET = 6;
export const Z_MBUF = 7;
export const Z_CLUSTER = 8;
export const Z_FILE = 9;
export const Z_PROC = 10;
export const Z_CALLOUT = 11;
export const NZONES_STD = 12;

export const ZFREE_MAGIC = 0x0deadf4e;

export function zone_desc(z: number): Ptr { return k32[H_OFF_ZONES] + z * ZD.SIZE; }

/* Allocate a zeroed item, or NULL when the zone is empty.  Never blocks. */
export function zalloc(z: number): Ptr {
  const zd = k32[H_OFF_ZONES] + z * ZD.SIZE;
  spin_lock(zd + ZD.zd_lock);
  const p = k32[zd + ZD.zd_free];
  if (p === NULL) {
    k32[zd + ZD.zd_fail]++;
    spin_unlock(zd + ZD.zd_lock);
    return NULL;
  }
  if (k32[p + 1] !== ZFREE_MAGIC) {
    spin_unlock(zd + ZD.zd_lock);
    panic(`zalloc: free item ${p} of zone ${z} was written after free`);
  }
  k32[zd + ZD.zd_free] = k32[p];
  const inuse = k32[zd + ZD.zd_inuse] + 1;
  k32[zd + ZD.zd_inuse] = inuse;
  if (inuse > k32[zd + ZD.zd_hiwat]) k32[zd + ZD.zd_hiwat] = inuse;
  kf64[(zd + ZD.zd_allocs_f64) >> 1]++;
  spin_unlock(zd + ZD.zd_lock);
  k32[p] = 0;
  k32[p + 1] = 0;
  return p;
}

export function zfree(z: number, p: Ptr): void {
  const zd = k32[H_OFF_ZONES] + z * ZD.SIZE;
  const words = k32[zd + ZD.zd_item_words];
  const base = k32[zd + ZD.zd_base];
  if (p < base || p >= base + k32[zd + ZD.zd_count] * words || (p - base) % words !== 0) {
    panic(`zfree: ${p} is not an item of zone ${z}`);
  }
  if (k32[p + 1] === ZFREE_MAGIC) panic(`zfree: double free of ${p} in zone ${z}`);
  k32.fill(0, p + 2, p + k32[zd + ZD.zd_zero_words]);
  spin_lock(zd + ZD.zd_lock);
  k32[p] = k32[zd + ZD.zd_free];
  k32[p + 1] = ZFREE_MAGIC;
  k32[zd + ZD.zd_free] = p;
  k32[zd + ZD.zd_inuse]--;
  kf64[(zd + ZD.zd_frees_f64) >> 1]++;
  spin_unlock(zd + ZD.zd_lock);
}

/* Build a zone's free list (boot, single-threaded). */
export function zone_format(i32: Int32Array, zd: Ptr, nameid: number, cls: number, base: Ptr, words: number, count: number,
    zeroWords = words): void {
  i32[zd + ZD.zd_zero_words] = Math.max(2, Math.min(words, zeroWords));
  i32[zd + ZD.zd_lock] = 0;
  i32[zd + ZD.zd_lock + 1] = cls;
  i32[zd + ZD.zd_name] = nameid;
  i32[zd + ZD.zd_item_words] = words;
  i32[zd + ZD.zd_count] = count;
  i32[zd + ZD.zd_base] = base;
  for (let i = 0; i < count; i++) {
    const p = base + i * words;
    i32[p] = i + 1 < count ? p + words : NULL;
    i32[p + 1] = ZFREE_MAGIC;
  }
  i32[zd + ZD.zd_free] = count > 0 ? base : NULL;
}

/* True if p is an allocated item of zone z (dumps walk zones with this). */
export function zone_item_live(i32: Int32Array, p: Ptr): boolean { return i32[p + 1] !== ZFREE_MAGIC; }

export interface ZoneStats {
  name: string; itemBytes: number; limit: number; used: number; free: number; hiwat: number;
  failures: number; allocs: number; frees: number;
}

export function zone_stats(i32: Int32Array, u8: Uint8Array, f64: Float64Array): ZoneStats[] {
  const out: ZoneStats[] = [];
  const n = i32[H_NZONES];
  for (let z = 0; z < n; z++) {
    const zd = i32[H_OFF_ZONES] + z * ZD.SIZE;
    const count = i32[zd + ZD.zd_count];
    const used = i32[zd + ZD.zd_inuse];
    out.push({ name: kstr_read(i32, u8, i32[zd + ZD.zd_name]), itemBytes: i32[zd + ZD.zd_item_words] * 4,
      limit: count, used, free: count - used, hiwat: i32[zd + ZD.zd_hiwat], failures: i32[zd + ZD.zd_fail],
      allocs: f64[(zd + ZD.zd_allocs_f64) >> 1], frees: f64[(zd + ZD.zd_frees_f64) >> 1] });
  }
  return out;
}
