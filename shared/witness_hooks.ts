/*
 * witness_hooks.ts: where the lock primitives call WITNESS.
 *
 * Spinlocks live here in shared/, tokens and sleep locks in lwkt/, and WITNESS itself in
 * kern/subr_witness.ts, above them all: dependencies point down, so the primitives cannot
 * import it.  They call through this table instead, and only when the module flag
 * witness_on (shared/cpu.ts, read from kmem's H_WITNESS at attach) is set:
 *
 *   if (witness_on) wops.spin_acquired(l);
 *
 * so with witness off each hook costs one test of a module boolean.  subr_witness.ts fills
 * the table when it loads (every isolate that runs kernel code imports it through
 * src/machine/attach.ts).  Until then the hooks do nothing.
 *
 * Every hook runs on a CPU (mycpuid >= 0) for its current thread; the host (cpu -1) is
 * ignored by the implementation.
 */

export interface WitnessOps {
  /* A spinlock was taken (spin_lock, spin_trylock, spin_lock_contested). */
  spin_acquired(l: number): void;
  /* A spinlock is found held and the caller is about to wait for it: recursion and order check. */
  spin_wait(l: number): void;
  /* A spinlock is being released. */
  spin_released(l: number): void;
  /* lwkt_gettoken linked tok (the last reference of the thread's td_toks); it may yield for it. */
  token_get(tok: number): void;
  /* lwkt_trytoken took tok and linked it. */
  token_try(tok: number): void;
  /* A sleep lock (sleeplock_* on a flags word: ssb_lock, lwkt_serialize) was taken. */
  sleep_acquired(w: number): void;
  /* A sleep lock is held and the caller is about to sleep for it: recursion and order check. */
  sleep_wait(w: number): void;
  /* A sleep lock is being released. */
  sleep_released(w: number): void;
  /* The current thread is about to sleep in tsleep (wmesg): no spinlock may be held. */
  sleeping(ident: number, wmesg: string): void;
  /* A description of the spinlocks the thread holds, for lwkt_switch's panic. */
  held_spinlocks(td: number): string;
}

function nop(): void { /* witness not loaded */ }

export const wops: WitnessOps = {
  spin_acquired: nop,
  spin_wait: nop,
  spin_released: nop,
  token_get: nop,
  token_try: nop,
  sleep_acquired: nop,
  sleep_wait: nop,
  sleep_released: nop,
  sleeping: nop,
  held_spinlocks: () => '',
};

/* Install WITNESS (kern/subr_witness.ts does, when it loads). */
export function witness_ops_set(ops: WitnessOps): void {
  Object.assign(wops, ops);
}
