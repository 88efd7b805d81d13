/*
 * Bad input, at random: a process makes thousands of system calls with arguments drawn
 * from plausible values and from garbage (test/progs/fuzz_progs.ts).  Every call must
 * return or fail with a SysError carrying an errno, never throw anything else out of the
 * kernel; the machine must not panic; and once the process has exited and its files in
 * the namespace are removed, every socket-layer zone is back to its starting count.
 * Both engines, both dispatch models, root and an ordinary uid, three threads of one
 * process on both CPUs calling at once on one descriptor table, and forked children
 * sharing every file, which the parent signals at random (SIGKILL among them) and reaps
 * (a child's own exceptions from the kernel come back in the parent's report).
 *
 * This found a panic: uipc_send disposed of SCM_RIGHTS it had refused before
 * internalizing them (out-of-band data), closing raw descriptor numbers as files.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, machine, down, quiesce, socketZones } from './helpers.js';
import type { FuzzResult } from './progs/fuzz_progs.js';

const FUZZ = new URL('./progs/fuzz_progs.ts', import.meta.url).href;
const CALLS = 3000;

describe.each(ENGINES)('system calls with random arguments (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    // Seed 1014, 4000 calls: closefrom(0) closes the rights pair, a socketpair of the pool
    // takes its numbers, and rights sent on it are drained by a plain read (in flight for
    // good, as in DragonFly 2008) unless sendmsg_rights checks the pair's mark first.
    it.each([[1, 0, 0, 0, CALLS], [2, 1000, 0, 0, CALLS], [3, 0, 3, 0, CALLS], [4, 0, 0, 2, CALLS], [1014, 0, 0, 0, 4000]])('seed %i, uid %i, %i threads on both CPUs, %i forked children, %i calls: SysError or a result, never a kernel exception; nothing leaks', async (seed, uid, threads, forks, n) => {
      const m = await machine({ cpus: 2, engine, dispatch: model, seed: 7 });
      const z0 = socketZones(m);
      const r = (await m.join(await m.spawnProcess({ cpu: 0, module: FUZZ, export: 'sys_fuzz', args: [seed, n, false, threads, forks], uid }))) as FuzzResult;
      const calls = n * Math.max(1, threads);
      expect(r.bad).toEqual([]);
      expect(r.calls).toBe(calls);
      expect(r.ok + r.errors).toBe(calls);
      expect(r.ok).toBeGreaterThan(calls / 10);          // the calls reach the kernel's work, not only its checks
      await m.join(await m.spawnProcess({ cpu: 1, module: FUZZ, export: 'fuzz_cleanup', uid: 0 }));
      await quiesce(m);
      expect(socketZones(m)).toEqual(z0);
      await down(m);
    });
  });
});
