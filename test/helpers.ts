/*
 * Test helpers: boot machines that are always shut down (even when a test times out),
 * and the module URLs of the test threads.
 */
import { afterEach, expect } from 'vitest';
import { boot, type BootOptions, type Machine, type SpawnOptions } from '../src/index.js';

export const PROGS = new URL('./progs/lwkt_tests.ts', import.meta.url).href;
export const ENGINES = ['parallel', 'deterministic'] as const;
export type Engine = (typeof ENGINES)[number];

const live = new Set<Machine>();

afterEach(async () => {
  for (const m of live) {
    live.delete(m);
    await m.shutdown().catch(() => undefined);
  }
});

export type TestMachine = Machine & { kmalloc(words: number): number; i32: Int32Array };

export async function machine(opts: BootOptions): Promise<TestMachine> {
  const m = (await boot({ memory: 32 << 20, ...opts })) as unknown as TestMachine;
  live.add(m);
  Object.defineProperty(m, 'i32', { value: new Int32Array(m.kmem) });
  return m;
}

/* Shut down, expecting success (a panic fails the test with its report). */
export async function down(m: Machine): Promise<void> {
  live.delete(m);
  await m.shutdown();
}

/* Forget a machine that already failed: shut it down and return its PanicError (m.panicked), or null. */
export async function downFailed(m: Machine): Promise<unknown> {
  live.delete(m);
  await m.shutdown();                 // resolves after a failure: the failure is m.panicked
  return m.panicked;
}

export function spawner(m: Machine): (cpu: number, name: string, ...args: unknown[]) => Promise<number> {
  return (cpu, name, ...args) => m.spawn({ cpu, module: PROGS, export: name, args, name } as SpawnOptions);
}

export function zoneUsed(m: Machine, name: string): number {
  const z = m.stats().zones.find((x) => x.name === name);
  if (z === undefined) throw new Error(`no zone ${name}`);
  return z.used;
}

/* The socket layer's two dispatch models, for tests that run under both. */
export const MODELS = ['bgl', 'netisr'] as const;
export type Model = (typeof MODELS)[number];

/* The zones a socket-layer test must leave as it found them. */
export const SOCKET_ZONES = ['socket', 'mbuf', 'mbuf_cluster', 'kmalloc16', 'kmalloc64', 'kmalloc256', 'lwkt_msg', 'proc', 'file'];
export function socketZones(m: Machine): number[] { return SOCKET_ZONES.map((z) => zoneUsed(m, z)); }

/*
 * Wait until no thread is alive (bounded): a process's last thread, or a reaped child's,
 * may still be finishing when the join that mattered has settled.  The deterministic
 * engine runs until then; the parallel one is polled.
 */
export async function quiesce(m: Machine, ms = 20_000): Promise<void> {
  const det = m as Machine & { run?: () => Promise<void> };
  if (typeof det.run === 'function') {
    await det.run();
    return;
  }
  const t0 = Date.now();
  while (m.stats().liveThreads !== 0) {
    const failed = (m as unknown as { panicked: unknown }).panicked;
    if (failed !== null && failed !== undefined) throw failed;
    if (Date.now() - t0 > ms) throw new Error(`quiesce: ${m.stats().liveThreads} threads still alive after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface ProgramRun { engine: Engine; model: Model; cpus?: number; seed?: number; cpu?: number; uid?: number }

/*
 * Boot a machine, run one program (module export, args) as a process, and check that
 * every socket-layer zone is back to its starting count once every thread has ended.
 * Returns what the program returned and the console.
 */
export async function runProgram(run: ProgramRun, module: string, name: string, args: unknown[] = []): Promise<{ r: unknown; con: string }> {
  const m = await machine({ cpus: run.cpus ?? 2, engine: run.engine, seed: run.seed ?? 7, dispatch: run.model });
  const z0 = socketZones(m);
  const r = await m.join(await m.spawnProcess({ cpu: run.cpu ?? 1, module, export: name, args, uid: run.uid ?? 1000 }));
  await quiesce(m);
  expect(socketZones(m)).toEqual(z0);
  const con = m.console();
  await down(m);
  return { r, con };
}

/*
 * The harness of a test file whose programs are kernel threads in `module`: boot a machine
 * with it loaded, spawn one of its exports as a thread, and run1: one thread on CPU 0,
 * after which every socket-layer zone must be back.
 */
export function kthreadHarness(module: string, seed: number) {
  const boot = (engine: Engine, dispatch: Model | 'mpsafe', cpus = 2): Promise<TestMachine> =>
    machine({ cpus, engine, seed, dispatch, modules: [module] });
  const spawn = (m: TestMachine, cpu: number, name: string, ...args: unknown[]): Promise<number> =>
    m.spawn({ cpu, module, export: name, args, name });
  async function run1<T = unknown>(engine: Engine, dispatch: Model | 'mpsafe', name: string, ...args: unknown[]): Promise<T> {
    const m = await boot(engine, dispatch);
    const z0 = socketZones(m);
    const r = (await m.join(await spawn(m, 0, name, ...args))) as T;
    expect(socketZones(m)).toEqual(z0);
    await down(m);
    return r;
  }
  return { boot, spawn, run1, zones: socketZones };
}

/* p, or a failure naming what did not settle within ms (a bound on a wait, not a timing). */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: not settled within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
