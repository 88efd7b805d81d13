/* Kernel threads for the uipc_socket2 tests: sysctls and the signalsockbuf procedures. */
import {
  k32, curthread, kernel_sysctl, sb_max, sb_max_adj, ssb_lock, ssb_unlock, ssb_wait, tsleep, wakeup,
  lwkt_signal, lwkt_sigintr, lwkt_sigtake, SSB, SSB_LOCK, SSB_WANT, SSB_NOINTR, M_WAITOK, M_NOWAIT,
  type Blocking,
} from '../../src/kernel.js';

const SIGUSR1 = 30;

function* await_word(w: number): Blocking<number> {
  let v: number;
  while ((v = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'await', 1);
  return v;
}

/* Read, set and re-read kern.ipc.maxsockbuf; returns every figure the test checks. */
export function* maxsockbuf(): Blocking<number[]> {
  const r0 = kernel_sysctl('kern.ipc.maxsockbuf', undefined, 0);
  const adj0 = sb_max_adj();
  const bad = kernel_sysctl('kern.ipc.maxsockbuf', 256 + 2048 - 1, 0);
  const afterBad = sb_max();
  const ok = kernel_sysctl('kern.ipc.maxsockbuf', 524288, 0);
  const adj1 = sb_max_adj();
  const edge = kernel_sysctl('kern.ipc.maxsockbuf', 256 + 2048, 0);
  const adj2 = sb_max_adj();
  const notRoot = kernel_sysctl('kern.ipc.maxsockbuf', 1 << 20, 1000);
  const ro = kernel_sysctl('kern.ipc.numopensockets', 5, 0);
  const unknown = kernel_sysctl('kern.ipc.nonesuch', undefined, 0);
  return [r0.error, r0.old, adj0, bad.error, afterBad, ok.error, ok.old, adj1, edge.error, adj2,
    notRoot.error, ro.error, unknown.error];
}

/*
 * ssb_lock: take it, try again with M_NOWAIT (EWOULDBLOCK), let a waiter on another CPU
 * queue behind us with M_WAITOK (SSB_WANT set), then unlock: the waiter gets it.
 * Words: w[0] holder has it, w[1] waiter done.
 */
export function* ssb_holder(ssb: number, w: number): Blocking<number[]> {
  const e1 = yield* ssb_lock(ssb, M_WAITOK);
  const e2 = yield* ssb_lock(ssb, M_NOWAIT);
  Atomics.store(k32, w, 1);
  wakeup(w);
  while ((Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_WANT) === 0) yield* tsleep(ssb, 0, 'want', 1);
  const flagsHeld = Atomics.load(k32, ssb + SSB.ssb_flags) & (SSB_LOCK | SSB_WANT);
  ssb_unlock(ssb);
  yield* await_word(w + 1);
  return [e1, e2, flagsHeld];
}

export function* ssb_waiter(ssb: number, w: number): Blocking<number[]> {
  yield* await_word(w);
  const e = yield* ssb_lock(ssb, M_WAITOK);
  const held = (Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_LOCK) !== 0 ? 1 : 0;
  ssb_unlock(ssb);
  Atomics.store(k32, w + 1, 1);
  wakeup(w + 1);
  return [e, held, Atomics.load(k32, ssb + SSB.ssb_flags)];
}

/* ssb_wait: a timeout (ssb_timeo ticks) gives EWOULDBLOCK; a signal EINTR unless NOINTR. */
export function* ssb_waits(ssb: number, w: number): Blocking<number[]> {
  k32[ssb + SSB.ssb_timeo] = 2;
  const e1 = yield* ssb_wait(ssb);
  k32[ssb + SSB.ssb_timeo] = 0;
  lwkt_sigintr(curthread(), SIGUSR1, true);
  Atomics.store(k32, w, curthread());
  wakeup(w);
  const e2 = yield* ssb_wait(ssb);           // the signaller interrupts this one
  lwkt_sigtake(curthread(), SIGUSR1);
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_NOINTR);
  k32[ssb + SSB.ssb_timeo] = 3;
  lwkt_signal(curthread(), SIGUSR1);         // pending, but NOINTR: the sleep runs to its timeout
  const e3 = yield* ssb_wait(ssb);
  lwkt_sigtake(curthread(), SIGUSR1);
  return [e1, e2, e3];
}

export function* signaller(w: number): Blocking<number> {
  const td = yield* await_word(w);
  lwkt_signal(td, SIGUSR1);
  return 0;
}
