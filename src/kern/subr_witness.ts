/*
 * subr_witness.ts: WITNESS, lock-order checking (after FreeBSD's kern/subr_witness.c; the
 * semantics, not the code).  On when the machine boots with witness: true.
 *
 * What it watches.  Every acquisition and release of a spinlock (shared/spinlock.ts), of
 * an LWKT token and the BGL (lwkt_token.ts), and of a sleep lock (lwkt_serialize.ts's
 * sleeplock_*: ssb_lock, lwkt_serialize) reaches it through shared/witness_hooks.ts.  It
 * keeps, per thread, the spin and sleep locks held (in kmem, by the thread's zone slot, so
 * that the host's liveness report can read them in either engine); the tokens held are
 * the thread's own token reference list td_toks, which already follows the token rule:
 * released when the holder blocks and re-taken before it resumes.
 *
 * The graph.  An edge A -> B between lock CLASSES (the lockstat class ids: every sockbuf's
 * ssb_spin is one class, 'ssb_spin') says that some thread acquired a lock of class B
 * while it held one of class A.  Edges come from every lock held, not only the last one
 * taken, so that an order through an intermediate token is still a direct edge between
 * the locks that matter.  The graph lives in kmem, shared by every CPU (an adjacency
 * matrix of words over the classes, each entry claimed with a CAS when its edge is first
 * seen), with a record per edge: its first thread, an approximate count (plain increments,
 * some lost when CPUs race) and the call path that first set it (a JS stack trimmed to
 * kernel frames, kept in kmem so that a report made on any CPU can print a path first
 * seen on another).  Nesting two locks of one class is not an edge (FreeBSD would ask
 * for LO_DUPOK; here it is left alone).
 *
 * What is reported, and why.  A new edge A -> B closes a cycle when B already reaches A.
 * A deadlock needs a cycle of threads each holding a lock while it waits for the next.
 * A thread that waits for anything (a contended token included) has given up every
 * token it held, and a token's holder that waits gives it up: so a token is never held
 * by a waiting thread, and waiting for a token is waiting only for a thread that runs.
 * No deadlock cycle can pass through a token.  Hence:
 *
 *   - a cycle of spinlock and sleep-lock edges only (both ends of every edge a spin or
 *     sleep lock) is a lock order reversal that can deadlock: reported at once, as a
 *     panic with both orders, the classes and kinds, and the call paths that set them
 *     (the whole chain for a longer cycle), even when this run did not deadlock;
 *   - a cycle that needs a token edge (bgl -> sblock -> bgl, or two tokens taken in both
 *     orders) cannot deadlock: it is recorded (Machine.witness().reversals, with
 *     deadlock: false) and not reported.  This is DragonFly's point of tokens.
 *
 * Also reported: recursion on a non-recursive lock (a spinlock or a sleep lock the thread
 * already holds, caught before it would wait for itself); sleeping in tsleep, waiting for
 * a sleep lock, or taking a token (which may yield) with a spinlock held (lwkt_switch
 * panics at the switch itself; WITNESS says which spinlock).
 *
 * Sleep locks have no class word: a sockbuf's SSB_LOCK is 'sblock (so_snd)' or
 * 'sblock (so_rcv)' (found from the socket zone), a word named with
 * witness_sleeplock_class(w, name) has that class, any other is 'sleeplock'.
 *
 * Costs: with witness off, one boolean test per hook.  On: per acquisition, a walk of
 * the locks held (a read of the matrix and a count per lock held); a stack and a graph
 * search only when an edge is seen for the first time.
 */

import { k32, ku8, kmem_getstr, kmem_putstr, kmem_views, H_WITNESS, H_OFF_LOCKCLASS, H_OFF_ZONES } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { LOCKCLASS_MAX, TD_COMM_BYTES } from '../../shared/param.js';
import { lockclass_base, mycpuid, witness_on } from '../../shared/cpu.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { SL_CLASS } from '../../shared/spinlock.js';
import { panic } from '../../shared/panic.js';
import { witness_ops_set } from '../../shared/witness_hooks.js';
import { kstr_read } from '../../shared/kstr.js';
import { ZD, Z_SOCKET, Z_THREAD, zone_desc } from '../../shared/zone.js';
import { TD } from '../lwkt/thread.js';
import { TOK } from '../lwkt/lwkt_token.js';
import { mycpu } from '../lwkt/globaldata.js';
import { SO, SSB } from '../sys/socketvar.js';
import { hex, whatis } from './kern_whatis.js';

