/* Deterministic scenarios for sweeps: each gets a booted machine, returns a result. */
import type { Machine } from '../../src/index.js';

// The thread module beside this one, as source (tests) or compiled (dist).
const PROGS = new URL(import.meta.url.endsWith('.ts') ? './lwkt_tests.ts' : './lwkt_tests.js', import.meta.url).href;

type M = Machine & { kmalloc(words: number): number };

/* Two clients ping a server while four threads share a spinlock counter. */
export async function messagesAndLocks(m: M): Promise<unknown> {
  const spawn = (cpu: number, name: string, ...args: unknown[]): Promise<number> =>
    m.spawn({ cpu, module: PROGS, export: name, args, name });
  const rdv = m.kmalloc(1), lock = m.kmalloc(2), counter = m.kmalloc(1);
  await m.join(await spawn(0, 'spin_setup', lock));
  const ids = [
    await spawn(0, 'order_server', rdv, 2),
    await spawn(1, 'order_client', rdv, 0, 40, 4),
    await spawn(2, 'order_client', rdv, 1, 40, 0),
  ];
  for (let c = 0; c < 3; c++) ids.push(await spawn(c, 'spin_counter_window', lock, counter, 100));
  const results: unknown[] = [];
  for (const id of ids) results.push(await m.join(id));
  return { results, counter: new Int32Array(m.kmem)[counter] };
}

/* A scenario whose machine panics: a sweep reports it as a failed seed. */
export async function panics(m: M): Promise<unknown> {
  return m.join(await m.spawn({ cpu: 0, module: PROGS, export: 'kassert_fails' }));
}
