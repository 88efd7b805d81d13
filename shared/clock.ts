/*
 * clock.ts: the engine's clock, in nanoseconds since boot.
 *
 * The parallel engine reads real time (performance.now, ~70 ns a read here, so hot paths
 * read it rarely); the deterministic engine installs its virtual clock, which advances
 * only as the engine steps.  Kernel code calls nanotime() and never knows which.
 */

let epoch_ms = performance.now();
let virtual_ns = -1;  // >= 0 while a deterministic machine is attached

export function nanotime(): number {
  return virtual_ns >= 0 ? virtual_ns : (performance.now() - epoch_ms) * 1e6;
}

/* Real time: boot epoch as host-absolute ms (performance.timeOrigin + now()). */
export function clock_set_real(boot_epoch_abs_ms: number): void {
  epoch_ms = boot_epoch_abs_ms - performance.timeOrigin;
  virtual_ns = -1;
}

export function clock_set_virtual(ns: number): void { virtual_ns = ns; }
export function clock_is_virtual(): boolean { return virtual_ns >= 0; }
export function clock_now_abs_ms(): number { return performance.timeOrigin + performance.now(); }
