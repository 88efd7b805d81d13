/*
 * uipc_mbuf.ts: mbuf and cluster allocation, chains, copies.
 * Mirrors DragonFly sys/kern/uipc_mbuf.c (2008): m_get, m_gethdr, m_getcl, m_getl, m_mclget,
 * m_free, m_freem, m_copym (clusters shared by reference count), m_copydata, m_copyback,
 * m_append, m_pullup, m_length, m_dup_pkthdr.
 * Differs where the simulation forces it:
 *  - mbufs and clusters come from the Z_MBUF and Z_CLUSTER zones instead of objcaches.
 *    With MB_DONTWAIT an empty zone gives NULL.  Waiting is a separate entry point per
 *    allocator (m_get_wait, m_getcl_wait, ...) returning Blocking<Ptr>, because "may
 *    sleep" must show in the type (DESIGN section 2); like MB_WAIT in DragonFly they never
 *    return NULL.  The plain allocators panic when handed MB_WAIT.
 *  - Data moves with Uint8Array.set and copyWithin on ku8 (shared/kview.ts's copyin and copyout, a byte loop for a few bytes).
 *  - No mbstat/mbtypes counters: the zones' own statistics stand in for them.
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { copyin, copyout } from '../../shared/kview.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { zalloc, zfree, zone_desc, ZD, Z_MBUF, Z_CLUSTER } from '../../shared/zone.js';
import { DoneCell, type Blocking } from '../../shared/effect.js';
import { crit_enter, crit_exit } from '../lwkt/lwkt_thread.js';
import { tsleep, tsleep_interlock, tsleep_maybe_sleepers, wakeup } from '../lwkt/kern_synch.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { lwkt_yield } from '../lwkt/lwkt_thread.js';
import { faults_on } from '../../shared/cpu.js';
import { fail_point, FS_MBUF, FS_CLUSTER, FS_YIELD } from '../../shared/fail.js';
import './kern_fail.js';   // the fault sites' process half (the sleep hook)
import {
  MB, CL, MSIZE, MCLBYTES, MLEN, MHLEN, MINCLSIZE, M_COPYALL, PKTHDR_WORDS, MBUF_ZONE_WORDS, CLUSTER_ZONE_WORDS,
  M_EXT, M_PKTHDR, M_COPYFLAGS, MT_FREE, MT_NTYPES, MB_DONTWAIT, m_dat, m_pktdat, M_TRAILINGSPACE,
} from '../sys/mbuf.js';

/*
 * Waiting for a free mbuf or cluster.
 *
 * A waiter sleeps on the zone's free-list word (the word that changes when an item comes
 * back); m_free wakes it.  No wakeup is lost, by the interlock of kern_synch.ts:
 *
 *   waiter (mb_zalloc_wait)                  freer (m_free -> mb_zfree)
 *   crit_enter()                             zfree(z, p)      unlock: Atomics.exchange
 *   tsleep_interlock(chan)  Atomics.or       Atomics.load(sleep mask of chan's bucket)
 *   p = zalloc(z)           lock: CAS        if non-zero: wakeup(chan)
 *   if (p === NULL) tsleep(chan)
 *
 * All four shared accesses are sequentially consistent, so either the freer's load sees
 * the waiter's mask bit (and wakeup() reaches it, by IPI if remote, held back by the
 * waiter's critical section until it is on the sleep queue), or the waiter's zalloc runs
 * after the freer's zfree and finds the item.  The freer tests the mask with a load where
 * wakeup() would do a read-modify-write: a free with nobody waiting then writes no shared
 * line, which matters on the hottest free path of the socket layer.
 *
 * The test is kern_synch's tsleep_maybe_sleepers(chan), a load of the bucket's CPU mask.
 * A waiter whose re-check succeeds leaves its CPU's bit set, as any tsleep_interlock not
 * followed by a sleep does; the first wakeup IPI that finds that CPU's bucket empty
 * clears it (kern_synch's wakeup_remote).
 *
 * The sleep has no timeout, as DragonFly's objcache_get has none: a waiter that is never
 * woken is a bug the deterministic engine then reports as a deadlock.
 */
