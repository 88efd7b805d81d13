/*
 * uipc_usrreq_rights.ts: access rights in flight over AF_LOCAL sockets (DragonFly
 * uipc_usrreq.c: unp_internalize's SCM_RIGHTS half, unp_externalize, unp_dispose,
 * unp_scan, unp_mark, unp_discard, unp_gc).
 *
 * A descriptor sent in an SCM_RIGHTS message travels as its struct file: at send time
 * each int in the message becomes the file's kmem address (both are 4 bytes, as on
 * i386, so cmsg_len does not change), and the file gains a reference (f_count) that the
 * message holds, counted in f_msgcount and in the global unp_rights.  At receive time,
 * with a control buffer and without MSG_PEEK, each file gets the lowest free descriptor
 * in the receiver's table and the message's reference goes.
 *
 * unp_gc finds files that only messages in flight refer to, in cycles no process can
 * reach (a socket sent over itself; two sockets each queued in the other): a mark phase
 * from every file some process can reach, through the receive buffers of the AF_LOCAL
 * sockets among them, then a sweep that flushes the unreachable sockets' buffers (which
 * drops the references their messages hold) under an extra reference taken first, and
 * closes that extra reference last: the 1991 fix for the A<->B cycle, kept as DragonFly
 * has it.
 *
 * Differs, because a plain function here cannot sleep:
 *  - unp_detach asks for unp_gc instead of running it: a kernel daemon on CPU 0 (the
 *    "unp_gc" thread) runs it, as FreeBSD runs it from a taskqueue.  While the daemon
 *    has work it counts as a live thread, so the machine is not idle (and a join or
 *    quiesce waits) until the collection is done.
 *  - unp_discard's closef: a reference dropped where closing cannot sleep (under a
 *    sockbuf spinlock, in a protocol request) that turns out to be the file's last is
 *    handed to the same daemon, which closes the file.  Any other reference is dropped
 *    at once, as in C.
 * Rights lost without a control buffer (a plain recv of a message that carries some),
 * or refused by a full stream receiver, stay in flight: DragonFly 2008 frees the mbuf
 * without disposing of them, and unp_gc reclaims only files that sit in some socket's
 * receive buffer.  net.local.inflight shows them.
 */

import { k32, H_LIVE } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { E2BIG, EBADF, EINVAL, EMSGSIZE, EOPNOTSUPP } from '../../shared/errno.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { DONE_VOID, is_done, type Blocking } from '../../shared/effect.js';
import { curthread, type Globaldata } from '../lwkt/globaldata.js';
import { crit_enter, crit_exit, lwkt_create } from '../lwkt/lwkt_thread.js';
import { tsleep, tsleep_interlock, wakeup } from '../lwkt/kern_synch.js';
import { TDPRI_KERN_DAEMON, TDF_SYSTHREAD, TD } from '../lwkt/thread.js';
import { get_mplock, lwkt_gettoken, lwkt_reltoken, rel_mplock } from '../lwkt/lwkt_token.js';
import { DTYPE_KQUEUE, DTYPE_SOCKET, FDEFER, FILE, FILEDESC, FMARK } from '../sys/file.js';
import { MB, MCLBYTES, MT_CONTROL, mtod } from '../sys/mbuf.js';
import { PROC } from '../sys/proc.js';
import { AF_LOCAL, SOL_SOCKET } from '../sys/socket.js';
import { SO, SSB } from '../sys/socketvar.js';
import { PR_RIGHTS } from '../sys/protosw.js';
import { CTLFLAG_RD, sysctl_int } from './kern_sysctl.js';
import { fd_fp_locked, fdalloc, fdavail, fdrop, fdrop_last, fhold, filehead_first, filehead_spin, fsetfd } from './kern_descrip.js';
import { CMSG_LEN, CMSGHDR_BYTES, SCM_RIGHTS } from './uipc_cmsg.js';
import { protosw_of } from './uipc_domain.js';
import { sorflush } from './uipc_socket.js';
import { SO_DISPATCH_BGL, SO_DISPATCH_NETISR, so_dispatch_model } from './uipc_msg.js';
import { NSG, unixsock_globals, unp_token } from './vfs_unixsock.js';

