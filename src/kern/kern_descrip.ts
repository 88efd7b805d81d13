/*
 * kern_descrip.ts: open files and descriptor tables.
 * Mirrors DragonFly 2008 sys/kern/kern_descrip.c (dragonfly.md 4.14): falloc reserves
 * the lowest free fd with the file not yet visible, fsetfd publishes it, holdfp/holdsock
 * take references, kern_close only unpublishes (the file lives until its last fdrop,
 * which calls fo_close), kern_dup serves dup, dup2 and F_DUPFD, and fdcopy/fdfree serve
 * fork and exit.  The fileops table (f_ops) is registered here, like the protosw table.
 * Differs: a table grows once, NDFILE -> NDFILE_MAX slots, and fdalloc answers EMFILE
 * beyond that as well as beyond RLIMIT_NOFILE and maxfilesperproc; a table or file that
 * cannot be allocated gives ENOMEM / ENFILE (C's M_WAITOK cannot fail); results come back
 * through kmem words (C's `struct file **` and `int *`); the open-file count is exact
 * (reserved by Atomics.add before the check), where C's check-then-increment may overshoot.
 *
 * Locking: a table's slots and bookkeeping are guarded by its fd_spin; f_count changes by
 * Atomics; no spinlock is held across anything that blocks (fo_close runs unlocked).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { done_num, type Blocking } from '../../shared/effect.js';
import { EBADF, EINTR, EINVAL, EMFILE, ENFILE, ENOMEM, ENOTSOCK } from '../../shared/errno.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { spin_init_class, spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { kstr_intern } from '../../shared/kstr.js';
import { zalloc, zfree, zone_desc, ZD, Z_FILE, Z_KMALLOC16, Z_KMALLOC64, Z_KMALLOC256 } from '../../shared/zone.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { sysctl_register, CTLFLAG_RD, CTLFLAG_RW } from './kern_sysctl.js';
import {
  FILE, FILEDESC, FDNODE, DTYPE_SOCKET, FCNTLFLAGS, FASYNC, FD_CLOEXEC, FFLAGS, FIOASYNC, FIONBIO, FNONBLOCK,
  F_DUPFD, F_GETFD, F_GETFL, F_GETOWN, F_SETFD, F_SETFL, F_SETOWN, FIOGETOWN, FIOSETOWN, NDFILE, NDFILE_MAX, OFLAGS, O_ACCMODE, UF_EXCLOSE, UF_RESERVED,
  type Fileops,
} from '../sys/file.js';
import { KERN, PROC, RLIMIT_NOFILE, UCRED, kern_globals } from '../sys/proc.js';
import { p_rlimit_cur } from './kern_resource.js';
import { crfree, p_crhold } from './kern_prot.js';
import { ktrace_step } from './kern_ktrace.js';
import { kfail_zalloc } from './kern_fail.js';

/* ---- the fileops table ---- */

function badfo(): Blocking<number> { return done_num(EBADF); }

/* What a file has before its subsystem sets it up (falloc), and after: every op is EBADF. */
export const badfileops: Fileops = {
  fo_name: 'badfileops', fo_id: 0,
  fo_read: badfo, fo_write: badfo, fo_ioctl: badfo, fo_poll: badfo, fo_stat: badfo, fo_close: badfo,
  fo_shutdown: badfo,
};

const fileops_byname = new Map<string, Fileops>();
let fileops_table: (Fileops | undefined)[] = [];
let fileops_attached = false;

function fileops_bind(ops: Fileops): void {
  ops.fo_id = kstr_intern(ops.fo_name);
  fileops_table[ops.fo_id] = ops;
}

/*
 * fileops_register: make a file type's operations known in this isolate; a file names
 * them by ops.fo_id (set here once a machine is attached, and again on every attach).
 * A module that registers fileops must be loaded on every CPU that may drop or use such
 * a file (boot({ modules }), as for kfuncs).
 */
export function fileops_register(ops: Fileops): void {
  const prev = fileops_byname.get(ops.fo_name);
  if (prev !== undefined && prev !== ops) throw new Error(`fileops_register: '${ops.fo_name}' registered twice`);
  fileops_byname.set(ops.fo_name, ops);
  if (fileops_attached) fileops_bind(ops);
}

kfunc_on_attach(() => {
  fileops_attached = true;
  fileops_table = [];
  for (const ops of fileops_byname.values()) fileops_bind(ops);
});

/* The operations of fp (badfileops until its subsystem set f_ops). */
export function fileops_of(fp: Ptr): Fileops {
  const id = k32[fp + FILE.f_ops];
  if (id === 0) return badfileops;
  const ops = fileops_table[id];
  if (ops === undefined) panic('fileops_of: file operations not registered on this CPU; list their module in boot({ modules })');
  return ops;
}

