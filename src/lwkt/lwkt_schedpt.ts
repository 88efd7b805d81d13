/*
 * lwkt_schedpt.ts: scheduling points, where the deterministic engine may let another
 * CPU run.
 *
 * On the real machine the CPUs run at once, so another CPU's work can fall between any
 * two steps of a thread.  The deterministic engine runs one CPU at a time; it gets a
 * choice only when a thread yields.  So every place where the machine lets other work
 * interleave is a point: system-call entry and return, token, BGL and sleep-lock
 * acquisition and release, IPI sends, message puts and replies, wakeup, crit_exit.
 *
 * A point in a generator (a Blocking function, called with yield*) yields EFF_STEP: the
 * thread stays current on its CPU, and the engine picks which CPU steps next.  A point
 * in a plain function cannot yield (DragonFly's need_lwkt_resched would mark it): the
 * thread yields at its next generator point, at the latest at its return from the system
 * call.  Kernel code stays as it is written.
 *
 * Points act only in the deterministic engine with fine points (the default; boot
 * option points: 'blocking' keeps the old behaviour, where a step ran a thread until it
 * blocked, for the bench's comparison).  In the parallel engine they cost one test of a
 * module flag.
 *
 * Each point also charges virtual time (SP_POINT_NS; a system call SP_SYSCALL_NS more),
 * so figures in virtual time grow with the work done.
 */

import { DONE_VOID, STEP_ONCE, type Blocking } from '../../shared/effect.js';
import { mycpu } from './globaldata.js';

/* What a point is: kept with each trace event, decoded by name (SP_NAMES). */
export const SP_SYSCALL = 16;      // system-call entry (arg: the call's number, SYSCALL_NAMES)
export const SP_SYSRET = 17;       // system-call return (arg: errno, 0 on success)
export const SP_TOKEN_GET = 18;    // a token or the BGL taken (arg: token)
export const SP_TOKEN_REL = 19;    // a token or the BGL released (arg: token)
export const SP_LOCK_GET = 20;     // a sleep lock (ssb_lock) taken (arg: lock word)
export const SP_LOCK_REL = 21;     // a sleep lock released (arg: lock word)
export const SP_IPI = 22;          // an IPI sent (arg: target CPU)
export const SP_MSG_PUT = 23;      // a message put on a port (arg: message)
export const SP_MSG_REPLY = 24;    // a message replied (arg: message)
export const SP_WAKEUP = 25;       // wakeup (arg: channel)
export const SP_CRIT_EXIT = 26;    // crit_exit to depth 0
export const SP_QUANTUM = 27;      // a user thread's quantum spent at system-call return: it yields the CPU

export const SP_NAMES: Record<number, string> = {
  [SP_SYSCALL]: 'syscall', [SP_SYSRET]: 'sysret', [SP_TOKEN_GET]: 'token get', [SP_TOKEN_REL]: 'token rel',
  [SP_LOCK_GET]: 'lock get', [SP_LOCK_REL]: 'lock rel', [SP_IPI]: 'ipi send', [SP_MSG_PUT]: 'msg put',
  [SP_MSG_REPLY]: 'msg reply', [SP_WAKEUP]: 'wakeup', [SP_CRIT_EXIT]: 'crit_exit', [SP_QUANTUM]: 'quantum',
};

/* Virtual time a point and a system call cost, in ns. */
export const SP_POINT_NS = 100;
export const SP_SYSCALL_NS = 400;

/* Fine points on (deterministic engine, points: 'fine'): set by the engine at attach. */
export let sp_fine = false;
export function schedpt_set_fine(on: boolean): void { sp_fine = on; }

/*
 * A point in a plain function.  It cannot yield; the thread's next generator point does,
 * at the latest its return from the system call (with fine points every generator point
 * yields, so a "reschedule wanted" flag would carry nothing).  It costs its virtual time,
 * and with tracing on it is logged (not hashed: it is not a choice of the scheduler).
 */
export function sched_want(kind: number, arg: number): void {
  if (!sp_fine) return;
  const gd = mycpu;
  gd.vt_charge += SP_POINT_NS;
  if (gd.trace_log !== null) gd.trace_note(kind, arg);
}

/* A point in a generator: yield* it. */
export function sched_point(kind: number, arg: number): Blocking<void> {
  if (!sp_fine) return DONE_VOID;
  const gd = mycpu;
  gd.sp_kind = kind;
  gd.sp_arg = arg;
  gd.vt_charge += SP_POINT_NS;
  return STEP_ONCE;
}

