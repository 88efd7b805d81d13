/*
 * sys_generic.ts: the wake side of select (DragonFly 2008 sys/kern/sys_generic.c
 * selwakeup), and, until their subsystems exist, the two other notifications sowakeup
 * makes: KNOTE (sys/event.h, kern_event.c) and aio_swake (kern/vfs_aio.c).
 *
 * select(2) itself (selrecord, the scan loop) arrives with the system calls; what exists
 * here is what a socket needs to wake a selector that recorded itself in a selinfo:
 * si_pid/si_tid name the selecting thread, SI_COLL says several selected at once, and
 * every selector sleeps on one channel, selwait (a word of the socket layer's globals,
 * uipc_socket2.ts IPCG).
 *
 * Differs: DragonFly's selwakeup setrunnable()s the one lwp if it sleeps on selwait, and
 * otherwise clears LWP_SELECT so that a selector still scanning re-scans.  Here there is no
 * per-thread select flag yet, so the recorded thread is woken by wakeup(selwait) whether or
 * not it has reached its sleep: every other selector asleep on selwait wakes too and
 * re-polls (select loops until something is ready), and a selector that has not slept yet
 * cannot miss the event, because its re-poll happens after the state change that caused
 * this call.  Extra wake-ups, never a lost one.
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { wakeup } from '../lwkt/kern_synch.js';
import { TD } from '../lwkt/thread.js';
import { PROC } from '../sys/proc.js';
import { SEL, SI_COLL, SO, SSB, SSB_AIO } from '../sys/socketvar.js';
import { pfind } from './kern_proc.js';
import { selwait_chan, nselcoll_word } from './uipc_socket2.js';

/*
 * selwakeup: wake the thread that recorded itself in sip with selrecord (si_pid, si_tid),
 * and, after a collision (SI_COLL: more than one selected), every selector.  The record
 * is consumed (si_pid = 0).  Never blocks.  Caller holds what guards sip (the sockbuf's).
 */
export function selwakeup(sip: Ptr): void {
  KASSERT(sip !== NULL, 'selwakeup: no selinfo');
  const pid = k32[sip + SEL.si_pid];
  if (pid === 0) return;
  if ((k32[sip + SEL.si_flags] & SI_COLL) !== 0) {
    Atomics.add(k32, nselcoll_word(), 1);
    k32[sip + SEL.si_flags] &= ~SI_COLL;
    wakeup(selwait_chan());             // YYY fixable, says DragonFly
  }
  const tid = k32[sip + SEL.si_tid];
  k32[sip + SEL.si_pid] = 0;
  const p = pfind(pid);
  if (p === NULL) return;
  // Find the lwp (here: the LWKT thread with td_id si_tid) under p_spin: it cannot
  // detach and exit while we look.
  let found = false;
  spin_lock(p + PROC.p_spin);
  const n = k32[p + PROC.p_nthreads];
  for (let i = 0; i < n && !found; i++) found = k32[k32[p + PROC.p_threads + i] + TD.td_id] === tid;
  spin_unlock(p + PROC.p_spin);
  if (found) wakeup(selwait_chan());
}

/* ---- seams for subsystems that come later ---- */

/*
 * KNOTE (sys/event.h): activate every knote on klist with hint.  A klist is the SLIST
 * head si_note of a selinfo (its first word the first knote).  kqueue, the only thing that
 * attaches knotes (and sets SSB_KNOTE), is a later issue: until it exists every klist is
 * empty, and activating the knotes of an empty list is doing nothing, which is what this
 * does.  The assertion states that invariant; kern_event.ts replaces this function.
 */
export function KNOTE(klist: Ptr, _hint: number): void {
  KASSERT(k32[klist] === NULL, 'KNOTE: a knote is attached, but kqueue (kern_event) does not exist yet');
}

/*
 * aio_swake (kern/vfs_aio.c): AIO requests on so may proceed.  Its first step clears
 * SSB_AIO on the sockbuf that became ready; the rest walks so_aiojobq and hands matching
 * jobs to the AIO daemons.  AIO is a later issue: nothing queues a job (or sets SSB_AIO)
 * yet, so the walk is over an empty queue and clearing the flag is the whole effect.
 * vfs_aio.ts replaces this function.
 */
export function aio_swake(so: Ptr, ssb: Ptr): void {
  KASSERT(ssb === so + SO.so_rcv || ssb === so + SO.so_snd, 'aio_swake: sockbuf not of this socket');
  Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_AIO);
}
