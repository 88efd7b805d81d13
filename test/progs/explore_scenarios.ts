/*
 * Scenarios for sweep() and explore(): async functions given a booted deterministic machine.
 */
import type { Machine } from '../../src/index.js';

const P = new URL('./explore_progs.ts', import.meta.url).href;

/* The README's server and client: 100,000 bytes across CPUs. */
export async function serverClient(m: Machine): Promise<number> {
  const s = await m.spawnProcess({ cpu: 1, module: P, export: 'server', args: ['/srv.sock'] });
  const c = await m.spawnProcess({ cpu: 0, module: P, export: 'client', args: ['/srv.sock'] });
  await m.join(c);
  return (await m.join(s)) as number;
}

/* Which of two senders on two CPUs is received first ('A': the main thread's, 'B': the thread's on CPU 1). */
export async function twoSenders(m: Machine): Promise<string> {
  const t = await m.spawnProcess({ cpu: 0, module: P, export: 'two_senders', args: [1] });
  return (await m.join(t)) as string;
}

/* The same, failing when A arrives first: a "bug" the exhaustive search must find. */
export async function twoSendersBFirst(m: Machine): Promise<string> {
  const r = await twoSenders(m);
  if (r !== 'B') throw new Error(`A arrived first`);
  return r;
}
