/*
 * WITNESS (src/kern/subr_witness.ts) and the liveness report of a deadlock
 * (src/machine/liveness.ts).
 * Goal: a lock order reversal on spin or sleep locks is reported at once, with both
 * orders, the classes, kinds and call paths, even when the run does not deadlock; the same
 * with tokens is not (a token's holder gives it up whenever it waits, so no deadlock cycle
 * can pass through one) and shows as a cycle with deadlock: false; recursion on a
 * non-recursive lock and sleeping with a spinlock held are caught; a real deadlock's report
 * says what each thread waits for and who holds what it needs; normal socket traffic runs
 * clean with witness and invariants on, in both engines and both dispatch models.
 * Method: kernel threads in test/progs/witness_progs.ts; socket streams from the socket
 * tests and the `run stream` scenario.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, machine, down, downFailed, quiesce, socketZones, type TestMachine } from './helpers.js';
import { PanicError } from '../src/index.js';

const P = new URL('./progs/witness_progs.ts', import.meta.url).href;
const SOCK = new URL('./progs/socket_progs.ts', import.meta.url).href;
const SCEN = new URL('../src/cli/scenario_progs.ts', import.meta.url).href;

function spawn(m: TestMachine, cpu: number, name: string, ...args: unknown[]): Promise<number> {
  return m.spawn({ cpu, module: P, export: name, args, name });
}

/* The machine's failure, after joining every id (some reject with it). */
async function failure(m: TestMachine, ids: number[]): Promise<PanicError> {
  for (const id of ids) await m.join(id).catch(() => undefined);
  const e = await downFailed(m);
  expect(e).toBeInstanceOf(PanicError);
  return e as PanicError;
}

