/*
 * Kernel threads for the LWKT tests.  Shared words come from machine.kmalloc() and are
 * passed as arguments; results come back as the threads' return values.
 */
import {
  k32, curthread, mycpuid, MSG, EINTR, ERESTART, EWOULDBLOCK, EOPNOTSUPP, NULL, PCATCH, MSGF_ABORTABLE,
  MSGF_PRIORITY, tsleep, tsleep_interlock, wakeup, wakeup_one, crit_enter, crit_exit, lwkt_step, lwkt_yield,
  lwkt_domsg, lwkt_sendmsg, lwkt_waitport, lwkt_getport, lwkt_replymsg, lwkt_waitmsg, lwkt_msg_alloc,
  lwkt_msg_free, lwkt_thread_port, lwkt_initmsg_abortable, lwkt_initport_spin, lwkt_initport_putonly,
  lwkt_initport_replyonly_null, lwkt_initport_serialize, lwkt_serialize_init, lwkt_serialize_enter,
  lwkt_serialize_exit, lwkt_dropmsg, lwkt_checkmsg, lwkt_afree_rport, MSGF_DROPABLE, lwkt_gettoken,
  lwkt_reltoken, lwkt_token_init, lwkt_token_is_stale, lwkt_signal, lwkt_sigintr, lwkt_sigtake,
  lwkt_send_ipiq3, kfunc_register, kfunc_id, zalloc, zfree, Z_KMALLOC256, lwkt_setcpu_self, KASSERT,
  callout_init, callout_reset, callout_stop, nanotime, spin_init, spin_trylock, spin_lock_contested,
  spin_unlock, sleeplock_lock, sleeplock_unlock, TD, lwkt_schedule, lwkt_sleep, lwkt_forwardmsg, type Blocking,
} from '../../src/kernel.js';
import { sleeplock_try } from '../../src/lwkt/lwkt_serialize.js';
import { await_word, publish } from './common.js';

const SIGUSR1 = 30;



/* ---- messages ---- */

/*
 * Serve until `clients` stop messages arrive.  Each request carries (client, seq) in
 * ms_arg[0..1]; a seq out of order for its client counts in the returned violations.
 * Reply: ms_result = seq * 2.  Returns [served, violations].
 */
export function* order_server(rdv: number, clients: number): Blocking<number[]> {
  const port = lwkt_thread_port(curthread());
  publish(rdv, port);
  const next: number[] = [];   // next expected seq, by client id
  let served = 0, bad = 0, stopped = 0;
  while (stopped < clients) {
    const msg = yield* lwkt_waitport(port, 0);
    const c = k32[msg + MSG.ms_arg], seq = k32[msg + MSG.ms_arg + 1];
    if (seq < 0) stopped++;
    else {
      if (seq !== (next[c] ?? 0)) bad++;
      next[c] = seq + 1;
      served++;
    }
    k32[msg + MSG.ms_result] = seq * 2;
    lwkt_replymsg(msg, 0);
  }
  return [served, bad];
}

/*
 * Send n requests, `window` in flight at a time with lwkt_sendmsg (window 0: lwkt_domsg).
 * Returns the number of correct replies.
 */
export function* order_client(rdv: number, id: number, n: number, window: number): Blocking<number> {
  const port = yield* await_word(rdv);
  const me = lwkt_thread_port(curthread());
  let ok = 0;
  if (window === 0) {
    const msg = lwkt_msg_alloc(me, 0);
    for (let i = 0; i < n; i++) {
      k32[msg + MSG.ms_arg] = id;
      k32[msg + MSG.ms_arg + 1] = i;
      if ((yield* lwkt_domsg(port, msg, 0)) === 0 && k32[msg + MSG.ms_result] === i * 2) ok++;
    }
    lwkt_msg_free(msg);
  } else {
    let sent = 0, got = 0;
    while (got < n) {
      while (sent < n && sent - got < window) {
        const msg = lwkt_msg_alloc(me, 0);
        KASSERT(msg !== NULL, 'order_client: msg zone empty');
        k32[msg + MSG.ms_arg] = id;
        k32[msg + MSG.ms_arg + 1] = sent++;
        yield* lwkt_sendmsg(port, msg);
      }
      const r = yield* lwkt_waitport(me, 0);
      if (k32[r + MSG.ms_error] === 0 && k32[r + MSG.ms_result] === k32[r + MSG.ms_arg + 1] * 2) ok++;
      got++;
      lwkt_msg_free(r);
    }
  }
  const stop = lwkt_msg_alloc(me, 0);
  k32[stop + MSG.ms_arg] = id;
  k32[stop + MSG.ms_arg + 1] = -1;
  yield* lwkt_domsg(port, stop, 0);
  lwkt_msg_free(stop);
  return ok;
}

