/*
 * kern_event.ts: kqueue(2) and kevent(2), and the knotes that tie a kqueue to what it
 * watches.  Mirrors DragonFly 2008 sys/kern/kern_event.c (rev 1.33) function for
 * function, in its order, with the filters other files keep there: the socket's from
 * uipc_socket.c (sokqfilter, filt_sordetach, filt_soread, filt_sowdetach, filt_sowrite,
 * filt_solisten) and the tty's from tty.c, which the console uses (ttykqfilter,
 * filt_ttyread, filt_ttywrite).
 *
 * A knote is one registration (kqueue, ident, filter).  It hangs on its object's klist
 * (the si_note of a selinfo: a socket buffer's ssb_sel, a kqueue's kq_sel, the
 * console's), where knote(), the KNOTE of sowakeup, evaluates its filter and activates
 * it; and on its kqueue, which lists all its knotes (kq_knlist) and queues the active
 * ones (kq_head) for kqueue_scan.  A level-triggered knote goes back on the queue after
 * each report while its filter holds; EV_CLEAR knotes leave it until the next event,
 * EV_ONESHOT ones are dropped.
 *
 * Differs:
 *  - Locking: one spinlock, knote_spin (uipc_socket2.ts IPCG), guards every knote,
 *    klist and kqueue, where DragonFly relied on the BGL and critical sections.  Nothing
 *    blocks under it.  Taken inside it: sel_spin, kg_proc_spin and p_spin, by what
 *    kqueue_wakeup does (selwakeup, pgsigio), and the zone locks; sorflush takes it
 *    inside ssb_spin, to carry a socket's knotes across the flush.  The IPIs that
 *    wakeup() may send under it are safe: no IPI function takes it.
 *  - Knotes belong to the open file, not the descriptor.  DragonFly keeps them on the
 *    filedesc's fd_knlist[fd], holds the file for each, and kern_close drops the
 *    descriptor's knotes (knote_fdclose).  This filedesc has no fd_knlist: each kqueue
 *    lists its own knotes, a knote holds no reference, and the file's fo_close drops the
 *    knotes on its object (knote_remove from soo_close and kqueue_close, knote_fpclose
 *    from cn_close) before the object goes.  Closing a file's last descriptor is the same
 *    as in DragonFly; closing one of several (dup, fork) leaves the knote reporting under
 *    its ident until the file closes.  kqueue_register matches a knote by ident, filter
 *    and file, so a descriptor reused for another file gets a knote of its own.
 *  - kqueue_register resolves an ident in the caller's descriptor table (DragonFly: the
 *    kqueue creator's kq_fdp, which a kqueue inherited across fork may outlive).
 *  - Filters: EVFILT_READ, EVFILT_WRITE and EVFILT_VNODE go to the file's fo_kqfilter
 *    (file_filtops; sockets take READ and WRITE, a kqueue READ, the console READ and
 *    WRITE, and each refuses the rest as DragonFly does).  EVFILT_AIO, EVFILT_PROC,
 *    EVFILT_SIGNAL and EVFILT_TIMER are missing with their subsystems (vfs_aio, the proc
 *    and signal klists, kqueue callouts): EINVAL, as for a filter outside the table.
 *  - kqueue_scan holds knote_spin through a pass, so only the pass itself changes the
 *    queue it walks: it takes kq_count entries from the head, the ones DragonFly's
 *    marker delimits, instead of queueing a marker; an EV_ONESHOT knote is dropped in the
 *    pass.  A struct kevent array is the caller's Int32Array (Kevlist), read and written
 *    in place as a uio's buffer is; a change is staged in a kmem struct kevent on the
 *    thread's kstack (DragonFly: kq->kq_kev, which every caller of the kqueue shares).
 *  - A knote and a kqueue are kmalloc16 items: ENOMEM when the zone is empty.
 */

