/*
 * lwkt_ipiq.ts: inter-processor interrupts (DragonFly kern/lwkt_ipiq.c).
 *
 * lwkt_send_ipiq3(cpu, fn, a1, a2, a3) makes fn(a1, a2, a3) run on that CPU.  To the
 * local CPU it runs at once, inline, as in DragonFly.  Otherwise it goes into the
 * (source, target) FIFO; order is kept per pair only.  The target runs its IPIs, in
 * interrupt context (they must not block), when it switches threads, at an interrupt
 * window of a thread not in a critical section, at crit_exit back to zero, and when idle.
 *
 * Each ring has its write index on one cache line (the source's), its read index on
 * another (the target's) and IPIQ_ENTRY_WORDS-word slots after them.  A sender publishes
 * an entry with one Atomics.store of the write index, then sets its bit in the target's
 * pending summary word and rings the target's doorbell only if the target sleeps.
 * Carriers: `sab` puts the entry in the ring; `messageport` posts it on the pair's
 * MessageChannel (drained with receiveMessageOnPort) and uses the ring indexes as
 * counters, so back-pressure and deadlock detection work the same way for both.
 *
 * A full ring: the sender runs its own incoming IPIs until the ring has drained (the
 * target may itself be waiting on a ring full of IPIs for us: dragonfly.md 9.2).  In the
 * deterministic engine every CPU runs in this one JS thread, so nobody could drain the
 * ring while the sender waits: the entry goes to an in-order overflow list instead.
 */

import { sched_want, SP_IPI } from './lwkt_schedpt.js';
import { receiveMessageOnPort } from 'node:worker_threads';
import { k32, H_IPIQ_SLOTS, H_OFF_IPIQ, H_PANIC, H_IPI, IPI_CARRIER_MESSAGEPORT } from '../../shared/kmem.js';
import { IPIQ_ENTRY_WORDS, LINE_WORDS } from '../../shared/param.js';
import { PC } from '../../shared/pcpu.js';
import { kf64 } from '../../shared/kmem.js';
import { det_engine, ncpus, pcpu_of, faults_on } from '../../shared/cpu.js';
import { fail_ipi_hold, fail_ipi_spin, fail_point, FS_IPI_DELAY } from '../../shared/fail.js';
import { KernelHalt, panic } from '../../shared/panic.js';
import { spin_set_wait_hook } from '../../shared/spinlock.js';
import { mycpu, type Globaldata } from './globaldata.js';
import { kfunc_get } from './kfunc.js';
import { TD } from './thread.js';

const TD_CRITCOUNT = TD.td_critcount;

export const IPIQ_WI = 0;                  // write index, source's line
export const IPIQ_RI = LINE_WORDS;         // read index, target's line
export const IPIQ_SLOTS_OFF = 2 * LINE_WORDS;
export function ipiq_ring_words(slots: number): number { return IPIQ_SLOTS_OFF + slots * IPIQ_ENTRY_WORDS; }


let slots = 64;
let slot_mask = 63;
let drain_at = 32;
let drain_to = 16;
let ring_words = ipiq_ring_words(64);
let ipiq_base = 0;
let use_ports = false;
/* The deterministic engine's CPUs, for the overflow lists. */
let det_cpus: Globaldata[] = [];

export function ipiq_attach(cpus_in_isolate: Globaldata[]): void {
  slots = k32[H_IPIQ_SLOTS];
  slot_mask = slots - 1;
  drain_at = slots >> 1;
  drain_to = slots >> 2;
  ring_words = ipiq_ring_words(slots);
  ipiq_base = k32[H_OFF_IPIQ];
  use_ports = k32[H_IPI] === IPI_CARRIER_MESSAGEPORT;
  det_cpus = cpus_in_isolate;
}

export function ipiq_ring(src: number, dst: number): number { return ipiq_base + (src * ncpus + dst) * ring_words; }