/* ---- the kmem region (H_WITNESS points at it) ---- */

export const KIND_SPIN = 1;
export const KIND_TOKEN = 2;
export const KIND_SLEEP = 4;
export const KIND_NAMES: Record<number, string> = { 1: 'spin lock', 2: 'token', 4: 'sleep lock' };

const NC = LOCKCLASS_MAX + 1;        // matrix dimension: class ids are 1..LOCKCLASS_MAX
const EDGES_MAX = 1024;              // edge records (edges past this still count in the matrix, without a path)
const PATH_BYTES = 384;              // the first call path of an edge, trimmed
const HELD_MAX = 16;                 // spin and sleep locks one thread may hold, tracked
const SLCLASS_MAX = 64;              // sleep-lock words given a class by witness_sleeplock_class
const REV_MAX = 32;                  // cycles recorded
const REV_CYCLE = 12;                // classes of a recorded cycle

/* Header words, then the regions at the offsets (from the region's start) they give. */
const WH_MAGIC = 0;
const WH_NSLOTS = 1;                 // thread slots (the thread zone's items)
const WH_NEDGES = 2;                 // edge records handed out (may pass EDGES_MAX: those have no record)
const WH_NREV = 3;                   // cycles found (may pass REV_MAX)
const WH_NSLCLASS = 4;
const WH_OVERFLOW = 5;               // acquisitions not tracked: a thread held HELD_MAX locks already
const WH_OFF_KIND = 6;               // per class: KIND_* bits seen
const WH_OFF_MAT = 7;                // NC x NC words: 0, or EF_* | (edge record + 1) << 2
const WH_OFF_EDGES = 8;
const WH_OFF_HELD = 9;
const WH_OFF_SLCLASS = 10;
const WH_OFF_REV = 11;
const WH_HDR = 16;
const W_MAGIC = 0x57544e53;          // 'WTNS'

const EF_LOCK = 1;                   // an edge between two spin/sleep locks
const EF_TOKEN = 2;                  // an edge with a token at either end

const E_FROM = 0, E_TO = 1, E_COUNT = 2, E_TID = 3, E_KINDS = 4, E_PATHLEN = 5, E_CPU = 6, E_NAME = 8;
const E_PATH = E_NAME + TD_COMM_BYTES / 4;
const EDGE_WORDS = E_PATH + PATH_BYTES / 4;

const HR_TID = 0, HR_N = 1, HR_ENT = 2;  // entries: (lock, class | kind << 16)
const HELD_WORDS = HR_ENT + 2 * HELD_MAX;

const R_FROM = 0, R_TO = 1, R_DEADLOCK = 2, R_TID = 3, R_N = 4, R_CYCLE = 5;
const REV_WORDS = R_CYCLE + REV_CYCLE;

/* Words of the region for a machine with nslots thread descriptors. */
export function witness_words(nslots: number): number {
  return WH_HDR + NC + NC * NC + EDGES_MAX * EDGE_WORDS + nslots * HELD_WORDS + SLCLASS_MAX * 2 + REV_MAX * REV_WORDS;
}

/* Format the region at kmem word w (the boot, on the host, before any CPU runs). */
export function witness_format(i32: Int32Array, w: number, nslots: number): void {
  let off = WH_HDR;
  const at = (n: number): number => { const o = off; off += n; return o; };
  i32[w + WH_MAGIC] = W_MAGIC;
  i32[w + WH_NSLOTS] = nslots;
  i32[w + WH_OFF_KIND] = at(NC);
  i32[w + WH_OFF_MAT] = at(NC * NC);
  i32[w + WH_OFF_EDGES] = at(EDGES_MAX * EDGE_WORDS);
  i32[w + WH_OFF_HELD] = at(nslots * HELD_WORDS);
  i32[w + WH_OFF_SLCLASS] = at(SLCLASS_MAX * 2);
  i32[w + WH_OFF_REV] = at(REV_MAX * REV_WORDS);
}

