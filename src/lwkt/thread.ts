/*
 * thread.ts: struct thread (DragonFly sys/thread.h), the kmem half of an LWKT thread.
 * The generator that is the thread's kernel stack stays in its CPU's JS heap
 * (globaldata.ts); everything another CPU, the host or a panic dump may read is here.
 */

import { layout } from '../../shared/struct.js';
import { TD_COMM_BYTES, TD_KSTACK_WORDS, TD_MAXTOKENS } from '../../shared/param.js';
import { flag_names } from '../../shared/struct.js';
import { PORT } from '../sys/msgport.js';

export const TD = layout('thread', {
  // Identity; written at creation.
  td_id: 1,            // thread id, from 1
  td_slot: 1,          // index in the thread zone (the CPU's generator table is keyed by it)
  td_comm: TD_COMM_BYTES / 4, // name, NUL padded
  td_proc: 1,          // owning proc, for the socket layer's processes; 0 for kernel threads
  // Owned by td_cpu: only that CPU changes these (others go through an IPI).
  td_cpu: 1,           // the CPU the thread belongs to
  td_flags: 1,         // TDF_*
  td_pri: 1,           // base priority, TDPRI_*
  td_critcount: 1,     // critical-section nesting
  td_rq_next: 1,       // run-queue links
  td_rq_prev: 1,
  td_wchan: 1,         // tsleep wait channel (a kmem address), 0 when not sleeping
  td_wmesg: 1,         // kstr id of the wait message, while blocked
  td_wmsg: 1,          // lwkt_msg being waited for (lwkt_waitmsg), for dumps
  td_slq_next: 1,      // tsleep queue links
  td_slq_prev: 1,
  td_ntoks: 1,         // entries used in td_toks
  td_toks: TD_MAXTOKENS, // tokens referenced, innermost last; a token may appear more than once
  td_callout: 8,       // embedded callout for tsleep timeouts (CALLOUT layout)
  // Signals: pending is set by anyone with Atomics.or; the rest by the owner.
  td_sigpend: 1,       // pending signals, bit (sig - 1)
  td_sigmask: 1,       // blocked signals
  td_sigintr: 1,       // signals whose handler lacks SA_RESTART: PCATCH sleeps give EINTR, else ERESTART
  td_exitcode: 1,      // 0 normal, 1 threw
  td_tokwait_cls: 1,   // lock class of the token that refused its resume (lock statistics)
  td_tokwait_f64: 2,   // when that refusal started (ns)
  // The thread's own message port (lwkt_initport_thread).
  td_msgport: PORT.SIZE,
  // The kmem half of the kernel stack (lwkt_kstack.ts): what C keeps in locals that other
  // code reaches by address (a syscall's scratch words, the netmsg of so_pru_*).
  td_ksp: 1,           // words of td_kstack in use
  td_kstack_pad: 1,
  td_kstack: TD_KSTACK_WORDS,
});

/* td_flags, DragonFly's values. */
export const TDF_RUNNING = 0x0001;   // the CPU's current thread
export const TDF_RUNQ = 0x0002;      // on a run queue
export const TDF_SINTR = 0x0040;     // interruptible sleep: a signal schedules it
export const TDF_TSLEEPQ = 0x0080;   // on a tsleep queue: only wakeup/endtsleep/signal free it
export const TDF_SYSTHREAD = 0x0100; // a system service thread (netisr): never counted as a live thread
export const TDF_TIMEOUT = 0x8000;   // tsleep timed out
export const TDF_NOJOIN = 0x20000;   // here: made by the kernel (a process's thread): its end is not reported to the host
export const TDF_INTTHREAD = 0x10000;
export const TDF_BLOCKED = 0x40000;  // lwkt_sleep: descheduled until lwkt_schedule
export const TDF_TOKWAIT = 0x1000000; // here: runnable but waiting for a token held elsewhere
export const TDF_SELECT = 0x2000000; // here: DragonFly's LWP_SELECT: select/poll is scanning (cleared by selwakeup)
export const TDF_EXITED = 0x4000000; // here: generator finished; descriptor about to be freed
export const TDF_SELECTING = 0x8000000; // here: in select or poll: its selinfo records are live (selrecord's collision test)

export const TDF_NAMES = flag_names({ TDF_RUNNING, TDF_RUNQ, TDF_SINTR, TDF_TSLEEPQ, TDF_SYSTHREAD, TDF_TIMEOUT, TDF_NOJOIN,
  TDF_INTTHREAD, TDF_BLOCKED, TDF_TOKWAIT, TDF_SELECT, TDF_EXITED, TDF_SELECTING });

/* Priorities (td_pri), DragonFly's TDPRI_* values. */
export const TDPRI_IDLE_THREAD = 0;
export const TDPRI_USER_IDLE = 4;
export const TDPRI_USER_NORM = 6;
export const TDPRI_USER_REAL = 8;
export const TDPRI_KERN_USER = 10;
export const TDPRI_KERN_DAEMON = 12;
export const TDPRI_SOFT_NORM = 14;
export const TDPRI_SOFT_TIMER = 16;
export const TDPRI_EXITING = 19;
export const TDPRI_INT_SUPPORT = 20;
export const TDPRI_INT_LOW = 27;
export const TDPRI_INT_MED = 28;
export const TDPRI_INT_HIGH = 29;
export const TDPRI_MAX = 31;

/* Threads at or above this priority preempt at an interrupt window (lwkt_preempt). */
export const TDPRI_PREEMPT = TDPRI_INT_SUPPORT;

export function thread_state_name(flags: number, wchan: number): string {
  if (flags & TDF_EXITED) return 'exited';
  if (flags & TDF_RUNNING) return 'running';
  if (flags & TDF_TOKWAIT) return 'tokwait';
  if (flags & TDF_RUNQ) return 'runnable';
  if (flags & TDF_TSLEEPQ) return wchan !== 0 ? 'sleep' : 'sleep?';
  if (flags & TDF_BLOCKED) return 'blocked';
  return 'stopped';
}