/* Entries published but not yet consumed on (src, dst): anyone may ask. */
export function ipiq_inflight(src: number, dst: number): number {
  const r = ipiq_ring(src, dst);
  return (Atomics.load(k32, r + IPIQ_WI) - Atomics.load(k32, r + IPIQ_RI)) | 0;
}

/* Wake a CPU that may be asleep on its doorbell. */
export function cpu_doorbell(cpu: number): void {
  const d = pcpu_of(cpu) + PC.pc_doorbell;
  if (Atomics.load(k32, d) !== 0 && Atomics.compareExchange(k32, d, 1, 0) === 1) Atomics.notify(k32, d);
}

/* Ask a CPU to look at its run queues again (a token it waits for was freed). */
export function cpu_kick(cpu: number): void {
  Atomics.store(k32, pcpu_of(cpu) + PC.pc_kick, 1);
  cpu_doorbell(cpu);
}

export function lwkt_send_ipiq(cpu: number, fn: number, a1: number): void {
  lwkt_send_ipiq3(cpu, fn, a1, 0, 0);
}

export function lwkt_send_ipiq3(cpu: number, fn: number, a1: number, a2: number, a3: number): void {
  const gd = mycpu;
  if (cpu === gd.cpuid) {
    (kfunc_get(fn) as (a: number, b: number, c: number) => void)(a1, a2, a3);
    return;
  }
  sched_want(SP_IPI, cpu);
  const me = gd.cpuid;
  const ring = ipiq_base + (me * ncpus + cpu) * ring_words;
  let w = k32[ring + IPIQ_WI];
  // The target's read index only grows: a stale copy can only make the ring look fuller.
  if (((w - gd.ipi_ri_seen[cpu]) | 0) >= drain_at && ((w - (gd.ipi_ri_seen[cpu] = Atomics.load(k32, ring + IPIQ_RI))) | 0) >= drain_at ||
      (det_engine && gd.ipi_overflow[cpu]?.length)) {
    if (!ipiq_wait_room(gd, ring, cpu)) {
      gd.ipi_overflow[cpu].push(fn, a1, a2, a3);
      ipiq_notify(me, cpu);
      return;
    }
    // The IPIs we ran while waiting may have sent to this ring themselves.
    w = k32[ring + IPIQ_WI];
  }
  if (use_ports) {
    gd.ipi_out[cpu]!.postMessage([fn, a1, a2, a3]);
  } else {
    const e = ring + IPIQ_SLOTS_OFF + (w & slot_mask) * IPIQ_ENTRY_WORDS;
    k32[e] = fn;
    k32[e + 1] = a1;
    k32[e + 2] = a2;
    k32[e + 3] = a3;
  }
  // The ipi_delay fault site (kern_fail.ts), parallel engine: held up before publishing.
  if (faults_on && !det_engine && fail_point(FS_IPI_DELAY)) fail_ipi_spin();
  Atomics.store(k32, ring + IPIQ_WI, (w + 1) | 0);
  ipiq_notify(me, cpu);
}

function ipiq_notify(me: number, cpu: number): void {
  kf64[(mycpu.pcpu + PC.pc_ipis_sent_f64) >> 1]++;
  const tp = pcpu_of(cpu);
  Atomics.or(k32, tp + PC.pc_ipipend, 1 << me);
  if (Atomics.load(k32, tp + PC.pc_doorbell) !== 0) cpu_doorbell(cpu);
}

/*
 * The ring to cpu is over half full.  Run our own incoming IPIs until it has drained
 * to a quarter.  Returns false in the deterministic engine, where waiting cannot help.
 */
const IPIQ_INDEFINITE_MS = 5000;

