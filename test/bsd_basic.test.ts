/*
 * FreeBSD's socket regression tests (tools/regression/sockets: sigpipe, zerosend,
 * socketpair, shutdown, pr_atomic, unix_socket, unix_bindconnect, reconnect), ported to
 * the AF_LOCAL socket layer and held to what DragonFly 2008 does (see
 * test/progs/bsd_basic_progs.ts for each port and what it leaves out).  Both engines,
 * both dispatch models; every zone back to its starting count after each program.
 */
import { describe, it, expect } from 'vitest';
import { ECONNRESET, SOCK_DGRAM, SOCK_STREAM } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_basic_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 13 }, P, name)).r;
}

describe.each(ENGINES)('FreeBSD socket regression tests (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('sigpipe: a send or write after SHUT_WR (or the peer\'s close) is EPIPE and raises SIGPIPE', async () => {
      // stream pair, stream through a listener, seqpacket pair, dgram pair (send, write each); peer closed (send, write)
      expect(await run1(engine, model, 'sigpipe_cases')).toEqual(Array(10).fill(['EPIPE', true]));
    });

    it('sigpipe: SIGPIPE\'s default action kills the writer; ignored, only EPIPE is left', async () => {
      expect(await run1(engine, model, 'sigpipe_dispositions')).toEqual(['signal 13', 'exit 7']);
    });

    it('zerosend: a zero-length send and write return 0; a datagram peer gets an empty datagram', async () => {
      expect(await run1(engine, model, 'zerosend_cases')).toEqual([
        ['udsstream', 0, 0, 'EAGAIN', 'EAGAIN', 'EAGAIN'],
        ['udsdgram', 0, 0, [0, ''], [0, ''], 'EAGAIN'],
        ['stream-listener', 0, 0, 'EAGAIN', 'EAGAIN', 'EAGAIN'],
        ['dgram-bound', 0, 0, [0, '/zerosend.1'], [0, '/zerosend.1'], 'EAGAIN'],
        [true, 0],                       // the connector is writable, no exception
      ]);
    });

    it('socketpair: pairs open and close, a failed pair leaves no descriptor, data and boundaries', async () => {
      expect(await run1(engine, model, 'socketpair_cases')).toEqual({
        closes: ['ok', 'ok', 'ok', 'ok'],
        inet: ['EPROTONOSUPPORT', 'EPROTONOSUPPORT'],
        sequential: true,
        raw: 'EPROTONOSUPPORT',
        noLeak: true,
        emfile: 'EMFILE',
        emfileNoLeak: true,
        stream: ['ping', 'pong', SOCK_STREAM, SOCK_STREAM],
        streamMerged: 'abcde',
        dgram: ['ping', 'pong', SOCK_DGRAM, SOCK_DGRAM],
        dgramRecords: ['ab', 'cde', 1, true, 'EAGAIN'],
      });
    });

    it('shutdown: EBADF, EINVAL for a bad how, SHUT_RD then SHUT_WR; EOPNOTSUPP on a non-socket', async () => {
      expect(await run1(engine, model, 'shutdown_cases')).toEqual({
        ebadf: ['EBADF', 'EBADF'],
        how: ['EINVAL', 'EINVAL'],
        rd: 'ok',
        wr: 'ok',
        connectorEof: 0,
        peerEof: 0,
        // DragonFly 2008: kern_shutdown uses holdfp and fo_shutdown; nofo_shutdown (vnodes, so
        // the console, and kqueues) is EOPNOTSUPP.
        notSocket: ['EOPNOTSUPP', 'EOPNOTSUPP'],
        unconnected: ['ok', 'ok', 'ok'],
      });
    });

    it('pr_atomic: a receive into a bad buffer on a datagram socket is EFAULT and the socket goes on working', async () => {
      expect(await run1(engine, model, 'pr_atomic_case')).toEqual([
        0, ['EFAULT', 'EFAULT', 'EFAULT'], 10, 'AAAAAAAAA\0', '', 'EAGAIN',
      ]);
    });

    it('unix_socket: which AF_LOCAL sockets and pairs can be made', async () => {
      expect(await run1(engine, model, 'unix_socket_cases')).toEqual({
        stream: 'ok', dgram: 'ok', seqpacket: 'ok',
        raw: 'EPROTONOSUPPORT', rdm: 'EPROTONOSUPPORT', proto: 'EPROTONOSUPPORT', domain: 'EPROTONOSUPPORT',
        pairs: [true, true, true],
        rawPair: 'EPROTONOSUPPORT',
      });
    });

    it('unix_bindconnect: EINVAL, EADDRINUSE until unlinked, ENOENT, ECONNREFUSED after close; the names', async () => {
      const d = '/unix_bind.d';
      expect(await run1(engine, model, 'unix_bindconnect_cases')).toEqual({
        bind1: 'ok', rebind: 'EINVAL', inuse: 'EADDRINUSE', inuseClosed: 'EADDRINUSE', bindFreed: 'ok',
        name: `${d}/socket.1`,
        noent: 'ENOENT', connect: 'ok',
        names: [`${d}/socket.2`, '', `${d}/socket.2`, ''],
        refused: 'ECONNREFUSED',
        refusals: ['ENOTSOCK', 'EPROTOTYPE', 'ECONNREFUSED', 'ENOENT', 'EINVAL'],
        rmdir: 'ok',
      });
    });

    it('reconnect: a datagram socket reconnects after its server closed', async () => {
      expect(await run1(engine, model, 'reconnect_case')).toEqual({
        first: 'ok', second: 'ok',
        arrived: ['to s2', ''],
        peer: '/reconnect.2',
        third: ['ok', 'ok'],
        arrived3: ['to s3', 'EAGAIN'],
        stale: 'ECONNREFUSED',
        dropped: [ECONNRESET, 0, 'EDESTADDRREQ'],
        dropped2: [0, 'ECONNRESET', 'EDESTADDRREQ'],
      });
    });
  });
});
