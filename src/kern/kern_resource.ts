/*
 * kern_resource.ts: resource limits and per-uid accounting.
 * Mirrors DragonFly 2008 sys/kern/kern_resource.c: uifind/uihold/uidrop (the uid hash),
 * chgproccnt, chgsbsize (the SEED version, dragonfly.md 4.10: it never fails) and
 * kern_getrlimit/kern_setrlimit.
 * Differs: the uid hash lives in g_kern under one spinlock; uifind returns NULL when the
 * kmalloc16 zone is empty (C's M_WAITOK cannot fail); limits are doubles inline in the
 * proc (no shared plimit).
 */

import { k32, kf64, H_WORDS } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EINVAL, EPERM } from '../../shared/errno.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { zalloc, zfree, zone_desc, ZD, Z_KMALLOC16, Z_PROC } from '../../shared/zone.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { MCLBYTES } from '../sys/mbuf.js';
import {
  KERN, PROC, RLIMIT, UIDINFO, RLIM_INFINITY, RLIM_NLIMITS, RLIMIT_MEMLOCK, RLIMIT_NOFILE, RLIMIT_NPROC,
  RLIMIT_RSS, UIHASH_SIZE, kern_globals,
} from '../sys/proc.js';
import { suser_cred } from './kern_prot.js';
import { kern_maxfiles, kern_maxfilesperproc } from './kern_descrip.js';

/*
 * The kern layer's spinlocks sit in g_kern, which nobody formats at boot: give them their
 * lock classes here, in every isolate that loads the kern layer, before any of its code
 * can run there.  Every isolate writes the same class ids, so the writes may race.
 * (On the host this runs before the zones are formatted: touch nothing else here.)
 */
kfunc_on_attach(() => {
  const kg = kern_globals();
  k32[kg + KERN.kg_proc_spin + 1] = lockclass_register('allproc');
  k32[kg + KERN.kg_ui_spin + 1] = lockclass_register('uihash');
  k32[kg + KERN.kg_file_spin + 1] = lockclass_register('filehead');
  k32[kg + KERN.kg_aio_spin + 1] = lockclass_register('aio');
});

let uidinfo_class = 0;
kfunc_on_attach(() => { uidinfo_class = lockclass_register('uidinfo'); });

/* ---- resource limits ---- */

function rlim_word(p: Ptr, which: number): number { return p + PROC.p_rlimit + which * RLIMIT.SIZE; }

/*
 * A new process's limits (DragonFly plimit_init0 via proc0_init): everything infinite
 * except NOFILE (maxfiles), NPROC (maxproc: here the proc zone's size), RSS and MEMLOCK
 * (physical memory: here kmem's size; MEMLOCK's soft limit a third of it).  Never blocks.
 */
export function plimit_init0(p: Ptr): void {
  for (let i = 0; i < RLIM_NLIMITS; i++) rlim_set(p, i, RLIM_INFINITY, RLIM_INFINITY);
  const maxfiles = kern_maxfiles();
  rlim_set(p, RLIMIT_NOFILE, maxfiles, maxfiles);
  const maxproc = k32[zone_desc(Z_PROC) + ZD.zd_count];
  rlim_set(p, RLIMIT_NPROC, maxproc, maxproc);
  const physmem = k32[H_WORDS] * 4;
  rlim_set(p, RLIMIT_RSS, physmem, physmem);
  rlim_set(p, RLIMIT_MEMLOCK, Math.floor(physmem / 3), physmem);
}

function rlim_set(p: Ptr, which: number, cur: number, max: number): void {
  const w = rlim_word(p, which);
  kf64[(w + RLIMIT.rlim_cur_f64) >> 1] = cur;
  kf64[(w + RLIMIT.rlim_max_f64) >> 1] = max;
}

/* Copy every limit of p1 to p2 (fork).  p2 is not yet visible: no lock on it. */
export function plimit_copy(p1: Ptr, p2: Ptr): void {
  spin_lock(p1 + PROC.p_spin);
  const src = rlim_word(p1, 0) >> 1, dst = rlim_word(p2, 0) >> 1;
  for (let i = 0; i < RLIM_NLIMITS * 2; i++) kf64[dst + i] = kf64[src + i];
  spin_unlock(p1 + PROC.p_spin);
}

/*
 * A limit's current (soft) value, for kernel readers (fdalloc reads NOFILE, the socket
 * layer SBSIZE).  Read under p_spin: a double in shared memory may tear.  Never blocks.
 */
export function p_rlimit_cur(p: Ptr, which: number): number {
  KASSERT(which >= 0 && which < RLIM_NLIMITS, 'p_rlimit_cur: bad resource');
  spin_lock(p + PROC.p_spin);
  const v = kf64[(rlim_word(p, which) + RLIMIT.rlim_cur_f64) >> 1];
  spin_unlock(p + PROC.p_spin);
  return v;
}

