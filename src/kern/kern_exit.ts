/*
 * kern_exit.ts: the end of a process, and its parent's wait for it.
 * Mirrors DragonFly 2008 sys/kern/kern_exit.c: exit1 marks the process exiting and
 * kills its other threads (killalllwps), then closes its descriptors (fdfree), hands its
 * children to init (here: orphans, freed as soon as they exit, and zombies freed at
 * once), and becomes a zombie that keeps its wait status until the parent reaps it
 * (kern_wait), waking the parent and posting it SIGCHLD.  A process with no parent (one
 * the host spawned, or an orphan) is reaped as it exits, as init would reap it.
 *
 * Here the process's main thread always finishes the exit: whichever thread calls
 * exit1 (exit(), a fatal signal, the main program returning), every thread sees P_WEXIT
 * at its next return to user mode and ends; the main thread waits in proc_exit_wait
 * until it is the last one, then calls proc_exit.  So the thread the host joins is the
 * last of its process.
 *
 * Locking: kg_proc_spin guards every p_pptr link, p_stat's move to SZOMB and the pid
 * hash; it is taken before p_spin (as kill() does).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import type { Blocking } from '../../shared/effect.js';
import { ECHILD } from '../../shared/errno.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { lwkt_signal, msleep, PCATCH, wakeup } from '../lwkt/kern_synch.js';
import {
  JSLOT, JS_DONE, JS_FREE, JS_RESERVED, KERN, PROC, P_MAXTHREADS, P_WEXIT, SACTIVE, SIGCHLD, SIGKILL, SZOMB,
  WNOHANG, kern_globals,
} from '../sys/proc.js';
import { fdfree } from './kern_descrip.js';
import { aio_proc_rundown } from './vfs_aio.js';
import { proc_foreach_locked, proc_hash_out_locked, proc_release, psignal } from './kern_proc.js';
import { exec_args_free } from './kern_exec_args.js';

/*
 * exit1: begin the exit of p with wait status xstat, from thread td.  The first caller
 * wins: it sets P_WEXIT and xstat and posts SIGKILL to every other thread, so that one
 * asleep interruptibly wakes and each ends at its return to user mode.  Returns false
 * when the process was already exiting (xstat is then the first caller's).  Never blocks.
 */
export function exit1(p: Ptr, td: Ptr, xstat: number): boolean {
  spin_lock(p + PROC.p_spin);
  if ((k32[p + PROC.p_flag] & P_WEXIT) !== 0) {
    spin_unlock(p + PROC.p_spin);
    return false;
  }
  k32[p + PROC.p_flag] |= P_WEXIT;
  k32[p + PROC.p_xstat] = xstat;
  const n = k32[p + PROC.p_nthreads];
  for (let i = 0; i < n; i++) {
    const t = k32[p + PROC.p_threads + i];
    if (t !== td) lwkt_signal(t, SIGKILL);
  }
  spin_unlock(p + PROC.p_spin);
  return true;
}

/* Is p exiting (P_WEXIT)?  Never blocks. */
export function proc_exiting(p: Ptr): boolean { return (k32[p + PROC.p_flag] & P_WEXIT) !== 0; }

/* Threads asked for (join slots reserved) but not made yet.  p_spin held. */
function reserved_locked(p: Ptr): number {
  let n = 0;
  for (let i = 0; i < P_MAXTHREADS; i++) if (k32[p + PROC.p_jslots + i * JSLOT.SIZE + JSLOT.js_state] === JS_RESERVED) n++;
  return n;
}

/* The channel proc_exit_wait sleeps on; a thread that leaves an exiting process wakes it. */
export function exit_chan(p: Ptr): number { return p + PROC.p_nthreads; }

/*
 * proc_exit_wait: the main thread td, with P_WEXIT set, waits until it is the only
 * thread and no thread is still being made.  Blocks (not interruptibly: every other
 * thread is on its way out).
 */
export function* proc_exit_wait(p: Ptr): Blocking<void> {
  KASSERT(proc_exiting(p), 'proc_exit_wait: process is not exiting');
  spin_lock(p + PROC.p_spin);
  while (k32[p + PROC.p_nthreads] > 1 || reserved_locked(p) !== 0) {
    yield* msleep(exit_chan(p), p + PROC.p_spin, 0, 'exit', 0);
  }
  spin_unlock(p + PROC.p_spin);
}

/*
 * proc_exit: the end of a process whose threads have all detached: every descriptor is
 * closed (fdfree), unjoined thread results are freed, the children are orphaned (the
 * zombies among them freed), then p becomes a zombie for its parent to reap, or is freed
 * at once when it has none.  Blocks in the closes.  After it returns p may be gone.
 */