let mbuf_chan = 0;        // kmem address the mbuf waiters sleep on: Z_MBUF's zd_free
let cluster_chan = 0;     // the same for clusters

kfunc_on_attach(() => {
  mbuf_chan = zone_desc(Z_MBUF) + ZD.zd_free;
  cluster_chan = zone_desc(Z_CLUSTER) + ZD.zd_free;
  // At boot the host attaches before the zones are formatted (item size still 0).
  const mwords = k32[zone_desc(Z_MBUF) + ZD.zd_item_words];
  const cwords = k32[zone_desc(Z_CLUSTER) + ZD.zd_item_words];
  if (mwords !== 0 && mwords !== MBUF_ZONE_WORDS) panic('mbinit: mbuf zone item is not MSIZE bytes');
  if (cwords !== 0 && cwords !== CLUSTER_ZONE_WORDS) panic('mbinit: cluster zone item is not a struct mbcluster');
});

function mb_zfree(z: number, p: Ptr): void {
  zfree(z, p);
  const chan = z === Z_MBUF ? mbuf_chan : cluster_chan;
  if (tsleep_maybe_sleepers(chan)) wakeup(chan);
}

/*
 * Allocate from zone z, sleeping until an item is freed.  Never returns NULL.  Blocks.
 * The mbuf and cluster fault sites (kern_fail.ts) make the first try fail: a shortage,
 * slept out for a tick as objcache's reclaim would be, once per wait.  The yield site
 * switches after the item is had, as if the allocation had slept.
 */
function* mb_zalloc_wait(z: number): Blocking<Ptr> {
  const chan = z === Z_MBUF ? mbuf_chan : cluster_chan;
  let fault = faults_on && fail_point(z === Z_MBUF ? FS_MBUF : FS_CLUSTER);
  for (;;) {   // ends when an item is had; MB_WAIT never fails
    crit_enter();
    tsleep_interlock(chan);
    const p = fault ? NULL : zalloc(z);
    if (p !== NULL) {
      crit_exit();
      if (faults_on && fail_point(FS_YIELD)) yield* lwkt_yield();
      return p;
    }
    yield* tsleep(chan, 0, 'objcache_get', fault ? 1 : 0);
    fault = false;
    crit_exit();
  }
}

/* zalloc of an mbuf or a cluster without waiting: where the mbuf and cluster fault sites fire. */
function mb_zalloc(z: number): Ptr {
  if (faults_on && fail_point(z === Z_MBUF ? FS_MBUF : FS_CLUSTER)) return NULL;
  return zalloc(z);
}

/*
 * A Blocking<Ptr> already complete, for the *_wait fast paths: it saves the generator frame
 * (~40 ns) when the zone has an item, which is nearly always.  One per isolate, reused:
 * the caller's yield* reads it at once, before anything else can run on this CPU.
 */
const done_ptr = new DoneCell<Ptr>(NULL);

/* ---- allocation ---- */

function mb_dontwait(how: number, fn: string): void {
  if (how !== MB_DONTWAIT) panic(fn + ': MB_WAIT needs the _wait variant (a plain call cannot sleep)');
}

/* Turn a fresh (zeroed) Z_MBUF item into a plain mbuf of the given type. */
function mb_ctor(m: Ptr, type: number): Ptr {
  k32[m + MB.m_type] = type;
  k32[m + MB.m_data] = m_dat(m);
  return m;
}

/* ... or into a packet-header mbuf. */
function mb_ctor_hdr(m: Ptr, type: number): Ptr {
  k32[m + MB.m_type] = type;
  k32[m + MB.m_flags] = M_PKTHDR;
  k32[m + MB.m_data] = m_pktdat(m);
  return m;
}

