/*
 * cont.ts: continuations for the waits on the hot socket paths, as reusable objects.
 *
 * A call that must sleep hands its caller a Blocking<number> to run with yield*.  Made
 * the obvious way, that is one generator object per function on the way down (Sys.send,
 * the system call, kern_sendmsg, sosend, ssb_wait, tsleep): some 2 kB of frames for each
 * wait, and a stream waits once per buffer-full.  A Cont is the same continuation written
 * by hand: an object with the caller's locals in fields and a step() that runs the code
 * after each wait.  Each kind of Cont is kept on a free list and goes back to it when it
 * finishes, so a wait allocates nothing once the CPU has seen as many at once.
 *
 * The protocol is yield*'s.  next() passes the value it is given (the scheduler's
 * RESUMED) to the iterator the Cont is waiting on, and passes that iterator's yields up
 * unchanged: V8 re-yields a delegate's result object without copying it, so a thread
 * asleep under several Conts and generators resumes without allocating.  When the
 * awaited iterator finishes, step(value) runs the next stage: it returns the next
 * iterator to wait on (started with next() and no value, as yield* starts one), or
 * FINISHED with the Cont's result in `result`.  A stage that throws (a SysError, a
 * panic) throws out of next() to the yield* that runs the Cont, as a generator's would;
 * such a Cont is dropped, not reused.
 */

import { Resumable, type Blocking, type Effect } from './effect.js';

/* What step() returns when the Cont has its result. */
export const FINISHED = null;

export abstract class Cont<T = number> extends Resumable<T> {
  private wait: Blocking<unknown> | null = null;
  private readonly fin: { done: true; value: T };
  protected result: T;

  constructor(init: T) {
    super();
    this.result = init;
    this.fin = { done: true, value: init };
  }

  /* Start: wait on first (already made by the caller, not yet started). */
  protected begin(first: Blocking<unknown>): this {
    this.wait = first;
    return this;
  }

  /* The stage after the awaited iterator finished with v: the next one to wait on, or FINISHED. */
  protected abstract step(v: unknown): Blocking<unknown> | null;

  /* Back on the free list: clear references the caller's objects. */
  protected abstract release(): void;

  next(v?: unknown): IteratorResult<Effect, T> {
    let it = this.wait!;
    let r = it.next(v);
    while (r.done === true) {
      const nxt = this.step(r.value);
      if (nxt === FINISHED) {
        this.wait = null;
        const fin = this.fin;
        fin.value = this.result;
        this.release();
        return fin;
      }
      it = this.wait = nxt;
      r = it.next();
    }
    return r;
  }
}
