/*
 * kern_timeout.ts: callouts, per-CPU timers (DragonFly kern/kern_timeout.c).
 *
 * A callout fires once on the CPU that armed it, in interrupt context (its function must
 * not block), at the first scheduling point after its deadline.  Deadlines are on the
 * engine's clock: real time in the parallel engine, virtual time in the deterministic
 * one.  Each CPU keeps a binary heap of its armed callouts.  callout_stop and
 * callout_reset must run on the callout's CPU, as callouts here never migrate.
 *
 *   struct callout { c_flags; c_cpu; c_func: kfunc id; c_arg; c_arg2; c_idx: heap slot + 1 }
 */

import { k32, kf64, H_HZ } from '../../shared/kmem.js';
import { layout, type Ptr } from '../../shared/struct.js';
import { PC } from '../../shared/pcpu.js';
import { nanotime } from '../../shared/clock.js';
import { panic } from '../../shared/panic.js';
import { mycpu, type Globaldata } from './globaldata.js';
import { kfunc_get } from './kfunc.js';

export const CALLOUT = layout('callout', {
  c_flags: 1,
  c_cpu: 1,
  c_func: 1,
  c_arg: 1,
  c_arg2: 1,
  c_idx: 1,
});
export const CALLOUT_PENDING = 0x0001;  // armed, not yet fired
export const CALLOUT_ACTIVE = 0x0002;   // armed since the last callout_deactivate

export function callout_init(c: Ptr): void {
  k32[c + CALLOUT.c_flags] = 0;
  k32[c + CALLOUT.c_idx] = 0;
}

export function ticks_to_ns(ticks: number): number { return ticks * (1e9 / k32[H_HZ]); }

/* Arm c to call fn(arg, arg2) after `ticks` ticks (at least one scheduling point later). */
export function callout_reset(c: Ptr, ticks: number, fn: number, arg: number, arg2 = 0): void {
  callout_reset_ns(c, ticks_to_ns(Math.max(ticks, 1)), fn, arg, arg2);
}

export function callout_reset_ns(c: Ptr, ns: number, fn: number, arg: number, arg2 = 0): void {
  const gd = mycpu;
  if (k32[c + CALLOUT.c_flags] & CALLOUT_PENDING) callout_stop(c);
  k32[c + CALLOUT.c_cpu] = gd.cpuid;
  k32[c + CALLOUT.c_func] = fn;
  k32[c + CALLOUT.c_arg] = arg;
  k32[c + CALLOUT.c_arg2] = arg2;
  k32[c + CALLOUT.c_flags] = CALLOUT_PENDING | CALLOUT_ACTIVE;
  heap_push(gd, c, nanotime() + ns);
  k32[gd.pcpu + PC.pc_ncallouts]++;
}

/* Disarm c.  Returns 1 if it was pending (it will not fire), else 0. */
export function callout_stop(c: Ptr): number {
  const f = k32[c + CALLOUT.c_flags];
  k32[c + CALLOUT.c_flags] = f & ~(CALLOUT_PENDING | CALLOUT_ACTIVE);
  if ((f & CALLOUT_PENDING) === 0) return 0;
  const gd = mycpu;
  if (!(k32[c + CALLOUT.c_cpu] === gd.cpuid)) panic(`callout_stop: callout armed on cpu${k32[c + CALLOUT.c_cpu]}, stopped on cpu${gd.cpuid}`);
  heap_remove(gd, k32[c + CALLOUT.c_idx] - 1);
  k32[gd.pcpu + PC.pc_ncallouts]--;
  return 1;
}

export function callout_pending(c: Ptr): boolean { return (k32[c + CALLOUT.c_flags] & CALLOUT_PENDING) !== 0; }

/* Fire every callout whose deadline is at or before now. */
export function callout_run_due(gd: Globaldata, now: number): void {
  while (gd.co_n !== 0 && gd.co_time[0] <= now) {
    const c = gd.co_ptr[0];
    heap_remove(gd, 0);
    k32[c + CALLOUT.c_flags] &= ~CALLOUT_PENDING;
    k32[gd.pcpu + PC.pc_ncallouts]--;
    kf64[(gd.pcpu + PC.pc_callouts_f64) >> 1]++;
    (kfunc_get(k32[c + CALLOUT.c_func]) as (a: number, b: number, c: number) => void)(
      k32[c + CALLOUT.c_arg], k32[c + CALLOUT.c_arg2], c);
  }
}

/* Deadline of the next callout on this CPU (ns), or Infinity. */
export function callout_next_deadline(gd: Globaldata): number { return gd.co_n === 0 ? Infinity : gd.co_time[0]; }

/* ---- the heap ---- */

function heap_set(gd: Globaldata, i: number, c: Ptr, t: number): void {
  gd.co_ptr[i] = c;
  gd.co_time[i] = t;
  k32[c + CALLOUT.c_idx] = i + 1;
}

function heap_push(gd: Globaldata, c: Ptr, t: number): void {
  if (gd.co_n === gd.co_ptr.length) {
    const p = new Int32Array(gd.co_n * 2); p.set(gd.co_ptr); gd.co_ptr = p;
    const q = new Float64Array(gd.co_n * 2); q.set(gd.co_time); gd.co_time = q;
  }
  let i = gd.co_n++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (gd.co_time[parent] <= t) break;
    heap_set(gd, i, gd.co_ptr[parent], gd.co_time[parent]);
    i = parent;
  }
  heap_set(gd, i, c, t);
}

function heap_remove(gd: Globaldata, i: number): void {
  const n = --gd.co_n;
  k32[gd.co_ptr[i] + CALLOUT.c_idx] = 0;
  if (i === n) return;
  const c = gd.co_ptr[n];
  const t = gd.co_time[n];
  // Sift the last element into slot i, up or down.
  while (i > 0 && gd.co_time[(i - 1) >> 1] > t) {
    const parent = (i - 1) >> 1;
    heap_set(gd, i, gd.co_ptr[parent], gd.co_time[parent]);
    i = parent;
  }
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const m = r < n && gd.co_time[r] < gd.co_time[l] ? r : l;
    if (gd.co_time[m] >= t) break;
    heap_set(gd, i, gd.co_ptr[m], gd.co_time[m]);
    i = m;
  }
  heap_set(gd, i, c, t);
}