const UG_IDLE = 0;
const UG_BUSY = 1;

/* The sweep's batch: C's extra_ref array of 256 file pointers. */
const GC_BATCH = 256;

function g(): Ptr { return unixsock_globals(); }
function unp_spin(): Ptr { return g() + NSG.ns_unp_spin; }

sysctl_int('net.local.inflight', CTLFLAG_RD, () => g() + NSG.ns_unp_rights, 'File descriptors in flight (unp_rights)');
sysctl_int('net.local.gcruns', CTLFLAG_RD, () => g() + NSG.ns_gc_runs, 'Passes of the unp_gc garbage collector');

/* The number of file references in flight. */
export function unp_rights(): number { return Atomics.load(k32, g() + NSG.ns_unp_rights); }

/* One more (or one less) reference of fp in flight: f_msgcount and unp_rights, under unp_spin. */
function inflight_add(fp: Ptr, d: number): void {
  spin_lock(unp_spin());
  k32[fp + FILE.f_msgcount] += d;
  k32[g() + NSG.ns_unp_rights] += d;
  spin_unlock(unp_spin());
}

/* Descriptors an SCM_RIGHTS message's data holds (ints or, in flight, file addresses). */
function rights_count(cm: number): number { return ((k32[cm >> 2] - CMSG_LEN(0)) / 4) | 0; }

/*
 * unp_internalize, SCM_RIGHTS (the caller checked type, level and length): every fd
 * must be open in p's table (EBADF) and none a kqueue (EOPNOTSUPP), or nothing is done;
 * then each int becomes its file, held for the message.  E2BIG when the file addresses
 * would not fit a cluster (they are ints' size here, so never after sockargs' MCLBYTES
 * check).  Never blocks.
 */
export function unp_internalize_rights(control: Ptr, p: Ptr): number {
  const cm = mtod(control);
  if (k32[cm >> 2] < CMSG_LEN(0)) return EINVAL;
  const n = rights_count(cm);
  if (CMSG_LEN(n * 4) > MCLBYTES) return E2BIG;
  const data = (cm + CMSGHDR_BYTES) >> 2;
  const fdp = k32[p + PROC.p_fd];
  // Check and hold under the table's lock: no close can slip between the two passes.
  spin_lock(fdp + FILEDESC.fd_spin);
  for (let i = 0; i < n; i++) {
    const fp = fd_fp_locked(fdp, k32[data + i]);
    let error = 0;
    if (fp === NULL) error = EBADF;
    else if (k32[fp + FILE.f_type] === DTYPE_KQUEUE) error = EOPNOTSUPP;
    if (error !== 0) {
      spin_unlock(fdp + FILEDESC.fd_spin);
      return error;
    }
  }
  for (let i = 0; i < n; i++) {
    const fp = fd_fp_locked(fdp, k32[data + i]);
    k32[data + i] = fp;
    fhold(fp);
    inflight_add(fp, 1);
  }
  spin_unlock(fdp + FILEDESC.fd_spin);
  return 0;
}

/*
 * unp_externalize (dom_externalize; soreceive, with a control buffer, not peeking): give
 * each file in the message the lowest free descriptor of the receiving process and drop
 * the message's reference; the data holds the new fds.  When the table cannot take them
 * all (fdavail), every file is discarded and EMSGSIZE returned (soreceive stops; its
 * data stays queued).  Never blocks.
 */
