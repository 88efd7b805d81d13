/*
 * spinlock.ts: the kernel's spinlocks (DragonFly sys/spinlock2.h), on futex.ts's
 * three-state mutex, with lock_stat-style statistics per lock class.
 *
 *   struct spinlock { sl_lock: futex word; sl_class: lock class id }
 *
 * Rules, as in DragonFly: a spinlock is held for a short stretch that never blocks; a
 * thread may not switch while it holds one (lwkt_switch panics).  A thread may pass an
 * interrupt window (EFF_STEP) while holding one: that is time passing inside the section,
 * and is how the deterministic engine makes other CPUs meet a held spinlock.
 *
 * Two ways to take one:
 *   spin_lock(l)                    plain function.  Parallel engine: bounded spin, then
 *                                   Atomics.wait.  Deterministic engine: every CPU runs in
 *                                   this one JS thread, so a held lock cannot be released
 *                                   while we wait inside a plain function: panic.
 *   if (!spin_trylock(l))           from a thread (generator) context, in either engine;
 *     yield* spin_lock_contested(l) the deterministic engine yields EFF_SPIN while it waits.
 */

import { k32, kf64, H_PANIC } from './kmem.js';
import { futex_lock_slow } from './futex.js';
import { PC } from './pcpu.js';
import { det_engine, lockstat_on, mypcpu, witness_on } from './cpu.js';
import { wops } from './witness_hooks.js';
import { EFF_SPIN, type Blocking } from './effect.js';
import { nanotime } from './clock.js';
import { HoldSamples, LS_ACQ, ls_hold, ls_sample, ls_slot, ls_wait, lockclass_name, lockclass_register } from './lockstat.js';
import { KernelHalt, panic } from './panic.js';

export const SL_LOCK = 0;
export const SL_CLASS = 1;
export const SPINLOCK_WORDS = 2;

/* Hold-time samples in progress, by lock pointer (only 1 acquisition in 64 is timed). */
const hold_t0 = new HoldSamples();

function panicking(): boolean { return Atomics.load(k32, H_PANIC) !== 0; }

export function spin_init(l: number, classname: string): void {
  k32[l + SL_LOCK] = 0;
  k32[l + SL_CLASS] = lockclass_register(classname);
}

/* Initialise with a class id already registered (hot allocation paths). */
export function spin_init_class(l: number, cls: number): void {
  k32[l + SL_LOCK] = 0;
  k32[l + SL_CLASS] = cls;
}

function spin_acquired(l: number): void {
  const slot = ls_slot(k32[l + SL_CLASS]);
  kf64[slot + LS_ACQ]++;
  if (ls_sample()) hold_t0.start(l, nanotime());
}

export function spin_trylock(l: number): boolean {
  if (Atomics.compareExchange(k32, l, 0, 1) !== 0) return false;
  k32[mypcpu + PC.pc_spinlocks]++;
  if (lockstat_on) spin_acquired(l);
  if (witness_on) wops.spin_acquired(l);
  return true;
}

export function spin_lock(l: number): void {
  if (Atomics.compareExchange(k32, l, 0, 1) !== 0) spin_lock_slow(l);
  k32[mypcpu + PC.pc_spinlocks]++;
  if (lockstat_on) spin_acquired(l);
  if (witness_on) wops.spin_acquired(l);
}

function spin_lock_slow(l: number): void {
  if (witness_on) wops.spin_wait(l);
  if (det_engine) {
    panic(`spin_lock: ${l} contended in a context that cannot wait (deterministic engine): ` +
      `its holder passed an interrupt window while holding it; take it with spin_lock_contested`);
  }
  const t0 = lockstat_on ? nanotime() : 0;
  wait_since = 0;
  const spins = futex_lock_slow(k32, l, waited_too_long);
  if (spins < 0) {
    if (Atomics.load(k32, H_PANIC) === 0) {
      panic(`spin_lock: indefinite wait on spinlock ${l} (class ${lockclass_name(k32[l + SL_CLASS])}): ` +
        `its holder has not released it in ${SPIN_INDEFINITE_MS / 1000} s`);
    }
    throw new KernelHalt('spin_lock: machine panicked while waiting');
  }
  if (lockstat_on) ls_wait(ls_slot(k32[l + SL_CLASS]), nanotime() - t0, spins);
}

/*
 * Called while a CPU waits for a contended spinlock (parallel engine).  The IPI layer
 * installs its stash here (lwkt_ipiq.ts): the holder may itself be waiting for room in
 * this CPU's IPI ring, and a spinning CPU runs no IPIs.
 */
let spin_wait_hook: () => void = () => undefined;
export function spin_set_wait_hook(f: () => void): void { spin_wait_hook = f; }

/*
 * The parallel engine's spin wait gives up when the machine panics, or after
 * SPIN_INDEFINITE_MS: DragonFly's spin_lock panics with "indefinite wait!" (after 60 s
 * there), which names the lock where a soft lockup could name only the CPU.
 */
const SPIN_INDEFINITE_MS = 5000;
let wait_since = 0;
function waited_too_long(): boolean {
  if (panicking()) return true;
  spin_wait_hook();
  const now = Date.now();
  if (wait_since === 0) wait_since = now;
  return now - wait_since > SPIN_INDEFINITE_MS;
}

/* The contested path for thread context; call after spin_trylock failed. */
export function* spin_lock_contested(l: number): Blocking<void> {
  if (witness_on) wops.spin_wait(l);
  const t0 = lockstat_on ? nanotime() : 0;
  let spins = 0;
  if (det_engine) {
    while (Atomics.compareExchange(k32, l, 0, 1) !== 0) {
      spins++;
      yield EFF_SPIN;
    }
  } else {
    spins = futex_lock_slow(k32, l, panicking);
    if (spins < 0) throw new KernelHalt('spin_lock: machine panicked while waiting');
  }
  k32[mypcpu + PC.pc_spinlocks]++;
  if (lockstat_on) {
    ls_wait(ls_slot(k32[l + SL_CLASS]), nanotime() - t0, spins);
    spin_acquired(l);
  }
  if (witness_on) wops.spin_acquired(l);
}

export function spin_unlock(l: number): void {
  if (witness_on) wops.spin_released(l);
  k32[mypcpu + PC.pc_spinlocks]--;
  if (hold_t0.size !== 0) spin_hold_end(l);
  if (Atomics.exchange(k32, l, 0) === 2) Atomics.notify(k32, l, 1);
}

function spin_hold_end(l: number): void {
  const t0 = hold_t0.end(l);
  if (t0 < 0) return;
  ls_hold(ls_slot(k32[l + SL_CLASS]), nanotime() - t0);
}

export function spin_held(l: number): boolean { return Atomics.load(k32, l) !== 0; }
