/*
 * lwkt_msgport.ts: LWKT messages and ports (DragonFly kern/lwkt_msgport.c, 2008).
 *
 * lwkt_domsg(port, msg) sends synchronously: the reply never queues, it sets MSGF_DONE
 * and wakes the waiter.  lwkt_sendmsg sends asynchronously: the reply queues on the reply
 * port with DONE|REPLY|QUEUED for its owner to collect with lwkt_getport, lwkt_waitport
 * or lwkt_waitmsg.  A put or reply to a thread port owned by a thread on another CPU is
 * completed on that CPU by an IPI, so MSGF_DONE is only ever set on the owner's CPU and a
 * message can be seen REPLY-but-not-DONE in between.  Wake-ups are sent only when the
 * port says its owner waits (MSGPORTF_WAITING), which the owner sets inside the critical
 * section in which it tests DONE, so none is lost.
 *
 * Port kinds (the function vectors of C are the mp_type switch here):
 *   thread     one owner thread; puts and replies complete on its CPU
 *   spin       any thread may wait; queue under a spinlock; waiters tsleep
 *   serialize  like spin, callers hold the port's lwkt_serialize
 *   putonly    put runs a function in the sender's thread (the netmsg sync port)
 *   replyonly  reply runs a function (autofree) or only marks DONE (replyonly_null)
 *   panic      everything panics
 */