describe.each(ENGINES)('WITNESS (%s engine)', (engine) => {
  it('an AB/BA order on two spinlock classes is a reversal, reported with both classes and both paths', async () => {
    const m = await machine({ cpus: 2, engine, seed: 3, witness: true });
    const a = m.kmalloc(2), b = m.kmalloc(2), done = m.kmalloc(1);
    await m.join(await spawn(m, 0, 'wt_spin_setup', a, b));
    const ab = await spawn(m, 0, 'wt_spin_ab', a, b, done);
    const ba = await spawn(m, 1, 'wt_spin_ba', a, b, done);
    const e = await failure(m, [ab, ba]);
    expect(e.kind).toBe('panic');
    const msg = e.panicMessage;
    expect(msg).toContain('lock order reversal');
    expect(msg).toMatch(/1st 0x[0-9a-f]+ wt_spin_b \(spin lock/);
    expect(msg).toMatch(/2nd 0x[0-9a-f]+ wt_spin_a \(spin lock/);
    expect(msg).toContain('lock order wt_spin_a -> wt_spin_b established');
    expect(msg).toMatch(/wt_spin_a -> wt_spin_b first by thread \d+ 'wt_spin_ab'/);
    expect(msg).toMatch(/#0 spin_lock \(shared\/spinlock\.ts:\d+\)\n\s+#1 wt_spin_ab \(test\/progs\/witness_progs\.ts:\d+\)/);
    expect(msg).toMatch(/lock order wt_spin_b -> wt_spin_a attempted by thread \d+ 'wt_spin_ba' at:\n\s+#0 spin_lock \(shared\/spinlock\.ts:\d+\)\n\s+#1 wt_spin_ba/);
    expect(e.message).toContain('panic: witness: lock order reversal');
  });

  it('an AB/BA order on two sleep locks is reported the same way (the run itself would not deadlock)', async () => {
    const m = await machine({ cpus: 2, engine, seed: 5, witness: true });
    const a = m.kmalloc(1), b = m.kmalloc(1), done = m.kmalloc(1);
    await m.join(await spawn(m, 0, 'wt_sleep_setup', a, b));
    const ab = await spawn(m, 0, 'wt_sleep_ab', a, b, done);
    const ba = await spawn(m, 1, 'wt_sleep_ba', a, b, done);
    const e = await failure(m, [ab, ba]);
    expect(e.panicMessage).toContain('lock order reversal');
    expect(e.panicMessage).toMatch(/1st 0x[0-9a-f]+ wt_sleep_b \(sleep lock/);
    expect(e.panicMessage).toMatch(/2nd 0x[0-9a-f]+ wt_sleep_a \(sleep lock/);
    expect(e.panicMessage).toMatch(/wt_sleep_a -> wt_sleep_b first by thread \d+ 'wt_sleep_ab'[^\n]*\n\s+#0 sleeplock_try[^\n]*\n\s+#1 sleeplock_lock[^\n]*\n\s+#2 wt_sleep_ab/);
    expect(e.panicMessage).toMatch(/attempted by thread \d+ 'wt_sleep_ba' at:\n\s+#0 sleeplock_try[^\n]*\n\s+#1 sleeplock_lock[^\n]*\n\s+#2 wt_sleep_ba/);
  });

  it('the order a -> b holds through a token taken between them: b then a is a reversal', async () => {
    const m = await machine({ cpus: 2, engine, seed: 6, witness: true });
    const a = m.kmalloc(1), b = m.kmalloc(1), t1 = m.kmalloc(4), t2 = m.kmalloc(4), done = m.kmalloc(1);
    await m.join(await spawn(m, 0, 'wt_sleep_setup', a, b));
    await m.join(await spawn(m, 0, 'wt_tok_setup', t1, t2));
    const ab = await spawn(m, 0, 'wt_sleep_tok_ab', a, t1, b, done);
    const ba = await spawn(m, 1, 'wt_sleep_ba', a, b, done);
    const e = await failure(m, [ab, ba]);
    expect(e.panicMessage).toContain('lock order wt_sleep_a -> wt_sleep_b established');
  });

  it('two token classes taken in both orders are not a reversal: tokens cannot deadlock', async () => {
    const m = await machine({ cpus: 2, engine, seed: 9, witness: true });
    const a = m.kmalloc(4), b = m.kmalloc(4);
    await m.join(await spawn(m, 0, 'wt_tok_setup', a, b));
    const n = 200;
    const ab = await spawn(m, 0, 'wt_tok_order', a, b, n);
    const ba = await spawn(m, 1, 'wt_tok_order', b, a, n);
    expect(await m.join(ab)).toBe(n);
    expect(await m.join(ba)).toBe(n);
    const w = m.witness();
    expect(w.enabled).toBe(true);
    const edge = (f: string, t: string) => w.edges.find((x) => x.from === f && x.to === t);
    expect(edge('wt_tok_a', 'wt_tok_b')).toMatchObject({ fromKind: 'token', toKind: 'token', deadlockable: false });
    expect(edge('wt_tok_b', 'wt_tok_a')).toBeDefined();
    expect(edge('wt_tok_a', 'bgl')).toBeDefined();
    expect(edge('wt_tok_a', 'wt_tok_b')!.firstPath.join('\n')).toMatch(/lwkt_gettoken[^\n]*\nwt_tok_order/);
    expect(edge('wt_tok_a', 'wt_tok_b')!.count + edge('wt_tok_b', 'wt_tok_a')!.count).toBeGreaterThan(n / 2);
    // The cycle is seen, and recorded as one that cannot deadlock.
    const cyc = w.reversals.find((r) => new Set([r.from, r.to]).has('wt_tok_a') && new Set([r.from, r.to]).has('wt_tok_b'));
    expect(cyc).toMatchObject({ deadlock: false });
    expect(w.reversals.every((r) => !r.deadlock)).toBe(true);
    await down(m);
  });

  it('recursion on a sleep lock is caught before the thread would sleep for itself', async () => {
    const m = await machine({ cpus: 1, engine, witness: true });
    const a = m.kmalloc(1);
    await m.join(await spawn(m, 0, 'wt_sleep_setup', a, m.kmalloc(1)));
    const e = await failure(m, [await spawn(m, 0, 'wt_sleep_recurse', a)]);
    expect(e.panicMessage).toMatch(/witness: recursed on non-recursive sleep lock 0x[0-9a-f]+ wt_sleep_a \(sleep lock; .*\): thread \d+ 'wt_sleep_recurse' already holds it/);
    expect(e.panicMessage).toMatch(/#\d wt_sleep_recurse \(test\/progs\/witness_progs\.ts:\d+\)/);
  });

  it('recursion on a spinlock, and sleeping with a spinlock held, are caught', async () => {
    const m = await machine({ cpus: 1, engine, witness: true });
    const a = m.kmalloc(2);
    await m.join(await spawn(m, 0, 'wt_spin_setup', a, m.kmalloc(2)));
    const e = await failure(m, [await spawn(m, 0, 'wt_spin_recurse', a)]);
    expect(e.panicMessage).toMatch(/recursed on non-recursive spin lock 0x[0-9a-f]+ wt_spin_a/);
    const m2 = await machine({ cpus: 1, engine, witness: true });
    const a2 = m2.kmalloc(2);
    await m2.join(await spawn(m2, 0, 'wt_spin_setup', a2, m2.kmalloc(2)));
    const e2 = await failure(m2, [await spawn(m2, 0, 'wt_spin_sleep', a2)]);
    expect(e2.panicMessage).toMatch(/witness: thread \d+ 'wt_spin_sleep' sleeps on 0x[0-9a-f]+ 'wtspin' .* with a spin lock held: 0x[0-9a-f]+ wt_spin_a/);
  });

  it('with witness off nothing is recorded, and the same AB/BA spin order runs through', async () => {
    const m = await machine({ cpus: 2, engine, seed: 3 });
    const a = m.kmalloc(2), b = m.kmalloc(2), done = m.kmalloc(1);
    await m.join(await spawn(m, 0, 'wt_spin_setup', a, b));
    const ab = await spawn(m, 0, 'wt_spin_ab', a, b, done);
    const ba = await spawn(m, 1, 'wt_spin_ba', a, b, done);
    expect([await m.join(ab), await m.join(ba)]).toEqual([1, 1]);
    expect(m.witness()).toMatchObject({ enabled: false, edges: [], reversals: [] });
    await down(m);
  });
});

describe.each(ENGINES)('liveness report of a deadlock (%s engine)', (engine) => {
  it('names the message a thread waits for, its target thread, the sleep lock that one waits for and its holder', async () => {
    const m = await machine({ cpus: 2, engine, seed: 4, witness: true });
    const rdv = m.kmalloc(1), lock = m.kmalloc(1);
    const srv = await spawn(m, 1, 'wt_dl_server', rdv, lock);
    const cli = await spawn(m, 0, 'wt_dl_client', rdv, lock);
    const e = await failure(m, [cli, srv]);
    expect(e.kind).toBe('deadlock');
    const r = e.liveness!;
    expect(r).toBeDefined();
    expect(e.message).toContain(r);
    expect(r).toMatch(/thread (\d+) 'wt_dl_client' \(cpu 0\): waits for the reply to message 0x[0-9a-f]+ \(flags [A-Z_|]+\) sent to thread port 0x[0-9a-f]+ of thread \d+ 'wt_dl_server' \(sleep\): taken by its target, not yet replied/);
    expect(r).toMatch(/holds sleep lock sleeplock 0x[0-9a-f]+/);
    expect(r).toMatch(/thread \d+ 'wt_dl_server' \(cpu 1\): sleeps in tsleep on 0x[0-9a-f]+ 'wtlock': kmalloc16 item 0x[0-9a-f]+\n\s+the sleep lock sleeplock is held \(flags SSB_LOCK\|SSB_WANT\) by thread \d+ 'wt_dl_client' \(blocked\)/);
    expect(r).toMatch(/wait-for cycle: \d+ 'wt_dl_(client|server)' -> \d+ 'wt_dl_(server|client)' -> \d+ 'wt_dl_\1'/);
  });

  it('names the token a runnable thread waits for and its holder (injected bug: a sleeper keeps the BGL)', async () => {
    // The deterministic engine reports it once every CPU with work has stayed stalled.
    const m = await machine({ cpus: 2, engine, seed: 1, injectBug: ['token-held-across-block'] });
    const w = m.kmalloc(2);
    const s = await spawn(m, 0, 'wt_bgl_sleeper', w);
    const t = await spawn(m, 1, 'wt_bgl_taker', w);
    const e = await failure(m, [t, s]);
    expect(e.kind).toBe('deadlock');
    expect(e.liveness).toMatch(/thread \d+ 'wt_bgl_taker' \(cpu 1\): runnable, waits for token bgl 0x[0-9a-f]+ \(the BGL \(mplock token\)\) held by thread \d+ 'wt_bgl_sleeper' \(sleep\)/);
    expect(e.liveness).toMatch(/thread \d+ 'wt_bgl_sleeper' \(cpu 0\): sleeps in tsleep on 0x[0-9a-f]+ 'wtbgl': kmalloc16 item 0x[0-9a-f]+\+1\n\s+!! owns token bgl 0x[0-9a-f]+ while not running/);
  });

  it('names the socket buffer a reader sleeps on, by descriptor (witness off)', async () => {
    const m = await machine({ cpus: 2, engine, seed: 2 });
    const id = await m.spawnProcess({ cpu: 1, module: P, export: 'wt_lonely_reader', uid: 1000 });
    const e = await failure(m, [id]);
    expect(e.kind).toBe('deadlock');
    expect(e.liveness).toMatch(/thread \d+ 'wt_lonely_reader' \(cpu 1, pid (\d+)\): sleeps in tsleep on 0x[0-9a-f]+ 'sbwait': so_rcv\.ssb_cc of socket 0x[0-9a-f]+ \(fd 3 of pid \1\): data to arrive in so_rcv/);
    expect(e.liveness).toContain('boot with witness: true to see the sleep locks');
  });
});

/* Normal traffic, witness and invariants on: no report, and WITNESS saw the socket layer's orders. */
describe.each(ENGINES)('witness and invariants on, normal socket traffic runs clean (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('a stream across CPUs between kernel threads, listen queues, and the `run stream` processes', async () => {
      const m = await machine({ cpus: 2, engine, seed: 11, dispatch: model, witness: true, invariants: true, modules: [SOCK] });
      const w = m.kmalloc(4);
      const z0 = socketZones(m);
      const total = engine === 'deterministic' ? 40_000 : 150_000;
      const r = await m.spawn({ cpu: 1, module: SOCK, export: 'stream_reader', args: [w, total] });
      const wr = await m.spawn({ cpu: 0, module: SOCK, export: 'stream_writer', args: [w, total, 3000] });
      expect(await m.join(wr)).toEqual([total, 0, 1]);
      expect(await m.join(r)).toEqual([total, total, 1]);
      expect((await m.join(await m.spawn({ cpu: 0, module: SOCK, export: 'incomplete' }))) as number[]).toHaveLength(13);
      const bytes = engine === 'deterministic' ? 60_000 : 300_000;
      const srv = await m.spawnProcess({ cpu: 1, module: SCEN, export: 'stream_server', args: ['/w.sock'], uid: 1000 });
      const cli = await m.spawnProcess({ cpu: 0, module: SCEN, export: 'stream_client', args: ['/w.sock', bytes, 7], uid: 1000 });
      const [sent, h, rt, rh] = (await m.join(cli)) as number[];
      expect(await m.join(srv)).toEqual([bytes, h]);
      expect([sent, rt, rh]).toEqual([bytes, bytes, h]);
      const wit = m.witness();
      expect(wit.enabled).toBe(true);
      expect(wit.edges.length).toBeGreaterThan(3);
      expect(wit.reversals.filter((x) => x.deadlock)).toEqual([]);
      expect(wit.edges.some((x) => x.from.startsWith('sblock') || x.to.startsWith('sblock'))).toBe(true);
      await quiesce(m);
      expect(socketZones(m)).toEqual(z0);
      await down(m);
    });
  });
});