export function* proc_exit(p: Ptr): Blocking<void> {
  KASSERT(k32[p + PROC.p_nthreads] === 0, 'proc_exit: process still has threads');
  k32[p + PROC.p_flag] |= P_WEXIT;
  yield* aio_proc_rundown(p);         // before the descriptors: jobs hold their files
  yield* fdfree(p);
  for (let i = 0; i < P_MAXTHREADS; i++) {
    const js = p + PROC.p_jslots + i * JSLOT.SIZE;
    if (k32[js + JSLOT.js_state] === JS_DONE) exec_args_free(k32[js + JSLOT.js_res]);
    k32[js + JSLOT.js_state] = JS_FREE;
    k32[js + JSLOT.js_res] = NULL;
  }
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  proc_foreach_locked((q) => {
    if (k32[q + PROC.p_pptr] !== p) return;
    k32[q + PROC.p_pptr] = NULL;
    if (k32[q + PROC.p_stat] === SZOMB) {
      proc_hash_out_locked(q);
      proc_release(q);
    }
  });
  const parent = k32[p + PROC.p_pptr];
  if (parent === NULL) {
    proc_hash_out_locked(p);
    spin_unlock(kg + KERN.kg_proc_spin);
    proc_release(p);
    return;
  }
  // The parent cannot be freed while we hold kg_proc_spin: its own proc_exit orphans
  // us under it first.
  k32[p + PROC.p_stat] = SZOMB;
  psignal(parent, SIGCHLD);
  wakeup(parent);
  spin_unlock(kg + KERN.kg_proc_spin);
}

/* Does child q match waitpid's pid argument for parent p (-1 any, > 0 that pid, 0 or < -1 a group)? */
function wait_match(p: Ptr, q: Ptr, pid: number): boolean {
  if (pid === -1) return true;
  if (pid > 0) return k32[q + PROC.p_pid] === pid;
  return k32[q + PROC.p_pgid] === (pid === 0 ? k32[p + PROC.p_pgid] : -pid);
}

/*
 * kern_wait: reap a child of p that matches pid: its pid in res[0] and its wait status
 * in res[1].  With WNOHANG, res[0] is 0 when matching children exist but none has
 * exited.  ECHILD when no child matches; EINTR or ERESTART when a signal interrupts the
 * wait.  Blocks.
 */
export function* kern_wait(p: Ptr, pid: number, options: number, res: Ptr): Blocking<number> {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  for (;;) {
    let found = false, zombie = NULL;
    proc_foreach_locked((q) => {
      if (zombie !== NULL || k32[q + PROC.p_pptr] !== p || !wait_match(p, q, pid)) return;
      found = true;
      if (k32[q + PROC.p_stat] === SZOMB) zombie = q;
    });
    if (zombie !== NULL) {
      proc_hash_out_locked(zombie);
      spin_unlock(kg + KERN.kg_proc_spin);
      k32[res] = k32[zombie + PROC.p_pid];
      k32[res + 1] = k32[zombie + PROC.p_xstat];
      proc_release(zombie);
      return 0;
    }
    if (!found) {
      spin_unlock(kg + KERN.kg_proc_spin);
      return ECHILD;
    }
    if ((options & WNOHANG) !== 0) {
      spin_unlock(kg + KERN.kg_proc_spin);
      k32[res] = 0;
      k32[res + 1] = 0;
      return 0;
    }
    const e = yield* msleep(p, kg + KERN.kg_proc_spin, PCATCH, 'wait', 0);
    if (e !== 0) {
      spin_unlock(kg + KERN.kg_proc_spin);
      return e;
    }
  }
}

/* The parent's pid, or 0 for a process without one (spawned by the host, or orphaned).  Never blocks. */
export function kern_getppid(p: Ptr): number {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  const pp = k32[p + PROC.p_pptr];
  const pid = pp !== NULL && k32[pp + PROC.p_stat] === SACTIVE ? k32[pp + PROC.p_pid] : 0;
  spin_unlock(kg + KERN.kg_proc_spin);
  return pid;
}

/*
 * proc_abandon: free a child that never got a thread (its spawn failed): no zombie is
 * left for the parent, whose call fails instead.  Blocks (in proc_exit's closes).
 */
export function* proc_abandon(p: Ptr): Blocking<void> {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  k32[p + PROC.p_pptr] = NULL;
  spin_unlock(kg + KERN.kg_proc_spin);
  yield* proc_exit(p);
}
