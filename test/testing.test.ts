/*
 * lwkt-sim/testing: machineTest runs a program across engines and seeds with the kernel's
 * checks on; a failure names the engine, model and seed, shows the last events, and shrinks
 * the schedule to the preemptions the failure needs, with the options that replay it.
 */
import { describe, expect, it } from 'vitest';
import { machineTest, runMachineTest, decode_choices } from '../src/testing/index.js';
import { AF_LOCAL, SOCK_STREAM, boot, type DeterministicMachine } from '../src/index.js';

const P = new URL('./progs/explore_progs.ts', import.meta.url).href;

describe('machineTest', () => {
  machineTest('a socketpair echo, inline, in both engines', { engines: ['deterministic', 'parallel'], seeds: 20, parallelRuns: 2 },
    function* (sys) {
      const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
      yield* sys.send(a, new Uint8Array([1, 2, 3]));
      const buf = new Uint8Array(8);
      const n = yield* sys.recv(b, buf);
      if (n !== 3 || buf[2] !== 3) throw new Error(`echo gave ${n} bytes`);
      return n;
    });

  machineTest('a module program, across the three dispatch models', { engines: ['deterministic'], seeds: 5, models: ['bgl', 'netisr', 'mpsafe'], args: [1] },
    { module: P, export: 'busy_poll' });

  it('a race is reported with its seed, its last events and a shrunk schedule that replays it', async () => {
    const err = await runMachineTest({ module: P, export: 'two_senders_b_first' }, { engines: ['deterministic'], seeds: 30, args: [1] })
      .then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const msg = err!.message;
    expect(msg).toMatch(/^deterministic engine, bgl, seed \d+: .*A arrived before B/);
    expect(msg).toContain('the last events:');
    expect(msg).toMatch(/schedule shrunk from \d+ preemptions to \d+/);
    const seed = Number(/seed (\d+)/.exec(msg)![1]);
    const choices = decode_choices(/LWKT_REPLAY='([^']*)'/.exec(msg)![1]);
    const m = (await boot({ engine: 'deterministic', seed, cpus: 2, memory: 32 << 20, scheduler: 'replay', choices })) as DeterministicMachine;
    const t = await m.spawnProcess({ cpu: 0, module: P, export: 'two_senders', args: [1] });
    expect(await m.join(t)).toBe('A');
    await m.shutdown();
  });

  it('a program that uses a variable of the test file gets a clear error', async () => {
    const outside = 5;
    const err = await runMachineTest(function* (sys) { yield* sys.getpid(); return outside; }, { engines: ['deterministic'], seeds: 1 })
      .then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/outside is not defined/);
  });

  it('bad options are refused', async () => {
    await expect(runMachineTest(function* (sys) { yield* sys.getpid(); }, { engins: ['x'] } as never)).rejects.toThrow(/unknown option 'engins'/);
    await expect(runMachineTest(function* (sys) { yield* sys.getpid(); }, { engines: ['fast'] } as never)).rejects.toThrow(/engines/);
    await expect(runMachineTest((() => 1) as never, {})).rejects.toThrow(/must be a generator function/);
  });
});
