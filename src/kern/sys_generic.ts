/*
 * sys_generic.ts: select(2) and poll(2), with selrecord and selwakeup, the two halves of
 * every file type's poll (DragonFly 2008 sys/kern/sys_generic.c: doselect, selscan,
 * sys_poll, pollscan, selrecord, selwakeup, in its order); and KNOTE (sys/event.h;
 * kern_event.ts does the work), another of the notifications sowakeup makes (aio_swake
 * is in vfs_aio.ts).
 *
 * A selector scans its descriptors with each file's fo_poll; a file with nothing ready
 * records the selecting thread in one of its selinfos (selrecord: si_pid, si_tid) and the
 * selector sleeps on selwait, the one channel every selector shares (a word of the socket
 * layer's globals, uipc_socket2.ts IPCG).  When the file becomes ready it calls
 * selwakeup, which wakes the recorded thread.  Two selectors on one selinfo collide:
 * the second sets SI_COLL, and selwakeup then bumps nselcoll and wakes every selector on
 * selwait.  A selector compares nselcoll before and after its scan, and it keeps
 * LWP_SELECT set while scanning: a selwakeup that arrives during the scan clears it, so
 * the selector scans again instead of sleeping through the event.
 *
 * Differs:
 *  - LWP_SELECT is TDF_SELECT in td_flags, which only the thread's own CPU changes:
 *    selwakeup sends selwakeup_td to that CPU (an IPI, inline on the same CPU), which
 *    either takes the thread out of its selwait sleep (DragonFly's setrunnable) or clears
 *    TDF_SELECT.  The selector tests TDF_SELECT and nselcoll inside the critical section
 *    that ends in tsleep (after tsleep_interlock), so neither kind of wake-up is lost.
 *  - si_pid, si_tid and si_flags are guarded by sel_spin (C: the BGL).
 *  - selrecord's collision test: the recorded thread is still in select or poll
 *    (TDF_SELECTING), where DragonFly tests that it sleeps on selwait.  Under the BGL no
 *    other selector runs between a scan and its sleep, so there the two are the same;
 *    here a selector on another CPU may record between them, and overwriting a record
 *    whose thread is about to sleep would lose its wake-up.
 *  - The caller's fd_sets and struct pollfd array are Int32Arrays that sys.ts fills from
 *    the program's arguments (fd_sets of SEL_WORDS words each: no descriptor is at or above
 *    NDFILE_MAX); the kernel half reads and writes them in place, as it does a uio's
 *    buffer, instead of copying them into kmem (nothing else reaches them by address).
 *  - Time is the engine's clock (nanotime); timeouts are tsleep ticks (tvtohz_high).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { EBADF, EINTR, EINVAL, ERESTART, EWOULDBLOCK } from '../../shared/errno.js';
import { HZ } from '../../shared/param.js';
import { nanotime } from '../../shared/clock.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import type { Blocking } from '../../shared/effect.js';
import { mycpu } from '../lwkt/globaldata.js';
import { TD, TDF_SELECT, TDF_SELECTING } from '../lwkt/thread.js';
import { crit_enter, crit_exit } from '../lwkt/lwkt_thread.js';
import { lwkt_send_ipiq3 } from '../lwkt/lwkt_ipiq.js';
import { PCATCH, tsleep, tsleep_interlock, tsleep_setrunnable, wakeup } from '../lwkt/kern_synch.js';
import { kfunc_on_attach, kfunc_register } from '../lwkt/kfunc.js';
import { FILE, FILEDESC, NDFILE_MAX } from '../sys/file.js';
import { KERN, PROC, RLIMIT_NOFILE, kern_globals } from '../sys/proc.js';
import { SEL, SI_COLL } from '../sys/socketvar.js';
import {
  FD_SETSIZE, INFTIM, PFD_EVENTS, PFD_FD, PFD_REVENTS, POLLFD_INTS, POLLNVAL, POLLRDBAND, POLLRDNORM, POLLWRNORM,
} from '../sys/poll.js';
import { fdrop, fileops_of, holdfp } from './kern_descrip.js';
import { lwpfind_locked, pfind_locked } from './kern_proc.js';
import { p_rlimit_cur } from './kern_resource.js';
import { knote } from './kern_event.js';
import { nselcoll_word, sel_spin, selwait_chan } from './uipc_socket2.js';

/* Words of one fd_set here: room for every descriptor a table can hold. */
export const SEL_WORDS = NDFILE_MAX / 32;

