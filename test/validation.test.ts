/*
 * What boot(), spawn() and spawnProcess() are given is checked, with a TypeError or a
 * RangeError naming the option; a control call that cannot be sent leaves no count behind;
 * shutdown() resolves after a failure; a forgotten shutdown() does not keep Node alive.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, PanicError, type BootOptions, type Machine } from '../src/index.js';
import { H_OFF_PCPU } from '../shared/kmem.js';
import { PC, PCPU_WORDS } from '../shared/pcpu.js';
import { BOOT_OPTION_KEYS, SEED_MAX } from '../src/machine/validate.js';
import { ENGINES, machine, down, downFailed, within } from './helpers.js';

const PROGS = new URL('./progs/validation_progs.ts', import.meta.url).href;
const PROGS_PATH = fileURLToPath(PROGS);
const bad = (opts: unknown): Promise<Machine> => boot(opts as BootOptions);

function ctlpend(m: Machine, cpu: number): number {
  const i32 = new Int32Array(m.kmem);
  return Atomics.load(i32, i32[H_OFF_PCPU] + cpu * PCPU_WORDS + PC.pc_ctlpend);
}

describe('boot options', () => {
  it('refuses an unknown option, listing the valid ones; every documented option is valid', async () => {
    const e = await bad({ engin: 'deterministic' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toMatch(/^boot: unknown option 'engin'; the options are cpus, engine, /);
    for (const k of ['witness', 'invariants', 'faults', 'injectBug', 'points', 'scheduler', 'pctDepth', 'pctSteps',
      'choices', 'recordChoices', 'stepBudget', 'stepLimit', 'timeBudgetMs', 'traceLog', 'softLockupMs', 'maxsockets',
      'modules', 'lockstat', 'ipiqSlots', 'memory', 'maxThreads', 'seed', 'ipi', 'dispatch']) {
      expect(BOOT_OPTION_KEYS).toContain(k);
      expect((e as Error).message).toContain(k);
    }
    // Every option at once (the deterministic engine's among them) still boots.
    const m = await machine({
      cpus: 2, engine: 'deterministic', seed: 7, ipi: 'sab', memory: 32 << 20, lockstat: false, ipiqSlots: 64,
      maxThreads: 64, modules: [], dispatch: 'bgl', maxsockets: 0, traceLog: 10, stepBudget: 1_000_000,
      timeBudgetMs: 10_000, points: 'fine', scheduler: 'pct', pctDepth: 2, pctSteps: 1000, choices: [],
      recordChoices: true, witness: true, invariants: true, softLockupMs: 0, faults: {}, injectBug: [],
    });
    const id = await m.spawn({ module: PROGS, export: 'plus_one', args: [1] });
    expect(await m.join(id)).toBe(2);
    await down(m);
    await expect(bad({ stepLimit: 5, engine: 'deterministic', cpus: 1, memory: 32 << 20 }).then((x) => x.shutdown())).resolves.toBeUndefined();
  });

  it('options must be an object or undefined', async () => {
    for (const v of [null, 'x', 5, [], true]) {
      const e = await bad(v).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/^boot: options must be an object or undefined, not /);
    }
    await expect(bad(null)).rejects.toThrow(/not null/);
    await expect(bad('x')).rejects.toThrow(/not the string "x"/);
    const m = await boot(undefined);
    expect(m.ncpus).toBeGreaterThan(0);
    await m.shutdown();
  });

  it('seed is an integer 0..4294967295', async () => {
    for (const s of [-1, 1.5, SEED_MAX + 1, NaN]) {
      await expect(bad({ engine: 'deterministic', seed: s })).rejects.toThrow(RangeError);
      await expect(bad({ engine: 'deterministic', seed: s })).rejects.toThrow(/^boot: seed must be an integer 0\.\.4294967295/);
    }
    await expect(bad({ seed: '3' })).rejects.toThrow(TypeError);
    await expect(bad({ seed: '3' })).rejects.toThrow(/seed must be a number, not the string "3"/);
    for (const s of [0, SEED_MAX]) {
      const m = await machine({ engine: 'deterministic', cpus: 1, seed: s });
      const id = await m.spawn({ module: PROGS, export: 'plus_one', args: [s] });
      expect(await m.join(id)).toBe(s + 1);
      await down(m);
    }
  });

  it('memory is a sane number of bytes; a failed allocation names memory', async () => {
    for (const v of [1e12, 2 ** 31, -1, 0, 1.5]) {
      const e = await bad({ engine: 'deterministic', memory: v }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toMatch(/^boot: memory must be a whole number of bytes, at most 1073741824 \(1 GiB\)/);
    }
    await expect(bad({ memory: '64M' })).rejects.toThrow(/^boot: memory must be a number, not the string "64M"/);
    await expect(bad({ engine: 'deterministic', memory: 1024 })).rejects.toThrow(/^boot: memory 1024 bytes is too small \(need at least \d+ MiB\)/);
    // The allocation itself failing (a host short of memory) is reported as memory's too.
    const Real = globalThis.SharedArrayBuffer;
    (globalThis as { SharedArrayBuffer: unknown }).SharedArrayBuffer = function fail(): never {
      throw new RangeError('Array buffer allocation failed');
    };
    try {
      const e = await bad({ engine: 'deterministic', cpus: 1, memory: (48 << 20) + 4096 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toMatch(/^boot: memory: could not allocate 50335744 bytes of kmem \(Array buffer allocation failed\); boot with less memory/);
    } finally {
      globalThis.SharedArrayBuffer = Real;
    }
  });

  for (const engine of ENGINES) {
    it(`${engine}: maxThreads is an integer the kernel can boot with, checked at once`, async () => {
      // Refused at once: -5 used to hang the parallel boot for 30 s (the bound catches that).
      for (const v of [-5, 0, 1, 1.5, Infinity, 2_000_000]) {
        const e = await within(2000, `boot with maxThreads ${v}`, bad({ engine, cpus: 2, maxThreads: v }).catch((x: unknown) => x));
        expect(e).toBeInstanceOf(RangeError);
        expect((e as Error).message).toMatch(/^boot: maxThreads must be an integer 2\.\.1000000, not /);
      }
      await expect(bad({ engine, cpus: 2, maxThreads: 'x' })).rejects.toThrow(/^boot: maxThreads must be a number, not the string "x"/);
      // Under dispatch 'netisr' each CPU has a netisr thread too.
      await expect(bad({ engine, cpus: 2, maxThreads: 3, dispatch: 'netisr' })).rejects.toThrow(/^boot: maxThreads must be an integer 4\.\.1000000, not 3 \(the kernel's own threads take 3 with 2 CPUs and dispatch 'netisr'/);
      // The minimum boots and runs a thread and a process, one after the other.
      for (const [dispatch, min] of [['bgl', 2], ['netisr', 4]] as const) {
        const m = await machine({ engine, cpus: 2, maxThreads: min, dispatch });
        const id = await m.spawn({ module: PROGS, export: 'plus_one', args: [1] });
        expect(await m.join(id)).toBe(2);
        const p = await m.spawnProcess({ module: PROGS, export: 'count_args', args: ['a'] });
        expect(await m.join(p)).toBe('1:string');
        await down(m);
      }
    });
  }

  it('modules: an array of modules that exist; a relative path is taken from the current directory', async () => {
    await expect(bad({ engine: 'deterministic', modules: PROGS })).rejects.toThrow(/^boot: modules must be an array of module URLs or paths, not the string/);
    await expect(bad({ engine: 'deterministic', modules: [PROGS, 7] })).rejects.toThrow(/^boot: modules\[1\]: module must be a module URL or a file path .*, not 7$/);
    await expect(bad({ engine: 'deterministic', modules: ['./nonexistent.js'] })).rejects.toThrow(`boot: modules[0]: module ./nonexistent.js (${process.cwd()}/nonexistent.js) does not exist`);
    for (const engine of ENGINES) {
      const m = await machine({ engine, cpus: 2, modules: ['./' + relative(process.cwd(), PROGS_PATH)] });
      const id = await m.spawn({ cpu: 1, module: PROGS, export: 'plus_one', args: [2] });
      expect(await m.join(id)).toBe(3);
      await down(m);
    }
  });

  it('dispatch: the message lists the models, and each of them boots', async () => {
    const e = await bad({ engine: 'deterministic', dispatch: 'smp' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toBe(`boot: dispatch must be 'bgl' or 'netisr' (or 'mpsafe', which routes requests as DragonFly's later kernels do but has no AF_LOCAL locks of its own yet), not smp`);
    for (const engine of ENGINES) {
      for (const dispatch of ['bgl', 'netisr', 'mpsafe'] as const) {
        const m = await machine({ engine, cpus: 2, dispatch });
        const p = await m.spawnProcess({ module: PROGS, export: 'count_args', args: [1, 'x'] });
        expect([engine, dispatch, await m.join(p)]).toEqual([engine, dispatch, '2:number,string']);
        await down(m);
      }
    }
  });
});

describe.each(ENGINES)('%s: spawn and spawnProcess options', (engine) => {
  it('args, module and unknown keys are checked, naming the option', async () => {
    const m = await machine({ engine, cpus: 2 });
    for (const fn of ['spawn', 'spawnProcess'] as const) {
      const call = (o: unknown): Promise<number> => (fn === 'spawn' ? m.spawn(o as never) : m.spawnProcess(o as never));
      const ex = fn === 'spawn' ? 'plus_one' : 'count_args';
      const err = async (o: unknown): Promise<Error> => {
        const e = await call(o).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(TypeError);
        return e as Error;
      };
      expect((await err({ module: PROGS, export: ex, args: 'notarray' })).message)
        .toBe(`${fn}: args must be an array of the arguments, not the string "notarray"`);
      expect((await err({ module: PROGS, export: ex, args: [1, 2n] })).message)
        .toMatch(new RegExp(`^${fn}: args must be plain data that can cross to another CPU .*; found the bigint 2n at args\\[1\\]$`));
      expect((await err({ module: PROGS, export: ex, args: [() => 1] })).message).toMatch(/found a function at args\[0\]$/);
      expect((await err({ module: PROGS, export: ex, args: [{ a: [0, Symbol('s')] }] })).message).toMatch(/found a symbol at args\[0\]\.a\[1\]$/);
      expect((await err({ module: PROGS, export: ex, args: [new (class Point {})()] })).message).toMatch(/found a Point at args\[0\]$/);
      expect((await err({ export: ex })).message).toBe(`${fn}: module must be a module URL or a file path (absolute, or ./ ../ relative to the current directory), not missing`);
      expect((await err({ module: 42, export: ex })).message).toMatch(new RegExp(`^${fn}: module must be .*, not 42$`));
      const gone = await err({ module: '/nonexistent/prog.js', export: ex });
      expect(gone.message).toBe(`${fn}: module /nonexistent/prog.js does not exist`);
      expect(gone.message).not.toMatch(/modules\.js/);
      const rel = await err({ module: './nonexistent/prog.js', export: ex });
      expect(rel.message).toBe(`${fn}: module ./nonexistent/prog.js (${process.cwd()}/nonexistent/prog.js) does not exist`);
      const pkg = (await call({ module: 'no-such-package-xyz', export: ex }).then(() => null, (x: unknown) => x)) as Error;
      expect(pkg.message).toContain("module 'no-such-package-xyz' not found");
      expect(pkg.message).not.toMatch(/modules\.js/);
      expect((await err({ module: PROGS, export: ex, argz: [] })).message)
        .toMatch(new RegExp(`^${fn}: unknown option 'argz'; the options are cpu, module, export, args, `));
      await expect(call(null)).rejects.toThrow(TypeError);
      // What can cross does, and a relative path is taken from the current directory.
      const relpath = './' + relative(process.cwd(), PROGS_PATH);
      const args = [1, 'x', null, undefined, true, [2, { b: 3 }], new Uint8Array(2), new Map([[1, 2]]), new Set([3]), new Date(0)];
      const id = await call({ module: relpath, export: fn === 'spawn' ? 'plus_one' : 'count_args', args: fn === 'spawn' ? [5] : args });
      expect(await m.join(id)).toBe(fn === 'spawn' ? 6 : '10:number,string,object,undefined,boolean,object,object,object,object,object');
      const id2 = await call({ module: PROGS_PATH, export: ex, args: fn === 'spawn' ? [1] : [] });
      expect(await m.join(id2)).toBe(fn === 'spawn' ? 2 : '0:');
    }
    await down(m);
  });
});

describe('a control call that cannot be sent', () => {
  it('parallel: leaves pc_ctlpend at 0, and a later deadlock is still reported', async () => {
    const m = await machine({ engine: 'parallel', cpus: 2 });
    await expect(m.spawnProcess({ module: PROGS, export: 'count_args', args: [() => 1] })).rejects.toThrow(/^spawnProcess: args must be plain data/);
    expect(ctlpend(m, 0)).toBe(0);
    // Past the host's checks, the call itself fails to clone: its count is taken off again.
    const pm = m as unknown as { control(c: number, f: () => Promise<unknown>): Promise<unknown>; apis: { spawnProcess(r: unknown): Promise<number> }[] };
    const e = await pm.control(1, () => pm.apis[1].spawnProcess({ module: PROGS, export: 'count_args', args: [() => 1] })).catch((x: unknown) => x);
    expect((e as Error).name).toBe('DataCloneError');
    expect([ctlpend(m, 0), ctlpend(m, 1)]).toEqual([0, 0]);
    const p = await m.spawnProcess({ cpu: 1, module: PROGS, export: 'wait_forever' });
    // The deadlock is reported (a raised pc_ctlpend would hide it for good).
    const err = await within(5000, 'the deadlock report', m.join(p).catch((x: unknown) => x));
    expect(err).toBeInstanceOf(PanicError);
    expect((err as PanicError).kind).toBe('deadlock');
    expect(await downFailed(m)).toBe(err);
  });
});

describe.each(ENGINES)('%s: lifecycle', (engine) => {
  it('shutdown() resolves after a failure, which stays m.panicked and the joins\' rejection', async () => {
    const m = await machine({ engine, cpus: 2 });
    const p = await m.spawnProcess({ module: PROGS, export: 'wait_forever' });
    const err = await m.join(p).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PanicError);
    expect((err as PanicError).kind).toBe('deadlock');
    expect(m.panicked).toBe(err);
    await expect(m.shutdown()).resolves.toBeUndefined();
    await expect(m.shutdown()).resolves.toBeUndefined();
    expect(m.panicked).toBe(err);
    await expect(m.join(p)).rejects.toBe(err);
  });
});

describe('a forgotten shutdown()', () => {
  it('parallel: a script that joins a thread and never shuts down still exits', async () => {
    const script = fileURLToPath(new URL('./progs/validation_forgot_shutdown.ts', import.meta.url));
    // execFile's timeout bounds the wait: a script kept alive is killed, and its signal fails the test.
    const r = await new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => {
      const c = execFile(process.execPath, ['--import', 'tsx', script], { timeout: 20_000, killSignal: 'SIGKILL' },
        (_e, out, err) => resolve({ code: c.exitCode, signal: c.signalCode, out, err }));
    });
    expect(r).toMatchObject({ code: 0, signal: null, out: 'joined 42\n' });
  });
});
