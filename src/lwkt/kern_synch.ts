/*
 * kern_synch.ts: tsleep, wakeup and lwkt_sleep (DragonFly kern/kern_synch.c, 2008).
 *
 * It sits in lwkt/ rather than kern/ because LWKT's own spin ports sleep with it and
 * dependencies point one way (kern -> net -> lwkt -> shared).
 *
 * Sleep queues are per CPU: each CPU hashes a wait channel (a kmem address) into one of
 * SLPQUE_BUCKETS buckets of its own, and a global mask per bucket records which CPUs may
 * have sleepers there.  wakeup() removes matching sleepers of this CPU at once, then sends
 * an IPI to every other CPU in the bucket's mask: a remote wake-up happens later, on the
 * sleeper's CPU.  wakeup_one() stops at the first local sleeper; finding none, it asks
 * every candidate CPU, so one thread per CPU may wake (DragonFly's behaviour).
 *
 * The lost-wakeup race is closed as DragonFly closes it:
 *
 *     crit_enter();
 *     tsleep_interlock(chan);     // sets this CPU's bit in the bucket mask (a full fence)
 *     if (!condition)             // re-check after the bit is visible
 *         yield* tsleep(chan, ...);
 *     crit_exit();
 *
 * A waker changes the condition, then wakeup() reads the mask with a read-modify-write
 * (a full fence): either it sees our bit and its IPI reaches us (deferred by our critical
 * section until we are on the queue), or we see the new condition and do not sleep.
 */

