/*
 * lwkt_serialize.ts: the sleep-lock pattern of SSB_LOCK/SSB_WANT, and lwkt_serialize
 * built on it.
 *
 * A sleep lock is two bits of a flags word: LOCK, taken with a CAS, and WANT, set with a
 * CAS by a thread that found LOCK set and is about to tsleep on the flags word.  The
 * unlocker clears both and, if WANT was set, wakes every sleeper, which then race for
 * the lock again (ssb_unlock wakes all: dragonfly.md 9.2).  Other bits of the word are
 * left alone, so the socket layer keeps SSB_* flags in the same word.
 *
 * The waiter's interlock: it announces the sleep (tsleep_interlock) before the CAS that
 * sets WANT, inside a critical section, so an unlock on another CPU between that CAS and
 * the sleep still reaches it.
 */

import { k32 } from '../../shared/kmem.js';
import type { Ptr } from '../../shared/struct.js';
import { done_num, type Blocking } from '../../shared/effect.js';
import { KASSERT } from '../../shared/panic.js';
import { witness_on } from '../../shared/cpu.js';
import { wops } from '../../shared/witness_hooks.js';
import { crit_enter, crit_exit } from './lwkt_thread.js';
import { PCATCH, tsleep, tsleep_interlock, wakeup } from './kern_synch.js';

/* Take the lock bit without sleeping; false if it is held. */
export function sleeplock_try(w: Ptr, lockbit: number): boolean {
  for (;;) {
    const old = Atomics.load(k32, w);
    if (old & lockbit) return false;
    if (Atomics.compareExchange(k32, w, old, old | lockbit) === old) {
      if (witness_on) wops.sleep_acquired(w);
      return true;
    }
  }
}

/*
 * Take the lock bit, sleeping on the word while it is held.  flags go to tsleep (PCATCH:
 * a signal ends the wait with EINTR or ERESTART).  With nointbit, every pass that sleeps
 * leaves PCATCH out while that bit of the word is set, read on that pass (_ssb_lock's
 * SSB_NOINTR, which DragonFly re-reads before each tsleep).  Returns 0 with the lock
 * held, or the tsleep error without it.  Blocks.
 */
export function sleeplock_lock(w: Ptr, lockbit: number, wantbit: number, flags: number, wmesg: string,
    nointbit = 0): Blocking<number> {
  if (sleeplock_try(w, lockbit)) return done_num(0);
  return _sleeplock_lock(w, lockbit, wantbit, flags, wmesg, nointbit);
}

function* _sleeplock_lock(w: Ptr, lockbit: number, wantbit: number, flags: number, wmesg: string,
    nointbit: number): Blocking<number> {
  if (witness_on) wops.sleep_wait(w);
  for (;;) {
    const old = Atomics.load(k32, w);
    if ((old & lockbit) === 0) {
      if (Atomics.compareExchange(k32, w, old, old | lockbit) === old) {
        if (witness_on) wops.sleep_acquired(w);
        return 0;
      }
      continue;
    }
    crit_enter();
    tsleep_interlock(w);
    if (Atomics.compareExchange(k32, w, old, old | wantbit) !== old) {
      crit_exit();
      continue;     // the word changed: look again
    }
    const error = yield* tsleep(w, (old & nointbit) !== 0 ? flags & ~PCATCH : flags, wmesg, 0);
    crit_exit();
    if (error !== 0) return error;
  }
}

/* Release the lock bit; wake every sleeper if one said it wanted the lock. */
export function sleeplock_unlock(w: Ptr, lockbit: number, wantbit: number): void {
  if (witness_on) wops.sleep_released(w);
  const old = Atomics.and(k32, w, ~(lockbit | wantbit));
  KASSERT((old & lockbit) !== 0, 'sleeplock_unlock: not locked');
  if (old & wantbit) wakeup(w);
}

/* ---- lwkt_serialize: an exclusive sleep lock on one word ---- */

export const SLZ_LOCK = 0x1;
export const SLZ_WANT = 0x2;

export function lwkt_serialize_init(slz: Ptr): void { k32[slz] = 0; }
export function lwkt_serialize_enter(slz: Ptr): Blocking<number> {
  return sleeplock_lock(slz, SLZ_LOCK, SLZ_WANT, 0, 'slzwait');
}
export function lwkt_serialize_try(slz: Ptr): boolean { return sleeplock_try(slz, SLZ_LOCK); }
export function lwkt_serialize_exit(slz: Ptr): void { sleeplock_unlock(slz, SLZ_LOCK, SLZ_WANT); }
export function lwkt_serialize_held(slz: Ptr): boolean { return (Atomics.load(k32, slz) & SLZ_LOCK) !== 0; }
