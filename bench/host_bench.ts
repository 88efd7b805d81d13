/*
 * host_bench.ts: single-thread costs, measured with tinybench on the host thread.
 *
 * The kernel's spinlocks and zones are plain functions over kmem.  A deterministic
 * machine booted in this process attaches the kernel globals (kmem, this CPU's pcpu
 * block, lock statistics) to the host, which is cpu -1 and may take spinlocks; the tasks
 * then call spin_lock/spin_unlock and zalloc/zfree directly.  One machine with lock
 * statistics off and one with them on; machine.kmalloc() re-attaches the host to a
 * machine, and each task does that in its beforeAll hook.
 *
 * Every operation here costs less than 100 ns, so each task runs BATCH of them between
 * two clock reads and returns { overriddenDuration: per-op ms, overriddenIterationCost }
 * (tinybench 6): the timer's own cost (~50 ns) stays out of the samples.
 */

import { Bench, type Task } from 'tinybench';
import { boot } from '../src/index.js';
import { spin_init, spin_lock, spin_unlock } from '../shared/spinlock.js';
import { zalloc, zfree, Z_MSG } from '../shared/zone.js';
import { progress } from './report.js';

const BATCH = 10_000;

export interface HostCosts {
  casStore: number;        // ns per raw Atomics.compareExchange + Atomics.store
  spinOff: number;         // ns per spin_lock + spin_unlock, lock statistics off
  spinOn: number;          // ... on
  zoneOff: number;         // ns per zalloc(Z_MSG) + zfree, statistics off
  zoneOn: number;
  genResume: number;       // ns per resume, two generators round robin
  samples: Record<string, number>;
}

type Kmallocer = { kmalloc(words: number): number };

function p50_ns(t: Task | undefined): number {
  const r = t?.result;
  if (r === undefined || !('latency' in r)) throw new Error(`tinybench task ${t?.name}: ${r?.state ?? 'no result'}`);
  return r.latency.p50 * 1e6;
}

export async function host_costs(timeMs: number): Promise<HostCosts> {
  const off = await boot({ engine: 'deterministic', cpus: 1, lockstat: false, memory: 16 << 20 });
  const on = await boot({ engine: 'deterministic', cpus: 1, lockstat: true, memory: 16 << 20 });
  try {
    // A lock word per machine (kmalloc attaches the host to that machine's kmem).
    const lockOff = (off as unknown as Kmallocer).kmalloc(2);
    spin_init(lockOff, 'bench:uncontended');
    const lockOn = (on as unknown as Kmallocer).kmalloc(2);
    spin_init(lockOn, 'bench:uncontended');
    const attach = (m: unknown) => (): void => { (m as Kmallocer).kmalloc(1); };

    const raw = new Int32Array(new SharedArrayBuffer(64));
    const bench = new Bench({ name: 'host', time: timeMs, warmupTime: Math.min(100, timeMs / 2) });
    const batched = (fn: () => void) => (): { overriddenDuration: number; overriddenIterationCost: number } => {
      const t0 = bench.now();
      fn();
      const dt = bench.now() - t0;
      return { overriddenDuration: dt / BATCH, overriddenIterationCost: dt };
    };

    bench.add('raw CAS+store', batched(() => {
      for (let i = 0; i < BATCH; i++) {
        Atomics.compareExchange(raw, 0, 0, 1);
        Atomics.store(raw, 0, 0);
      }
    }));
    bench.add('spin_lock+unlock (lockstat off)', batched(() => {
      for (let i = 0; i < BATCH; i++) { spin_lock(lockOff); spin_unlock(lockOff); }
    }), { beforeAll: attach(off) });
    bench.add('spin_lock+unlock (lockstat on)', batched(() => {
      for (let i = 0; i < BATCH; i++) { spin_lock(lockOn); spin_unlock(lockOn); }
    }), { beforeAll: attach(on) });
    bench.add('zalloc+zfree Z_MSG (lockstat off)', batched(() => {
      for (let i = 0; i < BATCH; i++) zfree(Z_MSG, zalloc(Z_MSG));
    }), { beforeAll: attach(off) });
    bench.add('zalloc+zfree Z_MSG (lockstat on)', batched(() => {
      for (let i = 0; i < BATCH; i++) zfree(Z_MSG, zalloc(Z_MSG));
    }), { beforeAll: attach(on) });
    // The floor of a scheduler switch: resuming two generators alternately.
    function* g(): Generator<number, void, unknown> { for (;;) yield 0; }
    const ga = g();
    const gb = g();
    bench.add('generator resume (2, round robin)', batched(() => {
      for (let i = 0; i < BATCH; i += 2) { ga.next(); gb.next(); }
    }));

    bench.addEventListener('cycle', (e) => { if (e.task !== undefined) progress(`tinybench: ${e.task.name}`); });
    await bench.run();
    // Honesty check: both locks free again, every zone item given back.
    for (const [m, l] of [[off, lockOff], [on, lockOn]] as const) {
      if (new Int32Array(m.kmem)[l] !== 0) throw new Error('host bench: spinlock left held');
      const z = m.stats().zones[Z_MSG];
      if (z.used !== 0) throw new Error(`host bench: ${z.used} Z_MSG items still allocated`);
    }
    const samples: Record<string, number> = {};
    for (const t of bench.tasks) samples[t.name] = p50_ns(t);
    return {
      casStore: samples['raw CAS+store'],
      spinOff: samples['spin_lock+unlock (lockstat off)'],
      spinOn: samples['spin_lock+unlock (lockstat on)'],
      zoneOff: samples['zalloc+zfree Z_MSG (lockstat off)'],
      zoneOn: samples['zalloc+zfree Z_MSG (lockstat on)'],
      genResume: samples['generator resume (2, round robin)'],
      samples,
    };
  } finally {
    await off.shutdown();
    await on.shutdown();
  }
}