/*
 * What selscan asks of fo_poll for each of select's sets, in their order: in, out, ex
 * (the backend may add POLLHUP/POLLERR).  Set i is at words i * SEL_WORDS; bit i of
 * kern_select's `sets` says it was given.
 */
const selflag = [POLLRDNORM, POLLWRNORM, POLLRDBAND];

/* ---- time: itimerfix (kern_time.c), tvtohz_high (kern_clock.c) ---- */

const TICK_US = 1000000 / HZ;       // microseconds a tick (DragonFly's `tick`)
const INT_MAX = 0x7fffffff;

/*
 * itimerfix: a timeout of sec seconds and usec microseconds as nanoseconds, or -1 when
 * it is not a valid timeval (EINVAL: negative, usec a second or more, sec above 1e8).  A
 * timeout shorter than a tick is a tick.
 */
export function itimerfix_ns(sec: number, usec: number): number {
  if (sec < 0 || sec > 100000000 || usec < 0 || usec >= 1000000) return -1;
  if (sec === 0 && usec !== 0 && usec < TICK_US) usec = TICK_US;
  return sec * 1e9 + usec * 1000;
}

/*
 * tvtohz_high: the ticks tsleep must wait so that at least ns nanoseconds pass (one more
 * than the rounded-up count: the current tick is already partly gone).
 */
export function tvtohz_high(ns: number): number {
  const us = Math.ceil(ns / 1000);
  const sec = Math.floor(us / 1000000), usec = us - sec * 1000000;
  if (sec > Math.floor(INT_MAX / HZ)) return INT_MAX;
  return sec * HZ + Math.floor((usec + TICK_US - 1) / TICK_US) + 1;
}

/* The sleep select, poll and kqueue_scan take for ns nanoseconds left: at most a day. */
export function timeout_ticks(ns: number): number {
  return Math.floor(ns / 1e9) > 24 * 60 * 60 ? 24 * 60 * 60 * HZ : tvtohz_high(ns);
}

/* ---- select ---- */

/*
 * kern_select (DragonFly's doselect): wait until a descriptor of the given sets is ready.
 * ibits holds the sets to test (set i at words i * SEL_WORDS.., present when bit i of
 * `sets` is set); the ready ones go to obits, their count to the kmem word res.  tv is a
 * kmem struct timeval (sec, usec) or NULL to wait forever; {0, 0} scans once.  nd beyond
 * the table is clipped (DragonFly: "forgiving; slightly wrong").  EINVAL for nd < 0 or a
 * bad timeval, EBADF for a set descriptor that is not open, EINTR on a signal (select
 * is never restarted).  On an error obits is not to be copied out.  Blocks.
 */
export function* kern_select(p: Ptr, nd: number, ibits: Int32Array, obits: Int32Array, sets: number, tv: Ptr,
    res: Ptr): Blocking<number> {
  const td = mycpu.curtd;
  KASSERT(k32[td + TD.td_proc] === p, 'kern_select: not a thread of p');
  if (nd < 0) return EINVAL;
  const nfiles = k32[k32[p + PROC.p_fd] + FILEDESC.fd_nfiles];
  if (nd > nfiles) nd = nfiles;          // forgiving; slightly wrong
  let deadline = -1;
  if (tv !== NULL) {
    const ns = itimerfix_ns(k32[tv], k32[tv + 1]);
    if (ns < 0) return EINVAL;
    deadline = nanotime() + ns;
  }
  obits.fill(0, 0, 3 * SEL_WORDS);
  return yield* sel_wait(td, deadline, 'select', res, () => selscan(p, ibits, obits, sets, nd, res));
}

