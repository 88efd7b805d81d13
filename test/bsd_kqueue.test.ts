/*
 * FreeBSD's libkqueue socket tests (tests/sys/kqueue/libkqueue/read.c, test_evfilt_read),
 * ported to this socket layer and held to DragonFly 2008 (SEED, d6f338fca7: kern_event.c's
 * kqueue_register and kqueue_scan, uipc_socket.c's filt_soread).  One program runs the
 * cases in read.c's order on one kqueue and one stream socketpair (the cases depend on each
 * other's leftovers), on both engines and both dispatch models; every zone back to its
 * starting count afterwards.  See test/progs/bsd_kqueue_progs.ts for each step.
 *
 * Ported: add, del, get, disable_and_enable (and FreeBSD 10's revision of it), oneshot,
 * clear, lowat (under "#if BROKEN" in read.c; DragonFly 2008 has NOTE_LOWAT), eof; and
 * main.c's test_kqueue (a new kqueue has nothing pending) and test_evfilt_read's close.
 *
 * Left out:
 *  - test_kevent_socket_dispatch: EV_DISPATCH (FreeBSD 8) is not in SEED's sys/event.h.
 *  - write.c: there is none in FreeBSD's tests/sys/kqueue/libkqueue (nor in FreeBSD 10's
 *    tests/sys/kqueue); read.c holds every socket case.
 *  - EV_RECEIPT, EVFILT_USER and the NOTE_* flags added after 2008: no case of read.c uses
 *    them, and SEED has none.
 *
 * Where DragonFly 2008 differs: a returned event keeps every flag its EV_ADD change had
 * (kqueue_register: kn->kn_kevent = *kev), fflags and data are compared too (read.c's
 * kevent_cmp is a memcmp of the whole struct), and udata comes back as given.
 */
import { describe, it, expect } from 'vitest';
import { EVFILT_READ, EV_ADD, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_EOF } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_kqueue_progs.ts', import.meta.url).href;
const UDATA = 0x5eed;               // read.c's &sockfd[0]: handed back untouched

async function run1<T = unknown>(engine: Engine, model: Model, name: string, args: unknown[] = []): Promise<T> {
  return (await runProgram({ engine, model, seed: 23, cpu: 0 }, P, name, args)).r as T;
}

/* What kevent_get returns for sockfd[0]'s EVFILT_READ knote. */
const ev = (flags: number, data: number, fflags = 0) =>
  [{ ident: 'sockfd[0]', filter: EVFILT_READ, flags, fflags, data, udata: UDATA }];

describe.each(ENGINES)('FreeBSD libkqueue read.c, EVFILT_READ on a socketpair (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('kqueue, add, del, get, disable_and_enable, oneshot, clear, lowat, eof', async () => {
      expect(await run1(engine, model, 'kq_evfilt_read', [UDATA])).toEqual({
        kqueue: { none: [] },
        // EV_ADD on an empty socket: filt_soread false, nothing queued.
        add: { add: 'ok' },
        // The knote is gone: the byte written is no event.
        del: { del: 'ok', fill: 1, none: [], drain: 1 },
        // data is so_rcv's cc; the drained knote is dropped from the queue unreported.
        // FreeBSD strips EV_ADD (kevent_cmp adds it back); DragonFly keeps it in kn_kevent.
        get: { add: 'ok', fill: 1, get: ev(EV_ADD, 1), drain: 1, none: [], del: 'ok' },
        // DragonFly keeps the EV_ADD change's EV_DISABLE in kn_kevent.flags (FreeBSD wants EV_ADD).
        disable_and_enable: { fill: 1, add: 'ok', none: [], enable: 'ok', get: ev(EV_ADD | EV_DISABLE, 1), drain: 1, del: 'ok' },
        // EV_DISABLE on an existing knote leaves kn_kevent alone: EV_ADD only.
        disable_and_enable_10: { add: 'ok', disable: 'ok', fill: 1, none: [], enable: 'ok', get: ev(EV_ADD, 1), drain: 1, del: 'ok' },
        // DragonFly keeps EV_ADD with EV_ONESHOT; the knote is dropped after the report: ENOENT.
        oneshot: { add: 'ok', none: [], fill: 1, get: ev(EV_ADD | EV_ONESHOT, 1), none_after: [], del: 'ENOENT', drain: 1 },
        // DragonFly keeps EV_ADD with EV_CLEAR; after the report nothing re-arms it.
        clear: { none: [], add: 'ok', fill: [1, 1], get: ev(EV_ADD | EV_CLEAR, 2), none_after: [], drain: 1, drain2: 1, del: 'ok' },
        // read.c's KEV_CMP wants flags 0; DragonFly keeps EV_ADD|EV_ONESHOT in kn_kevent.
        lowat: { add: 'ok', none: [], fill: 1, none_one_byte: [], fill2: 1, get: ev(EV_ADD | EV_ONESHOT, 2), none_after: [], drain: [1, 1] },
        // soisdisconnected: CANTRCVMORE, EV_EOF with fflags so_error (0), data cc (0).
        // DragonFly keeps EV_ADD with EV_EOF (FreeBSD's kevent_cmp adds EV_ADD back too).
        eof: { add: 'ok', none: [], close: 'ok', get: ev(EV_ADD | EV_EOF, 0), del: 'ok' },
        close: { kq: 'ok', sockfd0: 'ok' },
      });
    });
  });
});