import { k32, kf64 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import { EBADF, EINTR, EINVAL, ENOENT, ENOMEM, ENOTTY, ENXIO, EOPNOTSUPP, ERESTART, EWOULDBLOCK } from '../../shared/errno.js';
import { nanotime } from '../../shared/clock.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { zalloc, zfree, Z_KMALLOC16 } from '../../shared/zone.js';
import { TAILQ_FIRST, TAILQ_INSERT_TAIL, TAILQ_REMOVE } from '../../shared/tailq.js';
import { done_count, done_num, type Blocking } from '../../shared/effect.js';
import { curthread } from '../lwkt/globaldata.js';
import { TD } from '../lwkt/thread.js';
import { crit_enter, crit_exit } from '../lwkt/lwkt_thread.js';
import { PCATCH, tsleep, tsleep_interlock, wakeup } from '../lwkt/kern_synch.js';
import { kstack_get, kstack_put } from '../lwkt/lwkt_kstack.js';
import { DTYPE_KQUEUE, FILE, FIOASYNC, FIOSETOWN, FREAD, FWRITE, type Fileops } from '../sys/file.js';
import { PROC, SIGIO } from '../sys/proc.js';
import { SEL, SO, SSB, SSB_KNOTE, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_ISCONNECTED } from '../sys/socketvar.js';
import { SO_ACCEPTCONN } from '../sys/socket.js';
import { PR_CONNREQUIRED } from '../sys/protosw.js';
import { POLLIN, POLLRDNORM } from '../sys/poll.js';
import { STAT, S_IFIFO } from '../sys/stat.js';
import {
  EVFILT_READ, EVFILT_SYSCOUNT, EVFILT_WRITE, EV_ADD, EV_CLEAR, EV_DELETE, EV_DISABLE, EV_ENABLE, EV_EOF, EV_ERROR,
  EV_ONESHOT, EV_SYSFLAGS, KEVENT, KEVENT_INTS, KN, KN_ACTIVE, KN_DISABLED, KN_QUEUED, KQ, KQ_ASYNC, KQ_SEL, KQ_SLEEP,
  NOTE_LOWAT,
} from '../sys/event.js';
import { falloc, fdrop, fileops_of, fileops_register, fsetfd, holdfp } from './kern_descrip.js';
import { pgsigio } from './kern_sig.js';
import { ssb_space } from './uipc_sockbuf.js';
import { protosw_of } from './uipc_domain.js';
import { fsetown } from './sys_socket.js';
import { itimerfix_ns, selrecord, selwakeup, timeout_ticks } from './sys_generic.js';
import { cons_klist, knote_spin } from './uipc_socket2.js';

const KQ_NEVENTS = 8;                // a Kevlist's first size (DragonFly: kq_kev's entries)
const KEVENT_BYTES = 20;             // sizeof(struct kevent) on i386 (kqueue_stat's st_blksize)

// kn_kevent's fields sit in struct kevent's order: kevent_copyout copies them as one.
if (KN.kn_udata - KN.kn_id !== KEVENT.udata || KN.kn_filter - KN.kn_id !== KEVENT.filter) {
  throw new Error('kern_event: the knote\'s kevent fields are out of struct kevent\'s order');
}

/*
 * A caller's struct kevent array (C: a pointer into user memory): KEVENT_INTS ints an
 * entry, in struct kevent's order; n entries in use.  sys.ts fills one with the changes
 * and gives another for the events; kept per thread and grown, never shrunk.
 */
export class Kevlist {
  buf = new Int32Array(KQ_NEVENTS * KEVENT_INTS);
  n = 0;

  /* Room for at least `entries` entries, keeping the first n. */
  reserve(entries: number): void {
    if (entries * KEVENT_INTS <= this.buf.length) return;
    let len = this.buf.length;
    while (len < entries * KEVENT_INTS) len *= 2;
    const b = new Int32Array(len);
    b.set(this.buf.subarray(0, this.n * KEVENT_INTS));
    this.buf = b;
  }
}

/* copyout of one struct kevent (6 kmem words at kev) to the end of ul. */
function kevent_copyout(ul: Kevlist, kev: Ptr): void {
  ul.reserve(ul.n + 1);
  const at = ul.n * KEVENT_INTS;
  for (let i = 0; i < KEVENT_INTS; i++) ul.buf[at + i] = k32[kev + i];
  ul.n++;
}

/* ---- filterops ---- */

/*
 * struct filterops.  f_event reads its object and sets kn_data (and EV_EOF, kn_fflags);
 * true when the event holds.  Called with knote_spin held, like f_attach and f_detach.
 * A knote names its filterops by an index into filtops (kn_fop), the same table in every
 * isolate.
 */
interface Filterops {
  readonly f_isfd: boolean;                      // ident is a descriptor
  readonly f_attach: ((kn: Ptr) => number) | null;
  readonly f_detach: ((kn: Ptr) => void) | null;
  readonly f_event: ((kn: Ptr, hint: number) => boolean) | null;
}

const FOP_FILE = 1, FOP_KQREAD = 2, FOP_SOLISTEN = 3, FOP_SOREAD = 4, FOP_SOWRITE = 5, FOP_TTYREAD = 6,
  FOP_TTYWRITE = 7;

function f_detach(kn: Ptr): void { filtops[k32[kn + KN.kn_fop]].f_detach!(kn); }
function f_event(kn: Ptr, hint: number): boolean { return filtops[k32[kn + KN.kn_fop]].f_event!(kn, hint); }

/* The knote's object: the file's f_data (a socket, a kqueue). */
function kn_obj(kn: Ptr): Ptr { return k32[k32[kn + KN.kn_fp] + FILE.f_data]; }

/* SLIST_REMOVE on a list of knotes linked at offset link. */
function slist_remove(head: Ptr, kn: Ptr, link: number): void {
  if (k32[head] === kn) {
    k32[head] = k32[kn + link];
    return;
  }
  let cur = k32[head];
  while (k32[cur + link] !== kn) {
    cur = k32[cur + link];
    KASSERT(cur !== NULL, 'SLIST_REMOVE: knote not on its list');
  }
  k32[cur + link] = k32[kn + link];
}

/* SLIST_INSERT_HEAD on a klist; the head is stored with a fence (KNOTE's unlocked test). */
function klist_insert(klist: Ptr, kn: Ptr): void {
  k32[kn + KN.kn_selnext] = k32[klist];
  Atomics.store(k32, klist, kn);
}

/* KNOTE_ACTIVATE: the event holds: mark it, and queue it unless queued or disabled. */
function KNOTE_ACTIVATE(kn: Ptr): void {
  const st = k32[kn + KN.kn_status] |= KN_ACTIVE;
  if ((st & (KN_QUEUED | KN_DISABLED)) === 0) knote_enqueue(kn);
}

/* filt_fileattach: a descriptor filter attaches through the file's fo_kqfilter. */
function filt_fileattach(kn: Ptr): number {
  const fp = k32[kn + KN.kn_fp];
  const kqfilter = fileops_of(fp).fo_kqfilter;
  return kqfilter === undefined ? EBADF : kqfilter(fp, kn);
}

/* kqueue_kqfilter: a kqueue is readable (EVFILT_READ) while it has events pending. */
function kqueue_kqfilter(fp: Ptr, kn: Ptr): number {
  const kq = k32[fp + FILE.f_data];
  if (k32[kn + KN.kn_filter] !== EVFILT_READ) return 1;
  k32[kn + KN.kn_fop] = FOP_KQREAD;
  klist_insert(kq + KQ.kq_sel + SEL.si_note, kn);
  return 0;
}

function filt_kqdetach(kn: Ptr): void {
  slist_remove(kn_obj(kn) + KQ.kq_sel + SEL.si_note, kn, KN.kn_selnext);
}

function filt_kqueue(kn: Ptr, _hint: number): boolean {
  k32[kn + KN.kn_data] = k32[kn_obj(kn) + KQ.kq_count];
  return k32[kn + KN.kn_data] > 0;
}

/* ---- the system calls ---- */

/*
 * kern_kqueue (sys_kqueue): a new kqueue on a new descriptor, stored in the kmem word
 * res (res + 1 is scratch for falloc).  EMFILE/ENFILE from falloc, ENOMEM when no
 * kqueue can be had.  Blocks (only in the fdrop of a failed call).
 */
export function* kern_kqueue(p: Ptr, res: Ptr): Blocking<number> {
  const error = falloc(p, res);
  if (error !== 0) return error;
  const fp = k32[res], fd = k32[res + 1];
  const kq = zalloc(Z_KMALLOC16);
  if (kq === NULL) {
    fsetfd(p, NULL, fd);
    yield* fdrop(fp);
    return ENOMEM;
  }
  k32[fp + FILE.f_flag] = FREAD | FWRITE;
  k32[fp + FILE.f_type] = DTYPE_KQUEUE;
  k32[fp + FILE.f_data] = kq;
  k32[fp + FILE.f_ops] = kqueueops.fo_id;
  fsetfd(p, fp, fd);
  k32[res] = fd;
  yield* fdrop(fp);
  return 0;
}

/*
 * kern_kevent (sys_kevent): apply the first nchanges entries of changes to the kqueue
 * at descriptor fd, then return up to nevents events in events, waiting as tsp (a kmem
 * struct timespec: sec, nsec) says: NULL forever, {0, 0} not at all.  The count goes to
 * the kmem word res.  A change that fails becomes an EV_ERROR event (data: the errno)
 * while there is room, and then no events are collected; with no room, the call fails
 * with that change's errno.  EBADF when fd is not a kqueue, EINVAL for a bad timeout,
 * EINTR on a signal (never restarted), ENOMEM when no staging kevent can be had.
 * Blocks.
 */
export function* kern_kevent(p: Ptr, fd: number, changes: Kevlist, nchanges: number, events: Kevlist,
    nevents: number, tsp: Ptr, res: Ptr): Blocking<number> {
  const td = curthread();
  KASSERT(k32[td + TD.td_proc] === p, 'kern_kevent: not a thread of p');
  k32[res] = 0;
  const fp = holdfp(k32[p + PROC.p_fd], fd, -1);
  if (fp === NULL) return EBADF;
  if (k32[fp + FILE.f_type] !== DTYPE_KQUEUE) {
    yield* fdrop(fp);
    return EBADF;
  }
  const kq = k32[fp + FILE.f_data];
  const kev = kstack_get(KEVENT.SIZE, Z_KMALLOC16);
  let error = 0, nerrors = 0;
  done: {
    if (kev === NULL) {
      error = ENOMEM;
      break done;
    }
    for (let i = 0; i < nchanges; i++) {
      for (let j = 0; j < KEVENT_INTS; j++) k32[kev + j] = changes.buf[i * KEVENT_INTS + j];
      k32[kev + KEVENT.flags] &= ~EV_SYSFLAGS;
      error = yield* kqueue_register(kq, kev, td);
      if (error !== 0) {
        if (nevents === 0) break done;
        k32[kev + KEVENT.flags] = EV_ERROR;
        k32[kev + KEVENT.data] = error;
        kevent_copyout(events, kev);
        nevents--;
        nerrors++;
      }
    }
    if (nerrors !== 0) {
      k32[res] = nerrors;
      error = 0;
      break done;
    }
    error = yield* kqueue_scan(fp, nevents, events, tsp, res);
  }
  if (kev !== NULL) kstack_put(kev, KEVENT.SIZE, Z_KMALLOC16);
  yield* fdrop(fp);
  return error;
}

/*
 * kqueue_register: apply one change (the kmem struct kevent kev) to kq for thread td:
 * EV_ADD makes the knote (attaching it to the file at ident) or updates its saved
 * fflags, data and udata; EV_DELETE drops it; EV_DISABLE and EV_ENABLE stop and resume
 * its reports.  A new or updated knote whose event already holds is activated.  EINVAL
 * for a filter this kernel has not, EBADF for an ident that is no open descriptor,
 * ENOENT for a change to a knote that does not exist, ENOMEM, or the file's refusal of
 * the filter (DragonFly's 1: EPERM).  Blocks (only in the fdrop of a file closed
 * meanwhile).
 */
export function* kqueue_register(kq: Ptr, kev: Ptr, td: Ptr): Blocking<number> {
  const filter = k32[kev + KEVENT.filter];
  // filter is negative: ~filter is its index (EVFILT_READ -1 is 0).
  if (filter >= 0 || filter + EVFILT_SYSCOUNT < 0 || sysfilt_ops[~filter] === 0) return EINVAL;
  const fop = sysfilt_ops[~filter];
  KASSERT(filtops[fop].f_isfd, 'kqueue_register: only descriptor filters here');
  const ident = k32[kev + KEVENT.ident];
  const fp = holdfp(k32[k32[td + TD.td_proc] + PROC.p_fd], ident, -1);
  if (fp === NULL) return EBADF;
  const flags = k32[kev + KEVENT.flags];
  const l = knote_spin();
  let error = 0;
  spin_lock(l);
  done: {
    let kn = k32[kq + KQ.kq_knlist];
    while (kn !== NULL && !(k32[kn + KN.kn_id] === ident && k32[kn + KN.kn_filter] === filter && k32[kn + KN.kn_fp] === fp)) {
      kn = k32[kn + KN.kn_link];
    }
    if (kn === NULL && (flags & EV_ADD) === 0) {
      error = ENOENT;
      break done;
    }
    if ((flags & EV_ADD) !== 0) {
      if (kn === NULL) {
        kn = knote_alloc();
        if (kn === NULL) {
          error = ENOMEM;
          break done;
        }
        k32[kn + KN.kn_fp] = fp;
        k32[kn + KN.kn_kq] = kq;
        k32[kn + KN.kn_fop] = fop;
        k32[kn + KN.kn_sfflags] = k32[kev + KEVENT.fflags];
        k32[kn + KN.kn_sdata] = k32[kev + KEVENT.data];
        k32[kev + KEVENT.fflags] = 0;
        k32[kev + KEVENT.data] = 0;
        for (let i = 0; i < KEVENT_INTS; i++) k32[kn + KN.kn_id + i] = k32[kev + i];
        knote_attach(kn, kq);
        error = filtops[fop].f_attach!(kn);
        if (error !== 0) {
          knote_drop(kn);
          break done;
        }
      } else {
        // The user may change some filter values after the initial EV_ADD, but doing so
        // will not reset any filter which has already been triggered.
        k32[kn + KN.kn_sfflags] = k32[kev + KEVENT.fflags];
        k32[kn + KN.kn_sdata] = k32[kev + KEVENT.data];
        k32[kn + KN.kn_udata] = k32[kev + KEVENT.udata];
      }
      if (f_event(kn, 0)) KNOTE_ACTIVATE(kn);
    } else if ((flags & EV_DELETE) !== 0) {
      f_detach(kn);
      knote_drop(kn);
      break done;
    }
    if ((flags & EV_DISABLE) !== 0 && (k32[kn + KN.kn_status] & KN_DISABLED) === 0) {
      k32[kn + KN.kn_status] |= KN_DISABLED;
    }
    if ((flags & EV_ENABLE) !== 0 && (k32[kn + KN.kn_status] & KN_DISABLED) !== 0) {
      const st = k32[kn + KN.kn_status] &= ~KN_DISABLED;
      if ((st & KN_ACTIVE) !== 0 && (st & KN_QUEUED) === 0) knote_enqueue(kn);
    }
  }
  spin_unlock(l);
  yield* fdrop(fp);
  return error;
}

/*
 * kqueue_scan: copy out up to maxevents pending events of the kqueue behind fp to ulist,
 * waiting for one as tsp says (NULL: forever; {0, 0}: not at all).  A level-triggered
 * knote whose filter no longer holds is dropped from the queue unreported; EV_CLEAR
 * resets data and fflags after the report; EV_ONESHOT drops the knote.  The count goes
 * to the kmem word res.  EINVAL for a bad timespec, EINTR on a signal.  Blocks.
 */
function* kqueue_scan(fp: Ptr, maxevents: number, ulist: Kevlist, tsp: Ptr, res: Ptr): Blocking<number> {
  const kq = k32[fp + FILE.f_data];
  const l = knote_spin();
  let count = maxevents, error = 0;
  let timeout = 0, deadline = -1;
  scan: if (count !== 0) {
    if (tsp !== NULL) {
      const sec = k32[tsp], nsec = k32[tsp + 1];
      const ns = itimerfix_ns(sec, Math.trunc(nsec / 1000));     // TIMESPEC_TO_TIMEVAL, then itimerfix
      if (ns < 0) {
        error = EINVAL;
        break scan;
      }
      timeout = sec === 0 && nsec === 0 ? -1 : timeout_ticks(ns);
      deadline = nanotime() + ns;
    }
    for (let retry = false; ; retry = true) {
      if (retry && deadline >= 0) {
        const now = nanotime();
        if (now >= deadline) break scan;
        timeout = timeout_ticks(deadline - now);
      }
      crit_enter();
      tsleep_interlock(kq);          // a knote_enqueue after our look wakes us
      spin_lock(l);
      if (k32[kq + KQ.kq_count] === 0) {
        if (timeout < 0) {
          spin_unlock(l);
          error = EWOULDBLOCK;
        } else {
          k32[kq + KQ.kq_state] |= KQ_SLEEP;
          spin_unlock(l);
          error = yield* tsleep(kq, PCATCH, 'kqread', timeout);
        }
        crit_exit();
        if (error === 0) continue;
        // don't restart after signals...
        if (error === ERESTART) error = EINTR;
        else if (error === EWOULDBLOCK) error = 0;
        break scan;
      }
      // The entries queued now, and no more: what DragonFly's marker delimits.
      for (let left = k32[kq + KQ.kq_count]; count !== 0 && left > 0; left--) {
        const kn = TAILQ_FIRST(kq + KQ.kq_head);
        TAILQ_REMOVE(kq + KQ.kq_head, kn, KN.kn_tqe);
        if ((k32[kn + KN.kn_status] & KN_DISABLED) !== 0) {
          k32[kn + KN.kn_status] &= ~KN_QUEUED;
          k32[kq + KQ.kq_count]--;
          continue;
        }
        if ((k32[kn + KN.kn_flags] & EV_ONESHOT) === 0 && !f_event(kn, 0)) {
          k32[kn + KN.kn_status] &= ~(KN_QUEUED | KN_ACTIVE);
          k32[kq + KQ.kq_count]--;
          continue;
        }
        kevent_copyout(ulist, kn + KN.kn_id);
        if ((k32[kn + KN.kn_flags] & EV_ONESHOT) !== 0) {
          k32[kn + KN.kn_status] &= ~KN_QUEUED;
          k32[kq + KQ.kq_count]--;
          f_detach(kn);
          knote_drop(kn);
        } else if ((k32[kn + KN.kn_flags] & EV_CLEAR) !== 0) {
          k32[kn + KN.kn_data] = 0;
          k32[kn + KN.kn_fflags] = 0;
          k32[kn + KN.kn_status] &= ~(KN_QUEUED | KN_ACTIVE);
          k32[kq + KQ.kq_count]--;
        } else {
          TAILQ_INSERT_TAIL(kq + KQ.kq_head, kn, KN.kn_tqe);
        }
        count--;
      }
      spin_unlock(l);
      crit_exit();
      if (count === maxevents) continue;
      break scan;
    }
  }
  k32[res] = maxevents - count;
  return error;
}

/* ---- the kqueue's file operations ---- */

/* kqueue_read, kqueue_write: a kqueue is read with kevent (XXX: could call kqueue_scan). */
function kqueue_read(): Blocking<number> { return done_num(ENXIO); }
function kqueue_write(): Blocking<number> { return done_num(ENXIO); }

/* kqueue_ioctl: FIOASYNC (SIGIO to the owner when an event is queued), FIOSETOWN; else ENOTTY. */
function kqueue_ioctl(fp: Ptr, com: number, data: Ptr, _cred: Ptr): Blocking<number> {
  const kq = k32[fp + FILE.f_data];
  const l = knote_spin();
  let error = 0;
  switch (com) {
    case FIOASYNC:
      spin_lock(l);
      if (k32[data] !== 0) k32[kq + KQ.kq_state] |= KQ_ASYNC;
      else k32[kq + KQ.kq_state] &= ~KQ_ASYNC;
      spin_unlock(l);
      break;
    case FIOSETOWN:
      error = fsetown(k32[data], kq + KQ.kq_sigio);
      break;
    default:
      error = ENOTTY;
      break;
  }
  return done_num(error);
}

/* kqueue_poll: readable while events are pending; otherwise the poller is recorded. */
function kqueue_poll(fp: Ptr, events: number, _cred: Ptr): Blocking<number> {
  const kq = k32[fp + FILE.f_data];
  const l = knote_spin();
  let revents = 0;
  spin_lock(l);
  if ((events & (POLLIN | POLLRDNORM)) !== 0) {
    if (k32[kq + KQ.kq_count] !== 0) {
      revents |= events & (POLLIN | POLLRDNORM);
    } else {
      selrecord(curthread(), kq + KQ.kq_sel);
      k32[kq + KQ.kq_state] |= KQ_SEL;
    }
  }
  spin_unlock(l);
  return done_count(revents);
}

/* kqueue_stat: a FIFO whose size is the pending events and whose block is one kevent. */
function kqueue_stat(fp: Ptr, st: Ptr, _cred: Ptr): Blocking<number> {
  const kq = k32[fp + FILE.f_data];
  k32.fill(0, st, st + STAT.SIZE);
  kf64[(st + STAT.st_size_f64) >> 1] = k32[kq + KQ.kq_count];
  k32[st + STAT.st_blksize] = KEVENT_BYTES;
  k32[st + STAT.st_mode] = S_IFIFO;
  return done_num(0);
}

/*
 * kqueue_close: the last reference is gone: drop every knote of the kqueue (detaching
 * each from its object), and every knote other kqueues have on this one, then free it.
 * Never blocks.
 */
function kqueue_close(fp: Ptr): Blocking<number> {
  const kq = k32[fp + FILE.f_data];
  const l = knote_spin();
  spin_lock(l);
  for (let kn = k32[kq + KQ.kq_knlist]; kn !== NULL; kn = k32[kq + KQ.kq_knlist]) {
    f_detach(kn);
    knote_drop(kn);
  }
  knote_remove_locked(kq + KQ.kq_sel + SEL.si_note);
  spin_unlock(l);
  k32[fp + FILE.f_data] = NULL;
  k32[kq + KQ.kq_sigio] = 0;          // funsetown
  zfree(Z_KMALLOC16, kq);
  return done_num(0);
}

/* nofo_shutdown: not a socket. */
function kqueue_shutdown(_fp: Ptr, _how: number): Blocking<number> { return done_num(EOPNOTSUPP); }

export const kqueueops: Fileops = {
  fo_name: 'kqueueops', fo_id: 0,
  fo_read: kqueue_read, fo_write: kqueue_write, fo_ioctl: kqueue_ioctl, fo_poll: kqueue_poll,
  fo_kqfilter: kqueue_kqfilter, fo_stat: kqueue_stat, fo_close: kqueue_close, fo_shutdown: kqueue_shutdown,
};
fileops_register(kqueueops);

/*
 * kqueue_wakeup: an event was queued on kq: wake its kevent sleepers and the thread
 * polling it, and activate the knotes of kqueues watching it.  knote_spin held.
 */
function kqueue_wakeup(kq: Ptr): void {
  const st = k32[kq + KQ.kq_state];
  if ((st & KQ_SLEEP) !== 0) {
    k32[kq + KQ.kq_state] &= ~KQ_SLEEP;
    wakeup(kq);
  }
  if ((st & KQ_SEL) !== 0) {
    k32[kq + KQ.kq_state] &= ~KQ_SEL;
    selwakeup(kq + KQ.kq_sel);
  }
  knote_locked(kq + KQ.kq_sel + SEL.si_note, 0);
}

/* ---- knotes ---- */

/*
 * knote: walk down a list of knotes, activating them if their event has triggered.  The
 * KNOTE of sowakeup (sys_generic.ts).  Never blocks.
 */
export function knote(list: Ptr, hint: number): void {
  const l = knote_spin();
  spin_lock(l);
  knote_locked(list, hint);
  spin_unlock(l);
}

function knote_locked(list: Ptr, hint: number): void {
  for (let kn = k32[list]; kn !== NULL; kn = k32[kn + KN.kn_selnext]) {
    if (f_event(kn, hint)) KNOTE_ACTIVATE(kn);
  }
}

/* knote_remove: drop every knote on a klist (its object is going away).  Never blocks. */
export function knote_remove(list: Ptr): void {
  const l = knote_spin();
  spin_lock(l);
  knote_remove_locked(list);
  spin_unlock(l);
}

function knote_remove_locked(list: Ptr): void {
  for (let kn = k32[list]; kn !== NULL; kn = k32[list]) {
    f_detach(kn);
    knote_drop(kn);
  }
}

/*
 * knote_fpclose: drop the knotes on list that were registered through the file fp, which
 * is closing while the list's object stays (the console).  DragonFly's knote_fdclose
 * finds a descriptor's knotes through the filedesc.  Never blocks.
 */
export function knote_fpclose(list: Ptr, fp: Ptr): void {
  const l = knote_spin();
  spin_lock(l);
  for (let kn = k32[list]; kn !== NULL;) {
    const next = k32[kn + KN.kn_selnext];
    if (k32[kn + KN.kn_fp] === fp) {
      f_detach(kn);
      knote_drop(kn);
    }
    kn = next;
  }
  spin_unlock(l);
}

/* knote_attach: a new knote joins its kqueue's list. */
function knote_attach(kn: Ptr, kq: Ptr): void {
  k32[kn + KN.kn_link] = k32[kq + KQ.kq_knlist];
  k32[kq + KQ.kq_knlist] = kn;
  k32[kn + KN.kn_status] = 0;
}

/* knote_drop: off its kqueue (list and queue) and freed; the caller detached it from its object. */
function knote_drop(kn: Ptr): void {
  slist_remove(k32[kn + KN.kn_kq] + KQ.kq_knlist, kn, KN.kn_link);
  if ((k32[kn + KN.kn_status] & KN_QUEUED) !== 0) knote_dequeue(kn);
  knote_free(kn);
}

function knote_enqueue(kn: Ptr): void {
  const kq = k32[kn + KN.kn_kq];
  KASSERT((k32[kn + KN.kn_status] & KN_QUEUED) === 0, 'knote already queued');
  TAILQ_INSERT_TAIL(kq + KQ.kq_head, kn, KN.kn_tqe);
  k32[kn + KN.kn_status] |= KN_QUEUED;
  const count = ++k32[kq + KQ.kq_count];
  // Send SIGIO on request (typically set up as a mailbox signal).
  if (k32[kq + KQ.kq_sigio] !== 0 && (k32[kq + KQ.kq_state] & KQ_ASYNC) !== 0 && count === 1) {
    pgsigio(k32[kq + KQ.kq_sigio], SIGIO, 0);
  }
  kqueue_wakeup(kq);
}

function knote_dequeue(kn: Ptr): void {
  const kq = k32[kn + KN.kn_kq];
  KASSERT((k32[kn + KN.kn_status] & KN_QUEUED) !== 0, 'knote not queued');
  TAILQ_REMOVE(kq + KQ.kq_head, kn, KN.kn_tqe);
  k32[kn + KN.kn_status] &= ~KN_QUEUED;
  k32[kq + KQ.kq_count]--;
}

function knote_alloc(): Ptr { return zalloc(Z_KMALLOC16); }
function knote_free(kn: Ptr): void { zfree(Z_KMALLOC16, kn); }

/* ---- socket filters (uipc_socket.c) ---- */

/*
 * sokqfilter: a socket's fo_kqfilter: EVFILT_READ (filt_solisten on a listener,
 * filt_soread otherwise) on so_rcv, EVFILT_WRITE (filt_sowrite) on so_snd; SSB_KNOTE
 * tells sowakeup to KNOTE.  1 for another filter.
 */
export function sokqfilter(fp: Ptr, kn: Ptr): number {
  const so = k32[fp + FILE.f_data];
  let ssb: Ptr;
  switch (k32[kn + KN.kn_filter]) {
    case EVFILT_READ:
      k32[kn + KN.kn_fop] = (k32[so + SO.so_options] & SO_ACCEPTCONN) !== 0 ? FOP_SOLISTEN : FOP_SOREAD;
      ssb = so + SO.so_rcv;
      break;
    case EVFILT_WRITE:
      k32[kn + KN.kn_fop] = FOP_SOWRITE;
      ssb = so + SO.so_snd;
      break;
    default:
      return 1;
  }
  klist_insert(ssb + SSB.ssb_sel + SEL.si_note, kn);
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_KNOTE);
  return 0;
}