/* An mbuf's constructor for the M_PKTHDR bit of flags. */
function mb_ctor_flags(m: Ptr, type: number, flags: number): Ptr {
  return (flags & M_PKTHDR) !== 0 ? mb_ctor_hdr(m, type) : mb_ctor(m, type);
}

/* Attach fresh cluster cl to mbuf m: refcount 1, m_data at its start. */
function mb_attach_cluster(m: Ptr, cl: Ptr): void {
  const buf = (cl + CL.mcl_buf) << 2;
  k32[cl + CL.mcl_refs] = 1;
  k32[cl + CL.mcl_data] = buf;
  k32[m + MB.m_ext_buf] = buf;
  k32[m + MB.m_ext_size] = MCLBYTES;
  k32[m + MB.m_ext_arg] = cl;
  k32[m + MB.m_data] = buf;
  k32[m + MB.m_flags] |= M_EXT;
}

function mb_type_ok(type: number): boolean { return type > MT_FREE && type < MT_NTYPES; }

/* m_get: a plain mbuf (MLEN bytes of data), or NULL when none is free.  Never blocks. */
export function m_get(how: number, type: number): Ptr {
  mb_dontwait(how, 'm_get');
  KASSERT(mb_type_ok(type), 'm_get: bad type');
  const m = mb_zalloc(Z_MBUF);
  return m === NULL ? NULL : mb_ctor(m, type);
}

/* m_gethdr: a packet-header mbuf (MHLEN bytes of data), or NULL.  Never blocks. */
export function m_gethdr(how: number, type: number): Ptr {
  mb_dontwait(how, 'm_gethdr');
  KASSERT(mb_type_ok(type), 'm_gethdr: bad type');
  const m = mb_zalloc(Z_MBUF);
  return m === NULL ? NULL : mb_ctor_hdr(m, type);
}

/*
 * m_mclget (MCLGET): attach a cluster to mbuf m, which must have none.  Returns 1, or 0
 * when no cluster is free (m is then unchanged).  Never blocks.
 */
export function m_mclget(m: Ptr, how: number): number {
  mb_dontwait(how, 'm_mclget');
  KASSERT((k32[m + MB.m_flags] & M_EXT) === 0, 'm_mclget: mbuf already has a cluster');
  const cl = mb_zalloc(Z_CLUSTER);
  if (cl === NULL) return 0;
  mb_attach_cluster(m, cl);
  return 1;
}

/*
 * m_getcl: an mbuf with a cluster attached (MCLBYTES of data); a packet header when flags
 * has M_PKTHDR.  NULL when either zone is empty (nothing is kept).  Never blocks.
 */
export function m_getcl(how: number, type: number, flags: number): Ptr {
  mb_dontwait(how, 'm_getcl');
  KASSERT(mb_type_ok(type), 'm_getcl: bad type');
  const m = mb_zalloc(Z_MBUF);
  if (m === NULL) return NULL;
  const cl = mb_zalloc(Z_CLUSTER);
  if (cl === NULL) {
    mb_zfree(Z_MBUF, m);
    return NULL;
  }
  mb_attach_cluster(mb_ctor_flags(m, type, flags), cl);
  return m;
}

/*
 * m_getl: the right mbuf for len bytes: a cluster when len >= MINCLSIZE, else a
 * packet-header mbuf (flags has M_PKTHDR) or a plain one.  C's *psize is
 * M_TRAILINGSPACE(m) of the result.  NULL when no memory.  Never blocks.
 */
export function m_getl(len: number, how: number, type: number, flags: number): Ptr {
  if (len >= MINCLSIZE) return m_getcl(how, type, flags);
  if ((flags & M_PKTHDR) !== 0) return m_gethdr(how, type);
  return m_get(how, type);
}

/* m_get with MB_WAIT: sleeps until an mbuf is free; never NULL.  Use at once with yield*. */
export function m_get_wait(type: number): Blocking<Ptr> { return mb_get_wait(type, 0); }

