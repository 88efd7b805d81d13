/*
 * lwkt_thread.ts: LWKT threads and the per-CPU scheduler (DragonFly kern/lwkt_thread.c).
 *
 * A thread belongs to one CPU and never migrates unless it asks (lwkt_setcpu_self).
 * Only its CPU touches its run-queue state; other CPUs go through an IPI.  Each CPU has
 * 32 FIFO run queues, one per priority, and a mask of the non-empty ones.  A thread
 * stays on its run queue while it runs; selecting it moves it to the tail, which is the
 * round robin within a priority.  Kernel threads are not preempted by ordinary threads:
 * a thread runs until it blocks or yields (EFF_SWITCH).  At an interrupt window
 * (EFF_STEP) a thread outside any critical section lets IPIs and callouts run, and a
 * runnable interrupt-priority thread preempts it.
 *
 * Tokens (lwkt_token.ts) are released whenever their holder switches out and re-taken
 * before it runs again; a thread whose tokens cannot all be had is skipped.
 *
 * The engines drive a CPU with cpu_step() (one resume of one thread) and cpu_idle_work()
 * (IPIs and callouts with nothing to run); neither ever blocks the host thread.
 */

import { SYSCALL_NAMES } from '../sys/syscall.js';
import { sched_want, sp_fine, SP_CRIT_EXIT } from './lwkt_schedpt.js';
import { k32, kf64, H_NEXT_TID, H_LIVE, ku8 } from '../../shared/kmem.js';
import { PC, CPUSTATE_RUN, CPUSTATE_IDLE } from '../../shared/pcpu.js';
import { det_engine, invariants_on, witness_on } from '../../shared/cpu.js';
import { wops } from '../../shared/witness_hooks.js';
import { inv_switch_out } from './lwkt_invariants.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { TAILQ_INSERT_TAIL, TAILQ_REMOVE } from '../../shared/tailq.js';
import { Z_THREAD, zalloc, zfree, zone_desc, ZD } from '../../shared/zone.js';
import { kmem_putstr, kmem_getstr } from '../../shared/kmem.js';
import { EFF_SWITCH, EFF_STEP, RESUMED, STEP_ONCE, SWITCH_ONCE, type Blocking } from '../../shared/effect.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { TD_COMM_BYTES } from '../../shared/param.js';
import { EOPNOTSUPP, EINVAL } from '../../shared/errno.js';
import { nanotime } from '../../shared/clock.js';
import {
  TD, TDF_RUNNING, TDF_RUNQ, TDF_TSLEEPQ, TDF_EXITED, TDF_BLOCKED, TDF_TOKWAIT, TDPRI_MAX,
  TDPRI_PREEMPT, TDPRI_IDLE_THREAD, TDF_SYSTHREAD, TDF_NOJOIN,
} from './thread.js';
import { mycpu, type Globaldata, type ThreadGen } from './globaldata.js';
import { kfunc_register, kfunc_on_attach } from './kfunc.js';
import { lwkt_send_ipiq3, lwkt_process_ipiq_all, ipiq_pending_hint } from './lwkt_ipiq.js';
import { lwkt_getalltokens, lwkt_relalltokens } from './lwkt_token.js';
import { kbugs } from '../../shared/cpu.js';
import { bug_hit, BUG_TOKEN_HELD_ACROSS_BLOCK } from '../../shared/fail.js';
import { callout_run_due } from './kern_timeout.js';
import { lwkt_initport_thread } from './lwkt_msgport_init.js';
import { PORT } from '../sys/msgport.js';

/* ---- run queues (owner CPU only): a TAILQ per priority in the CPU's pcpu words ---- */

function runq_head(gd: Globaldata, pri: number): Ptr { return gd.pcpu + PC.pc_runq + pri * 2; }

