/*
 * Processes, credentials and resources (kern/kern_proc.ts, kern_prot.ts, kern_resource.ts).
 * Goal: pids unique across CPUs, fork1 and RLIMIT_NPROC, psignal interrupting a PCATCH
 * sleep with EINTR or ERESTART as SA_RESTART says (ignored signals dropped), chgsbsize's
 * SEED arithmetic (dragonfly.md 4.10: scaled mark, unscaled charge), uidinfo and ucred
 * reference counting, the getrlimit/setrlimit rules, and setuid's permission rule.
 * Method: kernel threads (test/progs/proc_progs.ts) return what they saw; every test
 * checks that the zones it used are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import { EAGAIN, EINTR, EINVAL, EPERM, ERESTART, RLIM_INFINITY, SIGUSR1 } from '../src/kernel.js';
import { ENGINES, machine, down, zoneUsed, type TestMachine } from './helpers.js';

const PROC_PROGS = new URL('./progs/proc_progs.ts', import.meta.url).href;
const ZONES = ['file', 'proc', 'kmalloc16', 'kmalloc64', 'kmalloc256'];

type Engine = (typeof ENGINES)[number];

async function boot(engine: Engine, cpus = 2): Promise<TestMachine> {
  return machine({ cpus, engine, seed: 11, modules: [PROC_PROGS] });
}

function zones(m: TestMachine): number[] { return ZONES.map((z) => zoneUsed(m, z)); }

function spawn(m: TestMachine, cpu: number, name: string, ...args: unknown[]): Promise<number> {
  return m.spawn({ cpu, module: PROC_PROGS, export: name, args, name });
}

async function run1(engine: Engine, name: string, ...args: unknown[]): Promise<unknown> {
  const m = await boot(engine);
  const z0 = zones(m);
  const r = await m.join(await spawn(m, 0, name, ...args));
  expect(zones(m)).toEqual(z0);
  await down(m);
  return r;
}

describe.each(ENGINES)('processes (%s engine)', (engine) => {
  it('pids come from 1 upward, unique across CPUs creating processes at once', async () => {
    const cpus = 4, n = 20;
    const m = await boot(engine, cpus);
    const go = m.kmalloc(1);
    const z0 = zones(m);
    const ids: number[] = [];
    for (let c = 0; c < cpus; c++) ids.push(await spawn(m, c, 'pid_alloc', n, go));
    Atomics.store(m.i32, go, 1);
    const all: number[] = [];
    for (const id of ids) {
      const r = (await m.join(id)) as number[];
      expect(r[n]).toBe(n);            // pfind found every one of its processes
      all.push(...r.slice(0, n));
    }
    expect(new Set(all).size).toBe(cpus * n);
    expect(Math.min(...all)).toBe(1);
    expect(Math.max(...all)).toBe(cpus * n);
    expect(zones(m)).toEqual(z0);
    await down(m);
  });

  it('fork1 counts processes per real uid against RLIMIT_NPROC', async () => {
    // [setrlimit lowering, fork, proccnt, fork at the limit, proccnt of the zombie child, reaped by kern_wait,
    //  proccnt after, fork again]
    expect(await run1(engine, 'fork_nproc')).toEqual([0, 0, 2, EAGAIN, 2, 1, 1, 0]);
  });

  it.each([[1, ERESTART], [0, EINTR]])('psignal interrupts a PCATCH sleep on another CPU (SA_RESTART %i)',
    async (restart, expected) => {
      const m = await boot(engine);
      const w = m.kmalloc(4);
      const z0 = zones(m);
      const sleeper = await spawn(m, 1, 'psig_sleeper', w);
      const sender = await spawn(m, 0, 'psig_sender', w, restart);
      // [error, pending signals (only SIGUSR1: SIGUSR2 ignored, SIGCHLD ignored by default), threads, td_proc after detach]
      expect(await m.join(sleeper)).toEqual([expected, 1 << (SIGUSR1 - 1), 1, 0]);
      // kern_sigaction's EINVALs: catching SIGKILL, signal 0, signal 33, a bad disposition
      expect(await m.join(sender)).toEqual([EINVAL, EINVAL, EINVAL, EINVAL]);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });
});

describe.each(ENGINES)('credentials and resources (%s engine)', (engine) => {
  it('chgsbsize: growing past max scales the mark (floor MCLBYTES) but charges the unscaled amount', async () => {
    // Each step: [return value, the new mark, the uid's total charge].
    expect(await run1(engine, 'sbsize_arith')).toEqual([
      [1, 8192, 8192],
      [1, 5000, 16384],     // 8192 * 10000 / 16384
      [1, 2048, 20480],     // 2000, floored to MCLBYTES
      [1, 2048, 22528],     // to == MCLBYTES: never scaled
      [1, 4096, 18432],     // shrinking: never scaled
      [1, 0, 14336],
      [1, 0, 9336],         // only the scaled 5000 comes back
      [1, 0, 7288],
      [1, 0, 5240],         // the drift: (8192 - 5000) + (4096 - 2048)
      [1, 2048, 7289],      // max 0: scaled to 0, floored to MCLBYTES
      [1, 0, 5241],
    ]);
  });

  it('uidinfo: one entry per uid, freed by its last reference; creds hold theirs', async () => {
    // [same entry, distinct uids, ref after uihold, ref after two drops, fresh entry: ref, uid, sbsize,
    //  cred refs: original, copy (held twice), uidinfo refs (two creds), copy's uid]
    expect(await run1(engine, 'uidinfo_refs')).toEqual([1, 1, 3, 1, 1, 7, 0, 1, 2, 2, 9]);
  });

  it('getrlimit/setrlimit: EINVAL for a bad resource, cur > max lowered to max, EPERM for a user raising the hard limit', async () => {
    expect(await run1(engine, 'rlimit_rules')).toEqual({
      nofile: [0, 4096, 4096],            // maxfiles: the file zone's size
      sbsize: [0, RLIM_INFINITY, RLIM_INFINITY],
      badGet: [EINVAL, EINVAL],
      badSet: [EINVAL, EINVAL],
      lower: [0, 0, 10, 20],
      raiseMax: EPERM,
      raiseCur: [0, 0, 20, 20],           // up to the hard limit is allowed
      curOverMax: EPERM,                  // cur 25 above the hard limit 20: a raise
      bothOverHard: EPERM,
      lowerAgain: 0,
      backUp: EPERM,                      // a lowered hard limit stays lowered
      clamp: [0, 0, 11, 11],              // cur 12 > max 11: DragonFly lowers cur to max
      sbLower: 0,
      sbInfinity: [EPERM, 0, 1000, 1000], // negative means RLIM_INFINITY: a raise
      rootRaise: [0, 0, 3686, 3686],      // root may raise; NOFILE clamps to maxfilesperproc
      rootSb: [0, 0, 0, RLIM_INFINITY, RLIM_INFINITY],
    });
  });

  it('setuid: root becomes anyone, a user only its real uid; files keep the opener\'s cred', async () => {
    const m = await boot(engine);
    const ctr = m.kmalloc(4);
    const z0 = zones(m);
    const r = await m.join(await spawn(m, 0, 'setuid_rules', ctr));
    expect(zones(m)).toEqual(z0);
    await down(m);
    expect(r).toEqual({
      userOther: EPERM,
      userSelf: [0, 1000, 1000],
      bad: [EINVAL, EINVAL],
      rootTo2000: [0, 2000, 2000],
      proccnt: [-1, 1],                   // the process count moved to the new real uid
      fileCredUid: 0,
      procCred: [2000, 2000, 0],
      backToRoot: EPERM,                  // no longer root, and 0 is not its real uid
      closes: 1,
    });
  });
});