export function unp_externalize(rights: Ptr): number {
  const td = curthread();
  const p = k32[td + TD.td_proc];
  KASSERT(p !== NULL, 'unp_externalize: no process');
  const cm = mtod(rights);
  const n = rights_count(cm);
  const data = (cm + CMSGHDR_BYTES) >> 2;
  if (!fdavail(p, n)) {
    for (let i = 0; i < n; i++) {
      const fp = k32[data + i];
      k32[data + i] = 0;        // zeroed first: the discard may reach unp_gc
      unp_discard(fp);
    }
    return EMSGSIZE;
  }
  for (let i = 0; i < n; i++) {
    const fp = k32[data + i];
    // fdavail said there is room; only another thread of p filling its table in between
    // could take it, and C panics then too.
    if (fdalloc(p, 0, data + i) !== 0) panic('unp_externalize: fdalloc failed after fdavail');
    fsetfd(p, fp, k32[data + i]);
    inflight_add(fp, -1);
    const r = fdrop(fp);                      // the message's reference; the table holds one
    KASSERT(is_done(r), 'unp_externalize: the table\'s reference vanished');
  }
  return 0;
}

/*
 * unp_scan: op on every file of the first SCM_RIGHTS message of each record from m0 on
 * (records by m_nextpkt, their mbufs by m_next).
 */
function unp_scan(m0: Ptr, op: (fp: Ptr) => void): void {
  for (; m0 !== NULL; m0 = k32[m0 + MB.m_nextpkt]) {
    for (let m = m0; m !== NULL; m = k32[m + MB.m_next]) {
      if (k32[m + MB.m_type] !== MT_CONTROL || k32[m + MB.m_len] < CMSGHDR_BYTES) continue;
      const cm = mtod(m), w = cm >> 2;
      if (k32[w + 1] !== SOL_SOCKET || k32[w + 2] !== SCM_RIGHTS) continue;
      const n = rights_count(cm);
      for (let i = 0; i < n; i++) {
        const fp = k32[w + 3 + i];
        if (fp !== NULL) op(fp);
      }
      break;                                  // "XXX, but saves time"
    }
  }
}

/*
 * unp_dispose (dom_dispose): discard the rights of every record of chain m.  C's
 * unp_discard calls closef, which may sleep in the last close.  With wait, so may this:
 * the files whose last reference went are closed before it returns (sorflush from
 * shutdown(2), so that the process sees them closed when the call returns).  Without it
 * (a caller that cannot sleep: sofree, a refused send in a protocol handler) those last
 * closes go to the unp_gc daemon.
 */
export function unp_dispose(m: Ptr, wait: boolean): Blocking<void> {
  if (m === NULL) return DONE_VOID;
  if (!wait) {
    unp_scan(m, unp_discard);
    return DONE_VOID;
  }
  const closes: Ptr[] = [];
  sync_closes = closes;
  try {
    unp_scan(m, unp_discard);
  } finally {
    sync_closes = null;
  }
  return closes.length === 0 ? DONE_VOID : unp_dispose_close(closes);
}

function* unp_dispose_close(closes: Ptr[]): Blocking<void> {
  for (const fp of closes) yield* fdrop_last(fp);
}

/* unp_discard: a reference in flight is dropped: f_msgcount and unp_rights down, then closef. */
function unp_discard(fp: Ptr): void {
  inflight_add(fp, -1);
  closef_nosleep(fp);
}

/*
 * While unp_dispose(m, true) scans (never across a yield), the files whose last
 * reference it dropped, for it to close; else null.
 */
let sync_closes: Ptr[] | null = null;

/*
 * closef where sleeping is not allowed: drop the reference; if it was the last, the
 * caller (sync_closes) or else the unp_gc daemon closes the file (fo_close may sleep).
 * Never blocks.
 */
function closef_nosleep(fp: Ptr): void {
  const old = Atomics.sub(k32, fp + FILE.f_count, 1);
  KASSERT(old > 0, 'closef: file reference count already 0');
  if (old > 1) return;
  if (sync_closes !== null) {
    sync_closes.push(fp);
    return;
  }
  spin_lock(unp_spin());
  k32[fp + FILE.f_gcnext] = k32[g() + NSG.ns_gc_closeq];
  k32[g() + NSG.ns_gc_closeq] = fp;
  const kick = gc_busy_locked();
  spin_unlock(unp_spin());
  if (kick) wakeup(g() + NSG.ns_gc_state);
}