/*
 * kern_getrlimit: copy limit `which` of p into the struct rlimit at rlp (an even kmem
 * word).  EINVAL for a resource out of range.  Never blocks.
 */
export function kern_getrlimit(p: Ptr, which: number, rlp: Ptr): number {
  if (!(which >= 0 && which < RLIM_NLIMITS)) return EINVAL;
  KASSERT((rlp & 1) === 0, 'kern_getrlimit: rlp not on an even word');
  const w = rlim_word(p, which);
  spin_lock(p + PROC.p_spin);
  kf64[(rlp + RLIMIT.rlim_cur_f64) >> 1] = kf64[(w + RLIMIT.rlim_cur_f64) >> 1];
  kf64[(rlp + RLIMIT.rlim_max_f64) >> 1] = kf64[(w + RLIMIT.rlim_max_f64) >> 1];
  spin_unlock(p + PROC.p_spin);
  return 0;
}

/*
 * kern_setrlimit: set limit `which` of p from the struct rlimit at rlp.  Negative values
 * mean RLIM_INFINITY (C's "historical bug": rlim_t compared unsigned); fractions are
 * dropped.  EINVAL for a resource out of range; EPERM when a non-root caller raises
 * cur or max above the current hard limit; a cur above max is lowered to max, as
 * DragonFly 2008 does (later FreeBSD and POSIX say EINVAL).  NOFILE is clamped to
 * maxfilesperproc, as DragonFly does.  Never blocks.
 */
export function kern_setrlimit(p: Ptr, which: number, rlp: Ptr): number {
  if (!(which >= 0 && which < RLIM_NLIMITS)) return EINVAL;
  KASSERT((rlp & 1) === 0, 'kern_setrlimit: rlp not on an even word');
  let cur = kf64[(rlp + RLIMIT.rlim_cur_f64) >> 1];
  let max = kf64[(rlp + RLIMIT.rlim_max_f64) >> 1];
  if (Number.isNaN(cur) || Number.isNaN(max)) return EINVAL;
  cur = cur < 0 ? RLIM_INFINITY : Math.min(Math.floor(cur), RLIM_INFINITY);
  max = max < 0 ? RLIM_INFINITY : Math.min(Math.floor(max), RLIM_INFINITY);
  const w = rlim_word(p, which);
  spin_lock(p + PROC.p_spin);
  const hard = kf64[(w + RLIMIT.rlim_max_f64) >> 1];
  if ((cur > hard || max > hard) && suser_cred(k32[p + PROC.p_ucred]) !== 0) {
    spin_unlock(p + PROC.p_spin);
    return EPERM;
  }
  if (cur > max) cur = max;
  if (which === RLIMIT_NOFILE) {
    const perproc = kern_maxfilesperproc();
    if (cur > perproc) cur = perproc;
    if (max > perproc) max = perproc;
  }
  kf64[(w + RLIMIT.rlim_cur_f64) >> 1] = cur;
  kf64[(w + RLIMIT.rlim_max_f64) >> 1] = max;
  spin_unlock(p + PROC.p_spin);
  return 0;
}

/* ---- per-uid accounting ---- */

function uihash_head(uid: number): Ptr { return kern_globals() + KERN.kg_uihash + (uid & (UIHASH_SIZE - 1)); }

/*
 * uifind: the uidinfo of uid, with a reference; created (zeroed counts) on first use.
 * NULL when the kmalloc16 zone is empty.  Never blocks.
 */
export function uifind(uid: number): Ptr {
  const kg = kern_globals();
  const head = uihash_head(uid);
  spin_lock(kg + KERN.kg_ui_spin);
  let uip = k32[head];
  while (uip !== NULL && k32[uip + UIDINFO.ui_uid] !== uid) uip = k32[uip + UIDINFO.ui_next];
  if (uip === NULL) {
    KASSERT(k32[zone_desc(Z_KMALLOC16) + ZD.zd_item_words] >= UIDINFO.SIZE, 'uifind: uidinfo exceeds kmalloc16');
    uip = zalloc(Z_KMALLOC16);
    if (uip !== NULL) {
      k32[uip + UIDINFO.ui_spin + 1] = uidinfo_class;
      k32[uip + UIDINFO.ui_uid] = uid;
      k32[uip + UIDINFO.ui_next] = k32[head];
      k32[head] = uip;
    }
  }
  // Under kg_ui_spin: uidrop's last-reference path cannot free it between the lookup and this.
  if (uip !== NULL) Atomics.add(k32, uip + UIDINFO.ui_ref, 1);
  spin_unlock(kg + KERN.kg_ui_spin);
  return uip;
}

/* uihold: another reference to a uidinfo the caller already holds one on. */
export function uihold(uip: Ptr): void {
  const old = Atomics.add(k32, uip + UIDINFO.ui_ref, 1);
  KASSERT(old > 0, 'uihold: uidinfo not referenced');
}

