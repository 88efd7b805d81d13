/*
 * Thread-directed signals (Sys.pthread_kill, Sys.lwp_kill): one thread's datagram recv
 * is interrupted (EINTR, its caught handler without SA_RESTART ran) while another thread
 * of the process stays blocked and then receives (test/progs/thread_signal_progs.ts).
 * Both engines, both dispatch models.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram } from './helpers.js';

const P = new URL('./progs/thread_signal_progs.ts', import.meta.url).href;

describe.each(ENGINES)('thread-directed signals (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each([['pthread_kill', false], ['lwp_kill', true]])('%s interrupts one thread\'s recv; the other goes on', async (_n, lwp) => {
      const r = (await runProgram({ engine, model, seed: 41, cpus: 2 }, P, 'thread_signal', [0, lwp])).r;
      expect(r).toEqual({
        errs: ['ESRCH', 'EINVAL', 'ok', 'ESRCH', 'ESRCH', 'EINVAL'],
        main: ['EINTR', 1],
        other: [1, 42],
        kicker: [true, true, true, true],
      });
    });
  });
});