let filedesc_class = 0;
kfunc_on_attach(() => { filedesc_class = lockclass_register('filedesc'); });

/* ---- tunables and counters ---- */

/* kern.maxfiles: the tunable in g_kern, or by default the file zone's size. */
export function kern_maxfiles(): number {
  const v = Atomics.load(k32, kern_globals() + KERN.kg_maxfiles);
  return v > 0 ? v : k32[zone_desc(Z_FILE) + ZD.zd_count];
}

/* kern.maxfilesperproc: the tunable, or by default maxfiles * 9 / 10 (DragonFly's). */
export function kern_maxfilesperproc(): number {
  const v = Atomics.load(k32, kern_globals() + KERN.kg_maxfilesperproc);
  return v > 0 ? v : Math.floor(kern_maxfiles() * 9 / 10);
}

/* Set kern.maxfiles and kern.maxfilesperproc (0 restores the default).  For sysctl and tests. */
export function kern_set_maxfiles(maxfiles: number, maxfilesperproc: number): void {
  KASSERT(Number.isInteger(maxfiles) && maxfiles >= 0, 'kern_set_maxfiles: bad maxfiles');
  KASSERT(Number.isInteger(maxfilesperproc) && maxfilesperproc >= 0, 'kern_set_maxfiles: bad maxfilesperproc');
  Atomics.store(k32, kern_globals() + KERN.kg_maxfiles, maxfiles);
  Atomics.store(k32, kern_globals() + KERN.kg_maxfilesperproc, maxfilesperproc);
}

/* Open files, system-wide (kern.openfiles). */
export function kern_nfiles(): number { return Atomics.load(k32, kern_globals() + KERN.kg_nfiles); }

/* The OIDs read the effective values; setting one to 0 is refused (kern_set_maxfiles restores defaults). */
function maxfiles_oid(name: string, word: number, get: () => number, descr: string): void {
  sysctl_register({ name, flags: CTLFLAG_RW, descr, get, set: (v: number) => {
    if (v < 1) return EINVAL;
    Atomics.store(k32, kern_globals() + word, v);
    return 0;
  } });
}
maxfiles_oid('kern.maxfiles', KERN.kg_maxfiles, kern_maxfiles, 'Maximum number of files');
maxfiles_oid('kern.maxfilesperproc', KERN.kg_maxfilesperproc, kern_maxfilesperproc, 'Maximum files allowed open per process');
sysctl_register({ name: 'kern.openfiles', flags: CTLFLAG_RD, descr: 'System-wide number of open files',
  get: kern_nfiles, set: null });

/* The first open file; follow f_list_next under kg_file_spin (unp_gc's filehead walk). */
export function filehead_spin(): Ptr { return kern_globals() + KERN.kg_file_spin; }
export function filehead_first(): Ptr { return k32[kern_globals() + KERN.kg_filehead]; }

/* ---- descriptor table internals (fd_spin held) ---- */

function fdnode(fdp: Ptr, fd: number): Ptr { return k32[fdp + FILEDESC.fd_files] + fd * FDNODE.SIZE; }

function slot_free(n: Ptr): boolean {
  return k32[n + FDNODE.fdn_fp] === NULL && (k32[n + FDNODE.fdn_flags] & UF_RESERVED) === 0;
}

/* The descriptors p may have: min(RLIMIT_NOFILE, maxfilesperproc, NDFILE_MAX). */
function fd_limit(p: Ptr): number {
  return Math.min(Math.floor(p_rlimit_cur(p, RLIMIT_NOFILE)), kern_maxfilesperproc(), NDFILE_MAX);
}

/* Grow the table from NDFILE to NDFILE_MAX slots.  False when kmalloc256 is empty. */
function fdgrow_locked(fdp: Ptr): boolean {
  KASSERT(k32[fdp + FILEDESC.fd_nfiles] === NDFILE, 'fdgrow: table already grown');
  const nf = zalloc(Z_KMALLOC256);
  if (nf === NULL) return false;
  const of = k32[fdp + FILEDESC.fd_files];
  for (let i = 0; i < NDFILE * FDNODE.SIZE; i++) k32[nf + i] = k32[of + i];
  k32[fdp + FILEDESC.fd_files] = nf;
  k32[fdp + FILEDESC.fd_nfiles] = NDFILE_MAX;
  zfree(Z_KMALLOC64, of);
  return true;
}

const FDALLOC_EMFILE = -1;
const FDALLOC_ENOMEM = -2;