/* Mark the daemon busy (a live thread) if it was idle; true if it must be woken. Under unp_spin. */
function gc_busy_locked(): boolean {
  if (k32[g() + NSG.ns_gc_state] !== UG_IDLE) return false;
  k32[g() + NSG.ns_gc_state] = UG_BUSY;
  Atomics.add(k32, H_LIVE, 1);
  return true;
}

/*
 * unp_detach's part: with rights in flight, flush so's receive buffer (its queued rights
 * are discarded now, before the collector could see them as garbage and close them a
 * second time) and ask for an unp_gc pass.  Never blocks: so has no file left, so no
 * reader holds its receive buffer's I/O lock.
 */
export function unp_detach_rights(so: Ptr): void {
  if (unp_rights() === 0) return;
  const r = sorflush(so, false);
  KASSERT(is_done(r), 'unp_detach: so_rcv I/O lock held on a socket with no file');
  spin_lock(unp_spin());
  k32[g() + NSG.ns_gc_want] = 1;
  const kick = gc_busy_locked();
  spin_unlock(unp_spin());
  if (kick) wakeup(g() + NSG.ns_gc_state);
}

/* ---- unp_gc ---- */

/* allfiles_scan_exclusive: fn on every file, under the open-file list's lock; fn returns false to stop. */
function allfiles_scan(fn: (fp: Ptr) => boolean): void {
  spin_lock(filehead_spin());
  for (let fp = filehead_first(); fp !== NULL; fp = k32[fp + FILE.f_list_next]) if (!fn(fp)) break;
  spin_unlock(filehead_spin());
}

let gc_defer = 0;                // unp_gc_info.defer: marked files whose buffers are still to scan
const gc_extra: Ptr[] = [];      // unp_gc_info.extra_ref

function unp_gc_clearmarks(fp: Ptr): boolean {
  Atomics.and(k32, fp + FILE.f_flag, ~(FMARK | FDEFER));
  return true;
}

/* unp_mark: a file reached through a message: mark it, and scan its buffer later (defer). */
function unp_mark(fp: Ptr): void {
  if ((Atomics.load(k32, fp + FILE.f_flag) & FMARK) !== 0) return;
  gc_defer++;
  Atomics.or(k32, fp + FILE.f_flag, FMARK | FDEFER);
}

/*
 * unp_gc_checkmarks: an open file some process reaches (more references than messages
 * hold), or one deferred by unp_mark, is marked; if it is an AF_LOCAL socket that can
 * carry rights, every file queued in its receive buffer is marked in turn.
 */
function unp_gc_checkmarks(fp: Ptr): boolean {
  if (Atomics.load(k32, fp + FILE.f_count) === 0) return true;
  const flags = Atomics.load(k32, fp + FILE.f_flag);
  if ((flags & FDEFER) !== 0) {
    Atomics.and(k32, fp + FILE.f_flag, ~FDEFER);
    gc_defer--;
  } else {
    if ((flags & FMARK) !== 0) return true;
    if (Atomics.load(k32, fp + FILE.f_count) === k32[fp + FILE.f_msgcount]) return true;
    Atomics.or(k32, fp + FILE.f_flag, FMARK);
  }
  if (k32[fp + FILE.f_type] !== DTYPE_SOCKET) return true;
  const so = k32[fp + FILE.f_data];
  if (so === NULL) return true;
  const pr = protosw_of(k32[so + SO.so_proto]);
  if (pr.pr_domain.dom_family !== AF_LOCAL || (pr.pr_flags & PR_RIGHTS) === 0) return true;
  // C leaves the buffer unlocked ("problematical"); here another CPU may be appending, so
  // the chain is walked under its spinlock.
  const rcv = so + SO.so_rcv;
  spin_lock(rcv + SSB.ssb_spin);
  unp_scan(k32[rcv + SSB.ssb_mb], unp_mark);
  spin_unlock(rcv + SSB.ssb_spin);
  return true;
}