function ipiq_wait_room(gd: Globaldata, ring: number, cpu: number): boolean {
  if (det_engine) {
    if (gd.ipi_overflow[cpu] === undefined) gd.ipi_overflow[cpu] = [];
    return false;
  }
  let tries = 0;
  let since = 0;
  for (;;) {
    lwkt_process_ipiq_all(gd);
    if (((k32[ring + IPIQ_WI] - Atomics.load(k32, ring + IPIQ_RI)) | 0) <= drain_to) return true;
    if (Atomics.load(k32, H_PANIC) !== 0) throw new KernelHalt('lwkt_send_ipiq: machine panicked while the ring was full');
    if (++tries > 1000) {
      Atomics.wait(k32, pcpu_of(gd.cpuid) + PC.pc_pad0, 0, 0.05);  // give a host core away
      // The target does not drain: name it rather than leave a soft lockup to guess.
      if ((tries & 1023) === 0) {
        const now = Date.now();
        if (since === 0) since = now;
        else if (now - since > IPIQ_INDEFINITE_MS) {
          panic(`lwkt_send_ipiq: cpu${gd.cpuid}'s IPI ring to cpu${cpu} stayed full for ${IPIQ_INDEFINITE_MS / 1000} s ` +
            `(cpu${cpu} does not drain it; this CPU holds ${k32[gd.pcpu + PC.pc_spinlocks]} spinlocks)`);
        }
      }
    }
  }
}

/* Any IPIs (or a kick) waiting for this CPU?  A plain read: a hint, re-checked by Atomics. */
export function ipiq_pending_hint(gd: Globaldata): boolean {
  return k32[gd.pcpu + PC.pc_ipipend] !== 0;
}

/*
 * Run every IPI queued for this CPU (lwkt_process_ipiq).  Clear a source's summary bit
 * before draining its ring, so an entry published after the drain sets it again.
 * Returns the number of functions run.
 */
export function lwkt_process_ipiq_all(gd: Globaldata): number {
  // The ipi_delay fault site (kern_fail.ts), deterministic engine: not at this chance but
  // a later one (the IPIs stay pending, so the CPU stays a candidate); bounded.
  if (faults_on && det_engine && k32[gd.pcpu + PC.pc_ipipend] !== 0 && fail_ipi_hold()) return 0;
  // Take every source bit at once; a source that publishes after this sets its bit again.
  const mask = Atomics.exchange(k32, gd.pcpu + PC.pc_ipipend, 0);
  if (mask === 0) return 0;
  let n = 0;
  let m = mask;
  // IPI functions run in a critical section, as in DragonFly: a crit_exit inside one
  // must not start another drain of the rings being drained.
  const crit = gd.curtd + TD_CRITCOUNT;
  k32[crit]++;
  while (m !== 0) {
    const src = 31 - Math.clz32(m);
    m &= ~(1 << src);
    n += ipiq_drain(gd, src);
  }
  k32[crit]--;
  if (n !== 0) kf64[(gd.pcpu + PC.pc_ipis_recv_f64) >> 1] += n;
  return n;
}

/*
 * Take the entries out of this CPU's incoming rings without running them, into a queue of
 * its own (gd.ipi_stash): a CPU that spins for a spinlock runs no IPIs (it may be in a
 * critical section), and the lock's holder may be waiting for room in this very ring to
 * send one (a wakeup under ssb_spin, which frees an mbuf a sleeper waits for).  Emptying
 * the ring frees the holder; the functions still run in order, at this CPU's next IPI
 * processing (ipiq_drain runs the stash first).  The source bits stay set.  DragonFly's
 * hardware FIFO is simply deeper; a ring in shared memory has the size it has.
 */
export function ipiq_stash(gd: Globaldata): void {
  if (use_ports) return;
  let m = Atomics.load(k32, gd.pcpu + PC.pc_ipipend);
  while (m !== 0) {
    const src = 31 - Math.clz32(m);
    m &= ~(1 << src);
    const ring = ipiq_base + (src * ncpus + gd.cpuid) * ring_words;
    const w = Atomics.load(k32, ring + IPIQ_WI);
    let r = k32[ring + IPIQ_RI];
    if (((w - r) | 0) <= 0) continue;
    const q = gd.ipi_stash[src] ?? (gd.ipi_stash[src] = []);
    for (; ((w - r) | 0) > 0; r = (r + 1) | 0) {
      const e = ring + IPIQ_SLOTS_OFF + (r & slot_mask) * IPIQ_ENTRY_WORDS;
      q.push(k32[e], k32[e + 1], k32[e + 2], k32[e + 3]);
    }
    Atomics.store(k32, ring + IPIQ_RI, r);
  }
}

