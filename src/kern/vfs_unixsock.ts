/*
 * vfs_unixsock.ts: the file namespace AF_LOCAL sockets bind into.  DragonFly binds a unix
 * socket by creating a VSOCK vnode (VOP_NCREATE) whose v_socket names the socket, and a
 * connect finds it with nlookup, checks VOP_ACCESS(VWRITE) and reads v_socket.  There is
 * no file system here, so this file is the smallest one that gives those calls their BSD
 * answers: a tree of directories and socket nodes in kmem, with modes and owners, and the
 * path walk (nlookup/namei), kern_mkdir, kern_rmdir, kern_unlink, kern_chmod and
 * kern_stat on it.
 *
 * Layout: a node is a kmalloc64 item (VN below); a directory lists its entries through
 * vn_child/vn_next.  The root directory is not a node: it is NS_ROOT (-1), drwxrwxrwt owned
 * by root (like /tmp), with its entry list in the namespace words (NSG) in kmem's g_unp
 * block (sys/kglobals.ts).  Every word starts at 0 and an
 * all-zero block is an empty namespace, so nothing is set up at boot but the lock's class.
 *
 * Locking: one spinlock (ns_spin) guards the whole tree, every node field and vn_socket.
 * Every function here is plain (never blocks) and holds it for its whole walk, so the
 * namespace is the same from every CPU and in every dispatch model.
 *
 * A node's references (vn_refs): one for its directory entry, one for a socket bound to it
 * (unp_vnode).  Unlinking a bound socket's node drops the entry; the socket stays bound and
 * the node lives on, nameless, until the socket detaches (as an unlinked vnode does).
 * Closing a socket clears vn_socket but leaves the entry, so later connects get
 * ECONNREFUSED until someone unlinks the path, as BSD leaves the file.
 *
 * Paths: a byte address in kmem and a byte count; the path ends at the count or at the
 * first NUL.  All paths start at the root (there is no current directory).  "." and ".."
 * work; repeated and trailing slashes are ignored.  Errors, BSD's: EINVAL (empty path: the
 * brief's choice, where namei says ENOENT), ENAMETOOLONG (path over MAXPATHLEN, component
 * over NS_NAME_MAX), ENOENT, ENOTDIR, EACCES (search permission on every directory walked,
 * write permission on the directory changed or on a socket connected to), EEXIST (mkdir),
 * EADDRINUSE (bind to an existing path), EPERM (unlink of a directory, chmod by another
 * user, the sticky bit), ENOTEMPTY, EBUSY (the root), ENOTSOCK, ENOSPC (no node memory).
 * Credentials are the calling thread's process's (td_proc's p_ucred); a thread without a
 * process acts as root, as a kernel thread does.
 */

