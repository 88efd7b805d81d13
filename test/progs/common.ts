/* Helpers every test-thread module uses: a rendezvous word in kmem; a system call's outcome. */
import { k32, tsleep, wakeup, type Blocking } from '../../src/kernel.js';
import { SysError } from '../../src/sys/errors.js';

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
