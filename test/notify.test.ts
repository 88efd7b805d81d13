/*
 * accept and connect through predicate notify messages (uipc_msg.ts so_pru_notify,
 * uipc_syscalls.ts soaccept_predicate): acceptor threads on every CPU racing connector
 * processes on every CPU get each connection exactly once; a signal ends a blocked
 * accept with EINTR even under SA_RESTART, and the aborted notify leaves nothing behind
 * (the next accept works).  Both engines, both dispatch models; every zone back.
 */
import { describe, it, expect } from 'vitest';
import { SA_RESTART } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/notify_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, cpus: number, name: string, args: unknown[]): Promise<unknown> {
  return (await runProgram({ engine, model, cpus, seed: 21, cpu: 0 }, P, name, args)).r;
}

describe.each(ENGINES)('accept and connect by notify messages (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('acceptors on 3 CPUs racing 24 connectors: every connection accepted exactly once', async () => {
      const per = (await run1(engine, model, 3, 'accept_race', ['/race.sock', 24, 3])) as number[][];
      expect(per).toHaveLength(3);
      expect(per.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    });

    it.each([['SA_RESTART', SA_RESTART], ['no flags', 0]])('a signal ends a blocked accept with EINTR (%s); the next accept works',
      async (_n, flags) => {
        const [n, interrupted, second, status] = (await run1(engine, model, 2, 'accept_eintr', [`/eintr${flags}.sock`, flags, 1])) as number[];
        expect([n, interrupted, second, status]).toEqual([4, 1, 77, 0]);
      });
  });
});
