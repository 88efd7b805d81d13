/*
 * sys/proc.ts: struct proc, struct ucred, struct uidinfo and struct rlimit as kmem
 * layouts, with the resource, signal and process-state constants they use, and the kern
 * layer's words in kmem's g_kern block.
 * Mirrors DragonFly 2008 sys/sys/proc.h, sys/ucred.h, sys/resourcevar.h, sys/resource.h
 * and sys/signal.h, cut down to what the socket layer's processes need.
 * Differs where kmem forces it: the limits (DragonFly's shared, copy-on-write struct
 * plimit) and the signal actions (struct sigacts) sit inline in the proc; a proc's
 * threads are LWKT threads listed in a fixed array (there are no lwps); and the kernel-
 * wide tables (pid hash, uid hash, open-file list) live in g_kern, where an all-zero
 * block is a valid empty state, so nothing needs initialising at boot.
 */

import { layout, type Ptr } from '../../shared/struct.js';
import { k32, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { KG } from './kglobals.js';

/* ---- resource limits (sys/resource.h) ---- */

export const RLIMIT_CPU = 0;         // cpu time, seconds
export const RLIMIT_FSIZE = 1;       // largest file, bytes
export const RLIMIT_DATA = 2;        // data segment, bytes
export const RLIMIT_STACK = 3;       // stack, bytes
export const RLIMIT_CORE = 4;        // core file, bytes
export const RLIMIT_RSS = 5;         // resident set, bytes
export const RLIMIT_MEMLOCK = 6;     // locked memory, bytes
export const RLIMIT_NPROC = 7;       // processes per real uid
export const RLIMIT_NOFILE = 8;      // open file descriptors
export const RLIMIT_SBSIZE = 9;      // socket buffer bytes per uid (chgsbsize)
export const RLIMIT_VMEM = 10;       // address space, bytes
export const RLIMIT_AS = RLIMIT_VMEM;
export const RLIMIT_POSIXLOCKS = 11; // POSIX locks per uid
export const RLIM_NLIMITS = 12;

/*
 * RLIM_INFINITY: C's ((rlim_t)1 << 63) - 1 is not a double; the nearest double, 2^63,
 * stands for it.  Limits are doubles here, so every comparison C makes on rlim_t works
 * unchanged, and no finite charge ever exceeds it.
 */
export const RLIM_INFINITY = 2 ** 63;

/* struct rlimit: two doubles (its pointer must be an even word). */
export const RLIMIT = layout('rlimit', {
  rlim_cur_f64: 2,   // current (soft) limit
  rlim_max_f64: 2,   // maximum value for rlim_cur (hard limit)
});

/* ---- signals (sys/signal.h): numbers the process layer and the socket layer use ---- */

export const NSIG = 32;
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGABRT = 6;
export const SIGKILL = 9;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGURG = 16;
export const SIGSTOP = 17;
export const SIGCONT = 19;
export const SIGCHLD = 20;
export const SIGIO = 23;
export const SIGWINCH = 28;
export const SIGINFO = 29;
export const SIGUSR1 = 30;
export const SIGUSR2 = 31;

/* Dispositions (sigaction's sa_handler): here a handler is only "caught", it runs in user code. */
export const SIG_DFL = 0;
export const SIG_IGN = 1;
export const SIG_CATCH = 2;          // here: stands for any handler address

export const SA_RESTART = 0x0002;    // restart system calls interrupted by this signal

/* Signals whose default action is to be ignored (kern_sig.c sigprop SA_IGNORE). */
export const SIGPROP_IGNORE = (1 << (SIGURG - 1)) | (1 << (SIGCONT - 1)) | (1 << (SIGCHLD - 1)) |
  (1 << (SIGIO - 1)) | (1 << (SIGWINCH - 1)) | (1 << (SIGINFO - 1));

/* struct sigacts, reduced to its bit sets (one bit per signal, bit sig - 1). */
export const SIGACTS = layout('sigacts', {
  ps_sigcatch: 1,    // signals with a handler
  ps_sigignore: 1,   // signals set to SIG_IGN
  ps_sigintr: 1,     // signals whose handler lacks SA_RESTART: PCATCH sleeps give EINTR
});

/* ---- struct uidinfo (sys/resourcevar.h): per-uid accounting ---- */

export const UIDINFO = layout('uidinfo', {
  ui_spin: 2,        // spinlock guarding ui_sbsize (SEED used a critical section, one CPU's only)
  ui_uid: 1,
  ui_ref: 1,         // references: creds naming this uid; changed by Atomics; the last drop is under kg_ui_spin
  ui_proccnt: 1,     // processes whose real uid this is (Atomics)
  ui_next: 1,        // uid hash chain, guarded by kg_ui_spin
  ui_sbsize_f64: 2,  // socket buffer bytes charged (chgsbsize), a double
});

/* ---- struct ucred (sys/ucred.h): credentials, shared by reference, copied on write ---- */

export const UCRED = layout('ucred', {
  cr_ref: 1,         // references (Atomics); a cred with cr_ref > 1 is never changed
  cr_uid: 1,         // effective user id
  cr_ruid: 1,        // real user id
  cr_svuid: 1,       // saved user id
  cr_gid: 1,         // effective group id (DragonFly: cr_groups[0])
  cr_rgid: 1,        // real group id
  cr_svgid: 1,       // saved group id
  cr_uidinfo: 1,     // uidinfo of cr_uid (socket buffers are charged here), referenced
  cr_ruidinfo: 1,    // uidinfo of cr_ruid (process counts), referenced
});

/* ---- struct proc (sys/proc.h) ---- */

/* p_stat values (DragonFly's). */
export const SIDL = 1;               // being created
export const SACTIVE = 2;            // has threads that may run
export const SSTOP = 3;
export const SZOMB = 4;              // exited, not yet freed

export const P_MAXTHREADS = 16;      // here: LWKT threads one process may have (p_threads slots)

/* p_flag bits (DragonFly's). */
export const P_WEXIT = 0x02000;      // exit1 has begun: every thread is to end

/* Join slots (p_jslots): a thread made by thread() until it is joined or the process exits. */
export const JS_FREE = 0;
export const JS_RESERVED = 1;        // asked for; its CPU has not made it yet
export const JS_RUNNING = 2;
export const JS_DONE = 3;            // ended: js_res holds its result
export const JSLOT = layout('jslot', {
  js_state: 1,       // JS_*
  js_tid: 1,         // the thread's td_id (0 while reserved)
  js_res: 1,         // JS_DONE: its result (kern_exec_args.ts blob), or 0
});
export const PID_MAX = 99999;        // largest pid (sys/proc.h)
export const PIDHASH_SIZE = 16;      // pid hash buckets in g_kern; a power of two
export const UIHASH_SIZE = 16;       // uid hash buckets in g_kern; a power of two

export const PROC = layout('proc', {
  // First, so that the doubles sit on even words (a proc is an even zone item).
  p_rlimit: RLIM_NLIMITS * RLIMIT.SIZE, // struct rlimit[RLIM_NLIMITS]; guarded by p_spin
  p_spin: 2,         // spinlock guarding p_threads, p_nthreads, p_sigacts, p_rlimit and p_ucred
  // Written once at creation, read by anyone:
  p_pid: 1,
  p_pptr: 1,         // parent proc, or 0 (not referenced: pfind the pid to be sure)
  p_hash: 1,         // pid hash chain, guarded by kg_proc_spin
  p_fd: 1,           // struct filedesc (kern_descrip.ts), private to the process's threads
  // Guarded by p_spin:
  p_pgid: 1,         // process group id
  p_stat: 1,         // SIDL, SACTIVE, SZOMB
  p_flag: 1,         // P_WEXIT
  p_xstat: 1,        // SZOMB: the wait status (W_EXITCODE / a terminating signal)
  p_ucred: 1,        // credentials, referenced; replaced (never changed in place) by setuid
  p_nthreads: 1,     // threads attached (proc_attach_thread)
  p_threads: P_MAXTHREADS, // the threads, packed at the front
  p_sigacts: SIGACTS.SIZE,  // signal actions (DragonFly: a pointer to a shared struct sigacts)
  p_jslots: P_MAXTHREADS * JSLOT.SIZE,  // join slots of thread(), guarded by p_spin
  p_aioinfo: 1,      // struct kaioinfo (vfs_aio.ts), made by the first aio request; its words a wait channel
});

/* Wait status words (sys/wait.h). */
export const WNOHANG = 1;
export function W_EXITCODE(ret: number, sig: number): number { return ((ret & 0xff) << 8) | (sig & 0x7f); }
export function WIFEXITED(st: number): boolean { return (st & 0x7f) === 0; }
export function WEXITSTATUS(st: number): number { return (st >> 8) & 0xff; }
export function WIFSIGNALED(st: number): boolean { return (st & 0x7f) !== 0 && (st & 0x7f) !== 0x7f; }
export function WTERMSIG(st: number): number { return st & 0x7f; }

const KG_KERN_WORDS = 64;            // KG.g_kern's size (sys/kglobals.ts); KERN must fit

/* ---- the kern layer's kernel-wide words, in kmem's g_kern block (sys/kglobals.ts) ---- */


/*
 * Every word starts at 0 and 0 is a valid state: no pids handed out, empty hash chains,
 * no open files, and 0 for a tunable means "the default" (see kern_maxfiles()).  The
 * spinlocks' class words are filled in by kern_proc's attach hook.
 */
export const KERN = layout('kern_globals', {
  kg_proc_spin: 2,            // spinlock: the pid hash chains, kg_lastpid, kg_nprocs
  kg_lastpid: 1,              // last pid handed out (pids start at 1)
  kg_nprocs: 1,               // processes in the pid hash
  kg_pidhash: PIDHASH_SIZE,   // pid hash heads (struct proc p_hash chains)
  kg_ui_spin: 2,              // spinlock: the uid hash chains and every uidinfo's last reference
  kg_uihash: UIHASH_SIZE,     // uid hash heads (struct uidinfo ui_next chains)
  kg_file_spin: 2,            // spinlock: the open-file list (filehead)
  kg_filehead: 1,             // first open file (struct file f_list chain), for unp_gc
  kg_nfiles: 1,               // open files, system-wide (Atomics): nfiles
  kg_maxfiles: 1,             // tunable kern.maxfiles; 0: the file zone's size
  kg_maxfilesperproc: 1,      // tunable kern.maxfilesperproc; 0: maxfiles * 9 / 10
  kg_aio_spin: 2,             // aio_spin (vfs_aio.ts): every aio queue and count
  kg_aio_queued: 1,           // num_queue_count: aio jobs of every process
  kg_aio_jobrefid: 1,         // the last aio handle given out
});

if (KERN.SIZE > KG_KERN_WORDS) throw new Error('sys/proc: KERN does not fit in g_kern');
if ((PROC.p_rlimit & 1) !== 0 || (RLIMIT.SIZE & 1) !== 0) throw new Error('sys/proc: p_rlimit not on an even word');

/* The g_kern block of the attached machine. */
export function kern_globals(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_kern; }

/* The signals by number, as programs and reports name them. */
export const SIGNAMES: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGEMT', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGBUS', 11: 'SIGSEGV', 12: 'SIGSYS', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  16: 'SIGURG', 17: 'SIGSTOP', 18: 'SIGTSTP', 19: 'SIGCONT', 20: 'SIGCHLD', 21: 'SIGTTIN', 22: 'SIGTTOU',
  23: 'SIGIO', 24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH', 29: 'SIGINFO',
  30: 'SIGUSR1', 31: 'SIGUSR2',
};

/* How a process killed by sig is described ('killed by signal 13 (SIGPIPE)'). */
export function signal_message(sig: number): string {
  return `killed by signal ${sig}${SIGNAMES[sig] !== undefined ? ` (${SIGNAMES[sig]})` : ''}`;
}
