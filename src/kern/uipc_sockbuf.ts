/*
 * uipc_sockbuf.ts: routines to add and remove data from an mbuf queue (a sockbuf).
 * Mirrors DragonFly sys/kern/uipc_sockbuf.c (2008) function for function, in its order,
 * after the sockbuf macros of sys/sockbuf.h (sballoc, sbfree) and the signalsockbuf
 * inlines of sys/socketvar.h (ssb_space, ssb_appendaddr, ssb_appendcontrol).
 * Differs where kmem forces it: a sockbuf is the struct sockbuf at the head of a struct
 * signalsockbuf (SSB in sys/socketvar.ts), so `sb` and `ssb` are the same kmem pointer;
 * a sockaddr is passed as the kmem byte address of its bytes (sa_len first); the out
 * argument of sbunlinkmbuf becomes a value in and the caller's own update (see there).
 * The SOCKBUF_DEBUG checks (_sbcheck) run when sockbuf_debug_set(true) asks for them.
 *
 * The queue: records linked by m_nextpkt from ssb_mb; the mbufs of a record linked by
 * m_next.  ssb_lastrecord is the first mbuf of the last record, ssb_lastmbuf the last mbuf
 * of the last record (both NULL when empty).  ssb_cc counts the m_len of every mbuf,
 * MT_SONAME and MT_CONTROL included; ssb_mbcnt counts MSIZE per mbuf plus the cluster
 * size of each one with M_EXT (dragonfly.md 4.2, 9.1 item 8).
 *
 * Callers hold whatever guards the sockbuf (the BGL or the sockbuf's lock, DESIGN 7).
 * Nothing here blocks or allocates a JS object.
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { crit_enter, crit_exit } from '../lwkt/lwkt_thread.js';
import { SSB, SSB_STOP } from '../sys/socketvar.js';
import {
  MB, MSIZE, MLEN, MCLBYTES, M_EXT, M_EOR, M_PKTHDR, MT_SONAME, MT_CONTROL, MB_DONTWAIT, M_WRITABLE,
  M_TRAILINGSPACE,
} from '../sys/mbuf.js';
import { m_free, m_freem, m_get, m_getl } from './uipc_mbuf.js';
import { invariants_on } from '../../shared/cpu.js';
import { sbcheck_inv } from './kern_invariants.js';

/* SOCKBUF_DEBUG: walk the whole queue on entry to and exit from each routine. */
let sockbuf_debug = false;
export function sockbuf_debug_set(on: boolean): void { sockbuf_debug = on; }

/* Bound on the mbufs one sockbuf walk may visit before it calls the queue a cycle. */
const SBCHECK_MBUFS_MAX = 1 << 24;

/* ---- sys/sockbuf.h ---- */

/* sballoc: charge mbuf m to sb: its data to ssb_cc, its storage to ssb_mbcnt. */
export function sballoc(sb: Ptr, m: Ptr): void {
  k32[sb + SSB.ssb_cc] += k32[m + MB.m_len];
  k32[sb + SSB.ssb_mbcnt] += m_storage(m);
}

/* m_storage: the bytes of storage m takes (MSIZE, plus its cluster). */
function m_storage(m: Ptr): number {
  return (k32[m + MB.m_flags] & M_EXT) !== 0 ? MSIZE + k32[m + MB.m_ext_size] : MSIZE;
}

/* SBLINKRECORD: m (its first mbuf) becomes sb's last record. */
function SBLINKRECORD(sb: Ptr, m: Ptr): void {
  if (k32[sb + SSB.ssb_mb] === NULL) k32[sb + SSB.ssb_mb] = m;
  else k32[k32[sb + SSB.ssb_lastrecord] + MB.m_nextpkt] = m;
  k32[sb + SSB.ssb_lastrecord] = m;
}

/* sbfree: the reverse of sballoc. */
export function sbfree(sb: Ptr, m: Ptr): void {
  k32[sb + SSB.ssb_cc] -= k32[m + MB.m_len];
  k32[sb + SSB.ssb_mbcnt] -= m_storage(m);
}

/* ---- sys/socketvar.h ---- */

/*
 * ssb_space: bytes that may still be queued: 0 under back-pressure (SSB_STOP), else
 * min(hiwat - cc, mbmax - mbcnt), signed: a buffer filled past a limit gives a negative
 * number.  SSB_STOP may be set from another CPU, hence the atomic read of the flags.
 */
