/*
 * sys_socket.ts: the file operations of a socket (DTYPE_SOCKET): read, write, ioctl,
 * poll, kqfilter (sokqfilter, in kern_event.ts), stat, close and shutdown through the
 * socket layer.
 * Mirrors DragonFly 2008 sys/kern/sys_socket.c (soo_read .. soo_shutdown, socketops),
 * function for function, in its order.  Every soo_* takes the BGL in the bgl dispatch
 * model, as the 2008 functions did with get_mplock(); the other models need none here.
 *
 * Differs:
 *  - f_ops holds the kstr id of socketops' registered name (sys/file.ts); socketops is
 *    registered with kern_descrip's fileops registry when this module loads.
 *  - The ioctl numbers DragonFly has in sys/filio.h and sys/sockio.h (FIONREAD, FIOSETOWN,
 *    FIOGETOWN, SIOCSPGRP, SIOCGPGRP, SIOCATMARK) and the per-call blocking overrides of
 *    sys/fcntl.h (O_FBLOCKING, O_FNONBLOCKING) are defined here, with DragonFly's values.
 *  - FIONBIO sets or clears FNONBLOCK on the file itself (by CAS: unp_gc and fcntl change
 *    f_flag too); DragonFly's generic ioctl did that before calling soo_ioctl.
 *  - fsetown/fgetown are reduced to what so_sigio holds here (the owner id, kern_sig.ts):
 *    ESRCH for an owner that does not exist, no session or credential checks.
 *  - soo_poll calls sopoll directly in every model (DragonFly 2008: so_pru_sopoll, a
 *    message to the protocol's port, which for AF_LOCAL is the sync port: a direct call);
 *    sopoll's record-then-look-again closes the race with a protocol thread's wake-up.
 *  - soo_close drops the socket's knotes (knote_remove) before soclose: DragonFly's
 *    kern_close dropped the descriptor's knotes (knote_fdclose) before the last fdrop,
 *    and this filedesc keeps none (kern_event.ts).
 *  - soreceive's flags are a kmem word (C: an int on the stack): one kmalloc16 item per
 *    read, ENOBUFS when that zone is empty.
 */