import { sched_want, SP_MSG_PUT, SP_MSG_REPLY } from './lwkt_schedpt.js';
import { k32, kf64, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { TAILQ_INSERT_TAIL, TAILQ_REMOVE } from '../../shared/tailq.js';
import { PC } from '../../shared/pcpu.js';
import { DONE_VOID, SWITCH_ONCE, done_count, done_num, done_value, is_done, type Blocking } from '../../shared/effect.js';
import { Cont, FINISHED } from '../../shared/cont.js';
import { FreeList } from '../../shared/freelist.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { EINTR } from '../../shared/errno.js';
import { spin_lock, spin_lock_contested, spin_trylock, spin_unlock } from '../../shared/spinlock.js';
import { Z_MSG, ZFREE_MAGIC, zalloc, zfree } from '../../shared/zone.js';
import {
  MSG, PORT, EASYNC, MSGF_DONE, MSGF_REPLY, MSGF_QUEUED, MSGF_SYNC, MSGF_DROPABLE, MSGF_ABORTABLE,
  MSGF_PRIORITY, MSGPORTF_WAITING, MPT_THREAD, MPT_SPIN, MPT_SERIALIZE, MPT_PUTONLY, MPT_REPLYONLY,
  MPT_REPLYONLY_NULL, MPT_NAMES,
} from '../sys/msgport.js';
import { TD, TDF_EXITED } from './thread.js';
import { KG } from '../sys/kglobals.js';
import { mycpu } from './globaldata.js';
import { crit_enter, crit_exit, lwkt_schedule } from './lwkt_thread.js';
import { lwkt_send_ipiq3 } from './lwkt_ipiq.js';
import { PCATCH, lwkt_sleep_done, lwkt_sleep_prep, msleep, tsleep, tsleep_interlock, wakeup } from './kern_synch.js';
import { kstr_intern } from '../../shared/kstr.js';
import { invariants_on } from '../../shared/cpu.js';
import { inv_msg_complete, inv_msg_done, inv_msg_enqueue, inv_msg_reply, inv_msg_send } from './lwkt_invariants.js';
import { kfunc_get, kfunc_on_attach, kfunc_register } from './kfunc.js';
import { lwkt_serialize_enter, lwkt_serialize_exit, lwkt_serialize_held } from './lwkt_serialize.js';
import {
  lwkt_initmsg, lwkt_initport_panic, lwkt_initport_replyonly, lwkt_initport_replyonly_null,
} from './lwkt_msgport_init.js';

export * from './lwkt_msgport_init.js';

/*
 * Message flags are read and written plainly: only the message's current owner touches
 * it, and every hand-over between CPUs goes through an IPI ring, whose Atomics publish
 * (write index) and consume order everything written before.  The one racy reader,
 * lwkt_abortmsg's DONE|REPLY test on the originating CPU, is racy in DragonFly too: the
 * target re-tests under its own serialisation.  (An Atomics op costs ~13 ns here, a plain
 * access ~2: a round trip touches the flags a dozen times.)
 */
function msg_flags(msg: Ptr): number { return k32[msg + MSG.ms_flags]; }
function msg_set(msg: Ptr, bits: number): void { k32[msg + MSG.ms_flags] |= bits; }
function msg_clr(msg: Ptr, bits: number): void { k32[msg + MSG.ms_flags] &= ~bits; }

/* ---- port queues (guarded by whoever owns the port: its CPU, spinlock or serializer) ---- */

function port_enqueue(port: Ptr, msg: Ptr): void {
  if (invariants_on) inv_msg_enqueue(port, msg);
  const prio = (k32[msg + MSG.ms_flags] & MSGF_PRIORITY) !== 0;
  TAILQ_INSERT_TAIL(port + (prio ? PORT.mp_prioq_head : PORT.mp_msgq_head), msg, MSG.ms_next);
  msg_set(msg, MSGF_QUEUED);
}

function port_remove(port: Ptr, msg: Ptr): void {
  const prio = (k32[msg + MSG.ms_flags] & MSGF_PRIORITY) !== 0;
  TAILQ_REMOVE(port + (prio ? PORT.mp_prioq_head : PORT.mp_msgq_head), msg, MSG.ms_next);
  msg_clr(msg, MSGF_QUEUED);
}

/* Dequeue the first message, priority queue first; NULL if none. */
function port_dequeue(port: Ptr): Ptr {
  let msg = k32[port + PORT.mp_prioq_head];
  if (msg === NULL) msg = k32[port + PORT.mp_msgq_head];
  if (msg !== NULL) {
    port_remove(port, msg);
    kf64[(mycpu.pcpu + PC.pc_msgs_recv_f64) >> 1]++;
  }
  return msg;
}

function port_lock(port: Ptr): Blocking<void> {
  const l = port + PORT.mp_spin;
  if (spin_trylock(l)) return DONE_VOID;
  return spin_lock_contested(l);
}

/* ---- put ---- */

/*
 * The putport backends for every kind but putonly.  Returns EASYNC (queued; the reply
 * comes later).  Never blocks.
 */
function _lwkt_putport(port: Ptr, msg: Ptr): number {
  KASSERT((msg_flags(msg) & (MSGF_DONE | MSGF_REPLY)) === 0, 'lwkt_putport: message is done or a reply');
  k32[msg + MSG.ms_target_port] = port;
  kf64[(mycpu.pcpu + PC.pc_msgs_sent_f64) >> 1]++;
  sched_want(SP_MSG_PUT, msg);
  switch (k32[port + PORT.mp_type]) {
    case MPT_THREAD: {
      const td = k32[port + PORT.mp_td];
      const cpu = k32[td + TD.td_cpu];
      if (cpu === mycpu.cpuid) thread_putport_local(port, msg);
      else lwkt_send_ipiq3(cpu, id_putport_remote, port, msg, 0);
      return EASYNC;
    }
    case MPT_SPIN:
      // A spin port's queue is guarded by its spinlock; put never waits long.
      spin_lock_plain(port);
      port_enqueue(port, msg);
      port_wake_locked(port);
      return EASYNC;
    case MPT_SERIALIZE:
      KASSERT(lwkt_serialize_held(k32[port + PORT.mp_serialize]), 'lwkt_putport: serializer not held');
      port_enqueue(port, msg);
      if (k32[port + PORT.mp_flags] & MSGPORTF_WAITING) {
        k32[port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
        wakeup(port);
      }
      return EASYNC;
    default:
      return panic(`lwkt_putport: put to a ${MPT_NAMES[k32[port + PORT.mp_type]]} port`);
  }
}

/* A spin port taken from a plain (non-blocking) context: held only for a few words. */
function spin_lock_plain(port: Ptr): void { spin_lock(port + PORT.mp_spin); }

function port_wake_locked(port: Ptr): void {
  if (k32[port + PORT.mp_flags] & MSGPORTF_WAITING) {
    k32[port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
    spin_unlock(port + PORT.mp_spin);
    wakeup(port);
  } else {
    spin_unlock(port + PORT.mp_spin);
  }
}

function thread_putport_local(port: Ptr, msg: Ptr): void {
  const td = k32[port + PORT.mp_td];
  if (k32[td + 1] === ZFREE_MAGIC || (k32[td + TD.td_flags] & TDF_EXITED) !== 0) {
    panic(`lwkt_putport: message ${msg} sent to the port of a thread that has exited`);
  }
  crit_enter();
  port_enqueue(port, msg);
  if (k32[port + PORT.mp_flags] & MSGPORTF_WAITING) lwkt_schedule(k32[port + PORT.mp_td]);
  crit_exit();
}

/* IPI: complete a put on the owner's CPU, chasing the owner if it has moved. */
function thread_putport_remote(port: Ptr, msg: Ptr): void {
  const td = k32[port + PORT.mp_td];
  const cpu = k32[td + TD.td_cpu];
  if (cpu !== mycpu.cpuid) {
    lwkt_send_ipiq3(cpu, id_putport_remote, port, msg, 0);
    return;
  }
  thread_putport_local(port, msg);
}

/* A putonly port's function: (port, msg) => errno | EASYNC, maybe blocking. */
function putonly_put(port: Ptr, msg: Ptr): Blocking<number> {
  KASSERT((msg_flags(msg) & (MSGF_DONE | MSGF_REPLY)) === 0, 'lwkt_putport: message is done or a reply');
  k32[msg + MSG.ms_target_port] = port;
  kf64[(mycpu.pcpu + PC.pc_msgs_sent_f64) >> 1]++;
  const r = (kfunc_get(k32[port + PORT.mp_fn]) as (p: number, m: number) => number | Blocking<number>)(port, msg);
  return typeof r === 'number' ? done_num(r) : r;
}

function lwkt_beginmsg(port: Ptr, msg: Ptr): Blocking<number> {
  if (k32[port + PORT.mp_type] === MPT_PUTONLY) return putonly_put(port, msg);
  return done_num(_lwkt_putport(port, msg));
}

/*
 * lwkt_sendmsg: send asynchronously; the reply arrives on the message's reply port.  The
 * caller must not touch msg until the reply.  Blocks only for a putonly port whose
 * function blocks.
 */
export function lwkt_sendmsg(port: Ptr, msg: Ptr): Blocking<void> {
  const f = msg_flags(msg);
  KASSERT((f & MSGF_DONE) !== 0, 'lwkt_sendmsg: message still in use');
  KASSERT((f & MSGF_QUEUED) === 0, 'lwkt_sendmsg: message queued');
  msg_clr(msg, MSGF_REPLY | MSGF_SYNC | MSGF_DONE);
  if (k32[port + PORT.mp_type] === MPT_PUTONLY) return sendmsg_putonly(port, msg);
  const error = _lwkt_putport(port, msg);
  if (error !== EASYNC) lwkt_replymsg(msg, error);
  return DONE_VOID;
}

function* sendmsg_putonly(port: Ptr, msg: Ptr): Blocking<void> {
  const error = yield* putonly_put(port, msg);
  if (error !== EASYNC) lwkt_replymsg(msg, error);
}

/*
 * lwkt_domsg: send synchronously and wait for the reply; returns its ms_error.  flags may
 * hold PCATCH: a signal then aborts an ABORTABLE message (the target still replies).
 * Blocks.
 */
export function lwkt_domsg(port: Ptr, msg: Ptr, flags: number): Blocking<number> {
  if (invariants_on) inv_msg_send(port, msg);
  const f = msg_flags(msg);
  // As DragonFly's: a reply port, and the message DONE (replied or fresh) and not queued.
  KASSERT(k32[msg + MSG.ms_reply_port] !== NULL && (f & (MSGF_DONE | MSGF_QUEUED)) === MSGF_DONE,
    'lwkt_domsg: the message has no reply port, or is still in use');
  KASSERT((f & MSGF_DROPABLE) === 0, 'lwkt_domsg: a dropable message cannot be waited for');
  k32[msg + MSG.ms_flags] = (f & ~(MSGF_REPLY | MSGF_DONE)) | MSGF_SYNC;
  // Plain, returning the wait itself: the caller's yield* goes straight to the waiting
  // generator, one frame fewer on every resume of a blocked domsg.
  if (k32[port + PORT.mp_type] === MPT_PUTONLY) return domsg_putonly(port, msg, flags);
  return domsg_wait(msg, _lwkt_putport(port, msg), flags);
}

function domsg_wait(msg: Ptr, error: number, flags: number): Blocking<number> {
  if (error === EASYNC) return lwkt_waitmsg(msg, flags);
  msg_set(msg, MSGF_DONE | MSGF_REPLY);
  return done_num(error);
}

/* Plain while the port's function does not block (the netmsg sync port never does). */
function domsg_putonly(port: Ptr, msg: Ptr, flags: number): Blocking<number> {
  const put = putonly_put(port, msg);
  if (is_done(put)) return domsg_wait(msg, done_value(put), flags);
  return domsg_putonly_wait(put, msg, flags);
}

function* domsg_putonly_wait(put: Blocking<number>, msg: Ptr, flags: number): Blocking<number> {
  const error = yield* put;
  return yield* domsg_wait(msg, error, flags);
}

/* lwkt_forwardmsg: pass a message being processed on to another port. */
export function* lwkt_forwardmsg(port: Ptr, msg: Ptr): Blocking<number> {
  KASSERT((msg_flags(msg) & (MSGF_QUEUED | MSGF_DONE | MSGF_REPLY)) === 0, 'lwkt_forwardmsg: message not in processing');
  crit_enter();
  const error = yield* lwkt_beginmsg(port, msg);
  if (error !== EASYNC) lwkt_replymsg(msg, error);
  crit_exit();
  return error;
}

/* ---- reply ---- */

/* lwkt_replymsg: store error and return msg to its reply port.  Never blocks. */
export function lwkt_replymsg(msg: Ptr, error: number): void {
  if (invariants_on) inv_msg_reply(msg);
  k32[msg + MSG.ms_error] = error;
  sched_want(SP_MSG_REPLY, msg);
  const port = k32[msg + MSG.ms_reply_port];
  KASSERT(port !== NULL, 'lwkt_replymsg: message has no reply port');
  const f = msg_flags(msg);
  switch (k32[port + PORT.mp_type]) {
    case MPT_THREAD: {
      if (!((f & (MSGF_DONE | MSGF_QUEUED)) === 0)) panic(`lwkt_replymsg: message already ${f & MSGF_DONE ? 'done' : 'queued'}`);
      const td = k32[port + PORT.mp_td];
      if (k32[td + TD.td_cpu] === mycpu.cpuid) {
        thread_replyport_local(port, msg);
      } else {
        msg_set(msg, MSGF_REPLY);   // DONE follows on the owner's CPU
        lwkt_send_ipiq3(k32[td + TD.td_cpu], id_replyport_remote, port, msg, 0);
      }
      return;
    }
    case MPT_SPIN:
      KASSERT((f & (MSGF_DONE | MSGF_QUEUED)) === 0, 'lwkt_replymsg: message already done');
      spin_lock_plain(port);
      if (f & MSGF_SYNC) {
        msg_set(msg, MSGF_DONE | MSGF_REPLY);
        spin_unlock(port + PORT.mp_spin);
        wakeup(msg);
      } else {
        msg_set(msg, MSGF_REPLY);
        port_enqueue(port, msg);
        msg_set(msg, MSGF_DONE);
        port_wake_locked(port);
      }
      return;
    case MPT_SERIALIZE:
      KASSERT(lwkt_serialize_held(k32[port + PORT.mp_serialize]), 'lwkt_replymsg: serializer not held');
      if (f & MSGF_SYNC) {
        msg_set(msg, MSGF_DONE | MSGF_REPLY);
        wakeup(msg);
      } else {
        msg_set(msg, MSGF_REPLY);
        port_enqueue(port, msg);
        msg_set(msg, MSGF_DONE);
        if (k32[port + PORT.mp_flags] & MSGPORTF_WAITING) {
          k32[port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
          wakeup(port);
        }
      }
      return;
    case MPT_REPLYONLY:
      (kfunc_get(k32[port + PORT.mp_fn]) as (m: number) => void)(msg);
      return;
    case MPT_REPLYONLY_NULL:
      msg_set(msg, MSGF_DONE | MSGF_REPLY);
      return;
    default:
      panic(`lwkt_replymsg: reply to a ${MPT_NAMES[k32[port + PORT.mp_type]]} port`);
  }
}

function thread_replyport_local(port: Ptr, msg: Ptr): void {
  if (invariants_on) inv_msg_complete(msg);
  const f = msg_flags(msg);
  if (f & MSGF_SYNC) {
    msg_set(msg, MSGF_DONE | MSGF_REPLY);
  } else {
    crit_enter();
    msg_set(msg, MSGF_REPLY);
    port_enqueue(port, msg);
    msg_set(msg, MSGF_DONE);
    crit_exit();
  }
  if (k32[port + PORT.mp_flags] & MSGPORTF_WAITING) lwkt_schedule(k32[port + PORT.mp_td]);
}

function thread_replyport_remote(port: Ptr, msg: Ptr): void {
  const td = k32[port + PORT.mp_td];
  const cpu = k32[td + TD.td_cpu];
  if (cpu !== mycpu.cpuid) {
    lwkt_send_ipiq3(cpu, id_replyport_remote, port, msg, 0);
    return;
  }
  thread_replyport_local(port, msg);
}

/* ---- wait and get ---- */

/*
 * lwkt_waitmsg: wait until msg is DONE and return its ms_error.  Only the reply port's
 * owner may wait on a thread port.  With PCATCH, a signal aborts an ABORTABLE message
 * (lwkt_abortmsg) and the wait goes on, uninterruptibly, for the target's reply.  Blocks.
 */
export function lwkt_waitmsg(msg: Ptr, flags: number): Blocking<number> {
  const f = msg_flags(msg);
  KASSERT((f & MSGF_DROPABLE) === 0, 'lwkt_waitmsg: a dropable message cannot be waited for');
  const port = k32[msg + MSG.ms_reply_port];
  switch (k32[port + PORT.mp_type]) {
    case MPT_THREAD:
      // Already done and not queued (a sync reply, or a putonly port): no frame needed.
      if ((f & (MSGF_DONE | MSGF_QUEUED)) === MSGF_DONE) {
        KASSERT(k32[port + PORT.mp_td] === mycpu.curtd, 'lwkt_waitmsg: not the reply port\'s owner');
        return done_num(k32[msg + MSG.ms_error]);
      }
      return thread_waitmsg(port, msg, flags);
    case MPT_SPIN: return spin_waitmsg(port, msg, flags);
    case MPT_SERIALIZE: return serialize_waitmsg(port, msg, flags);
    default:
      // lwkt_panic_waitmsg: replyonly, putonly and panic ports cannot be waited on, done or not.
      return panic(`lwkt_waitmsg: port ${port} (${MPT_NAMES[k32[port + PORT.mp_type]]}) msg ${msg} cannot be waited on`);
  }
}

/*
 * The thread port's waitmsg, with lwkt_sleep inlined, as a reusable continuation
 * (shared/cont.ts): every request of the netisr model waits here, and a generator per
 * wait was garbage per request.  Runs its first steps at the call (callers yield* it at
 * once).
 */
function thread_waitmsg(port: Ptr, msg: Ptr, flags: number): Blocking<number> {
  const td = mycpu.curtd;
  KASSERT(k32[port + PORT.mp_td] === td, 'lwkt_waitmsg: not the reply port\'s owner');
  if ((msg_flags(msg) & MSGF_DONE) !== 0) return done_num(thread_waitmsg_end(port, msg));
  crit_enter();
  k32[td + TD.td_wmsg] = msg;
  return (waitmsg_conts.get() ?? new ThreadWaitmsg()).start(port, msg, flags, td);
}

/* After the reply: off the port if the reply was queued there; the message's error. */
function thread_waitmsg_end(port: Ptr, msg: Ptr): number {
  if (invariants_on) inv_msg_done(msg);
  if (msg_flags(msg) & MSGF_QUEUED) {
    port_remove(port, msg);
    kf64[(mycpu.pcpu + PC.pc_msgs_recv_f64) >> 1]++;
  }
  return k32[msg + MSG.ms_error];
}

class ThreadWaitmsg extends Cont {
  private port = NULL;
  private msg = NULL;
  private flags = 0;
  private td = NULL;
  private sentabort = false;
  private slept = false;

  constructor() { super(0); }

  start(port: Ptr, msg: Ptr, flags: number, td: Ptr): this {
    this.port = port; this.msg = msg; this.flags = flags; this.td = td;
    this.sentabort = false;
    return this.begin(this.sleep());
  }

  /* One turn of the wait: sleep until woken, or (a signal, PCATCH) abort the message. */
  private sleep(): Blocking<unknown> {
    k32[this.port + PORT.mp_flags] |= MSGPORTF_WAITING;
    const sentabort = this.sentabort;
    const error = lwkt_sleep_prep(this.td, sentabort ? wm_waitabt : wm_waitmsg, sentabort ? 0 : this.flags & PCATCH);
    this.slept = error === 0;
    if (this.slept) return SWITCH_ONCE;
    this.sentabort = true;
    return lwkt_abortmsg(this.msg);
  }

  protected step(): Blocking<unknown> | null {
    if (this.slept) lwkt_sleep_done(this.td);
    k32[this.port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
    if ((msg_flags(this.msg) & MSGF_DONE) === 0) return this.sleep();
    k32[this.td + TD.td_wmsg] = NULL;
    crit_exit();
    this.result = thread_waitmsg_end(this.port, this.msg);
    return FINISHED;
  }

  protected release(): void { waitmsg_conts.put(this); }
}
const waitmsg_conts = new FreeList<ThreadWaitmsg>();

function* spin_waitmsg(port: Ptr, msg: Ptr, flags: number): Blocking<number> {
  const td = mycpu.curtd;
  yield* port_lock(port);
  let sentabort = 0;                 // the sleep's error that sent the abort
  k32[td + TD.td_wmsg] = msg;
  while ((msg_flags(msg) & MSGF_DONE) === 0) {
    let error: number;
    if (msg_flags(msg) & MSGF_SYNC) {
      error = yield* msleep(msg, port + PORT.mp_spin, sentabort ? 0 : flags & PCATCH, 'waitmsg', 0);
    } else {
      k32[port + PORT.mp_flags] |= MSGPORTF_WAITING;
      error = yield* msleep(port, port + PORT.mp_spin, sentabort ? 0 : flags & PCATCH, 'waitmsg', 0);
    }
    if (error !== 0 && sentabort === 0) {
      sentabort = error;
      spin_unlock(port + PORT.mp_spin);
      yield* lwkt_abortmsg(msg);
      yield* port_lock(port);
    }
  }
  k32[td + TD.td_wmsg] = NULL;
  // As DragonFly: the target's EINTR becomes the sleep's own error (ERESTART when the
  // signal restarts), stored in the message.
  if (sentabort !== 0 && k32[msg + MSG.ms_error] === EINTR) k32[msg + MSG.ms_error] = sentabort;
  if (msg_flags(msg) & MSGF_QUEUED) port_remove(port, msg);
  spin_unlock(port + PORT.mp_spin);
  return k32[msg + MSG.ms_error];
}

function* serialize_waitmsg(port: Ptr, msg: Ptr, flags: number): Blocking<number> {
  const slz = k32[port + PORT.mp_serialize];
  let sentabort = 0;                 // the sleep's error that sent the abort
  while ((msg_flags(msg) & MSGF_DONE) === 0) {
    const ident = (msg_flags(msg) & MSGF_SYNC) ? msg : port;
    if (ident === port) k32[port + PORT.mp_flags] |= MSGPORTF_WAITING;
    const error = yield* serialize_sleep(ident, slz, sentabort !== 0 ? 0 : flags & PCATCH, 'waitmsg');
    if (error !== 0 && sentabort === 0) {
      sentabort = error;
      // As DragonFly: the abort runs with the serializer released (it may block).
      lwkt_serialize_exit(slz);
      yield* lwkt_abortmsg(msg);
      yield* lwkt_serialize_enter(slz);
    }
  }
  if (sentabort !== 0 && k32[msg + MSG.ms_error] === EINTR) k32[msg + MSG.ms_error] = sentabort;
  if (msg_flags(msg) & MSGF_QUEUED) port_remove(port, msg);
  return k32[msg + MSG.ms_error];
}

/* Sleep on ident with the serializer released; re-enter it before returning. */
function* serialize_sleep(ident: number, slz: Ptr, flags: number, wmesg: string): Blocking<number> {
  crit_enter();
  tsleep_interlock(ident);
  lwkt_serialize_exit(slz);
  const error = yield* tsleep(ident, flags, wmesg, 0);
  yield* lwkt_serialize_enter(slz);
  crit_exit();
  return error;
}

/* lwkt_getport: the next message on port, or NULL; never blocks. */
export function lwkt_getport(port: Ptr): Ptr {
  switch (k32[port + PORT.mp_type]) {
    case MPT_THREAD:
      KASSERT(k32[port + PORT.mp_td] === mycpu.curtd, 'lwkt_getport: not the port\'s owner');
      return port_dequeue(port);
    case MPT_SPIN: {
      spin_lock_plain(port);
      const msg = port_dequeue(port);
      spin_unlock(port + PORT.mp_spin);
      return msg;
    }
    case MPT_SERIALIZE:
      KASSERT(lwkt_serialize_held(k32[port + PORT.mp_serialize]), 'lwkt_getport: serializer not held');
      return port_dequeue(port);
    default:
      return panic(`lwkt_getport: get from a ${MPT_NAMES[k32[port + PORT.mp_type]]} port`);
  }
}

/*
 * lwkt_waitport: wait for and dequeue the next message.  With PCATCH a signal ends the
 * wait and NULL is returned.  Blocks.  On a thread port (every netisr thread's) the wait
 * is a reusable continuation, its first steps run at the call (callers yield* it at once).
 */
export function lwkt_waitport(port: Ptr, flags: number): Blocking<Ptr> {
  if (k32[port + PORT.mp_type] !== MPT_THREAD) return lwkt_waitport_slow(port, flags);
  const td = mycpu.curtd;
  KASSERT(k32[port + PORT.mp_td] === td, 'lwkt_waitport: not the port\'s owner');
  const msg = port_dequeue(port);
  if (msg !== NULL) return done_count(msg);
  if (waitport_sleep(port, td, flags) !== 0) return done_num(NULL);
  return (waitport_conts.get() ?? new ThreadWaitport()).start(port, flags, td);
}

/* lwkt_sleep, inlined: 0 when the thread is descheduled (switch), else a signal's errno. */
function waitport_sleep(port: Ptr, td: Ptr, flags: number): number {
  k32[port + PORT.mp_flags] |= MSGPORTF_WAITING;
  const error = lwkt_sleep_prep(td, wm_waitport, flags);
  if (error !== 0) k32[port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
  return error;
}

class ThreadWaitport extends Cont {
  private port = NULL;
  private flags = 0;
  private td = NULL;

  constructor() { super(NULL); }

  start(port: Ptr, flags: number, td: Ptr): this {
    this.port = port; this.flags = flags; this.td = td;
    return this.begin(SWITCH_ONCE);
  }

  protected step(): Blocking<unknown> | null {
    lwkt_sleep_done(this.td);
    k32[this.port + PORT.mp_flags] &= ~MSGPORTF_WAITING;
    const msg = port_dequeue(this.port);
    if (msg !== NULL || waitport_sleep(this.port, this.td, this.flags) !== 0) {
      this.result = msg;
      return FINISHED;
    }
    return SWITCH_ONCE;
  }

  protected release(): void { waitport_conts.put(this); }
}
const waitport_conts = new FreeList<ThreadWaitport>();

function* lwkt_waitport_slow(port: Ptr, flags: number): Blocking<Ptr> {
  switch (k32[port + PORT.mp_type]) {
    case MPT_SPIN: {
      yield* port_lock(port);
      let msg: Ptr;
      while ((msg = port_dequeue(port)) === NULL) {
        k32[port + PORT.mp_flags] |= MSGPORTF_WAITING;
        const error = yield* msleep(port, port + PORT.mp_spin, flags, 'waitport', 0);
        if (error !== 0) {
          spin_unlock(port + PORT.mp_spin);
          return NULL;
        }
      }
      spin_unlock(port + PORT.mp_spin);
      return msg;
    }
    case MPT_SERIALIZE: {
      const slz = k32[port + PORT.mp_serialize];
      let msg: Ptr;
      while ((msg = port_dequeue(port)) === NULL) {
        k32[port + PORT.mp_flags] |= MSGPORTF_WAITING;
        if ((yield* serialize_sleep(port, slz, flags, 'waitport')) !== 0) return NULL;
      }
      return msg;
    }
    default:
      return panic(`lwkt_waitport: wait on a ${MPT_NAMES[k32[port + PORT.mp_type]]} port`);
  }
}

export function lwkt_checkmsg(msg: Ptr): boolean { return (msg_flags(msg) & MSGF_DONE) !== 0; }

/* ---- abort and drop ---- */

/*
 * lwkt_abortmsg: hurry the reply of an ABORTABLE message that is neither DONE nor REPLY
 * by calling its abort function (which may block).  The target still replies to the
 * original message.
 */
export function* lwkt_abortmsg(msg: Ptr): Blocking<void> {
  crit_enter();
  const f = msg_flags(msg);
  if ((f & MSGF_ABORTABLE) !== 0 && (f & (MSGF_DONE | MSGF_REPLY)) === 0) {
    const r = (kfunc_get(k32[msg + MSG.ms_abortfn]) as (m: number) => void | Blocking<void>)(msg);
    if (r !== undefined) yield* r;
  }
  crit_exit();
}

/*
 * lwkt_dropmsg: take a queued DROPABLE message back off its target port and mark it
 * DONE.  Only the target port's owner may call it.
 */
export function lwkt_dropmsg(msg: Ptr): void {
  const port = k32[msg + MSG.ms_target_port];
  const f = msg_flags(msg);
  KASSERT((f & MSGF_DROPABLE) !== 0, 'lwkt_dropmsg: message not dropable');
  KASSERT((f & MSGF_QUEUED) !== 0, 'lwkt_dropmsg: message not queued');
  // Only thread ports drop messages; DragonFly's other backends panic (lwkt_panic_dropmsg).
  if (k32[port + PORT.mp_type] !== MPT_THREAD) panic(`lwkt_dropmsg: illegal on port ${port} (${MPT_NAMES[k32[port + PORT.mp_type]]}) msg ${msg}`);
  KASSERT(k32[port + PORT.mp_td] === mycpu.curtd, 'lwkt_dropmsg: not the target port\'s owner');
  port_remove(port, msg);
  msg_set(msg, MSGF_DONE);
}

/* ---- message allocation and the standard reply-only ports ---- */

/* A message from the msg zone, initialised for rport; NULL when the zone is empty. */
export function lwkt_msg_alloc(rport: Ptr, flags: number): Ptr {
  const msg = zalloc(Z_MSG);
  if (msg === NULL) return NULL;
  lwkt_initmsg(msg, rport, flags);
  k32[msg + MSG.ms_zone] = 1;
  k32[msg + MSG.ms_owner] = mycpu.curtd;
  return msg;
}

export function lwkt_msg_free(msg: Ptr): void {
  KASSERT(k32[msg + MSG.ms_zone] === 1, 'lwkt_msg_free: message not from the msg zone');
  KASSERT((msg_flags(msg) & MSGF_QUEUED) === 0, 'lwkt_msg_free: message still queued');
  zfree(Z_MSG, msg);
}

/* Reply function of the autofree port: the reply frees the message. */
function lwkt_autofree_reply(msg: Ptr): void { lwkt_msg_free(msg); }


/* The standard ports, made once at boot (netisr_afree_rport & co. in DragonFly). */
export function lwkt_std_ports_init(): void {
  const g = k32[H_OFF_GLOBALS];
  lwkt_initport_replyonly(g + KG.g_afree_rport, id_autofree);
  lwkt_initport_replyonly_null(g + KG.g_adone_rport);
  lwkt_initport_panic(g + KG.g_apanic_rport);
}
export function lwkt_afree_rport(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_afree_rport; }
export function lwkt_adone_rport(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_adone_rport; }
export function lwkt_apanic_rport(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_apanic_rport; }

/* The thread port of a thread. */
export function lwkt_thread_port(td: Ptr): Ptr { return td + TD.td_msgport; }

let id_putport_remote = 0;
let id_replyport_remote = 0;
let id_autofree = 0;
let wm_waitmsg = 0;
let wm_waitabt = 0;
let wm_waitport = 0;
function register_all(): void {
  id_putport_remote = kfunc_register('lwkt_thread_putport_remote', thread_putport_remote as (...a: number[]) => unknown);
  id_replyport_remote = kfunc_register('lwkt_thread_replyport_remote', thread_replyport_remote as (...a: number[]) => unknown);
  id_autofree = kfunc_register('lwkt_autofree_reply', lwkt_autofree_reply as (...a: number[]) => unknown);
}
register_all();
kfunc_on_attach(() => {
  register_all();
  wm_waitmsg = kstr_intern('waitmsg');
  wm_waitabt = kstr_intern('waitabt');
  wm_waitport = kstr_intern('waitport');
});
