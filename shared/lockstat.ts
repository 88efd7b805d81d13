/*
 * lockstat.ts: lock classes and their statistics, the columns of Linux's lock_stat:
 * acquisitions, contended acquisitions, spin iterations, wait time (total, max) and
 * hold time (total, max, over sampled acquisitions).
 *
 * A class is a name shared by every lock of one kind ("so_rcv", "bgl", "zone:msg").
 * Statistics live in per-(class, CPU) slots of doubles written plainly by their own CPU
 * (a shared Atomics.add costs ~50 ns under contention here) and summed when read.
 * Reading the clock costs ~70 ns here, so hold time is timed on one acquisition in
 * LOCKSTAT_SAMPLE_MASK + 1 per CPU and wait time only on contended acquisitions.
 *
 *   lockclass region: +0 futex, +1 count, +2.. name kstr id per class (1-based ids)
 */

import { k32, kf64 } from './kmem.js';
import { kstr_get, kstr_intern, kstr_read } from './kstr.js';
import { futex_lock, futex_unlock } from './futex.js';
import { LOCKCLASS_MAX, LOCKSTAT_SAMPLE_MASK } from './param.js';
import { lockclass_base, lockstat_base, myslot, ncpus } from './cpu.js';
import { H_PANIC } from './kmem.js';

export const LS_ACQ = 0;
export const LS_CONTENDED = 1;
export const LS_SPINS = 2;
export const LS_WAIT_TOTAL = 3;
export const LS_WAIT_MAX = 4;
export const LS_HOLD_TOTAL = 5;
export const LS_HOLD_MAX = 6;
export const LS_HOLD_SAMPLES = 7;
export const LS_FIELDS = 8;

export const LOCKCLASS_WORDS = 2 + LOCKCLASS_MAX;
/* Slots: one per CPU plus one for the host (which takes zone locks at boot). */
export function lockstat_words(ncpu: number): number { return LOCKCLASS_MAX * (ncpu + 1) * LS_FIELDS * 2; }

function panicking(): boolean { return Atomics.load(k32, H_PANIC) !== 0; }

/* The class id for a name, registering it on first use.  Not a hot path. */
export function lockclass_register(name: string): number {
  const nameid = kstr_intern(name);
  const b = lockclass_base;
  futex_lock(k32, b, panicking);
  try {
    const n = k32[b + 1];
    for (let i = 0; i < n; i++) if (k32[b + 2 + i] === nameid) return i + 1;
    if (n >= LOCKCLASS_MAX) throw new Error(`lockclass_register: more than ${LOCKCLASS_MAX} classes ('${name}')`);
    k32[b + 2 + n] = nameid;
    Atomics.store(k32, b + 1, n + 1);
    return n + 1;
  } finally {
    futex_unlock(k32, b);
  }
}

/* A class's name (for panic messages). */
export function lockclass_name(cls: number): string {
  const b = lockclass_base;
  return cls >= 1 && cls <= k32[b + 1] ? kstr_get(k32[b + 1 + cls]) : `class ${cls}`;
}

/* Index in kf64 of this CPU's slot for class cls. */
export function ls_slot(cls: number): number {
  return (lockstat_base >> 1) + ((cls - 1) * (ncpus + 1) + myslot) * LS_FIELDS;
}

/* Per-CPU sampling tick: true on one call in LOCKSTAT_SAMPLE_MASK + 1. */
let sample_tick = 0;
export function ls_sample(): boolean { return (++sample_tick & LOCKSTAT_SAMPLE_MASK) === 0; }

export function ls_wait(slot: number, ns: number, spins: number): void {
  kf64[slot + LS_CONTENDED]++;
  kf64[slot + LS_SPINS] += spins;
  kf64[slot + LS_WAIT_TOTAL] += ns;
  if (ns > kf64[slot + LS_WAIT_MAX]) kf64[slot + LS_WAIT_MAX] = ns;
}

export function ls_hold(slot: number, ns: number): void {
  kf64[slot + LS_HOLD_SAMPLES]++;
  kf64[slot + LS_HOLD_TOTAL] += ns;
  if (ns > kf64[slot + LS_HOLD_MAX]) kf64[slot + LS_HOLD_MAX] = ns;
}

/*
 * Hold-time samples under way, by lock address: a few fixed slots instead of a Map,
 * whose set/delete churn reallocates its table now and then (an allocation on a
 * steady-state send).  A sample that finds every slot busy is dropped: it is a sample.
 */
const HOLD_SLOTS = 8;
export class HoldSamples {
  size = 0;
  private readonly key = new Int32Array(HOLD_SLOTS);
  private readonly t0 = new Float64Array(HOLD_SLOTS);

  start(lock: number, t0: number): void {
    for (let i = 0; i < HOLD_SLOTS; i++) {
      if (this.key[i] === 0 || this.key[i] === lock) {
        if (this.key[i] === 0) this.size++;
        this.key[i] = lock;
        this.t0[i] = t0;
        return;
      }
    }
  }

  /* The start time of lock's sample, ending it; -1 when lock has none. */
  end(lock: number): number {
    for (let i = 0; i < HOLD_SLOTS; i++) {
      if (this.key[i] === lock) {
        this.key[i] = 0;
        this.size--;
        return this.t0[i];
      }
    }
    return -1;
  }
}

export interface LockClassStats {
  name: string;
  acquisitions: number;
  contended: number;
  spins: number;
  waitTotalNs: number;
  waitMaxNs: number;
  holdTotalNs: number;    // over holdSamples sampled acquisitions
  holdMaxNs: number;
  holdSamples: number;
}

/* Merge the per-CPU slots of every class, through explicit views (host or kernel). */
export function lockstat_read(i32: Int32Array, u8: Uint8Array, f64: Float64Array, ncpu: number,
    clsbase: number, statbase: number): LockClassStats[] {
  const out: LockClassStats[] = [];
  const n = Atomics.load(i32, clsbase + 1);
  for (let c = 1; c <= n; c++) {
    const s: LockClassStats = { name: kstr_read(i32, u8, i32[clsbase + 1 + c]), acquisitions: 0, contended: 0,
      spins: 0, waitTotalNs: 0, waitMaxNs: 0, holdTotalNs: 0, holdMaxNs: 0, holdSamples: 0 };
    for (let cpu = 0; cpu <= ncpu; cpu++) {
      const o = (statbase >> 1) + ((c - 1) * (ncpu + 1) + cpu) * LS_FIELDS;
      s.acquisitions += f64[o + LS_ACQ];
      s.contended += f64[o + LS_CONTENDED];
      s.spins += f64[o + LS_SPINS];
      s.waitTotalNs += f64[o + LS_WAIT_TOTAL];
      s.waitMaxNs = Math.max(s.waitMaxNs, f64[o + LS_WAIT_MAX]);
      s.holdTotalNs += f64[o + LS_HOLD_TOTAL];
      s.holdMaxNs = Math.max(s.holdMaxNs, f64[o + LS_HOLD_MAX]);
      s.holdSamples += f64[o + LS_HOLD_SAMPLES];
    }
    out.push(s);
  }
  return out;
}