/* Reserve the lowest free slot >= want below lim: its fd, or FDALLOC_EMFILE / FDALLOC_ENOMEM. */
function fdalloc_locked(fdp: Ptr, want: number, lim: number): number {
  for (;;) {
    const nfiles = k32[fdp + FILEDESC.fd_nfiles];
    const top = Math.min(nfiles, lim);
    const freefile = k32[fdp + FILEDESC.fd_freefile];
    let fd = want > freefile ? want : freefile;
    while (fd < top && !slot_free(fdnode(fdp, fd))) fd++;
    if (fd < top) {
      k32[fdnode(fdp, fd) + FDNODE.fdn_flags] = UF_RESERVED;
      if (fd > k32[fdp + FILEDESC.fd_lastfile]) k32[fdp + FILEDESC.fd_lastfile] = fd;
      // The search began at fd_freefile: every slot below fd is taken now.
      if (want <= freefile) k32[fdp + FILEDESC.fd_freefile] = fd + 1;
      return fd;
    }
    if (nfiles >= lim) return FDALLOC_EMFILE;
    if (!fdgrow_locked(fdp)) return FDALLOC_ENOMEM;
  }
}

/* A slot became free (closed, or its reservation released): fix fd_freefile and fd_lastfile. */
function fdfixup_locked(fdp: Ptr, fd: number): void {
  if (fd < k32[fdp + FILEDESC.fd_freefile]) k32[fdp + FILEDESC.fd_freefile] = fd;
  if (fd === k32[fdp + FILEDESC.fd_lastfile]) {
    let last = fd - 1;
    while (last >= 0 && slot_free(fdnode(fdp, last))) last--;
    k32[fdp + FILEDESC.fd_lastfile] = last;
  }
}

/* Unpublish fd (which holds a file); returns the file, whose table reference the caller now owns. */
function funsetfd_locked(fdp: Ptr, fd: number): Ptr {
  const n = fdnode(fdp, fd);
  const fp = k32[n + FDNODE.fdn_fp];
  KASSERT(fp !== NULL, 'funsetfd: slot is empty');
  k32[n + FDNODE.fdn_fp] = NULL;
  k32[n + FDNODE.fdn_flags] = 0;
  fdfixup_locked(fdp, fd);
  return fp;
}

/* The open file at fd, or NULL for a bad, empty or reserved fd. */
export function fd_fp_locked(fdp: Ptr, fd: number): Ptr {
  if (!(fd >= 0 && fd < k32[fdp + FILEDESC.fd_nfiles])) return NULL;
  return k32[fdnode(fdp, fd) + FDNODE.fdn_fp];
}

/* ---- tables ---- */

function filedesc_alloc(nfiles: number): Ptr {
  KASSERT(k32[zone_desc(Z_KMALLOC16) + ZD.zd_item_words] >= FILEDESC.SIZE, 'fdinit: filedesc exceeds kmalloc16');
  KASSERT(k32[zone_desc(Z_KMALLOC64) + ZD.zd_item_words] >= NDFILE * FDNODE.SIZE, 'fdinit: NDFILE exceeds kmalloc64');
  KASSERT(k32[zone_desc(Z_KMALLOC256) + ZD.zd_item_words] >= NDFILE_MAX * FDNODE.SIZE, 'fdinit: NDFILE_MAX exceeds kmalloc256');
  const fdp = zalloc(Z_KMALLOC16);
  if (fdp === NULL) return NULL;
  const files = zalloc(nfiles === NDFILE ? Z_KMALLOC64 : Z_KMALLOC256);
  if (files === NULL) {
    zfree(Z_KMALLOC16, fdp);
    return NULL;
  }
  spin_init_class(fdp + FILEDESC.fd_spin, filedesc_class);
  k32[fdp + FILEDESC.fd_files] = files;
  k32[fdp + FILEDESC.fd_nfiles] = nfiles;
  k32[fdp + FILEDESC.fd_lastfile] = -1;
  k32[fdp + FILEDESC.fd_freefile] = 0;
  k32[fdp + FILEDESC.fd_cmask] = 0o022;
  return fdp;
}

function filedesc_release(fdp: Ptr): void {
  const nfiles = k32[fdp + FILEDESC.fd_nfiles];
  zfree(nfiles === NDFILE ? Z_KMALLOC64 : Z_KMALLOC256, k32[fdp + FILEDESC.fd_files]);
  zfree(Z_KMALLOC16, fdp);
}

/* fdinit: an empty descriptor table of NDFILE slots, or NULL when memory is short.  Never blocks. */
export function fdinit(): Ptr { return filedesc_alloc(NDFILE); }

/*
 * fdcopy: a copy of p's table for a child (fork): every published file gains a
 * reference, close-on-exec flags are kept, reservations are not inherited.  NULL when
 * memory is short.  Never blocks.
 */
