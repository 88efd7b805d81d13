/*
 * FreeBSD's socket regression tests (tools/regression/sockets/) ported to this kernel:
 * kqueue, sblock, unix_close_race, unix_sendtorace, unix_seqpacket_exercise, and, moved
 * from TCP to AF_LOCAL streams, listenclose, accept_fd_leak, listen_backlog (through
 * sonewconn's limit: DragonFly 2008 has no SO_LISTENQLIMIT) and accf_data_attach.  Where
 * FreeBSD's answer is not DragonFly 2008's, the DragonFly one is asserted and the
 * program's comment says why.  Both engines, both dispatch models; the racing sides run
 * on different CPUs; every zone is back to its starting count after each program.
 */
import { describe, it, expect } from 'vitest';
import {
  SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SA_RESTART, EVFILT_READ, EVFILT_WRITE, EV_ADD,
} from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_race_progs.ts', import.meta.url).href;
const R = EVFILT_READ, W = EVFILT_WRITE;
const HIWAT = 57344;                 // unpst_sendspace/recvspace (SEED)

async function run1<T = Record<string, unknown>>(engine: Engine, model: Model, name: string, args: unknown[], uid = 1000): Promise<T> {
  return (await runProgram({ engine, model, seed: 13, uid }, P, name, args)).r as T;
}