/* unp_gc_checkrefs: an open, unmarked file that only messages refer to is garbage: hold it. */
function unp_gc_checkrefs(fp: Ptr): boolean {
  if (Atomics.load(k32, fp + FILE.f_count) === 0) return true;
  if (gc_extra.length === GC_BATCH) return false;
  if (Atomics.load(k32, fp + FILE.f_count) === k32[fp + FILE.f_msgcount] &&
      (Atomics.load(k32, fp + FILE.f_flag) & FMARK) === 0) {
    gc_extra.push(fp);
    fhold(fp);
  }
  return true;
}

/*
 * unp_gc: free the files only unreachable messages hold.  Runs in the daemon, under the
 * lock AF_LOCAL's requests run under in this dispatch model (the BGL; unp_token).  Blocks.
 */
function* unp_gc(): Blocking<void> {
  const model = so_dispatch_model();
  if (model === SO_DISPATCH_BGL) yield* get_mplock();
  else if (model === SO_DISPATCH_NETISR) yield* lwkt_gettoken(unp_token());
  Atomics.add(k32, g() + NSG.ns_gc_runs, 1);
  gc_defer = 0;
  allfiles_scan(unp_gc_clearmarks);
  do allfiles_scan(unp_gc_checkmarks); while (gc_defer !== 0);
  // Only this daemon runs unp_gc, and nothing it calls runs it again (unp_detach only
  // asks), so gc_extra stays as checkrefs left it through the flushes and closes.
  do {
    gc_extra.length = 0;
    allfiles_scan(unp_gc_checkrefs);
    for (const fp of gc_extra) {
      const so = k32[fp + FILE.f_data];
      if (k32[fp + FILE.f_type] === DTYPE_SOCKET && so !== NULL) yield* sorflush(so);
    }
    for (const fp of gc_extra) yield* fdrop(fp);
  } while (gc_extra.length === GC_BATCH);
  gc_extra.length = 0;
  if (model === SO_DISPATCH_BGL) rel_mplock();
  else if (model === SO_DISPATCH_NETISR) lwkt_reltoken(unp_token());
}

/*
 * The daemon: close the files queued by closef_nosleep, run the unp_gc passes asked for,
 * then mark itself idle (no longer a live thread) and sleep until there is more.
 */
function* unp_gc_daemon(): Blocking<void> {
  const gw = g();
  for (;;) {
    crit_enter();
    tsleep_interlock(gw + NSG.ns_gc_state);
    spin_lock(unp_spin());
    const fp = k32[gw + NSG.ns_gc_closeq];
    if (fp !== NULL) {
      k32[gw + NSG.ns_gc_closeq] = k32[fp + FILE.f_gcnext];
      k32[fp + FILE.f_gcnext] = NULL;
      spin_unlock(unp_spin());
      crit_exit();
      yield* fdrop_last(fp);
      continue;
    }
    if (k32[gw + NSG.ns_gc_want] !== 0) {
      k32[gw + NSG.ns_gc_want] = 0;
      spin_unlock(unp_spin());
      crit_exit();
      yield* unp_gc();
      continue;
    }
    if (k32[gw + NSG.ns_gc_state] === UG_BUSY) {
      k32[gw + NSG.ns_gc_state] = UG_IDLE;
      Atomics.sub(k32, H_LIVE, 1);
    }
    spin_unlock(unp_spin());
    yield* tsleep(gw + NSG.ns_gc_state, 0, 'unpgc', 0);
    crit_exit();
  }
}

/* Boot, on CPU 0 before it runs anything: the unp_gc daemon. */
export function unp_gc_cpu_init(gd: Globaldata): void {
  if (gd.cpuid !== 0) return;
  const td = lwkt_create(gd, 'unp_gc', TDPRI_KERN_DAEMON, unp_gc_daemon(), TDF_SYSTHREAD);
  if (td === NULL) panic('unp_gc_cpu_init: no thread for the unp_gc daemon');
  k32[g() + NSG.ns_gc_td] = td;
}
