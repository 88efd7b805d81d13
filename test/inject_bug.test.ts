/*
 * Injectable kernel bugs (boot option injectBug, kern/kern_fail.ts, docs/faults.md): each
 * has a small program (progs/inject_bug_progs.ts) that passes on the correct kernel and
 * fails with the bug injected, in the deterministic engine, under each dispatch model the
 * bug applies to: a hang, reported as a PanicError of kind 'deadlock', or a wrong result.
 * The bug's code is seen to run (its hit count), and a kernel without the bug runs none.
 */
import { describe, it, expect } from 'vitest';
import { boot, PanicError } from '../src/index.js';
import { kfail_bug_hits, INJECT_BUGS } from '../src/kern/kern_fail.js';
import { machine, down, downFailed, quiesce, socketZones, type Model } from './helpers.js';

const P = new URL('./progs/inject_bug_progs.ts', import.meta.url).href;

interface Outcome {
  ok: boolean;
  r?: unknown;
  kind?: string;            // the PanicError's kind when the run failed
  message?: string;
  hits: number;             // times the bug's code ran
}

interface RunOpts { bug?: string; dispatch: Model; seed: number; cpus?: number }

/* One program as one process on CPU 0 of a deterministic machine; the outcome, never a throw. */
async function run(o: RunOpts, name: string, args: unknown[]): Promise<Outcome> {
  const m = await machine({ engine: 'deterministic', cpus: o.cpus ?? 2, seed: o.seed, dispatch: o.dispatch,
    injectBug: o.bug !== undefined ? [o.bug] : undefined });
  const z0 = socketZones(m);
  const hits = (): number => (o.bug !== undefined ? kfail_bug_hits(m.kmem)[o.bug] : 0);
  try {
    const r = await m.join(await m.spawnProcess({ cpu: 0, module: P, export: name, args, uid: 1000 }));
    await quiesce(m);
    const h = hits();
    if (o.bug === undefined) expect(socketZones(m)).toEqual(z0);
    await down(m);
    return { ok: true, r, hits: h };
  } catch (e) {
    const h = hits();
    await downFailed(m);
    if (e instanceof PanicError) return { ok: false, kind: e.kind, message: e.panicMessage, hits: h };
    throw e;
  }
}

describe('injected bugs: names', () => {
  it('an unknown name is refused with a RangeError naming it and the valid ones', async () => {
    const err = await boot({ engine: 'deterministic', cpus: 1, injectBug: ['ssb-unlock-no-wakup'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(String(err)).toContain("'ssb-unlock-no-wakup'");
    for (const b of INJECT_BUGS) expect(String(err)).toContain(b);
    expect(await boot({ engine: 'deterministic', cpus: 1, injectBug: 'x' as unknown as string[] }).catch((e: unknown) => e))
      .toBeInstanceOf(TypeError);
  });
});

describe.each(['bgl', 'netisr'] as const)('injected bugs (deterministic engine, %s dispatch)', (dispatch) => {
  it('ssb-unlock-no-wakeup: a reader waiting for so_rcv\'s I/O lock is never woken', async () => {
    const good = await run({ dispatch, seed: 1 }, 'sblock_wakeup', [1, 0]);
    expect(good).toMatchObject({ ok: true, r: [true, true, 65536, 10] });
    const bad = await run({ dispatch, seed: 1, bug: 'ssb-unlock-no-wakeup' }, 'sblock_wakeup', [1, 0]);
    expect(bad).toMatchObject({ ok: false, kind: 'deadlock' });
    expect(bad.hits).toBeGreaterThan(0);
  });

  it('sonewconn-wrong-queue: the backlog limit no longer holds', async () => {
    // listen(s, 1): floor(3/2) + 1 = 2 connections queue, the other 3 are refused.
    const good = await run({ dispatch, seed: 2 }, 'backlog_limit', ['/bl.sock', 1, 5]);
    expect(good).toMatchObject({ ok: true, r: [2, 3, 2] });
    const bad = await run({ dispatch, seed: 2, bug: 'sonewconn-wrong-queue' }, 'backlog_limit', ['/bl.sock', 1, 5]);
    expect(bad).toMatchObject({ ok: true, r: [5, 0, 5] });
    expect(bad.hits).toBeGreaterThan(0);
  });

  it('soisdisconnected-keeps-snd: unsent data outlives the disconnect', async () => {
    const good = await run({ dispatch, seed: 3 }, 'disconnect_drops_snd', []);
    expect(good).toMatchObject({ ok: true, r: [3, 300, 0, 0] });
    const bad = await run({ dispatch, seed: 3, bug: 'soisdisconnected-keeps-snd' }, 'disconnect_drops_snd', []);
    expect(bad).toMatchObject({ ok: true, r: [3, 300, 300, 3] });
    expect(bad.hits).toBeGreaterThan(0);
  });

  it('sowakeup-skips-notify: a blocked accept is never told of its connection', async () => {
    const good = await run({ dispatch, seed: 4 }, 'accept_wakeup', ['/acc.sock', 1]);
    expect(good).toMatchObject({ ok: true, r: [true, 'number'] });
    const bad = await run({ dispatch, seed: 4, bug: 'sowakeup-skips-notify' }, 'accept_wakeup', ['/acc.sock', 1]);
    expect(bad).toMatchObject({ ok: false, kind: 'deadlock' });
    expect(bad.hits).toBeGreaterThan(0);
  });

  // Every sleep preceded by a check.  Under netisr the socket waits lose their wakeup (the
  // byte is appended by a protocol thread on another CPU); under bgl those are covered by
  // the BGL (the waker needs it, and the sleeper keeps it until it is queued), and the
  // wakeup lost is the thread-creation wait's (exec_request's "fork"), woken by an IPI
  // handler on the other CPU.
  it('wakeup-no-interlock: a wakeup between the check and the sleep is lost, for some seed', async () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let found = 0;
    for (const seed of seeds) {
      const bad = await run({ dispatch, seed, cpus: 3, bug: 'wakeup-no-interlock' }, 'byte_stream', [2, 2, 40]);
      expect(bad.hits).toBeGreaterThan(0);
      if (!bad.ok) {
        expect(bad.kind).toBe('deadlock');
        found = seed;
        break;
      }
    }
    expect(found).toBeGreaterThan(0);
    for (const seed of seeds.filter((s) => s <= found)) {
      expect(await run({ dispatch, seed, cpus: 3 }, 'byte_stream', [2, 2, 40])).toMatchObject({ ok: true, r: 80 });
    }
  });
});

describe('injected bugs (deterministic engine): the one a single dispatch model exposes', () => {
  // Under the BGL every socket call holds it: a reader asleep with it stalls every sender.
  // (Under netisr the user threads hold no token across a sleep on these paths: no effect.)
  it('token-held-across-block (bgl): a thread asleep keeps the BGL and every other socket call stalls', async () => {
    const good = await run({ dispatch: 'bgl', seed: 5 }, 'block_with_bgl', [1]);
    expect(good).toMatchObject({ ok: true, r: [true, 4, 4] });
    const bad = await run({ dispatch: 'bgl', seed: 5, bug: 'token-held-across-block' }, 'block_with_bgl', [1]);
    expect(bad).toMatchObject({ ok: false, kind: 'deadlock' });
    expect(bad.hits).toBeGreaterThan(0);
  });
});
