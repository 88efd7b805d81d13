/*
 * FreeBSD's ATF tests of AF_LOCAL streams and a datagram shutdown
 * (tests/sys/kern/unix_stream.c, unix_socketpair_test.c, shutdown_dgram.c), ported to
 * this socket layer and held to DragonFly 2008 (see test/progs/bsd_atf_stream_progs.ts
 * for what differs and why, and what is left out).  Both engines, both dispatch models;
 * the blocked waiter runs on the other CPU; every zone back to its starting count after
 * each program.
 */
import { describe, it, expect } from 'vitest';
import {
  POLLIN, POLLRDNORM, POLLOUT, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_EOF,
} from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_atf_stream_progs.ts', import.meta.url).href;
const R = EVFILT_READ, W = EVFILT_WRITE;
const SENDSPACE = 57344;            // net.local.stream.sendspace (SEED's PIPSIZ)
const OTHER = 1;                    // the program runs on CPU 0, its waiter thread here

async function run1<T = unknown>(engine: Engine, model: Model, name: string, args: unknown[] = []): Promise<T> {
  return (await runProgram({ engine, model, seed: 19, cpu: 0 }, P, name, args)).r as T;
}

// What a writability check sees on a connected stream that may write: filt_sowrite's
// data is ssb_space(so_snd), the whole hiwat (an AF_LOCAL stream's own so_snd stays empty).
const WRITABLE = {
  select: ['select', 1, true],
  poll: ['poll', 1, POLLOUT],                                 // POLLWRNORM is POLLOUT
  kevent: ['kevent', 1, [true, W, EV_ADD, 0, SENDSPACE]],     // DragonFly keeps EV_ADD in kn_kevent
};
const NOT_READY = { select: ['select', 0, false], poll: ['poll', 0, 0], kevent: ['kevent', 0] };

describe.each(ENGINES)('FreeBSD ATF unix_stream / unix_socketpair_test / shutdown_dgram (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('getpeereid, send_0, connected/unconnected/peerclosed/peershutdown writability, peershutdown_readability, ourshutdown_kevent', async () => {
      expect(await run1(engine, model, 'st_basic_cases')).toEqual({
        // DragonFly 2008 gives a socketpair no peer credentials (no UNP_HAVEPC): ENOTCONN.
        getpeereid: [true, 'ENOTCONN', 'ENOTCONN'],
        socketpair_getpeereid: [true, 'ENOTCONN', 'ENOTCONN'],
        send_0: 0,
        connected_writability: [WRITABLE.select, WRITABLE.poll, WRITABLE.kevent],
        // Not connected, PR_CONNREQUIRED: not writable by any method.
        unconnected_writability: [true, NOT_READY.select, NOT_READY.poll, NOT_READY.kevent],
        // soisdisconnected: CANTSENDMORE makes it writable, and EV_EOF (so_error 0).
        peerclosed_writability: [WRITABLE.select, WRITABLE.poll, ['kevent', 1, [true, W, EV_ADD | EV_EOF, 0, SENDSPACE]]],
        // The peer's SHUT_RD only flushes its own so_rcv: still writable, no EV_EOF.
        peershutdown_writability: ['ok', WRITABLE.select, WRITABLE.poll, WRITABLE.kevent],
        // The peer's SHUT_WR: readable at EOF; read gives 0 at once.
        peershutdown_readability: ['ok', ['select', 1, true], ['poll', 1, POLLIN | POLLRDNORM], 0],
        // FreeBSD wants flags == EV_EOF; DragonFly's kqueue_register keeps EV_ADD in them.
        ourshutdown_kevent: [0, 'ok', 1, [true, W, EV_ADD | EV_EOF, 0, SENDSPACE]],
      });
    });

    it.each(['select', 'poll', 'kevent'] as const)('full_writability_%s: full after one sendspace, not writable, woken from the other CPU by a read', async (method) => {
      expect(await run1(engine, model, 'st_full_writability', [method, OTHER])).toEqual({
        full: [1, 'EAGAIN'],          // SSB_STOP trips once the peer holds sendspace: one whole send
        first: NOT_READY[method],
        blocked: true,
        read: SENDSPACE / 2,
        woken: WRITABLE[method],      // uipc_rcvd cleared SSB_STOP and sowwakeup'd
        again: WRITABLE[method],
      });
    });

    it.each(['select', 'poll', 'kevent'] as const)('peershutdown_wakeup_%s: a reader blocked on the other CPU woken by the peer\'s SHUT_WR', async (method) => {
      const woken = {
        select: ['select', 1, true],
        poll: ['poll', 1, POLLIN | POLLRDNORM],                   // no POLLRDHUP in DragonFly 2008
        kevent: ['kevent', 1, [true, R, EV_ADD | EV_EOF, 0, 0]],
      };
      expect(await run1(engine, model, 'st_peershutdown_wakeup', [method, OTHER])).toEqual([true, 'ok', woken[method]]);
    });

    it('shutdown_dgram unblock: SHUT_RD on a datagram socket wakes a blocked recv (bound, and unbound for the INET half)', async () => {
      // DragonFly's soshutdown has no ENOTCONN (FreeBSD's POSIX answer): shutdown succeeds.
      expect(await run1(engine, model, 'st_shutdown_dgram_unblock', ['/shutdown-dgram-test-sock', OTHER]))
        .toEqual([[true, 'ok', 0], [true, 'ok', 0]]);
    });
  });
});
