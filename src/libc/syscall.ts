/*
 * syscall.ts: the trap around every system call (what DragonFly's syscall2() is around
 * a call's handler): its entry and its return are scheduling points, and at its return a
 * user thread that has spent its quantum gives up its CPU (kern_usched.ts).
 *
 * Each Sys method is the user half of one call with its kernel half.  Rather than edit
 * sixty methods, install() wraps each on the prototype once, as syscall2() is one place
 * for every handler.  Outside a trap the wrapper costs one function call and a test; a
 * call runs in a Trap only when something must happen around it:
 *  - fine scheduling points (the deterministic engine): a point at entry (yield before
 *    the call runs) and at return (yield with the errno, before the result or SysError
 *    reaches the program);
 *  - the quantum: checked when the call ends; a spent one yields EFF_SWITCH there.
 * The Trap runs the method's Blocking to completion under the caller's yield*, passing
 * the scheduler's resume values down and the call's effects up, and allocates nothing:
 * each Sys keeps its Traps, one per nesting depth (a method that calls another, as print
 * calls write, nests without points of its own).
 */

import { EFF_STEP, EFF_SWITCH, Resumable, type Blocking, type Effect } from '../../shared/effect.js';
import { mycpu } from '../lwkt/globaldata.js';
import { sp_fine, SP_SYSCALL, SP_SYSRET, SP_QUANTUM, SP_SYSCALL_NS, SP_POINT_NS } from '../lwkt/lwkt_schedpt.js';
import { usched_quantum_spent } from '../kern/kern_usched.js';
import { SysError } from './errors.js';
import { SYSCALL_NAMES } from '../sys/syscall.js';


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Method = (this: any, ...a: unknown[]) => Blocking<unknown>;

const NO_ERROR = Symbol('no error');

/* What the trap keeps on each Sys (a thread's). */
export interface TrapHost {
  trap_depth: number;
  trap_stack: Trap[];
}

const PH_ENTRY = 0;      // the entry point is next
const PH_CALL = 1;       // the call is to be started
const PH_RUN = 2;        // the call is running (delegating)
const PH_RETURNED = 3;   // yielded at the return; the result or error goes out next

export class Trap extends Resumable<unknown> {
  private phase = PH_ENTRY;
  private host: TrapHost | null = null;
  private fn: Method | null = null;
  private id = 0;
  private a0: unknown; private a1: unknown; private a2: unknown;
  private a3: unknown; private a4: unknown; private a5: unknown;
  private rest: unknown[] | null = null;
  private inner: Blocking<unknown> | null = null;
  private value: unknown = undefined;
  private err: unknown = NO_ERROR;
  private readonly step: IteratorYieldResult<Effect> = { done: false, value: EFF_STEP };
  private readonly sw: IteratorYieldResult<Effect> = { done: false, value: EFF_SWITCH };
  private readonly fin = { done: true as const, value: undefined as unknown };

  private quantum_due = false;

  start(host: TrapHost, fn: Method, id: number, quantum_due: boolean, a0: unknown, a1: unknown, a2: unknown,
      a3: unknown, a4: unknown, a5: unknown, rest: unknown[] | null): this {
    this.host = host;
    this.quantum_due = quantum_due;
    this.fn = fn;
    this.id = id;
    this.a0 = a0; this.a1 = a1; this.a2 = a2; this.a3 = a3; this.a4 = a4; this.a5 = a5;
    this.rest = rest;
    this.phase = sp_fine ? PH_ENTRY : PH_CALL;
    this.err = NO_ERROR;
    return this;
  }