/* m_gethdr with MB_WAIT.  Blocks; never NULL. */
export function m_gethdr_wait(type: number): Blocking<Ptr> { return mb_get_wait(type, M_PKTHDR); }

function mb_get_wait(type: number, flags: number): Blocking<Ptr> {
  KASSERT(mb_type_ok(type), 'm_get_wait: bad type');
  if (faults_on) return mb_get_wait_slow(type, flags);   // the sites are in mb_zalloc_wait
  const m = zalloc(Z_MBUF);
  if (m !== NULL) return done_ptr.set(mb_ctor_flags(m, type, flags));
  return mb_get_wait_slow(type, flags);
}

function* mb_get_wait_slow(type: number, flags: number): Blocking<Ptr> {
  return mb_ctor_flags(yield* mb_zalloc_wait(Z_MBUF), type, flags);
}

/* m_getcl with MB_WAIT: the mbuf first, then the cluster, sleeping for each.  Blocks. */
export function m_getcl_wait(type: number, flags: number): Blocking<Ptr> {
  KASSERT(mb_type_ok(type), 'm_getcl_wait: bad type');
  if (faults_on) return m_getcl_wait_slow(type, flags);   // the sites are in mb_zalloc_wait
  const m = zalloc(Z_MBUF);
  if (m !== NULL) {
    const cl = zalloc(Z_CLUSTER);
    if (cl !== NULL) {
      mb_attach_cluster(mb_ctor_flags(m, type, flags), cl);
      return done_ptr.set(m);
    }
    mb_zfree(Z_MBUF, m);
  }
  return m_getcl_wait_slow(type, flags);
}

function* m_getcl_wait_slow(type: number, flags: number): Blocking<Ptr> {
  const m = mb_ctor_flags(yield* mb_zalloc_wait(Z_MBUF), type, flags);
  let cl = faults_on ? NULL : zalloc(Z_CLUSTER);
  if (cl === NULL) cl = yield* mb_zalloc_wait(Z_CLUSTER);
  mb_attach_cluster(m, cl);
  return m;
}

/* m_getl with MB_WAIT, as sosend calls it.  Blocks; never NULL. */
export function m_getl_wait(len: number, type: number, flags: number): Blocking<Ptr> {
  if (len >= MINCLSIZE) return m_getcl_wait(type, flags);
  if ((flags & M_PKTHDR) !== 0) return m_gethdr_wait(type);
  return m_get_wait(type);
}

/* ---- freeing ---- */

/*
 * m_free: free one mbuf, dropping its reference to a cluster (the last reference frees
 * the cluster).  Returns m_next.  Wakes threads waiting for an mbuf or cluster.  Never
 * blocks.
 */
export function m_free(m: Ptr): Ptr {
  KASSERT(m !== NULL, 'm_free: NULL mbuf');
  KASSERT(k32[m + MB.m_type] !== MT_FREE, 'm_free: freeing a free mbuf');
  const n = k32[m + MB.m_next];
  if ((k32[m + MB.m_flags] & M_EXT) !== 0) {
    const cl = k32[m + MB.m_ext_arg];
    const refs = Atomics.sub(k32, cl + CL.mcl_refs, 1);   // the count before
    KASSERT(refs >= 1, 'm_free: cluster reference count below 1');
    if (refs === 1) mb_zfree(Z_CLUSTER, cl);
  }
  mb_zfree(Z_MBUF, m);
  return n;
}

/* m_freem: free a whole chain (m_next), not the records after it (m_nextpkt). */
export function m_freem(m: Ptr): void {
  while (m !== NULL) m = m_free(m);
}

/* ---- chains ---- */

/* m_length: bytes of data in chain m. */
export function m_length(m: Ptr): number {
  let len = 0;
  for (; m !== NULL; m = k32[m + MB.m_next]) len += k32[m + MB.m_len];
  return len;
}

/*
 * m_dup_pkthdr: copy from's packet header to to, a packet-header mbuf of its own, with
 * the M_COPYFLAGS flags.  Returns 1 (C returns 0 when the tags cannot be copied; there
 * are no tags here).
 */
