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
