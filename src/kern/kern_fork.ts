/*
 * kern_fork.ts: making the thread that runs a new process (spawn, fork) or a new thread
 * of a process (thread), on a chosen CPU, and joining a thread.
 * Stands for DragonFly 2008 kern_fork.c's fork1 tail (lwp_fork, start_forked_proc:
 * the child's first lwp is made and scheduled) and for the creation and joining of
 * further lwps (lwp_create, lwp_wait).
 *
 * A thread's kernel stack is a generator of the isolate its CPU runs in, so a thread is
 * always made by its own CPU: the requester fills an exec request (kmem), sends it by
 * IPI (or serves it at once when the CPU is its own), and sleeps until the target has
 * made and scheduled the thread.  The target finds the program's generator function by
 * identity when it shares the requester's isolate (the same CPU, or any CPU of the
 * deterministic engine), else by the module URL and export name the requester found it
 * under; a module that CPU has not loaded yet is imported first (the engine's
 * load_export hook: like exec reading an image from disk, the requester just waits).
 *
 * Join slots (PROC.p_jslots) hold a thread() thread from its request until it is joined:
 * reserved by the requester (so the P_MAXTHREADS bound is checked before anything is
 * made), running, then done with its result.
 */

import { k32 } from '../../shared/kmem.js';
import { layout, NULL, type Ptr } from '../../shared/struct.js';
import type { Blocking } from '../../shared/effect.js';
import { EAGAIN, EDEADLK, ENOEXEC, ENOMEM, ESRCH } from '../../shared/errno.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { zalloc, zfree, Z_KMALLOC16 } from '../../shared/zone.js';
import { kstr_get, kstr_intern } from '../../shared/kstr.js';
import { det_engine } from '../../shared/cpu.js';
import { mycpu, set_mycpu, type ThreadGen } from '../lwkt/globaldata.js';
import { kfunc_on_attach, kfunc_register } from '../lwkt/kfunc.js';
import { lwkt_send_ipiq } from '../lwkt/lwkt_ipiq.js';
import { crit_enter, crit_exit, lwkt_create } from '../lwkt/lwkt_thread.js';
import { msleep, tsleep, tsleep_interlock, wakeup, PCATCH } from '../lwkt/kern_synch.js';
import { TD, TDF_NOJOIN, TDPRI_USER_NORM } from '../lwkt/thread.js';
import { JSLOT, JS_DONE, JS_FREE, JS_RESERVED, JS_RUNNING, PROC, P_MAXTHREADS, P_WEXIT } from '../sys/proc.js';
import { exec_args_copyin, exec_args_copyout, exec_args_free } from './kern_exec_args.js';
import { proc_attach_thread } from './kern_proc.js';
import { exit_chan } from './kern_exit.js';

/* What the new thread is. */
export const ER_SPAWN = 1;     // the first thread of a new process, its image a new program (exec)
export const ER_FORK = 2;      // the first thread of a forked process, keeping the parent's handlers
export const ER_THREAD = 3;    // another thread of an existing process

/* An exec request (a kmalloc16 item), from the requester to the CPU that makes the thread. */
const EXECREQ = layout('execreq', {
  er_state: 1,       // 0 pending, 1 made, -errno failed (Atomics)
  er_kind: 1,        // ER_*
  er_p: 1,           // the process the thread joins
  er_slot: 1,        // ER_THREAD: its join slot
  er_args: 1,        // the arguments (kern_exec_args.ts blob), freed by the requester
  er_mod: 1,         // kstr id of the program's module URL (0 when found by identity)
  er_exp: 1,         // kstr id of its export name
  er_name: 1,        // kstr id of the thread's name
  er_tid: 1,         // made: the thread's td_id
});

export type Handlers = (((sig: number) => void) | undefined)[];
export type ProgramFn = (...args: unknown[]) => unknown;

/* The bodies kern_exec.ts provides (set once at load: kern_exec imports this file). */
export interface ExecBodies {
  main(p: Ptr, fn: ProgramFn, args: unknown[], name: string, handlers: Handlers | null): ThreadGen;
  thread(p: Ptr, slot: number, fn: ProgramFn, args: unknown[], handlers: Handlers | null): ThreadGen;
}
let bodies: ExecBodies | null = null;
export function exec_set_bodies(b: ExecBodies): void { bodies = b; }

/* Is fn a generator function (a program)? */
export function is_program(fn: unknown): fn is ProgramFn {
  return typeof fn === 'function' && Object.prototype.toString.call(fn) === '[object GeneratorFunction]';
}