export function m_dup_pkthdr(to: Ptr, from: Ptr): number {
  KASSERT((k32[from + MB.m_flags] & M_PKTHDR) !== 0, 'm_dup_pkthdr: from has no header');
  KASSERT((k32[to + MB.m_flags] & M_PKTHDR) !== 0, 'm_dup_pkthdr: to has no header');
  const ext = k32[to + MB.m_flags] & M_EXT;
  k32[to + MB.m_flags] = (k32[from + MB.m_flags] & M_COPYFLAGS) | ext;
  if (ext === 0) k32[to + MB.m_data] = m_pktdat(to);
  k32.copyWithin(to + MB.m_pkthdr_rcvif, from + MB.m_pkthdr_rcvif, from + MB.m_pkthdr_rcvif + PKTHDR_WORDS);
  return 1;
}

/*
 * m_copym: a copy of len bytes of chain m from offset off0 (len M_COPYALL: to the end).
 * Data in clusters is shared, not copied: the copy refers to the same cluster and its
 * reference count grows, so neither mbuf may then write it (M_WRITABLE is false).  The
 * copy has a packet header when off0 is 0 and m has one.  NULL when an mbuf cannot be had
 * (nothing is kept).  Never blocks: MB_DONTWAIT only.
 */
export function m_copym(m: Ptr, off0: number, len: number, how: number): Ptr {
  mb_dontwait(how, 'm_copym');
  KASSERT(off0 >= 0, 'm_copym: negative off');
  KASSERT(len >= 0, 'm_copym: negative len');
  let off = off0;
  let copyhdr = off === 0 && (k32[m + MB.m_flags] & M_PKTHDR) !== 0;
  while (off > 0) {
    KASSERT(m !== NULL, 'm_copym: offset > size of mbuf chain');
    const mlen = k32[m + MB.m_len];
    if (off < mlen) break;
    off -= mlen;
    m = k32[m + MB.m_next];
  }
  let top = NULL;
  let tail = NULL;
  while (len > 0) {
    if (m === NULL) {
      KASSERT(len === M_COPYALL, 'm_copym: length > size of mbuf chain');
      break;
    }
    // Any cluster below is shared: allocate an mbuf only, not an mbuf and a cluster.
    const type = k32[m + MB.m_type];
    const n = zalloc(Z_MBUF);
    if (n === NULL) {
      m_freem(top);
      return NULL;
    }
    if (copyhdr) {
      mb_ctor_hdr(n, type);
      m_dup_pkthdr(n, m);
      if (len === M_COPYALL) k32[n + MB.m_pkthdr_len] -= off0;
      else k32[n + MB.m_pkthdr_len] = len;
      copyhdr = false;
    } else {
      mb_ctor(n, type);
    }
    if (top === NULL) top = n;
    else k32[tail + MB.m_next] = n;
    tail = n;
    const nlen = Math.min(len, k32[m + MB.m_len] - off);
    k32[n + MB.m_len] = nlen;
    if ((k32[m + MB.m_flags] & M_EXT) !== 0) {
      const cl = k32[m + MB.m_ext_arg];
      Atomics.add(k32, cl + CL.mcl_refs, 1);
      k32[n + MB.m_data] = k32[m + MB.m_data] + off;
      k32[n + MB.m_ext_buf] = k32[m + MB.m_ext_buf];
      k32[n + MB.m_ext_size] = k32[m + MB.m_ext_size];
      k32[n + MB.m_ext_arg] = cl;
      k32[n + MB.m_flags] |= M_EXT;
    } else {
      const src = k32[m + MB.m_data] + off;
      ku8.copyWithin(k32[n + MB.m_data], src, src + nlen);
    }
    if (len !== M_COPYALL) len -= nlen;
    off = 0;
    m = k32[m + MB.m_next];
  }
  return top;
}