export function ssb_space(ssb: Ptr): number {
  if ((Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_STOP) !== 0) return 0;
  return Math.min(k32[ssb + SSB.ssb_hiwat] - k32[ssb + SSB.ssb_cc],
    k32[ssb + SSB.ssb_mbmax] - k32[ssb + SSB.ssb_mbcnt]);
}

/*
 * ssb_appendaddr: sbappendaddr unless the buffer has no space left (ssb_space <= 0), in
 * which case 0 and the caller still owns m and control.  Only "no space at all" refuses:
 * a record larger than the space left is appended whole (dragonfly.md 5.6).
 */
export function ssb_appendaddr(ssb: Ptr, asa: number, m0: Ptr, control: Ptr): number {
  if (ssb_space(ssb) <= 0) return 0;
  return sbappendaddr(ssb, asa, m0, control);
}

/* ssb_appendcontrol: sbappendcontrol unless ssb_space <= 0 (then 0, nothing taken). */
export function ssb_appendcontrol(ssb: Ptr, m0: Ptr, control: Ptr): number {
  if (ssb_space(ssb) <= 0) return 0;
  return sbappendcontrol(ssb, m0, control);
}

/* ---- sys/kern/uipc_sockbuf.c ---- */

/*
 * sbappend: append chain m to the last record of sb, compressing it into the tail where
 * it can (sbcompress).  If the last record's first or last mbuf has M_EOR, m starts a new
 * record instead.  No space check: the caller decided.  Stream data comes this way.
 */
export function sbappend(sb: Ptr, m: Ptr): void {
  if (m === NULL) return;
  let n = k32[sb + SSB.ssb_lastrecord];
  if (n !== NULL && (k32[n + MB.m_flags] & M_EOR) !== 0) {
    sbappendrecord(sb, m);
    return;
  }
  n = k32[sb + SSB.ssb_lastmbuf];
  if (n !== NULL && (k32[n + MB.m_flags] & M_EOR) !== 0) {
    sbappendrecord(sb, m);
    return;
  }
  sbcompress(sb, m, n);
}

/*
 * sbappendstream: sbappend for a protocol with a single record and no control data (TCP);
 * such a protocol uses it exclusively.
 */
export function sbappendstream(sb: Ptr, m: Ptr): void {
  KASSERT(m !== NULL, 'sbappendstream: NULL mbuf');
  KASSERT(k32[m + MB.m_nextpkt] === NULL, 'sbappendstream: m_nextpkt set');
  sbcompress(sb, m, k32[sb + SSB.ssb_lastmbuf]);
}

function sbcheck(sb: Ptr): void {
  if (sockbuf_debug) _sbcheck(sb);
  else if (invariants_on) sbcheck_inv(sb);   // INVARIANTS (kern_invariants.ts): the same walk, a report naming the buffer
}

/*
 * _sbcheck: walk the whole queue and panic unless ssb_cc and ssb_mbcnt equal what the
 * mbufs add up to and ssb_lastrecord / ssb_lastmbuf point where they must.  O(queue).
 */
export function _sbcheck(sb: Ptr): void {
  let len = 0;
  let mbcnt = 0;
  let visited = 0;
  let n: Ptr;
  for (let m = k32[sb + SSB.ssb_mb]; m !== NULL; m = n) {
    n = k32[m + MB.m_nextpkt];
    if (n === NULL && k32[sb + SSB.ssb_lastrecord] !== m) panic('sbcheck1: mismatched lastrecord');
    for (; m !== NULL; m = k32[m + MB.m_next]) {
      if (++visited > SBCHECK_MBUFS_MAX) panic('sbcheck: the queue loops');
      len += k32[m + MB.m_len];
      mbcnt += MSIZE;
      if ((k32[m + MB.m_flags] & M_EXT) !== 0) mbcnt += k32[m + MB.m_ext_size];
      if (n === NULL && k32[m + MB.m_next] === NULL && k32[sb + SSB.ssb_lastmbuf] !== m) {
        panic('sbcheck2: mismatched lastmbuf');
      }
    }
  }
  if (k32[sb + SSB.ssb_mb] === NULL) {
    if (k32[sb + SSB.ssb_lastrecord] !== NULL) panic('sbcheck3: empty, lastrecord not NULL');
    if (k32[sb + SSB.ssb_lastmbuf] !== NULL) panic('sbcheck4: empty, lastmbuf not NULL');
  }
  if (len !== k32[sb + SSB.ssb_cc]) panic('sbcheck5: ssb_cc ' + k32[sb + SSB.ssb_cc] + ' != ' + len);
  if (mbcnt !== k32[sb + SSB.ssb_mbcnt]) panic('sbcheck5: ssb_mbcnt ' + k32[sb + SSB.ssb_mbcnt] + ' != ' + mbcnt);
}