describe.each(ENGINES)('FreeBSD socket regressions (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('kqueue: EVFILT_READ and EVFILT_WRITE on non-blocking socketpairs; a full stream drained from the other CPU', async () => {
      const r = await run1(engine, model, 'kq_filters', [0]);
      const [dfd, ...dgram] = r.dgramRead as [number, ...unknown[]];
      // A datagram's kn_data is so_rcv.ssb_cc: the byte and its 16-byte sun_noname record.
      expect(dgram).toEqual([[], 1, [[dfd, R, EV_ADD, 0, 17]], 1, [], 'EAGAIN', 'ENOENT']);
      const [sfd, ...stream] = r.streamRead as [number, ...unknown[]];
      expect(stream).toEqual([[], 1, [[sfd, R, EV_ADD, 0, 1]], 1, [], 'EAGAIN', 'ENOENT']);
      const [wfd, room, total, stop, full, polled, woke, drained] = r.streamWrite as unknown[];
      expect(room).toEqual([[wfd, W, EV_ADD, 0, HIWAT]]);
      expect([total, stop]).toEqual([HIWAT, 'EAGAIN']);      // SSB_STOP once the peer holds hiwat
      expect(full).toEqual([]);
      expect(polled).toEqual([0, 0]);
      expect(woke).toEqual([[wfd, W, EV_ADD, 0, HIWAT]]);     // uipc_rcvd cleared SSB_STOP from the other CPU
      expect(drained).toEqual([true, HIWAT]);
      const [gfd, before, sent, gstop, after] = r.dgramWrite as unknown[];
      expect(before).toEqual([[gfd, W, EV_ADD, 0, 2048]]);
      expect([sent, gstop]).toEqual([64, 'ENOBUFS']);
      expect(after).toEqual([[gfd, W, EV_ADD, 0, 2048]]);     // still "writable": FreeBSD's XXXRW
      expect(r.left).toEqual([]);
    });

    it.each([['no SA_RESTART', 0], ['SA_RESTART', SA_RESTART]])(
      'sblock: a reader waiting for so_rcv\'s I/O lock is interrupted by a signal (%s)', async (_n, flags) => {
        const r = await run1<unknown[]>(engine, model, 'sblock', [flags, 0, 1]);
        // The holder slept in MSG_WAITALL with the lock, the waiter slept in "sblock"; the holder got all its bytes.
        expect(r.slice(0, 3)).toEqual([true, true, 0]);
        // No SA_RESTART: EINTR at once (1) after one SIGHUP (+10).  SA_RESTART: restarted, then the byte (2).
        expect(r[3]).toBe(flags === 0 ? 11 : 12);
      });

    it('unix_close_race: connect+close against accept+close on the other CPU; both ends of pairs closed at once', async () => {
      const r = await run1<unknown[]>(engine, model, 'close_race', ['/cr.sock', 100, 0]);
      expect(r).toEqual([{ ok: 100 }, { ok: 100 }, 0]);
      for (const type of [SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM]) {
        expect(await run1<unknown[]>(engine, model, 'pair_close_race', [type, 12, 12, 0])).toEqual([0, 0, 12]);
      }
    });

    it('unix_sendtorace: datagram sendto against the receiver and against its close; stream sendto is ENOTCONN', async () => {
      const r = await run1(engine, model, 'sendto_race', ['/st.sock', 400, 50, 0]);
      const [sent, fails, marker, received] = r.dgram as [number, Record<string, number>, string, number];
      expect(marker).toBe('ok');
      expect(received).toBe(sent);                                     // every delivered datagram received
      expect(sent + (fails.ENOBUFS ?? 0)).toBe(400);                   // the only refusal: a full receiver
      const [seq, took, unlinked] = r.closed as [string[], number, string];
      expect(took).toBe(50);
      // Deliveries (and ENOBUFS) until the close, then only ECONNREFUSED: never a delivery after it.
      const first = seq.indexOf('ECONNREFUSED');
      expect(first).toBeGreaterThan(0);
      expect(seq.slice(0, first).every((e) => e === 'ok' || e === 'ENOBUFS')).toBe(true);
      expect(seq.slice(first)).toEqual(Array(5).fill('ECONNREFUSED'));
      expect(unlinked).toBe('ENOENT');
      expect(r.stream).toEqual(['ENOTCONN', 'EAGAIN']);
    });

    it('unix_seqpacket_exercise: echo of every size and count, records kept apart and cut; EPIPE after SHUT_RDWR', async () => {
      const r = await run1(engine, model, 'seqpacket', ['/sq.sock', 0]);
      expect([r.connect, r.send, r.shutdownSend]).toEqual(['ok', 1, 'EPIPE']);
      expect(r.sendto).toBe('ENOTCONN');        // no PR_IMPLOPCL on DragonFly 2008's seqpacket
      expect(r.wrong).toEqual([]);
      const [badbuf, truncs, echoed] = r.server as number[];
      expect(badbuf).toBe(0);                   // the accepted socket inherited 131056 both ways
      expect(truncs).toBe(1 + 3 * 2);           // the 65536-byte records: 1 alone, counts 1..3 (6) counted
      expect(echoed).toBeGreaterThan(r.conns as number);
    });

    it('listenclose: closing a listener aborts its unaccepted connections, also racing a connector', async () => {
      const r = await run1(engine, model, 'listenclose', ['/lc.sock', 20, 60, 0]);
      expect(r.nbconnect).toBe('ok');           // AF_LOCAL: no EINPROGRESS
      expect(r.closes).toEqual(['ok', 'ok']);
      expect(r.refused).toBe('ECONNREFUSED');
      expect(r.aborted).toEqual([0, 'EPIPE', 'ECONNREFUSED', 'ENOENT']);
      const [enough, refused, sawK, after, kept] = r.race as [boolean, string, boolean, Record<string, number>, number];
      expect([enough, sawK]).toEqual([true, true]);
      expect(['', 'ECONNREFUSED']).toContain(refused);
      expect(after).toEqual({ eof: kept, EPIPE: kept });
    });

    it('accept_fd_leak: failing, racing and interrupted accepts leave no descriptor behind', async () => {
      const r = await run1(engine, model, 'accept_leak', ['/al.sock', 500, 40, 0]);
      expect([r.sequential, r.nonblock]).toEqual([true, true]);
      expect(r.fails).toEqual({ EAGAIN: 500 });
      expect(r.refusals).toEqual(['EINVAL', 'ENOTSOCK', 'EBADF']);
      expect(r.after1).toBe(2);
      expect(r.nbrace).toEqual([40, 0]);
      expect(r.blocking).toEqual([40, 0]);
      expect(r.eintr).toEqual([true, 0]);
      expect(r.after2).toBe(2);
      expect(r.files).toBe(0);
    });

    it('listen_backlog: sonewconn admits 3b/2 + 1; listen updates the limit; somaxconn clamps; no SO_LISTENQLIMIT', async () => {
      const r = await run1(engine, model, 'listen_backlog', ['/lb.sock'], 0);
      expect(r.somaxconn).toBe(128);
      expect(r.defaults).toEqual([
        [1, 'ECONNREFUSED'], [2, 'ECONNREFUSED'], [4, 'ECONNREFUSED'], [8, 'ECONNREFUSED'],
        [193, 'ECONNREFUSED'], [193, 'ECONNREFUSED'], [193, 'ECONNREFUSED'],
      ]);
      // 3 queued under backlog 5, then: -1 → 128 (190 more), 0 and 1 (none: 3 > 0, 3 > 1), 129 → 128.
      expect(r.updates).toEqual([
        [3, 190, 'ECONNREFUSED'], [3, 0, 'ECONNREFUSED'], [3, 0, 'ECONNREFUSED'], [3, 190, 'ECONNREFUSED'],
      ]);
      expect(r.lowered).toEqual([[16, 'ECONNREFUSED'], [16, 'ECONNREFUSED'], [5, 'ECONNREFUSED']]);
      expect(r.qlimit).toEqual(['ENOPROTOOPT', 'ENOPROTOOPT']);
      expect(r.room).toEqual([[4, 'ECONNREFUSED'], [1, 'ECONNREFUSED']]);
    });

    it('accf_data_attach: the dataready filter only on a listener; set, read back, removed', async () => {
      const none = { name: '', arg: '' };
      expect(await run1<unknown[]>(engine, model, 'accf_attach', ['/af.sock'])).toEqual([
        'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL',     // not listening: get and set refused
        none,                                        // listening, no filter: DragonFly 2008 gives a zeroed struct
        'ok', { name: 'dataready', arg: '' },        // accf_data has no accf_create: no so_accept_filter_str
        'ok', none,
      ]);
    });
  });
});