/* m_copy: m_copym without waiting (the sys/mbuf.h macro). */
export function m_copy(m: Ptr, off: number, len: number): Ptr {
  return m_copym(m, off, len, MB_DONTWAIT);
}

/*
 * m_copydata: copy len bytes of chain m, from offset off, into cp at cpoff.  The chain
 * must hold off + len bytes (shared/kview.ts's copyout, an mbuf at a time).
 */
export function m_copydata(m: Ptr, off: number, len: number, cp: Uint8Array, cpoff: number): void {
  KASSERT(off >= 0, 'm_copydata: negative off');
  KASSERT(len >= 0 && cpoff >= 0 && cpoff + len <= cp.length, 'm_copydata: bad destination range');
  while (off > 0) {
    KASSERT(m !== NULL, 'm_copydata: offset > size of mbuf chain');
    const mlen = k32[m + MB.m_len];
    if (off < mlen) break;
    off -= mlen;
    m = k32[m + MB.m_next];
  }
  while (len > 0) {
    KASSERT(m !== NULL, 'm_copydata: length > size of mbuf chain');
    const count = Math.min(k32[m + MB.m_len] - off, len);
    const src = k32[m + MB.m_data] + off;
    copyout(src, count, cp, cpoff);
    len -= count;
    cpoff += count;
    off = 0;
    m = k32[m + MB.m_next];
  }
}

/*
 * m_copyback: copy len bytes of cp (from cpoff) into chain m0 at offset off, extending
 * the chain with plain mbufs (MB_DONTWAIT) where it is too short; the gap, if any, reads
 * as zeros.  A packet header's length grows to cover what was written.  If an mbuf cannot
 * be had the copy stops short, as in C.  Writes in place: the caller owns the data (a
 * shared cluster must not be written).  Never blocks.
 */
export function m_copyback(m0: Ptr, off: number, len: number, cp: Uint8Array, cpoff: number): void {
  KASSERT(off >= 0 && len >= 0, 'm_copyback: negative off or len');
  KASSERT(cpoff >= 0 && cpoff + len <= cp.length, 'm_copyback: bad source range');
  if (m0 === NULL) return;
  let m = m0;
  let totlen = 0;
  let mlen: number;
  out: {
    while (off > (mlen = k32[m + MB.m_len])) {
      off -= mlen;
      totlen += mlen;
      if (k32[m + MB.m_next] === NULL) {
        const n = zalloc(Z_MBUF);          // zeroed, as C's m_getclr
        if (n === NULL) break out;
        mb_ctor(n, k32[m + MB.m_type]);
        k32[n + MB.m_len] = Math.min(MLEN, len + off);
        k32[m + MB.m_next] = n;
      }
      m = k32[m + MB.m_next];
    }
    while (len > 0) {
      mlen = Math.min(k32[m + MB.m_len] - off, len);
      copyin(cp, cpoff, mlen, k32[m + MB.m_data] + off);
      cpoff += mlen;
      len -= mlen;
      mlen += off;
      off = 0;
      totlen += mlen;
      if (len === 0) break;
      if (k32[m + MB.m_next] === NULL) {
        const n = m_get(MB_DONTWAIT, k32[m + MB.m_type]);
        if (n === NULL) break;
        k32[n + MB.m_len] = Math.min(MLEN, len);
        k32[m + MB.m_next] = n;
      }
      m = k32[m + MB.m_next];
    }
  }
  if ((k32[m0 + MB.m_flags] & M_PKTHDR) !== 0 && k32[m0 + MB.m_pkthdr_len] < totlen) {
    k32[m0 + MB.m_pkthdr_len] = totlen;
  }
}

/*
 * m_append: append len bytes of cp (from cpoff) to the end of chain m0: into the last
 * mbuf's trailing space, then into new plain mbufs (MB_DONTWAIT).  Returns 1 when all of
 * it went in, 0 when an mbuf could not be had.  A packet header's length grows by what
 * was appended.  Never blocks.
 */
