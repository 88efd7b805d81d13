/*
 * kern_proc.ts: processes: creation (a login, or fork), the pid hash, the threads of a
 * process, signals to a process, and exit.
 * Mirrors, cut down, DragonFly 2008 sys/kern/kern_proc.c (pfind, the pid hash),
 * kern_fork.c (fork1's limits and copies), kern_exit.c (exit1's fdfree) and kern_sig.c
 * (kern_sigaction's sigintr bookkeeping, psignal choosing a thread).
 * Differs: a process's threads are LWKT threads listed in p_threads (no lwps, no
 * scheduler hand-off); a signal is only posted: there is no user mode to run a handler
 * in, so delivery is the interruption of a PCATCH sleep (EINTR, or ERESTART when the
 * handler has SA_RESTART: lwkt_sigintr); a signal to a process with no thread is lost;
 * proc_create stands in for the login that gives a process its first credentials.
 *
 * Locking: kg_proc_spin guards the pid hash, kg_lastpid and kg_nprocs; p_spin guards a
 * proc's threads, signal actions, limits and cred pointer.  Order: p_spin before
 * kg_proc_spin is never needed; neither is held across anything that blocks.
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EAGAIN, EINVAL } from '../../shared/errno.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_init_class, spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { zalloc, zfree, zone_desc, ZD, Z_PROC } from '../../shared/zone.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { TD, TDF_SINTR } from '../lwkt/thread.js';
import { lwkt_signal, lwkt_sigintr, lwkt_sigtake, sigbit } from '../lwkt/kern_synch.js';
import {
  KERN, PROC, SIGACTS, UCRED, NSIG, PID_MAX, PIDHASH_SIZE, P_MAXTHREADS, RLIMIT_NPROC, SACTIVE, SIDL, SIGKILL,
  SIGPROP_IGNORE, SIGSTOP, SIG_CATCH, SIG_DFL, SIG_IGN, SA_RESTART, kern_globals,
} from '../sys/proc.js';
import { chgproccnt, p_rlimit_cur, plimit_copy, plimit_init0, uidrop, uifind } from './kern_resource.js';
import { crfree, crget, p_crhold } from './kern_prot.js';
import { fdcopy, fdinit } from './kern_descrip.js';

let proc_class = 0;
kfunc_on_attach(() => { proc_class = lockclass_register('proc'); });

/* ---- the pid hash ---- */

function pidhash_head(pid: number): Ptr { return kern_globals() + KERN.kg_pidhash + (pid & (PIDHASH_SIZE - 1)); }

/* The process with this pid, or NULL; kg_proc_spin held. */
export function pfind_locked(pid: number): Ptr {
  let p = k32[pidhash_head(pid)];
  while (p !== NULL && k32[p + PROC.p_pid] !== pid) p = k32[p + PROC.p_hash];
  return p;
}

/* Thread tid of process p, or NULL (lwp_rb_tree_RB_LOOKUP); p's p_spin held. */
export function lwpfind_locked(p: Ptr, tid: number): Ptr {
  const n = k32[p + PROC.p_nthreads];
  for (let i = 0; i < n; i++) {
    const td = k32[p + PROC.p_threads + i];
    if (k32[td + TD.td_id] === tid) return td;
  }
  return NULL;
}

/*
 * pfind: the process with this pid, or NULL.  No reference is taken (as in DragonFly
 * 2008): the caller must know the process cannot exit meanwhile.  Never blocks.
 */
export function pfind(pid: number): Ptr {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  const p = pfind_locked(pid);
  spin_unlock(kg + KERN.kg_proc_spin);
  return p;
}

/* Processes in the pid hash (nprocs). */
export function kern_nprocs(): number { return Atomics.load(k32, kern_globals() + KERN.kg_nprocs); }

/*
 * Give p the next free pid (from 1 up; after PID_MAX wrap to 100, leaving low pids to the
 * first daemons, as fork1 does) and hash it in.  All CPUs share kg_lastpid under
 * kg_proc_spin.  The search is bounded: fewer processes exist than pids.
 */
function proc_hash_in(p: Ptr): void {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  let pid = k32[kg + KERN.kg_lastpid];
  for (let tries = 0; ; tries++) {
    KASSERT(tries < PID_MAX, 'proc_hash_in: no free pid');
    pid = pid >= PID_MAX ? 100 : pid + 1;
    if (pfind_locked(pid) === NULL) break;
  }
  k32[kg + KERN.kg_lastpid] = pid;
  k32[p + PROC.p_pid] = pid;
  const head = pidhash_head(pid);
  k32[p + PROC.p_hash] = k32[head];
  k32[head] = p;
  k32[kg + KERN.kg_nprocs]++;
  spin_unlock(kg + KERN.kg_proc_spin);
}

