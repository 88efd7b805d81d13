/*
 * lwkt_bench.ts: the simulation's figures, measured inside the simulation (nanotime in
 * the kernel threads; real time on the parallel engine) or, for the deterministic
 * engine, as host wall time around machine.join.
 *
 * Every machine is shut down in a finally, so no worker outlives a measurement.
 */

import { TDPRI_USER_NORM } from '../src/lwkt/thread.js';
import { boot, LWKT_WORKLOADS, type BootOptions, type Machine } from '../src/index.js';
import { SPINLOCK_WORDS } from '../shared/spinlock.js';
import { TOK } from '../src/lwkt/lwkt_token.js';
import { K_BGL, K_SPIN, K_TOKEN } from './progs/bench_threads.js';

export const BENCH_THREADS = new URL('./progs/bench_threads.js', import.meta.url).href;
const MODULES = [LWKT_WORKLOADS, BENCH_THREADS];
const MEMORY = 32 << 20;

export type Kmachine = Machine & { kmalloc(words: number): number };

export async function with_machine<T>(opts: BootOptions, fn: (m: Kmachine) => Promise<T>): Promise<T> {
  const m = (await boot({ memory: MEMORY, modules: MODULES, ...opts })) as Kmachine;
  let result: T;
  try {
    result = await fn(m);
  } catch (e) {
    await m.shutdown().catch(() => undefined);   // the measurement's error is the one to report
    throw e;
  }
  await m.shutdown();
  return result;
}