/*
 * sbappendrecord: as sbappend, but chain m0 always begins a new record.  The first mbuf
 * is linked as the record's head whatever its length (zero-length records are allowed);
 * the rest is compressed in after it.  An M_EOR on the first mbuf moves to the second so
 * that sbcompress carries it to the record's last mbuf.
 */
export function sbappendrecord(sb: Ptr, m0: Ptr): void {
  if (m0 === NULL) return;
  sbcheck(sb);
  // Break the first mbuf off from the rest of the chain.
  const firstmbuf = m0;
  const secondmbuf = k32[m0 + MB.m_next];
  k32[m0 + MB.m_next] = NULL;
  // Insert it as the last record, keeping the sockbuf consistent.
  SBLINKRECORD(sb, firstmbuf);
  k32[sb + SSB.ssb_lastmbuf] = firstmbuf;
  // Propagate the EOR flag so that sbcompress picks it up.
  if ((k32[firstmbuf + MB.m_flags] & M_EOR) !== 0 && secondmbuf !== NULL) {
    k32[firstmbuf + MB.m_flags] &= ~M_EOR;
    k32[secondmbuf + MB.m_flags] |= M_EOR;
  }
  // sbcompress does not account for the first mbuf: do it here.
  sballoc(sb, firstmbuf);
  sbcompress(sb, secondmbuf, firstmbuf);
}

/*
 * sbappendaddr: append a record of the sender's address, then control (may be NULL),
 * then data m0 (may be NULL; else it must have a packet header).  asa is the kmem byte
 * address of a struct sockaddr; its first byte, sa_len, says how many bytes it has.  The
 * address goes into a fresh MT_SONAME mbuf.  Every mbuf is charged as it is: no
 * compression, so ssb_cc grows by sa_len plus the control and data lengths.  Returns 1,
 * or 0 when sa_len > MLEN or no mbuf is free; with 0 the caller still owns m0 and
 * control.  No space check (see ssb_appendaddr).
 */
export function sbappendaddr(sb: Ptr, asa: number, m0: Ptr, control: Ptr): number {
  if (m0 !== NULL && (k32[m0 + MB.m_flags] & M_PKTHDR) === 0) panic('sbappendaddr: m0 has no packet header');
  sbcheck(sb);
  let n = control;
  if (n !== NULL) while (k32[n + MB.m_next] !== NULL) n = k32[n + MB.m_next];   // last control mbuf
  const sa_len = ku8[asa];
  if (sa_len > MLEN) return 0;
  let m = m_get(MB_DONTWAIT, MT_SONAME);
  if (m === NULL) return 0;
  KASSERT(k32[m + MB.m_nextpkt] === NULL, 'sbappendaddr: fresh mbuf has m_nextpkt');
  k32[m + MB.m_len] = sa_len;
  ku8.copyWithin(k32[m + MB.m_data], asa, asa + sa_len);
  if (n !== NULL) k32[n + MB.m_next] = m0;     // concatenate data to control
  else control = m0;
  k32[m + MB.m_next] = control;
  for (n = m; n !== NULL; n = k32[n + MB.m_next]) sballoc(sb, n);
  SBLINKRECORD(sb, m);
  sb_lastmbuf_eor(sb, m);
  sbcheck(sb);
  return 1;
}

/*
 * The new last record's chain from m: M_EOR, wherever it was, moves to the last mbuf,
 * which becomes ssb_lastmbuf for sbappend to find.
 */