/* Take p out of the pid hash.  kg_proc_spin held.  Never blocks. */
export function proc_hash_out_locked(p: Ptr): void {
  const kg = kern_globals();
  let pp = pidhash_head(k32[p + PROC.p_pid]);
  while (k32[pp] !== p) {
    KASSERT(k32[pp] !== NULL, 'proc_hash_out: proc not on its hash chain');
    pp = k32[pp] + PROC.p_hash;
  }
  k32[pp] = k32[p + PROC.p_hash];
  k32[kg + KERN.kg_nprocs]--;
}

/* Call fn(q) for every process in the pid hash.  kg_proc_spin held; fn may unhash q.  Never blocks. */
export function proc_foreach_locked(fn: (q: Ptr) => void): void {
  const kg = kern_globals();
  for (let b = 0; b < PIDHASH_SIZE; b++) {
    let q = k32[kg + KERN.kg_pidhash + b];
    while (q !== NULL) {
      const next = k32[q + PROC.p_hash];
      fn(q);
      q = next;
    }
  }
}

/* ---- creation and exit ---- */

function proc_zalloc(): Ptr {
  KASSERT(k32[zone_desc(Z_PROC) + ZD.zd_item_words] >= PROC.SIZE, 'proc_zalloc: struct proc exceeds the proc zone item');
  const p = zalloc(Z_PROC);
  if (p !== NULL) {
    spin_init_class(p + PROC.p_spin, proc_class);
    k32[p + PROC.p_stat] = SIDL;
  }
  return p;
}

/*
 * proc_create: a process out of nothing, as a login makes one: credentials uid/gid (real,
 * effective and saved), an empty descriptor table, the default limits, default signal
 * actions, its own process group, no parent and no threads.  NULL when memory is short.
 * Never blocks.  Here: stands for proc0 plus the login that sets the ids.
 */
export function proc_create(uid: number, gid: number): Ptr {
  KASSERT(Number.isInteger(uid) && uid >= 0, 'proc_create: bad uid');
  const p = proc_zalloc();
  if (p === NULL) return NULL;
  const uip = uifind(uid);
  const ruip = uip !== NULL ? uifind(uid) : NULL;
  const cr = ruip !== NULL ? crget() : NULL;
  const fdp = cr !== NULL ? fdinit() : NULL;
  if (fdp === NULL) {
    if (cr !== NULL) crfree(cr);     // no uidinfo in it yet
    if (ruip !== NULL) uidrop(ruip);
    if (uip !== NULL) uidrop(uip);
    zfree(Z_PROC, p);
    return NULL;
  }
  k32[cr + UCRED.cr_uid] = k32[cr + UCRED.cr_ruid] = k32[cr + UCRED.cr_svuid] = uid;
  k32[cr + UCRED.cr_gid] = k32[cr + UCRED.cr_rgid] = k32[cr + UCRED.cr_svgid] = gid;
  k32[cr + UCRED.cr_uidinfo] = uip;
  k32[cr + UCRED.cr_ruidinfo] = ruip;
  chgproccnt(ruip, 1, 0);
  k32[p + PROC.p_ucred] = cr;
  k32[p + PROC.p_fd] = fdp;
  plimit_init0(p);
  proc_hash_in(p);
  k32[p + PROC.p_pgid] = k32[p + PROC.p_pid];
  k32[p + PROC.p_stat] = SACTIVE;
  return p;
}

/*
 * fork1: a child of p1 (stored in the kmem word res): the same credentials (shared
 * reference), a copy of the descriptor table (each file gains a reference), the limits,
 * the signal actions and the process group.  No threads: the caller attaches them.
 * EAGAIN when the process table is full (a non-root real uid is held to maxproc - 10),
 * when the real uid is at its RLIMIT_NPROC, or when memory is short.  Never blocks.
 */
