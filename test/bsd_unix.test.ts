/*
 * NetBSD's and OpenBSD's unix-socket regression tests, ported (NetBSD tests/net/net/
 * t_unix.c and tests/lib/libc/sys/t_socketpair.c; OpenBSD regress/sys/kern/unixsockets:
 * unixsock_test, unfdpassfail, ungc, unsopassgc, unsendrecvthr; see
 * test/progs/bsd_unix_progs.ts for each port and what it leaves out).  The expected
 * values are what DragonFly 2008 gives where the other BSDs later differ: a 104-byte
 * sun_path works (OpenBSD: EINVAL), a kqueue in SCM_RIGHTS is EOPNOTSUPP (OpenBSD:
 * EINVAL), and nothing limits descriptors in flight (OpenBSD's EMFILE).  The OpenBSD
 * stress loops run a fixed number of rounds with their threads on different CPUs.
 * Both engines, both dispatch models; every program ends with every zone back to its
 * starting count (runProgram), and with nothing left in flight.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_unix_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[] = [], cpus = 2): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 29, cpus }, P, name, args)).r;
}

/* What every t_unix case gives: the listener's name comes back whole, both ends see the other's credentials. */
const T_UNIX = { bind: 'ok', connect: 'ok', peereid: true, listenerPeereid: 'ENOTCONN', acceptedPeereid: true };

describe.each(ENGINES)('NetBSD and OpenBSD unix-socket regression tests (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('t_unix: bind, connect, accept and names at 100 and 104 bytes; accept after the client closed', async () => {
      expect(await run1(engine, model, 't_unix_case', [false, 100])).toEqual({ ...T_UNIX, peername: '', sockname: 100 });
      expect(await run1(engine, model, 't_unix_case', [false, 104])).toEqual({ ...T_UNIX, peername: '', sockname: 104 });
      // sockaddr_un_closed: the accept still succeeds; the accepted socket is disconnected
      // (kern_getpeername: ENOTCONN) and reads the client's data, then EOF.
      expect(await run1(engine, model, 't_unix_case', [true, 100])).toEqual({
        ...T_UNIX, peername: 'ENOTCONN', sockname: 100, drained: ['bye', 0],
      });
    });

    it('t_unix: names up to 253 bytes bind, connect and come back whole; 254 is ENAMETOOLONG, an empty one EINVAL', async () => {
      expect(await run1(engine, model, 't_unix_long')).toEqual({
        len105: ['ok', 'ok', true, true],
        len200: ['ok', 'ok', true, true],
        len253: ['ok', 'ok', true, true],             // sockaddr_un_len_max: sun_len 255
        len254: ['ENAMETOOLONG', 'ENAMETOOLONG'],      // sockaddr_un_len_exceed: sun_len 256 > SOCK_MAXADDRLEN
        empty: ['EINVAL', 'EINVAL'],                  // unp_bind/unp_connect: namelen 0
        after: ['ok', 'EINVAL'],
        connect104: 'ok',
        name104: 104,
        dgram: ['ok', 178, 'ENOBUFS'],                // sbappendaddr: a name over MLEN (180) does not fit its mbuf
        sockets: 0,
      });
    });

    it('t_socketpair: a pair takes descriptors 3 and 4, both ends connected, neither close-on-exec nor non-blocking', async () => {
      const row = [3, 4, ['', ''], [0, 0], [0, 0], ['ok', 'ok']];
      expect(await run1(engine, model, 'socketpair_basic')).toEqual([row, row, row]);   // dgram, stream, seqpacket
    });

    it('unixsock_test: bind and connect by path length; a NUL ends the name', async () => {
      const ok = [30, 50, 100, 102, 103, 104, 105, 110, 200, 253].map((L) => [L, 'ok', 'ok']);
      expect(await run1(engine, model, 'unixsock_lengths')).toEqual([
        ...ok, [254, 'ENAMETOOLONG', 'ENAMETOOLONG'], ['nul', 'ok', 'ok', 'ok'], ['rmdir', 'ok'],
        ['name_max', 'ok', 'ok', 'ENAMETOOLONG'], ['sockets', 0],
      ]);
    });

    it('unfdpassfail: a kqueue in SCM_RIGHTS, its companion closed by another CPU: refused, nothing in flight', async () => {
      expect(await run1(engine, model, 'fdpassfail', [24, 0])).toEqual([
        'EBADF|EOPNOTSUPP', 0,
        ['EOPNOTSUPP', 'EOPNOTSUPP', 'EBADF'],     // open + kqueue, kqueue + open, closed + kqueue
        'EAGAIN', 0,
      ]);
    });

    it('ungc: unp_gc keeps sockets a live buffer holds and collects the cycle beside them', async () => {
      expect(await run1(engine, model, 'ungc', [24])).toEqual([24, null, 0, true]);
    });

    it('unsopassgc: rights passed on every CPU while unp_gc frees cycles holding a live socket', async () => {
      const [pairs, gc, left, collected] = (await run1(engine, model, 'unsopassgc', [3, 48, 24], 3)) as unknown[];
      expect(pairs).toEqual([['sent', 48], ['sent', 48], ['sent', 48]]);
      expect(gc).toBe(24);
      expect(left).toBe(0);
      expect(collected).toBe(true);
    });

    it('unsendrecvthr: seqpacket writers on every CPU at both ends: every record whole, once, in order', async () => {
      expect(await run1(engine, model, 'unsendrecvthr', [3, 64], 3)).toEqual([192, 192, 'all sent']);
    });
  });
});
