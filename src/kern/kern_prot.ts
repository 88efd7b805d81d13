/*
 * kern_prot.ts: credentials: reference-counted ucreds, the uid system calls and the
 * superuser check.
 * Mirrors DragonFly 2008 sys/kern/kern_prot.c: crget/crhold/crfree/crdup, change_euid,
 * change_ruid, suser_cred, and getuid/geteuid/getgid/getegid/setuid as plain functions
 * on a proc (the syscall layer will wrap them).
 * Differs: crget/crdup return NULL when the kmalloc16 zone is empty (C's M_WAITOK cannot
 * fail) and setuid turns that into ENOMEM; setuid ignores the saved uid for an
 * unprivileged caller (no _POSIX_SAVED_IDS clause): a non-root process may only set its
 * real uid.  A proc's cred is read and replaced under p_spin, because another thread of
 * the process may replace (and free) it from another CPU.
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EINVAL, ENOMEM, EPERM } from '../../shared/errno.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { zalloc, zfree, zone_desc, ZD, Z_KMALLOC16 } from '../../shared/zone.js';
import { PROC, UCRED } from '../sys/proc.js';
import { chgproccnt, uidrop, uifind, uihold } from './kern_resource.js';

/* ---- credentials ---- */

/* crget: a zeroed cred (uid 0, no uidinfo) with one reference, or NULL.  Never blocks. */
export function crget(): Ptr {
  KASSERT(k32[zone_desc(Z_KMALLOC16) + ZD.zd_item_words] >= UCRED.SIZE, 'crget: ucred exceeds kmalloc16');
  const cr = zalloc(Z_KMALLOC16);
  if (cr !== NULL) k32[cr + UCRED.cr_ref] = 1;
  return cr;
}

/* crhold: another reference; returns cr.  Never blocks. */
export function crhold(cr: Ptr): Ptr {
  const old = Atomics.add(k32, cr + UCRED.cr_ref, 1);
  KASSERT(old > 0, 'crhold: cred not referenced');
  return cr;
}

/* crfree: drop a reference; the last one drops the uidinfos and frees the cred.  Never blocks. */
export function crfree(cr: Ptr): void {
  const old = Atomics.sub(k32, cr + UCRED.cr_ref, 1);
  KASSERT(old > 0, 'crfree: cred reference count already 0');
  if (old !== 1) return;
  if (k32[cr + UCRED.cr_uidinfo] !== NULL) uidrop(k32[cr + UCRED.cr_uidinfo]);
  if (k32[cr + UCRED.cr_ruidinfo] !== NULL) uidrop(k32[cr + UCRED.cr_ruidinfo]);
  zfree(Z_KMALLOC16, cr);
}

/* crdup: a private copy of cr (one reference, its uidinfos held), or NULL.  Never blocks. */
export function crdup(cr: Ptr): Ptr {
  const ncr = crget();
  if (ncr === NULL) return NULL;
  for (let i = 0; i < UCRED.SIZE; i++) k32[ncr + i] = k32[cr + i];
  k32[ncr + UCRED.cr_ref] = 1;
  if (k32[ncr + UCRED.cr_uidinfo] !== NULL) uihold(k32[ncr + UCRED.cr_uidinfo]);
  if (k32[ncr + UCRED.cr_ruidinfo] !== NULL) uihold(k32[ncr + UCRED.cr_ruidinfo]);
  return ncr;
}

/*
 * change_euid: make cr's effective uid euid, moving its uidinfo reference (socket
 * buffers are charged to the effective uid's).  cr must be private (cr_ref 1).
 * Returns 0, or ENOMEM when no uidinfo could be had (cr unchanged).  Never blocks.
 */
export function change_euid(cr: Ptr, euid: number): number {
  KASSERT(k32[cr + UCRED.cr_ref] === 1, 'change_euid: cred is shared');
  const uip = uifind(euid);
  if (uip === NULL) return ENOMEM;
  if (k32[cr + UCRED.cr_uidinfo] !== NULL) uidrop(k32[cr + UCRED.cr_uidinfo]);
  k32[cr + UCRED.cr_uid] = euid;
  k32[cr + UCRED.cr_uidinfo] = uip;
  return 0;
}

/*
 * change_ruid: make cr's real uid ruid, moving one process count (the caller's process)
 * and the uidinfo reference.  cr must be private.  0 or ENOMEM (cr unchanged).  Never blocks.
 */
