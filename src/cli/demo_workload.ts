/*
 * demo_workload.ts: the demo's kernel threads.  A message ping-pong on every unordered CPU
 * pair (server on the higher CPU, client on the lower; one same-CPU pair on a 1-CPU
 * machine) and, on every CPU, a counter incremented under one shared token that is
 * dropped across a tsleep every `blockEvery` increments.  Everything runs for `ns`
 * nanoseconds of the machine's clock (virtual time in the deterministic engine).
 */

import type { Machine } from '../machine/machine.js';
import { DeterministicMachine } from '../machine/deterministic.js';
import { LWKT_WORKLOADS } from '../workloads/lwkt.js';
import { DEMO_THREADS } from './demo_threads.js';

export const TOKEN_CLASS = 'demo_token';

/* Modules the demo's threads come from: boot with them, so no spawn waits for an import. */
export const DEMO_MODULES = [LWKT_WORKLOADS, DEMO_THREADS];

export interface PairResult { client: number; server: number; rounds: number; ns: number; wrong: number }
export interface CounterResult { cpu: number; increments: number; ns: number; rounds: number }

export interface DemoThreads {
  pairs: { client: number; server: number; clientId: number; serverId: number }[];
  counters: { cpu: number; id: number }[];
  counter: number;            // kmem word the counters increment
}

export interface DemoResults {
  pairs: PairResult[];
  counters: CounterResult[];
  counterValue: number;       // the word itself, read after every counter thread ended
}

/* The CPU pairs [client, server] of an n-CPU machine. */
export function demoPairs(ncpus: number): [number, number][] {
  if (ncpus === 1) return [[0, 0]];
  const out: [number, number][] = [];
  for (let a = 0; a < ncpus; a++) for (let b = a + 1; b < ncpus; b++) out.push([a, b]);
  return out;
}

/* Thread descriptors the demo needs on an n-CPU machine, with room to spare. */
export function demoMaxThreads(ncpus: number): number {
  return Math.max(1024, 2 * demoPairs(ncpus).length + ncpus + 64);
}

function kmalloc(m: Machine, words: number): number {
  const p = m.kmalloc(words);
  if (p === 0) throw new Error(`demo: kmalloc(${words}) failed: kmem zone exhausted`);
  return p;
}

export interface DemoSetup { tok: number; counter: number; rdvs: number[] }

/* Allocate the shared words and initialise the token (its thread is run to completion). */
export async function setupDemo(m: Machine): Promise<DemoSetup> {
  const tok = kmalloc(m, 4);
  const counter = kmalloc(m, 1);
  const rdvs = demoPairs(m.ncpus).map(() => kmalloc(m, 1));
  await m.join(await m.spawn({ module: LWKT_WORKLOADS, export: 'token_init', args: [tok, TOKEN_CLASS], name: 'token_init' }));
  return { tok, counter, rdvs };
}

/* Spawn the demo's threads, all to run for ns nanoseconds. */
export async function spawnDemo(m: Machine, { tok, counter, rdvs }: DemoSetup, ns: number, blockEvery: number): Promise<DemoThreads> {
  const pairs: DemoThreads['pairs'] = [];
  for (const [i, [client, server]] of demoPairs(m.ncpus).entries()) {
    const rdv = rdvs[i];
    const serverId = await m.spawn({ cpu: server, module: LWKT_WORKLOADS, export: 'pingpong_server', args: [rdv, 1],
      name: `pp_srv${client}.${server}` });
    const clientId = await m.spawn({ cpu: client, module: LWKT_WORKLOADS, export: 'pingpong_client', args: [rdv, 0, ns],
      name: `pp_cli${client}.${server}` });
    pairs.push({ client, server, clientId, serverId });
  }
  const counters: DemoThreads['counters'] = [];
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    const id = await m.spawn({ cpu, module: DEMO_THREADS, export: 'token_counter_for', args: [tok, counter, ns, blockEvery],
      name: `tokctr${cpu}` });
    counters.push({ cpu, id });
  }
  return { pairs, counters, counter };
}

/*
 * Wait for every demo thread and collect what they return.  The deterministic engine runs
 * only while the host waits on it: run it to the end once (one driver, so progress timers
 * keep firing between its slices) rather than through one join per thread.
 */
export async function joinDemo(m: Machine, t: DemoThreads): Promise<DemoResults> {
  if (m instanceof DeterministicMachine) await m.run();
  const pairs = await Promise.all(t.pairs.map(async (p) => {
    const [rounds, ns, wrong] = (await m.join(p.clientId)) as number[];
    await m.join(p.serverId);
    return { client: p.client, server: p.server, rounds, ns, wrong };
  }));
  const counters = await Promise.all(t.counters.map(async (c) => {
    const [increments, ns, rounds] = (await m.join(c.id)) as number[];
    return { cpu: c.cpu, increments, ns, rounds };
  }));
  return { pairs, counters, counterValue: Atomics.load(new Int32Array(m.kmem), t.counter) };
}