  next(v?: unknown): IteratorResult<Effect, unknown> {
    const phase = this.phase;
    if (phase === PH_ENTRY) {
      this.phase = PH_CALL;
      const gd = mycpu;
      gd.sp_kind = SP_SYSCALL;
      gd.sp_arg = this.id;
      gd.vt_charge += SP_SYSCALL_NS;
      return this.step;
    }
    if (phase === PH_CALL) {
      try {
        const host = this.host as unknown;
        this.inner = this.rest !== null
          ? this.fn!.apply(host, this.rest)
          : this.fn!.call(host, this.a0, this.a1, this.a2, this.a3, this.a4, this.a5);
      } catch (e) {
        return this.end(undefined, e);
      }
      this.phase = PH_RUN;
      v = undefined;      // a Blocking is started with next(undefined)
    }
    if (this.phase === PH_RUN) {
      let r: IteratorResult<Effect, unknown>;
      try {
        r = this.inner!.next(v);
      } catch (e) {
        return this.end(undefined, e);
      }
      if (r.done !== true) return r;
      return this.end(r.value, NO_ERROR);
    }
    return this.finish();   // resumed after the return point
  }

  /* The call ended (value, or err thrown): the return point, the quantum, then out. */
  private end(value: unknown, err: unknown): IteratorResult<Effect, unknown> {
    this.inner = null;
    this.value = value;
    this.err = err;
    const gd = mycpu;
    if (this.quantum_due || (sp_fine && usched_quantum_spent(gd))) {
      this.phase = PH_RETURNED;
      gd.trace_note(SP_QUANTUM, this.id);
      return this.sw;
    }
    if (sp_fine) {
      this.phase = PH_RETURNED;
      gd.sp_kind = SP_SYSRET;
      gd.sp_arg = err === NO_ERROR ? 0 : err instanceof SysError ? err.errno : -1;
      gd.vt_charge += SP_POINT_NS;
      return this.step;
    }
    return this.finish();
  }

  private finish(): IteratorResult<Effect, unknown> {
    const host = this.host!;
    host.trap_depth--;
    this.host = null;
    this.fn = null;
    this.rest = null;
    this.a0 = this.a1 = this.a2 = this.a3 = this.a4 = this.a5 = undefined;
    const err = this.err;
    const value = this.value;
    this.value = undefined;
    this.err = NO_ERROR;
    if (err !== NO_ERROR) throw err;
    this.fin.value = value;
    return this.fin;
  }
}

/* Wrap every system call of cls's prototype in the trap.  Called once, by sys.ts. */
export function syscall_install(cls: { prototype: object }): void {
  const proto = cls.prototype as Record<string, Method>;
  SYSCALL_NAMES.forEach((name, id) => {
    const fn = proto[name];
    if (typeof fn !== 'function') throw new Error(`syscall_install: Sys has no method ${name}`);
    const variadic = name === 'fork';   // fork(fn, ...args): the arguments pass as they came
    // Without fine points the quantum is looked at when the call starts: a call that
    // blocks is switched out anyway, and its thread starts a new quantum when it resumes.
    proto[name] = variadic
      ? function (this: TrapHost, ...args: unknown[]): Blocking<unknown> {
        if (this.trap_depth !== 0) return fn.apply(this, args);
        const due = !sp_fine && usched_quantum_spent(mycpu);
        if (!sp_fine && !due) return fn.apply(this, args);
        return trap_get(this).start(this, fn, id, due, undefined, undefined, undefined, undefined, undefined, undefined,
          args);
      }
      : function (this: TrapHost, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown,
          a5?: unknown): Blocking<unknown> {
        if (this.trap_depth !== 0) return fn.call(this, a0, a1, a2, a3, a4, a5);
        const due = !sp_fine && usched_quantum_spent(mycpu);
        if (!sp_fine && !due) return fn.call(this, a0, a1, a2, a3, a4, a5);
        return trap_get(this).start(this, fn, id, due, a0, a1, a2, a3, a4, a5, null);
      };
    Object.defineProperty(proto[name], 'name', { value: name });
  });
}

function trap_get(host: TrapHost): Trap {
  const d = host.trap_depth++;
  let t = host.trap_stack[d];
  if (t === undefined) host.trap_stack[d] = t = new Trap();
  return t;
}