export function m_append(m0: Ptr, len: number, cp: Uint8Array, cpoff: number): number {
  KASSERT(m0 !== NULL, 'm_append: NULL chain');
  KASSERT(len >= 0 && cpoff >= 0 && cpoff + len <= cp.length, 'm_append: bad source range');
  let m = m0;
  while (k32[m + MB.m_next] !== NULL) m = k32[m + MB.m_next];
  let remainder = len;
  let space = M_TRAILINGSPACE(m);
  if (space > 0) {
    if (space > remainder) space = remainder;
    copyin(cp, cpoff, space, k32[m + MB.m_data] + k32[m + MB.m_len]);
    k32[m + MB.m_len] += space;
    cpoff += space;
    remainder -= space;
  }
  while (remainder > 0) {
    // Allocate a new mbuf: it could be a cluster, but MLEN is enough for the callers here.
    const n = m_get(MB_DONTWAIT, k32[m + MB.m_type]);
    if (n === NULL) break;
    const count = Math.min(MLEN, remainder);
    copyin(cp, cpoff, count, k32[n + MB.m_data]);
    k32[n + MB.m_len] = count;
    cpoff += count;
    remainder -= count;
    k32[m + MB.m_next] = n;
    m = n;
  }
  if ((k32[m0 + MB.m_flags] & M_PKTHDR) !== 0) k32[m0 + MB.m_pkthdr_len] += len - remainder;
  return remainder === 0 ? 1 : 0;
}

/*
 * m_pullup: make the first len bytes of chain n contiguous in its first mbuf, so a header
 * can be read in place.  Returns the (possibly new) head, or frees the whole chain and
 * returns NULL when len is more than MHLEN or an mbuf cannot be had.  Never blocks.
 * Here max_protohdr is 0 (no protocol below AF_LOCAL asks for more).
 */
export function m_pullup(n: Ptr, len: number): Ptr {
  KASSERT(n !== NULL && len >= 0, 'm_pullup: bad arguments');
  let m: Ptr;
  // If the first mbuf has no cluster and room for len bytes without moving its data,
  // pull up into it; otherwise put a new mbuf in front of the chain.
  bad: {
    if ((k32[n + MB.m_flags] & M_EXT) === 0 && k32[n + MB.m_data] + len < (n << 2) + MSIZE &&
        k32[n + MB.m_next] !== NULL) {
      if (k32[n + MB.m_len] >= len) return n;
      m = n;
      n = k32[n + MB.m_next];
      len -= k32[m + MB.m_len];
    } else {
      if (len > MHLEN) break bad;
      const hdr = (k32[n + MB.m_flags] & M_PKTHDR) !== 0;
      const p = zalloc(Z_MBUF);
      if (p === NULL) break bad;
      m = p;
      if (hdr) {
        mb_ctor_hdr(m, k32[n + MB.m_type]);
        // M_MOVE_PKTHDR: the header moves to the new first mbuf.
        m_dup_pkthdr(m, n);
        k32[n + MB.m_flags] &= ~M_PKTHDR;
      } else {
        mb_ctor(m, k32[n + MB.m_type]);
      }
    }
    let space = (m << 2) + MSIZE - (k32[m + MB.m_data] + k32[m + MB.m_len]);
    do {
      const count = Math.min(len, space, k32[n + MB.m_len]);
      const src = k32[n + MB.m_data];
      ku8.copyWithin(k32[m + MB.m_data] + k32[m + MB.m_len], src, src + count);
      len -= count;
      k32[m + MB.m_len] += count;
      k32[n + MB.m_len] -= count;
      space -= count;
      if (k32[n + MB.m_len] !== 0) k32[n + MB.m_data] += count;
      else n = m_free(n);
    } while (len > 0 && n !== NULL);
    if (len > 0) {
      k32[m + MB.m_next] = NULL;
      m_free(m);
      break bad;
    }
    k32[m + MB.m_next] = n;
    return m;
  }
  m_freem(n);
  return NULL;
}