/* ---- this isolate's view of the region (re-read when another machine is attached) ---- */

let att_k32: Int32Array | null = null;
let W = 0, kinds = 0, mat = 0, edges = 0, held = 0, slc = 0, revs = 0;
let cls_snd = 0, cls_rcv = 0, cls_sleep = 0;

function sync(): void {
  if (att_k32 === k32) return;
  att_k32 = k32;
  W = k32[H_WITNESS];
  kinds = W + k32[W + WH_OFF_KIND];
  mat = W + k32[W + WH_OFF_MAT];
  edges = W + k32[W + WH_OFF_EDGES];
  held = W + k32[W + WH_OFF_HELD];
  slc = W + k32[W + WH_OFF_SLCLASS];
  revs = W + k32[W + WH_OFF_REV];
  cls_snd = cls_rcv = cls_sleep = 0;
}

/* The current thread, or 0 where WITNESS does not look (the host, a CPU coming up). */
function cur(): Ptr {
  if (mycpuid < 0 || mycpu === null) return NULL;
  return mycpu.curtd;
}

/* The thread's record of spin and sleep locks held; a reused slot starts empty. */
function held_rec(td: Ptr): number {
  const rec = held + k32[td + TD.td_slot] * HELD_WORDS;
  const id = k32[td + TD.td_id];
  if (k32[rec + HR_TID] !== id) {
    k32[rec + HR_TID] = id;
    k32[rec + HR_N] = 0;
  }
  return rec;
}

function held_find(rec: number, lock: Ptr): number {
  for (let i = k32[rec + HR_N] - 1; i >= 0; i--) if (k32[rec + HR_ENT + 2 * i] === lock) return i;
  return -1;
}

function push(td: Ptr, lock: Ptr, cls: number, kind: number): void {
  const rec = held_rec(td);
  const n = k32[rec + HR_N];
  if (n >= HELD_MAX) {
    Atomics.add(k32, W + WH_OVERFLOW, 1);
    return;
  }
  k32[rec + HR_ENT + 2 * n] = lock;
  k32[rec + HR_ENT + 2 * n + 1] = cls | (kind << 16);
  k32[rec + HR_N] = n + 1;
}

function remove_at(rec: number, i: number): void {
  const n = k32[rec + HR_N];
  for (let j = i; j < n - 1; j++) {
    k32[rec + HR_ENT + 2 * j] = k32[rec + HR_ENT + 2 * j + 2];
    k32[rec + HR_ENT + 2 * j + 1] = k32[rec + HR_ENT + 2 * j + 3];
  }
  k32[rec + HR_N] = n - 1;
}

/* Forget a lock released: the current thread's, or (rarely) another's that it was handed to. */
function pop(td: Ptr, lock: Ptr): void {
  const rec = held_rec(td);
  const i = held_find(rec, lock);
  if (i >= 0) { remove_at(rec, i); return; }
  const nslots = k32[W + WH_NSLOTS];
  for (let s = 0; s < nslots; s++) {
    const r = held + s * HELD_WORDS;
    const j = held_find(r, lock);
    if (j >= 0) { remove_at(r, j); return; }
  }
}

/* ---- classes ---- */

function note_kind(cls: number, kind: number): void {
  if ((k32[kinds + cls] & kind) === 0) Atomics.or(k32, kinds + cls, kind);
}

function class_name(cls: number): string {
  return kstr_read(k32, ku8, k32[lockclass_base + 1 + cls]);
}

/* The class of a sleep lock word (see the header). */
function sleep_class(w: Ptr): number {
  const n = Math.min(Atomics.load(k32, W + WH_NSLCLASS), SLCLASS_MAX);
  for (let i = 0; i < n; i++) if (k32[slc + 2 * i] === w) return k32[slc + 2 * i + 1];
  const zd = zone_desc(Z_SOCKET);
  const base = k32[zd + ZD.zd_base], words = k32[zd + ZD.zd_item_words], count = k32[zd + ZD.zd_count];
  if (w >= base && w < base + words * count) {
    const off = (w - base) % words;
    if (off === SO.so_snd + SSB.ssb_flags) return cls_snd !== 0 ? cls_snd : (cls_snd = lockclass_register('sblock (so_snd)'));
    if (off === SO.so_rcv + SSB.ssb_flags) return cls_rcv !== 0 ? cls_rcv : (cls_rcv = lockclass_register('sblock (so_rcv)'));
  }
  return cls_sleep !== 0 ? cls_sleep : (cls_sleep = lockclass_register('sleeplock'));
}