function sb_lastmbuf_eor(sb: Ptr, m: Ptr): void {
  let eor = k32[m + MB.m_flags];
  while (k32[m + MB.m_next] !== NULL) {
    k32[m + MB.m_flags] &= ~M_EOR;
    m = k32[m + MB.m_next];
    eor |= k32[m + MB.m_flags];
  }
  k32[m + MB.m_flags] |= eor & M_EOR;
  k32[sb + SSB.ssb_lastmbuf] = m;
}

/*
 * sbappendcontrol: append a record of control (not NULL) followed by data m0 (not NULL).
 * Charged as it is, without compression.  Always returns 1.
 * Here: ssb_lastmbuf becomes the last mbuf of m0, and M_EOR moves there, as in later
 * DragonFly.  Earlier text set ssb_lastmbuf = m0, the first data mbuf: right only when
 * m0 is a single mbuf (as sosend's one-mbuf stream sends make it); with more, _sbcheck
 * fails and a later sbappend would link after an mbuf in mid-record, cutting the chain.
 */
export function sbappendcontrol(sb: Ptr, m0: Ptr, control: Ptr): number {
  KASSERT(control !== NULL, 'sbappendcontrol: NULL control');
  KASSERT(k32[control + MB.m_nextpkt] === NULL, 'sbappendcontrol: control has m_nextpkt');
  KASSERT(m0 !== NULL, 'sbappendcontrol: NULL data');
  sbcheck(sb);
  let n = control;
  while (k32[n + MB.m_next] !== NULL) n = k32[n + MB.m_next];
  k32[n + MB.m_next] = m0;                     // concatenate data to control
  for (let m = control; m !== NULL; m = k32[m + MB.m_next]) sballoc(sb, m);
  SBLINKRECORD(sb, control);
  sb_lastmbuf_eor(sb, m0);
  sbcheck(sb);
  return 1;
}

/*
 * sbcompress: link chain m into sb after tailm (NULL: sb is empty), charging each mbuf
 * linked.  Empty mbufs are dropped unless one carries an end of record with no following
 * mbuf (or tailm) of its type to pass it to.  An mbuf is copied into tailm instead of
 * linked when tailm has no M_EOR, its data is not shared, m has at most MCLBYTES/4 bytes,
 * they fit in tailm's trailing space and the types match: ssb_cc grows, ssb_mbcnt does
 * not.  M_EOR ends up on the last mbuf only.  Dropped and copied mbufs are freed at the
 * end, after the sockbuf is consistent again (C defers them because m_free could block).
 */
export function sbcompress(sb: Ptr, m: Ptr, tailm: Ptr): void {
  let eor = 0;
  let free_chain = NULL;
  sbcheck(sb);
  while (m !== NULL) {
    const flags = k32[m + MB.m_flags];
    const len = k32[m + MB.m_len];
    const type = k32[m + MB.m_type];
    eor |= flags & M_EOR;
    // Disregard an empty mbuf unless it ends a record and nothing of its type follows
    // (m_next, else tailm) to carry the EOR.
    if (len === 0) {
      let o = k32[m + MB.m_next];
      if (o === NULL) o = tailm;
      if (eor === 0 || (o !== NULL && k32[o + MB.m_type] === type)) {
        o = k32[m + MB.m_next];
        k32[m + MB.m_next] = free_chain;
        free_chain = m;
        m = o;
        continue;
      }
    }
    // Coalesce with the preceding mbuf; never into an end of record.
    if (tailm !== NULL && (k32[tailm + MB.m_flags] & M_EOR) === 0 && M_WRITABLE(tailm) &&
        len <= MCLBYTES / 4 && len <= M_TRAILINGSPACE(tailm) && k32[tailm + MB.m_type] === type) {
      const src = k32[m + MB.m_data];
      ku8.copyWithin(k32[tailm + MB.m_data] + k32[tailm + MB.m_len], src, src + len);
      k32[tailm + MB.m_len] += len;
      k32[sb + SSB.ssb_cc] += len;
      const o = k32[m + MB.m_next];
      k32[m + MB.m_next] = free_chain;
      free_chain = m;
      m = o;
      continue;
    }
    // Insert the whole mbuf.
    if (tailm === NULL) {
      KASSERT(k32[sb + SSB.ssb_mb] === NULL, 'sbcompress: sb_mb not NULL');
      k32[sb + SSB.ssb_mb] = m;               // only mbuf in the sockbuf
      k32[sb + SSB.ssb_lastrecord] = m;       // new last record
    } else {
      k32[tailm + MB.m_next] = m;
    }
    k32[sb + SSB.ssb_lastmbuf] = m;
    tailm = m;
    m = k32[m + MB.m_next];
    k32[tailm + MB.m_next] = NULL;            // split the inserted mbuf off the chain
    sballoc(sb, tailm);
    k32[tailm + MB.m_flags] &= ~M_EOR;        // EOR only on the last mbuf, below
  }
  if (eor !== 0) {
    // C prints "semi-panic: sbcompress" when there is no tail to carry it; that needs an
    // empty EOR mbuf dropped with nothing before it, which the test above never does.
    KASSERT(tailm !== NULL, 'sbcompress: EOR with no mbuf to carry it');
    k32[tailm + MB.m_flags] |= eor;
  }
  while (free_chain !== NULL) free_chain = m_free(free_chain);
  sbcheck(sb);
}