import { k32, ku8, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL, layout, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import {
  EACCES, EADDRINUSE, EBUSY, EEXIST, EINVAL, ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ENOTSOCK, EPERM,
} from '../../shared/errno.js';
import { SPINLOCK_WORDS, SL_CLASS, spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { zalloc, zfree, Z_KMALLOC64, Z_KMALLOC256 } from '../../shared/zone.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { TD } from '../lwkt/thread.js';
import { TOK } from '../lwkt/lwkt_token.js';
import { PROC, UCRED } from '../sys/proc.js';
import { FILEDESC } from '../sys/file.js';
import { STAT, S_IFMT, S_IFDIR, S_IFSOCK } from '../sys/stat.js';
import { AF_LOCAL } from '../sys/socket.js';
import { SOCKADDR_BYTES } from '../sys/unpcb.js';
import { KG } from '../sys/kglobals.js';

/* enum vtype (sys/vnode.h): the two kinds of node this namespace has. */
export const VNON = 0;
export const VDIR = 2;
export const VSOCK = 6;

/* Permission bits (sys/stat.h) and access modes (VOP_ACCESS's VREAD/VWRITE/VEXEC). */
export const S_ISVTX = 0o1000;        // sticky: only an entry's owner (or the directory's) may remove it
export const ACCESSPERMS = 0o777;
export const ALLPERMS = 0o7777;
export const VREAD = 0o400;
export const VWRITE = 0o200;
export const VEXEC = 0o100;

export const MAXPATHLEN = 1024;       // longest path, bytes (sys/syslimits.h PATH_MAX)
export const NS_NAME_MAX = 255;       // longest component, bytes (sys/syslimits.h NAME_MAX)
const ROOT_MODE = S_IFDIR | S_ISVTX | ACCESSPERMS;

/* A node: a directory or a socket file.  Every field guarded by ns_spin. */
export const VN = layout('unixsock_vnode', {
  vn_type: 1,        // VDIR or VSOCK
  vn_mode: 1,        // S_IFDIR or S_IFSOCK, and the permission bits
  vn_uid: 1,         // owner
  vn_gid: 1,         // group: the directory's it was made in
  vn_refs: 1,        // directory entry (1) + the bound socket (1)
  vn_parent: 1,      // the directory it is an entry of (NS_ROOT for the root's), or NULL once unlinked
  vn_child: 1,       // VDIR: first entry
  vn_next: 1,        // next entry of the same directory
  vn_socket: 1,      // VSOCK: the socket bound to it (C's v_socket), NULL once that socket closed
  vn_namelen: 1,     // bytes of vn_name
  vn_name: 1,        // the last component of its path: vn_namelen bytes from here to the item's end
});

/*
 * A node is one kmalloc item, its name inline: kmalloc64 for names up to 216 bytes,
 * kmalloc256 for the longer ones NAME_MAX allows (a 253-byte socket path is one
 * component).  The name's length never changes, so it tells the zone at free time.
 */
function vn_zone(namelen: number): number {
  return VN.vn_name + ((namelen + 3) >> 2) <= 64 ? Z_KMALLOC64 : Z_KMALLOC256;
}
if (VN.vn_name + ((NS_NAME_MAX + 3) >> 2) > 256) throw new Error('vfs_unixsock: a node does not fit a kmalloc256 item');

/* The namespace's kernel-wide words: kmem's g_unp block (sys/kglobals.ts). */
export const NSG = layout('unixsock_globals', {
  ns_spin: SPINLOCK_WORDS, // guards the tree and every node
  ns_root: 1,        // the root directory's first entry
  ns_ino: 1,         // last fake inode number handed to an unbound socket (uipc_sense; Atomics)
  ns_noname: SOCKADDR_BYTES / 4, // sun_noname: {sa_len 16, AF_LOCAL}, the address of an unbound sender
  ns_unp_token: TOK.SIZE, // unp_token: serializes AF_LOCAL's requests in the netisr model (uipc_usrreq.ts)
  // Descriptor passing (uipc_usrreq_rights.ts):
  ns_unp_spin: SPINLOCK_WORDS, // unp_spin: f_msgcount, unp_rights and the unp_gc daemon's work
  ns_unp_rights: 1,  // unp_rights: file references in flight in SCM_RIGHTS messages
  ns_gc_state: 1,    // the unp_gc daemon: UG_IDLE asleep, UG_BUSY has work (counted as a live thread)
  ns_gc_want: 1,     // an unp_gc pass was asked for (unp_detach with rights in flight)
  ns_gc_closeq: 1,   // files whose last reference went where closing cannot sleep (f_gcnext chain)
  ns_gc_runs: 1,     // unp_gc passes run (net.local.gcruns)
  ns_gc_td: 1,       // the daemon's thread
  // The default buffer sizes (uipc_usrreq.ts unp_attach; net.local.stream.* and net.local.dgram.*):
  ns_st_sendspace: 1, // unpst_sendspace
  ns_st_recvspace: 1, // unpst_recvspace
  ns_dg_sendspace: 1, // unpdg_sendspace: the largest datagram ("maxdgram")
  ns_dg_recvspace: 1, // unpdg_recvspace
});
if (NSG.SIZE > 32) throw new Error('vfs_unixsock: the namespace words do not fit in g_unp');

export const NS_ROOT: Ptr = -1;          // the root directory (not a node)

export function unixsock_globals(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_unp; }

/* unp_token: AF_LOCAL's serializing token (uipc_usrreq.ts pr_token). */
export function unp_token(): Ptr { return unixsock_globals() + NSG.ns_unp_token; }

/* sun_noname's byte address (a constant sockaddr, written at attach). */
export function sun_noname(): number { return (unixsock_globals() + NSG.ns_noname) * 4; }

kfunc_on_attach(() => {
  const g = unixsock_globals();
  Atomics.compareExchange(k32, g + NSG.ns_spin + SL_CLASS, 0, lockclass_register('unixsock_ns'));
  Atomics.compareExchange(k32, g + NSG.ns_unp_token + TOK.t_class, 0, lockclass_register('unp_token'));
  Atomics.compareExchange(k32, g + NSG.ns_unp_spin + SL_CLASS, 0, lockclass_register('unp_spin'));
  const sa = (g + NSG.ns_noname) * 4;
  ku8[sa] = SOCKADDR_BYTES;
  ku8[sa + 1] = AF_LOCAL;
});

/* ---- credentials ---- */

/* The caller's ids and umask, read by cred_of and used before anything else runs. */
let cr_uid = 0;
let cr_gid = 0;
let cr_cmask = 0;

/* Read td's process's effective uid, gid and umask (a thread without one: root, umask 0). */
function cred_of(td: Ptr): void {
  const p = td === NULL ? NULL : k32[td + TD.td_proc];
  if (p === NULL) {
    cr_uid = cr_gid = cr_cmask = 0;
    return;
  }
  spin_lock(p + PROC.p_spin);
  const cr = k32[p + PROC.p_ucred];
  cr_uid = k32[cr + UCRED.cr_uid];
  cr_gid = k32[cr + UCRED.cr_gid];
  spin_unlock(p + PROC.p_spin);
  const fdp = k32[p + PROC.p_fd];
  cr_cmask = fdp === NULL ? 0o022 : k32[fdp + FILEDESC.fd_cmask];
}

/* ---- nodes (ns_spin held) ---- */

function vn_mode(vp: Ptr): number { return vp === NS_ROOT ? ROOT_MODE : k32[vp + VN.vn_mode]; }
function vn_uid(vp: Ptr): number { return vp === NS_ROOT ? 0 : k32[vp + VN.vn_uid]; }
function vn_gid(vp: Ptr): number { return vp === NS_ROOT ? 0 : k32[vp + VN.vn_gid]; }
function vn_type(vp: Ptr): number { return vp === NS_ROOT ? VDIR : k32[vp + VN.vn_type]; }
/* The kmem word holding directory dvp's first entry. */
function vn_entries(dvp: Ptr): Ptr { return dvp === NS_ROOT ? unixsock_globals() + NSG.ns_root : dvp + VN.vn_child; }

/*
 * VOP_ACCESS: may the caller (cr_uid, cr_gid) use vp for mode (VREAD, VWRITE or VEXEC)?
 * Root may do anything; otherwise the owner's, the group's or the others' bits decide.
 */
function vn_access(vp: Ptr, mode: number): boolean {
  if (cr_uid === 0) return true;
  const m = vn_mode(vp);
  if (cr_uid === vn_uid(vp)) return (m & mode) === mode;
  if (cr_gid === vn_gid(vp)) return (m & (mode >> 3)) === mode >> 3;
  return (m & (mode >> 6)) === mode >> 6;
}

/* The entry of directory dvp named by len bytes at name, or NULL. */
function vn_dirlookup(dvp: Ptr, name: number, len: number): Ptr {
  for (let vp = k32[vn_entries(dvp)]; vp !== NULL; vp = k32[vp + VN.vn_next]) {
    if (k32[vp + VN.vn_namelen] !== len) continue;
    const nm = (vp + VN.vn_name) * 4;
    let i = 0;
    while (i < len && ku8[nm + i] === ku8[name + i]) i++;
    if (i === len) return vp;
  }
  return NULL;
}

/* Make an entry in directory dvp: a node of type with mode, owned by the caller.  NULL: no memory. */
function vn_create(dvp: Ptr, name: number, len: number, type: number, mode: number): Ptr {
  KASSERT(len > 0 && len <= NS_NAME_MAX, 'vn_create: bad name length');
  const vp = zalloc(vn_zone(len));
  if (vp === NULL) return NULL;
  k32[vp + VN.vn_type] = type;
  k32[vp + VN.vn_mode] = mode;
  k32[vp + VN.vn_uid] = cr_uid;
  k32[vp + VN.vn_gid] = vn_gid(dvp);
  k32[vp + VN.vn_refs] = 1;
  k32[vp + VN.vn_parent] = dvp;
  k32[vp + VN.vn_namelen] = len;
  ku8.copyWithin((vp + VN.vn_name) * 4, name, name + len);
  const head = vn_entries(dvp);
  k32[vp + VN.vn_next] = k32[head];
  k32[head] = vp;
  return vp;
}

/* Take vp out of its directory and drop the entry's reference. */
function vn_remove(vp: Ptr): void {
  const dvp = k32[vp + VN.vn_parent];
  KASSERT(dvp !== NULL, 'vn_remove: node already unlinked');
  let w = vn_entries(dvp);
  while (k32[w] !== vp) {
    KASSERT(k32[w] !== NULL, 'vn_remove: node not in its directory');
    w = k32[w] + VN.vn_next;
  }
  k32[w] = k32[vp + VN.vn_next];
  k32[vp + VN.vn_next] = NULL;
  k32[vp + VN.vn_parent] = NULL;
  vrele_locked(vp);
}

function vrele_locked(vp: Ptr): void {
  const refs = --k32[vp + VN.vn_refs];
  KASSERT(refs >= 0, 'vrele: negative references');
  if (refs > 0) return;
  KASSERT(k32[vp + VN.vn_child] === NULL, 'vrele: freeing a directory with entries');
  KASSERT(k32[vp + VN.vn_socket] === NULL, 'vrele: freeing a node with a socket');
  zfree(vn_zone(k32[vp + VN.vn_namelen]), vp);
}

/* ---- nlookup ---- */

/* namei's results, read by its caller at once (ns_spin still held). */
let ni_dvp: Ptr = NULL;   // the directory the last component is (or would be) an entry of
let ni_vp: Ptr = NULL;    // what the path names: a node, NS_ROOT, or NULL when it does not exist
let ni_name = 0;          // byte address of the last component
let ni_namelen = 0;       // its length; 0 when the path names the root itself

function is_dot(p: number, len: number): boolean { return len === 1 && ku8[p] === 0x2e; }
function is_dotdot(p: number, len: number): boolean { return len === 2 && ku8[p] === 0x2e && ku8[p + 1] === 0x2e; }

/*
 * namei: walk path (len bytes at most, or to a NUL) from the root.  Every directory
 * walked through, the last one included, needs search permission.  Returns 0 with
 * ni_dvp/ni_vp/ni_name set, or EINVAL, ENAMETOOLONG, ENOENT (a missing directory on the
 * way), ENOTDIR, EACCES.  Caller holds ns_spin and has called cred_of.
 */
function namei(path: number, len: number): number {
  let end = path;
  const lim = path + len;
  while (end < lim && ku8[end] !== 0) end++;
  if (end === path) return EINVAL;
  if (end - path > MAXPATHLEN) return ENAMETOOLONG;
  let dvp = NS_ROOT;
  let p = path;
  while (p < end && ku8[p] === 0x2f) p++;
  if (p === end) {                     // "/": the root itself
    ni_dvp = NS_ROOT; ni_vp = NS_ROOT; ni_name = p; ni_namelen = 0;
    return 0;
  }
  for (let depth = 0; depth <= MAXPATHLEN; depth++) {
    let q = p;
    while (q < end && ku8[q] !== 0x2f) q++;
    const n = q - p;
    if (n > NS_NAME_MAX) return ENAMETOOLONG;
    if (!vn_access(dvp, VEXEC)) return EACCES;
    let vp: Ptr;
    if (is_dot(p, n)) vp = dvp;
    else if (is_dotdot(p, n)) vp = dvp === NS_ROOT ? NS_ROOT : k32[dvp + VN.vn_parent];
    else vp = vn_dirlookup(dvp, p, n);
    let r = q;
    while (r < end && ku8[r] === 0x2f) r++;
    if (r === end) {
      ni_dvp = dvp; ni_vp = vp; ni_name = p; ni_namelen = n;
      return 0;
    }
    if (vp === NULL) return ENOENT;
    if (vn_type(vp) !== VDIR) return ENOTDIR;
    dvp = vp;
    p = r;
  }
  return ENAMETOOLONG;
}

/*
 * A create's checks after namei: the name must be free (else `exists`), must be a real
 * component (not "." or ".."), and the directory writable.
 */
function create_check(exists: number): number {
  if (ni_vp !== NULL || ni_namelen === 0) return exists;
  if (!vn_access(ni_dvp, VWRITE)) return EACCES;
  return 0;
}

/* A remove's checks after namei: write permission on the directory, and the sticky rule. */
function remove_check(): number {
  if (!vn_access(ni_dvp, VWRITE)) return EACCES;
  if ((vn_mode(ni_dvp) & S_ISVTX) !== 0 && cr_uid !== 0 && cr_uid !== vn_uid(ni_vp) && cr_uid !== vn_uid(ni_dvp)) {
    return EPERM;
  }
  return 0;
}

function ns_lock(): Ptr {
  const g = unixsock_globals();
  spin_lock(g + NSG.ns_spin);
  return g;
}

function ns_unlock(g: Ptr): void { spin_unlock(g + NSG.ns_spin); }

/* ---- what uipc_usrreq.ts asks of the namespace ---- */

/*
 * vn_sock_create (unp_bind's nlookup + VOP_NCREATE): make a socket file at path, mode
 * ACCESSPERMS less the caller's umask, bound to so; its node goes in the kmem word vpp
 * (holding a reference for so).  EADDRINUSE when the path exists; namei's errors; EACCES
 * without write permission on the directory; ENOSPC without node memory.  Never blocks.
 */
export function vn_sock_create(path: number, len: number, so: Ptr, td: Ptr, vpp: Ptr): number {
  KASSERT(so !== NULL, 'vn_sock_create: no socket');
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) error = create_check(EADDRINUSE);
  if (error === 0) {
    const vp = vn_create(ni_dvp, ni_name, ni_namelen, VSOCK, S_IFSOCK | (ACCESSPERMS & ~cr_cmask));
    if (vp === NULL) {
      error = ENOSPC;
    } else {
      k32[vp + VN.vn_refs]++;            // the socket's reference
      k32[vp + VN.vn_socket] = so;
      k32[vpp] = vp;
    }
  }
  ns_unlock(g);
  return error;
}

/*
 * vn_sock_release (unp_detach: v_socket = NULL, vrele): the socket bound to vp is going;
 * the node stays while its directory entry does.  Never blocks.
 */
export function vn_sock_release(vp: Ptr): void {
  const g = ns_lock();
  KASSERT(k32[vp + VN.vn_type] === VSOCK, 'vn_sock_release: not a socket node');
  k32[vp + VN.vn_socket] = NULL;
  vrele_locked(vp);
  ns_unlock(g);
}

/* The socket vn_sock_lookup found (NULL: nobody is bound there), read by its caller at once. */
let lookup_so: Ptr = NULL;
export function vn_sock_lookup_result(): Ptr { return lookup_so; }

/*
 * vn_sock_lookup (unp_connect's nlookup, vnode type check and VOP_ACCESS(VWRITE)): find
 * the socket bound at path; vn_sock_lookup_result() gives it (NULL when none is).
 * namei's errors; ENOENT; ENOTSOCK for anything but a socket file; EACCES without write
 * permission on it.  Never blocks.
 */
export function vn_sock_lookup(path: number, len: number, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  lookup_so = NULL;
  let error = namei(path, len);
  if (error === 0) {
    const vp = ni_vp;
    if (vp === NULL) error = ENOENT;
    else if (vn_type(vp) !== VSOCK) error = ENOTSOCK;
    else if (!vn_access(vp, VWRITE)) error = EACCES;
    else lookup_so = k32[vp + VN.vn_socket];
  }
  ns_unlock(g);
  return error;
}

/* The next fake inode number for an unbound socket (never 0). */
export function unixsock_ino_alloc(): number {
  const w = unixsock_globals() + NSG.ns_ino;
  let ino = Atomics.add(k32, w, 1) + 1;
  if (ino === 0) ino = Atomics.add(k32, w, 1) + 1;
  return ino;
}

/* ---- the file system calls (kern/vfs_syscalls.c), on this namespace ---- */

/*
 * kern_mkdir: make directory path with mode (less the caller's umask).  EEXIST when the
 * path exists; namei's errors; EACCES without write permission on the parent; ENOSPC.
 */
export function kern_mkdir(path: number, len: number, mode: number, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) error = create_check(EEXIST);
  if (error === 0 && vn_create(ni_dvp, ni_name, ni_namelen, VDIR, S_IFDIR | (mode & ALLPERMS & ~cr_cmask)) === NULL) {
    error = ENOSPC;
  }
  ns_unlock(g);
  return error;
}

