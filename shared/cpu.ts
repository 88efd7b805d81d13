/*
 * cpu.ts: which CPU the running code belongs to, and the kmem offsets every hot path
 * needs, cached in module globals.  A worker sets them once at boot; the deterministic
 * engine sets mycpuid before each step.  The host is cpu -1.
 */

import { k32, H_NCPUS, H_OFF_PCPU, H_OFF_LOCKSTAT, H_LOCKSTAT, H_OFF_LOCKCLASS, LOCKSTAT_ON,
  H_ENGINE, ENGINE_DETERMINISTIC, H_FAIL_ON, H_BUGS } from './kmem.js';
import { H_WITNESS, H_INVARIANTS } from './kmem.js';
import { PCPU_WORDS } from './pcpu.js';

export let mycpuid = -1;
export let ncpus = 0;
export let pcpu_base = 0;      // word offset of CPU 0's pcpu block
export let mypcpu = 0;         // word offset of this CPU's pcpu block (the host has block ncpus)
export let myslot = 0;         // statistics slot: the CPU id, or ncpus for the host
export let det_engine = false; // all CPUs in this thread, virtual time
export let lockstat_base = 0;  // word offset (even) of the statistics doubles
export let lockclass_base = 0;
export let lockstat_on = false;
export let witness_on = false;  // WITNESS lock-order checking (shared/witness_hooks.ts, kern/subr_witness.ts)
export let invariants_on = false; // INVARIANTS checks (kern/kern_invariants.ts, lwkt/lwkt_invariants.ts)
export let faults_on = false;  // some fault site is armed (shared/fail.ts, kern/kern_fail.ts)
export let kbugs = 0;          // injected kernel bugs, BUG_* bits (shared/fail.ts)

/* Re-read the header after kmem_attach. */
export function cpu_attach(): void {
  ncpus = k32[H_NCPUS];
  faults_on = k32[H_FAIL_ON] !== 0;
  kbugs = k32[H_BUGS];
  witness_on = k32[H_WITNESS] !== 0;
  invariants_on = k32[H_INVARIANTS] !== 0;
  pcpu_base = k32[H_OFF_PCPU];
  lockstat_base = k32[H_OFF_LOCKSTAT];
  lockclass_base = k32[H_OFF_LOCKCLASS];
  lockstat_on = k32[H_LOCKSTAT] === LOCKSTAT_ON;
  det_engine = k32[H_ENGINE] === ENGINE_DETERMINISTIC;
  set_mycpuid(mycpuid);
}

export function set_mycpuid(cpu: number): void {
  mycpuid = cpu;
  myslot = cpu >= 0 ? cpu : ncpus;
  mypcpu = pcpu_base + myslot * PCPU_WORDS;
}

export function pcpu_of(cpu: number): number { return pcpu_base + cpu * PCPU_WORDS; }
