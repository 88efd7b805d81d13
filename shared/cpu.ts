/*
 * cpu.ts: which CPU the running code belongs to, and the kmem offsets every hot path
 * needs, cached in module globals.  A worker sets them once at boot; the deterministic
 * engine sets mycpuid before each step.  The host is cpu -1.
 */

import { k32, H_NCPUS, H_OFF_PCPU, H_OFF_LOCKSTAT, H_LOCKSTAT, H_OFF_LOCKCLASS, LOCKSTAT_ON,
  H_ENGINE, ENGINE_DETERMINISTIC } from './kmem.js';
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

/* Re-read the header after kmem_attach. */
export function cpu_attach(): void {
  ncpus = k32[H_NCPUS];
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