export function fdcopy(p: Ptr): Ptr {
  const fdp = k32[p + PROC.p_fd];
  KASSERT(fdp !== NULL, 'fdcopy: no table');
  spin_lock(fdp + FILEDESC.fd_spin);
  const nfiles = k32[fdp + FILEDESC.fd_nfiles];
  const nfdp = filedesc_alloc(nfiles);
  if (nfdp === NULL) {
    spin_unlock(fdp + FILEDESC.fd_spin);
    return NULL;
  }
  let last = -1, free = -1;
  for (let fd = 0; fd < nfiles; fd++) {
    const n = fdnode(fdp, fd), nn = fdnode(nfdp, fd);
    const fp = k32[n + FDNODE.fdn_fp];
    if (fp !== NULL) {
      fhold(fp);
      k32[nn + FDNODE.fdn_fp] = fp;
      k32[nn + FDNODE.fdn_flags] = k32[n + FDNODE.fdn_flags] & UF_EXCLOSE;
      last = fd;
    } else if (free < 0) free = fd;
  }
  k32[nfdp + FILEDESC.fd_lastfile] = last;
  k32[nfdp + FILEDESC.fd_freefile] = free < 0 ? nfiles : free;
  k32[nfdp + FILEDESC.fd_cmask] = k32[fdp + FILEDESC.fd_cmask];
  spin_unlock(fdp + FILEDESC.fd_spin);
  return nfdp;
}

/*
 * fdfree: close every descriptor of an exiting process and free its table.  The files
 * live on while others hold them.  No thread of p may still use the table.  Blocks
 * (each close may run fo_close).
 */
export function* fdfree(p: Ptr): Blocking<void> {
  const fdp = k32[p + PROC.p_fd];
  if (fdp === NULL) return;
  for (let fd = 0; fd <= k32[fdp + FILEDESC.fd_lastfile]; fd++) {
    spin_lock(fdp + FILEDESC.fd_spin);
    const n = fdnode(fdp, fd);
    KASSERT((k32[n + FDNODE.fdn_flags] & UF_RESERVED) === 0, 'fdfree: a descriptor is still reserved');
    const fp = k32[n + FDNODE.fdn_fp] !== NULL ? funsetfd_locked(fdp, fd) : NULL;
    spin_unlock(fdp + FILEDESC.fd_spin);
    if (fp !== NULL) yield* closef(fp, p);
  }
  KASSERT(k32[fdp + FILEDESC.fd_lastfile] === -1, 'fdfree: descriptors opened during exit');
  k32[p + PROC.p_fd] = NULL;
  filedesc_release(fdp);
}

/*
 * fdcloseexec: what exec does to the table: every descriptor marked close-on-exec
 * (UF_EXCLOSE) is closed.  Blocks (each close may run fo_close).
 */
export function* fdcloseexec(p: Ptr): Blocking<void> {
  const fdp = k32[p + PROC.p_fd];
  for (let fd = 0; fd <= k32[fdp + FILEDESC.fd_lastfile]; fd++) {
    spin_lock(fdp + FILEDESC.fd_spin);
    const n = fdnode(fdp, fd);
    const fp = k32[n + FDNODE.fdn_fp] !== NULL && (k32[n + FDNODE.fdn_flags] & UF_EXCLOSE) !== 0
      ? funsetfd_locked(fdp, fd) : NULL;
    spin_unlock(fdp + FILEDESC.fd_spin);
    if (fp !== NULL) yield* closef(fp, p);
  }
}

/*
 * fdavail: can p allocate n more descriptors?  (unp_externalize asks before it installs
 * passed rights.)  Never blocks.
 */
export function fdavail(p: Ptr, n: number): boolean {
  const fdp = k32[p + PROC.p_fd];
  const lim = fd_limit(p);
  spin_lock(fdp + FILEDESC.fd_spin);
  const nfiles = k32[fdp + FILEDESC.fd_nfiles];
  let avail = lim > nfiles ? lim - nfiles : 0;
  const top = Math.min(nfiles, lim);
  for (let fd = k32[fdp + FILEDESC.fd_freefile]; fd < top && avail < n; fd++) if (slot_free(fdnode(fdp, fd))) avail++;
  spin_unlock(fdp + FILEDESC.fd_spin);
  return avail >= n;
}

/* ---- allocating, publishing and dropping files ---- */

/*
 * fdalloc: reserve the lowest free descriptor >= want in p's table and store it in the
 * kmem word res.  The slot stays invisible (holdfp sees EBADF) until fsetfd.  EMFILE at
 * min(RLIMIT_NOFILE, maxfilesperproc) or the table's capacity; ENOMEM when the table
 * cannot grow.  Never blocks.
 */
export function fdalloc(p: Ptr, want: number, res: Ptr): number {
  KASSERT(want >= 0, 'fdalloc: want < 0');
  const fdp = k32[p + PROC.p_fd];
  KASSERT(fdp !== NULL, 'fdalloc: no table');
  const lim = fd_limit(p);
  if (want >= lim) return EMFILE;
  spin_lock(fdp + FILEDESC.fd_spin);
  const fd = fdalloc_locked(fdp, want, lim);
  spin_unlock(fdp + FILEDESC.fd_spin);
  if (fd === FDALLOC_EMFILE) return EMFILE;
  if (fd === FDALLOC_ENOMEM) return ENOMEM;
  k32[res] = fd;
  return 0;
}

