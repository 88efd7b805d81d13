/*
 * Programs for test/bsd_kqueue.test.ts: the socket cases of FreeBSD's libkqueue test suite,
 * tests/sys/kqueue/libkqueue/read.c (test_evfilt_read), ported to this socket layer.
 *
 * read.c runs its cases one after the other on one kqueue and one AF_UNIX stream
 * socketpair, each case leaving the state the next expects (test_kevent_socket_add's knote
 * is what _del deletes, and so on).  kq_evfilt_read does the same, in test_evfilt_read's
 * order, and returns what each case checks, step by step, under the case's name: a change's
 * outcome ('ok' or the errno name), kevent_get's event, test_no_kevents's events (none
 * expected), and the byte counts of kevent_socket_fill / kevent_socket_drain.  The test
 * compares that with what DragonFly 2008 gives.
 *
 * Where DragonFly 2008 differs from the FreeBSD the tests were written for:
 *  - A returned event's flags keep every flag of the EV_ADD change: SEED's kqueue_register
 *    copies the whole kevent into kn_kevent (FreeBSD strips EV_ADD|EV_DELETE|EV_ENABLE|
 *    EV_DISABLE; its kevent_cmp puts EV_ADD back, so FreeBSD's test wants EV_ADD).  So
 *    disable_and_enable's event, whose knote was made by EV_ADD|EV_DISABLE, has
 *    EV_ADD|EV_DISABLE here, and lowat's KEV_CMP flags 0 is EV_ADD|EV_ONESHOT.
 *  - kevent_cmp compares the whole struct: fflags (0: kqueue_register zeroes it, and
 *    filt_soread sets it to so_error only at EOF) and udata (handed back untouched) are
 *    returned with every event; udata is a number here (read.c passes &sockfd[0]).
 *
 * Added or moved:
 *  - test_kevent_socket_lowat is under "#if BROKEN" in read.c and test_evfilt_read never
 *    calls it; DragonFly 2008 has NOTE_LOWAT (filt_soread compares kn_data with kn_sdata),
 *    so it runs here, where _dispatch would have (after _clear: empty buffer, no knote).
 *  - disable_and_enable_10: FreeBSD 10's revision of test_kevent_socket_disable_and_enable
 *    (EV_ADD, then EV_DISABLE, then the fill: the knote fires while disabled), run right
 *    after today's revision (the fill first, then EV_ADD|EV_DISABLE).
 *  - sockfd[0] is closed at the end (read.c leaves it open; _eof closes sockfd[1]).
 *
 * Left out: test_kevent_socket_dispatch (EV_DISPATCH is FreeBSD 8's; SEED's sys/event.h
 * has no such flag).
 *
 * Waits: kevent_get's NULL timeout becomes 5 s, so a lost wake-up ends in an empty event
 * list, never a hang; test_no_kevents's zero timespec stays.
 */
import { Sys, AF_LOCAL, SOCK_STREAM, EVFILT_READ, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, NOTE_LOWAT,
  type Kevent } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, count_or_code } from './common.js';

/* kevent_get's bound, where read.c waits forever. */
const LONG = { sec: 5, nsec: 0 };
const ZERO = { sec: 0, nsec: 0 };

/* An event as the test compares it: ident named after the descriptor it should be. */
export interface Ev { ident: string | number; filter: number; flags: number; fflags: number; data: number; udata: number }