/*
 * The abort protocol of dragonfly.md 1.7.  The server keeps requests pending until an
 * abort message for them arrives, then replies the original with EINTR and the abort
 * with 0.  Words: [0] server port, [1] client thread, [2] client asleep in domsg.
 */
export function* abort_server(w: number): Blocking<number> {
  const port = lwkt_thread_port(curthread());
  publish(w, port);
  let pending = NULL;
  let aborted = 0;
  for (;;) {
    const msg = yield* lwkt_waitport(port, 0);
    const cmd = k32[msg + MSG.ms_arg];
    if (cmd === 1) {               // a request: hold it
      pending = msg;
      publish(w + 2, 1);
    } else if (cmd === 2) {        // abort of the pending request
      const orig = k32[msg + MSG.ms_arg + 1];
      if (orig === pending && !lwkt_checkmsg(orig)) {
        lwkt_replymsg(orig, EINTR);
        pending = NULL;
        aborted++;
      }
      lwkt_replymsg(msg, 0);
    } else {                       // stop
      lwkt_replymsg(msg, 0);
      return aborted;
    }
  }
}

/* Abort function: runs on the waiter's CPU; sends an abort message to the target port. */
function* abort_request(msg: number): Blocking<void> {
  const abort = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  k32[abort + MSG.ms_arg] = 2;
  k32[abort + MSG.ms_arg + 1] = msg;
  yield* lwkt_domsg(k32[msg + MSG.ms_target_port], abort, 0);
  lwkt_msg_free(abort);
}
kfunc_register('test_abort_request', abort_request as unknown as (...a: number[]) => unknown);

export function* abort_client(w: number): Blocking<number[]> {
  const port = yield* await_word(w);
  publish(w + 1, curthread());
  lwkt_sigintr(curthread(), SIGUSR1, true);
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  lwkt_initmsg_abortable(msg, lwkt_thread_port(curthread()), 0, kfunc_id('test_abort_request'));
  k32[msg + MSG.ms_arg] = 1;
  const e = yield* lwkt_domsg(port, msg, PCATCH);
  const flags = k32[msg + MSG.ms_flags];
  lwkt_msg_free(msg);
  const stop = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  k32[stop + MSG.ms_arg] = 3;
  yield* lwkt_domsg(port, stop, 0);
  lwkt_msg_free(stop);
  return [e, flags & MSGF_ABORTABLE];
}

/* Signal the thread published at w+1 once the server holds its request (w+2). */
export function* abort_signaller(w: number): Blocking<number> {
  const td = yield* await_word(w + 1);
  yield* await_word(w + 2);
  lwkt_signal(td, SIGUSR1);
  return 0;
}