function runq_insert_tail(gd: Globaldata, td: Ptr): void {
  const pri = k32[td + TD.td_pri];
  TAILQ_INSERT_TAIL(runq_head(gd, pri), td, TD.td_rq_next);
  gd.runqmask |= 1 << pri;
}

function runq_remove(gd: Globaldata, td: Ptr): void {
  const pri = k32[td + TD.td_pri];
  const h = runq_head(gd, pri);
  TAILQ_REMOVE(h, td, TD.td_rq_next);
  if (k32[h] === NULL) gd.runqmask &= ~(1 << pri);
}

/* ---- scheduling ---- */

/* Put td on its run queue unless it is already there, sleeping in tsleep, or gone. */
export function _lwkt_enqueue(td: Ptr): void {
  const f = k32[td + TD.td_flags];
  if ((f & (TDF_RUNQ | TDF_TSLEEPQ | TDF_EXITED)) === 0) {
    k32[td + TD.td_flags] = f | TDF_RUNQ;
    runq_insert_tail(mycpu, td);
  }
}

/*
 * Make td runnable.  On another CPU this is an IPI, so the wake-up happens later, on
 * that CPU.  A thread in tsleep is not made runnable: only wakeup, its timeout or a
 * signal take it off the sleep queue.
 */
export function lwkt_schedule(td: Ptr): void {
  const gd = mycpu;
  const cpu = k32[td + TD.td_cpu];
  if (cpu !== gd.cpuid) {
    lwkt_send_ipiq3(cpu, id_schedule_remote, td, k32[td + TD.td_id], 0);
    return;
  }
  _lwkt_enqueue(td);
  if (k32[td + TD.td_pri] > k32[gd.curtd + TD.td_pri]) gd.need_resched = true;
}

function lwkt_schedule_remote(td: Ptr, id: number): void {
  // The thread may have exited (and its descriptor been reused) since the IPI was sent.
  if (k32[td + TD.td_id] !== id || k32[td + TD.td_cpu] !== mycpu.cpuid) return;
  lwkt_schedule(td);
}

export function lwkt_deschedule_self(td: Ptr): void {
  KASSERT(td === mycpu.curtd, 'lwkt_deschedule_self: not the current thread');
  const f = k32[td + TD.td_flags];
  if (f & TDF_RUNQ) {
    k32[td + TD.td_flags] = f & ~TDF_RUNQ;
    runq_remove(mycpu, td);
  }
}

/* Take a thread of this CPU off its run queue (lwkt_deschedule). */
export function lwkt_deschedule(td: Ptr): void {
  KASSERT(k32[td + TD.td_cpu] === mycpu.cpuid, 'lwkt_deschedule: thread of another CPU');
  const f = k32[td + TD.td_flags];
  if (f & TDF_RUNQ) {
    k32[td + TD.td_flags] = f & ~TDF_RUNQ;
    runq_remove(mycpu, td);
  }
}

/* lwkt_switch: give the CPU to the best runnable thread, which may be this one. */
export function lwkt_switch(): Blocking<void> { return SWITCH_ONCE; }

/* lwkt_yield: let threads of equal priority run first. */
export function lwkt_yield(): Blocking<void> { return SWITCH_ONCE; }

/* An interrupt window: IPIs and callouts may run here unless in a critical section. */
export function lwkt_step(): Blocking<void> { return STEP_ONCE; }

/* ---- critical sections: a per-thread count, not a lock ---- */

export function crit_enter(): void {
  k32[mycpu.curtd + TD.td_critcount]++;
}

export function crit_exit(): void {
  const gd = mycpu;
  const c = --k32[gd.curtd + TD.td_critcount];
  if (c === 0) {
    sched_want(SP_CRIT_EXIT, 0);
    if (ipiq_pending_hint(gd)) lwkt_process_ipiq_all(gd);
  } else if (c < 0) {
    panic('crit_exit: critical section count went negative');
  }
}

export function crit_count(): number { return k32[mycpu.curtd + TD.td_critcount]; }

/* ---- creation and exit ---- */

