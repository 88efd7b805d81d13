/*
 * fail.ts: the mechanism under the kernel's fault sites and injected bugs
 * (src/kern/kern_fail.ts has the names, the boot options and the host's readers).
 *
 * A fault site is a named place in the kernel where a real machine can fail: an mbuf
 * allocation, an IPI that arrives late, a sleep that ends without a wakeup.  Each is
 * compiled in (FoundationDB's BUGGIFY, FreeBSD's fail(9)) and armed only when the boot
 * asks for it, with a probability.  Disarmed, a site costs one test of the module flag
 * faults_on (shared/cpu.ts); an injected bug, one test of kbugs.
 *
 * The table lives in kmem (H_FAIL_TABLE), so every CPU of either engine sees the same
 * rates, and several machines in one host thread (the deterministic engine) keep their
 * own state.  Each CPU decides its fires with its own PRNG (splitmix32 over a counter,
 * seeded from the machine's seed and the CPU), never Math.random: a deterministic run
 * replays its faults exactly.  A CPU writes only its own slot (two cache lines): its
 * PRNG state, its run of held IPIs, and how often each site fired and each bug was hit.
 *
 *   word 0..FS_NSITES-1    threshold per site: fire when the next draw (uint32) is below;
 *                          0 disarmed, -1 (0xffffffff) always
 *   FT_SLOTS + slot * FT_SLOT_WORDS, per CPU (slot ncpus is the host):
 *     +FT_STATE            PRNG state
 *     +FT_IPI_RUN          IPI drains held back in a row (ipi_delay)
 *     +FT_WAKE_RUN         sleeps ended spuriously in a row (spurious_wakeup)
 *     +FT_COUNT + site     fires of the site on this CPU
 *     +FT_BUGHITS + bug    times an injected bug's code ran on this CPU
 */

import { k32, H_FAIL_TABLE } from './kmem.js';
import { myslot, kbugs } from './cpu.js';
import { EFF_SWITCH, Resumable, type Blocking, type Effect, RESUMED } from './effect.js';

/* Fault sites: FS_* index the table; FS_NAMES are the boot option's names, in order. */
export const FS_MBUF = 0;
export const FS_CLUSTER = 1;
export const FS_ZONE = 2;
export const FS_IPI_DELAY = 3;
export const FS_SPURIOUS_WAKEUP = 4;
export const FS_YIELD = 5;
export const FS_SIGNAL = 6;
export const FS_KILL = 7;
export const FS_NSITES = 8;
export const FS_NAMES: readonly string[] = ['mbuf', 'cluster', 'zone', 'ipi_delay', 'spurious_wakeup', 'yield', 'signal', 'kill'];

/* Injected kernel bugs: bits of kbugs (H_BUGS); BUG_NAMES by bit number. */
export const BUG_SSB_UNLOCK_NO_WAKEUP = 1 << 0;
export const BUG_SONEWCONN_WRONG_QUEUE = 1 << 1;
export const BUG_SOISDISCONNECTED_KEEPS_SND = 1 << 2;
export const BUG_TOKEN_HELD_ACROSS_BLOCK = 1 << 3;
export const BUG_WAKEUP_NO_INTERLOCK = 1 << 4;
export const BUG_SOWAKEUP_SKIPS_NOTIFY = 1 << 5;
export const BUG_NAMES: readonly string[] = ['ssb-unlock-no-wakeup', 'sonewconn-wrong-queue', 'soisdisconnected-keeps-snd',
  'token-held-across-block', 'wakeup-no-interlock', 'sowakeup-skips-notify'];

export const FT_SLOTS = 16;        // the thresholds' line, then the per-CPU slots
export const FT_SLOT_WORDS = 32;
export const FT_STATE = 0;
export const FT_IPI_RUN = 1;
export const FT_COUNT = 2;
export const FT_WAKE_RUN = 12;
export const FT_BUGHITS = 16;
if (FT_COUNT + FS_NSITES > FT_WAKE_RUN || FT_BUGHITS + BUG_NAMES.length > FT_SLOT_WORDS) throw new Error('fail: slot layout overflows');

/* Words of the table for ncpus CPUs (and the host). */
export function fail_table_words(ncpus: number): number { return FT_SLOTS + (ncpus + 1) * FT_SLOT_WORDS; }

/* IPI drains held back in a row at most (ipi_delay, deterministic engine): the delay is bounded. */
export const IPI_HOLD_MAX = 8;
/*
 * Sleeps on one CPU ended spuriously in a row at most: then one sleeps for real.  Without
 * a bound, at high rates a thread that sleeps for work that never comes (a daemon) would
 * spin and starve every thread below its priority.
 */
export const WAKE_RUN_MAX = 8;