/* Unlink kn from one of its socket's klists; the last one out clears SSB_KNOTE. */
function so_kndetach(kn: Ptr, ssb: Ptr): void {
  const klist = ssb + SSB.ssb_sel + SEL.si_note;
  slist_remove(klist, kn, KN.kn_selnext);
  if (k32[klist] === NULL) Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_KNOTE);
}

function filt_sordetach(kn: Ptr): void { so_kndetach(kn, kn_obj(kn) + SO.so_rcv); }

/* filt_soread: bytes readable; EOF (with so_error in fflags) or an error hold; else the low-water mark. */
function filt_soread(kn: Ptr, _hint: number): boolean {
  const so = kn_obj(kn);
  const data = k32[kn + KN.kn_data] = k32[so + SO.so_rcv + SSB.ssb_cc];
  if ((Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0) {
    k32[kn + KN.kn_flags] |= EV_EOF;
    k32[kn + KN.kn_fflags] = k32[so + SO.so_error];
    return true;
  }
  if (k32[so + SO.so_error] !== 0) return true;      // temporary udp error
  if ((k32[kn + KN.kn_sfflags] & NOTE_LOWAT) !== 0) return data >= k32[kn + KN.kn_sdata];
  return data >= k32[so + SO.so_rcv + SSB.ssb_lowat];
}

function filt_sowdetach(kn: Ptr): void { so_kndetach(kn, kn_obj(kn) + SO.so_snd); }

/*
 * filt_sowrite: space to write (ssb_space, signed); a shut send side (EV_EOF, so_error in
 * fflags) or an error hold; an unconnected socket of a connection protocol does not;
 * else the low-water mark.
 */
function filt_sowrite(kn: Ptr, _hint: number): boolean {
  const so = kn_obj(kn);
  const data = k32[kn + KN.kn_data] = ssb_space(so + SO.so_snd);
  const state = Atomics.load(k32, so + SO.so_state);
  if ((state & SS_CANTSENDMORE) !== 0) {
    k32[kn + KN.kn_flags] |= EV_EOF;
    k32[kn + KN.kn_fflags] = k32[so + SO.so_error];
    return true;
  }
  if (k32[so + SO.so_error] !== 0) return true;      // temporary udp error
  if ((state & SS_ISCONNECTED) === 0 && (protosw_of(k32[so + SO.so_proto]).pr_flags & PR_CONNREQUIRED) !== 0) return false;
  if ((k32[kn + KN.kn_sfflags] & NOTE_LOWAT) !== 0) return data >= k32[kn + KN.kn_sdata];
  return data >= k32[so + SO.so_snd + SSB.ssb_lowat];
}

/* filt_solisten: completed connections waiting for accept. */
function filt_solisten(kn: Ptr, _hint: number): boolean {
  const so = kn_obj(kn);
  k32[kn + KN.kn_data] = k32[so + SO.so_qlen];
  return k32[so + SO.so_comp] !== NULL;
}

/* ---- tty filters (tty.c), for the console: the only tty, on cons_klist ---- */

/*
 * ttykqfilter: EVFILT_READ (filt_ttyread) or EVFILT_WRITE (filt_ttywrite) on the
 * console; 1 for another filter.  DragonFly links them on t_rsel and t_wsel; nothing
 * ever fires them here (nothing is typed, output never queues), so one list serves both.
 */
export function ttykqfilter(kn: Ptr): number {
  switch (k32[kn + KN.kn_filter]) {
    case EVFILT_READ: k32[kn + KN.kn_fop] = FOP_TTYREAD; break;
    case EVFILT_WRITE: k32[kn + KN.kn_fop] = FOP_TTYWRITE; break;
    default: return 1;
  }
  klist_insert(cons_klist(), kn);
  return 0;
}

function filt_ttydetach(kn: Ptr): void { slist_remove(cons_klist(), kn, KN.kn_selnext); }

/* filt_ttyread: the bytes ttnread counts: none, ever. */
function filt_ttyread(kn: Ptr, _hint: number): boolean {
  k32[kn + KN.kn_data] = 0;
  return false;
}

/* filt_ttywrite: the output queue (always empty: output leaves at once) is under its low-water mark. */
function filt_ttywrite(kn: Ptr, _hint: number): boolean {
  k32[kn + KN.kn_data] = 0;
  return true;
}

/* ---- the filter tables ---- */

const filtops: readonly Filterops[] = [
  { f_isfd: false, f_attach: null, f_detach: null, f_event: null },               // 0: none
  { f_isfd: true, f_attach: filt_fileattach, f_detach: null, f_event: null },     // FOP_FILE
  { f_isfd: true, f_attach: null, f_detach: filt_kqdetach, f_event: filt_kqueue }, // FOP_KQREAD
  { f_isfd: true, f_attach: null, f_detach: filt_sordetach, f_event: filt_solisten },
  { f_isfd: true, f_attach: null, f_detach: filt_sordetach, f_event: filt_soread },
  { f_isfd: true, f_attach: null, f_detach: filt_sowdetach, f_event: filt_sowrite },
  { f_isfd: true, f_attach: null, f_detach: filt_ttydetach, f_event: filt_ttyread },
  { f_isfd: true, f_attach: null, f_detach: filt_ttydetach, f_event: filt_ttywrite },
];

/* sysfilt_ops: the filterops of each system filter, by ~filter; 0 where the subsystem is missing. */
const sysfilt_ops: readonly number[] = [
  FOP_FILE,       // EVFILT_READ
  FOP_FILE,       // EVFILT_WRITE
  0,              // EVFILT_AIO: no vfs_aio
  FOP_FILE,       // EVFILT_VNODE
  0,              // EVFILT_PROC: no proc klists
  0,              // EVFILT_SIGNAL: no signal klists
  0,              // EVFILT_TIMER: no kqueue callouts
];