/*
 * sbflush: free every mbuf of sb, then assert that every counter and pointer is zero.
 * A leading mbuf with data while ssb_cc is 0 would loop forever: the loop stops and the
 * assertions panic instead.
 */
export function sbflush(sb: Ptr): void {
  // Each pass frees at least one mbuf or stops: bounded by the mbufs queued.
  while (k32[sb + SSB.ssb_mbcnt] !== 0) {
    const cc = k32[sb + SSB.ssb_cc];
    const mb = k32[sb + SSB.ssb_mb];
    if (cc === 0 && (mb === NULL || k32[mb + MB.m_len] !== 0)) break;
    sbdrop(sb, cc);
  }
  KASSERT(k32[sb + SSB.ssb_cc] === 0, 'sbflush: ssb_cc not 0');
  KASSERT(k32[sb + SSB.ssb_mb] === NULL, 'sbflush: ssb_mb not NULL');
  KASSERT(k32[sb + SSB.ssb_mbcnt] === 0, 'sbflush: ssb_mbcnt not 0');
  KASSERT(k32[sb + SSB.ssb_lastmbuf] === NULL, 'sbflush: ssb_lastmbuf not NULL');
  KASSERT(k32[sb + SSB.ssb_lastrecord] === NULL, 'sbflush: ssb_lastrecord not NULL');
}

/*
 * sbdrop: drop len bytes from the front of sb, crossing into the next record when one
 * is used up, then unlink the empty mbufs left at the front of the current record.
 * A partly dropped mbuf keeps its tail (m_data advances).  The mbufs are freed after the
 * critical section.
 */
export function sbdrop(sb: Ptr, len: number): void {
  KASSERT(len >= 0, 'sbdrop: len < 0');
  KASSERT(len <= k32[sb + SSB.ssb_cc], 'sbdrop: len > ssb_cc');
  let free_chain = NULL;
  sbcheck(sb);
  crit_enter();
  let m = k32[sb + SSB.ssb_mb];
  while (m !== NULL && len > 0) {
    const mlen = k32[m + MB.m_len];
    if (mlen > len) {
      k32[m + MB.m_len] = mlen - len;
      k32[m + MB.m_data] += len;
      k32[sb + SSB.ssb_cc] -= len;
      break;
    }
    len -= mlen;
    const n = sbunlinkmbuf(sb, m, free_chain);
    free_chain = m;
    m = n;
    if (m === NULL && len !== 0) m = k32[sb + SSB.ssb_mb];
  }
  // Remove the 0-length mbufs now leading the current record.  If the last record data
  // was removed from is now empty, m is NULL.
  while (m !== NULL && k32[m + MB.m_len] === 0) {
    const n = sbunlinkmbuf(sb, m, free_chain);
    free_chain = m;
    m = n;
  }
  crit_exit();
  if (free_chain !== NULL) m_freem(free_chain);
  KASSERT(k32[sb + SSB.ssb_cc] >= 0, 'sbdrop: ssb_cc < 0 after drop');
  sbcheck(sb);
}

/*
 * sbdroprecord: free the first record of sb whole; the next becomes the first.  Caller
 * holds a critical section (or the sockbuf's lock).
 */