import { k32, kf64 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import { ENOBUFS, ESRCH } from '../../shared/errno.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { Z_KMALLOC16 } from '../../shared/zone.js';
import { kstack_get, kstack_put } from '../lwkt/lwkt_kstack.js';
import { done_count, done_num, done_value, is_done, type Blocking } from '../../shared/effect.js';
import { curthread } from '../lwkt/globaldata.js';
import { get_mplock, rel_mplock } from '../lwkt/lwkt_token.js';
import { FILE, FNONBLOCK, FIOASYNC, FIONBIO, type Fileops } from '../sys/file.js';
import { STAT, S_IFSOCK } from '../sys/stat.js';
import { SEL, SO, SSB, SSB_ASYNC, SS_ASYNC, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_RCVATMARK } from '../sys/socketvar.js';
import { MSG_FNONBLOCKING } from '../sys/socket.js';
import { KERN, PIDHASH_SIZE, PROC, UCRED, kern_globals } from '../sys/proc.js';
import { fileops_register } from './kern_descrip.js';
import { pfind } from './kern_proc.js';
import { Uio, soclose, sopoll, soreceive, sosend, soshutdown } from './uipc_socket.js';
import { soclrstate, sosetstate } from './uipc_socket2.js';
import { SO_DISPATCH_BGL, so_dispatch_model, so_pru_control, so_pru_sense } from './uipc_msg.js';
import { knote_remove, sokqfilter } from './kern_event.js';

/* ---- ioctl numbers (sys/filio.h, sys/sockio.h) and per-call blocking flags (sys/fcntl.h) ---- */

import { FIONREAD, FIOSETOWN, FIOGETOWN } from '../sys/file.js';
export { FIONREAD, FIOSETOWN, FIOGETOWN };
import { SIOCATMARK } from '../sys/socket.js';
export { SIOCATMARK };
export const SIOCSPGRP = 0x80047308;  // _IOW('s', 8, int): SIGIO process group
export const SIOCGPGRP = 0x40047309;  // _IOR('s', 9, int)

export const O_FBLOCKING = 0x00040000;    // this call blocks, whatever FNONBLOCK says
export const O_FNONBLOCKING = 0x00080000; // this call does not block, whatever FNONBLOCK says

/* st_mode permission bits a socket shows (sys/stat.h). */
const S_IRUSR = 0o400, S_IWUSR = 0o200, S_IRGRP = 0o040, S_IWGRP = 0o020, S_IROTH = 0o004, S_IWOTH = 0o002;

/* The BGL, in the model whose 2008 code took it (DESIGN 7). */
function bgl(): boolean { return so_dispatch_model() === SO_DISPATCH_BGL; }

/* The soreceive/sosend flags one call gets from the per-call override or the file's FNONBLOCK. */
function soo_msgflags(fp: Ptr, fflags: number): number {
  if ((fflags & O_FBLOCKING) !== 0) return 0;
  if ((fflags & O_FNONBLOCKING) !== 0) return MSG_FNONBLOCKING;
  return (Atomics.load(k32, fp + FILE.f_flag) & FNONBLOCK) !== 0 ? MSG_FNONBLOCKING : 0;
}

/*
 * soo_read: receive into uio from the socket behind fp (soreceive, no address or
 * control).  Non-blocking when the file is FNONBLOCK, unless fflags overrides
 * (O_FBLOCKING / O_FNONBLOCKING).  The caller learns the count from uio.resid.  Returns
 * soreceive's errno, or ENOBUFS when no flags word can be had.  Blocks.
 */
export function soo_read(fp: Ptr, uio: Uio, _cred: Ptr, fflags: number): Blocking<number> {
  KASSERT(k32[fp + FILE.f_data] !== NULL, 'soo_read: file has no socket');
  const flagsp = kstack_get(1, Z_KMALLOC16);   // C's local int flags
  if (flagsp === NULL) return done_num(ENOBUFS);
  // Plain unless the BGL or soreceive must wait (then a generator goes on).
  if (bgl()) {
    const lk = get_mplock();
    if (!is_done(lk)) return soo_read_lockwait(lk, fp, uio, flagsp, fflags);
  }
  return soo_read_locked(fp, uio, flagsp, fflags);
}

function soo_read_locked(fp: Ptr, uio: Uio, flagsp: Ptr, fflags: number): Blocking<number> {
  const so = k32[fp + FILE.f_data];
  k32[flagsp] = soo_msgflags(fp, fflags);
  const recv = soreceive(so, NULL, uio, NULL, NULL, flagsp);
  if (!is_done(recv)) return soo_read_wait(recv, flagsp);
  return done_num(soo_read_done(flagsp, done_value(recv)));
}

/* soo_read's end: drop the BGL and the flags word; returns error. */
function soo_read_done(flagsp: Ptr, error: number): number {
  if (bgl()) rel_mplock();
  kstack_put(flagsp, 1, Z_KMALLOC16);
  return error;
}

function* soo_read_lockwait(lk: Blocking<void>, fp: Ptr, uio: Uio, flagsp: Ptr, fflags: number): Blocking<number> {
  yield* lk;
  return yield* soo_read_locked(fp, uio, flagsp, fflags);
}

function* soo_read_wait(recv: Blocking<number>, flagsp: Ptr): Blocking<number> {
  return soo_read_done(flagsp, yield* recv);
}

/*
 * soo_write: send uio on the socket behind fp (sosend, no address or control), with the
 * same blocking rule as soo_read.  EPIPE is returned as is: the caller (dofilewrite,
 * kern_sendmsg) raises SIGPIPE.  Blocks.
 */
export function soo_write(fp: Ptr, uio: Uio, _cred: Ptr, fflags: number): Blocking<number> {
  KASSERT(k32[fp + FILE.f_data] !== NULL, 'soo_write: file has no socket');
  // Plain unless the BGL or sosend must wait, as soo_read.
  if (bgl()) {
    const lk = get_mplock();
    if (!is_done(lk)) return soo_write_lockwait(lk, fp, uio, fflags);
  }
  return soo_write_locked(fp, uio, fflags);
}

function soo_write_locked(fp: Ptr, uio: Uio, fflags: number): Blocking<number> {
  const so = k32[fp + FILE.f_data];
  const send = sosend(so, NULL, uio, NULL, NULL, soo_msgflags(fp, fflags), uio.td);
  if (!is_done(send)) return soo_write_wait(send);
  const error = done_value(send);
  if (bgl()) rel_mplock();
  return done_num(error);
}

function* soo_write_lockwait(lk: Blocking<void>, fp: Ptr, uio: Uio, fflags: number): Blocking<number> {
  yield* lk;
  return yield* soo_write_locked(fp, uio, fflags);
}

function* soo_write_wait(send: Blocking<number>): Blocking<number> {
  const error = yield* send;
  if (bgl()) rel_mplock();
  return error;
}

/* Set or clear bits of f_flag by CAS (fcntl and unp_gc change other bits concurrently). */
function f_flag_change(fp: Ptr, bits: number, on: boolean): void {
  for (let tries = 0; ; tries++) {
    KASSERT(tries < 1000000, 'f_flag_change: CAS never succeeded');
    const o = Atomics.load(k32, fp + FILE.f_flag);
    const n = on ? o | bits : o & ~bits;
    if (Atomics.compareExchange(k32, fp + FILE.f_flag, o, n) === o) return;
  }
}

/*
 * soo_ioctl: the socket's ioctls; data is a kmem word (an int).  FIONBIO sets or clears
 * FNONBLOCK on the file; FIOASYNC sets or clears SS_ASYNC and SSB_ASYNC on both
 * buffers; FIONREAD stores so_rcv's cc; FIOSETOWN/SIOCSPGRP set the SIGIO owner
 * (ESRCH when no such process or group), FIOGETOWN/SIOCGPGRP read it; SIOCATMARK
 * stores whether the receive side is at the out-of-band mark.  Anything else goes to
 * the protocol (so_pru_control, a direct call).  Blocks (for the BGL only).
 */
export function* soo_ioctl(fp: Ptr, cmd: number, data: Ptr, _cred: Ptr): Blocking<number> {
  KASSERT(data !== NULL, 'soo_ioctl: no argument word');
  const so = k32[fp + FILE.f_data];
  KASSERT(so !== NULL, 'soo_ioctl: file has no socket');
  let error = 0;
  switch (cmd) {
    case FIONBIO:
      f_flag_change(fp, FNONBLOCK, k32[data] !== 0);
      break;
    case FIOASYNC:
      if (k32[data] !== 0) {
        sosetstate(so, SS_ASYNC);
        Atomics.or(k32, so + SO.so_rcv + SSB.ssb_flags, SSB_ASYNC);
        Atomics.or(k32, so + SO.so_snd + SSB.ssb_flags, SSB_ASYNC);
      } else {
        soclrstate(so, SS_ASYNC);
        Atomics.and(k32, so + SO.so_rcv + SSB.ssb_flags, ~SSB_ASYNC);
        Atomics.and(k32, so + SO.so_snd + SSB.ssb_flags, ~SSB_ASYNC);
      }
      break;
    case FIONREAD:
      k32[data] = k32[so + SO.so_rcv + SSB.ssb_cc];
      break;
    case FIOSETOWN:
    case SIOCSPGRP:
      if (bgl()) yield* get_mplock();
      error = fsetown(cmd === FIOSETOWN ? k32[data] : -k32[data], so + SO.so_sigio);
      if (bgl()) rel_mplock();
      break;
    case FIOGETOWN:
      k32[data] = fgetown(so + SO.so_sigio);
      break;
    case SIOCGPGRP:
      k32[data] = -fgetown(so + SO.so_sigio);
      break;
    case SIOCATMARK:
      k32[data] = (Atomics.load(k32, so + SO.so_state) & SS_RCVATMARK) !== 0 ? 1 : 0;
      break;
    default:
      // Interface and routing ioctls ('i', 'r') have no subsystem here: the protocol's.
      if (bgl()) yield* get_mplock();
      error = so_pru_control(so, cmd, data, NULL, NULL);
      if (bgl()) rel_mplock();
      break;
  }
  return error;
}

/*
 * soo_poll: which of events hold on the socket now (sopoll); when none does, the calling
 * thread is recorded for selwakeup.  Blocks (for the BGL only).
 */
export function soo_poll(fp: Ptr, events: number, cred: Ptr): Blocking<number> {
  if (bgl()) {
    const lk = get_mplock();
    if (!is_done(lk)) return soo_poll_lockwait(lk, fp, events, cred);
  }
  return done_count(soo_poll_locked(fp, events, cred));
}

function soo_poll_locked(fp: Ptr, events: number, cred: Ptr): number {
  const revents = sopoll(k32[fp + FILE.f_data], events, cred, curthread());
  if (bgl()) rel_mplock();
  return revents;
}

function* soo_poll_lockwait(lk: Blocking<void>, fp: Ptr, events: number, cred: Ptr): Blocking<number> {
  yield* lk;
  return soo_poll_locked(fp, events, cred);
}

/*
 * soo_stat: fill the kmem struct stat sb: S_IFSOCK, readable unless the receive side is
 * shut and empty, writable unless the send side is shut; st_size the bytes readable;
 * the owner's uid/gid; st_blksize from the protocol's pru_sense.  Blocks (pru_sense).
 */
export function* soo_stat(fp: Ptr, sb: Ptr, _cred: Ptr): Blocking<number> {
  KASSERT(sb !== NULL && (sb & 1) === 0, 'soo_stat: struct stat not on an even word');
  k32.fill(0, sb, sb + STAT.SIZE);
  let mode = S_IFSOCK;
  if (bgl()) yield* get_mplock();
  const so = k32[fp + FILE.f_data];
  const state = Atomics.load(k32, so + SO.so_state);
  const cc = k32[so + SO.so_rcv + SSB.ssb_cc];
  // A shut receive side with data left is still readable.
  if ((state & SS_CANTRCVMORE) === 0 || cc !== 0) mode |= S_IRUSR | S_IRGRP | S_IROTH;
  if ((state & SS_CANTSENDMORE) === 0) mode |= S_IWUSR | S_IWGRP | S_IWOTH;
  k32[sb + STAT.st_mode] = mode;
  kf64[(sb + STAT.st_size_f64) >> 1] = cc;
  const cred = k32[so + SO.so_cred];
  k32[sb + STAT.st_uid] = k32[cred + UCRED.cr_uid];
  k32[sb + STAT.st_gid] = k32[cred + UCRED.cr_gid];
  const error = yield* so_pru_sense(so, sb);
  if (bgl()) rel_mplock();
  return error;
}

/*
 * soo_close: the file's last reference is gone: it loses its operations and its socket,
 * which soclose() closes with the file's flags (a non-blocking file does not linger).
 * Blocks.
 */
export function* soo_close(fp: Ptr): Blocking<number> {
  if (bgl()) yield* get_mplock();
  k32[fp + FILE.f_ops] = 0;                   // badfileops
  const so = k32[fp + FILE.f_data];
  if (so !== NULL) {
    knote_remove(so + SO.so_rcv + SSB.ssb_sel + SEL.si_note);
    knote_remove(so + SO.so_snd + SSB.ssb_sel + SEL.si_note);
  }
  const error = so !== NULL ? yield* soclose(so, Atomics.load(k32, fp + FILE.f_flag)) : 0;
  k32[fp + FILE.f_data] = NULL;
  if (bgl()) rel_mplock();
  return error;
}

/* soo_shutdown: soshutdown on the file's socket (EINVAL for a bad how).  Blocks. */
export function* soo_shutdown(fp: Ptr, how: number): Blocking<number> {
  if (bgl()) yield* get_mplock();
  const so = k32[fp + FILE.f_data];
  const error = so !== NULL ? yield* soshutdown(so, how) : 0;
  if (bgl()) rel_mplock();
  return error;
}

export const socketops: Fileops = {
  fo_name: 'socketops', fo_id: 0,
  fo_read: soo_read, fo_write: soo_write, fo_ioctl: soo_ioctl, fo_poll: soo_poll, fo_kqfilter: sokqfilter,
  fo_stat: soo_stat, fo_close: soo_close, fo_shutdown: soo_shutdown,
};
fileops_register(socketops);

/* ---- simulation-only helpers: the SIGIO owner (kern_descrip.c fsetown/fgetown, reduced) ---- */

/* Is there a process in process group pgid?  Walks the pid hash under kg_proc_spin. */
function pgfind(pgid: number): boolean {
  const kg = kern_globals();
  let found = false;
  spin_lock(kg + KERN.kg_proc_spin);
  for (let b = 0; b < PIDHASH_SIZE && !found; b++) {
    for (let p = k32[kg + KERN.kg_pidhash + b]; p !== NULL && !found; p = k32[p + PROC.p_hash]) {
      found = k32[p + PROC.p_pgid] === pgid;
    }
  }
  spin_unlock(kg + KERN.kg_proc_spin);
  return found;
}

/*
 * fsetown: make pgid (a pid > 0, a process group < 0, 0 for none) the SIGIO owner in the
 * kmem word sigiop.  ESRCH when no such process or group exists.  Never blocks.
 */
export function fsetown(pgid: number, sigiop: Ptr): number {
  if (!Number.isInteger(pgid) || pgid === 0) {
    k32[sigiop] = 0;
    return 0;
  }
  if (pgid > 0 ? pfind(pgid) === NULL : !pgfind(-pgid)) return ESRCH;
  k32[sigiop] = pgid;
  return 0;
}

/* fgetown: the SIGIO owner in the kmem word sigiop (0 for none). */
export function fgetown(sigiop: Ptr): number { return k32[sigiop]; }