/* Unlink and free a file whose last reference is gone. */
function ffree(fp: Ptr): void {
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_file_spin);
  const next = k32[fp + FILE.f_list_next], prev = k32[fp + FILE.f_list_prev];
  if (prev === NULL) k32[kg + KERN.kg_filehead] = next;
  else k32[prev + FILE.f_list_next] = next;
  if (next !== NULL) k32[next + FILE.f_list_prev] = prev;
  spin_unlock(kg + KERN.kg_file_spin);
  if (k32[fp + FILE.f_cred] !== NULL) crfree(k32[fp + FILE.f_cred]);
  zfree(Z_FILE, fp);
  Atomics.sub(k32, kg + KERN.kg_nfiles, 1);
}

/*
 * falloc: a new file (f_count 1, badfileops, the caller's cred) and, for a process, the
 * lowest free descriptor reserved for it.  Stores the file in the kmem word res and the
 * fd in res + 1.  The caller sets f_type/f_flag/f_ops/f_data, then fsetfd()s (or, on
 * failure, fsetfd()s NULL), then fdrop()s its own reference.  ENFILE once maxfiles files
 * are open (a non-root caller, or no process, is held to maxfiles - maxfiles / 20), or the
 * file zone is empty; fdalloc's EMFILE / ENOMEM.  Never blocks.
 */
export function falloc(p: Ptr, res: Ptr): number {
  KASSERT(k32[zone_desc(Z_FILE) + ZD.zd_item_words] >= FILE.SIZE, 'falloc: struct file exceeds the file zone item');
  const kg = kern_globals();
  const maxfiles = kern_maxfiles();
  const root = p !== NULL && p_ruid_is_root(p);
  const nfiles = Atomics.add(k32, kg + KERN.kg_nfiles, 1) + 1;   // counted before the check: exact
  if (nfiles > maxfiles || (!root && nfiles > maxfiles - Math.floor(maxfiles / 20))) {
    Atomics.sub(k32, kg + KERN.kg_nfiles, 1);
    return ENFILE;
  }
  // The zone fault site (kern_fail.ts), except for a process's first descriptor: exec's
  // console, whose failure no program could see.
  const fp = p !== NULL && k32[k32[p + PROC.p_fd] + FILEDESC.fd_lastfile] >= 0 ? kfail_zalloc(Z_FILE) : zalloc(Z_FILE);
  if (fp === NULL) {
    Atomics.sub(k32, kg + KERN.kg_nfiles, 1);
    return ENFILE;
  }
  k32[fp + FILE.f_count] = 1;
  k32[fp + FILE.f_cred] = p !== NULL ? p_crhold(p) : NULL;
  spin_lock(kg + KERN.kg_file_spin);
  const head = k32[kg + KERN.kg_filehead];
  k32[fp + FILE.f_list_next] = head;
  if (head !== NULL) k32[head + FILE.f_list_prev] = fp;
  k32[kg + KERN.kg_filehead] = fp;
  spin_unlock(kg + KERN.kg_file_spin);
  if (p !== NULL) {
    const error = fdalloc(p, 0, res + 1);
    if (error !== 0) {
      ffree(fp);      // f_count 1 and badfileops: nothing to close
      return error;
    }
  }
  k32[res] = fp;
  ktrace_step('falloc', k32[res + 1], fp);
  return 0;
}

function p_ruid_is_root(p: Ptr): boolean {
  spin_lock(p + PROC.p_spin);
  const ruid = k32[k32[p + PROC.p_ucred] + UCRED.cr_ruid];
  spin_unlock(p + PROC.p_spin);
  return ruid === 0;
}

/*
 * fsetfd: publish fp in the slot fd that falloc/fdalloc reserved, with a reference of its
 * own; with fp NULL, release the reservation.  Never blocks.
 */
export function fsetfd(p: Ptr, fp: Ptr, fd: number): void {
  const fdp = k32[p + PROC.p_fd];
  spin_lock(fdp + FILEDESC.fd_spin);
  KASSERT(fd >= 0 && fd < k32[fdp + FILEDESC.fd_nfiles], 'fsetfd: fd out of range');
  const n = fdnode(fdp, fd);
  KASSERT((k32[n + FDNODE.fdn_flags] & UF_RESERVED) !== 0, 'fsetfd: fd not reserved');
  KASSERT(k32[n + FDNODE.fdn_fp] === NULL, 'fsetfd: slot already holds a file');
  k32[n + FDNODE.fdn_flags] = 0;
  if (fp !== NULL) {
    fhold(fp);
    k32[n + FDNODE.fdn_fp] = fp;
  } else {
    fdfixup_locked(fdp, fd);
  }
  spin_unlock(fdp + FILEDESC.fd_spin);
}

