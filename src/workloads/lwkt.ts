/*
 * workloads/lwkt.ts: ready-made kernel threads for the demo, the benchmarks and tests.
 * Each export is a thread: spawn it with machine.spawn({ module: LWKT_WORKLOADS, export }).
 *
 * Shared words (rendezvous, counters, locks) come from machine.kmalloc() and are passed
 * as arguments.  A rendezvous word holds the server's port once it is up; clients wait
 * for it with tsleep and the server's wakeup.
 */

import { k32 } from '../../shared/kmem.js';
import { nanotime } from '../../shared/clock.js';
import { NULL } from '../../shared/struct.js';
import { spin_init, spin_trylock, spin_lock_contested, spin_unlock } from '../../shared/spinlock.js';
import type { Blocking } from '../../shared/effect.js';
import { curthread } from '../lwkt/globaldata.js';
import { MSG } from '../sys/msgport.js';
import { lwkt_yield } from '../lwkt/lwkt_thread.js';
import { tsleep, wakeup } from '../lwkt/kern_synch.js';
import { lwkt_gettoken, lwkt_reltoken, lwkt_token_init, get_mplock, rel_mplock } from '../lwkt/lwkt_token.js';
import { lwkt_domsg, lwkt_msg_alloc, lwkt_msg_free, lwkt_replymsg, lwkt_thread_port, lwkt_waitport } from '../lwkt/lwkt_msgport.js';

export const LWKT_WORKLOADS = import.meta.url;

const ARG_STOP = -1;

/* Publish this thread's port in rdv and wake whoever waits for it. */
function publish_port(rdv: number): number {
  const port = lwkt_thread_port(curthread());
  Atomics.store(k32, rdv, port);
  wakeup(rdv);
  return port;
}

function* wait_port(rdv: number): Blocking<number> {
  let port: number;
  while ((port = Atomics.load(k32, rdv)) === NULL) yield* tsleep(rdv, 0, 'rdv', 1);
  return port;
}

/*
 * Echo server: replies to each message with ms_result = ms_arg[0] + 1, until `clients`
 * clients have sent their stop message.  Returns the number of requests served.
 */
export function* pingpong_server(rdv: number, clients: number): Blocking<number> {
  const port = publish_port(rdv);
  let served = 0;
  let stopped = 0;
  while (stopped < clients) {
    const msg = yield* lwkt_waitport(port, 0);
    const arg = k32[msg + MSG.ms_arg];
    if (arg === ARG_STOP) stopped++;
    else served++;
    k32[msg + MSG.ms_result] = arg + 1;
    lwkt_replymsg(msg, 0);
  }
  return served;
}

/*
 * Client: lwkt_domsg round trips to the server at rdv, `rounds` of them, or as many as fit
 * in `ns` nanoseconds when rounds is 0.  Returns [rounds, elapsed ns, wrong replies].
 */
export function* pingpong_client(rdv: number, rounds: number, ns: number): Blocking<number[]> {
  const port = yield* wait_port(rdv);
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  let wrong = 0;
  let n = 0;
  const t0 = nanotime();
  const end = t0 + ns;
  for (;;) {
    if (rounds > 0 ? n >= rounds : (n & 63) === 0 && nanotime() >= end) break;
    k32[msg + MSG.ms_arg] = n;
    if ((yield* lwkt_domsg(port, msg, 0)) !== 0 || k32[msg + MSG.ms_result] !== n + 1) wrong++;
    n++;
  }
  const t1 = nanotime();
  k32[msg + MSG.ms_arg] = ARG_STOP;
  yield* lwkt_domsg(port, msg, 0);
  lwkt_msg_free(msg);
  return [n, t1 - t0, wrong];
}

/* Keep a CPU busy switching threads until the stop word is set.  Returns its switches. */
export function* busy_yield(stop: number): Blocking<number> {
  let n = 0;
  while (Atomics.load(k32, stop) === 0) {
    yield* lwkt_yield();
    n++;
  }
  return n;
}

/* Yield `n` times and return the elapsed nanoseconds (scheduler switch cost). */
export function* yield_loop(n: number): Blocking<number> {
  const t0 = nanotime();
  for (let i = 0; i < n; i++) yield* lwkt_yield();
  return nanotime() - t0;
}

/* Initialise a token at tok with lock class `name` (run once before the workers). */
export function* token_init(tok: number, name: string): Blocking<void> {
  lwkt_token_init(tok, name);
}

/* Initialise a spinlock at lock with lock class `name`. */
export function* spin_setup(lock: number, name: string): Blocking<void> {
  spin_init(lock, name);
}

/*
 * Increment the word at counter n times, each time under the token at tok; every
 * `blockEvery` increments (0: never) block for a tick while holding it, which releases
 * the token.  Returns [n, elapsed ns].
 */
export function* token_counter(tok: number, counter: number, n: number, blockEvery: number): Blocking<number[]> {
  const t0 = nanotime();
  for (let i = 0; i < n; i++) {
    yield* lwkt_gettoken(tok);
    if (blockEvery > 0 && i % blockEvery === blockEvery - 1) yield* tsleep(counter, 0, 'tokblk', 1);
    k32[counter]++;
    lwkt_reltoken(tok);
    if ((i & 15) === 15) yield* lwkt_yield();
  }
  return [n, nanotime() - t0];
}

/* Increment the word at counter n times under the big global lock. */
export function* bgl_counter(counter: number, n: number): Blocking<number[]> {
  const t0 = nanotime();
  for (let i = 0; i < n; i++) {
    yield* get_mplock();
    k32[counter]++;
    rel_mplock();
    if ((i & 15) === 15) yield* lwkt_yield();
  }
  return [n, nanotime() - t0];
}

/* Increment the word at counter n times under the spinlock at lock. */
export function* spin_counter(lock: number, counter: number, n: number): Blocking<number[]> {
  const t0 = nanotime();
  for (let i = 0; i < n; i++) {
    if (!spin_trylock(lock)) yield* spin_lock_contested(lock);
    k32[counter]++;
    spin_unlock(lock);
    if ((i & 255) === 255) yield* lwkt_yield();
  }
  return [n, nanotime() - t0];
}

