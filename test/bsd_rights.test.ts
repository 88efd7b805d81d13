/*
 * FreeBSD's socket regression tests for descriptor passing, ported
 * (tools/regression/sockets/unix_passfd, unix_gc, unix_sorflush, and the SCM_RIGHTS,
 * cmsg-length and MSG_CTRUNC parts of unix_cmsg; see test/progs/bsd_rights_progs.ts).
 * The expected values are what a BSD kernel gives, DragonFly 2008 first where FreeBSD
 * later changed (control longer than MLEN, several messages per send, empty rights).
 * Left out: SCM_CREDS/LOCAL_CREDS/sockcred and timestamps (unix_cmsg's other tests),
 * MSG_CMSG_CLOEXEC and SOCK_CLOEXEC (not in DragonFly 2008), the TCP listen cases of
 * unix_gc (AF_LOCAL stands in); no regular files: a socketpair end is the payload, and
 * fstat's st_ino tells it is the same file.
 * Both engines, both dispatch models; every program ends with every zone back to its
 * starting count (runProgram), and with nothing left in flight.
 */
import { describe, it, expect } from 'vitest';
import { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_rights_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[] = [], uid = 1000): Promise<unknown[]> {
  return (await runProgram({ engine, model, seed: 23, uid }, P, name, args)).r as unknown[];
}

const TYPES = [['stream', SOCK_STREAM], ['seqpacket', SOCK_SEQPACKET], ['dgram', SOCK_DGRAM]] as const;

describe.each(ENGINES)('FreeBSD socket regression tests, descriptor passing (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each(TYPES)('unix_passfd 1-4 over a %s pair: simple, send-and-close, cancel, two files', async (_n, type) => {
      expect(await run1(engine, model, 'passfd_basic', [type])).toEqual([
        ['test1', 1, 1, true, true, 'one'],     // a new descriptor, the same file (fstat), and it works
        ['test2', 1, 1, true, true, 'two'],
        ['test3', 0, 0],                      // the cancelled right's file closed (its peer reads EOF)
        ['test4', 'first', 'second'],
        ['inflight', 0],
      ]);
    });

    it.each(TYPES)('unix_passfd 5-6 over a %s pair: a socket sent over itself, and the cycle unp_gc frees', async (_n, type) => {
      expect(await run1(engine, model, 'passfd_bundle', [type])).toEqual([
        ['test5', 1, true, 0, 0],
        ['test6', 2, 0, 0],
      ]);
    });

    it.each(TYPES)('unix_passfd_test devfs_orphan over a %s pair: the console in flight when the pair closes', async (_n, type) => {
      expect(await run1(engine, model, 'passfd_devfs_orphan', [type])).toEqual([1, 0, 0, 13, '20000']);
    });

    it('unix_passfd send_and_shutdown: shutdown(SHUT_RD) disposes of the queued right at once', async () => {
      // [the message still holds the file, the file closed when shutdown returned, inflight, the payload's peer sees EOF]
      expect(await run1(engine, model, 'passfd_shutdown')).toEqual([0, -1, 0, 0]);
    });

    it('unix_gc: twosome, threesome, fivesome and complex cycles leave nothing in flight or open', async () => {
      const [cases, bad] = await run1(engine, model, 'gc_pairs');
      expect(bad).toEqual([]);
      for (const c of cases as [string, number, number][]) expect(c).toEqual([c[0], 0, 0]);
      expect((cases as unknown[]).length).toBe(2 + 8 + 1 + 6 + 1 + 4 + 1);
    });

    it('unix_gc: listeners in flight, with and without a pending connection', async () => {
      const [cases, bad] = await run1(engine, model, 'gc_listen');
      expect(bad).toEqual([]);
      expect(cases).toEqual([
        ['listen_nothing_unp', 0, 0], ['listen_drop_unp1', 0, 0], ['listen_drop_unp2', 0, 0],
        ['listen_connect_nothing', 0, 0], ['listen_connect_drop', 0, 0],
      ]);
    });

    it('unix_gc: recursion, a chain of pairs each in flight in the next, until ENFILE', async () => {
      // [stopped by, a chain of some length, inflight two per link, inflight left, files left, bad sendfds]
      expect(await run1(engine, model, 'gc_recursion', [64], 0)).toEqual(['ENFILE', true, true, 0, 0, []]);
    });

    it('unix_sorflush: shutdown(SHUT_RD) wakes a blocked reader with EOF', async () => {
      expect(await run1(engine, model, 'sorflush_plain')).toEqual([true, 'exit 0', 'exit 0', 0]);
    });

    it('unix_sorflush: SIGKILL to a shutdown blocked on a MSG_WAITALL reader', async () => {
      expect(await run1(engine, model, 'sorflush_race')).toEqual([
        true, true,           // (a) blocked, then inside its MSG_WAITALL loop holding so_rcv's lock
        true, 'ok', true,     // (b) blocked in sorflush's ssb_lock; the kill posted; (b) still blocked (SSB_NOINTR)
        'exit 0', 'signal 9', // (a) got all its bytes; (b) flushed, then died of the SIGKILL
        0, 0,                 // sv[1] reads EOF; nothing in flight
      ]);
    });

    it.each([['stream', SOCK_STREAM], ['dgram', SOCK_DGRAM]])(
      'unix_cmsg over %s, SCM_RIGHTS: whole messages, no MSG_CTRUNC, one cmsg of CMSG_LEN(int)', async (_n, type) => {
        const msg = (i: number): unknown[] => [6, true, 0, 1, true, 16, `payload ${i}`];
        expect(await run1(engine, model, 'cmsg_server', [type, 0])).toEqual([msg(0), msg(1), 'exit 0', 0]);
      });

    it('cmsg lengths: control longer than MLEN is EINVAL at sendmsg (DragonFly 2008 sys_sendmsg)', async () => {
      const [res] = await run1(engine, model, 'cmsg_lengths') as [Record<string, unknown>];
      // 43 ints: msg_controllen CMSG_SPACE(172) = 184 > MLEN (180); refused before the protocol sees it.
      expect([res.over, res.overInflight]).toEqual(['EINVAL', 0]);
    });

    it('cmsg lengths: MLEN exactly, one message per send, empty rights, MSG_CTRUNC, EMSGSIZE', async () => {
      const [res] = await run1(engine, model, 'cmsg_lengths') as [Record<string, unknown>];
      const { over: _o, overInflight: _i, ...rest } = res;
      expect(rest).toEqual({
        max: 1, maxGot: [42, 42, 0, 42],           // 42 ints (180 bytes): 42 new descriptors, all distinct
        two: 'EINVAL',                             // unp_internalize: cmsg_len must be the mbuf's length
        empty: 1, emptyGot: [1, 1, [[1, 0]], 0],   // an empty SCM_RIGHTS comes back as one
        trunc1: [1, true, 0, 0],                   // MSG_CTRUNC, nothing left in the table or in flight
        trunc3: [1, true, 0, 0],
        full: 'EMSGSIZE', fullAfter: [0, 0],       // the rights discarded, not installed
        rest: [1, 0],                              // then the byte, without control
        end: 0,
      });
    });
  });
});
