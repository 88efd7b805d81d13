/*
 * sys/file.ts: struct file, struct filedesc and the file operations vector.
 * Mirrors DragonFly 2008 sys/sys/file.h, sys/filedesc.h, sys/fcntl.h and sys/filio.h.
 * Differs where kmem forces it: f_ops is not a pointer but the kstr id of a registered
 * fileops' name (a function table cannot live in shared memory; every CPU's isolate maps
 * the id back to its own copy, as kfunc.ts does for functions); the fd table's nodes
 * carry the DragonFly `reserved` byte as a flag bit; and an fd table grows once, from
 * NDFILE to NDFILE_MAX slots, the sizes of two kmalloc zones.
 */

import { layout, flag_names, type Ptr } from '../../shared/struct.js';
import type { Blocking } from '../../shared/effect.js';
import type { Uio } from './uio.js';

/* ---- struct file ---- */

export const FILE = layout('file', {
  f_count: 1,        // references: fd slots, holdfp callers, in-flight SCM_RIGHTS (Atomics)
  f_msgcount: 1,     // references held by messages in flight (SCM_RIGHTS); unp_gc's
  f_flag: 1,         // F* flags below; FNONBLOCK/FASYNC change by CAS (fcntl), FMARK/FDEFER by unp_gc
  f_type: 1,         // DTYPE_*
  f_ops: 1,          // fileops id (kstr id of its name); 0 is badfileops
  f_data: 1,         // the object: a socket for DTYPE_SOCKET
  f_cred: 1,         // credentials of the opener, referenced
  f_list_next: 1,    // open-file list (g_kern kg_filehead), guarded by kg_file_spin
  f_list_prev: 1,    // previous file, or 0 at the head
  f_gcnext: 1,       // the unp_gc daemon's queue of files to close (uipc_usrreq_rights.ts)
});

/* f_type (sys/file.h). */
export const DTYPE_VNODE = 1;        // a file
export const DTYPE_SOCKET = 2;       // communications endpoint
export const DTYPE_PIPE = 3;
export const DTYPE_FIFO = 4;
export const DTYPE_KQUEUE = 5;
export const DTYPE_CONSOLE = 16;     // here: the simulation's console (DragonFly: a vnode of a tty)

/* open(2) flags and their kernel f_flag forms (sys/fcntl.h): FFLAGS(o) = o + 1 for the access mode. */
export const O_RDONLY = 0x0000;
export const O_WRONLY = 0x0001;
export const O_RDWR = 0x0002;
export const O_ACCMODE = 0x0003;
export const O_NONBLOCK = 0x0004;
export const O_APPEND = 0x0008;
export const O_ASYNC = 0x0040;
export const FREAD = 0x0001;
export const FWRITE = 0x0002;
export const FNONBLOCK = O_NONBLOCK;
export const FAPPEND = O_APPEND;
export const FASYNC = O_ASYNC;
export const FMARK = 0x1000;         // unp_gc: reachable
export const FDEFER = 0x2000;        // unp_gc: to be scanned
/* Bits fcntl(F_SETFL) may change.  Here: no vnodes, so FAPPEND/FFSYNC/O_DIRECT are left out. */
export const FCNTLFLAGS = FNONBLOCK | FASYNC;

export function FFLAGS(oflags: number): number { return oflags + 1; }
export function OFLAGS(fflags: number): number { return fflags - 1; }

export const F_NAMES = flag_names({ FREAD, FWRITE, FNONBLOCK, FAPPEND, FASYNC, FMARK, FDEFER });

/* fcntl(2) commands and flags (sys/fcntl.h). */
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_GETOWN = 5;           // the SIGIO owner: fo_ioctl(FIOGETOWN)
export const F_SETOWN = 6;           // set it: fo_ioctl(FIOSETOWN)
export const FD_CLOEXEC = 1;

/* ioctls a file's flags are pushed down with (sys/filio.h: _IOW('f', 126 / 125, int)). */
export const FIONBIO = 0x8004667e;
export const FIOASYNC = 0x8004667d;
export const FIONREAD = 0x4004667f;   // _IOR('f', 127, int): bytes readable
export const FIOSETOWN = 0x8004667c;  // _IOW('f', 124, int): SIGIO owner (pid > 0, -pgid < 0)
export const FIOGETOWN = 0x4004667b;  // _IOR('f', 123, int)

/* ---- struct filedesc: a process's descriptor table ---- */

export const NDFILE = 32;            // slots of a new table (a kmalloc64 item of FDNODE pairs)
export const NDFILE_MAX = 128;       // slots after the one growth (a kmalloc256 item): EMFILE beyond

export const FILEDESC = layout('filedesc', {
  fd_spin: 2,        // spinlock guarding everything below and the slots
  fd_files: 1,       // array of fd_nfiles FDNODEs
  fd_nfiles: 1,      // slots allocated (capacity): NDFILE or NDFILE_MAX
  fd_lastfile: 1,    // highest slot in use or reserved; -1 when none
  fd_freefile: 1,    // no slot below this is free (the search for the lowest free fd starts here)
  fd_cmask: 1,       // umask, for completeness
});

/* struct fdnode: one slot. */
export const FDNODE = layout('fdnode', {
  fdn_fp: 1,         // the file, or 0 (a reserved slot is 0 until fsetfd)
  fdn_flags: 1,      // UF_* below
});
export const UF_EXCLOSE = 0x01;      // close on exec (FD_CLOEXEC)
export const UF_RESERVED = 0x100;    // here: DragonFly's fdnode.reserved (falloc/fdalloc reserved it)

/* ---- struct fileops ---- */

/*
 * The operations vector of a file type.  Every operation may block (a socket's close
 * may linger; every pru request may travel to a protocol thread), so each is a generator
 * called with yield*.  Each returns an errno, except fo_poll which returns the ready
 * events.  The caller holds a reference to fp for the call's duration.  Arguments that
 * are structures (ioctl data, struct stat) are kmem pointers, as in C; struct uio is the
 * struct uio (sys/uio.ts), which names the caller's Uint8Array.
 */
export interface Fileops {
  readonly fo_name: string;          // registration name; its kstr id goes in f_ops
  fo_id: number;                     // that id on the attached machine (set by fileops_register)
  fo_read(fp: Ptr, uio: Uio, cred: Ptr, flags: number): Blocking<number>;
  fo_write(fp: Ptr, uio: Uio, cred: Ptr, flags: number): Blocking<number>;
  fo_ioctl(fp: Ptr, com: number, data: Ptr, cred: Ptr): Blocking<number>;
  fo_poll(fp: Ptr, events: number, cred: Ptr): Blocking<number>;
  fo_stat(fp: Ptr, sb: Ptr, cred: Ptr): Blocking<number>;
  fo_close(fp: Ptr): Blocking<number>;
  fo_shutdown(fp: Ptr, how: number): Blocking<number>;
  /*
   * kqueue: attach the knote kn (its kn_filter set) to the object: choose its filterops
   * and link it on the object's klist; 0, or non-zero for a filter the object does not
   * have (DragonFly returns 1, which kevent reports as an errno).  Plain, called with
   * knote_spin held (kern_event.ts).  A file type without it behaves as badfileops: EBADF.
   * Its fo_close must drop the knotes it attached (knote_remove) before the object goes.
   */
  fo_kqfilter?(fp: Ptr, kn: Ptr): number;
}