export function change_ruid(cr: Ptr, ruid: number): number {
  KASSERT(k32[cr + UCRED.cr_ref] === 1, 'change_ruid: cred is shared');
  const uip = uifind(ruid);
  if (uip === NULL) return ENOMEM;
  const old = k32[cr + UCRED.cr_ruidinfo];
  if (old !== NULL) {
    chgproccnt(old, -1, 0);
    uidrop(old);
  }
  chgproccnt(uip, 1, 0);
  k32[cr + UCRED.cr_ruid] = ruid;
  k32[cr + UCRED.cr_ruidinfo] = uip;
  return 0;
}

/* suser_cred: 0 if cr is the superuser's (effective uid 0), else EPERM.  Never blocks. */
export function suser_cred(cr: Ptr): number {
  KASSERT(cr !== NULL, 'suser_cred: no cred');
  return k32[cr + UCRED.cr_uid] === 0 ? 0 : EPERM;
}

/* p_crhold: a reference to p's current cred (for a file's f_cred, a socket's so_cred). */
export function p_crhold(p: Ptr): Ptr {
  spin_lock(p + PROC.p_spin);
  const cr = crhold(k32[p + PROC.p_ucred]);
  spin_unlock(p + PROC.p_spin);
  return cr;
}

/* ---- the uid system calls ---- */

function cred_word(p: Ptr, field: number): number {
  spin_lock(p + PROC.p_spin);
  const v = k32[k32[p + PROC.p_ucred] + field];
  spin_unlock(p + PROC.p_spin);
  return v;
}

export function getuid(p: Ptr): number { return cred_word(p, UCRED.cr_ruid); }
export function geteuid(p: Ptr): number { return cred_word(p, UCRED.cr_uid); }
export function getgid(p: Ptr): number { return cred_word(p, UCRED.cr_rgid); }
export function getegid(p: Ptr): number { return cred_word(p, UCRED.cr_gid); }

/*
 * setuid: root may become any uid (real, saved and effective all change); anyone may
 * set the uid to their real uid (the effective uid changes).  EPERM otherwise; EINVAL
 * for a uid that is not a non-negative 32-bit integer; ENOMEM when a cred or uidinfo
 * cannot be had.  The cred is copied, changed and swapped in: creds already shared
 * (open files, other processes) keep the old ids.  Never blocks.
 */
export function setuid(p: Ptr, uid: number): number {
  if (!Number.isInteger(uid) || uid < 0 || uid > 0x7fffffff) return EINVAL;
  spin_lock(p + PROC.p_spin);
  const cr = crhold(k32[p + PROC.p_ucred]);
  spin_unlock(p + PROC.p_spin);
  let error = 0;
  const root = suser_cred(cr) === 0;
  if (uid !== k32[cr + UCRED.cr_ruid] && !root) error = EPERM;
  let ncr = NULL;
  if (error === 0) {
    ncr = crdup(cr);
    if (ncr === NULL) error = ENOMEM;
  }
  if (error === 0 && (root || uid === k32[cr + UCRED.cr_ruid])) {
    if (k32[ncr + UCRED.cr_ruid] !== uid) error = change_ruid(ncr, uid);
    if (error === 0) k32[ncr + UCRED.cr_svuid] = uid;
  }
  if (error === 0 && k32[ncr + UCRED.cr_uid] !== uid) error = change_euid(ncr, uid);
  if (error !== 0) {
    if (ncr !== NULL) crfree_undo(ncr, cr);
    crfree(cr);
    return error;
  }
  spin_lock(p + PROC.p_spin);
  const old = k32[p + PROC.p_ucred];
  k32[p + PROC.p_ucred] = ncr;
  spin_unlock(p + PROC.p_spin);
  crfree(old);
  crfree(cr);
  return 0;
}

/*
 * Throw away a half-changed copy: if change_ruid moved this process's count to the new
 * real uid before change_euid failed, move it back first.
 */
function crfree_undo(ncr: Ptr, cr: Ptr): void {
  const nui = k32[ncr + UCRED.cr_ruidinfo], oui = k32[cr + UCRED.cr_ruidinfo];
  if (nui !== oui && nui !== NULL) {
    chgproccnt(nui, -1, 0);
    if (oui !== NULL) chgproccnt(oui, 1, 0);
  }
  crfree(ncr);
}