/*
 * doselect's and poll's loop: scan (the count of ready descriptors to the kmem word res;
 * an errno ends the call), and while none is ready, sleep (selsleep) until a selwakeup,
 * a collision or the deadline (-1: none), then scan again.
 */
function* sel_wait(td: Ptr, deadline: number, wmesg: string, res: Ptr, scan: () => Blocking<number>): Blocking<number> {
  k32[res] = 0;
  let error = 0;
  k32[td + TD.td_flags] |= TDF_SELECTING;
  for (;;) {
    const ncoll = Atomics.load(k32, nselcoll_word());
    k32[td + TD.td_flags] |= TDF_SELECT;
    error = yield* scan();
    if (error !== 0 || k32[res] !== 0) break;
    error = yield* selsleep(td, ncoll, deadline, wmesg);
    if (error !== 0) break;
  }
  return sel_done(td, error);
}

/*
 * The end of a select or poll: the thread is no longer selecting; neither call is
 * restarted after a signal (EINTR), and a timeout is a normal return.
 */
function sel_done(td: Ptr, error: number): number {
  k32[td + TD.td_flags] &= ~(TDF_SELECT | TDF_SELECTING);
  if (error === ERESTART) return EINTR;
  if (error === EWOULDBLOCK) return 0;
  return error;
}

/*
 * selscan: poll every descriptor of the given sets once: a ready one gets its bit in
 * obits and counts in the kmem word res.  EBADF for a descriptor that is not open.
 * Blocks (fo_poll, fdrop).
 */
function* selscan(p: Ptr, ibits: Int32Array, obits: Int32Array, sets: number, nfd: number, res: Ptr): Blocking<number> {
  const fdp = k32[p + PROC.p_fd];
  let n = 0;
  for (let msk = 0; msk < 3; msk++) {
    if ((sets & (1 << msk)) === 0) continue;
    const base = msk * SEL_WORDS;
    for (let i = 0; i < nfd; i += 32) {
      let bits = ibits[base + (i >> 5)];
      for (let fd = i; bits !== 0 && fd < nfd; fd++, bits >>>= 1) {
        if ((bits & 1) === 0) continue;
        const fp = holdfp(fdp, fd, -1);
        if (fp === NULL) return EBADF;
        if ((yield* fileops_of(fp).fo_poll(fp, selflag[msk], k32[fp + FILE.f_cred])) !== 0) {
          obits[base + (fd >> 5)] |= 1 << (fd & 31);
          n++;
        }
        yield* fdrop(fp);
      }
    }
  }
  k32[res] = n;
  return 0;
}

/*
 * The bottom of select's and poll's loop: sleep on selwait until a selwakeup, a
 * collision, the deadline (ns on the engine's clock; -1: none) or a signal.  Returns 0 to
 * scan again (woken, or a wake-up already came during the scan: TDF_SELECT cleared or
 * nselcoll moved past ncoll), EWOULDBLOCK once the deadline has passed, or the sleep's
 * EINTR/ERESTART.  Blocks.
 */
function* selsleep(td: Ptr, ncoll: number, deadline: number, wmesg: string): Blocking<number> {
  let timo = 0;
  if (deadline >= 0) {
    const now = nanotime();
    if (now >= deadline) return EWOULDBLOCK;
    timo = timeout_ticks(deadline - now);
  }
  const chan = selwait_chan();
  crit_enter();
  tsleep_interlock(chan);    // a collision's wakeup(selwait) after our test reaches us
  if ((k32[td + TD.td_flags] & TDF_SELECT) === 0 || Atomics.load(k32, nselcoll_word()) !== ncoll) {
    crit_exit();
    return 0;
  }
  k32[td + TD.td_flags] &= ~TDF_SELECT;
  const error = yield* tsleep(chan, PCATCH, wmesg, timo);
  crit_exit();
  return error;
}

/* ---- poll ---- */

