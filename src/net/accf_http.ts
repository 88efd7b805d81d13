/*
 * accf_http.ts: the "httpready" accept filter (DragonFly net/accf_http/accf_http.c): a
 * connection reaches accept() only once a whole HTTP request head has arrived.
 *
 *   sohashttpget      the data must start "GET " or "HEAD "; anything else is accepted
 *                     at once (the server deals with it);
 *   soparsehttpvers   (parse_http_version, on) the request line's third word must be
 *                     HTTP/1.0 or HTTP/1.1; a line that ends first (HTTP/0.9) is accepted;
 *   soishttpconnected the head ends with an empty line: the last three bytes are
 *                     "\n\r\n" or end in "\n\n".
 * Each stage that needs more data makes itself the upcall and returns; a full receive
 * buffer or a peer that shut down its side ends the filtering.  The chain is read in
 * place (records by m_nextpkt, mbufs by m_next) under the buffer's spinlock; the
 * decision to accept is acted on after it is dropped, since soisconnected wakes the
 * listener.
 *
 * Differs: parse_http_version is fixed on (C's sysctl net.inet.accf.http.parsehttpversion).
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { kfunc_id, kfunc_register } from '../lwkt/kfunc.js';
import { MB, mtod } from '../sys/mbuf.js';
import { SO, SSB, SSB_UPCALL, SS_CANTRCVMORE } from '../sys/socketvar.js';
import { accept_filt_add } from '../kern/uipc_accf.js';
import { soisconnected } from '../kern/uipc_socket2.js';

const PARSE_HTTP_VERSION = true;

/* What a stage decided. */
const WAIT = 0;        // more data needed: stay (or become) the upcall
const ACCEPT = 1;      // let the connection be accepted
const NEXT_VERS = 2;   // go on to soparsehttpvers
const NEXT_HEAD = 3;   // go on to soishttpconnected

/* sbfull: the receive buffer can take no more. */
function sbfull(rcv: Ptr): boolean {
  return k32[rcv + SSB.ssb_cc] >= k32[rcv + SSB.ssb_hiwat] || k32[rcv + SSB.ssb_mbcnt] >= k32[rcv + SSB.ssb_mbmax];
}

/* The receive buffer's bytes from offset `from` on, at most max, in order (a copy: the chain is walked once). */
function rcv_bytes(rcv: Ptr, max: number, from = 0): number[] {
  const out: number[] = [];
  let skip = from;
  for (let rec = k32[rcv + SSB.ssb_mb]; rec !== NULL && out.length < max; rec = k32[rec + MB.m_nextpkt]) {
    for (let m = rec; m !== NULL && out.length < max; m = k32[m + MB.m_next]) {
      const d = mtod(m), len = k32[m + MB.m_len];
      if (skip >= len) { skip -= len; continue; }
      for (let i = skip; i < len && out.length < max; i++) out.push(ku8[d + i]);
      skip = 0;
    }
  }
  return out;
}

/* Does b, from offset at, start with (all of) s?  With partial true, running out of b first also matches. */
function match_at(b: number[], at: number, s: string, partial: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    if (at + i >= b.length) return partial;
    if (b[at + i] !== s.charCodeAt(i)) return false;
  }
  return true;
}

const HEAD_MAX = 1 << 20;   // more than any receive buffer holds

function stage_get(so: Ptr, rcv: Ptr): number {
  if ((Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0 || sbfull(rcv)) return ACCEPT;
  const cc = k32[rcv + SSB.ssb_cc];
  if (cc - 1 < 1) return WAIT;
  const b = rcv_bytes(rcv, 5);
  const want = b[0] === 0x47 ? 'GET ' : b[0] === 0x48 ? 'HEAD ' : null;
  if (want === null) return ACCEPT;
  if (cc < want.length) return match_at(b, 0, want, true) ? WAIT : ACCEPT;
  if (!match_at(b, 0, want, false)) return ACCEPT;
  return PARSE_HTTP_VERSION ? NEXT_VERS : NEXT_HEAD;
}

function stage_vers(so: Ptr, rcv: Ptr): number {
  if ((Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0 || sbfull(rcv)) return ACCEPT;
  const b = rcv_bytes(rcv, HEAD_MAX);
  let spaces = 0, inspaces = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x20) {
      if (!inspaces) { spaces++; inspaces = true; }
    } else if (c === 0x0d || c === 0x0a) {
      return ACCEPT;                     // the line ended without a version: HTTP/0.9
    } else {
      if (spaces === 2) {
        if (b.length - i < 'HTTP/1.0'.length) return match_at(b, i, 'HTTP/1.', true) ? WAIT : ACCEPT;
        if (match_at(b, i, 'HTTP/1.0', false) || match_at(b, i, 'HTTP/1.1', false)) return NEXT_HEAD;
        return ACCEPT;
      }
      inspaces = false;
    }
  }
  return WAIT;
}

function stage_head(so: Ptr, rcv: Ptr): number {
  if ((Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0 || sbfull(rcv)) return ACCEPT;
  const cc = k32[rcv + SSB.ssb_cc];
  if (cc < 3) return WAIT;
  const [a, bb, c] = rcv_bytes(rcv, 3, cc - 3);     // the last three bytes (C's a, b, c)
  return c === 0x0a && (bb === 0x0a || (bb === 0x0d && a === 0x0a)) ? ACCEPT : WAIT;
}

/* Run a stage under the receive buffer's lock, then act: accept, or set the next upcall. */
function run_stage(so: Ptr, stage: (so: Ptr, rcv: Ptr) => number, self: string): void {
  const rcv = so + SO.so_rcv;
  spin_lock(rcv + SSB.ssb_spin);
  let r = stage(so, rcv), at = self;
  if (r === NEXT_VERS) { r = stage_vers(so, rcv); at = 'accf_http_vers'; }
  if (r === NEXT_HEAD) { r = stage_head(so, rcv); at = 'accf_http_head'; }
  spin_unlock(rcv + SSB.ssb_spin);
  if (r === ACCEPT) {
    k32[so + SO.so_upcall] = 0;
    Atomics.and(k32, rcv + SSB.ssb_flags, ~SSB_UPCALL);
    soisconnected(so);
    return;
  }
  // More data needed: the stage that said so is the upcall now.
  k32[so + SO.so_upcall] = kfunc_id(at);
  Atomics.or(k32, rcv + SSB.ssb_flags, SSB_UPCALL);
}

function sohashttpget(so: Ptr, _arg: number, _waitflag: number): void { run_stage(so, stage_get, 'accf_httpready'); }
function soparsehttpvers(so: Ptr, _arg: number, _waitflag: number): void { run_stage(so, stage_vers, 'accf_http_vers'); }
function soishttpconnected(so: Ptr, _arg: number, _waitflag: number): void { run_stage(so, stage_head, 'accf_http_head'); }

kfunc_register('accf_http_vers', soparsehttpvers as (...a: number[]) => unknown);
kfunc_register('accf_http_head', soishttpconnected as (...a: number[]) => unknown);
accept_filt_add({ accf_name: 'httpready', accf_callback: sohashttpget, accf_create: null, accf_destroy: null });