export interface ThreadSpec {
  name: string;
  pri: number;
  gen: ThreadGen;
}

/*
 * Create a thread on this CPU and make it runnable (lwkt_create + lwkt_schedule).
 * Returns its descriptor, or NULL when the thread zone is empty.  A TDF_SYSTHREAD
 * (a service thread that waits for work forever) is not counted among the live threads,
 * so it neither keeps a run going nor hides a deadlock of the others.
 */
export function lwkt_create(gd: Globaldata, name: string, pri: number, gen: ThreadGen, flags = 0): Ptr {
  if (!(pri >= 0 && pri <= TDPRI_MAX)) panic(`lwkt_create: bad priority ${pri}`);
  const td = zalloc(Z_THREAD);
  if (td === NULL) return NULL;
  lwkt_init_td(gd, td, name, pri);
  gd.gens[k32[td + TD.td_slot]] = gen;
  k32[td + TD.td_flags] |= flags & (TDF_SYSTHREAD | TDF_NOJOIN);
  if ((flags & TDF_SYSTHREAD) === 0) Atomics.add(k32, H_LIVE, 1);
  k32[gd.pcpu + PC.pc_nthreads]++;
  _lwkt_enqueue_on(gd, td);
  return td;
}

function lwkt_init_td(gd: Globaldata, td: Ptr, name: string, pri: number): void {
  const zd = zone_desc(Z_THREAD);
  k32[td + TD.td_id] = Atomics.add(k32, H_NEXT_TID, 1) + 1;
  k32[td + TD.td_slot] = (td - k32[zd + ZD.zd_base]) / k32[zd + ZD.zd_item_words];
  kmem_putstr(ku8, (td + TD.td_comm) * 4, TD_COMM_BYTES, name);
  k32[td + TD.td_cpu] = gd.cpuid;
  k32[td + TD.td_pri] = pri;
  lwkt_initport_thread(td + TD.td_msgport, td);
}

function _lwkt_enqueue_on(gd: Globaldata, td: Ptr): void {
  const f = k32[td + TD.td_flags];
  if ((f & (TDF_RUNQ | TDF_TSLEEPQ | TDF_EXITED)) === 0) {
    k32[td + TD.td_flags] = f | TDF_RUNQ;
    runq_insert_tail(gd, td);
  }
}

/* The idle thread of a CPU: never on a run queue; current when nothing else runs. */
export function lwkt_init_idle(gd: Globaldata): void {
  const td = zalloc(Z_THREAD);
  if (td === NULL) panic(`cpu${gd.cpuid}: no thread descriptor for the idle thread`);
  lwkt_init_td(gd, td, `idle${gd.cpuid}`, TDPRI_IDLE_THREAD);
  gd.idletd = td;
  gd.curtd = td;
}

export function td_name(td: Ptr): string { return kmem_getstr(ku8, (td + TD.td_comm) * 4, TD_COMM_BYTES); }

function lwkt_exit(gd: Globaldata, td: Ptr, result: unknown, error: unknown): void {
  lwkt_relalltokens(td);
  const f = k32[td + TD.td_flags];
  if (f & TDF_RUNQ) runq_remove(gd, td);
  KASSERT((f & TDF_TSLEEPQ) === 0, 'lwkt_exit: thread still on a sleep queue');
  const port = td + TD.td_msgport;
  if (k32[port + PORT.mp_msgq_head] !== NULL || k32[port + PORT.mp_prioq_head] !== NULL) {
    panic(`lwkt_exit: thread '${td_name(td)}' exits with messages queued on its port`);
  }
  if ((f & TDF_SYSTHREAD) === 0) Atomics.sub(k32, H_LIVE, 1);
  k32[td + TD.td_flags] = TDF_EXITED;
  const id = k32[td + TD.td_id];
  const name = td_name(td);
  gd.gens[k32[td + TD.td_slot]] = undefined;
  k32[gd.pcpu + PC.pc_nthreads]--;
  gd.curtd = gd.idletd;
  k32[gd.pcpu + PC.pc_curtd] = NULL;
  k32[td + TD.td_id] = 0;
  zfree(Z_THREAD, td);
  if ((f & TDF_NOJOIN) === 0 || error !== undefined) gd.hooks.thread_exit(id, name, result, error);
}

