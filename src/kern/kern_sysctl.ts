/*
 * kern_sysctl.ts: the sysctl tree, reduced to what the simulation needs: named integer
 * OIDs whose values live in kmem (so every CPU sees a change at once), each with an
 * optional handler that validates a new value the way the kernel's does.  Like
 * DragonFly's SYSCTL_* linker sets, OIDs register when their module loads, identically in
 * every isolate.
 */

import { EINVAL, ENOENT, EPERM } from '../../shared/errno.js';
import { k32 } from '../../shared/kmem.js';

export const CTLFLAG_RD = 0x1;
export const CTLFLAG_WR = 0x2;
export const CTLFLAG_RW = CTLFLAG_RD | CTLFLAG_WR;

export interface SysctlOid {
  name: string;                        // "kern.ipc.maxsockbuf"
  flags: number;                       // CTLFLAG_*
  descr: string;
  get(): number;                       // current value
  /* Validate and store a new value; returns 0 or an errno (the old value is then kept). */
  set: ((v: number) => number) | null;
}

const oids = new Map<string, SysctlOid>();

export function sysctl_register(oid: SysctlOid): void {
  if (oids.has(oid.name)) throw new Error(`sysctl_register: ${oid.name} registered twice`);
  oids.set(oid.name, oid);
}

/* An int OID stored in the kmem word w, with an optional validating handler. */
export function sysctl_int(name: string, flags: number, w: () => number, descr: string,
    handler: ((v: number) => number) | null = null): void {
  sysctl_register({
    name, flags, descr,
    get: () => Atomics.load(k32, w()),
    set: (flags & CTLFLAG_WR) === 0 ? null : handler ?? ((v: number) => { Atomics.store(k32, w(), v); return 0; }),
  });
}

export interface SysctlResult { error: number; old: number }

/*
 * kernel_sysctl: read `name`, and set it to `newval` when given.  ENOENT for an unknown
 * name, EPERM to write a read-only one or when the caller is not root (uid 0), EINVAL for
 * a value that is not an integer; the handler's errno otherwise.  The old value is
 * returned in every case.
 */
export function kernel_sysctl(name: string, newval: number | undefined, uid: number): SysctlResult {
  const oid = oids.get(name);
  if (oid === undefined) return { error: ENOENT, old: 0 };
  const old = oid.get();
  if (newval === undefined) return { error: 0, old };
  if (oid.set === null) return { error: EPERM, old };
  if (uid !== 0) return { error: EPERM, old };
  if (!Number.isInteger(newval) || newval < -2147483648 || newval > 2147483647) return { error: EINVAL, old };
  return { error: oid.set(newval), old };
}

/* Every registered OID name, sorted (sysctl -a). */
export function sysctl_names(): string[] { return [...oids.keys()].sort(); }
