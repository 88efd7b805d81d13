/*
 * lwkt_msgport_init.ts: port and message initialisers (lwkt_initport_*, lwkt_initmsg).
 * Apart from lwkt_msgport.ts so that thread creation can set up a thread's port without
 * importing the message machinery (which imports the scheduler).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { spin_init } from '../../shared/spinlock.js';
import { MSG, MSGF_DONE, MSGF_ABORTABLE, PORT, MPT_THREAD, MPT_SPIN, MPT_SERIALIZE, MPT_PUTONLY,
  MPT_REPLYONLY, MPT_REPLYONLY_NULL, MPT_PANIC } from '../sys/msgport.js';

function port_clear(port: Ptr, type: number): void {
  k32.fill(0, port, port + PORT.SIZE);
  k32[port + PORT.mp_type] = type;
}

/* A port owned by one thread: only it may get or wait; puts complete on its CPU. */
export function lwkt_initport_thread(port: Ptr, td: Ptr): void {
  port_clear(port, MPT_THREAD);
  k32[port + PORT.mp_td] = td;
}

/* A port any thread may wait on; queue guarded by a spinlock; waiters tsleep. */
export function lwkt_initport_spin(port: Ptr): void {
  port_clear(port, MPT_SPIN);
  spin_init(port + PORT.mp_spin, 'lwkt_port');
}

/* Like a spin port, but callers hold the lwkt_serialize `slz` around every operation. */
export function lwkt_initport_serialize(port: Ptr, slz: Ptr): void {
  port_clear(port, MPT_SERIALIZE);
  k32[port + PORT.mp_serialize] = slz;
}

/* A port whose put runs fn(port, msg) in the sender's thread (netmsg_sync_putport). */
export function lwkt_initport_putonly(port: Ptr, fn: number): void {
  port_clear(port, MPT_PUTONLY);
  k32[port + PORT.mp_fn] = fn;
}

/* A reply-only port whose reply runs fn(msg) (e.g. free the message). */
export function lwkt_initport_replyonly(port: Ptr, fn: number): void {
  port_clear(port, MPT_REPLYONLY);
  k32[port + PORT.mp_fn] = fn;
}

/* A reply-only port whose reply only marks the message done. */
export function lwkt_initport_replyonly_null(port: Ptr): void { port_clear(port, MPT_REPLYONLY_NULL); }

/* Every operation panics: for messages that must never be replied. */
export function lwkt_initport_panic(port: Ptr): void { port_clear(port, MPT_PANIC); }

/* lwkt_initmsg: an unsent message is DONE; replies go to rport. */
export function lwkt_initmsg(msg: Ptr, rport: Ptr, flags: number): void {
  k32[msg + MSG.ms_next] = NULL;
  k32[msg + MSG.ms_prev] = NULL;
  k32[msg + MSG.ms_target_port] = NULL;
  k32[msg + MSG.ms_reply_port] = rport;
  k32[msg + MSG.ms_abortfn] = 0;
  k32[msg + MSG.ms_error] = 0;
  k32[msg + MSG.ms_flags] = MSGF_DONE | flags;
}

export function lwkt_initmsg_abortable(msg: Ptr, rport: Ptr, flags: number, abortfn: number): void {
  lwkt_initmsg(msg, rport, flags | MSGF_ABORTABLE);
  k32[msg + MSG.ms_abortfn] = abortfn;
}