/*
 * Move the current thread to another CPU (lwkt_setcpu_self).  A thread's kernel stack is
 * a generator living in its CPU's JS isolate, and a suspended generator cannot move
 * between isolates: so this works in the deterministic engine, where every CPU shares
 * one isolate, and gives EOPNOTSUPP in the parallel engine.
 */
export function* lwkt_setcpu_self(cpu: number): Blocking<number> {
  const gd = mycpu;
  if (cpu === gd.cpuid) return 0;
  if (!det_engine) return EOPNOTSUPP;
  if (cpu < 0 || cpu >= migrate_cpus.length || migrate_cpus[cpu] === undefined) return EINVAL;
  const td = gd.curtd;
  lwkt_deschedule_self(td);
  k32[td + TD.td_flags] |= TDF_BLOCKED;
  migrating.set(td, cpu);
  yield EFF_SWITCH;   // lwkt_switch_out hands the thread to the target CPU
  return 0;
}

let migrate_cpus: Globaldata[] = [];
const migrating = new Map<Ptr, number>();
export function lwkt_migrate_attach(cpus: Globaldata[]): void { migrate_cpus = cpus; }

function lwkt_migrate_out(gd: Globaldata, td: Ptr): void {
  const cpu = migrating.get(td)!;
  migrating.delete(td);
  const slot = k32[td + TD.td_slot];
  const target = migrate_cpus[cpu];
  target.gens[slot] = gd.gens[slot];
  gd.gens[slot] = undefined;
  k32[gd.pcpu + PC.pc_nthreads]--;
  k32[target.pcpu + PC.pc_nthreads]++;
  k32[td + TD.td_cpu] = cpu;
  k32[td + TD.td_flags] &= ~TDF_BLOCKED;
  // The target's run queue is its own: schedule it there by IPI.
  lwkt_send_ipiq3(cpu, id_schedule_remote, td, k32[td + TD.td_id], 0);
}

/* ---- the CPU loop's step ---- */

/*
 * Pick the best runnable thread whose tokens can all be had, and move it to the tail
 * of its queue (DragonFly's round robin).  NULL when none can run.
 */
function lwkt_pick(gd: Globaldata): Ptr {
  let mask = gd.runqmask;
  while (mask !== 0) {
    const pri = 31 - Math.clz32(mask);
    mask &= ~(1 << pri);
    const h = runq_head(gd, pri);
    for (let td = k32[h]; td !== NULL; td = k32[td + TD.td_rq_next]) {
      if (k32[td + TD.td_ntoks] !== 0 && !lwkt_getalltokens(td)) {
        k32[td + TD.td_flags] |= TDF_TOKWAIT;
        continue;
      }
      if (k32[h + 1] !== td) {
        runq_remove(gd, td);
        runq_insert_tail(gd, td);
      }
      return td;
    }
  }
  return NULL;
}

/* Switch the current thread out: its tokens go, and no spinlock may be held. */
function lwkt_switch_out(gd: Globaldata, td: Ptr): void {
  if (k32[gd.pcpu + PC.pc_spinlocks] !== 0) {
    panic(`lwkt_switch: thread '${td_name(td)}' switched holding a spinlock${witness_on ? wops.held_spinlocks(td) : ''}`);
  }
  if (k32[td + TD.td_ntoks] !== 0 && (kbugs === 0 || !token_bug(td))) lwkt_relalltokens(td);
  if (invariants_on) inv_switch_out(td);
  k32[td + TD.td_flags] &= ~TDF_RUNNING;
  gd.curtd = gd.idletd;
  k32[gd.pcpu + PC.pc_curtd] = NULL;
  if (migrating.size !== 0 && migrating.has(td)) lwkt_migrate_out(gd, td);
}