/*
 * Give the sleep lock at word w a class for WITNESS (a sockbuf's SSB_LOCK has one already).
 * Kernel code that makes its own sleep locks calls it once per lock; a no-op with witness off.
 */
export function witness_sleeplock_class(w: Ptr, name: string): void {
  if (!witness_on) return;
  sync();
  const cls = lockclass_register(name);
  const n = Math.min(Atomics.load(k32, W + WH_NSLCLASS), SLCLASS_MAX);
  for (let i = 0; i < n; i++) {
    if (k32[slc + 2 * i] === w) { Atomics.store(k32, slc + 2 * i + 1, cls); return; }
  }
  const i = Atomics.add(k32, W + WH_NSLCLASS, 1);
  if (i >= SLCLASS_MAX) panic(`witness_sleeplock_class: more than ${SLCLASS_MAX} sleep locks named`);
  k32[slc + 2 * i + 1] = cls;
  Atomics.store(k32, slc + 2 * i, w);
}

/* ---- call paths ---- */

/* The JS stack here, trimmed to kernel frames: ["ssb_lock (src/kern/uipc_socket2.ts:180)", ...]. */
export function witness_stack(max = 8): string[] {
  const lim = Error.stackTraceLimit;
  Error.stackTraceLimit = 48;
  const text = new Error().stack ?? '';
  Error.stackTraceLimit = lim;
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^\s*at (?:(.*?) \()?(.*?)\)?$/.exec(line);
    if (m === null) continue;
    const fn = (m[1] ?? '').replace(/^(?:Object|Generator|Function)\./, '').replace(/^async /, '');
    const loc = m[2];
    if (/subr_witness|witness_hooks|^node:|<anonymous>|^native/.test(loc)) continue;
    if (/\/(?:deterministic|parallel|cpu_worker|cpu_runtime)\.[jt]s/.test(loc)) break;
    if (/\/lwkt_thread\.[jt]s/.test(loc) && /cpu_resume|cpu_step/.test(fn)) break;
    const short = loc.replace(/^file:\/\//, '').replace(/^.*?\/((?:dist\/)?(?:src|shared|test|bench|workers)\/)/, '$1')
      .replace(/:\d+$/, '');
    out.push(fn !== '' ? `${fn} (${short})` : short);
    if (out.length >= max) break;
  }
  return out;
}

/* ---- the graph ---- */

function edge_rec(e: number): number { const r = e >>> 2; return r === 0 ? 0 : edges + (r - 1) * EDGE_WORDS; }

/* Record the edge a -> b (a held, b being taken), counting it; a new one is checked for a cycle. */
function edge(a: number, akind: number, alock: Ptr, b: number, bkind: number, block: Ptr, td: Ptr, counting: boolean): void {
  const mi = mat + a * NC + b;
  const e = k32[mi];
  if (e !== 0) {
    if (counting) {
      const r = edge_rec(e);
      if (r !== 0) k32[r + E_COUNT]++;
    }
    return;
  }
  edge_new(mi, a, akind, alock, b, bkind, block, td);
}

function edge_new(mi: number, a: number, akind: number, alock: Ptr, b: number, bkind: number, block: Ptr, td: Ptr): void {
  const lockedge = akind !== KIND_TOKEN && bkind !== KIND_TOKEN;
  const flag = lockedge ? EF_LOCK : EF_TOKEN;
  if (Atomics.compareExchange(k32, mi, 0, flag) !== 0) return;   // another CPU saw it first
  const path = witness_stack();
  const idx = Atomics.add(k32, W + WH_NEDGES, 1);
  if (idx < EDGES_MAX) {
    const r = edges + idx * EDGE_WORDS;
    k32[r + E_FROM] = a;
    k32[r + E_TO] = b;
    k32[r + E_COUNT] = 1;
    k32[r + E_TID] = k32[td + TD.td_id];
    k32[r + E_KINDS] = akind | (bkind << 8);
    k32[r + E_CPU] = mycpuid;
    ku8.copyWithin((r + E_NAME) * 4, (td + TD.td_comm) * 4, (td + TD.td_comm) * 4 + TD_COMM_BYTES);
    k32[r + E_PATHLEN] = kmem_putstr(ku8, (r + E_PATH) * 4, PATH_BYTES, fit(path, PATH_BYTES));
    Atomics.store(k32, mi, flag | ((idx + 1) << 2));
  }
  if (lockedge) {
    const cyc = find_path(b, a, true);
    if (cyc !== null) {
      record_cycle(a, b, cyc, true, td);
      panic(reversal_report(a, akind, alock, b, bkind, block, td, cyc, path));
    }
  }
  const any = find_path(b, a, false);
  if (any !== null) record_cycle(a, b, any, false, td);
}

