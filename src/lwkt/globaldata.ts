/*
 * globaldata.ts: the JS half of a CPU (DragonFly's struct globaldata).
 *
 * What only this CPU touches stays in ordinary JS objects: the run queues, the
 * generators that are its threads' kernel stacks, its callout heap and its ends of the
 * messageport IPI carrier.  What others read (current thread, counters, doorbell) is in
 * kmem (shared/pcpu.ts).  `mycpu` names the CPU the running code belongs to: a worker
 * sets it once; the deterministic engine sets it before every step.
 */

import type { MessagePort } from 'node:worker_threads';
import { set_mycpuid, pcpu_of } from '../../shared/cpu.js';
import type { Ptr } from '../../shared/struct.js';
import { k32, ku8, kmem_getstr } from '../../shared/kmem.js';
import { TD_COMM_BYTES } from '../../shared/param.js';
import { TD } from './thread.js';

/* What an engine learns from a CPU. */
export interface CpuHooks {
  /* A thread finished: result is its return value, or error what it threw. */
  thread_exit(id: number, name: string, result: unknown, error: unknown): void;
  /* Where fn is exported from, among the modules this isolate has loaded (kern_fork.ts). */
  module_of?(fn: unknown): { url: string; name: string } | null;
  /*
   * Find export `name` of module url in this isolate, importing the module first if need
   * be, and call done with it (undefined when there is none or the import failed): at
   * once when the module is loaded, else later from the event loop, outside any thread.
   */
  load_export?(url: string, name: string, done: (fn: unknown) => void): void;
}

export type ThreadGen = Generator<number, unknown, unknown>;

export class Globaldata {
  readonly cpuid: number;
  readonly pcpu: number;
  curtd: Ptr = 0;                 // running thread; the idle thread when nothing runs
  idletd: Ptr = 0;
  /* Generators by thread slot (td_slot); undefined for threads of other CPUs. */
  readonly gens: (ThreadGen | undefined)[] = [];
  /* Mask of non-empty run queues (gd_runqmask); the queues are in kmem (pc_runq). */
  runqmask = 0;
  need_resched = false;
  /* Callouts: a binary heap of callout pointers ordered by deadline (ns). */
  co_ptr = new Int32Array(64);
  co_time = new Float64Array(64);
  co_n = 0;
  co_next_check = 0;              // steps until the parallel engine next reads the clock
  /* messageport IPI carrier: out[t] posts to CPU t, in[s] receives from CPU s. */
  ipi_out: (MessagePort | null)[] = [];
  ipi_in: (MessagePort | null)[] = [];
  /* Parallel engine: IPIs taken out of the rings while this CPU spun for a lock, per source (lwkt_ipiq.ts). */
  ipi_stash: number[][] = [];
  /* Deterministic engine: IPIs that found their ring full, per target, in send order. */
  ipi_overflow: number[][] = [];
  /* Last read index seen per target ring (the send side's cached view). */
  ipi_ri_seen: Int32Array = new Int32Array(64);
  hooks: CpuHooks;
  trace_hash = 0x811c9dc5;        // FNV-1a over (thread, effect) of every resume
  /* Deterministic engine with traceLog: (step, cpu, thread id, what, arg) per event (lwkt_trace.ts decodes). */
  trace_log: number[] | null = null;
  trace_step = 0;
  trace_names: Map<number, string> | null = null;   // thread names by id, for decoding                 // the engine's step number, for the events logged during it
  /* Scheduling points (lwkt_schedpt.ts): the point a thread yields at, and what it touched. */
  sp_kind = 0;
  sp_arg = 0;
  vt_charge = 0;                  // virtual ns the points of this step cost (the engine adds them)
  /* The user-thread quantum (kern_usched.ts): when the running thread's began (-1: not read yet). */
  rr_start = -1;
  rr_check = 0;
  halted = false;

  constructor(cpuid: number, hooks: CpuHooks) {
    this.cpuid = cpuid;
    this.pcpu = pcpu_of(cpuid);
    this.hooks = hooks;
  }

  /* Log an event of the running thread that is not a yield (a plain scheduling point). */
  trace_note(what: number, arg: number): void {
    if (this.trace_log !== null) this.trace_push(this.curtd, what, arg);
  }

  /* Log an event of thread td (traceLog on), naming the thread the first time it is seen. */
  trace_push(td: Ptr, what: number, arg: number): void {
    const id = k32[td + TD.td_id];
    this.trace_log!.push(this.trace_step, this.cpuid, id, what, arg);
    const names = this.trace_names;
    if (names !== null && !names.has(id)) names.set(id, kmem_getstr(ku8, (td + TD.td_comm) * 4, TD_COMM_BYTES));
  }
}

export let mycpu: Globaldata = null as unknown as Globaldata;

export function set_mycpu(gd: Globaldata): void {
  mycpu = gd;
  set_mycpuid(gd.cpuid);
}

export function curthread(): Ptr { return mycpu.curtd; }