/*
 * Injected bug token-held-across-block (kern_fail.ts): a thread that blocks (off its run
 * queue: asleep, waiting for a message) keeps its tokens, so others that need them stall
 * until it runs again.  A thread that only yields still releases them.
 */
function token_bug(td: Ptr): boolean {
  return (k32[td + TD.td_flags] & TDF_RUNQ) === 0 && bug_hit(BUG_TOKEN_HELD_ACROSS_BLOCK);
}

export const STEP_RAN = 0;
export const STEP_IDLE = 1;

/*
 * Run one thread until it yields.  Returns STEP_IDLE when nothing could run (the
 * engine then polls, sleeps, or in the deterministic engine advances time).
 */
export function cpu_step(gd: Globaldata): number {
  let td = gd.curtd;
  if (td !== gd.idletd) {
    // The current thread stopped at an interrupt window.
    if (k32[td + TD.td_critcount] === 0) {
      if (ipiq_pending_hint(gd)) lwkt_process_ipiq_all(gd);
      if (gd.co_n !== 0) callout_check(gd);
      if (gd.need_resched) {
        gd.need_resched = false;
        if (gd.runqmask >>> TDPRI_PREEMPT !== 0 && 31 - Math.clz32(gd.runqmask) > k32[td + TD.td_pri]) {
          lwkt_switch_out(gd, td);   // preempted by an interrupt-priority thread
          td = gd.idletd;
        }
      }
    }
  }
  if (td === gd.idletd) {
    if (ipiq_pending_hint(gd) || gd.co_n !== 0) {
      const idle_before = gd.runqmask === 0;
      idle_intr(gd, callout_check);
      // With fine scheduling points, what the interrupt woke starts at a step of its own:
      // other CPUs may run between the wake-up and the woken thread's first instruction.
      if (sp_fine && idle_before && gd.runqmask !== 0) return STEP_RAN;
    }
    td = lwkt_pick(gd);
    if (td === NULL) {
      Atomics.store(k32, gd.pcpu + PC.pc_state, CPUSTATE_IDLE);
      return STEP_IDLE;
    }
    k32[gd.pcpu + PC.pc_state] = CPUSTATE_RUN;
    k32[td + TD.td_flags] = (k32[td + TD.td_flags] | TDF_RUNNING) & ~TDF_TOKWAIT;
    gd.rr_start = -1;   // a new quantum (kern_usched.ts reads the clock when it first looks)
    gd.curtd = td;
    k32[gd.pcpu + PC.pc_curtd] = td;
    kf64[(gd.pcpu + PC.pc_switches_f64) >> 1]++;
  }
  cpu_resume(gd, td);
  return STEP_RAN;
}

function cpu_resume(gd: Globaldata, td: Ptr): void {
  const gen = gd.gens[k32[td + TD.td_slot]];
  if (gen === undefined) panic(`cpu${gd.cpuid}: thread ${k32[td + TD.td_id]} has no kernel stack here`);
  kf64[(gd.pcpu + PC.pc_steps_f64) >> 1]++;
  k32[gd.pcpu + PC.pc_epoch]++;
  let r: IteratorResult<number, unknown>;
  try {
    r = gen.next(RESUMED);
  } catch (e) {
    if (e instanceof Error && (e.name === 'KernelPanic' || e.name === 'KernelHalt')) throw e;
    // A kernel thread that throws panics the machine.
    const err = e instanceof Error ? e : new Error(String(e));
    const p = new Error(`thread '${td_name(td)}' (id ${k32[td + TD.td_id]}) threw: ${err.message}${spawn_hint(err)}`);
    p.name = 'KernelPanic';
    p.stack = err.stack;
    throw p;
  }
  if (det_engine) trace_event(gd, td, r.done ? EV_EXIT : r.value);
  if (r.done) {
    lwkt_exit(gd, td, r.value, undefined);
  } else if (r.value === EFF_SWITCH) {
    lwkt_switch_out(gd, td);
  }
  // EFF_STEP / EFF_SPIN: td stays current; the next step resumes it.
}

