/*
 * lwkt_token.ts: LWKT tokens and the big global lock (DragonFly kern/lwkt_token.c, 2008).
 *
 * A token is owned by a thread, not a CPU, and only while that thread runs: lwkt_switch
 * releases every token of the outgoing thread and the scheduler re-takes them all before
 * the thread resumes, skipping it while any is held elsewhere.  So tokens taken in any
 * order never deadlock, and code after anything that blocks must re-check what the token
 * protects (lwkt_token_is_stale tells whether another thread held it meanwhile).
 * A token is recursive: each lwkt_gettoken adds a reference to the thread's list.
 *
 *   struct lwkt_token { t_owner: thread | 0; t_lastowner; t_class; t_waitmask }
 *
 * A contended lwkt_gettoken yields (DragonFly: lwkt_yield) with the reference linked;
 * the CPU that could not take it sets its bit in t_waitmask, and the releasing thread
 * kicks those CPUs so that an idle one looks again instead of sleeping on.
 *
 * The BGL (get_mplock/rel_mplock) is one global token, as DragonFly's MP lock behaved.
 */

import { k32, kf64, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { layout, NULL, type Ptr } from '../../shared/struct.js';
import { TD_MAXTOKENS } from '../../shared/param.js';
import { lockstat_on, witness_on } from '../../shared/cpu.js';
import { wops } from '../../shared/witness_hooks.js';
import { SWITCH_ONCE, type Blocking } from '../../shared/effect.js';
import { faults_on } from '../../shared/cpu.js';
import { fail_point, FS_YIELD } from '../../shared/fail.js';
import { sched_point, sched_want, SP_TOKEN_GET, SP_TOKEN_REL } from './lwkt_schedpt.js';
import { HoldSamples, lockclass_register, ls_slot, ls_sample, ls_hold, LS_ACQ, LS_CONTENDED, LS_SPINS, LS_WAIT_MAX,
  LS_WAIT_TOTAL } from '../../shared/lockstat.js';
import { nanotime } from '../../shared/clock.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { TD, TDF_TOKWAIT } from './thread.js';
import { mycpu } from './globaldata.js';
import { cpu_kick } from './lwkt_ipiq.js';
import { KG } from '../sys/kglobals.js';

export const TOK = layout('lwkt_token', {
  t_owner: 1,      // thread holding it, or 0
  t_lastowner: 1,  // last thread to release it (lwkt_token_is_stale)
  t_class: 1,      // lock class for statistics
  t_waitmask: 1,   // CPUs with a thread waiting for it
});


export function lwkt_token_init(tok: Ptr, classname: string): void {
  k32[tok + TOK.t_owner] = 0;
  k32[tok + TOK.t_lastowner] = 0;
  k32[tok + TOK.t_class] = lockclass_register(classname);
  k32[tok + TOK.t_waitmask] = 0;
}

/* Hold-time samples in progress, by token. */
const hold_t0 = new HoldSamples();

function tok_take(tok: Ptr, td: Ptr): boolean {
  const o = k32[tok];
  if (o === td) return true;
  return o === 0 && Atomics.compareExchange(k32, tok, 0, td) === 0;
}

function tok_release(tok: Ptr, td: Ptr): void {
  k32[tok + TOK.t_lastowner] = td;
  Atomics.store(k32, tok + TOK.t_owner, 0);
  if (Atomics.load(k32, tok + TOK.t_waitmask) !== 0) {
    let m = Atomics.exchange(k32, tok + TOK.t_waitmask, 0);
    while (m !== 0) {
      const cpu = 31 - Math.clz32(m);
      m &= ~(1 << cpu);
      cpu_kick(cpu);
    }
  }
}

function tok_link(td: Ptr, tok: Ptr): void {
  const n = k32[td + TD.td_ntoks];
  if (n >= TD_MAXTOKENS) panic(`lwkt_gettoken: thread holds ${TD_MAXTOKENS} token references`);
  k32[td + TD.td_toks + n] = tok;
  k32[td + TD.td_ntoks] = n + 1;
}

/* Acquire tok for the current thread; blocks (yields) while another thread holds it. */
export function lwkt_gettoken(tok: Ptr): Blocking<void> {
  const td = mycpu.curtd;
  tok_link(td, tok);
  if (lockstat_on) tok_count(tok, td);
  if (witness_on) wops.token_get(tok);
  if (tok_take(tok, td)) {
    // The yield fault site (kern_fail.ts): switch with the token taken, as if contended.
    if (faults_on && fail_point(FS_YIELD)) return SWITCH_ONCE;
    return sched_point(SP_TOKEN_GET, tok);
  }
  // Linked already: the scheduler resumes us only once it holds every linked token
  // (lwkt_getalltokens, all or none), and counts the contention while it cannot.  A
  // shared yield-once iterator, not a generator: a contended BGL is taken on most
  // system calls of a cross-CPU stream, and a frame each time was ~200 B a write.
  return SWITCH_ONCE;
}

function tok_count(tok: Ptr, td: Ptr): void {
  const slot = ls_slot(k32[tok + TOK.t_class]);
  kf64[slot + LS_ACQ]++;
  if (k32[tok] !== td && ls_sample()) hold_t0.start(tok, nanotime());
}

/* Acquire tok without blocking; false (and nothing linked) when another thread holds it. */
export function lwkt_trytoken(tok: Ptr): boolean {
  const td = mycpu.curtd;
  if (!tok_take(tok, td)) return false;
  tok_link(td, tok);
  if (lockstat_on) tok_count(tok, td);
  if (witness_on) wops.token_try(tok);
  return true;
}

/* Drop one reference to tok; the token is released with its last reference. */
export function lwkt_reltoken(tok: Ptr): void {
  const td = mycpu.curtd;
  const n = k32[td + TD.td_ntoks];
  let i = n - 1;
  while (i >= 0 && k32[td + TD.td_toks + i] !== tok) i--;
  if (i < 0) panic(`lwkt_reltoken: token ${tok} not held by this thread`);
  for (let j = i; j < n - 1; j++) k32[td + TD.td_toks + j] = k32[td + TD.td_toks + j + 1];
  k32[td + TD.td_ntoks] = n - 1;
  for (let j = 0; j < n - 1; j++) if (k32[td + TD.td_toks + j] === tok) return;  // still referenced
  KASSERT(k32[tok] === td, 'lwkt_reltoken: token owned by another thread');
  if (hold_t0.size !== 0) tok_hold_end(tok);
  tok_release(tok, td);
  sched_want(SP_TOKEN_REL, tok);
}

function tok_hold_end(tok: Ptr): void {
  const t0 = hold_t0.end(tok);
  if (t0 < 0) return;
  ls_hold(ls_slot(k32[tok + TOK.t_class]), nanotime() - t0);
}

/* lwkt_switch: release every token of the outgoing thread (references stay linked). */
export function lwkt_relalltokens(td: Ptr): void {
  const n = k32[td + TD.td_ntoks];
  for (let i = 0; i < n; i++) {
    const tok = k32[td + TD.td_toks + i];
    if (k32[tok] === td) tok_release(tok, td);
  }
}

/*
 * Before td resumes: take every linked token, or none.  On failure the CPU is put in the
 * waitmask of the token it could not get, so its release kicks this CPU.
 */
export function lwkt_getalltokens(td: Ptr): boolean {
  const n = k32[td + TD.td_ntoks];
  const mybit = 1 << mycpu.cpuid;
  for (let i = 0; i < n; i++) {
    const tok = k32[td + TD.td_toks + i];
    if (tok_take(tok, td)) continue;
    Atomics.or(k32, tok + TOK.t_waitmask, mybit);
    if (tok_take(tok, td)) continue;   // released between the first try and the mask
    for (let j = 0; j < i; j++) {
      const t = k32[td + TD.td_toks + j];
      if (k32[t] === td) tok_release(t, td);
    }
    if (lockstat_on) tok_resume_blocked(td, tok);
    return false;
  }
  if (lockstat_on && (k32[td + TD.td_flags] & TDF_TOKWAIT) !== 0) tok_resume_waited(td);
  return true;
}

/*
 * Lock statistics for a thread that could not resume because a token it holds a
 * reference to was held elsewhere (after a block, or a contended lwkt_gettoken): the
 * first refusal counts as a contention, each refusal as a spin, and the time until it
 * could resume as wait time.  The scheduler sets TDF_TOKWAIT on a refused thread.
 */
function tok_resume_blocked(td: Ptr, tok: Ptr): void {
  const slot = ls_slot(k32[tok + TOK.t_class]);
  kf64[slot + LS_SPINS]++;
  if ((k32[td + TD.td_flags] & TDF_TOKWAIT) === 0) {
    kf64[slot + LS_CONTENDED]++;
    kf64[(td + TD.td_tokwait_f64) >> 1] = nanotime();
    k32[td + TD.td_tokwait_cls] = k32[tok + TOK.t_class];
  }
}

function tok_resume_waited(td: Ptr): void {
  const ns = nanotime() - kf64[(td + TD.td_tokwait_f64) >> 1];
  const slot = ls_slot(k32[td + TD.td_tokwait_cls]);
  kf64[slot + LS_WAIT_TOTAL] += ns;
  if (ns > kf64[slot + LS_WAIT_MAX]) kf64[slot + LS_WAIT_MAX] = ns;
}

/* True if another thread held tok since the current thread last released it. */
export function lwkt_token_is_stale(tok: Ptr): boolean {
  const last = k32[tok + TOK.t_lastowner];
  return last !== NULL && last !== mycpu.curtd;
}

export function lwkt_token_owner(tok: Ptr): Ptr { return Atomics.load(k32, tok); }

/* ---- the big global lock ---- */

export function bgl_token(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_bgl; }
export function get_mplock(): Blocking<void> { return lwkt_gettoken(k32[H_OFF_GLOBALS] + KG.g_bgl); }
export function rel_mplock(): void { lwkt_reltoken(k32[H_OFF_GLOBALS] + KG.g_bgl); }
