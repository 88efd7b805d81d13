/*
 * attach.ts: point this isolate's kernel at a machine.  A worker does it once at boot;
 * the deterministic engine does it whenever it resumes a machine, because several
 * machines may share the host thread (tests boot many).
 */

import { kmem_attach, kf64, H_BOOT_EPOCH_F64 } from '../../shared/kmem.js';
import { cpu_attach, set_mycpuid } from '../../shared/cpu.js';
import { clock_set_real, clock_set_virtual } from '../../shared/clock.js';
import { kfunc_attach } from '../lwkt/kfunc.js';
import { ipiq_attach } from '../lwkt/lwkt_ipiq.js';
import { lwkt_migrate_attach } from '../lwkt/lwkt_thread.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import '../kern/subr_witness.js';    // WITNESS installs its hooks (shared/witness_hooks.ts) in every isolate that runs CPUs

export function machine_attach(sab: SharedArrayBuffer, cpus: Globaldata[], virtual_ns: number): void {
  kmem_attach(sab);
  cpu_attach();
  set_mycpuid(-1);
  kfunc_attach();
  ipiq_attach(cpus);
  lwkt_migrate_attach(cpus);
  if (virtual_ns >= 0) clock_set_virtual(virtual_ns);
  else clock_set_real(kf64[H_BOOT_EPOCH_F64 >> 1]);
}