/* Requests whose program travels by identity (same isolate), by request pointer. */
const local = new Map<Ptr, { fn: ProgramFn; handlers: Handlers | null }>();

let id_exec_serve = 0;
kfunc_on_attach(() => { id_exec_serve = kfunc_register('exec_serve', exec_serve as (...a: number[]) => unknown); });

/*
 * exec_request: have CPU cpu make a thread of process p (kind ER_*) running fn with
 * args; its td_id in k32[res].  ENOEXEC when fn must cross to another isolate and is no
 * export of a module loaded here (or cannot be loaded there), E2BIG/EINVAL when args
 * cannot be copied, ENOMEM or EAGAIN when memory or thread descriptors are short.  On
 * failure nothing is left behind here; the caller undoes its own preparations.  Blocks
 * (not interruptibly) until the thread is made.
 */
export function* exec_request(kind: number, p: Ptr, slot: number, cpu: number, fn: ProgramFn,
    handlers: Handlers | null, args: unknown[], name: string, res: Ptr): Blocking<number> {
  const blob = exec_args_copyin(args);
  if (blob < 0) return -blob;
  const req = zalloc(Z_KMALLOC16);
  if (req === NULL) {
    exec_args_free(blob);
    return ENOMEM;
  }
  k32[req + EXECREQ.er_kind] = kind;
  k32[req + EXECREQ.er_p] = p;
  k32[req + EXECREQ.er_slot] = slot;
  k32[req + EXECREQ.er_args] = blob;
  k32[req + EXECREQ.er_name] = kstr_intern(name.slice(0, 64));
  if (cpu === mycpu.cpuid) {
    local.set(req, { fn, handlers });
  } else {
    // Another CPU finds the program again by module and export.  The deterministic engine
    // could hand the function over (every CPU shares its isolate), but then a closure would
    // run there and fail in the parallel engine: both engines refuse it here, alike.
    const where = mycpu.hooks.module_of?.(fn) ?? null;
    if (where === null) {
      exec_args_free(blob);
      zfree(Z_KMALLOC16, req);
      return ENOEXEC;
    }
    if (det_engine) {
      local.set(req, { fn, handlers });
    } else {
      k32[req + EXECREQ.er_mod] = kstr_intern(where.url);
      k32[req + EXECREQ.er_exp] = kstr_intern(where.name);
    }
  }
  lwkt_send_ipiq(cpu, id_exec_serve, req);   // served at once when cpu is ours
  crit_enter();
  for (;;) {
    tsleep_interlock(req);
    if (Atomics.load(k32, req + EXECREQ.er_state) !== 0) break;
    yield* tsleep(req, 0, 'fork', 0);
  }
  crit_exit();
  const st = k32[req + EXECREQ.er_state];
  k32[res] = k32[req + EXECREQ.er_tid];
  exec_args_free(blob);
  zfree(Z_KMALLOC16, req);
  return st > 0 ? 0 : -st;
}

/* On the target CPU (an IPI, or a direct call): find the program, then make the thread. */
function exec_serve(req: Ptr): void {
  const ent = local.get(req);
  if (ent !== undefined) {
    local.delete(req);
    exec_make(req, ent.fn, ent.handlers);
    return;
  }
  const gd = mycpu;
  const load = gd.hooks.load_export;
  if (load === undefined || k32[req + EXECREQ.er_mod] === 0) {
    exec_done(req, -ENOEXEC);
    return;
  }
  load(kstr_get(k32[req + EXECREQ.er_mod]), kstr_get(k32[req + EXECREQ.er_exp]), (fn) => {
    set_mycpu(gd);
    if (is_program(fn)) exec_make(req, fn, null);
    else exec_done(req, -ENOEXEC);
  });
}

function exec_done(req: Ptr, state: number): void {
  Atomics.store(k32, req + EXECREQ.er_state, state);
  wakeup(req);
}