import { sched_want, SP_WAKEUP } from './lwkt_schedpt.js';
import { FreeList } from '../../shared/freelist.js';
import { k32, H_OFF_SLPQ, H_OFF_SLPMASK } from '../../shared/kmem.js';
import { SLPQUE_BUCKETS } from '../../shared/param.js';
import { PC } from '../../shared/pcpu.js';
import { kf64 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { TAILQ_INSERT_TAIL, TAILQ_REMOVE } from '../../shared/tailq.js';
import { EFF_SWITCH, EFF_STEP, Resumable, type Blocking, type Effect } from '../../shared/effect.js';
import { faults_on, kbugs } from '../../shared/cpu.js';
import { bug_hit, fail_sleep, fail_spurious, BUG_WAKEUP_NO_INTERLOCK } from '../../shared/fail.js';
import { EINTR, ERESTART, EWOULDBLOCK } from '../../shared/errno.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { kstr_intern } from '../../shared/kstr.js';
import { witness_on } from '../../shared/cpu.js';
import { wops } from '../../shared/witness_hooks.js';
import { spin_lock_contested, spin_trylock, spin_unlock } from '../../shared/spinlock.js';
import { TD, TDF_BLOCKED, TDF_SINTR, TDF_TIMEOUT, TDF_TSLEEPQ } from './thread.js';
import { mycpu } from './globaldata.js';
import { crit_enter, crit_exit, lwkt_deschedule_self, lwkt_schedule } from './lwkt_thread.js';
import { lwkt_send_ipiq3 } from './lwkt_ipiq.js';
import { callout_reset, callout_stop } from './kern_timeout.js';
import { kfunc_on_attach, kfunc_register } from './kfunc.js';

/* tsleep flags (DragonFly sys/systm.h). */
export const PCATCH = 0x00000100;     // a signal ends the sleep (EINTR / ERESTART)
export const PUSRFLAG1 = 0x00000200;
export const PNORESCHED = 0x00000400;
export const PWAKEUP_MYCPU = 0x00004000;
export const PWAKEUP_ONE = 0x00008000;

export function LOOKUP(ident: number): number { return Math.imul(ident, 0x9e3779b1) >>> 22; }

function bucket(cpu: number, b: number): number { return k32[H_OFF_SLPQ] + (cpu * SLPQUE_BUCKETS + b) * 2; }
function maskword(b: number): number { return k32[H_OFF_SLPMASK] + b; }

/* ---- signals (per thread; the socket layer's processes build on these) ---- */

export function sigbit(sig: number): number { return 1 << (sig - 1); }

/* CURSIG: the lowest pending, unblocked signal, or 0. */
export function CURSIG(td: Ptr): number {
  const p = Atomics.load(k32, td + TD.td_sigpend) & ~k32[td + TD.td_sigmask];
  return p === 0 ? 0 : 32 - Math.clz32(p & -p);
}

function sig_error(td: Ptr, sig: number): number {
  return (k32[td + TD.td_sigintr] & sigbit(sig)) !== 0 ? EINTR : ERESTART;
}

/*
 * Post a signal to a thread: it is pending until taken; an interruptible sleeper is
 * woken (by IPI when it belongs to another CPU) and its PCATCH sleep returns EINTR or
 * ERESTART.
 */
export function lwkt_signal(td: Ptr, sig: number): void {
  if (!(sig >= 1 && sig <= 32)) panic(`lwkt_signal: bad signal ${sig}`);
  Atomics.or(k32, td + TD.td_sigpend, sigbit(sig));
  const cpu = k32[td + TD.td_cpu];
  if (cpu === mycpu.cpuid) signal_wake(td, k32[td + TD.td_id]);
  else lwkt_send_ipiq3(cpu, id_signal_wake, td, k32[td + TD.td_id], 0);
}

function signal_wake(td: Ptr, id: number): void {
  if (k32[td + TD.td_id] !== id || k32[td + TD.td_cpu] !== mycpu.cpuid) return;
  if (CURSIG(td) === 0) return;
  const f = k32[td + TD.td_flags];
  if ((f & TDF_SINTR) === 0) return;
  if (f & TDF_TSLEEPQ) unsleep(td);
  lwkt_schedule(td);
}

/* Take (clear) a pending signal; returns true if it was pending. */
export function lwkt_sigtake(td: Ptr, sig: number): boolean {
  return (Atomics.and(k32, td + TD.td_sigpend, ~sigbit(sig)) & sigbit(sig)) !== 0;
}

/* Set whether a PCATCH sleep interrupted by sig gives EINTR (no SA_RESTART) or ERESTART. */
export function lwkt_sigintr(td: Ptr, sig: number, eintr: boolean): void {
  if (eintr) k32[td + TD.td_sigintr] |= sigbit(sig);
  else k32[td + TD.td_sigintr] &= ~sigbit(sig);
}

/* ---- sleep queues (this CPU's only) ---- */

function sleepq_insert(td: Ptr, ident: number): void {
  TAILQ_INSERT_TAIL(bucket(mycpu.cpuid, LOOKUP(ident)), td, TD.td_slq_next);
}

/* Take td off its sleep queue (it stays descheduled). */
function unsleep(td: Ptr): void {
  const b = LOOKUP(k32[td + TD.td_wchan]);
  const q = bucket(mycpu.cpuid, b);
  TAILQ_REMOVE(q, td, TD.td_slq_next);
  k32[td + TD.td_flags] &= ~TDF_TSLEEPQ;
  if (k32[q] === NULL) Atomics.and(k32, maskword(b), ~(1 << mycpu.cpuid));
}

/* Announce an imminent tsleep on ident.  Call inside a critical section. */
export function tsleep_interlock(ident: number): void {
  if (kbugs !== 0 && bug_hit(BUG_WAKEUP_NO_INTERLOCK)) return;   // injected bug (kern_fail.ts): no effect
  slpque_announce(ident);
}

/* This CPU may have sleepers on ident's bucket: its bit in the bucket's mask (a full fence). */
function slpque_announce(ident: number): void {
  Atomics.or(k32, maskword(LOOKUP(ident)), 1 << mycpu.cpuid);
}

/*
 * tsleep: sleep on ident until wakeup(ident), a timeout of `timo` ticks (0: none), or with
 * PCATCH a signal.  Returns 0 when woken, EWOULDBLOCK on timeout, EINTR or ERESTART on a
 * signal (ERESTART when the signal's handler has SA_RESTART).  With PCATCH and a signal
 * already pending it returns at once without sleeping.  Tokens are released while asleep
 * and re-taken before it returns.  Blocks.
 */
export function tsleep(ident: number, flags: number, wmesg: string, timo: number): Blocking<number> {
  const t = tsleep_free.get() ?? new Tsleep();
  t.ident = ident;
  t.flags = flags;
  t.wmesg = wmesg;
  t.timo = timo;
  return t;
}

/*
 * A tsleep in progress, as an iterator rather than a generator: every blocking socket
 * call ends in one, and a generator object per sleep was garbage per buffer-full of a
 * stream (see shared/cont.ts).  Like a generator, it does nothing until its first next();
 * it yields EFF_SWITCH once, and finishes with the errno when resumed.  Back on the free
 * list when it finishes.
 */
class Tsleep extends Resumable<number> {
  ident = 0;
  flags = 0;
  wmesg = '';
  timo = 0;
  private asleep = false;
  private window = false;
  private readonly fin = { done: true as const, value: 0 };

  next(): IteratorResult<Effect, number> {
    let error: number;
    if (!this.asleep) {
      // Injected bug wakeup-no-interlock: without the interlock the caller's check and
      // the queueing below are not one step to other CPUs; an interrupt window between
      // them lets the deterministic engine run a waker there, as a real machine may.
      if (kbugs !== 0 && (kbugs & BUG_WAKEUP_NO_INTERLOCK) !== 0 && !this.window) {
        this.window = true;
        return YIELD_STEP;
      }
      this.window = false;
      error = tsleep_begin(this.ident, this.flags, this.wmesg, this.timo);
      if (error === TSLEEP_ASLEEP) {
        this.asleep = true;
        return YIELD_SWITCH;
      }
    } else {
      this.asleep = false;
      error = tsleep_end(this.flags, this.timo);
    }
    const fin = this.fin;
    fin.value = error;
    this.wmesg = '';
    tsleep_free.put(this);
    return fin;
  }
}
const tsleep_free = new FreeList<Tsleep>();
const YIELD_SWITCH: IteratorYieldResult<Effect> = { done: false, value: EFF_SWITCH };
const YIELD_STEP: IteratorYieldResult<Effect> = { done: false, value: EFF_STEP };

/* tsleep up to the switch: TSLEEP_ASLEEP when the thread is on the sleep queue, else the errno of a pending signal. */
const TSLEEP_ASLEEP = -0x10000;     // not an errno (ERESTART is -1)
function tsleep_begin(ident: number, flags: number, wmesg: string, timo: number): number {
  const gd = mycpu;
  const td = gd.curtd;
  KASSERT(ident !== 0, 'tsleep: no ident');
  KASSERT(td !== gd.idletd, 'tsleep: called from interrupt context');
  if (faults_on) fail_sleep(td, flags);   // the signal and kill fault sites (kern_fail.ts)
  if (witness_on) wops.sleeping(ident, wmesg);
  crit_enter();
  if (flags & PCATCH) {
    const sig = CURSIG(td);
    if (sig !== 0) {
      crit_exit();
      return sig_error(td, sig);
    }
    k32[td + TD.td_flags] |= TDF_SINTR;
  }
  lwkt_deschedule_self(td);
  k32[td + TD.td_flags] |= TDF_TSLEEPQ;
  k32[td + TD.td_wchan] = ident;
  k32[td + TD.td_wmesg] = kstr_intern(wmesg);
  sleepq_insert(td, ident);
  slpque_announce(ident);
  if (timo > 0) callout_reset(td + TD.td_callout, timo, id_endtsleep, td, k32[td + TD.td_id]);
  // The spurious_wakeup fault site (kern_fail.ts): taken off the queue and made runnable
  // at once, without a wakeup; tsleep returns 0 after others have run.  Bounded in a row.
  if (faults_on && fail_spurious()) tsleep_setrunnable(td, ident);
  return TSLEEP_ASLEEP;
}

/* tsleep after the switch: woken by wakeup, endtsleep or a signal, which took us off the queue. */
function tsleep_end(flags: number, timo: number): number {
  const td = mycpu.curtd;
  let error = 0;
  const f = k32[td + TD.td_flags];
  k32[td + TD.td_flags] = f & ~(TDF_SINTR | TDF_TIMEOUT);
  k32[td + TD.td_wchan] = 0;
  k32[td + TD.td_wmesg] = 0;
  if (f & TDF_TIMEOUT) error = EWOULDBLOCK;
  else if (timo > 0) callout_stop(td + TD.td_callout);
  if (error === 0 && (flags & PCATCH)) {
    const sig = CURSIG(td);
    if (sig !== 0) error = sig_error(td, sig);
  }
  crit_exit();
  return error;
}

/*
 * tsleep_setrunnable: DragonFly's setrunnable() on an lwp asleep in tsleep, reduced to
 * what selwakeup needs: if td, a thread of this CPU, sleeps in tsleep on ident, take it
 * off its sleep queue and schedule it; its tsleep returns 0, as after a wakeup.  Returns
 * whether it did.  Never blocks.
 */
export function tsleep_setrunnable(td: Ptr, ident: number): boolean {
  KASSERT(k32[td + TD.td_cpu] === mycpu.cpuid, 'tsleep_setrunnable: thread of another CPU');
  if ((k32[td + TD.td_flags] & TDF_TSLEEPQ) === 0 || k32[td + TD.td_wchan] !== ident) return false;
  unsleep(td);
  lwkt_schedule(td);
  return true;
}

/* The tsleep timeout (a callout on the sleeper's CPU). */
function endtsleep(td: Ptr, id: number): void {
  if (k32[td + TD.td_id] !== id) return;
  if (k32[td + TD.td_flags] & TDF_TSLEEPQ) {
    unsleep(td);
    k32[td + TD.td_flags] |= TDF_TIMEOUT;
    lwkt_schedule(td);
  }
}

/*
 * msleep: tsleep with a spinlock interlock.  The spinlock is released after this CPU is
 * on the sleep queue's mask and re-taken before returning.  Blocks.
 */
export function* msleep(ident: number, spin: Ptr, flags: number, wmesg: string, timo: number): Blocking<number> {
  crit_enter();
  tsleep_interlock(ident);
  spin_unlock(spin);
  const error = yield* tsleep(ident, flags, wmesg, timo);
  if (!spin_trylock(spin)) yield* spin_lock_contested(spin);
  crit_exit();
  return error;
}

export function wakeup(ident: number): void { _wakeup(ident, 0); }
export function wakeup_one(ident: number): void { _wakeup(ident, PWAKEUP_ONE); }
export function wakeup_mycpu(ident: number): void { _wakeup(ident, PWAKEUP_MYCPU); }

function _wakeup(ident: number, flags: number): void {
  const gd = mycpu;
  if ((flags & PWAKEUP_MYCPU) === 0) sched_want(SP_WAKEUP, ident);
  const b = LOOKUP(ident);
  const q = bucket(gd.cpuid, b);
  let td = k32[q];
  while (td !== NULL) {
    const next = k32[td + TD.td_slq_next];
    if (k32[td + TD.td_wchan] === ident) {
      unsleep(td);
      lwkt_schedule(td);
      kf64[(gd.pcpu + PC.pc_wakeups_f64) >> 1]++;
      if (flags & PWAKEUP_ONE) return;
    }
    td = next;
  }
  if (flags & PWAKEUP_MYCPU) return;
  // A read-modify-write: a full fence after the caller's change to the condition.
  let mask = Atomics.or(k32, maskword(b), 0) & ~(1 << gd.cpuid);
  while (mask !== 0) {
    const cpu = 31 - Math.clz32(mask);
    mask &= ~(1 << cpu);
    lwkt_send_ipiq3(cpu, id_wakeup_remote, ident, flags | PWAKEUP_MYCPU, 0);
  }
}

/*
 * A remote CPU's wakeup arrives here.  Once this CPU's bucket is empty, clear its bit:
 * a tsleep_interlock that was not followed by a sleep (the re-check succeeded, or a
 * signal was pending) leaves it set, and every later wakeup would IPI us for nothing.
 * Safe: IPIs never run inside the critical section that spans interlock and sleep.
 */
function wakeup_remote(ident: number, flags: number): void {
  _wakeup(ident, flags);
  const b = LOOKUP(ident);
  if (k32[bucket(mycpu.cpuid, b)] === NULL) Atomics.and(k32, maskword(b), ~(1 << mycpu.cpuid));
}

/* May any CPU have a thread asleep on ident?  (A cheap test before a wakeup on a hot path.) */
export function tsleep_maybe_sleepers(ident: number): boolean {
  return Atomics.load(k32, maskword(LOOKUP(ident))) !== 0;
}

/*
 * lwkt_sleep: deschedule and switch until lwkt_schedule() (no sleep queue).  With PCATCH a
 * pending signal returns EINTR/ERESTART without sleeping, and a signal arriving while
 * asleep schedules the thread, which returns 0 and finds the signal on its next call.
 */
export function* lwkt_sleep(wmesg: string, flags: number): Blocking<number> {
  const td = mycpu.curtd;
  const error = lwkt_sleep_prep(td, kstr_intern(wmesg), flags);
  if (error !== 0) return error;
  yield EFF_SWITCH;
  lwkt_sleep_done(td);
  return 0;
}

/*
 * lwkt_sleep in three parts, for the message paths that inline it to save a generator
 * frame per wait: prep (0, or the signal error without sleeping), `yield EFF_SWITCH`,
 * then done.  wmesg is a kstr id.
 */
export function lwkt_sleep_prep(td: Ptr, wmesg: number, flags: number): number {
  if (faults_on) fail_sleep(td, flags);   // the signal and kill fault sites (kern_fail.ts)
  if (flags & PCATCH) {
    const sig = CURSIG(td);
    if (sig !== 0) return sig_error(td, sig);
    k32[td + TD.td_flags] |= TDF_SINTR;
  }
  k32[td + TD.td_flags] |= TDF_BLOCKED;
  k32[td + TD.td_wmesg] = wmesg;
  lwkt_deschedule_self(td);
  return 0;
}

export function lwkt_sleep_done(td: Ptr): void {
  k32[td + TD.td_flags] &= ~(TDF_BLOCKED | TDF_SINTR);
  k32[td + TD.td_wmesg] = 0;
}

let id_endtsleep = 0;
let id_wakeup_remote = 0;
let id_signal_wake = 0;
kfunc_register('endtsleep', endtsleep as (...a: number[]) => unknown);
kfunc_register('wakeup_remote', wakeup_remote as (...a: number[]) => unknown);
kfunc_register('signal_wake', signal_wake as (...a: number[]) => unknown);
kfunc_on_attach(() => {
  id_endtsleep = kfunc_register('endtsleep', endtsleep as (...a: number[]) => unknown);
  id_wakeup_remote = kfunc_register('wakeup_remote', wakeup_remote as (...a: number[]) => unknown);
  id_signal_wake = kfunc_register('signal_wake', signal_wake as (...a: number[]) => unknown);
});
