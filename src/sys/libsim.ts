/*
 * libsim.ts: userland helpers for simulated programs, built only on Sys calls (what a
 * small libc would offer beside the system calls).
 */

import type { Blocking } from '../../shared/effect.js';
import { ECONNREFUSED, ENOENT } from '../../shared/errno.js';
import type { Sys } from './sys.js';
import { SysError } from './errors.js';

/*
 * Connect fd to path, retrying (a millisecond of simulated time apart) while nobody has
 * bound the path yet (ENOENT) or nobody listens on it yet (ECONNREFUSED): what a client
 * started beside its server does.  Other errors, and the last one after `tries`
 * attempts, are thrown.
 */
export function* connect_retry(sys: Sys, fd: number, path: string, tries = 100_000): Blocking<void> {
  for (let n = 0; ; n++) {
    try {
      yield* sys.connect(fd, path);
      return;
    } catch (e) {
      if (!(e instanceof SysError) || (e.errno !== ENOENT && e.errno !== ECONNREFUSED) || n >= tries) throw e;
      yield* sys.sleep(1);
    }
  }
}

/* The FNV-1a checksum's starting value. */
export const FNV_BASIS = 0x811c9dc5;

/* An order-sensitive checksum (FNV-1a) of h continued over n bytes of b. */
export function fnv1a(h: number, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}