/* Spin, serializer, putonly and replyonly ports, all on one CPU's threads. */
export function* port_kinds(mem: number): Blocking<number[]> {
  const results: number[] = [];
  // Spin port: a message put there is taken by getport from any thread.
  const sp = mem;
  lwkt_initport_spin(sp);
  const me = lwkt_thread_port(curthread());
  const m1 = lwkt_msg_alloc(me, 0);
  yield* lwkt_sendmsg(sp, m1);
  results.push(lwkt_getport(sp) === m1 ? 1 : 0);
  results.push(lwkt_getport(sp) === NULL ? 1 : 0);
  lwkt_replymsg(m1, 7);
  const r1 = yield* lwkt_waitport(me, 0);
  results.push(r1 === m1 && k32[m1 + MSG.ms_error] === 7 ? 1 : 0);
  // Priority messages come out first.
  const m2 = lwkt_msg_alloc(me, 0), m3 = lwkt_msg_alloc(me, MSGF_PRIORITY);
  yield* lwkt_sendmsg(sp, m2);
  yield* lwkt_sendmsg(sp, m3);
  results.push(lwkt_getport(sp) === m3 && lwkt_getport(sp) === m2 ? 1 : 0);
  lwkt_replymsg(m2, 0); lwkt_replymsg(m3, 0);
  yield* lwkt_waitport(me, 0); yield* lwkt_waitport(me, 0);
  // Putonly: the put function runs in our thread and replies at once; domsg never sleeps.
  const po = mem + 16;
  lwkt_initport_putonly(po, kfunc_id('test_sync_put'));
  k32[m1 + MSG.ms_arg] = 20;
  const e = yield* lwkt_domsg(po, m1, 0);
  results.push(e === 0 && k32[m1 + MSG.ms_result] === 21 ? 1 : 0);
  // Replyonly null: a reply only marks the message done.
  const rn = mem + 32;
  lwkt_initport_replyonly_null(rn);
  const m4 = lwkt_msg_alloc(rn, 0);
  yield* lwkt_sendmsg(sp, m4);
  const got = lwkt_getport(sp);
  lwkt_replymsg(got, 3);
  results.push(lwkt_checkmsg(m4) && k32[m4 + MSG.ms_error] === 3 ? 1 : 0);
  lwkt_msg_free(m4);
  // Autofree reply port: the reply frees the message (the zone count tells).
  const m5 = lwkt_msg_alloc(lwkt_afree_rport(), 0);
  yield* lwkt_sendmsg(sp, m5);
  lwkt_replymsg(lwkt_getport(sp), 0);
  results.push(1);
  // Serializer port, driven while holding its serializer.
  const slz = mem + 48, sz = mem + 64;
  lwkt_serialize_init(slz);
  lwkt_initport_serialize(sz, slz);
  yield* lwkt_serialize_enter(slz);
  yield* lwkt_sendmsg(sz, m2);
  const g2 = lwkt_getport(sz);
  lwkt_serialize_exit(slz);
  results.push(g2 === m2 ? 1 : 0);
  lwkt_replymsg(m2, 0);
  yield* lwkt_waitport(me, 0);
  // Drop: a dropable message queued on our own port is taken back and marked done.
  const m6 = lwkt_msg_alloc(me, MSGF_DROPABLE);
  yield* lwkt_sendmsg(me, m6);
  lwkt_dropmsg(m6);
  results.push(lwkt_checkmsg(m6) && lwkt_getport(me) === NULL ? 1 : 0);
  lwkt_msg_free(m6);
  // waitmsg on an async message whose reply queued on our port.
  yield* lwkt_sendmsg(sp, m3);
  lwkt_replymsg(lwkt_getport(sp), 9);
  results.push((yield* lwkt_waitmsg(m3, 0)) === 9 && lwkt_getport(me) === NULL ? 1 : 0);
  for (const m of [m1, m2, m3]) lwkt_msg_free(m);
  return results;
}

function sync_put(_port: number, msg: number): number {
  k32[msg + MSG.ms_result] = k32[msg + MSG.ms_arg] + 1;
  lwkt_replymsg(msg, 0);
  return 99;  // EASYNC: replied already
}
kfunc_register('test_sync_put', sync_put as (...a: number[]) => unknown);

/* ---- locks ---- */

export function* token_setup(tok: number): Blocking<void> { lwkt_token_init(tok, 'test_token'); }
export function* spin_setup(l: number): Blocking<void> { spin_init(l, 'test_spin'); }

/*
 * Spinlock counter with a preemption window inside the critical section: in the
 * deterministic engine other CPUs run while we hold the lock, so they must spin.
 */
export function* spin_counter_window(lock: number, counter: number, n: number): Blocking<number> {
  for (let i = 0; i < n; i++) {
    if (!spin_trylock(lock)) yield* spin_lock_contested(lock);
    const v = k32[counter];
    if ((i & 7) === 0) yield* lwkt_step();
    k32[counter] = v + 1;
    spin_unlock(lock);
  }
  return n;
}

/*
 * Tokens are dropped across a block.  Words: [0] holder asleep, [1] other took the token.
 * Holder: take the token, sleep until the other thread has taken and released it.
 */
export function* token_holder(tok: number, w: number): Blocking<number[]> {
  yield* lwkt_gettoken(tok);
  publish(w, 1);
  while (Atomics.load(k32, w + 1) === 0) yield* tsleep(w + 1, 0, 'tokwait', 0);
  // We hold it again here; another thread held it while we slept.
  const stale = lwkt_token_is_stale(tok) ? 1 : 0;
  const owner = k32[tok] === curthread() ? 1 : 0;
  lwkt_reltoken(tok);
  return [stale, owner];
}

export function* token_taker(tok: number, w: number): Blocking<number> {
  yield* await_word(w);
  yield* lwkt_gettoken(tok);
  const mine = k32[tok] === curthread() ? 1 : 0;
  lwkt_reltoken(tok);
  publish(w + 1, 1);
  return mine;
}