export function fork1(p1: Ptr, res: Ptr): number {
  const maxproc = k32[zone_desc(Z_PROC) + ZD.zd_count];
  const cr = p_crhold(p1);
  const ruid = k32[cr + UCRED.cr_ruid];
  const nprocs = kern_nprocs();
  if ((nprocs >= maxproc - 10 && ruid !== 0) || nprocs >= maxproc) {
    crfree(cr);
    return EAGAIN;
  }
  const ruip = k32[cr + UCRED.cr_ruidinfo];
  if (!chgproccnt(ruip, 1, ruid === 0 ? 0 : p_rlimit_cur(p1, RLIMIT_NPROC))) {
    crfree(cr);
    return EAGAIN;
  }
  const p2 = proc_zalloc();
  const fdp = p2 !== NULL ? fdcopy(p1) : NULL;
  if (fdp === NULL) {
    if (p2 !== NULL) zfree(Z_PROC, p2);
    chgproccnt(ruip, -1, 0);
    crfree(cr);
    return EAGAIN;
  }
  k32[p2 + PROC.p_ucred] = cr;
  k32[p2 + PROC.p_fd] = fdp;
  k32[p2 + PROC.p_pptr] = p1;
  plimit_copy(p1, p2);
  spin_lock(p1 + PROC.p_spin);
  for (let i = 0; i < SIGACTS.SIZE; i++) k32[p2 + PROC.p_sigacts + i] = k32[p1 + PROC.p_sigacts + i];
  k32[p2 + PROC.p_pgid] = k32[p1 + PROC.p_pgid];
  spin_unlock(p1 + PROC.p_spin);
  proc_hash_in(p2);
  k32[p2 + PROC.p_stat] = SACTIVE;
  k32[res] = p2;
  return 0;
}

/*
 * proc_free: release an exited process: out of the pid hash, then proc_release.
 * Never blocks.
 */
export function proc_free(p: Ptr): void {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  proc_hash_out_locked(p);
  spin_unlock(kg + KERN.kg_proc_spin);
  proc_release(p);
}

/*
 * proc_release: free a process already out of the pid hash: its process count and cred
 * dropped, the proc freed.  Its threads must be detached and its table freed (fdfree).
 * Never blocks.
 */
export function proc_release(p: Ptr): void {
  KASSERT(k32[p + PROC.p_nthreads] === 0, 'proc_free: process still has threads');
  KASSERT(k32[p + PROC.p_fd] === NULL, 'proc_free: descriptor table not freed');
  const cr = k32[p + PROC.p_ucred];
  chgproccnt(k32[cr + UCRED.cr_ruidinfo], -1, 0);
  k32[p + PROC.p_ucred] = NULL;
  crfree(cr);
  zfree(Z_PROC, p);
}

/*
 * execsigs: what exec does to signal actions: every caught signal goes back to its
 * default (the handler belonged to the old image); ignored ones stay ignored.
 * Never blocks.
 */
export function execsigs(p: Ptr): void {
  const ps = p + PROC.p_sigacts;
  spin_lock(p + PROC.p_spin);
  const caught = k32[ps + SIGACTS.ps_sigcatch];
  k32[ps + SIGACTS.ps_sigcatch] = 0;
  k32[ps + SIGACTS.ps_sigintr] &= ~caught;
  spin_unlock(p + PROC.p_spin);
}

/* ---- threads ---- */

/*
 * proc_attach_thread: td becomes a thread of p (td_proc, p_threads, p_nthreads) and takes
 * the process's SA_RESTART dispositions.  EAGAIN when p has P_MAXTHREADS threads.
 * Never blocks.  Here: td_sigintr is written from this CPU, under p_spin, as every
 * later change to it is (kern_sigaction).
 */
export function proc_attach_thread(p: Ptr, td: Ptr): number {
  KASSERT(k32[td + TD.td_proc] === NULL, 'proc_attach_thread: thread already has a process');
  spin_lock(p + PROC.p_spin);
  const n = k32[p + PROC.p_nthreads];
  if (n >= P_MAXTHREADS) {
    spin_unlock(p + PROC.p_spin);
    return EAGAIN;
  }
  KASSERT(k32[p + PROC.p_stat] === SACTIVE, 'proc_attach_thread: process is not active');
  k32[p + PROC.p_threads + n] = td;
  k32[p + PROC.p_nthreads] = n + 1;
  k32[td + TD.td_proc] = p;
  k32[td + TD.td_sigintr] = k32[p + PROC.p_sigacts + SIGACTS.ps_sigintr];
  spin_unlock(p + PROC.p_spin);
  return 0;
}

