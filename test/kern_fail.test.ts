/*
 * Fault sites (boot option faults, kern/kern_fail.ts, docs/faults.md): the options are
 * checked; each site fires where it sits and is counted (Machine.faults()); with faults
 * on, a socket stream still delivers every byte, and every call that fails does so with
 * an errno DragonFly allows; the deterministic engine replays a run with faults exactly;
 * swarm_faults draws a reproducible subset.
 */
import { describe, it, expect } from 'vitest';
import { boot, type Machine } from '../src/index.js';
import { FAULT_SITES, kfail_rates } from '../src/kern/kern_fail.js';
import { swarm_faults, format_faults } from '../src/stress/swarm.js';
import { ENGINES, MODELS, machine, down, downFailed, quiesce, socketZones } from './helpers.js';
import type { Failure } from './progs/kern_fail_progs.js';

const P = new URL('./progs/kern_fail_progs.ts', import.meta.url).href;

/* What each setup call may fail with under the faults (DragonFly's errnos for those paths). */
const ALLOWED: Record<string, string[]> = {
  socket: ['ENOBUFS', 'ENFILE'],
  bind: ['ENOBUFS'],
  connect: ['ENOBUFS', 'ECONNREFUSED', 'EINTR'],
  accept: ['ENFILE', 'EINTR'],
};

function zeros(): Record<string, number> { return Object.fromEntries(FAULT_SITES.map((s) => [s, 0])); }

/* Run the fault stream as one process on CPU 0 (its server thread on CPU 1). */
async function stream(m: Machine, total: number, catchSig = 0, path = '/fs.sock'): Promise<Record<string, unknown>> {
  return (await m.join(await m.spawnProcess({ cpu: 0, module: P, export: 'fault_stream', args: [path, total, 1, catchSig],
    uid: 1000 }))) as Record<string, unknown>;
}

function checkStream(r: Record<string, unknown>, total: number): void {
  expect(r.sent).toBe(total);
  expect(r.got).toBe(total);
  expect(r.gotHash).toBe(r.h);
  for (const f of r.failures as Failure[]) expect(ALLOWED[f.call] ?? []).toContain(f.code);
}