/* fhold: another reference to a file the caller can already reach safely.  Never blocks. */
export function fhold(fp: Ptr): void {
  const old = Atomics.add(k32, fp + FILE.f_count, 1);
  KASSERT(old > 0, 'fhold: file not referenced');
}

/*
 * fdrop: drop a reference.  The last one calls fo_close (unless the file never got its
 * operations) and frees the file; its errno is returned.  Blocks only in that fo_close:
 * otherwise it completes without a generator frame.
 */
export function fdrop(fp: Ptr): Blocking<number> {
  const old = Atomics.sub(k32, fp + FILE.f_count, 1);
  KASSERT(old > 0, 'fdrop: file reference count already 0');
  if (old > 1) return done_num(0);
  return fdrop_last(fp);
}

/* The last reference is gone (fdrop's f_count reached 0 elsewhere): close and free the file.  Blocks. */
export function* fdrop_last(fp: Ptr): Blocking<number> {
  KASSERT(k32[fp + FILE.f_msgcount] === 0, 'fdrop: last reference dropped with messages in flight');
  let error = 0;
  if (k32[fp + FILE.f_ops] !== 0) error = yield* fileops_of(fp).fo_close(fp);
  ffree(fp);
  return error;
}

/*
 * closef: the table (or a message in flight) lets go of fp: drop that reference.  p is
 * the process closing it (POSIX advisory locks would be released here; there are none).
 * Blocks in the last fdrop's fo_close.
 */
export function closef(fp: Ptr, p: Ptr): Blocking<number> {
  void p;
  if (fp === NULL) return done_num(0);
  return fdrop(fp);
}

/*
 * holdfp: a reference to the file at fd of the table fdp, or NULL (EBADF) for a bad,
 * empty or reserved fd, or one not open for `flag` (FREAD or FWRITE; -1: any).  Never blocks.
 */
export function holdfp(fdp: Ptr, fd: number, flag: number): Ptr {
  spin_lock(fdp + FILEDESC.fd_spin);
  let fp = fd_fp_locked(fdp, fd);
  if (fp !== NULL && flag >= 0 && (k32[fp + FILE.f_flag] & flag) === 0) fp = NULL;
  if (fp !== NULL) fhold(fp);
  spin_unlock(fdp + FILEDESC.fd_spin);
  return fp;
}

/*
 * holdsock: a reference to the socket file at fd, stored in the kmem word fpp.  EBADF
 * for a bad, empty or reserved fd, ENOTSOCK for a file that is not a socket (no
 * reference is taken; *fpp is 0).  Never blocks.
 */
export function holdsock(fdp: Ptr, fd: number, fpp: Ptr): number {
  spin_lock(fdp + FILEDESC.fd_spin);
  const fp = fd_fp_locked(fdp, fd);
  let error = 0;
  if (fp === NULL) error = EBADF;
  else if (k32[fp + FILE.f_type] !== DTYPE_SOCKET) error = ENOTSOCK;
  else fhold(fp);
  spin_unlock(fdp + FILEDESC.fd_spin);
  k32[fpp] = error === 0 ? fp : NULL;
  return error;
}

/* ---- system calls on descriptors ---- */

/*
 * kern_close: unpublish fd and drop the table's reference.  The file, and the socket
 * behind it, live on while anyone else holds a reference (a thread blocked in read or
 * accept on it is not woken).  EBADF for a bad, empty or reserved fd; otherwise the
 * errno of fo_close if this was the last reference.  Blocks only in that fo_close.
 */
export function kern_close(p: Ptr, fd: number): Blocking<number> {
  const fdp = k32[p + PROC.p_fd];
  spin_lock(fdp + FILEDESC.fd_spin);
  if (fd_fp_locked(fdp, fd) === NULL) {
    spin_unlock(fdp + FILEDESC.fd_spin);
    return done_num(EBADF);
  }
  const fp = funsetfd_locked(fdp, fd);
  spin_unlock(fdp + FILEDESC.fd_spin);
  return closef(fp, p);
}

/*
 * kern_fstat: the file at fd described in the kmem struct stat sb (on an even word) by
 * its fo_stat, with the caller's credentials.  EBADF for a bad, empty or reserved fd.
 * Blocks (a socket's pru_sense).
 */
export function* kern_fstat(p: Ptr, fd: number, sb: Ptr): Blocking<number> {
  const fp = holdfp(k32[p + PROC.p_fd], fd, -1);
  if (fp === NULL) return EBADF;
  const error = yield* fileops_of(fp).fo_stat(fp, sb, k32[p + PROC.p_ucred]);
  yield* fdrop(fp);
  return error;
}