/* The frames that fit in max bytes of UTF-8, one a line. */
function fit(frames: string[], max: number): string {
  let s = '';
  for (const f of frames) {
    const t = s === '' ? f : s + '\n' + f;
    if (Buffer.byteLength(t) > max) break;
    s = t;
  }
  return s;
}

/* A path of classes from -> ... -> to along recorded edges (lock edges only if asked), or null. */
function find_path(from: number, to: number, lockonly: boolean): number[] | null {
  const n = Math.min(Atomics.load(k32, lockclass_base + 1), LOCKCLASS_MAX);
  const prev = new Int32Array(NC).fill(-1);
  const queue = new Int32Array(NC);
  let qh = 0, qt = 0;
  queue[qt++] = from;
  prev[from] = from;
  while (qh < qt) {
    const u = queue[qh++];
    const row = mat + u * NC;
    for (let v = 1; v <= n; v++) {
      if (prev[v] !== -1) continue;
      const e = Atomics.load(k32, row + v);
      if (e === 0 || (lockonly && (e & 3) !== EF_LOCK)) continue;
      prev[v] = u;
      if (v === to) {
        const path = [to];
        for (let x = to; x !== from; x = prev[x]) path.push(prev[x]);
        return path.reverse();
      }
      queue[qt++] = v;
    }
  }
  return null;
}

function record_cycle(a: number, b: number, cyc: number[], deadlock: boolean, td: Ptr): void {
  const i = Atomics.add(k32, W + WH_NREV, 1);
  if (i >= REV_MAX) return;
  const r = revs + i * REV_WORDS;
  k32[r + R_FROM] = a;
  k32[r + R_TO] = b;
  k32[r + R_DEADLOCK] = deadlock ? 1 : 0;
  k32[r + R_TID] = k32[td + TD.td_id];
  const n = Math.min(cyc.length, REV_CYCLE);
  for (let j = 0; j < n; j++) k32[r + R_CYCLE + j] = cyc[j];
  Atomics.store(k32, r + R_N, n);
}

function td_label(td: Ptr): string {
  return `thread ${k32[td + TD.td_id]} '${kmem_getstr(ku8, (td + TD.td_comm) * 4, TD_COMM_BYTES)}'`;
}

function lock_label(lock: Ptr, cls: number, kind: number): string {
  return `${hex(lock)} ${class_name(cls)} (${KIND_NAMES[kind] ?? 'lock'}; ${whatis(k32, ku8, lock)})`;
}

function frames(lines: string[], indent: string): string {
  if (lines.length === 0) return `${indent}(no kernel frames)`;
  return lines.map((f, i) => `${indent}#${i} ${f}`).join('\n');
}

function edge_established(a: number, b: number): string {
  const r = edge_rec(Atomics.load(k32, mat + a * NC + b));
  if (r === 0) return `  ${class_name(a)} -> ${class_name(b)}: (its record did not fit: first path unknown)`;
  const who = `thread ${k32[r + E_TID]} '${kmem_getstr(ku8, (r + E_NAME) * 4, TD_COMM_BYTES)}' on cpu${k32[r + E_CPU]}`;
  const path = kmem_getstr(ku8, (r + E_PATH) * 4, Math.min(k32[r + E_PATHLEN], PATH_BYTES));
  return `  ${class_name(a)} -> ${class_name(b)} first by ${who} at:\n${frames(path === '' ? [] : path.split('\n'), '   ')}`;
}

