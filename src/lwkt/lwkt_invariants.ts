/*
 * lwkt_invariants.ts: INVARIANTS checks of the LWKT layer (FreeBSD's KASSERTs under
 * `options INVARIANTS`), on when the machine boots with invariants: true (kmem's
 * H_INVARIANTS, read into shared/cpu.ts's invariants_on at attach).  Callers test the
 * flag first, so with invariants off each check costs one test of a module boolean:
 *
 *   if (invariants_on) inv_msg_enqueue(port, msg);
 *
 * What is checked (the socket layer's own checks are in kern/kern_invariants.ts):
 *
 *  - messages (msgport.h's ownership rule): a message is on at most one port queue
 *    (port_enqueue finds MSGF_QUEUED clear); it is sent only when it is not in flight
 *    (MSGF_DONE set: lwkt_initmsg and every completed reply leave it so); it is replied
 *    once (MSGF_DONE and MSGF_QUEUED clear at lwkt_replymsg, DONE still clear when the
 *    reply completes on the owner's CPU); and a wait ends with DONE and REPLY both set.
 *    So MSGF_DONE only moves forward while the message is in flight.
 *  - tokens: a thread switched out (asleep, blocked, or only preempted) owns none of the
 *    tokens it references, nor the BGL: they were released at the switch and are re-taken
 *    before it resumes (lwkt_token.ts).
 *
 * A failed check panics with "INVARIANTS: <what>" and the object.
 */

import { k32, ku8, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { panic } from '../../shared/panic.js';
import { kstr_get } from '../../shared/kstr.js';
import { TD } from './thread.js';
import { MSG, PORT, MSGF_DONE, MSGF_QUEUED, MSGF_REPLY, MSGF_NAMES, MPT_NAMES, MPT_THREAD } from '../sys/msgport.js';
import { TOK } from './lwkt_token.js';
import { KG } from '../sys/kglobals.js';
import { kmem_getstr } from '../../shared/kmem.js';
import { TD_COMM_BYTES, TD_MAXTOKENS } from '../../shared/param.js';

function hex(p: number): string { return '0x' + (p >>> 0).toString(16); }

function td_desc(td: Ptr): string {
  if (td === NULL) return 'no thread';
  return `thread ${k32[td + TD.td_id]} '${kmem_getstr(ku8, (td + TD.td_comm) * 4, TD_COMM_BYTES)}'`;
}

function port_desc(port: Ptr): string {
  if (port === NULL) return 'no port';
  const type = k32[port + PORT.mp_type];
  const own = type === MPT_THREAD ? ` of ${td_desc(k32[port + PORT.mp_td])}` : '';
  return `${MPT_NAMES[type] ?? '?'} port ${hex(port)}${own}`;
}

function msg_desc(msg: Ptr): string {
  const cmd = k32[msg + MSG.ms_cmd];
  let cmdname = '';
  if (cmd > 0) {
    try { cmdname = `, cmd '${kstr_get(cmd)}'`; } catch { cmdname = `, cmd ${cmd}`; }
  }
  return `message ${hex(msg)} (flags ${MSGF_NAMES(k32[msg + MSG.ms_flags])}${cmdname}, ` +
    `reply to ${port_desc(k32[msg + MSG.ms_reply_port])}, last target ${port_desc(k32[msg + MSG.ms_target_port])})`;
}

function fail(what: string, detail: string): never {
  return panic(`INVARIANTS: ${what}: ${detail}`);
}

/* port_enqueue: a message is on at most one port queue. */
export function inv_msg_enqueue(port: Ptr, msg: Ptr): void {
  if ((k32[msg + MSG.ms_flags] & MSGF_QUEUED) !== 0) {
    fail('message on two port queues', `${msg_desc(msg)} queued on ${port_desc(port)} while already on a queue`);
  }
}

/* lwkt_domsg / lwkt_sendmsg: only a message that is not in flight is sent. */
export function inv_msg_send(port: Ptr, msg: Ptr): void {
  const f = k32[msg + MSG.ms_flags];
  if ((f & MSGF_DONE) === 0) {
    fail('message sent while in flight', `${msg_desc(msg)} sent to ${port_desc(port)} before its reply (MSGF_DONE clear)`);
  }
  if ((f & MSGF_QUEUED) !== 0) fail('message sent while queued', `${msg_desc(msg)} sent to ${port_desc(port)}`);
}

/* lwkt_replymsg: replied once, and not while queued. */
export function inv_msg_reply(msg: Ptr): void {
  const f = k32[msg + MSG.ms_flags];
  if ((f & MSGF_DONE) !== 0) fail('MSGF_DONE went backwards', `${msg_desc(msg)} replied when already done`);
  if ((f & MSGF_QUEUED) !== 0) fail('message replied while queued', msg_desc(msg));
  if (k32[msg + MSG.ms_reply_port] === NULL) fail('message without a reply port', msg_desc(msg));
}

/* The reply completing on the reply port owner's CPU: DONE is still clear. */
export function inv_msg_complete(msg: Ptr): void {
  if ((k32[msg + MSG.ms_flags] & MSGF_DONE) !== 0) {
    fail('MSGF_DONE went backwards', `${msg_desc(msg)}: its reply completes on the owner's CPU a second time`);
  }
}

/* A wait for msg ends: DONE, after a reply. */
export function inv_msg_done(msg: Ptr): void {
  const f = k32[msg + MSG.ms_flags];
  if ((f & (MSGF_DONE | MSGF_REPLY)) !== (MSGF_DONE | MSGF_REPLY)) {
    fail('message done without a reply', `${msg_desc(msg)} ends its wait without MSGF_DONE|MSGF_REPLY`);
  }
}

/* lwkt_switch: a thread switched out holds no token (they are re-taken before it resumes). */
export function inv_switch_out(td: Ptr): void {
  const n = k32[td + TD.td_ntoks];
  if (n < 0 || n > TD_MAXTOKENS) fail('token references', `${td_desc(td)} has td_ntoks ${n}`);
  for (let i = 0; i < n; i++) {
    const tok = k32[td + TD.td_toks + i];
    if (Atomics.load(k32, tok + TOK.t_owner) === td) {
      fail('a thread switched out owns a token', `${td_desc(td)} still owns token ${hex(tok)} after lwkt_switch released its tokens`);
    }
  }
  const bgl = k32[H_OFF_GLOBALS] + KG.g_bgl;
  if (Atomics.load(k32, bgl + TOK.t_owner) === td) {
    fail('a thread switched out owns a token', `${td_desc(td)} owns the BGL without a reference to it (get_mplock not linked)`);
  }
}