/*
 * kern_poll (DragonFly's sys_poll): wait until an entry of the caller's struct pollfd
 * array fds (nfds entries of POLLFD_INTS ints: fd, events, revents) is ready, or the
 * timeout passes (milliseconds; INFTIM waits forever, 0 scans once).  Every revents is
 * written; the count of entries with revents set goes to the kmem word res.  A
 * descriptor that is not open gets POLLNVAL; a negative one is skipped (revents 0).
 * EINVAL for more entries than both RLIMIT_NOFILE and FD_SETSIZE, or another negative
 * timeout; EINTR on a signal (poll is never restarted).  Blocks.
 */
export function* kern_poll(p: Ptr, fds: Int32Array, nfds: number, timeout: number, res: Ptr): Blocking<number> {
  const td = mycpu.curtd;
  KASSERT(k32[td + TD.td_proc] === p, 'kern_poll: not a thread of p');
  KASSERT(fds.length >= nfds * POLLFD_INTS, 'kern_poll: array shorter than nfds');
  // We have fd limits, but they are not really related to the size of the pollfd array:
  // let a process use at least FD_SETSIZE entries, and as many as its limit.
  if (nfds > p_rlimit_cur(p, RLIMIT_NOFILE) && nfds > FD_SETSIZE) return EINVAL;
  let deadline = -1;
  if (timeout !== INFTIM) {
    const ns = itimerfix_ns(Math.trunc(timeout / 1000), (timeout % 1000) * 1000);
    if (ns < 0) return EINVAL;
    deadline = nanotime() + ns;
  }
  return yield* sel_wait(td, deadline, 'poll', res, () => pollscan(p, fds, nfds, res));
}

/* pollscan: fo_poll every entry once; the number with revents set goes to res; 0 (no entry is an error).  Blocks. */
function* pollscan(p: Ptr, fds: Int32Array, nfd: number, res: Ptr): Blocking<number> {
  const fdp = k32[p + PROC.p_fd];
  let n = 0;
  for (let i = 0, e = 0; i < nfd; i++, e += POLLFD_INTS) {
    const fd = fds[e + PFD_FD];
    if (fd >= k32[fdp + FILEDESC.fd_nfiles]) {
      fds[e + PFD_REVENTS] = POLLNVAL;
      n++;
    } else if (fd < 0) {
      fds[e + PFD_REVENTS] = 0;
    } else {
      const fp = holdfp(fdp, fd, -1);
      if (fp === NULL) {
        fds[e + PFD_REVENTS] = POLLNVAL;
        n++;
      } else {
        // Note: the backend also returns POLLHUP and POLLERR if appropriate.
        const revents = yield* fileops_of(fp).fo_poll(fp, fds[e + PFD_EVENTS] & 0xffff, k32[fp + FILE.f_cred]);
        fds[e + PFD_REVENTS] = revents;
        if (revents !== 0) n++;
        yield* fdrop(fp);
      }
    }
  }
  k32[res] = n;
  return 0;
}

/* ---- selrecord and selwakeup ---- */

/*
 * selrecord: the thread selector found nothing ready on the object of sip; record it
 * there so that selwakeup wakes it.  Already recorded: nothing.  Another thread recorded
 * and still selecting: a collision (SI_COLL; selwakeup will wake every selector).
 * Otherwise the record is ours (a stale one is overwritten).  Callers set their object's
 * select flag (SSB_SEL, KQ_SEL) after this and look at their state again.  Never blocks.
 */
export function selrecord(selector: Ptr, sip: Ptr): void {
  const p = k32[selector + TD.td_proc];
  if (p === NULL) panic('selrecord: thread needs a process');
  const pid = k32[p + PROC.p_pid], tid = k32[selector + TD.td_id];
  const l = sel_spin();
  spin_lock(l);
  const opid = k32[sip + SEL.si_pid];
  if (opid !== pid || k32[sip + SEL.si_tid] !== tid) {
    if (opid !== 0 && sel_lwp(opid, k32[sip + SEL.si_tid], false)) {
      k32[sip + SEL.si_flags] |= SI_COLL;
    } else {
      k32[sip + SEL.si_tid] = tid;
      Atomics.store(k32, sip + SEL.si_pid, pid);   // selwakeup's unlocked test reads it
    }
  }
  spin_unlock(l);
}