function ipiq_drain_stash(q: number[]): number {
  // Entries run in order; the array is emptied before running, as they may stash again.
  const e = q.splice(0, q.length);
  for (let i = 0; i < e.length; i += 4) (kfunc_get(e[i]) as (a: number, b: number, c: number) => void)(e[i + 1], e[i + 2], e[i + 3]);
  return e.length >> 2;
}

function ipiq_drain(gd: Globaldata, src: number): number {
  const ring = ipiq_base + (src * ncpus + gd.cpuid) * ring_words;
  let n = 0;
  const stash = gd.ipi_stash[src];
  if (stash !== undefined && stash.length !== 0) n += ipiq_drain_stash(stash);
  const port = use_ports ? gd.ipi_in[src]! : null;
  // Entries published after this load come with the source's summary bit set again.  A
  // function below may drain this ring re-entrantly (a full ring elsewhere makes its sender
  // run our IPIs), moving the read index past w: anything at or beyond w is for later.
  const w = Atomics.load(k32, ring + IPIQ_WI);
  for (;;) {
    const r = k32[ring + IPIQ_RI];
    if (((w - r) | 0) <= 0) break;
    let fn: number, a1: number, a2: number, a3: number;
    if (port !== null) {
      const got = receiveMessageOnPort(port);
      if (got === undefined) break;   // index published before the post arrived: next time
      const e = got.message as number[];
      fn = e[0]; a1 = e[1]; a2 = e[2]; a3 = e[3];
    } else {
      const e = ring + IPIQ_SLOTS_OFF + (r & slot_mask) * IPIQ_ENTRY_WORDS;
      fn = k32[e]; a1 = k32[e + 1]; a2 = k32[e + 2]; a3 = k32[e + 3];
    }
    // Consume before running: the function may send IPIs and so re-enter this drain
    // (same CPU: a plain write will do); the sender sees the index when we publish it.
    k32[ring + IPIQ_RI] = (r + 1) | 0;
    if ((n & 7) === 7) Atomics.store(k32, ring + IPIQ_RI, (r + 1) | 0);
    (kfunc_get(fn) as (a: number, b: number, c: number) => void)(a1, a2, a3);
    n++;
  }
  if (n !== 0) Atomics.store(k32, ring + IPIQ_RI, k32[ring + IPIQ_RI]);
  if (det_engine) n += ipiq_drain_overflow(gd, src);
  return n;
}

function ipiq_drain_overflow(gd: Globaldata, src: number): number {
  const q = det_cpus[src]?.ipi_overflow[gd.cpuid];
  if (q === undefined || q.length === 0) return 0;
  // Entries run in order; one sent while we drain is appended and runs in this loop too.
  let i = 0;
  for (; i < q.length; i += 4) (kfunc_get(q[i]) as (a: number, b: number, c: number) => void)(q[i + 1], q[i + 2], q[i + 3]);
  q.length = 0;
  return i >> 2;
}

/* Does any CPU have IPIs in flight (ring entries or overflow) to cpu?  For deadlock checks. */
export function ipiq_any_inflight(cpu: number): boolean {
  for (let s = 0; s < ncpus; s++) {
    if (s !== cpu && ipiq_inflight(s, cpu) !== 0) return true;
    if (det_engine && (det_cpus[s]?.ipi_overflow[cpu]?.length ?? 0) !== 0) return true;
  }
  return false;
}

// A CPU spinning for a spinlock empties its rings into its stash (see ipiq_stash).
spin_set_wait_hook(() => {
  const gd = mycpu;
  if (gd !== null && k32[gd.pcpu + PC.pc_ipipend] !== 0) ipiq_stash(gd);
});
