/*
 * FreeBSD's ATF test of AF_LOCAL SOCK_SEQPACKET (tests/sys/kern/unix_seqpacket_test.c),
 * ported to this socket layer and held to DragonFly 2008 (see
 * test/progs/bsd_seqpacket_progs.ts for what differs and why).  Both engines, both
 * dispatch models; every zone back to its starting count after each program.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_seqpacket_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[] = []): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 17, cpu: 0 }, P, name, args)).r;
}

const DFLT = 57344;                 // unpst_sendspace / unpst_recvspace (net.local.stream.*)
const KB = 1024;

describe.each(ENGINES)('FreeBSD unix_seqpacket_test (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('create_socket ... resize_connected_buffers: sockets, listen unbound EINVAL, bind/listen/connect/accept, buffer sizes', async () => {
      expect(await run1(engine, model, 'sp_setup_cases')).toEqual({
        create_socket: true,
        create_socketpair: true,
        listen_unbound: 'EINVAL',
        bind: 'ok',
        listen_bound: ['ok', 'ok'],
        connect: 'ok',
        accept: true,
        fcntl_nonblock: true,
        resize_buffers: [[DFLT, DFLT], [12345, DFLT], [12345, 23456]],
        // Left SNDBUF, left RCVBUF, right SNDBUF, right RCVBUF: the right socket keeps its own.
        resize_connected_buffers: [[DFLT, DFLT, DFLT, DFLT], [12345, DFLT, DFLT, DFLT], [12345, 23456, DFLT, DFLT]],
      });
    });

    it('send_recv ... emsgsize_nonblocking: short records, EAGAIN when empty, shutdown EPIPE with and without SIGPIPE, EMSGSIZE', async () => {
      expect(await run1(engine, model, 'sp_io_cases')).toEqual({
        send_recv: [5, 5],
        send_recv_nonblocking: ['EAGAIN', 5, 5],
        send_recv_with_connect: [5, 5],
        sendto_recvfrom: [5, 5, null],           // no source address on a seqpacket record
        shutdown_send: ['ok', 'EPIPE', 0],       // MSG_NOSIGNAL: no SIGPIPE
        shutdown_send_sigpipe: ['EPIPE', 1],
        emsgsize: 'EMSGSIZE',                    // (8192 + 8192) * 2 bytes > SO_SNDBUF 8192
        emsgsize_nonblocking: 'EMSGSIZE',
      });
    });

    it('eagain_8k_8k, eagain_8k_128k, eagain_128k_8k, eagain_128k_128k: EAGAIN once the peer holds SO_SNDBUF', async () => {
      // SSB_STOP trips when the peer's so_rcv holds our SO_SNDBUF: ceil(SO_SNDBUF / record) records.
      expect(await run1(engine, model, 'sp_eagain', [8 * KB, 8 * KB])).toEqual([4, 'EAGAIN']);
      expect(await run1(engine, model, 'sp_eagain', [8 * KB, 128 * KB])).toEqual([4, 'EAGAIN']);
      expect(await run1(engine, model, 'sp_eagain', [128 * KB, 8 * KB])).toEqual([64, 'EAGAIN']);
      expect(await run1(engine, model, 'sp_eagain', [128 * KB, 128 * KB])).toEqual([4, 'EAGAIN']);
    });

    it('sendrecv_8k ... sendrecv_128k_nonblocking: one record of half the buffer, whole and intact', async () => {
      for (const size of [8, 16, 32, 64, 128]) {
        for (const blocking of [true, false]) {
          expect(await run1(engine, model, 'sp_sendrecv', [size * KB, blocking])).toEqual([size * KB / 2, size * KB / 2, true]);
        }
      }
    });

    it('rcvbuf_oversized: 32 records of 1 KB through an 8 KB send buffer, then EAGAIN', async () => {
      expect(await run1(engine, model, 'sp_rcvbuf_oversized')).toEqual([32, 'EAGAIN']);
    });

    it('pipe_simulator_8k_8k ... pipe_simulator_128k_128k: send until EAGAIN, read until EAGAIN, nothing lost', async () => {
      // [records sent, received, miscompares, whether the sender ever hit EAGAIN]
      expect(await run1(engine, model, 'sp_pipe_simulator', [8 * KB, 8 * KB])).toEqual([32, 32, 0, 1]);
      expect(await run1(engine, model, 'sp_pipe_simulator', [8 * KB, 128 * KB])).toEqual([512, 512, 0, 1]);
      expect(await run1(engine, model, 'sp_pipe_simulator', [128 * KB, 8 * KB])).toEqual([512, 512, 0, 1]);
      expect(await run1(engine, model, 'sp_pipe_simulator', [128 * KB, 128 * KB])).toEqual([32, 32, 0, 1]);
    });

    it('pipe_8k_8k ... pipe_128k_128k: a blocked writer thread and a reader thread on the other CPU', async () => {
      // [records, written whole, read intact and in order]
      expect(await run1(engine, model, 'sp_pipe', [8 * KB, 8 * KB, 1])).toEqual([32, 32, 32]);
      expect(await run1(engine, model, 'sp_pipe', [8 * KB, 128 * KB, 1])).toEqual([512, 512, 512]);
      expect(await run1(engine, model, 'sp_pipe', [128 * KB, 8 * KB, 1])).toEqual([512, 512, 512]);
      expect(await run1(engine, model, 'sp_pipe', [128 * KB, 128 * KB, 1])).toEqual([32, 32, 32]);
    });
  });
});