/*
 * kern_rmdir: remove the empty directory path.  ENOENT; ENOTDIR; ENOTEMPTY; EBUSY for
 * the root; EACCES/EPERM as kern_unlink.
 */
export function kern_rmdir(path: number, len: number, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) {
    const vp = ni_vp;
    if (vp === NULL) error = ENOENT;
    else if (vp === NS_ROOT || ni_namelen === 0) error = EBUSY;
    else if (vn_type(vp) !== VDIR) error = ENOTDIR;
    else if (k32[vp + VN.vn_child] !== NULL) error = ENOTEMPTY;
    else if (is_dot(ni_name, ni_namelen) || is_dotdot(ni_name, ni_namelen)) error = EINVAL;
    else error = remove_check();
    if (error === 0) vn_remove(vp);
  }
  ns_unlock(g);
  return error;
}

/*
 * kern_unlink: remove the entry path (a socket file).  ENOENT; EPERM for a directory or
 * under the sticky rule; EACCES without write permission on the directory.  A socket
 * still bound stays bound (its node lives until it closes) but can no longer be found.
 */
export function kern_unlink(path: number, len: number, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) {
    const vp = ni_vp;
    if (vp === NULL) error = ENOENT;
    else if (vn_type(vp) === VDIR) error = EPERM;
    else error = remove_check();
    if (error === 0) vn_remove(vp);
  }
  ns_unlock(g);
  return error;
}