/* What a resume ended with, as the trace records it: an effect, EV_EXIT, or a scheduling point's kind. */
export const EV_EXIT = 3;

/*
 * Hash (and with traceLog, log) how a resume ended: the effect, or for an EFF_STEP at a
 * scheduling point the point's kind and argument.
 */
/*
 * A kernel thread that reads a system call off an undefined first argument is most likely
 * a program started with spawn, which passes no Sys: say so.
 */
function spawn_hint(e: Error): string {
  const m = /Cannot read properties of (?:undefined|null) \(reading '([\w$]+)'\)/.exec(e.message);
  return m !== null && (SYSCALL_NAMES.includes(m[1]) || m[1] === 'print')
    ? ` (a program? start it with spawnProcess, which gives it its Sys; spawn starts a kernel thread)` : '';
}

function trace_event(gd: Globaldata, td: Ptr, what: number): void {
  let arg = 0;
  const kind = gd.sp_kind;
  gd.sp_kind = 0;
  if (what === EFF_STEP && kind !== 0) {
    what = kind;
    arg = gd.sp_arg;
  }
  let h = gd.trace_hash;
  h = Math.imul(h ^ k32[td + TD.td_id], 0x01000193);
  h = Math.imul(h ^ what, 0x01000193);
  gd.trace_hash = h;
  if (gd.trace_log !== null) gd.trace_push(td, what, arg);
}

function callout_check(gd: Globaldata): void {
  // Reading the real clock costs ~70 ns: the parallel engine looks every 64 steps.
  if (!det_engine && --gd.co_next_check > 0) return;
  gd.co_next_check = 64;
  callout_run_due(gd, nanotime());
}

function callout_run_now(gd: Globaldata): void { callout_run_due(gd, nanotime()); }

/*
 * Interrupt work (IPIs, then callouts through `callouts`) on an idle CPU.  The CPU counts
 * as running while it does it, and after it while a thread it woke waits on the run queue
 * to be picked: the parallel engine's deadlock check reads pc_ipipend and pc_ncallouts
 * before pc_state, and must never find "nothing pending, CPU idle" with the work taken
 * and its thread not yet running.  The store comes before the atomic exchange that takes
 * the IPIs, so a host that sees them taken sees the CPU running.
 */
function idle_intr(gd: Globaldata, callouts: (gd: Globaldata) => void): void {
  const st = gd.pcpu + PC.pc_state;
  Atomics.store(k32, st, CPUSTATE_RUN);
  if (ipiq_pending_hint(gd)) lwkt_process_ipiq_all(gd);
  if (gd.co_n !== 0) callouts(gd);
  if (gd.runqmask === 0) Atomics.store(k32, st, CPUSTATE_IDLE);
}

/* The engines' idle bookkeeping: run IPIs and every due callout (the clock read each time). */
export function cpu_idle_work(gd: Globaldata): void {
  if (ipiq_pending_hint(gd) || gd.co_n !== 0) idle_intr(gd, callout_run_now);
}

export function cpu_has_work(gd: Globaldata): boolean {
  return gd.runqmask !== 0 || gd.curtd !== gd.idletd || ipiq_pending_hint(gd);
}

/* ---- IPI functions ---- */

let id_schedule_remote = 0;
kfunc_register('lwkt_schedule_remote', lwkt_schedule_remote as (...a: number[]) => unknown);
kfunc_on_attach(() => { id_schedule_remote = kfunc_register('lwkt_schedule_remote', lwkt_schedule_remote as (...a: number[]) => unknown); });

export { EFF_SWITCH, EFF_STEP };