export function sbdroprecord(sb: Ptr): void {
  sbcheck(sb);
  const m = k32[sb + SSB.ssb_mb];
  if (m === NULL) return;
  const next = k32[m + MB.m_nextpkt];
  k32[sb + SSB.ssb_mb] = next;
  if (next === NULL) {
    k32[sb + SSB.ssb_lastrecord] = NULL;
    k32[sb + SSB.ssb_lastmbuf] = NULL;
  }
  k32[m + MB.m_nextpkt] = NULL;
  for (let n = m; n !== NULL; n = k32[n + MB.m_next]) sbfree(sb, n);
  m_freem(m);
  sbcheck(sb);
}

/*
 * sbunlinkmbuf: unlink m, which must be the first mbuf of sb, and uncharge it.  Returns
 * the next mbuf of the same record, or NULL when the record is used up (other records
 * may remain).  m is pushed onto the caller's free chain: its m_next becomes free_chain
 * (the chain's head, NULL for an empty chain or for none) and the caller then takes m as
 * the new head:
 *
 *   const n = sbunlinkmbuf(sb, m, free_chain); free_chain = m; m = n;
 *
 * (C passes &free_chain and does the second step itself.)  Caller holds a critical
 * section (or the sockbuf's lock).
 */
export function sbunlinkmbuf(sb: Ptr, m: Ptr, free_chain: Ptr): Ptr {
  KASSERT(k32[sb + SSB.ssb_mb] === m, 'sbunlinkmbuf: m is not the first mbuf');
  sbfree(sb, m);
  const n = k32[m + MB.m_next];
  if (n !== NULL) {
    k32[sb + SSB.ssb_mb] = n;
    if (k32[sb + SSB.ssb_lastrecord] === m) k32[sb + SSB.ssb_lastrecord] = n;
    KASSERT(k32[sb + SSB.ssb_lastmbuf] !== m, 'sbunlinkmbuf: lastmbuf has a successor');
    k32[n + MB.m_nextpkt] = k32[m + MB.m_nextpkt];
  } else {
    const next = k32[m + MB.m_nextpkt];
    k32[sb + SSB.ssb_mb] = next;
    if (k32[sb + SSB.ssb_lastrecord] === m) {
      KASSERT(next === NULL, 'sbunlinkmbuf: last record has a successor');
      k32[sb + SSB.ssb_lastrecord] = NULL;
    }
    if (next === NULL) k32[sb + SSB.ssb_lastmbuf] = NULL;
  }
  k32[m + MB.m_nextpkt] = NULL;
  k32[m + MB.m_next] = free_chain;
  return n;
}

/*
 * struct cmsghdr on i386: cmsg_len, cmsg_level, cmsg_type, 4 bytes each; data follows,
 * aligned to 4 (_ALIGNBYTES 3).  (These belong to sys/socket.h; kept private here until
 * sys/socket.ts has them.)
 */
const CMSG_HDR_BYTES = 12;
function cmsg_align(n: number): number { return (n + 3) & ~3; }

/*
 * sbcreatecontrol: an MT_CONTROL mbuf holding one cmsghdr (level, type) and size bytes of
 * data from p (p NULL: left zero), m_len CMSG_SPACE(size).  NULL when CMSG_SPACE(size)
 * exceeds MCLBYTES or no mbuf is free.  Never blocks.
 */
export function sbcreatecontrol(p: Uint8Array | null, size: number, type: number, level: number): Ptr {
  KASSERT(size >= 0, 'sbcreatecontrol: size < 0');
  KASSERT(p === null || p.length >= size, 'sbcreatecontrol: p shorter than size');
  const space = CMSG_HDR_BYTES + cmsg_align(size);
  if (space > MCLBYTES) return NULL;
  const m = m_getl(space, MB_DONTWAIT, MT_CONTROL, 0);
  if (m === NULL) return NULL;
  k32[m + MB.m_len] = space;
  const cp = k32[m + MB.m_data];               // 4-aligned: m_dat and cluster data are
  if (p !== null && size > 0) ku8.set(size === p.length ? p : p.subarray(0, size), cp + CMSG_HDR_BYTES);
  k32[cp >> 2] = CMSG_HDR_BYTES + size;       // cmsg_len = CMSG_LEN(size)
  k32[(cp >> 2) + 1] = level;
  k32[(cp >> 2) + 2] = type;
  return m;
}