/* The SSB_LOCK pattern: a flags word with LOCK 0x1 and WANT 0x2; other bits untouched. */
export function* sleeplock_counter(w: number, counter: number, n: number): Blocking<number> {
  for (let i = 0; i < n; i++) {
    const e = yield* sleeplock_lock(w, 0x1, 0x2, 0, 'sblock');
    KASSERT(e === 0, 'sleeplock_counter: lock failed');
    const v = k32[counter];
    if ((i & 3) === 0) yield* tsleep(counter, 0, 'hold', 1);   // block holding it: others queue
    k32[counter] = v + 1;
    sleeplock_unlock(w, 0x1, 0x2);
  }
  return n;
}

/* PCATCH on the sleep lock: a signal ends the wait. */
export function* sleeplock_signalled(w: number, sync: number): Blocking<number[]> {
  const before = sleeplock_try(w, 0x1) ? 1 : 0;   // take it ourselves first
  publish(sync, curthread());
  // A second acquisition waits (not recursive); a signal interrupts it.
  lwkt_sigintr(curthread(), SIGUSR1, true);
  const e = yield* sleeplock_lock(w, 0x1, 0x2, PCATCH, 'sblock');
  lwkt_sigtake(curthread(), SIGUSR1);
  sleeplock_unlock(w, 0x1, 0x2);
  return [before, e, k32[w] & 0xff00];
}

/* ---- tsleep / wakeup ---- */

/*
 * Sleepers and a waker that bumps a generation counter `gens` times.  A sleeper checks
 * the generation under tsleep_interlock, so a lost wakeup would leave it asleep forever,
 * which the machine reports as a deadlock.  Returns the number of sleeps.
 */
export function* storm_sleeper(gen: number, chan: number, gens: number): Blocking<number> {
  let seen = 0, sleeps = 0;
  for (;;) {
    crit_enter();
    tsleep_interlock(chan);
    const g = Atomics.load(k32, gen);
    if (g >= gens) { crit_exit(); break; }
    if (g === seen) {
      yield* tsleep(chan, 0, 'storm', 0);
      sleeps++;
    }
    crit_exit();
    seen = g;
  }
  return sleeps;
}

export function* storm_waker(gen: number, chan: number, gens: number, wait: number): Blocking<number> {
  for (let g = 1; g <= gens; g++) {
    Atomics.store(k32, gen, g);
    wakeup(chan);
    if (wait !== 0 && (g & 3) === 0) yield* tsleep(wait, 0, 'pace', 1);
    else yield* lwkt_yield();
  }
  return gens;
}

/*
 * Two threads alternate `rounds` times: each waits for its turn and passes it on.  Any
 * lost wakeup deadlocks (and is reported).  Returns the rounds it played.
 */
export function* turn_player(turn: number, me: number, rounds: number): Blocking<number> {
  for (let i = 0; i < rounds; i++) {
    for (;;) {
      crit_enter();
      tsleep_interlock(turn);
      if (Atomics.load(k32, turn) === me) { crit_exit(); break; }
      yield* tsleep(turn, 0, 'turn', 0);
      crit_exit();
    }
    Atomics.store(k32, turn, 1 - me);
    wakeup(turn);
  }
  return rounds;
}

/* Sleep on chan until woken; count wakeups at w[0], announce sleep at w[1]. */
export function* one_sleeper(chan: number, w: number): Blocking<number> {
  crit_enter();
  tsleep_interlock(chan);
  Atomics.add(k32, w + 1, 1);
  wakeup(w + 1);
  const e = yield* tsleep(chan, 0, 'one', 0);
  crit_exit();
  Atomics.add(k32, w, 1);
  return e;
}

/* Wait for k sleepers, wakeup_one, let IPIs land, read the count, then wake all. */
export function* one_waker(chan: number, w: number, k: number): Blocking<number> {
  while (Atomics.load(k32, w + 1) < k) yield* tsleep(w + 1, 0, 'count', 1);
  wakeup_one(chan);
  yield* tsleep(w + 2, 0, 'settle', 20);   // remote wake-ups arrive by IPI, later
  const woken = Atomics.load(k32, w);
  wakeup(chan);
  return woken;
}

export function* timeout_sleeper(chan: number, ticks: number): Blocking<number[]> {
  const t0 = nanotime();
  const e = yield* tsleep(chan, 0, 'timeout', ticks);
  return [e, nanotime() - t0];
}