/* proc_detach_thread: td leaves p (before it exits).  Never blocks. */
export function proc_detach_thread(p: Ptr, td: Ptr): void {
  KASSERT(k32[td + TD.td_proc] === p, 'proc_detach_thread: thread is not of this process');
  spin_lock(p + PROC.p_spin);
  const n = k32[p + PROC.p_nthreads];
  let i = 0;
  while (i < n && k32[p + PROC.p_threads + i] !== td) i++;
  KASSERT(i < n, 'proc_detach_thread: thread not in p_threads');
  k32[p + PROC.p_threads + i] = k32[p + PROC.p_threads + n - 1];
  k32[p + PROC.p_threads + n - 1] = NULL;
  k32[p + PROC.p_nthreads] = n - 1;
  k32[td + TD.td_proc] = NULL;
  spin_unlock(p + PROC.p_spin);
}

/* ---- signals ---- */

/*
 * kern_sigaction: set sig's disposition in p (SIG_DFL, SIG_IGN or SIG_CATCH, the last
 * standing for a handler) and whether it restarts system calls (SA_RESTART in flags).
 * Every thread's td_sigintr follows, so a PCATCH sleep the signal interrupts returns
 * ERESTART with SA_RESTART and EINTR without.  Ignoring a signal discards it where it is
 * pending.  EINVAL for a bad signal or disposition, or for catching or ignoring SIGKILL
 * or SIGSTOP.  Never blocks.
 */
export function kern_sigaction(p: Ptr, sig: number, handler: number, flags: number): number {
  if (!(sig >= 1 && sig <= NSIG)) return EINVAL;
  if (handler !== SIG_DFL && handler !== SIG_IGN && handler !== SIG_CATCH) return EINVAL;
  if ((sig === SIGKILL || sig === SIGSTOP) && handler !== SIG_DFL) return EINVAL;
  const bit = sigbit(sig);
  const ps = p + PROC.p_sigacts;
  const eintr = (flags & SA_RESTART) === 0;
  spin_lock(p + PROC.p_spin);
  if (handler === SIG_CATCH) k32[ps + SIGACTS.ps_sigcatch] |= bit;
  else k32[ps + SIGACTS.ps_sigcatch] &= ~bit;
  if (handler === SIG_IGN) k32[ps + SIGACTS.ps_sigignore] |= bit;
  else k32[ps + SIGACTS.ps_sigignore] &= ~bit;
  if (eintr) k32[ps + SIGACTS.ps_sigintr] |= bit;
  else k32[ps + SIGACTS.ps_sigintr] &= ~bit;
  const discard = handler === SIG_IGN || (handler === SIG_DFL && (SIGPROP_IGNORE & bit) !== 0);
  const n = k32[p + PROC.p_nthreads];
  for (let i = 0; i < n; i++) {
    const td = k32[p + PROC.p_threads + i];
    lwkt_sigintr(td, sig, eintr);
    if (discard) lwkt_sigtake(td, sig);
  }
  spin_unlock(p + PROC.p_spin);
  return 0;
}

/*
 * psignal: post sig to process p.  An ignored signal (SIG_IGN, or SIG_DFL with a
 * default action of ignoring) is dropped.  Otherwise one thread gets it: the first that
 * does not block it and sleeps interruptibly, else the first that does not block it,
 * else the first (where it stays pending, masked).  An interruptible sleeper is woken and
 * its PCATCH sleep returns EINTR or ERESTART as the signal's SA_RESTART says.  Never blocks.
 */
export function psignal(p: Ptr, sig: number): void {
  KASSERT(sig >= 1 && sig <= NSIG, 'psignal: bad signal');
  const bit = sigbit(sig);
  const ps = p + PROC.p_sigacts;
  spin_lock(p + PROC.p_spin);
  const caught = (k32[ps + SIGACTS.ps_sigcatch] & bit) !== 0;
  if ((k32[ps + SIGACTS.ps_sigignore] & bit) !== 0 || (!caught && (SIGPROP_IGNORE & bit) !== 0)) {
    spin_unlock(p + PROC.p_spin);
    return;
  }
  const n = k32[p + PROC.p_nthreads];
  let target = NULL, awake = NULL;
  for (let i = 0; i < n && target === NULL; i++) {
    const td = k32[p + PROC.p_threads + i];
    if ((k32[td + TD.td_sigmask] & bit) !== 0) continue;
    // Another CPU's flags, read racily: only a preference, any unmasked thread will do.
    if ((k32[td + TD.td_flags] & TDF_SINTR) !== 0) target = td;
    else if (awake === NULL) awake = td;
  }
  if (target === NULL) target = awake !== NULL ? awake : n > 0 ? k32[p + PROC.p_threads] : NULL;
  // Under p_spin: the thread cannot detach and exit while the signal is posted to it.
  if (target !== NULL) lwkt_signal(target, sig);
  spin_unlock(p + PROC.p_spin);
}