/*
 * FreeBSD's "lock order reversal" report: the lock held (1st) and the lock being taken
 * (2nd), the order the graph already had (with the path of every edge of a longer
 * chain), and the order attempted now, with this call path.
 */
function reversal_report(a: number, akind: number, alock: Ptr, b: number, bkind: number, block: Ptr, td: Ptr,
    cyc: number[], path: string[]): string {
  const lines = [
    'witness: lock order reversal (a cycle of spin and sleep locks: can deadlock):',
    ` 1st ${lock_label(alock, a, akind)} held by ${td_label(td)} on cpu${mycpuid}`,
    ` 2nd ${lock_label(block, b, bkind)} being taken`,
    ` lock order ${cyc.map(class_name).join(' -> ')} established:`,
  ];
  for (let i = 0; i + 1 < cyc.length; i++) lines.push(edge_established(cyc[i], cyc[i + 1]));
  lines.push(` lock order ${class_name(a)} -> ${class_name(b)} attempted by ${td_label(td)} at:`);
  lines.push(frames(path, '   '));
  return lines.join('\n');
}

/* ---- order, recursion, blocking ---- */

/* Edges from every lock td holds to the lock being taken. */
function order(td: Ptr, lock: Ptr, cls: number, kind: number, counting: boolean): void {
  const rec = held_rec(td);
  const n = k32[rec + HR_N];
  for (let i = 0; i < n; i++) {
    const meta = k32[rec + HR_ENT + 2 * i + 1];
    const hc = meta & 0xffff;
    if (hc !== cls) edge(hc, meta >>> 16, k32[rec + HR_ENT + 2 * i], cls, kind, lock, td, counting);
  }
  const nt = k32[td + TD.td_ntoks];
  for (let i = 0; i < nt; i++) {
    const tok = k32[td + TD.td_toks + i];
    if (tok === lock) continue;
    const hc = k32[tok + TOK.t_class];
    if (hc !== cls && hc > 0) edge(hc, KIND_TOKEN, tok, cls, kind, lock, td, counting);
  }
}

/* The index in td's record of the first spinlock it holds, or -1. */
function spin_held_by(td: Ptr): number {
  const rec = held_rec(td);
  const n = k32[rec + HR_N];
  for (let i = 0; i < n; i++) if ((k32[rec + HR_ENT + 2 * i + 1] >>> 16) === KIND_SPIN) return i;
  return -1;
}

function spins_desc(td: Ptr): string {
  const rec = held_rec(td);
  const n = k32[rec + HR_N];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const meta = k32[rec + HR_ENT + 2 * i + 1];
    if ((meta >>> 16) === KIND_SPIN) out.push(lock_label(k32[rec + HR_ENT + 2 * i], meta & 0xffff, KIND_SPIN));
  }
  return out.join(', ');
}

/* Panic when td holds a spinlock; what() says what it is doing (built only then). */
function no_spin_held(td: Ptr, what: () => string): void {
  if (spin_held_by(td) < 0) return;
  panic(`witness: ${td_label(td)} ${what()} with a spin lock held: ${spins_desc(td)}\n at:\n${frames(witness_stack(), '   ')}`);
}

function recursion_check(td: Ptr, lock: Ptr, cls: number, kind: number): void {
  if (held_find(held_rec(td), lock) < 0) return;
  panic(`witness: recursed on non-recursive ${KIND_NAMES[kind]} ${lock_label(lock, cls, kind)}: ` +
    `${td_label(td)} already holds it and would wait for itself\n at:\n${frames(witness_stack(), '   ')}`);
}

/* ---- the hooks ---- */

function spin_acquired(l: number): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  const cls = k32[l + SL_CLASS];
  if (cls <= 0 || cls >= NC) return;
  note_kind(cls, KIND_SPIN);
  order(td, l, cls, KIND_SPIN, true);
  push(td, l, cls, KIND_SPIN);
}

function spin_wait(l: number): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  const cls = k32[l + SL_CLASS];
  if (cls <= 0 || cls >= NC) return;
  recursion_check(td, l, cls, KIND_SPIN);
  order(td, l, cls, KIND_SPIN, false);
}