/* PCATCH: sleep interruptibly; `eintr` says whether the handler lacks SA_RESTART. */
export function* signal_sleeper(w: number, eintr: number): Blocking<number[]> {
  const td = curthread();
  lwkt_sigintr(td, SIGUSR1, eintr !== 0);
  crit_enter();
  tsleep_interlock(w + 2);
  publish(w, td);
  const e1 = yield* tsleep(w + 2, PCATCH, 'sigwait', 0);
  crit_exit();
  // Still pending: a second PCATCH sleep returns at once without sleeping.
  const e2 = yield* tsleep(w + 2, PCATCH, 'sigwait', 0);
  lwkt_sigtake(td, SIGUSR1);
  const e3 = yield* tsleep(w + 2, PCATCH, 'sigwait', 1);   // now a plain timeout
  return [e1, e2, e3];
}

export function* signal_sender(w: number): Blocking<number> {
  const td = yield* await_word(w);
  lwkt_signal(td, SIGUSR1);
  return 0;
}

/* ---- critical sections and IPIs ---- */

function ipi_mark(word: number): void { k32[word]++; }
kfunc_register('test_ipi_mark', ipi_mark as (...a: number[]) => unknown);

/*
 * In a critical section, wait until the other CPU says it sent us an IPI (w[1]); pass
 * interrupt windows meanwhile.  Returns [count before crit_exit, count after].
 */
export function* crit_holder(w: number): Blocking<number[]> {
  crit_enter();
  publish(w, 1 + mycpuid);
  let spins = 0;
  while (Atomics.load(k32, w + 1) === 0 && spins < 50_000_000) { yield* lwkt_step(); spins++; }
  for (let i = 0; i < 100; i++) yield* lwkt_step();
  const before = k32[w + 2];
  crit_exit();
  const after = k32[w + 2];
  return [before, after];
}

export function* crit_ipi_sender(w: number): Blocking<number> {
  const cpu = (yield* await_word(w)) - 1;
  lwkt_send_ipiq3(cpu, kfunc_id('test_ipi_mark'), w + 2, 0, 0);
  Atomics.store(k32, w + 1, 1);
  return 0;
}

/* Send n IPIs to `cpu` from inside a critical section (both sides do it at once). */
export function* ipi_flood(cpu: number, counter: number, n: number, ready: number, peers: number): Blocking<number> {
  Atomics.add(k32, ready, 1);
  while (Atomics.load(k32, ready) < peers) yield* lwkt_yield();
  crit_enter();
  const id = kfunc_id('test_ipi_mark');
  for (let i = 0; i < n; i++) lwkt_send_ipiq3(cpu, id, counter, 0, 0);
  crit_exit();
  return n;
}

/* Wait until the word at counter reaches n. */
export function* await_count(counter: number, n: number): Blocking<number> {
  while (Atomics.load(k32, counter) < n) yield* tsleep(counter, 0, 'count', 1);
  return Atomics.load(k32, counter);
}

/* ---- zones ---- */

/* Exhaust the kmalloc256 zone, check NULL, free everything, allocate again. */
export function* zone_exhaust(): Blocking<number[]> {
  const got: number[] = [];
  let p: number;
  while ((p = zalloc(Z_KMALLOC256)) !== NULL) got.push(p);
  const nullAgain = zalloc(Z_KMALLOC256) === NULL ? 1 : 0;
  for (const q of got) zfree(Z_KMALLOC256, q);
  const again = zalloc(Z_KMALLOC256);
  const ok = again !== NULL ? 1 : 0;
  zfree(Z_KMALLOC256, again);
  return [got.length, nullAgain, ok];
}

/* ---- callouts ---- */

function callout_fire(word: number): void { k32[word]++; wakeup(word); }
kfunc_register('test_callout_fire', callout_fire as (...a: number[]) => unknown);

export function* callouts(c1: number, c2: number, w: number): Blocking<number[]> {
  callout_init(c1);
  callout_init(c2);
  callout_reset(c1, 2, kfunc_id('test_callout_fire'), w);
  callout_reset(c2, 1, kfunc_id('test_callout_fire'), w + 1);
  const stopped = callout_stop(c2);
  while (Atomics.load(k32, w) === 0) yield* tsleep(w, 0, 'callout', 0);
  yield* tsleep(w + 2, 0, 'after', 3);
  return [k32[w], k32[w + 1], stopped, callout_stop(c1)];
}

/* ---- failures ---- */

/* Throw, after the word at `after` is set (0: at once). */
export function* thrower(msg: string, after: number): Blocking<number> {
  if (after !== 0) yield* await_word(after);
  yield* lwkt_yield();
  throw new Error(msg);
}