/* splitmix32's output function. */
export function fail_mix(x: number): number {
  let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/* The next draw of this CPU's PRNG, a uint32.  The table must exist. */
function draw(slot: number): number {
  const s = (k32[slot + FT_STATE] + 0x9e3779b9) | 0;
  k32[slot + FT_STATE] = s;
  return fail_mix(s);
}

function my_slot(t: number): number { return t + FT_SLOTS + myslot * FT_SLOT_WORDS; }

/*
 * Does the fault site fire here?  Call only when faults_on (the caller's test keeps a
 * disarmed kernel at one flag test).  A disarmed site draws nothing, so arming one site
 * leaves the others' draws where they were.  A fire is counted on this CPU.
 */
export function fail_point(site: number): boolean {
  const t = k32[H_FAIL_TABLE];
  const thr = k32[t + site];
  if (thr === 0) return false;
  const slot = my_slot(t);
  if (thr !== -1 && draw(slot) >= thr >>> 0) return false;
  k32[slot + FT_COUNT + site]++;
  return true;
}

/* Is the site armed at all?  (A site that must find a victim first asks before it draws.) */
export function fail_armed(site: number): boolean { return k32[k32[H_FAIL_TABLE] + site] !== 0; }

/* A uniform choice in [0, n) from this CPU's PRNG (what a fired site does, when it has a choice). */
export function fail_below(n: number): number {
  return Math.floor((draw(my_slot(k32[H_FAIL_TABLE])) / 4294967296) * n);
}

/*
 * An injected bug's code is about to run: count it and say yes.  Call as
 * `kbugs !== 0 && bug_hit(BUG_X)`, so a kernel without injected bugs pays one test.
 */
export function bug_hit(bit: number): boolean {
  if ((kbugs & bit) === 0) return false;
  const t = k32[H_FAIL_TABLE];
  if (t !== 0) k32[my_slot(t) + FT_BUGHITS + (31 - Math.clz32(bit))]++;
  return true;
}

/*
 * ipi_delay in the deterministic engine: hold back this drain of the CPU's IPIs (they
 * stay pending and run at a later chance, some steps on).  At most IPI_HOLD_MAX drains
 * in a row are held, so the delay is bounded and a stalled CPU cannot look like a livelock.
 */
export function fail_ipi_hold(): boolean {
  const t = k32[H_FAIL_TABLE];
  const slot = my_slot(t);
  if (k32[slot + FT_IPI_RUN] >= IPI_HOLD_MAX || !fail_point(FS_IPI_DELAY)) {
    k32[slot + FT_IPI_RUN] = 0;
    return false;
  }
  k32[slot + FT_IPI_RUN]++;
  return true;
}

/* spurious_wakeup: should this sleep end at once, without a wakeup?  Bounded in a row per CPU. */
export function fail_spurious(): boolean {
  const slot = my_slot(k32[H_FAIL_TABLE]);
  if (k32[slot + FT_WAKE_RUN] >= WAKE_RUN_MAX || !fail_point(FS_SPURIOUS_WAKEUP)) {
    k32[slot + FT_WAKE_RUN] = 0;
    return false;
  }
  k32[slot + FT_WAKE_RUN]++;
  return true;
}

/*
 * ipi_delay in the parallel engine: the sender is held up a little before it publishes
 * (as an interrupt between writing the entry and bumping the index would): a bounded
 * spin of up to ~4096 loads of its own slot, so the target meanwhile runs on.
 */
export function fail_ipi_spin(): void {
  const t = k32[H_FAIL_TABLE];
  const slot = my_slot(t);
  const n = 64 + (draw(slot) & 4095);
  // Atomics loads are never optimised away: the loop takes its time.
  for (let i = 0; i < n; i++) Atomics.load(k32, slot + FT_IPI_RUN);
}

/*
 * What a sleep point does when faults are on (kern/kern_fail.ts registers it: posting a
 * signal is the process layer's business, above lwkt).  td is the thread about to sleep,
 * flags its tsleep flags.  Nothing until it is registered.
 */
let sleep_hook: (td: number, flags: number) => void = () => undefined;
export function fail_set_sleep_hook(fn: (td: number, flags: number) => void): void { sleep_hook = fn; }
export function fail_sleep(td: number, flags: number): void { sleep_hook(td, flags); }

/*
 * The yield site's effect where a lock was just taken: a switch (lwkt_yield: tokens go
 * and are re-taken before the thread resumes), then the lock's 0, as if it had been
 * contended and slept for.  A shared constant: it keeps no state (the scheduler resumes
 * every thread with RESUMED).
 */
class SwitchThen0 extends Resumable<number> {
  private readonly yielded: IteratorYieldResult<Effect> = { done: false, value: EFF_SWITCH };
  private readonly finished: IteratorReturnResult<number> = { done: true, value: 0 };
  next(v?: unknown): IteratorResult<Effect, number> { return v === RESUMED ? this.finished : this.yielded; }
  override return(): IteratorResult<Effect, number> { return this.finished; }
}
export const FAIL_SWITCH_0: Blocking<number> = new SwitchThen0();
