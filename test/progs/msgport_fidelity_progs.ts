/*
 * Kernel threads for the lwkt_msgport fidelity tests: DragonFly's assertions and panics
 * that the simulation follows (lwkt_domsg on a message in use, waitmsg on a port that
 * cannot be waited on, dropmsg on a non-thread port), and the spin port's abort storing
 * the sleep's error in ms_error.
 */
import {
  k32, curthread, MSG, EINTR, PCATCH, MSGF_ABORTABLE, MSGF_DROPABLE, lwkt_domsg, lwkt_sendmsg, lwkt_getport,
  lwkt_replymsg, lwkt_waitmsg, lwkt_msg_alloc, lwkt_thread_port, lwkt_initport_spin, lwkt_initport_replyonly_null,
  lwkt_initmsg_abortable, lwkt_dropmsg, lwkt_signal, lwkt_sigintr, kfunc_register, kfunc_id, lwkt_yield,
  type Blocking,
} from '../../src/kernel.js';
import { await_word, publish } from './common.js';

const SIGUSR1 = 30;

/* domsg of a message still in flight (sent async, not yet replied): DragonFly's KKASSERT. */
export function* domsg_in_use(mem: number): Blocking<number> {
  lwkt_initport_spin(mem);
  const m = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  yield* lwkt_sendmsg(mem, m);
  return yield* lwkt_domsg(mem, m, 0);
}

/* waitmsg on a message whose reply port is replyonly_null, already DONE: still a panic. */
export function* waitmsg_replyonly(mem: number): Blocking<number> {
  lwkt_initport_replyonly_null(mem);
  const m = lwkt_msg_alloc(mem, 0);
  return yield* lwkt_waitmsg(m, 0);
}

/* dropmsg of a dropable message queued on a spin port: a panic (only thread ports drop). */
export function* dropmsg_spin(mem: number): Blocking<number> {
  lwkt_initport_spin(mem);
  const m = lwkt_msg_alloc(lwkt_thread_port(curthread()), MSGF_DROPABLE);
  yield* lwkt_sendmsg(mem, m);
  lwkt_dropmsg(m);
  return 0;
}

/*
 * A spin reply port, a message sent to a spin target port and waited for with PCATCH; a
 * signal that restarts (SA_RESTART) interrupts the wait with ERESTART, the abort function
 * takes the message back and replies EINTR: ms_error then holds the sleep's own error,
 * ERESTART, as DragonFly's lwkt_spin_waitmsg stores it.
 */
function abort_reply_eintr(msg: number): void {
  const got = lwkt_getport(k32[msg + MSG.ms_target_port]);
  if (got === msg) lwkt_replymsg(msg, EINTR);
}
kfunc_register('test_abort_eintr', abort_reply_eintr as (...a: number[]) => unknown);

export function* spin_waitmsg_abort(mem: number, w: number): Blocking<number[]> {
  const rport = mem, target = mem + 16;
  lwkt_initport_spin(rport);
  lwkt_initport_spin(target);
  const m = lwkt_msg_alloc(rport, 0);
  lwkt_initmsg_abortable(m, rport, MSGF_ABORTABLE, kfunc_id('test_abort_eintr'));
  yield* lwkt_sendmsg(target, m);
  publish(w + 1, curthread());
  lwkt_sigintr(curthread(), SIGUSR1, false);    // SIGUSR1 restarts: the sleep gives ERESTART
  const r = yield* lwkt_waitmsg(m, PCATCH);
  return [r, k32[m + MSG.ms_error]];
}

export function* signal_after(w: number): Blocking<number> {
  const td = yield* await_word(w + 1);
  for (let i = 0; i < 20; i++) yield* lwkt_yield();
  lwkt_signal(td, SIGUSR1);
  return 0;
}