export function* kassert_fails(): Blocking<number> {
  yield* lwkt_yield();
  KASSERT(1 + 1 === 3, 'kassert_fails: arithmetic is broken');
  return 0;
}

/* A panic the thread catches itself, then runs on (yields and returns) as if nothing happened. */
export function* kassert_caught(): Blocking<string> {
  let caught = '';
  try {
    KASSERT(false, 'kassert_caught: a broken invariant, caught');
  } catch (e) {
    caught = (e as Error).name;
  }
  yield* lwkt_yield();
  return `ran on after ${caught}`;
}

/* Sleep with nobody to wake us; set the word at `flag` (if any) once on the queue. */
export function* sleep_forever(chan: number, flag: number): Blocking<number> {
  crit_enter();
  tsleep_interlock(chan);
  if (flag) publish(flag, 1);
  const e = yield* tsleep(chan, 0, 'forever', 0);
  crit_exit();
  return e;
}

export function* spin_forever(): Blocking<number> {
  for (;;) yield* lwkt_yield();
}

/*
 * Computes for `ms` of real time without ever yielding: its CPU is stuck in one step, the
 * soft-lockup watchdog's prey.  Bounded, so that the worker ends even if nothing stops it.
 */
export function* stuck_in_one_step(ms: number): Blocking<number> {
  const end = Date.now() + ms;
  let x = 1;
  while (Date.now() < end) x = (x * 31 + 7) | 0;
  return x === 0 ? 0 : 1;
}

/* Computes for `ms` of real time, yielding every millisecond; returns how many times it yielded. */
export function* compute_yielding(ms: number): Blocking<number> {
  const end = Date.now() + ms;
  let n = 0;
  for (let now = Date.now(); now < end; now = Date.now()) {
    const slice = now + 1;
    while (Date.now() < slice) { /* compute */ }
    yield* lwkt_yield();
    n++;
  }
  return n;
}

/* ---- migration ---- */

export function* migrate_to(cpu: number): Blocking<number[]> {
  const before = mycpuid;
  const e = yield* lwkt_setcpu_self(cpu);
  return [before, e, mycpuid, k32[curthread() + TD.td_cpu]];
}

export { EINTR, ERESTART, EWOULDBLOCK, EOPNOTSUPP };

/* ---- scheduling ---- */

/*
 * Append `tag` to the log (w[0] = length, entries after it) `n` times, yielding between.
 * With `gate` set, first wait (yielding) until the gate word is non-zero.
 */
export function* log_yield(log: number, tag: number, n: number): Blocking<number> {
  for (let i = 0; i < n; i++) {
    const len = k32[log];
    k32[log + 1 + len] = tag;
    k32[log] = len + 1;
    yield* lwkt_yield();
  }
  return n;
}

/*
 * In a critical section, make an interrupt-priority thread runnable on this CPU and pass
 * interrupt windows: it must not run until crit_exit and the next window.
 * Returns [log length inside crit, log length after].
 */
export function* preempt_victim(log: number, w: number): Blocking<number[]> {
  const hi = yield* await_word(w);
  crit_enter();
  lwkt_schedule(hi);
  for (let i = 0; i < 10; i++) yield* lwkt_step();
  const inside = k32[log];
  crit_exit();
  yield* lwkt_step();
  const after = k32[log];
  return [inside, after];
}

/* An interrupt-priority thread: wait to be scheduled, then log once. */
export function* preempt_intr(log: number, w: number): Blocking<number> {
  publish(w, curthread());
  yield* lwkt_sleep('intrwait', 0);
  k32[log]++;
  return 1;
}

/* Forward `count` messages to the port published at fwd, whose server replies to the senders. */
export function* forwarder(rdv: number, fwd: number, count: number): Blocking<number> {
  const port = lwkt_thread_port(curthread());
  publish(rdv, port);
  const target = yield* await_word(fwd);
  let queued = 0;
  for (let i = 0; i < count; i++) {
    const msg = yield* lwkt_waitport(port, 0);
    if ((yield* lwkt_forwardmsg(target, msg)) === 99) queued++;   // EASYNC
  }
  return queued;
}

/* IPI to our own CPU runs inline, before lwkt_send_ipiq returns. */
export function* ipi_self(w: number): Blocking<number> {
  lwkt_send_ipiq3(mycpuid, kfunc_id('test_ipi_mark'), w, 0, 0);
  return k32[w];
}

/* Kill this CPU's worker (parallel engine only): the machine must report it. */
export function* exit_worker(): Blocking<number> {
  yield* lwkt_yield();
  process.exit(7);
}
