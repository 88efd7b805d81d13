/*
 * A token's release kicks the CPUs whose threads wait for it (t_waitmask, cpu_kick); until
 * such a CPU has looked again, the machine is not deadlocked, however long that takes.
 *
 * The report: a parallel-engine bgl stream between CPUs 0 and 1 ended in
 * PanicError[deadlock]: stream_client runnable in tokwait, stream_server asleep in
 * sbwait, the BGL free, both CPUs idle.  The server's release of the BGL had kicked the
 * client's CPU, but that CPU's worker thread did not run (a loaded host, a GC pause) for
 * two watchdog checks, and the check took "idle, no IPI, no callout" for "nothing will
 * ever run": it did not read the kick.  Reproduced by scratch/repro.mjs (two stress
 * loops at once on a 2-core host).
 *
 * Here CPU 0's worker is stalled on purpose while its simulated CPU is idle: it imports a
 * module that busy-waits (ParallelMachine.load, test/progs/token_kick_stall.ts), and
 * meanwhile the token its waiter wants is released on CPU 1.
 */
import { describe, it, expect } from 'vitest';
import type { ParallelMachine } from '../src/index.js';
import { H_OFF_PCPU } from '../shared/kmem.js';
import { PC, PCPU_WORDS } from '../shared/pcpu.js';
import { machine, down } from './helpers.js';

const PROGS = new URL('./progs/token_kick_progs.ts', import.meta.url).href;
const STALL = new URL('./progs/token_kick_stall.ts', import.meta.url).href;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe('token kick (parallel engine)', () => {
  it('a waiter kicked by the release is not declared deadlocked while its CPU has yet to look again', async () => {
    const m = await machine({ cpus: 2, engine: 'parallel' });
    const i32 = m.i32;
    const tok = m.kmalloc(4);
    const w = m.kmalloc(4);     // [0] held, [1] release it, [2] CPU 0 stalled, [3] end the stall
    await m.join(await m.spawn({ cpu: 0, module: PROGS, export: 'tk_setup', args: [tok] }));
    const h = await m.spawn({ cpu: 1, module: PROGS, export: 'tk_holder', args: [tok, w] });
    await until('the holder to take the token', () => Atomics.load(i32, w) === 1);
    const wt = await m.spawn({ cpu: 0, module: PROGS, export: 'tk_waiter', args: [tok] });
    await until('the waiter to wait for the token', () => m.threads().some((t) => t.id === wt && t.state === 'tokwait'));
    const jw = m.join(wt).then((v) => v, (e: unknown) => e);
    const jh = m.join(h).then((v) => v, (e: unknown) => e);

    // CPU 0's worker stops running; the simulated CPU 0 stays idle (its waiter in tokwait).
    const load = (m as unknown as ParallelMachine).load(`${STALL}?cpu=0&flag=${w + 2}&release=${w + 3}`);
    load.catch(() => undefined);
    await until('CPU 0 to stall', () => Atomics.load(i32, w + 2) === 1);
    // The host's kick that announced the load has done its work (CPU 0 is in its event
    // loop): clear it, so that the only kick left is the one the token's release sends.
    const kick0 = i32[H_OFF_PCPU] + 0 * PCPU_WORDS + PC.pc_kick;
    Atomics.store(i32, kick0, 0);

    Atomics.store(i32, w + 1, 1);                 // CPU 1 releases the token, and its thread ends
    expect(await jh).toBe(1);
    expect(Atomics.load(i32, kick0)).toBe(1);     // the release kicked CPU 0, which has not looked yet
    // Ten watchdog checks, with CPU 1 idle and CPU 0 stalled: before the fix the second
    // one declared a deadlock.
    const pm = m as unknown as ParallelMachine;
    const c0 = pm.deadlockChecks;
    await until('ten deadlock checks', () => pm.deadlockChecks >= c0 + 10);

    Atomics.store(i32, w + 3, 1);                 // CPU 0's worker runs again and picks the waiter
    expect(await jw).toBe(1);                     // before the fix: PanicError[deadlock]
    await load;
    await down(m);
  });
});
