/*
 * Descriptor passing over AF_LOCAL (kern/uipc_usrreq_rights.ts): SCM_RIGHTS internalised
 * at send time and externalised at receive time, the refusals and their errnos, the
 * receiver's limits (MSG_CTRUNC, EMSGSIZE, MSG_PEEK), rights disposed of when their
 * socket closes, unp_gc's cycles, and passing between processes on different CPUs.  Both
 * engines, both dispatch models; net.local.inflight back to 0 and every zone back to its
 * starting count after each program.
 */
import { describe, it, expect } from 'vitest';
import { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/rights_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[]): Promise<unknown[]> {
  return (await runProgram({ engine, model, seed: 11 }, P, name, args)).r as unknown[];
}

describe.each(ENGINES)('descriptor passing (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each([['stream', SOCK_STREAM], ['seqpacket', SOCK_SEQPACKET], ['dgram', SOCK_DGRAM]])(
      'a socket passed over a %s pair is the same open file; two in one message', async (_n, type) => {
        expect(await run1(engine, model, 'pass_pair', [type])).toEqual([
          2, 2, 1, true, 1, 0, 'hello', 2, true, 'twice', 0, 0, 0,
        ]);
      });

    it('refusals: EBADF, one message per send (EINVAL), ENOBUFS disposes of the rights', async () => {
      const [bad, in0, filled, nobufs, eof, in1] = await run1(engine, model, 'refusals', []);
      expect(bad).toEqual(['EBADF', 'EBADF', 'EINVAL']);
      expect([in0, filled, nobufs, eof, in1]).toEqual([0, true, 'ENOBUFS', 0, 0]);
    });

    it('rights refused before unp_internalize (out-of-band data, every flag) are not disposed of: the descriptors stay open', async () => {
      expect(await run1(engine, model, 'refused_before_internalize', [])).toEqual([
        'EOPNOTSUPP',             // stream: uipc_send refuses PRUS_OOB
        'EOPNOTSUPP', 'EOPNOTSUPP', // seqpacket: MSG_OOB, and every flag (MSG_OOB among them)
        'EOPNOTSUPP',             // dgram
        0, 'x works',
      ]);
    });

    it('receiver limits: MSG_CTRUNC closes what did not fit, MSG_PEEK leaves rights queued, EMSGSIZE discards', async () => {
      expect(await run1(engine, model, 'receiver_limits', [])).toEqual([
        1, true, 0, 0,            // truncated: the byte, MSG_CTRUNC, no control, the payload closed (EOF)
        1, true, 1, 'peeked',     // peek: the byte, MSG_CTRUNC on a small buffer, still in flight; then received and working
        16, 'EMFILE',             // the table filled to RLIMIT_NOFILE
        'EMSGSIZE', 0, 0, 'm',    // EMSGSIZE, nothing in flight, the payload closed, the data still queued
        0,
      ]);
    });

    it('MSG_PEEK at rights sent with no data on a stream waits for data (EAGAIN non-blocking) instead of going round for good', async () => {
      expect(await run1(engine, model, 'peek_control_only', [SOCK_STREAM])).toEqual([
        0, 'EAGAIN', 'hi',        // the send; the peeks: nothing yet, then the data that came behind the rights
        2, 'hi', 1, 'passed',     // one receive: the data with the rights, the passed socket works
        'EAGAIN', 0,              // nothing after; nothing in flight
      ]);
    });

    it('MSG_PEEK at rights sent with no data on a seqpacket pair returns the empty record', async () => {
      expect(await run1(engine, model, 'peek_control_only', [SOCK_SEQPACKET])).toEqual([
        0, 0, '',                 // the send; both peeks see the empty record
        0, '', 1, 'passed',       // it arrives with its rights
        'hi', 0,                  // the data, a record of its own; nothing in flight
      ]);
    });

    it.each([['stream', SOCK_STREAM], ['dgram', SOCK_DGRAM]])(
      'closing a %s pair with rights queued disposes of them', async (_n, type) => {
        expect(await run1(engine, model, 'close_in_flight', [type])).toEqual([6]);
      });

    it('unp_gc frees a self cycle and a two-socket cycle, and nothing reachable', async () => {
      expect(await run1(engine, model, 'gc_cycles', [])).toEqual([4, true, 1, 'alive', 0]);
    });

    it('passing between processes on different CPUs', async () => {
      expect(await run1(engine, model, 'cross_cpu', [0])).toEqual(['child got go', 'from v', 0, 0]);
    });
  });
});