export function* kq_evfilt_read(sys: Sys, udata: number): Blocking<Record<string, Record<string, unknown>>> {
  const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const kq = yield* sys.kqueue();
  const one = new Uint8Array(1);
  const name = (ident: number): string | number => (ident === s0 ? 'sockfd[0]' : ident === s1 ? 'sockfd[1]' : ident);
  const show = (evs: Kevent[]): Ev[] => evs.map((e) => ({ ident: name(e.ident), filter: e.filter, flags: e.flags,
    fflags: e.fflags ?? 0, data: e.data ?? 0, udata: e.udata ?? 0 }));
  // EV_SET(&kev, sockfd[0], EVFILT_READ, flags, fflags, data, &sockfd[0]); kevent(kqfd, &kev, 1, NULL, 0, NULL)
  const change = (flags: number, fflags = 0, data = 0): Blocking<string> =>
    attempt(sys.kevent(kq, [{ ident: s0, filter: EVFILT_READ, flags, fflags, data, udata }], 0));
  // kevent_socket_fill: write(sockfd[1], ".", 1); kevent_socket_drain: read(sockfd[0], buf, 1).
  const fill = (): Blocking<number | string> => count_or_code(sys.write(s1, new Uint8Array([0x2e])));
  const drain = (): Blocking<number | string> => count_or_code(sys.read(s0, one));
  // test_no_kevents: kevent(kqfd, NULL, 0, &kev, 1, &{0, 0}), whatever came back.
  function* none(): Blocking<Ev[]> { return show(yield* sys.kevent(kq, null, 1, ZERO)); }
  // kevent_get: kevent(kqfd, NULL, 0, kev, 1, NULL), bounded.
  function* get(): Blocking<Ev[]> { return show(yield* sys.kevent(kq, null, 1, LONG)); }

  const r: Record<string, Record<string, unknown>> = {};
  // main.c's test_kqueue: a new kqueue has nothing pending.
  r.kqueue = { none: yield* none() };

  // test_kevent_socket_add: EV_ADD on an empty socket; the knote stays for _del.
  r.add = { add: yield* change(EV_ADD) };

  // test_kevent_socket_del: EV_DELETE; a byte arriving then is no event.
  r.del = { del: yield* change(EV_DELETE), fill: yield* fill(), none: yield* none(), drain: yield* drain() };

  // test_kevent_socket_get: EV_ADD, a byte, the event (data 1); drained, no event.
  {
    const add = yield* change(EV_ADD);
    const f = yield* fill();
    const ev = yield* get();
    const d = yield* drain();
    r.get = { add, fill: f, get: ev, drain: d, none: yield* none(), del: yield* change(EV_DELETE) };
  }

  // test_kevent_socket_disable_and_enable: a byte first, then EV_ADD|EV_DISABLE (the
  // knote is activated and queued at once, then disabled): no event; EV_ENABLE: the event.
  {
    const f = yield* fill();
    const add = yield* change(EV_ADD | EV_DISABLE);
    const n = yield* none();
    const enable = yield* change(EV_ENABLE);
    const ev = yield* get();
    r.disable_and_enable = { fill: f, add, none: n, enable, get: ev, drain: yield* drain(), del: yield* change(EV_DELETE) };
  }

  // FreeBSD 10's revision: EV_ADD, EV_DISABLE, then the byte (knote() activates the
  // disabled knote without queueing it): no event; EV_ENABLE queues it: the event.
  {
    const add = yield* change(EV_ADD);
    const disable = yield* change(EV_DISABLE);
    const f = yield* fill();
    const n = yield* none();
    const enable = yield* change(EV_ENABLE);
    const ev = yield* get();
    r.disable_and_enable_10 = { add, disable, fill: f, none: n, enable, get: ev, drain: yield* drain(), del: yield* change(EV_DELETE) };
  }

  // test_kevent_socket_oneshot: one event, then the knote is gone: no event, and
  // EV_DELETE fails (read.c only wants kevent() != 0: ENOENT).
  {
    const add = yield* change(EV_ADD | EV_ONESHOT);
    const n0 = yield* none();
    const f = yield* fill();
    const ev = yield* get();
    const n1 = yield* none();
    const del = yield* change(EV_DELETE);
    r.oneshot = { add, none: n0, fill: f, get: ev, none_after: n1, del, drain: yield* drain() };
  }

  // test_kevent_socket_clear: EV_CLEAR, two bytes: one event with data 2; one byte read,
  // the other still there, and yet no event (edge-triggered).
  {
    const n0 = yield* none();
    const add = yield* change(EV_ADD | EV_CLEAR);
    const f = [yield* fill(), yield* fill()];
    const ev = yield* get();
    const d1 = yield* drain();
    const n1 = yield* none();
    const d2 = yield* drain();
    r.clear = { none: n0, add, fill: f, get: ev, drain: d1, none_after: n1, drain2: d2, del: yield* change(EV_DELETE) };
  }

  // test_kevent_socket_lowat (#if BROKEN in read.c): NOTE_LOWAT 2 with EV_ONESHOT; one
  // byte is no event, two are.
  {
    const add = yield* change(EV_ADD | EV_ONESHOT, NOTE_LOWAT, 2);
    const n0 = yield* none();
    const f1 = yield* fill();
    const n1 = yield* none();
    const f2 = yield* fill();
    const ev = yield* get();
    const n2 = yield* none();
    r.lowat = { add, none: n0, fill: f1, none_one_byte: n1, fill2: f2, get: ev, none_after: n2, drain: [yield* drain(), yield* drain()] };
  }

  // test_kevent_socket_eof: EV_ADD, then the peer closes: the event with EV_EOF.
  {
    const add = yield* change(EV_ADD);
    const n0 = yield* none();
    const close = yield* attempt(sys.close(s1));
    const ev = yield* get();
    r.eof = { add, none: n0, close, get: ev, del: yield* change(EV_DELETE) };
  }

  // test_evfilt_read's close(kqfd); and sockfd[0], which read.c leaves open.
  r.close = { kq: yield* attempt(sys.close(kq)), sockfd0: yield* attempt(sys.close(s0)) };
  return r;
}
