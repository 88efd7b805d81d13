/*
 * effect.ts: what a kernel thread yields to its CPU's scheduler.
 *
 * A kernel thread is a generator.  A function that may block returns Blocking<T> and is
 * called with yield*, so "may sleep" shows in every signature as M_WAITOK does in the
 * kernel; one that never blocks is a plain function.  The value yielded is a small
 * integer, never an object: whatever the scheduler needs (wait channel, message) was
 * already written into the thread's descriptor by the function that blocks.
 */

export const EFF_SWITCH = 0;  // lwkt_switch(): pick the best runnable thread (maybe this one)
export const EFF_STEP = 1;    // an interrupt window: run pending IPIs and callouts unless in a
                              // critical section; the deterministic engine may run other CPUs
export const EFF_SPIN = 2;    // spinning on a lock (deterministic engine): like EFF_STEP, counted

export type Effect = typeof EFF_SWITCH | typeof EFF_STEP | typeof EFF_SPIN;
export type Blocking<T = void> = Generator<Effect, T, unknown>;

/*
 * A Blocking<T> written by hand instead of as a generator: the rest of the iterator
 * protocol, for classes that supply next().  The kernel never calls return() or throw()
 * on a thread; they are here because yield* requires them.
 */
export abstract class Resumable<T> implements Generator<Effect, T, unknown> {
  abstract next(v?: unknown): IteratorResult<Effect, T>;
  return(value: T): IteratorResult<Effect, T> { return { done: true, value }; }
  throw(e: unknown): IteratorResult<Effect, T> { throw e; }
  [Symbol.iterator](): Generator<Effect, T, unknown> { return this; }
}

/*
 * A Blocking<T> that completes without blocking and without a generator frame (which
 * costs ~40 ns to create here).  Fast paths return one of these; yield* on it costs a
 * next() call.
 */
class Done<T> extends Resumable<T> {
  readonly result: { done: true; value: T };
  constructor(value: T) { super(); this.result = { done: true, value }; }
  next(): IteratorResult<Effect, T> { return this.result; }
}
export const DONE_VOID: Blocking<void> = new Done<void>(undefined);
const done_int: Blocking<number>[] = [];
for (let i = 0; i < 128; i++) done_int.push(new Done<number>(i));
/* A completed Blocking<number> for small non-negative results (errno values). */
export function done_num(n: number): Blocking<number> {
  return n >= 0 && n < 128 ? done_int[n] : new Done<number>(n);
}

/*
 * A completed Blocking<T> whose value is set per use: one per isolate and type, reused.
 * Only for a result its caller reads at once (yield*, or is_done/done_value) before
 * anything else can run on this CPU: the next set() overwrites it.
 */
export class DoneCell<T> extends Done<T> {
  set(v: T): this { this.result.value = v; return this; }
}

/* done_count: a completed Blocking<number> for any number (a byte count), read at once. */
const done_count_cell = new DoneCell<number>(0);
export function done_count(n: number): Blocking<number> {
  return n >= 0 && n < 128 ? done_int[n] : done_count_cell.set(n);
}

/*
 * is_done: b completed without blocking (one of the objects above); done_value(b) is its
 * result.  Anything else is a generator that must run with yield*.  The plain dispatchers
 * on the socket paths use these to go on without a frame of their own when what they
 * called did not block, and hand b to their generator (slow path) when it would.
 */
export function is_done(b: Blocking<unknown>): boolean { return b instanceof Done; }
export function done_value<T>(b: Blocking<T>): T { return (b as Done<T>).result.value; }

/*
 * The scheduler resumes every thread with next(RESUMED).  That lets a yield-once iterator
 * be a shared constant with no state: yield* calls its next() first with undefined (yield
 * the effect), and again with RESUMED when the thread is resumed (done).  lwkt_yield and
 * lwkt_step use these, saving the ~40 ns generator frame of the obvious version.
 */
export const RESUMED = 0x7e5;

class YieldOnce<T> extends Resumable<T> {
  private readonly yielded: IteratorYieldResult<Effect>;
  private readonly finished: IteratorReturnResult<T>;
  constructor(effect: Effect, value: T) {
    super();
    this.yielded = { done: false, value: effect };
    this.finished = { done: true, value };
  }
  next(v?: unknown): IteratorResult<Effect, T> { return v === RESUMED ? this.finished : this.yielded; }
  override return(): IteratorResult<Effect, T> { return this.finished; }
}
export const SWITCH_ONCE: Blocking<void> = new YieldOnce<void>(EFF_SWITCH, undefined);
export const STEP_ONCE: Blocking<void> = new YieldOnce<void>(EFF_STEP, undefined);
