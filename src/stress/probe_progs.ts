/*
 * probe_progs.ts: a process the stress runner (run_workloads.ts) starts before and after
 * a run to read the kernel's global counters that a run must leave as it found them.
 */

import { Sys, SysError } from '../index.js';
import type { Blocking } from '../kernel.js';

export const PROBE_SYSCTLS = ['net.local.inflight', 'kern.ipc.maxsockbuf', 'kern.ipc.numopensockets', 'kern.openfiles',
  'kern.ipc.somaxconn', 'net.local.stream.sendspace', 'net.local.stream.recvspace', 'net.local.dgram.maxdgram',
  'net.local.dgram.recvspace'];

/* The values of the sysctls named (null for one this kernel does not have). */
export function* probe(sys: Sys, names: string[]): Blocking<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const n of names) {
    try {
      out[n] = yield* sys.sysctl(n);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      out[n] = null;
    }
  }
  return out;
}
