/*
 * fork, spawn, thread/join, waitpid and exit (kern/kern_fork.ts, kern/kern_exit.ts,
 * kern/kern_exec.ts, sys/sys.ts), as a BSD user sees them.
 * Goal: a forked child shares the parent's descriptors; a spawned child runs on another
 * CPU with another uid, without its close-on-exec descriptors; threads on several CPUs
 * return their results through join once; exit() in any thread ends every thread of
 * the process, and a thread that throws kills it; waitpid reports exit codes and
 * terminating signals, WNOHANG, process groups and ECHILD; RLIMIT_NPROC and
 * P_MAXTHREADS bound fork and thread; orphans and unreaped zombies are freed; a close on
 * one CPU racing the peer's sends from another fails them with EPIPE (ENOTCONN too where
 * the netisr model's message hop lets the close land between sosend and uipc_send).  Both
 * engines; every zone (threads and procs included) back to its starting use after each
 * test, once every thread has ended.
 */
import { describe, it, expect } from 'vitest';
import { PanicError, type Machine } from '../src/index.js';
import {
  ENGINES, MODELS, SOCKET_ZONES, machine, down, quiesce, zoneUsed, type Engine, type Model, type TestMachine,
} from './helpers.js';

const P = new URL('./progs/fork_progs.ts', import.meta.url).href;
const ZONES = [...SOCKET_ZONES, 'thread'];

function zones(m: Machine): number[] { return ZONES.map((z) => zoneUsed(m, z)); }

async function boot(engine: Engine, dispatch: Model = 'bgl'): Promise<TestMachine> {
  return machine({ cpus: 2, engine, seed: 11, dispatch });
}

/* Run one program as a process (uid 1000 unless given) and check every zone afterwards. */
async function run1(engine: Engine, name: string, args: unknown[] = [], uid = 1000, model: Model = 'bgl'): Promise<unknown> {
  const m = await boot(engine, model);
  const z0 = zones(m);
  const r = await m.join(await m.spawnProcess({ cpu: 0, module: P, export: name, args, uid }));
  await quiesce(m);
  expect(zones(m)).toEqual(z0);
  await down(m);
  return r;
}

describe.each(ENGINES)('processes and threads (%s engine)', (engine) => {
  it.each(MODELS)('fork: the child writes through an inherited socket and exits 7 (%s dispatch)', async (model) => {
    expect(await run1(engine, 'fork_parent', [], 1000, model)).toEqual([true, true, 'exit 7', 'ECHILD']);
  });

  it('spawn: a child on the other CPU as uid 1000, close-on-exec descriptors closed', async () => {
    expect(await run1(engine, 'spawn_parent', [1], 0)).toEqual(['PING uid 1000 EBADF', true, 'exit 3']);
  });

  it('bad input to spawn, fork, thread, waitpid and join gives BSD errnos', async () => {
    expect(await run1(engine, 'spawn_errors', [70_000])).toEqual([
      'EPERM', 'ENOEXEC', 'ENOEXEC', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'E2BIG', 'EINVAL', 'ECHILD', 'EINVAL',
      'ESRCH', 'EDEADLK',
    ]);
  });

  it('a closure runs on its own CPU; on another it needs a module export, in both engines alike', async () => {
    expect(await run1(engine, 'spawn_closure', [0])).toBe('exit 4');
    // The deterministic engine's CPUs share one isolate and could run it, but the same
    // program must fail the same way in both engines: ENOEXEC at the same call.
    expect(await run1(engine, 'spawn_closure', [1])).toBe('ENOEXEC');
  });

  it('threads on both CPUs share descriptors; join returns each result once', async () => {
    const [results, tokens, again, pid] = (await run1(engine, 'threads_main', [2])) as [unknown[], string[], string, number];
    expect(results).toEqual([1, 2, 3, 4].map((id) => ({ id, sum: (id * 999 * 1000) / 2, pid })));
    expect(tokens).toEqual(['t1', 't2', 't3', 't4']);
    expect(again).toBe('ESRCH');
  });

  it('exit in any thread ends them all; a thread that throws kills the process with SIGABRT', async () => {
    expect(await run1(engine, 'exits_parent', [1])).toEqual(['exit 5', 'exit 9', 'signal 6']);
  });

  it('the host join of a process ended by a thread: exit status, or the thrown error', async () => {
    const m = await boot(engine);
    const z0 = zones(m);
    expect(await m.join(await m.spawnProcess({ module: P, export: 'thread_exit_main', args: [1] }))).toBe(9);
    const err = await m.join(await m.spawnProcess({ module: P, export: 'thread_throw_main', args: [0] }))
      .then(() => null, (e: unknown) => e);
    expect(err).not.toBeInstanceOf(PanicError);
    expect(String((err as Error).message)).toMatch(/process \d+ \(thread_throw_main\) killed: program threw Error: boom/);
    await quiesce(m);
    expect(zones(m)).toEqual(z0);
    await down(m);
  });

  it('P_MAXTHREADS threads per process, then EAGAIN; room again after a join', async () => {
    expect(await run1(engine, 'thread_limit', [2])).toEqual([16, 'EAGAIN', 15, 0, 16]);
  });

  it('waitpid: WNOHANG and process groups; kill gives a terminating signal; SIGCHLD is caught', async () => {
    expect(await run1(engine, 'kill_child')).toEqual([0, 0, true, 'signal 15', 1]);
  });

  it('RLIMIT_NPROC bounds fork for a non-root uid', async () => {
    expect(await run1(engine, 'nproc_limit')).toEqual([2, 'EAGAIN', ['exit 0', 'exit 0']]);
  });

  it('orphans lose their parent (getppid 0) and are freed on exit; unreaped zombies are freed with their parent', async () => {
    expect(await run1(engine, 'orphans')).toEqual(['exit 0', 'exit 0', 'before true after 0', 'ECHILD']);
  });

  it.each(MODELS)('a close on one CPU racing sends from another fails the sender: EPIPE (%s dispatch)', async (model) => {
    const [epipes, enotconns] = (await run1(engine, 'close_race', [1, 100], 1000, model)) as number[];
    expect(epipes + enotconns).toBe(100);
    // Under the BGL sosend and uipc_send are one step: the peer's close is always seen as EPIPE.
    if (model === 'bgl') expect(enotconns).toBe(0);
  });
});