/* A join that gives up: a lost wake-up must fail the measurement, not hang the suite. */
const JOIN_TIMEOUT_MS = 60_000;
export function join(m: Machine, id: number, what: string, ms = JOIN_TIMEOUT_MS): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: thread ${id} did not finish within ${ms / 1e3} s ` +
      `(threads: ${m.threads().filter((t) => !t.name.startsWith('idle')).map((t) => `${t.name}@cpu${t.cpu}:${t.state}/${t.wmesg || '-'}`).join(', ')})`)), ms);
    timer.unref();
  });
  return Promise.race([m.join(id), timeout]).finally(() => clearTimeout(timer));
}

function as_nums(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new Error(`${what}: unexpected result ${JSON.stringify(v)}`);
  return v as number[];
}

export interface PingPong {
  ns: number;              // per round trip, as pingpong_client measured it
  rounds: number;
  busySwitches: number[];  // switches done by the busy_yield threads meanwhile
}

/*
 * lwkt_domsg round trips from a client on clientCpu to a server on serverCpu for `ms`,
 * optionally with a busy_yield thread on every CPU.  Asserts every reply is right.
 * The busy threads run at user priority (TDPRI_USER_NORM), as user work does beside
 * kernel threads in DragonFly: a kernel thread woken by a message runs at the busy
 * thread's next switch instead of queueing behind it round robin.
 */
export async function domsg_pingpong(m: Kmachine, serverCpu: number, clientCpu: number, busy: boolean,
    ms: number): Promise<PingPong> {
  const i32 = new Int32Array(m.kmem);
  const rdv = m.kmalloc(1);
  const stop = m.kmalloc(1);
  const busyIds: number[] = [];
  try {
    if (busy) {
      for (let c = 0; c < m.ncpus; c++) {
        busyIds.push(await m.spawn({ cpu: c, module: LWKT_WORKLOADS, export: 'busy_yield', args: [stop], name: `busy${c}`,
          priority: TDPRI_USER_NORM }));
      }
    }
    // Client first: it sleeps with a timeout until the server publishes its port.
    const client = await m.spawn({ cpu: clientCpu, module: LWKT_WORKLOADS, export: 'pingpong_client', args: [rdv, 0, ms * 1e6] });
    const server = await m.spawn({ cpu: serverCpu, module: LWKT_WORKLOADS, export: 'pingpong_server', args: [rdv, 1] });
    const [rounds, ns, wrong] = as_nums(await join(m, client, 'pingpong_client'), 'pingpong_client');
    const served = await join(m, server, 'pingpong_server');
    if (wrong !== 0) throw new Error(`pingpong: ${wrong} of ${rounds} replies were wrong`);
    if (served !== rounds) throw new Error(`pingpong: server served ${String(served)}, client counted ${rounds}`);
    if (rounds <= 0) throw new Error('pingpong: no round trips');
    Atomics.store(i32, stop, 1);
    const busySwitches: number[] = [];
    for (const id of busyIds) busySwitches.push(Number(await join(m, id, 'busy_yield')));
    return { ns: ns / rounds, rounds, busySwitches };
  } finally {
    Atomics.store(i32, stop, 1);
  }
}

/*
 * Scheduler switch cost: `threads` yield_loop threads on one CPU, released together by a
 * gate.  Each returns its elapsed ns; they run interleaved, so ns per switch is the
 * longest elapsed over all the yields done.
 */
export async function switch_cost(m: Kmachine, cpu: number, threads: number, n: number): Promise<{ ns: number; switches: number }> {
  const i32 = new Int32Array(m.kmem);
  const go = m.kmalloc(1);
  const ids: number[] = [];
  try {
    for (let t = 0; t < threads; t++) {
      ids.push(await m.spawn({ cpu, module: BENCH_THREADS, export: 'gated_yield_loop', args: [go, n], name: `yield${t}` }));
    }
    Atomics.store(i32, go, 1);
    let longest = 0;
    for (const id of ids) longest = Math.max(longest, Number(await join(m, id, 'gated_yield_loop')));
    return { ns: longest / (threads * n), switches: threads * n };
  } finally {
    Atomics.store(i32, go, 1);
  }
}

export interface Counted {
  opsPerSec: number;
  ops: number;
  windowNs: number;
  perCpu: number[];
}

const KIND_NAME = ['spin_counter', 'token_counter', 'bgl_counter'];

/*
 * One counter workload on every CPU of m for `ms`: spin_counter, token_counter or
 * bgl_counter (through timed_counter).  Checks the counter against the increments made.
 */
export async function contended(m: Kmachine, kind: number, ms: number): Promise<Counted> {
  const i32 = new Int32Array(m.kmem);
  const go = m.kmalloc(1);
  const counter = m.kmalloc(1);
  let lock = 0;
  if (kind === K_SPIN) {
    lock = m.kmalloc(SPINLOCK_WORDS);
    await join(m, await m.spawn({ module: LWKT_WORKLOADS, export: 'spin_setup', args: [lock, 'bench:spin_counter'] }), 'spin_setup');
  } else if (kind === K_TOKEN) {
    lock = m.kmalloc(TOK.SIZE);
    await join(m, await m.spawn({ module: LWKT_WORKLOADS, export: 'token_init', args: [lock, 'bench:token_counter'] }), 'token_init');
  }
  const ids: number[] = [];
  try {
    for (let c = 0; c < m.ncpus; c++) {
      ids.push(await m.spawn({ cpu: c, module: BENCH_THREADS, export: 'timed_counter', args: [kind, go, lock, counter, ms, 256],
        name: `${KIND_NAME[kind]}${c}` }));
    }
    Atomics.store(i32, go, 1);
    const res: number[][] = [];
    for (const id of ids) res.push(as_nums(await join(m, id, KIND_NAME[kind]), KIND_NAME[kind]));
    const ops = res.reduce((s, r) => s + r[0], 0);
    const t0 = Math.min(...res.map((r) => r[1]));
    const t1 = Math.max(...res.map((r) => r[2]));
    const got = Atomics.load(i32, counter);
    if (got !== (ops | 0)) throw new Error(`${KIND_NAME[kind]} on ${m.ncpus} CPUs: counter is ${got}, ${ops} increments were made (lost updates)`);
    return { opsPerSec: ops / ((t1 - t0) / 1e9), ops, windowNs: t1 - t0, perCpu: res.map((r) => r[0]) };
  } finally {
    Atomics.store(i32, go, 1);
  }
}

/* In-thread uncontended costs on a parallel CPU: [spin ns/op, raw CAS+store ns/op, zone ns/op]. */
export async function in_thread_uncontended(m: Kmachine, cpu: number, n: number): Promise<number[]> {
  const lock = m.kmalloc(SPINLOCK_WORDS);
  const word = m.kmalloc(1);
  await join(m, await m.spawn({ cpu, module: LWKT_WORKLOADS, export: 'spin_setup', args: [lock, 'bench:in_thread'] }), 'spin_setup');
  return as_nums(await join(m, await m.spawn({ cpu, module: BENCH_THREADS, export: 'uncontended_ops', args: [lock, word, n] }), 'uncontended_ops'),
    'uncontended_ops');
}

/*
 * Deterministic engine throughput: `threads` yield_loop threads on one CPU, host wall
 * time around the joins (the engine runs only while the host waits on it).
 */
export async function det_switch_rate(threads: number, n: number): Promise<{ perSec: number; switches: number; wallMs: number }> {
  return with_machine({ engine: 'deterministic', cpus: 1, memory: 16 << 20 }, async (m) => {
    const ids: number[] = [];
    for (let t = 0; t < threads; t++) ids.push(await m.spawn({ module: LWKT_WORKLOADS, export: 'yield_loop', args: [n] }));
    const s0 = m.stats().cpus[0].switches;
    const t0 = performance.now();
    for (const id of ids) await join(m, id, 'yield_loop (deterministic)');
    const wallMs = performance.now() - t0;
    const switches = m.stats().cpus[0].switches - s0;
    return { perSec: switches / (wallMs / 1e3), switches, wallMs };
  });
}

/* The floor under a switch, on the host: resume two generators alternately. */
export function raw_generator_resume_ns(n: number): number {
  function* g(): Generator<number, void, unknown> { for (;;) yield 0; }
  const a = g();
  const b = g();
  for (let i = 0; i < 10_000; i++) { a.next(); b.next(); }
  const t0 = performance.now();
  for (let i = 0; i < n; i += 2) { a.next(); b.next(); }
  return ((performance.now() - t0) * 1e6) / n;
}

export { K_SPIN, K_TOKEN, K_BGL, KIND_NAME };