export const DUP_FIXED = 0x1;      // dup2: exactly `new`
export const DUP_VARIABLE = 0x2;   // dup, F_DUPFD: the lowest free fd >= `new`

/*
 * kern_dup: make another descriptor for the file at old, with close-on-exec clear, and
 * store it in the kmem word res (if res is not 0).  DUP_FIXED (dup2): new itself; old ==
 * new is a no-op once old is known open; a file open at new is closed after the new one
 * is installed (its close errors are ignored, as BSD's dup2 does).  DUP_VARIABLE: the
 * lowest free fd >= new (EMFILE when none).  In DragonFly 2008's order: EINVAL for a new
 * below 0, above RLIMIT_NOFILE or at maxfilesperproc (here also at NDFILE_MAX, the
 * table's last slot), before old is looked at; then EBADF for a bad old; then EMFILE
 * for a dup2 onto the limit itself (fdalloc's want >= lim), and EBADF onto a slot a
 * falloc or accept has reserved.  Blocks only when dup2 closes the file it displaced.
 */
export function* kern_dup(type: number, old: number, nfd: number, p: Ptr, res: Ptr): Blocking<number> {
  KASSERT(type === DUP_FIXED || type === DUP_VARIABLE, 'kern_dup: bad type');
  const fdp = k32[p + PROC.p_fd];
  if (!(nfd >= 0 && nfd <= p_rlimit_cur(p, RLIMIT_NOFILE) && nfd < Math.min(kern_maxfilesperproc(), NDFILE_MAX))) {
    return EINVAL;
  }
  const lim = fd_limit(p);
  spin_lock(fdp + FILEDESC.fd_spin);
  const fp = fd_fp_locked(fdp, old);
  if (fp === NULL) {
    spin_unlock(fdp + FILEDESC.fd_spin);
    return EBADF;
  }
  if (type === DUP_FIXED && old === nfd) {
    spin_unlock(fdp + FILEDESC.fd_spin);
    if (res !== NULL) k32[res] = nfd;
    return 0;
  }
  let delfp = NULL;
  let fd = nfd;
  if (type === DUP_FIXED) {
    if (nfd >= lim) {
      spin_unlock(fdp + FILEDESC.fd_spin);
      return EMFILE;
    }
    if (nfd >= k32[fdp + FILEDESC.fd_nfiles] && !fdgrow_locked(fdp)) {
      spin_unlock(fdp + FILEDESC.fd_spin);
      return ENOMEM;
    }
    const n = fdnode(fdp, nfd);
    if ((k32[n + FDNODE.fdn_flags] & UF_RESERVED) !== 0) {
      spin_unlock(fdp + FILEDESC.fd_spin);   // a falloc or accept in progress owns it
      return EBADF;
    }
    delfp = k32[n + FDNODE.fdn_fp];
    if (nfd > k32[fdp + FILEDESC.fd_lastfile]) k32[fdp + FILEDESC.fd_lastfile] = nfd;
  } else {
    fd = fdalloc_locked(fdp, nfd, lim);
    if (fd < 0) {
      spin_unlock(fdp + FILEDESC.fd_spin);
      return fd === FDALLOC_EMFILE ? EMFILE : ENOMEM;
    }
  }
  fhold(fp);
  const n = fdnode(fdp, fd);
  k32[n + FDNODE.fdn_fp] = fp;
  k32[n + FDNODE.fdn_flags] = 0;
  spin_unlock(fdp + FILEDESC.fd_spin);
  if (res !== NULL) k32[res] = fd;
  if (delfp !== NULL) yield* closef(delfp, p);
  return 0;
}

/* dup: the lowest free descriptor for old's file, into the kmem word res.  Never blocks. */
export function dup(p: Ptr, old: number, res: Ptr): Blocking<number> { return kern_dup(DUP_VARIABLE, old, 0, p, res); }

/* dup2: old's file at nfd too, closing what nfd held.  Blocks in that close. */
export function dup2(p: Ptr, old: number, nfd: number, res: Ptr): Blocking<number> {
  return kern_dup(DUP_FIXED, old, nfd, p, res);
}

/*
 * kern_closefrom: close every descriptor >= fd.  A negative fd is EINVAL (SEED's
 * kern_closefrom).  Reserved slots are skipped.  Stops with EINTR if a close is
 * interrupted.  Blocks in the closes.
 */
export function* kern_closefrom(p: Ptr, fd: number): Blocking<number> {
  const fdp = k32[p + PROC.p_fd];
  if (fd < 0) return EINVAL;
  spin_lock(fdp + FILEDESC.fd_spin);
  while (fd <= k32[fdp + FILEDESC.fd_lastfile]) {
    if (k32[fdnode(fdp, fd) + FDNODE.fdn_fp] !== NULL) {
      spin_unlock(fdp + FILEDESC.fd_spin);
      // A race with another close of the same fd is fine: EBADF is ignored.
      if ((yield* kern_close(p, fd)) === EINTR) return EINTR;
      spin_lock(fdp + FILEDESC.fd_spin);
    }
    fd++;
  }
  spin_unlock(fdp + FILEDESC.fd_spin);
  return 0;
}