/* A spinlock or sleep lock released: off the holder's list (both kinds are kept alike). */
function released(l: number): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  pop(td, l);
}

/* A token linked by lwkt_gettoken (may_block) or lwkt_trytoken: edges from what td holds. */
function token_linked(tok: number, may_block: boolean): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  const n = k32[td + TD.td_ntoks];
  for (let i = 0; i < n - 1; i++) if (k32[td + TD.td_toks + i] === tok) return;   // a recursive reference
  const cls = k32[tok + TOK.t_class];
  if (cls <= 0 || cls >= NC) return;
  note_kind(cls, KIND_TOKEN);
  if (may_block && spin_held_by(td) >= 0) no_spin_held(td, () => `takes token ${lock_label(tok, cls, KIND_TOKEN)} (which may yield)`);
  order(td, tok, cls, KIND_TOKEN, true);
}

function sleep_acquired(w: number): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  const cls = sleep_class(w);
  note_kind(cls, KIND_SLEEP);
  order(td, w, cls, KIND_SLEEP, true);
  push(td, w, cls, KIND_SLEEP);
}

function sleep_wait(w: number): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  const cls = sleep_class(w);
  note_kind(cls, KIND_SLEEP);
  recursion_check(td, w, cls, KIND_SLEEP);
  if (spin_held_by(td) >= 0) no_spin_held(td, () => `waits for sleep lock ${lock_label(w, cls, KIND_SLEEP)}`);
  order(td, w, cls, KIND_SLEEP, false);
}

function sleeping(ident: number, wmesg: string): void {
  const td = cur();
  if (td === NULL) return;
  sync();
  if (spin_held_by(td) >= 0) no_spin_held(td, () => `sleeps on ${hex(ident)} '${wmesg}' (${whatis(k32, ku8, ident)})`);
}

function held_spinlocks(td: number): string {
  if (td === NULL) return '';
  sync();
  const d = spins_desc(td);
  return d === '' ? '' : ` (witness: ${d})`;
}

witness_ops_set({
  spin_acquired, spin_wait, spin_released: released,
  token_get: (tok) => token_linked(tok, true),
  token_try: (tok) => token_linked(tok, false),
  sleep_acquired, sleep_wait, sleep_released: released, sleeping, held_spinlocks,
});

/* ---- reading the graph (the host, any machine, through explicit views) ---- */

export interface WitnessEdge {
  from: string;
  to: string;
  fromKind: string;          // 'spin lock' | 'token' | 'sleep lock'
  toKind: string;
  deadlockable: boolean;     // both ends spin or sleep locks: part of the graph reversals are reported on
  count: number;             // acquisitions that followed this edge (approximate: see the header)
  thread: number;            // the thread that set it first
  threadName: string;
  cpu: number;
  firstPath: string[];       // its call path then, innermost first
}

export interface WitnessCycle {
  from: string;              // the edge that closed the cycle: from -> to
  to: string;
  cycle: string[];           // to -> ... -> from, the order the graph had
  deadlock: boolean;         // spin and sleep locks only: reported (the machine panicked)
  thread: number;
}

export interface WitnessReport {
  enabled: boolean;
  edges: WitnessEdge[];
  reversals: WitnessCycle[];
  cyclesFound: number;       // including those past the table's REV_MAX entries
  edgesWithoutRecord: number;
  untracked: number;         // acquisitions by a thread that already held HELD_MAX locks
}