/*
 * selwakeup: a selectable event occurred on the object of sip: wake the thread recorded
 * there (or make it scan again), and after a collision every selector.  The record is
 * consumed.  Never blocks.
 *
 * The unlocked first test is safe: a selector records itself, sets its select flag and
 * then looks at the object again, and whoever calls this changed the object first; one
 * of the two sees the other (both orders pass through an Atomics read-modify-write).
 */
export function selwakeup(sip: Ptr): void {
  KASSERT(sip !== NULL, 'selwakeup: no selinfo');
  if (Atomics.load(k32, sip + SEL.si_pid) === 0) return;
  const l = sel_spin();
  spin_lock(l);
  const pid = k32[sip + SEL.si_pid], tid = k32[sip + SEL.si_tid];
  const coll = (k32[sip + SEL.si_flags] & SI_COLL) !== 0;
  k32[sip + SEL.si_flags] &= ~SI_COLL;
  k32[sip + SEL.si_pid] = 0;
  spin_unlock(l);
  if (pid === 0) return;
  if (coll) {
    Atomics.add(k32, nselcoll_word(), 1);
    wakeup(selwait_chan());             // YYY fixable, says DragonFly
  }
  sel_lwp(pid, tid, true);
}

/*
 * The thread tid of process pid, looked up under kg_proc_spin and the process's p_spin
 * (it cannot exit meanwhile).  wake false: is it in select or poll?  wake true: send it
 * selwakeup_td (true if it exists).  Never blocks.
 */
function sel_lwp(pid: number, tid: number, wake: boolean): boolean {
  const kg = kern_globals();
  let r = false;
  spin_lock(kg + KERN.kg_proc_spin);
  const p = pfind_locked(pid);
  if (p !== NULL) {
    spin_lock(p + PROC.p_spin);
    const td = lwpfind_locked(p, tid);
    if (td === NULL) {
      r = false;
    } else if (!wake) {
      // Another CPU's thread, read racily, as DragonFly reads lwp_wchan: it set the flag
      // before it recorded itself (under sel_spin, which we hold now).
      r = (Atomics.load(k32, td + TD.td_flags) & TDF_SELECTING) !== 0;
    } else {
      lwkt_send_ipiq3(k32[td + TD.td_cpu], id_selwakeup_td, td, tid, 0);
      r = true;
    }
    spin_unlock(p + PROC.p_spin);
  }
  spin_unlock(kg + KERN.kg_proc_spin);
  return r;
}

/*
 * On the selecting thread's CPU (an IPI, or inline): if it sleeps on selwait, it runs
 * again (its select scans again); otherwise clear TDF_SELECT, so that a select still
 * scanning does not go to sleep.  A thread that is gone (td_id changed) is left alone.
 */
function selwakeup_td(td: Ptr, tid: number): void {
  if (k32[td + TD.td_id] !== tid || k32[td + TD.td_cpu] !== mycpu.cpuid) return;
  if (!tsleep_setrunnable(td, selwait_chan())) k32[td + TD.td_flags] &= ~TDF_SELECT;
}

let id_selwakeup_td = 0;
kfunc_register('selwakeup_td', selwakeup_td as (...a: number[]) => unknown);
kfunc_on_attach(() => {
  id_selwakeup_td = kfunc_register('selwakeup_td', selwakeup_td as (...a: number[]) => unknown);
});

/* ---- the other notifications of sowakeup ---- */

/*
 * KNOTE (sys/event.h): activate the knotes of klist whose event holds (knote,
 * kern_event.ts).  The empty test needs no lock: a knote being attached is looked at by
 * kqueue_register itself once it is on the list.
 */
export function KNOTE(klist: Ptr, hint: number): void {
  if (Atomics.load(k32, klist) !== NULL) knote(klist, hint);
}