function exec_make(req: Ptr, fn: ProgramFn, handlers: Handlers | null): void {
  KASSERT(bodies !== null, 'exec_make: kern_exec is not loaded');
  const kind = k32[req + EXECREQ.er_kind], p = k32[req + EXECREQ.er_p], slot = k32[req + EXECREQ.er_slot];
  const args = exec_args_copyout(k32[req + EXECREQ.er_args]) as unknown[];
  const name = kstr_get(k32[req + EXECREQ.er_name]);
  const gen = kind === ER_THREAD ? bodies.thread(p, slot, fn, args, handlers)
    : bodies.main(p, fn, args, name, kind === ER_FORK ? handlers : null);
  const td = lwkt_create(mycpu, name, TDPRI_USER_NORM, gen, TDF_NOJOIN);
  if (td === NULL) {
    exec_done(req, -EAGAIN);
    return;
  }
  // Attached before it can run (it runs on this CPU, after this returns).
  KASSERT(proc_attach_thread(p, td) === 0, 'exec_make: no room for a reserved thread');
  const tid = k32[td + TD.td_id];
  if (kind === ER_THREAD) {
    spin_lock(p + PROC.p_spin);
    const js = jslot(p, slot);
    k32[js + JSLOT.js_tid] = tid;
    k32[js + JSLOT.js_state] = JS_RUNNING;
    spin_unlock(p + PROC.p_spin);
  }
  k32[req + EXECREQ.er_tid] = tid;
  exec_done(req, 1);
}

/* ---- join slots ---- */

function jslot(p: Ptr, slot: number): Ptr { return p + PROC.p_jslots + slot * JSLOT.SIZE; }

/*
 * thread_reserve: a join slot for a new thread of p, counted against P_MAXTHREADS with
 * the threads p has: its index, or -EAGAIN when p is full or exiting.  Never blocks.
 */
export function thread_reserve(p: Ptr): number {
  spin_lock(p + PROC.p_spin);
  let used = k32[p + PROC.p_nthreads], free = -1;
  for (let i = 0; i < P_MAXTHREADS; i++) {
    const st = k32[jslot(p, i) + JSLOT.js_state];
    if (st === JS_RESERVED) used++;
    else if (st === JS_FREE && free < 0) free = i;
  }
  if (used >= P_MAXTHREADS || free < 0 || (k32[p + PROC.p_flag] & P_WEXIT) !== 0) {
    spin_unlock(p + PROC.p_spin);
    return -EAGAIN;
  }
  const js = jslot(p, free);
  k32[js + JSLOT.js_state] = JS_RESERVED;
  k32[js + JSLOT.js_tid] = 0;
  k32[js + JSLOT.js_res] = NULL;
  spin_unlock(p + PROC.p_spin);
  return free;
}

/* thread_unreserve: the thread of a reserved slot could not be made.  Never blocks. */
export function thread_unreserve(p: Ptr, slot: number): void {
  spin_lock(p + PROC.p_spin);
  k32[jslot(p, slot) + JSLOT.js_state] = JS_FREE;
  spin_unlock(p + PROC.p_spin);
  wakeup(exit_chan(p));
}

/* thread_done: the thread of slot ended with result blob res (NULL: none).  Never blocks. */
export function thread_done(p: Ptr, slot: number, res: Ptr): void {
  spin_lock(p + PROC.p_spin);
  const js = jslot(p, slot);
  k32[js + JSLOT.js_res] = res;
  k32[js + JSLOT.js_state] = JS_DONE;
  spin_unlock(p + PROC.p_spin);
  wakeup(js);
}

/*
 * kern_thread_join: wait for thread tid of p to end and take its result blob (the
 * caller frees it) into k32[res].  EDEADLK for the caller itself, ESRCH when p has no
 * such thread (or another joiner took it); EINTR/ERESTART when a signal interrupts.
 * Blocks.
 */
export function* kern_thread_join(p: Ptr, tid: number, self: number, res: Ptr): Blocking<number> {
  if (tid === self) return EDEADLK;
  spin_lock(p + PROC.p_spin);
  for (;;) {
    let js = NULL;
    for (let i = 0; i < P_MAXTHREADS && js === NULL; i++) {
      const s = jslot(p, i);
      const st = k32[s + JSLOT.js_state];
      if ((st === JS_RUNNING || st === JS_DONE) && k32[s + JSLOT.js_tid] === tid) js = s;
    }
    if (js === NULL) {
      spin_unlock(p + PROC.p_spin);
      return ESRCH;
    }
    if (k32[js + JSLOT.js_state] === JS_DONE) {
      k32[res] = k32[js + JSLOT.js_res];
      k32[js + JSLOT.js_state] = JS_FREE;
      k32[js + JSLOT.js_res] = NULL;
      spin_unlock(p + PROC.p_spin);
      return 0;
    }
    const e = yield* msleep(js, p + PROC.p_spin, PCATCH, 'join', 0);
    if (e !== 0) {
      spin_unlock(p + PROC.p_spin);
      return e;
    }
  }
}
