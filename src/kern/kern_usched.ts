/*
 * kern_usched.ts: the user-thread quantum (what DragonFly 2008's usched_bsd4 does at
 * the return to user mode).  bsd4_schedulerclock counts scheduler-clock ticks on each CPU
 * and asks for a user reschedule every usched_bsd4_rrinterval of them: "we round-robin
 * 10 times a second".  At the return from the next system call (userret), the thread
 * then gives up its CPU so that the other user threads there get their turn.
 *
 * Here a user thread is an LWKT thread of a process; its quantum starts when its CPU
 * switches to it (lwkt_thread.ts sets rr_start to -1, "not read yet") and is spent after
 * USCHED_QUANTUM_NS of the engine's clock.  The parallel engine reads the real clock
 * (~70 ns) once every 64 system calls; the deterministic engine's clock is a variable.
 * A thread that spent its quantum yields (EFF_SWITCH) at its system-call return: LWKT's
 * round robin then runs the next thread of its priority, if any.  This applies in both
 * engines; it is what lets a process that polls in a loop of system calls share its CPU.
 */

import { det_engine } from '../../shared/cpu.js';
import { nanotime } from '../../shared/clock.js';
import type { Globaldata } from '../lwkt/globaldata.js';

/* bsd4's round-robin interval: a tenth of a second. */
export const USCHED_QUANTUM_NS = 100_000_000;
const CLOCK_EVERY = 64;   // parallel engine: system calls between clock reads

/* At a system-call return: has the running thread spent its quantum?  If so, a new one starts. */
export function usched_quantum_spent(gd: Globaldata): boolean {
  if (!det_engine) {
    if (--gd.rr_check > 0) return false;
    gd.rr_check = CLOCK_EVERY;
  }
  const now = nanotime();
  if (gd.rr_start < 0) {
    gd.rr_start = now;
    return false;
  }
  if (now - gd.rr_start < USCHED_QUANTUM_NS) return false;
  gd.rr_start = now;
  return true;
}