/*
 * kern_fcntl: F_DUPFD (kern_dup DUP_VARIABLE from arg), F_GETFD/F_SETFD (FD_CLOEXEC),
 * F_GETFL (the open flags, O_* form), F_SETFL (only O_NONBLOCK and O_ASYNC change; each
 * is pushed down with FIONBIO / FIOASYNC, and a refused FIOASYNC undoes FNONBLOCK as
 * DragonFly does).  A result goes in the kmem word res.  EBADF for a bad fd (checked
 * before the command), EINVAL for an unknown command, ENOMEM when no ioctl argument word
 * can be had.  Blocks in the ioctls and in nothing else.
 */
export function* kern_fcntl(p: Ptr, fd: number, cmd: number, arg: number, res: Ptr): Blocking<number> {
  const fdp = k32[p + PROC.p_fd];
  const fp = holdfp(fdp, fd, -1);
  if (fp === NULL) return EBADF;
  let error = 0;
  switch (cmd) {
    case F_DUPFD:
      error = yield* kern_dup(DUP_VARIABLE, fd, arg, p, res);
      break;
    case F_GETFD:
    case F_SETFD:
      spin_lock(fdp + FILEDESC.fd_spin);
      if (fd_fp_locked(fdp, fd) !== fp) error = EBADF;   // closed (or replaced) meanwhile
      else if (cmd === F_GETFD) k32[res] = (k32[fdnode(fdp, fd) + FDNODE.fdn_flags] & UF_EXCLOSE) !== 0 ? FD_CLOEXEC : 0;
      else if ((arg & FD_CLOEXEC) !== 0) k32[fdnode(fdp, fd) + FDNODE.fdn_flags] |= UF_EXCLOSE;
      else k32[fdnode(fdp, fd) + FDNODE.fdn_flags] &= ~UF_EXCLOSE;
      spin_unlock(fdp + FILEDESC.fd_spin);
      break;
    case F_GETFL:
      k32[res] = OFLAGS(Atomics.load(k32, fp + FILE.f_flag));
      break;
    case F_SETFL:
      error = yield* fcntl_setfl(fp, arg);
      break;
    case F_GETOWN:
    case F_SETOWN: {
      // The file's SIGIO owner, through its ioctl (an int argument in a kmem word, as in C).
      const tmp = zalloc(Z_KMALLOC16);
      if (tmp === NULL) { error = ENOMEM; break; }
      k32[tmp] = arg;
      error = yield* fileops_of(fp).fo_ioctl(fp, cmd === F_GETOWN ? FIOGETOWN : FIOSETOWN, tmp, k32[fp + FILE.f_cred]);
      if (error === 0 && cmd === F_GETOWN) k32[res] = k32[tmp];
      zfree(Z_KMALLOC16, tmp);
      break;
    }
    default:
      error = EINVAL;
  }
  yield* fdrop(fp);
  return error;
}

/* Replace the FCNTLFLAGS bits of f_flag, by CAS (unp_gc changes FMARK/FDEFER concurrently). */
function f_flag_set(fp: Ptr, bits: number, mask: number): void {
  for (;;) {
    const o = Atomics.load(k32, fp + FILE.f_flag);
    if (Atomics.compareExchange(k32, fp + FILE.f_flag, o, (o & ~mask) | (bits & mask)) === o) return;
  }
}

function* fcntl_setfl(fp: Ptr, arg: number): Blocking<number> {
  const tmp = zalloc(Z_KMALLOC16);   // the ioctls' int argument, a kmem word as in C
  if (tmp === NULL) return ENOMEM;
  f_flag_set(fp, FFLAGS(arg & ~O_ACCMODE), FCNTLFLAGS);
  const ops = fileops_of(fp), cred = k32[fp + FILE.f_cred];
  k32[tmp] = (Atomics.load(k32, fp + FILE.f_flag) & FNONBLOCK) !== 0 ? 1 : 0;
  let error = yield* ops.fo_ioctl(fp, FIONBIO, tmp, cred);
  if (error === 0) {
    k32[tmp] = (Atomics.load(k32, fp + FILE.f_flag) & FASYNC) !== 0 ? 1 : 0;
    error = yield* ops.fo_ioctl(fp, FIOASYNC, tmp, cred);
    if (error !== 0) {
      f_flag_set(fp, 0, FNONBLOCK);
      k32[tmp] = 0;
      yield* ops.fo_ioctl(fp, FIONBIO, tmp, cred);
    }
  }
  zfree(Z_KMALLOC16, tmp);
  return error;
}