/*
 * kern_chmod: set path's permission bits (mode & ALLPERMS).  Only the owner or root:
 * EPERM for anyone else and for the root directory.  namei's errors; ENOENT.
 */
export function kern_chmod(path: number, len: number, mode: number, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) {
    const vp = ni_vp;
    if (vp === NULL) error = ENOENT;
    else if (vp === NS_ROOT || (cr_uid !== 0 && cr_uid !== k32[vp + VN.vn_uid])) error = EPERM;
    else k32[vp + VN.vn_mode] = (k32[vp + VN.vn_mode] & S_IFMT) | (mode & ALLPERMS);
  }
  ns_unlock(g);
  return error;
}

/*
 * kern_stat (lstat: no links here): fill the struct stat at sb with path's mode, owner,
 * group and inode number (the node's address; the root's is 2).  namei's errors; ENOENT.
 */
export function kern_stat(path: number, len: number, sb: Ptr, td: Ptr): number {
  cred_of(td);
  const g = ns_lock();
  let error = namei(path, len);
  if (error === 0) {
    const vp = ni_vp;
    if (vp === NULL) {
      error = ENOENT;
    } else {
      k32[sb + STAT.st_mode] = vn_mode(vp);
      k32[sb + STAT.st_uid] = vn_uid(vp);
      k32[sb + STAT.st_gid] = vn_gid(vp);
      k32[sb + STAT.st_ino] = vp === NS_ROOT ? 2 : vp;
      k32[sb + STAT.st_nlink] = vp === NS_ROOT || k32[vp + VN.vn_parent] !== NULL ? 1 : 0;
    }
  }
  ns_unlock(g);
  return error;
}
