/*
 * cpu_runtime.ts: what both engines do for one CPU: bring it up, start threads on it,
 * and record a panic in the kmem header so that every CPU and the host see it.
 */

import { k32, ku8, H_PANIC, H_PANIC_LEN, H_PANIC_TD, H_PANICMSG, kmem_putstr } from '../../shared/kmem.js';
import { PANICMSG_BYTES } from '../../shared/param.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { Globaldata, set_mycpu, type CpuHooks } from '../lwkt/globaldata.js';
import { lwkt_create, lwkt_init_idle } from '../lwkt/lwkt_thread.js';
import { TDPRI_KERN_DAEMON, TDPRI_MAX, TDPRI_USER_NORM, TD } from '../lwkt/thread.js';
import { is_generator, thread_fn } from './modules.js';
import { netisr_cpu_init } from '../kern/uipc_msg.js';
import { unp_gc_cpu_init } from '../kern/uipc_usrreq_rights.js';
import '../net/accf_data.js';      // the accept filters, compiled in (DragonFly loads them as modules)
import '../net/accf_http.js';
import '../libc/sys.js';           // the program interface: kern_exec makes each program's Sys through it
import { is_program, proc_exec, type ProgramFn } from '../kern/kern_exec.js';

export function cpu_bringup(cpuid: number, hooks: CpuHooks): Globaldata {
  const gd = new Globaldata(cpuid, hooks);
  set_mycpu(gd);
  lwkt_init_idle(gd);
  netisr_cpu_init(gd);    // the netisr dispatch model's protocol thread, before anything runs
  unp_gc_cpu_init(gd);    // CPU 0: the daemon that closes and collects AF_LOCAL rights in flight
  return gd;
}

export interface SpawnRequest {
  module: string;
  export?: string;
  args?: unknown[];
  name?: string;
  priority?: number;
  process?: boolean;      // spawnProcess: run the export as a program (kern_exec.ts proc_exec)
  uid?: number;           //   as this uid (default 0)
}

/* Load the thread's module (async), then create the thread on gd. */
export async function spawn_prepare(req: SpawnRequest): Promise<(...a: unknown[]) => Generator<number, unknown, unknown>> {
  if (typeof req.module !== 'string' || req.module === '') throw new TypeError('spawn: module must be a module URL or path');
  const pri = req.priority ?? TDPRI_KERN_DAEMON;
  if (!Number.isInteger(pri) || pri < 1 || pri > TDPRI_MAX) throw new RangeError(`spawn: priority must be 1..${TDPRI_MAX}`);
  return thread_fn(req.module, req.export ?? 'default');
}

export function spawn_create(gd: Globaldata, req: SpawnRequest, fn: (...a: unknown[]) => unknown): number {
  set_mycpu(gd);
  const what = `'${req.export ?? 'default'}' of ${req.module}`;
  let gen: Generator<number, unknown, unknown>;
  if (req.process === true) {
    if (!is_program(fn)) throw new TypeError(`spawnProcess: ${what} is not a generator function`);
    const uid = req.uid ?? 0;
    if (!Number.isInteger(uid) || uid < 0 || uid > 0x7fffffff) throw new RangeError('spawnProcess: uid must be 0..2^31-1');
    gen = proc_exec(fn as ProgramFn, uid, req.args ?? [], req.name ?? req.export ?? 'default');
  } else {
    const g = fn(...(req.args ?? []));
    if (!is_generator(g)) throw new TypeError(`spawn: ${what} is not a generator function`);
    gen = g;
  }
  const pri = req.process === true ? TDPRI_USER_NORM : req.priority ?? TDPRI_KERN_DAEMON;
  const td = lwkt_create(gd, req.name ?? req.export ?? 'thread', pri, gen);
  if (td === NULL) throw new RangeError('spawn: thread zone exhausted (boot with more maxThreads)');
  return k32[td + TD.td_id];
}

/* Record err as the machine's panic unless another CPU got there first.  Returns true if first. */
export function panic_record_here(cpu: number, td: Ptr, message: string): boolean {
  if (Atomics.compareExchange(k32, H_PANIC, 0, cpu + 1) !== 0) return false;
  k32[H_PANIC_TD] = td !== NULL ? k32[td + TD.td_id] : 0;
  k32[H_PANIC_LEN] = kmem_putstr(ku8, H_PANICMSG * 4, PANICMSG_BYTES, message);
  return true;
}

/* panic_record_here for a panic raised on gd: by its running thread, unless that is the idle thread. */
export function panic_record_on(gd: Globaldata, message: string): boolean {
  return panic_record_here(gd.cpuid, gd.curtd === gd.idletd ? 0 : gd.curtd, message);
}