export function witness_read(sab: SharedArrayBuffer): WitnessReport {
  const { i32, u8 } = kmem_views(sab);
  const w = i32[H_WITNESS];
  const empty: WitnessReport = { enabled: false, edges: [], reversals: [], cyclesFound: 0, edgesWithoutRecord: 0, untracked: 0 };
  if (w === 0 || i32[w + WH_MAGIC] !== W_MAGIC) return empty;
  const clsbase = i32[H_OFF_LOCKCLASS];
  const name = (c: number): string => kstr_read(i32, u8, i32[clsbase + 1 + c]);
  const e0 = w + i32[w + WH_OFF_EDGES];
  const ne = Math.min(Atomics.load(i32, w + WH_NEDGES), EDGES_MAX);
  const out: WitnessReport = { ...empty, enabled: true };
  for (let i = 0; i < ne; i++) {
    const r = e0 + i * EDGE_WORDS;
    if (i32[r + E_FROM] === 0) continue;   // being written
    const k = i32[r + E_KINDS];
    const path = kmem_getstr(u8, (r + E_PATH) * 4, Math.min(i32[r + E_PATHLEN], PATH_BYTES));
    out.edges.push({
      from: name(i32[r + E_FROM]), to: name(i32[r + E_TO]),
      fromKind: KIND_NAMES[k & 0xff] ?? '?', toKind: KIND_NAMES[k >> 8] ?? '?',
      deadlockable: (k & 0xff) !== KIND_TOKEN && (k >> 8) !== KIND_TOKEN,
      count: i32[r + E_COUNT], thread: i32[r + E_TID], threadName: kmem_getstr(u8, (r + E_NAME) * 4, TD_COMM_BYTES),
      cpu: i32[r + E_CPU], firstPath: path === '' ? [] : path.split('\n'),
    });
  }
  out.edgesWithoutRecord = Math.max(0, Atomics.load(i32, w + WH_NEDGES) - EDGES_MAX);
  const r0 = w + i32[w + WH_OFF_REV];
  const nr = Atomics.load(i32, w + WH_NREV);
  out.cyclesFound = nr;
  for (let i = 0; i < Math.min(nr, REV_MAX); i++) {
    const r = r0 + i * REV_WORDS;
    const n = Atomics.load(i32, r + R_N);
    if (n === 0) continue;
    const cycle: string[] = [];
    for (let j = 0; j < n; j++) cycle.push(name(i32[r + R_CYCLE + j]));
    out.reversals.push({ from: name(i32[r + R_FROM]), to: name(i32[r + R_TO]), cycle, deadlock: i32[r + R_DEADLOCK] === 1,
      thread: i32[r + R_TID] });
  }
  out.untracked = i32[w + WH_OVERFLOW];
  return out;
}

/* The spin and sleep locks thread td holds, per WITNESS (host side; [] with witness off). */
export function witness_held(i32: Int32Array, u8: Uint8Array, td: Ptr): { lock: Ptr; cls: string; kind: string }[] {
  const w = i32[H_WITNESS];
  if (w === 0 || i32[w + WH_MAGIC] !== W_MAGIC) return [];
  const rec = w + i32[w + WH_OFF_HELD] + i32[td + TD.td_slot] * HELD_WORDS;
  if (i32[rec + HR_TID] !== i32[td + TD.td_id]) return [];
  const clsbase = i32[H_OFF_LOCKCLASS];
  const out: { lock: Ptr; cls: string; kind: string }[] = [];
  const n = Math.min(i32[rec + HR_N], HELD_MAX);
  for (let i = 0; i < n; i++) {
    const meta = i32[rec + HR_ENT + 2 * i + 1];
    out.push({ lock: i32[rec + HR_ENT + 2 * i], cls: kstr_read(i32, u8, i32[clsbase + 1 + (meta & 0xffff)]),
      kind: KIND_NAMES[meta >>> 16] ?? '?' });
  }
  return out;
}

/* The thread holding sleep or spin lock `lock` per WITNESS, or 0 (unknown, or witness off). */
export function witness_holder(i32: Int32Array, lock: Ptr): number {
  const w = i32[H_WITNESS];
  if (w === 0 || i32[w + WH_MAGIC] !== W_MAGIC) return 0;
  const nslots = i32[w + WH_NSLOTS];
  const h0 = w + i32[w + WH_OFF_HELD];
  const zd = i32[H_OFF_ZONES] + Z_THREAD * ZD.SIZE;
  const tbase = i32[zd + ZD.zd_base], twords = i32[zd + ZD.zd_item_words];
  for (let s = 0; s < nslots; s++) {
    const rec = h0 + s * HELD_WORDS;
    const tid = i32[rec + HR_TID];
    // A record left by a thread that exited (its slot not reused yet) holds nothing.
    if (tid === 0 || i32[tbase + s * twords + TD.td_id] !== tid) continue;
    const n = Math.min(i32[rec + HR_N], HELD_MAX);
    for (let i = 0; i < n; i++) if (i32[rec + HR_ENT + 2 * i] === lock) return tid;
  }
  return 0;
}
