/*
 * INVARIANTS (src/kern/kern_invariants.ts, src/lwkt/lwkt_invariants.ts).
 * Goal: with invariants: true a broken sockbuf accounting (ssb_cc or ssb_mbcnt corrupted
 * through kmem) is caught at the next append, naming the buffer and its socket; a broken
 * listen-queue count is caught where it changes; a message replied twice or sent while in
 * flight, and a thread switched out still owning a token (the BGL unlinked, or the injected
 * bug token-held-across-block), are caught; each report names
 * the invariant and the object.  With invariants off the same corruption goes unchecked;
 * and the socket core's own tests run clean with the checks on, in both engines and both
 * dispatch models.
 * Method: kernel threads and programs in test/progs/witness_progs.ts; the socket core's
 * kernel threads of test/progs/socket_progs.ts.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, machine, down, downFailed, socketZones, type TestMachine } from './helpers.js';
import { PanicError, EPROTONOSUPPORT } from '../src/index.js';

const P = new URL('./progs/witness_progs.ts', import.meta.url).href;
const SOCK = new URL('./progs/socket_progs.ts', import.meta.url).href;

async function failure(m: TestMachine, id: number): Promise<PanicError> {
  await m.join(id).catch(() => undefined);
  const e = await downFailed(m);
  expect(e).toBeInstanceOf(PanicError);
  return e as PanicError;
}

describe.each(ENGINES)('INVARIANTS (%s engine)', (engine) => {
  it('a corrupted ssb_cc is caught at the next append, with the figures and the routine', async () => {
    const m = await machine({ cpus: 2, engine, invariants: true });
    const e = await failure(m, await m.spawn({ cpu: 0, module: P, export: 'inv_sockbuf_corrupt', args: [10] }));
    expect(e.kind).toBe('panic');
    expect(e.panicMessage).toMatch(/^INVARIANTS: sockbuf accounting: sockbuf 0x[0-9a-f]+: ssb_cc 110 != 100, the sum of m_len over its 1 mbufs in 1 records .* \(in sbcompress <- sbappend\)$/);
  });

  it('with invariants off the same corruption is not checked', async () => {
    const m = await machine({ cpus: 2, engine });
    expect(await m.join(await m.spawn({ cpu: 0, module: P, export: 'inv_sockbuf_corrupt', args: [10] }))).toBe(1);
    await down(m);
  });

  it('a corrupted ssb_mbcnt of a process\'s socket is caught, naming the socket and its descriptor', async () => {
    const m = await machine({ cpus: 2, engine, invariants: true });
    const e = await failure(m, await m.spawnProcess({ cpu: 1, module: P, export: 'inv_socket_corrupt', uid: 1000 }));
    expect(e.panicMessage).toMatch(/^INVARIANTS: sockbuf accounting: so_rcv of socket 0x[0-9a-f]+ \(fd 4 of pid \d+\): ssb_mbcnt 260 != 256, MSIZE per mbuf plus each cluster/);
  });

  it('a listener\'s so_qlen that disagrees with so_comp is caught when accept dequeues', async () => {
    const m = await machine({ cpus: 2, engine, invariants: true });
    const e = await failure(m, await m.spawnProcess({ cpu: 0, module: P, export: 'inv_listen_corrupt', uid: 1000 }));
    expect(e.panicMessage).toMatch(/^INVARIANTS: listen queue lengths: listener socket 0x[0-9a-f]+ \(fd 3 of pid \d+\): so_qlen 1 \(so_comp holds 0\), so_incqlen 0 \(so_incomp holds 0\)/);
  });

  it('a message replied twice, and one sent while in flight, are caught', async () => {
    const m = await machine({ cpus: 1, engine, invariants: true });
    const e = await failure(m, await m.spawn({ cpu: 0, module: P, export: 'inv_msg_double_reply' }));
    expect(e.panicMessage).toMatch(/^INVARIANTS: MSGF_DONE went backwards: message 0x[0-9a-f]+ \(flags MSGF_DONE, reply to thread port 0x[0-9a-f]+ of thread \d+ 'inv_msg_double_reply', last target no port\) replied when already done/);
    const m2 = await machine({ cpus: 1, engine, invariants: true });
    const e2 = await failure(m2, await m2.spawn({ cpu: 0, module: P, export: 'inv_msg_inflight' }));
    expect(e2.panicMessage).toMatch(/^INVARIANTS: message sent while in flight: message 0x[0-9a-f]+ .* before its reply \(MSGF_DONE clear\)/);
  });

  it('a thread switched out still owning the BGL is caught', async () => {
    const m = await machine({ cpus: 1, engine, invariants: true });
    const e = await failure(m, await m.spawn({ cpu: 0, module: P, export: 'inv_bgl_unlinked' }));
    expect(e.panicMessage).toMatch(/^INVARIANTS: a thread switched out owns a token: thread \d+ 'inv_bgl_unlinked' owns the BGL without a reference/);
  });

  it('the injected bug token-held-across-block is caught at its first switch, not left to become a livelock', async () => {
    const m = await machine({ cpus: 2, engine, invariants: true, injectBug: ['token-held-across-block'] });
    const w = m.kmalloc(2);
    const s = await m.spawn({ cpu: 0, module: P, export: 'wt_bgl_sleeper', args: [w], name: 'wt_bgl_sleeper' });
    const e = await failure(m, s);
    expect(e.kind).toBe('panic');
    expect(e.panicMessage).toMatch(/^INVARIANTS: a thread switched out owns a token: thread \d+ 'wt_bgl_sleeper' still owns token 0x[0-9a-f]+ after lwkt_switch released its tokens/);
  });

  describe.each(MODELS)('%s dispatch: the socket core runs clean with invariants (and witness) on', (model) => {
    it('listen queues (backlog, eviction, accept filter), records, disconnect', async () => {
      const m = await machine({ cpus: 2, engine, seed: 7, dispatch: model, invariants: true, witness: true, modules: [SOCK] });
      const z0 = socketZones(m);
      const run = async (name: string, ...args: unknown[]): Promise<unknown> =>
        m.join(await m.spawn({ cpu: 0, module: SOCK, export: name, args, name }));
      expect(await run('lifecycle', 0)).toEqual([1, 1, 8192, 1, 2048, EPROTONOSUPPORT, EPROTONOSUPPORT, EPROTONOSUPPORT, 2, 0, 0, 0]);
      expect(((await run('backlog', [0, 1, 2, 128])) as number[]).slice(0, 16)).toEqual([
        1, 1, 0, 0, 2, 2, 1, 0, 4, 4, 2, 0, 193, 193, 128, 0]);
      expect(await run('incomplete')).toEqual([1, 2, 3, 3, 3, 1, 1, 4, 1, 2, 1, 1, 0]);
      expect(await run('accept_filter')).toEqual([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 2, 0]);
      expect(await run('disconnected')).toEqual([0, 300, 100, 300, 0, 0, 300, 1, 0, 0, 300, 1, 0, 0, 0, 0]);
      expect(await run('records')).toBeInstanceOf(Array);
      expect(socketZones(m)).toEqual(z0);
      expect(m.witness().reversals.filter((r) => r.deadlock)).toEqual([]);
      await down(m);
    });
  });
});
