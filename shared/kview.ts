/*
 * kview.ts: reusable byte views for copies between kmem and a caller's Uint8Array.
 *
 * TypedArray.prototype.set copies a whole source array, so a copy of part of kmem into a
 * caller's array (or part of a caller's array into kmem) needs a view of exactly those
 * bytes, and a view is a JS object: one per mbuf copied, the only allocation left on a
 * steady-state send or receive.  The copies repeat: mbufs come back from their zone at
 * the same addresses with the same lengths, and a writer sends from the same array at
 * the same offsets.  So each kind of view is kept in a small direct-mapped cache keyed
 * by (address, length), or (array, offset, length): a hit costs two compares and makes
 * nothing.  A view never goes stale: kmem is never detached or resized, and the cache
 * of kmem views starts over when this isolate attaches another machine's kmem.
 *
 * copyin and copyout (kern_subr.c's names) are the copies themselves, for uiomove and
 * the mbuf copy routines alike.
 */

import { ku8 } from './kmem.js';

const SLOT_BITS = 9;
const SLOTS = 1 << SLOT_BITS;
const EMPTY = new Uint8Array(0);

/* Views of kmem: ku8.subarray(cp, cp + n). */
let kv_of: Uint8Array = EMPTY;            // the ku8 the cached views are of
const kv_cp = new Int32Array(SLOTS).fill(-1);
const kv_n = new Int32Array(SLOTS);
const kv_view: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(EMPTY);

/* The n bytes of kmem from byte address cp, as a view. */
export function kmem_view(cp: number, n: number): Uint8Array {
  if (kv_of !== ku8) {
    kv_of = ku8;
    kv_cp.fill(-1);
    kv_view.fill(EMPTY);
  }
  const h = Math.imul(cp + n * 31, 0x9e3779b1) >>> (32 - SLOT_BITS);   // Fibonacci hashing: mbufs are MSIZE apart
  if (kv_cp[h] === cp && kv_n[h] === n) return kv_view[h];
  const v = ku8.subarray(cp, cp + n);
  kv_cp[h] = cp;
  kv_n[h] = n;
  kv_view[h] = v;
  return v;
}

/* Views of callers' arrays: buf.subarray(off, off + n).  Fewer slots: each holds its array alive. */
const USLOT_BITS = 6;
const USLOTS = 1 << USLOT_BITS;
const uv_buf: Uint8Array[] = new Array<Uint8Array>(USLOTS).fill(EMPTY);
const uv_off = new Int32Array(USLOTS).fill(-1);
const uv_n = new Int32Array(USLOTS);
const uv_view: Uint8Array[] = new Array<Uint8Array>(USLOTS).fill(EMPTY);

/*
 * The n bytes of buf from offset off, as a view.  The cache holds its arrays alive until
 * their slots are reused: at most USLOTS of them.
 */
export function user_view(buf: Uint8Array, off: number, n: number): Uint8Array {
  const h = Math.imul(off + n * 31, 0x9e3779b1) >>> (32 - USLOT_BITS);
  if (uv_buf[h] === buf && uv_off[h] === off && uv_n[h] === n) return uv_view[h];
  const v = buf.subarray(off, off + n);
  uv_buf[h] = buf;
  uv_off[h] = off;
  uv_n[h] = n;
  uv_view[h] = v;
  return v;
}

const BYTELOOP_MAX = 64;              // bytes up to which a byte loop beats looking up a view

/* copyin: n bytes of buf from offset off into kmem at byte address cp. */
export function copyin(buf: Uint8Array, off: number, n: number, cp: number): void {
  if (buf.buffer === ku8.buffer) ku8.copyWithin(cp, buf.byteOffset + off, buf.byteOffset + off + n);
  else if (off === 0 && n === buf.length) ku8.set(buf, cp);
  else if (n <= BYTELOOP_MAX) for (let i = 0; i < n; i++) ku8[cp + i] = buf[off + i];
  else ku8.set(user_view(buf, off, n), cp);
}

/* copyout: n bytes of kmem from byte address cp into buf at offset off. */
export function copyout(cp: number, n: number, buf: Uint8Array, off: number): void {
  if (buf.buffer === ku8.buffer) ku8.copyWithin(buf.byteOffset + off, cp, cp + n);
  else if (n <= BYTELOOP_MAX) for (let i = 0; i < n; i++) buf[off + i] = ku8[cp + i];
  else buf.set(kmem_view(cp, n), off);
}
