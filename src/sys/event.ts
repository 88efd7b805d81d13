/*
 * sys/event.ts: kqueue's user interface (DragonFly 2008 sys/event.h: filters, actions,
 * flags, struct kevent) and its kernel structures (struct knote from sys/event.h, struct
 * kqueue from sys/eventvar.h) as kmem layouts.
 *
 * Differs: struct kevent is six 32-bit words (i386's ident, data and udata are 32 bits
 * too); udata is a number the kernel hands back untouched.  A knote carries its kqueue's
 * link (kn_link) where DragonFly threads it on the filedesc's fd_knlist, which this
 * filedesc does not have (kern_event.ts); both structures are kmalloc16 items.
 */

import { layout, flag_names } from '../../shared/struct.js';
import { SEL } from './socketvar.js';

/* Filters (kev.filter). */
export const EVFILT_READ = -1;
export const EVFILT_WRITE = -2;
export const EVFILT_AIO = -3;        // attached to aio requests
export const EVFILT_VNODE = -4;      // attached to vnodes
export const EVFILT_PROC = -5;       // attached to struct proc
export const EVFILT_SIGNAL = -6;     // attached to struct proc
export const EVFILT_TIMER = -7;      // timers
export const EVFILT_SYSCOUNT = 7;

/* Actions (kev.flags). */
export const EV_ADD = 0x0001;        // add event to kq (implies enable)
export const EV_DELETE = 0x0002;     // delete event from kq
export const EV_ENABLE = 0x0004;     // enable event
export const EV_DISABLE = 0x0008;    // disable event (not reported)
/* Flags. */
export const EV_ONESHOT = 0x0010;    // only report one occurrence
export const EV_CLEAR = 0x0020;      // clear event state after reporting
export const EV_SYSFLAGS = 0xf000;   // reserved by system
export const EV_FLAG1 = 0x2000;      // filter-specific flag
/* Returned values. */
export const EV_EOF = 0x8000;        // EOF detected
export const EV_ERROR = 0x4000;      // error, data contains errno

/* fflags for EVFILT_READ and EVFILT_WRITE. */
export const NOTE_LOWAT = 0x0001;    // low water mark: data (kn_sdata) instead of the sockbuf's

export const EV_NAMES = flag_names({ EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_FLAG1, EV_EOF,
  EV_ERROR });

/* struct kevent: a change going in, an event coming out. */
export const KEVENT = layout('kevent', {
  ident: 1,          // identifier for this event (a descriptor for the file filters)
  filter: 1,         // EVFILT_*
  flags: 1,          // EV_*
  fflags: 1,         // filter flags (NOTE_*)
  data: 1,           // filter data
  udata: 1,          // opaque user data
});
export const KEVENT_INTS = 6;        // the caller's arrays: one kevent is six ints, in KEVENT's order

/* struct knote: one (kqueue, ident, filter) registration.  Every field is guarded by knote_spin. */
export const KN = layout('knote', {
  kn_link: 1,        // next knote of the same kqueue (kq_knlist); DragonFly: fd_knlist[ident]
  kn_selnext: 1,     // next knote on the object's klist (a selinfo's si_note)
  kn_tqe: 2,         // link on kq_head while queued (KN_QUEUED)
  kn_kq: 1,          // the kqueue
  kn_id: 1,          // kn_kevent: ident
  kn_filter: 1,      //   filter
  kn_flags: 1,       //   flags
  kn_fflags: 1,      //   fflags
  kn_data: 1,        //   data
  kn_udata: 1,       //   udata
  kn_status: 1,      // KN_*
  kn_sfflags: 1,     // saved filter flags (the change's fflags: NOTE_LOWAT)
  kn_sdata: 1,       // saved data field (the low-water mark with NOTE_LOWAT)
  kn_fp: 1,          // the file (not referenced: the file's fo_close drops its knotes)
  kn_fop: 1,         // filterops id (kern_event.ts)
});
export const KN_ACTIVE = 0x01;       // event has been triggered
export const KN_QUEUED = 0x02;       // event is on queue
export const KN_DISABLED = 0x04;     // event is disabled
export const KN_DETACHED = 0x08;     // knote is detached
export const KN_NAMES = flag_names({ KN_ACTIVE, KN_QUEUED, KN_DISABLED, KN_DETACHED });

/* struct kqueue (sys/eventvar.h).  Guarded by knote_spin. */
export const KQ = layout('kqueue', {
  kq_head: 2,        // TAILQ of pending knotes
  kq_count: 1,       // number of pending events
  kq_knlist: 1,      // every knote of this kqueue (SLIST through kn_link)
  kq_sigio: 1,       // SIGIO owner (FIOSETOWN), as so_sigio
  kq_sel: SEL.SIZE,  // who polls the kqueue itself; knotes of kqueues watching it
  kq_state: 1,       // KQ_*
});
export const KQ_SEL = 0x01;
export const KQ_SLEEP = 0x02;
export const KQ_ASYNC = 0x04;

/* struct kevent as a program passes and receives it (fflags, data and udata default to 0). */
export interface Kevent {
  ident: number;
  filter: number;
  flags: number;
  fflags?: number;
  data?: number;
  udata?: number;
}

/* struct timespec: kevent's timeout. */
export interface Timespec { sec: number; nsec: number }
