/*
 * kern_invariants.ts: INVARIANTS checks of the socket layer (FreeBSD's KASSERTs under
 * `options INVARIANTS`), on when the machine boots with invariants: true (kmem's
 * H_INVARIANTS, read into shared/cpu.ts's invariants_on at attach).  Callers test the
 * flag, so with invariants off a check costs one test of a module boolean.
 *
 *  - sbcheck: after (and before) every append to and drop from a socket buffer
 *    (sbappend, sbappendstream, sbappendrecord, sbappendaddr, sbappendcontrol, sbcompress,
 *    sbdrop, sbdroprecord; sbflush through sbdrop), ssb_cc equals the sum of m_len over
 *    the whole queue (MT_SONAME and MT_CONTROL mbufs included) and ssb_mbcnt equals its
 *    storage as sballoc charges it: MSIZE per mbuf plus m_ext_size for each with M_EXT;
 *    ssb_lastrecord and ssb_lastmbuf point at the last record and its last mbuf.  It is
 *    uipc_sockbuf.ts's SOCKBUF_DEBUG walk (_sbcheck), with a report naming the buffer.
 *  - listen queues: wherever so_qlen or so_incqlen changes (sonewconn, soisconnected,
 *    sofree, soclose, accept's predicate), each equals the real length of its queue, and
 *    every socket on a queue names the listener as so_head and carries SS_COMP or
 *    SS_INCOMP to match.
 *
 * (The LWKT layer's checks, messages and tokens, are in lwkt/lwkt_invariants.ts.)  A
 * failed check panics with "INVARIANTS: <what>: <object and figures>".
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { panic } from '../../shared/panic.js';
import { SO, SSB, SS_COMP, SS_INCOMP } from '../sys/socketvar.js';
import { MB, MSIZE, M_EXT } from '../sys/mbuf.js';
import { hex, sockbuf_label, whatis } from './kern_whatis.js';
import { witness_stack } from './subr_witness.js';

const WALK_MAX = 1 << 22;            // mbufs one walk visits before it calls the queue a loop

function fail(what: string, detail: string): never {
  return panic(`INVARIANTS: ${what}: ${detail}`);
}

/* The sockbuf routines the check was called from ("in sbcompress <- sbappend"), from the stack. */
function sb_caller(): string {
  const names: string[] = [];
  for (const f of witness_stack(12)) {
    const name = f.split(' ')[0];
    if (/^sb[a-z_]+$/.test(name) && !/^sbcheck/.test(name) && name !== 'sb_caller') names.push(name);
    else if (names.length > 0) break;
  }
  return names.length > 0 ? ` (in ${names.join(' <- ')})` : '';
}

/* sbcheck under INVARIANTS: the sockbuf's counters against its mbufs. */
export function sbcheck_inv(sb: Ptr): void {
  let len = 0, mbcnt = 0, nmb = 0, nrec = 0;
  let lastrec = NULL, lastmb = NULL;
  for (let rec = k32[sb + SSB.ssb_mb]; rec !== NULL; rec = k32[rec + MB.m_nextpkt]) {
    nrec++;
    lastrec = rec;
    for (let m = rec; m !== NULL; m = k32[m + MB.m_next]) {
      if (++nmb > WALK_MAX) fail('sockbuf queue', `${sockbuf_label(k32, sb)}: the mbuf chain loops${sb_caller()}`);
      len += k32[m + MB.m_len];
      mbcnt += MSIZE;
      if ((k32[m + MB.m_flags] & M_EXT) !== 0) mbcnt += k32[m + MB.m_ext_size];
      lastmb = m;
    }
  }
  const cc = k32[sb + SSB.ssb_cc];
  const mc = k32[sb + SSB.ssb_mbcnt];
  if (cc !== len || mc !== mbcnt) {
    const what = cc !== len ? `ssb_cc ${cc} != ${len}, the sum of m_len` : `ssb_mbcnt ${mc} != ${mbcnt}, MSIZE per mbuf plus each cluster`;
    fail('sockbuf accounting', `${sockbuf_label(k32, sb)}: ${what} over its ${nmb} mbufs in ${nrec} records ` +
      `(ssb_cc ${cc}, ssb_mbcnt ${mc}; counted ${len} and ${mbcnt})${sb_caller()}`);
  }
  if (k32[sb + SSB.ssb_lastrecord] !== lastrec) {
    fail('sockbuf queue', `${sockbuf_label(k32, sb)}: ssb_lastrecord ${hex(k32[sb + SSB.ssb_lastrecord])}, the last record is ${hex(lastrec)}${sb_caller()}`);
  }
  if (k32[sb + SSB.ssb_lastmbuf] !== lastmb) {
    fail('sockbuf queue', `${sockbuf_label(k32, sb)}: ssb_lastmbuf ${hex(k32[sb + SSB.ssb_lastmbuf])}, the last mbuf is ${hex(lastmb)}${sb_caller()}`);
  }
}

function queue_len(head: Ptr, q: number, state: number, qname: string): number {
  let n = 0;
  for (let so = k32[head + q]; so !== NULL; so = k32[so + SO.so_list]) {
    if (++n > 1 << 16) fail('listen queue', `${qname} of listener ${whatis(k32, ku8, head)} loops`);
    if (k32[so + SO.so_head] !== head) {
      fail('listen queue', `${whatis(k32, ku8, so)} on ${qname} of listener ${hex(head)} has so_head ${hex(k32[so + SO.so_head])}`);
    }
    if ((k32[so + SO.so_state] & state) === 0) {
      fail('listen queue', `${whatis(k32, ku8, so)} on ${qname} of listener ${hex(head)} lacks ${state === SS_COMP ? 'SS_COMP' : 'SS_INCOMP'}`);
    }
  }
  return n;
}

/* A listener's so_qlen and so_incqlen against its queues. */
export function so_queues_inv(head: Ptr): void {
  const comp = queue_len(head, SO.so_comp, SS_COMP, 'so_comp');
  const incomp = queue_len(head, SO.so_incomp, SS_INCOMP, 'so_incomp');
  const qlen = k32[head + SO.so_qlen], incqlen = k32[head + SO.so_incqlen];
  if (qlen !== comp || incqlen !== incomp) {
    fail('listen queue lengths', `listener ${whatis(k32, ku8, head)}: so_qlen ${qlen} (so_comp holds ${comp}), ` +
      `so_incqlen ${incqlen} (so_incomp holds ${incomp})\n at:\n${witness_stack(6).map((f, i) => `   #${i} ${f}`).join('\n')}`);
  }
}
