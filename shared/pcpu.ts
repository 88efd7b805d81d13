/*
 * pcpu.ts: the per-CPU words in kmem (the shared half of DragonFly's globaldata).
 * Each CPU has PCPU_WORDS words; fields written by different parties sit on
 * different 64-byte lines, because a line bounced between writers doubles a
 * round trip (measured here).  The JS half (run queues, generators) is in lwkt/.
 */

import { layout } from './struct.js';

export const PC = layout('pcpu', {
  // Line 0: written by other CPUs and the host (Atomics only).
  pc_ipipend: 1,        // bit s set: CPU s has published IPIs for this CPU
  pc_ctlpend: 1,        // host has posted a control request: visit the event loop
  pc_kick: 1,           // "look again": a token this CPU waits for was freed, or the host calls
  pc_pad0: 13,
  // Line 1: the doorbell.  1 while this CPU sleeps in Atomics.wait on it.
  pc_doorbell: 1,
  pc_pad1: 15,
  // Lines 2-5: written by this CPU only, plainly; read by anyone for stats and dumps.
  pc_curtd: 1,          // kmem pointer of the running thread, 0 when idle
  pc_state: 1,          // CPUSTATE_*
  pc_spinlocks: 1,      // spinlocks held right now (gd_spinlocks_wr)
  pc_nthreads: 1,       // threads that belong to this CPU
  pc_ncallouts: 1,      // callouts armed on this CPU
  pc_epoch: 1,          // bumped whenever the CPU does work (deadlock detection)
  pc_runq_mask: 1,      // non-empty run queues (gd_runqmask), for dumps
  pc_pad2: 1,
  pc_switches_f64: 2,   // thread switches
  pc_ipis_sent_f64: 2,
  pc_ipis_recv_f64: 2,
  pc_msgs_sent_f64: 2,  // lwkt messages put to ports
  pc_msgs_recv_f64: 2,  // lwkt messages taken from ports by their owners
  pc_idle_ns_f64: 2,    // time spent idle (polling or asleep)
  pc_steps_f64: 2,      // thread resumes
  pc_wakeups_f64: 2,    // threads made runnable by wakeup()
  pc_callouts_f64: 2,   // callouts fired
  pc_sleeps_f64: 2,     // times the idle CPU slept on its doorbell
  // Under aio_spin, by any CPU (kern/vfs_aio.ts): this CPU's AIO jobs ready to run.
  pc_aio_jobs: 2,       // TAILQ of struct aiocblist
  pc_aio_td: 1,         // the CPU's AIO daemon, made by its first aio request
  pc_aio_busy: 1,       // 1 while the daemon has jobs (it then counts as a live thread)
  pc_pad3: 24,
  // Lines 6-9: the run queues (gd_tdrunq), a TAILQ head per priority; this CPU only.
  pc_runq: 64,
});
export const PCPU_WORDS = 160;
if (PC.SIZE > PCPU_WORDS) throw new Error('pcpu: layout overflows PCPU_WORDS');

export const CPUSTATE_BOOT = 0;
export const CPUSTATE_RUN = 1;
export const CPUSTATE_IDLE = 2;
export const CPUSTATE_HALT = 3;
export const CPUSTATE_NAMES = ['boot', 'run', 'idle', 'halt'];