describe('fault sites: the boot options', () => {
  it('an unknown site is a RangeError naming it and listing the valid ones', async () => {
    const err = await boot({ engine: 'deterministic', cpus: 1, faults: { mbufs: 0.1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(String(err)).toContain("'mbufs'");
    for (const s of FAULT_SITES) expect(String(err)).toContain(s);
  });

  it.each([[1.5], [-0.01], [Number.NaN], ['0.5']])('a rate of %s is a RangeError', async (rate) => {
    const err = await boot({ engine: 'deterministic', cpus: 1, faults: { yield: rate as number } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(String(err)).toContain('yield');
  });

  it('faults not an object is a TypeError; an empty or all-zero set arms nothing', async () => {
    expect(await boot({ engine: 'deterministic', cpus: 1, faults: [] as unknown as Record<string, number> })
      .catch((e: unknown) => e)).toBeInstanceOf(TypeError);
    for (const faults of [{}, { mbuf: 0, kill: 0 }]) {
      const m = await machine({ engine: 'deterministic', cpus: 1, faults });
      expect(kfail_rates(m.kmem)).toEqual({});
      expect(m.faults()).toEqual(zeros());
      await down(m);
    }
  });

  it('the rates are kept in kmem as asked (rate 1 always fires), and faults() survives shutdown', async () => {
    const m = await machine({ engine: 'deterministic', cpus: 2, faults: { mbuf: 0.25, yield: 1 } });
    const rates = kfail_rates(m.kmem);
    expect(rates.mbuf).toBeCloseTo(0.25, 9);
    expect(rates.yield).toBe(1);
    checkStream(await stream(m, 20_000), 20_000);
    const fired = m.faults();
    expect(fired.yield).toBeGreaterThan(0);
    await down(m);
    expect(m.faults()).toEqual(fired);
  });
});

/* Each site alone, at a rate that fires it often, under a stream of data. */
const STREAM_SITES: [string, number][] = [
  ['mbuf', 0.2], ['cluster', 0.2], ['zone', 0.5], ['ipi_delay', 0.3], ['spurious_wakeup', 0.3], ['yield', 0.2],
];

describe.each(ENGINES)('fault sites (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (dispatch) => {
    it.each(STREAM_SITES)('%s fires, is counted, and the stream still delivers every byte', async (site, rate) => {
      const m = await machine({ engine, cpus: 2, seed: 21, dispatch, faults: { [site]: rate } });
      const z0 = socketZones(m);
      const total = 300_000;   // long enough that both sides sleep often
      checkStream(await stream(m, total), total);
      await quiesce(m);
      expect(socketZones(m)).toEqual(z0);
      const fired = m.faults();
      expect(fired[site]).toBeGreaterThan(0);
      expect({ ...fired, [site]: 0 }).toEqual(zeros());
      await down(m);
    });

    it.each([['no SA_RESTART', 1], ['SA_RESTART', 2]])('signal (%s): PCATCH sleeps are interrupted; every byte still arrives', async (_n, catchSig) => {
      const m = await machine({ engine, cpus: 2, seed: 22, dispatch, faults: { signal: 0.3 } });
      const total = 300_000;
      const r = await stream(m, total, catchSig);
      checkStream(r, total);
      expect(m.faults().signal).toBeGreaterThan(0);
      if (engine === 'deterministic') expect(r.handled).toBeGreaterThan(0);   // the parallel engine's other CPU has no handler
      if (catchSig === 2) expect(r.eintr).toBe(0);                           // restarted, never EINTR
      await quiesce(m);
      await down(m);
    });

    it('every site but kill at once: the stream is whole, datagrams arrive or fail with ENOBUFS', async () => {
      const faults = { mbuf: 0.05, cluster: 0.05, zone: 0.1, ipi_delay: 0.1, spurious_wakeup: 0.1, yield: 0.1, signal: 0.05 };
      const m = await machine({ engine, cpus: 2, seed: 23, dispatch, faults });
      const z0 = socketZones(m);
      checkStream(await stream(m, 200_000, 1), 200_000);
      const [delivered, nobufs, other] = (await m.join(await m.spawnProcess({ cpu: 1, module: P, export: 'fault_dgrams',
        args: [200], uid: 1000 }))) as [number, number, string[]];
      expect(other).toEqual([]);
      expect(delivered + nobufs).toBe(200);
      expect(nobufs).toBeGreaterThan(0);
      await quiesce(m);
      expect(socketZones(m)).toEqual(z0);
      await down(m);
    });
  });

  it('kill: a process is killed at a sleep point', async () => {
    const m = await machine({ engine, cpus: 2, seed: 24, faults: { kill: 0.5 } });
    const err = await m.join(await m.spawnProcess({ cpu: 1, module: P, export: 'sleeper', args: [50], uid: 1000 }))
      .catch((e: unknown) => e);
    expect(String(err)).toMatch(/SIGKILL/);
    expect(m.faults().kill).toBeGreaterThan(0);
    await quiesce(m);
    await down(m);
  });
});

describe('fault sites: the deterministic engine replays a run with faults exactly', () => {
  async function once(seed: number): Promise<[string, Record<string, number>, unknown]> {
    const faults = swarm_faults(7, { kill: false });
    const m = await machine({ engine: 'deterministic', cpus: 3, seed, dispatch: 'netisr',
      faults: { ...faults, ipi_delay: 0.2, spurious_wakeup: 0.1, yield: 0.1, signal: 0.05 } });
    const r = await stream(m, 30_000, 2);
    await quiesce(m);
    const out: [string, Record<string, number>, unknown] = [m.traceHash(), m.faults(), r];
    await down(m);
    return out;
  }

  it('same seed: same trace hash, same fires, same result; another seed: another run', async () => {
    const a = await once(31), b = await once(31), c = await once(32);
    expect(b).toEqual(a);
    expect(c[0]).not.toBe(a[0]);
    expect(Object.values(a[1]).reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
  });

  it('faults off leaves the schedule as it was (no draw is taken)', async () => {
    const run = async (faults?: Record<string, number>): Promise<string> => {
      const m = await machine({ engine: 'deterministic', cpus: 2, seed: 33, faults });
      await stream(m, 10_000);
      await quiesce(m);
      const h = m.traceHash();
      await down(m);
      return h;
    };
    expect(await run({ mbuf: 0, kill: 0 })).toBe(await run(undefined));
  });
});

describe('swarm_faults', () => {
  it('is deterministic in the seed, leaves kill out unless asked, and formats on one line', () => {
    for (let seed = 0; seed < 50; seed++) {
      const f = swarm_faults(seed);
      expect(swarm_faults(seed)).toEqual(f);
      expect(f.kill).toBeUndefined();
      for (const [site, rate] of Object.entries(f)) {
        expect(FAULT_SITES).toContain(site);
        expect(rate).toBeGreaterThan(0);
        expect(rate).toBeLessThan(0.5);
      }
    }
    const withKill = Array.from({ length: 50 }, (_, s) => swarm_faults(s, { kill: true }));
    expect(withKill.some((f) => f.kill !== undefined)).toBe(true);
    // The other sites' draws do not depend on whether kill may be drawn.
    for (let s = 0; s < 50; s++) expect({ ...withKill[s], kill: undefined }).toEqual({ ...swarm_faults(s), kill: undefined });
    const sets = new Set(Array.from({ length: 50 }, (_, s) => Object.keys(swarm_faults(s)).join(',')));
    expect(sets.size).toBeGreaterThan(10);   // subsets vary from seed to seed
    expect(format_faults({ mbuf: 0.021, spurious_wakeup: 0.004 })).toBe('faults: mbuf=2.1% spurious_wakeup=0.4%');
    expect(format_faults({ yield: 0.147 })).toBe('faults: yield=15%');
    expect(format_faults({})).toBe('faults: none');
    expect(() => swarm_faults(1, { sites: ['nope'] })).toThrow(RangeError);
  });

  it('a swarm draw boots as it is', async () => {
    const m = await machine({ engine: 'deterministic', cpus: 2, seed: 4, faults: swarm_faults(4) });
    const rates = kfail_rates(m.kmem);
    for (const [s, r] of Object.entries(swarm_faults(4))) expect(rates[s]).toBeCloseTo(r, 6);
    await downFailed(m);
  });
});
