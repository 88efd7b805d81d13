/*
 * futex.ts: Drepper's three-state mutex ("Futexes Are Tricky", mutex2) on one kmem word.
 *
 *   0  unlocked
 *   1  locked, nobody waiting
 *   2  locked, and someone may be waiting: the unlocker must notify
 *
 * Take with one CAS 0 -> 1.  On contention spin a bounded number of times (a futex
 * sleep/wake round trip costs ~10 µs here, a spin poll ~6 ns), then mark the word 2 and
 * Atomics.wait on it.  Unlock exchanges 0 in and notifies only if the old value was 2,
 * so an uncontended lock/unlock is one CAS and one exchange.  Unbounded spinning is out:
 * with more simulated CPUs than host cores a spinner starves the holder it waits for.
 *
 * These raw forms keep no statistics; spinlock.ts builds the kernel's spinlocks on them.
 * Every wait is bounded so that a panic elsewhere is noticed (futex_raw_lock's `giveup`).
 */

import { SPIN_TRIES, SPIN_WAIT_MS } from './param.js';

/* Returns the number of busy polls spent (0 when uncontended). */
export function futex_lock(i32: Int32Array, w: number, giveup: () => boolean): number {
  if (Atomics.compareExchange(i32, w, 0, 1) === 0) return 0;
  return futex_lock_slow(i32, w, giveup);
}

export function futex_lock_slow(i32: Int32Array, w: number, giveup: () => boolean): number {
  let spins = 0;
  for (; spins < SPIN_TRIES; spins++) {
    if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return spins + 1;
  }
  // Mark contended; whoever held it will notify.  Taking it here leaves the word at 2,
  // which costs the next unlock one needless notify: Drepper's accepted trade-off.
  while (Atomics.exchange(i32, w, 2) !== 0) {
    Atomics.wait(i32, w, 2, SPIN_WAIT_MS);
    spins++;
    if (giveup()) return -1;
  }
  return spins + 1;
}

export function futex_trylock(i32: Int32Array, w: number): boolean {
  return Atomics.compareExchange(i32, w, 0, 1) === 0;
}

export function futex_unlock(i32: Int32Array, w: number): void {
  if (Atomics.exchange(i32, w, 0) === 2) Atomics.notify(i32, w, 1);
}