/*
 * uidrop: drop a reference; the last one unhashes and frees the uidinfo.  A drop that
 * cannot be the last is a CAS; the one that may be is made under kg_ui_spin, so a
 * uifind racing with it either finds the entry before the drop (and the count stays
 * above 0) or not at all.  A non-zero ui_sbsize at the free is possible (chgsbsize's
 * unscaled charges drift upward, dragonfly.md 4.10) and is dropped, as DragonFly does
 * after a printf.  Never blocks.
 */
export function uidrop(uip: Ptr): void {
  for (;;) {
    const ref = Atomics.load(k32, uip + UIDINFO.ui_ref);
    KASSERT(ref > 0, 'uidrop: uidinfo reference count already 0');
    if (ref === 1) break;
    if (Atomics.compareExchange(k32, uip + UIDINFO.ui_ref, ref, ref - 1) === ref) return;
  }
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_ui_spin);
  if (Atomics.sub(k32, uip + UIDINFO.ui_ref, 1) !== 1) {
    spin_unlock(kg + KERN.kg_ui_spin);      // a uifind took a reference meanwhile
    return;
  }
  KASSERT(k32[uip + UIDINFO.ui_proccnt] === 0, 'uidrop: freeing a uidinfo that counts processes');
  let pp = uihash_head(k32[uip + UIDINFO.ui_uid]);
  while (k32[pp] !== uip) {
    KASSERT(k32[pp] !== NULL, 'uidrop: uidinfo not on its hash chain');
    pp = k32[pp] + UIDINFO.ui_next;
  }
  k32[pp] = k32[uip + UIDINFO.ui_next];
  spin_unlock(kg + KERN.kg_ui_spin);
  zfree(Z_KMALLOC16, uip);
}

/*
 * chgproccnt: change the count of processes of a real uid by diff.  Refuses (returns
 * false) an increase past max (0: no limit), as kern_resource.c does.  Never blocks.
 */
export function chgproccnt(uip: Ptr, diff: number, max: number): boolean {
  for (;;) {
    const n = Atomics.load(k32, uip + UIDINFO.ui_proccnt);
    if (diff > 0 && max !== 0 && n + diff > max) return false;
    KASSERT(n + diff >= 0, 'chgproccnt: negative process count');
    if (Atomics.compareExchange(k32, uip + UIDINFO.ui_proccnt, n, n + diff) === n) return true;
  }
}

/* The socket buffer bytes charged to a uid (a double: chgsbsize's total). */
export function ui_sbsize(uip: Ptr): number {
  spin_lock(uip + UIDINFO.ui_spin);
  const v = kf64[(uip + UIDINFO.ui_sbsize_f64) >> 1];
  spin_unlock(uip + UIDINFO.ui_spin);
  return v;
}

/*
 * chgsbsize: move a socket buffer's high-water mark, at the kmem word hiwatp, to `to`
 * bytes and charge the difference to uip, against the limit max (RLIMIT_SBSIZE's cur,
 * or RLIM_INFINITY).  The SEED version (dragonfly.md 4.10): when growing (to > *hiwat),
 * with to > MCLBYTES and the new total above max, the new mark is scaled down to
 * to * max / new, but never below MCLBYTES; the UNSCALED amount is charged all the same,
 * so the uid's total drifts upward each time scaling happens.  Always returns 1 (success).
 * Never blocks.  Here: ui_spin stands for SEED's critical section, which only excluded
 * the one CPU.
 */
export function chgsbsize(uip: Ptr, hiwatp: Ptr, to: number, max: number): number {
  KASSERT(uip !== NULL, 'chgsbsize: no uidinfo');
  KASSERT(to >= 0 && Number.isInteger(to), 'chgsbsize: bad size');
  spin_lock(uip + UIDINFO.ui_spin);
  const hiwat = k32[hiwatp];
  const sb = (uip + UIDINFO.ui_sbsize_f64) >> 1;
  const nsb = kf64[sb] + to - hiwat;
  KASSERT(nsb >= 0, 'chgsbsize: negative ui_sbsize');
  if (to > hiwat && to > MCLBYTES && nsb > max) {
    to = scale_down(to, max, nsb);
    if (to < MCLBYTES) to = MCLBYTES;
  }
  kf64[sb] = nsb;
  k32[hiwatp] = to;
  spin_unlock(uip + UIDINFO.ui_spin);
  return 1;
}

/* floor(to * max / nsb), exactly, as C's 64-bit integer arithmetic gives it. */
function scale_down(to: number, max: number, nsb: number): number {
  const prod = to * max;
  if (prod <= Number.MAX_SAFE_INTEGER) return Math.floor(prod / nsb);
  return Number((BigInt(to) * BigInt(max)) / BigInt(nsb));
}
