/*
 * Helpers every test-thread module uses: a rendezvous word in kmem; a system call's
 * outcome; waiting until another thread is asleep in a given call.
 */
import {
  k32, NULL, TD, TDF_BLOCKED, TDF_TSLEEPQ, PROC, pfind, spin_lock, spin_unlock, tsleep, wakeup, type Blocking, type Ptr,
} from '../../src/kernel.js';
import { kstr_intern } from '../../shared/kstr.js';
import type { Sys } from '../../src/libc/sys.js';
import { SysError } from '../../src/libc/errors.js';

/* Wait (sleeping a tick at a time) until the word at w is non-zero; returns it. */
export function* await_word(w: number): Blocking<number> {
  let v: number;
  while ((v = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'await', 1);
  return v;
}

/* Store v in the word at w and wake whoever waits for it. */
export function publish(w: number, v: number): void {
  Atomics.store(k32, w, v);
  wakeup(w);
}

/* A call's result (a count, say), or its errno name. */
export function* count_or_code<T>(call: Blocking<T>): Blocking<T | string> {
  try {
    return yield* call;
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

/* Run a system call; its SysError code, or 'ok'. */
export function* attempt(g: Blocking<unknown>): Blocking<string> {
  try {
    yield* g;
    return 'ok';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

/*
 * Wait (10 ms at a time, at most 10 s) until a thread of process pid (thread id tid, or
 * any with tid 0) sleeps with wait message wmesg, in tsleep or waiting for a message;
 * true once one does.  Reads the kernel's thread state, as a debugger would: what a test
 * needs to act only once the other side is really blocked in its call.
 */
/*
 * Wait (10 ms at a time, at most 10 s) until no thread of process pid has sig pending:
 * the signal was taken (its handler has run, or its default action), as a debugger would
 * see it.  True once it was; also true when the process is gone.
 */
export function* wait_signal_taken(sys: Sys, pid: number, sig: number): Blocking<boolean> {
  const bit = 1 << (sig - 1);
  for (let i = 0; i < 1000; i++) {
    const p = pfind(pid);
    if (p === NULL) return true;
    let pending = false;
    spin_lock(p + PROC.p_spin);
    for (let j = 0; j < k32[p + PROC.p_nthreads] && !pending; j++) {
      pending = (Atomics.load(k32, k32[p + PROC.p_threads + j] + TD.td_sigpend) & bit) !== 0;
    }
    spin_unlock(p + PROC.p_spin);
    if (!pending) return true;
    yield* sys.sleep(10);
  }
  return false;
}

export function* wait_asleep(sys: Sys, pid: number, tid: number, wmesg: string): Blocking<boolean> {
  const id = kstr_intern(wmesg);
  for (let i = 0; i < 1000; i++) {
    const p = pfind(pid);
    let asleep = false;
    if (p !== NULL) {
      spin_lock(p + PROC.p_spin);
      for (let j = 0; j < k32[p + PROC.p_nthreads] && !asleep; j++) {
        const td: Ptr = k32[p + PROC.p_threads + j];
        asleep = (tid === 0 || k32[td + TD.td_id] === tid) && k32[td + TD.td_wmesg] === id &&
          (k32[td + TD.td_flags] & (TDF_TSLEEPQ | TDF_BLOCKED)) !== 0;
      }
      spin_unlock(p + PROC.p_spin);
    }
    if (asleep) return true;
    yield* sys.sleep(10);
  }
  return false;
}
