/*
 * kstr.ts: interned strings in kmem.  Thread names, wait messages, lock-class and zone
 * names and the names of functions that travel in IPIs and messages are stored once and
 * named by a small integer id, the same on every CPU because the table is shared.
 * Ids start at 1; 0 means "no string".
 *
 *   +0   futex word guarding inserts
 *   +1   count of strings
 *   +2   heap bytes used
 *   +16  hash slots (2 * KSTR_MAX words): id, or 0 for empty; open addressing
 *   ...  entries (KSTR_MAX * 2 words): byte offset into the heap, length
 *   ...  heap (KSTR_HEAP_BYTES)
 *
 * Lookups first hit a per-isolate Map, so a name interned once costs a Map lookup.
 */

import { k32, ku8, H_OFF_KSTR, H_PANIC } from './kmem.js';
import { KSTR_HEAP_BYTES, KSTR_MAX } from './param.js';
import { futex_lock, futex_unlock } from './futex.js';

const KS_LOCK = 0;
const KS_COUNT = 1;
const KS_HEAPUSED = 2;
const KS_SLOTS = 16;
const NSLOTS = KSTR_MAX * 2;
const KS_ENTRIES = KS_SLOTS + NSLOTS;
const KS_HEAP = KS_ENTRIES + KSTR_MAX * 2;
export const KSTR_WORDS = KS_HEAP + KSTR_HEAP_BYTES / 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let cache_of: Int32Array | null = null;      // the k32 of the attach the cache belongs to
let cache_ids = new Map<string, number>();
let cache_strs: string[] = [];

function cache_check(): void {
  if (cache_of !== k32) {
    cache_of = k32;
    cache_ids = new Map();
    cache_strs = [];
  }
}

function hash_bytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

function panicking(): boolean { return Atomics.load(k32, H_PANIC) !== 0; }

function same_bytes(base: number, id: number, b: Uint8Array): boolean {
  const e = base + KS_ENTRIES + (id - 1) * 2;
  if (k32[e + 1] !== b.length) return false;
  const off = (base + KS_HEAP) * 4 + k32[e];
  for (let i = 0; i < b.length; i++) if (ku8[off + i] !== b[i]) return false;
  return true;
}

/* The id of s, inserting it if new.  Throws when the table is full (a boot-time limit). */
export function kstr_intern(s: string): number {
  cache_check();
  const hit = cache_ids.get(s);
  if (hit !== undefined) return hit;
  const base = k32[H_OFF_KSTR];
  const b = encoder.encode(s);
  const h = hash_bytes(b);
  futex_lock(k32, base + KS_LOCK, panicking);
  try {
    let slot = h & (NSLOTS - 1);
    for (;;) {
      const id = k32[base + KS_SLOTS + slot];
      if (id === 0) break;
      if (same_bytes(base, id, b)) { cache_ids.set(s, id); return id; }
      slot = (slot + 1) & (NSLOTS - 1);
    }
    const count = k32[base + KS_COUNT];
    const used = k32[base + KS_HEAPUSED];
    if (count >= KSTR_MAX || used + b.length > KSTR_HEAP_BYTES) throw new Error(`kstr_intern: table full interning '${s}'`);
    const id = count + 1;
    ku8.set(b, (base + KS_HEAP) * 4 + used);
    const e = base + KS_ENTRIES + count * 2;
    k32[e] = used;
    k32[e + 1] = b.length;
    k32[base + KS_HEAPUSED] = used + b.length;
    k32[base + KS_COUNT] = id;
    Atomics.store(k32, base + KS_SLOTS + slot, id);  // publish last
    cache_ids.set(s, id);
    return id;
  } finally {
    futex_unlock(k32, base + KS_LOCK);
  }
}

/* The string of an id ('' for 0 or an unknown id).  Readers need no lock: entries are
 * written before their id is published. */
export function kstr_get(id: number): string {
  if (id <= 0) return '';
  cache_check();
  const s = cache_strs[id];
  if (s !== undefined) return s;
  const r = kstr_read(k32, ku8, id);
  cache_strs[id] = r;
  return r;
}

/* Read an id through explicit views (host-side readers that have not attached). */
export function kstr_read(i32: Int32Array, u8: Uint8Array, id: number): string {
  const base = i32[H_OFF_KSTR];
  if (id <= 0 || id > Atomics.load(i32, base + KS_COUNT)) return '';
  const e = base + KS_ENTRIES + (id - 1) * 2;
  const off = (base + KS_HEAP) * 4 + i32[e];
  return decoder.decode(u8.slice(off, off + i32[e + 1]));
}
