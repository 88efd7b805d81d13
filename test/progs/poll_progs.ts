/*
 * Programs for test/poll.test.ts: select(2), poll(2), kqueue(2) and kevent(2) on AF_LOCAL
 * sockets, the console and kqueues (kern/sys_generic.ts, kern/kern_event.ts).  Each runs
 * many checks and returns what it saw; the wake-up checks make another thread (on the
 * other CPU) act only once it has seen the waiter asleep in the call, so that the wake-up
 * path, not a first scan, is what answers.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_ERROR, SO_SNDBUF, SO_RCVLOWAT, SHUT_WR, SHUT_RD,
  SHUT_RDWR, FIONBIO, RLIMIT_NOFILE, SIGUSR1, SA_RESTART, POLLIN, POLLRDNORM, POLLOUT, POLLPRI, POLLRDBAND, INFTIM,
  EVFILT_READ, EVFILT_WRITE, EVFILT_VNODE, EVFILT_TIMER, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT,
  EV_CLEAR, NOTE_LOWAT, type Kevent, type PollFd, type Timeval,
} from '../../src/libc/index.js';
import { k32, nselcoll_word, type Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep } from './common.js';

const IN = POLLIN | POLLRDNORM, OUT = POLLOUT;
const NOW: Timeval = { sec: 0, usec: 0 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/* poll the (fd, events) pairs: [count, revents...]. */
function* pl(sys: Sys, fds: [number, number][], timeout = 0): Blocking<number[]> {
  const a: PollFd[] = fds.map(([fd, events]) => ({ fd, events }));
  const n = yield* sys.poll(a, timeout);
  return [n, ...a.map((x) => x.revents ?? -1)];
}

/* kevent with no changes, looking once: the events as [ident, filter, flags, fflags, data, udata]. */
function* kev(sys: Sys, kq: number, changes: Kevent[] | null = null, nevents = 8): Blocking<number[][]> {
  const evs = yield* sys.kevent(kq, changes, nevents, { sec: 0, nsec: 0 });
  return evs.map((e) => [e.ident, e.filter, e.flags, e.fflags ?? 0, e.data ?? 0, e.udata ?? 0]);
}

/* Read exactly n bytes from fd. */
function* drain(sys: Sys, fd: number, n: number): Blocking<number> {
  const buf = new Uint8Array(8192);
  let got = 0;
  while (got < n) got += yield* sys.recv(fd, buf, 0, Math.min(buf.length, n - got));
  return got;
}

/*
 * Readiness of sockets and the console through poll and select, with the errors of bad
 * arguments and the three kinds of timeout.
 */
export function* states(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  r.fresh = yield* pl(sys, [[a, IN | OUT], [b, IN | OUT]]);
  yield* sys.send(a, enc('hello'));
  r.data = yield* pl(sys, [[b, IN | OUT | POLLPRI | POLLRDBAND]]);
  r.sel = yield* sys.select(8, [a, b], [a, b], [a, b], NOW);
  r.selclip = (yield* sys.select(100000, [b], null, null, NOW)).readfds;   // nfds past the table: clipped
  // The peer's buffer full (the sender stopped, SSB_STOP): a is not writable until b reads.
  yield* sys.ioctl(a, FIONBIO, 1);
  const chunk = new Uint8Array(4096);
  let sent = 0;
  for (;;) {
    try {
      sent += yield* sys.send(a, chunk);
    } catch (e) {
      if (e instanceof SysError && e.code === 'EAGAIN') break;
      throw e;
    }
  }
  r.full = [yield* pl(sys, [[a, OUT]]), (yield* sys.select(8, null, [a], null, NOW)).writefds];
  r.drainedBytes = (yield* drain(sys, b, sent + 5)) === sent + 5;
  r.drained = yield* pl(sys, [[a, OUT], [b, IN]]);
  // The receive low-water mark: 5 bytes are not enough to be readable, 8 are.
  yield* sys.setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, 8);
  yield* sys.send(a, enc('12345'));
  const below = yield* pl(sys, [[b, IN]]);
  yield* sys.send(a, enc('678'));
  r.lowat = [below, yield* pl(sys, [[b, IN]])];
  yield* drain(sys, b, 8);
  // The peer shuts writing: b reads EOF (readable); a cannot send: writable (the send fails at once).
  yield* sys.shutdown(a, SHUT_WR);
  r.shut = yield* pl(sys, [[b, IN | OUT], [a, IN | OUT]]);
  // Shutting one's own receiving side makes a socket readable; its peer's close makes it writable too.
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  r.shutrd = yield* pl(sys, [[c, IN | OUT]]);
  yield* sys.shutdown(c, SHUT_RD);
  r.shutrd2 = yield* pl(sys, [[c, IN]]);
  const [c2, d2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.ioctl(c2, FIONBIO, 1);
  while ((yield* attempt(sys.send(c2, chunk))) === 'ok');
  r.peerclose0 = yield* pl(sys, [[c2, IN | OUT]]);
  yield* sys.close(d2);
  r.peerclose = yield* pl(sys, [[c2, IN | OUT]]);
  // A listener is readable while a completed connection waits for accept.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, '/poll.l');
  yield* sys.listen(l, 4);
  r.listen0 = yield* pl(sys, [[l, IN | OUT]]);
  const k = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(k, '/poll.l');
  r.listen1 = [yield* pl(sys, [[l, IN]]), (yield* sys.select(l + 1, [l], null, null, NOW)).readfds];
  const s = yield* sys.accept(l);
  r.listen2 = yield* pl(sys, [[l, IN], [s, IN | OUT], [k, IN | OUT]]);
  // An unconnected stream socket: neither readable nor writable.
  const u = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.lone = [yield* pl(sys, [[u, IN | OUT]]), yield* sys.select(u + 1, [u], [u], null, NOW)];
  // so_error: a datagram peer closed; ECONNRESET pending makes the survivor readable and
  // writable, until reading SO_ERROR clears it (then: writable, unconnected datagram).
  const [e, f] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* sys.close(f);
  r.soerror = [yield* pl(sys, [[e, IN | OUT]]), yield* sys.getsockopt(e, SOL_SOCKET, SO_ERROR), yield* pl(sys, [[e, IN | OUT]])];
  // The console: writable, never readable.
  r.console = [yield* pl(sys, [[0, IN], [1, OUT]]), yield* sys.select(3, [0], [1, 2], null, NOW)];
  // Descriptors that are not open: POLLNVAL (past the table, or an empty slot); a negative one is skipped.
  const gone = yield* sys.dup(a);
  yield* sys.close(gone);
  r.nval = yield* pl(sys, [[99, IN], [gone, IN | OUT], [-1, IN], [b, IN]]);
  // Bad arguments.
  r.errors = [
    yield* attempt(sys.select(gone + 1, [gone], null, null, NOW)),
    yield* attempt(sys.select(gone + 1, null, [a, gone])),
    yield* attempt(sys.select(-1, null)),
    yield* attempt(sys.select(8, [a], null, null, { sec: 0, usec: 1000000 })),
    yield* attempt(sys.select(8, [a], null, null, { sec: -1, usec: 0 })),
    yield* attempt(sys.select(8, [-3])),
    yield* attempt(sys.select(8, 'x' as unknown as number[])),
    yield* attempt(sys.select(1.5, null)),
    yield* attempt(sys.poll([{ fd: a, events: IN }], -2)),
    yield* attempt(sys.poll('x' as unknown as PollFd[])),
    yield* attempt(sys.poll([null as unknown as PollFd])),
    yield* attempt(sys.poll([{ fd: 'a', events: IN } as unknown as PollFd])),
  ];
  // More entries than both RLIMIT_NOFILE and FD_SETSIZE: EINVAL; FD_SETSIZE is always allowed.
  const lim = yield* sys.getrlimit(RLIMIT_NOFILE);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: 64, max: lim.max });
  const many = (n: number): PollFd[] => Array.from({ length: n }, () => ({ fd: -1, events: IN }));
  r.nfds = [yield* attempt(sys.poll(many(1025), 0)), yield* sys.poll(many(1024), 0)];
  // Timeouts: zero looks once, a finite one expires with nothing ready.
  r.timeouts = [
    yield* pl(sys, [[u, IN]], 0),
    yield* pl(sys, [[u, IN]], 30),
    (yield* sys.select(u + 1, [u], null, null, { sec: 0, usec: 20000 })).n,
    (yield* sys.select(u + 1, [u], null, null, { sec: 0, usec: 1 })).n,
  ];
  for (const fd of [a, b, c, d, c2, l, k, s, u, e]) yield* sys.close(fd);
  yield* sys.unlink('/poll.l');
  return r;
}

/* kqueue and kevent: data values, flags, changes and their errors, closing things. */
export function* kq_semantics(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const kq = yield* sys.kqueue();
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const sndbuf = yield* sys.getsockopt(a, SOL_SOCKET, SO_SNDBUF);
  // Level-triggered: READ on b (nothing yet), WRITE on a (the space to write).
  r.add = yield* kev(sys, kq, [
    { ident: b, filter: EVFILT_READ, flags: EV_ADD, udata: 11 },
    { ident: a, filter: EVFILT_WRITE, flags: EV_ADD, udata: 12 },
  ]);
  r.sndbuf = sndbuf;
  yield* sys.send(a, enc('hello'));
  r.level = [yield* kev(sys, kq), yield* kev(sys, kq)];
  r.room = yield* kev(sys, kq, null, 1);       // only one fits
  // EV_DISABLE stops b's reports, EV_ENABLE brings them back; EV_DELETE ends them.
  r.disabled = yield* kev(sys, kq, [{ ident: b, filter: EVFILT_READ, flags: EV_DISABLE }]);
  r.enabled = yield* kev(sys, kq, [{ ident: b, filter: EVFILT_READ, flags: EV_ENABLE }]);
  r.deleted = yield* kev(sys, kq, [{ ident: b, filter: EVFILT_READ, flags: EV_DELETE }]);
  // A failed change: an EV_ERROR event while there is room (and nothing else), else the errno.
  r.errev = yield* kev(sys, kq, [
    { ident: b, filter: EVFILT_READ, flags: EV_DELETE, udata: 5 },
    { ident: 99, filter: EVFILT_READ, flags: EV_ADD },
  ]);
  r.errno = [
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: EVFILT_READ, flags: EV_DELETE }], 0)),
    yield* attempt(sys.kevent(kq, [{ ident: 99, filter: EVFILT_READ, flags: EV_ADD }], 0)),
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: EVFILT_TIMER, flags: EV_ADD }], 0)),
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: 3, flags: EV_ADD }], 0)),
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: -8, flags: EV_ADD }], 0)),
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: EVFILT_VNODE, flags: EV_ADD }], 0)),
    yield* attempt(sys.kevent(kq, null, -1)),
    yield* attempt(sys.kevent(kq, null, 1, { sec: 0, nsec: -1000 })),
    yield* attempt(sys.kevent(kq, null, 1, { sec: -1, nsec: 0 })),
    yield* attempt(sys.kevent(a, null, 1)),
    yield* attempt(sys.kevent(99, null, 1)),
    yield* attempt(sys.kevent(kq, 'x' as unknown as Kevent[], 1)),
    yield* attempt(sys.kevent(kq, [{ ident: b, filter: EVFILT_READ, flags: 1.5 }], 1)),
  ];
  // The kqueue is not a socket; reading it is ENXIO; poll sees it readable while events wait.
  r.notsock = [
    yield* attempt(sys.send(kq, enc('x'))),
    yield* attempt(sys.getsockopt(kq, SOL_SOCKET, SO_ERROR)),
    yield* attempt(sys.read(kq, new Uint8Array(4))),
    yield* pl(sys, [[kq, IN]]),
  ];
  yield* drain(sys, b, 5);
  // EV_ONESHOT fires once, then the knote is gone.
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const kq2 = yield* sys.kqueue();
  r.kqpoll0 = yield* pl(sys, [[kq2, IN]]);
  yield* kev(sys, kq2, [{ ident: d, filter: EVFILT_READ, flags: EV_ADD | EV_ONESHOT }]);
  yield* sys.send(c, enc('abc'));
  r.kqpoll1 = yield* pl(sys, [[kq2, IN]]);
  r.oneshot = [yield* kev(sys, kq2), yield* kev(sys, kq2), yield* attempt(sys.kevent(kq2, [{ ident: d, filter: EVFILT_READ, flags: EV_DELETE }], 0))];
  // EV_CLEAR: reported once per event, data as it is then, fflags and data reset after.
  const first = yield* kev(sys, kq2, [{ ident: d, filter: EVFILT_READ, flags: EV_ADD | EV_CLEAR }]);
  const again = yield* kev(sys, kq2);
  yield* sys.send(c, enc('defg'));
  r.clear = [first, again, yield* kev(sys, kq2)];
  yield* drain(sys, d, 7);
  // NOTE_LOWAT: data is the low-water mark (10 bytes), not the socket's.
  const [g, h] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* kev(sys, kq2, [{ ident: h, filter: EVFILT_READ, flags: EV_ADD, fflags: NOTE_LOWAT, data: 10 }]);
  yield* sys.send(g, enc('12345'));
  const low = yield* kev(sys, kq2);
  yield* sys.send(g, enc('67890'));
  r.lowat = [low, yield* kev(sys, kq2)];
  // SO_RCVLOWAT is the default mark.
  yield* sys.setsockopt(h, SOL_SOCKET, SO_RCVLOWAT, 20);
  r.rcvlowat = yield* kev(sys, kq2, [{ ident: h, filter: EVFILT_READ, flags: EV_ADD, fflags: 0, data: 0 }]);
  // A listener: data is the completed connections waiting (filt_solisten).
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, '/kq.l');
  yield* sys.listen(l, 4);
  const kq3 = yield* sys.kqueue();
  const listen0 = yield* kev(sys, kq3, [{ ident: l, filter: EVFILT_READ, flags: EV_ADD }]);
  const k1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM), k2 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(k1, '/kq.l');
  yield* sys.connect(k2, '/kq.l');
  const listen2 = yield* kev(sys, kq3);
  const s1 = yield* sys.accept(l);
  r.listen = [listen0, listen2, yield* kev(sys, kq3)];
  // EV_EOF: a stream peer's close (fflags 0) on READ and WRITE.
  yield* kev(sys, kq3, [
    { ident: k1, filter: EVFILT_READ, flags: EV_ADD },
    { ident: k1, filter: EVFILT_WRITE, flags: EV_ADD },
  ]);
  yield* sys.close(s1);
  r.eof = yield* kev(sys, kq3);
  // EV_EOF with fflags = so_error: a datagram peer's close leaves ECONNRESET pending
  // (ready, no EOF yet); the survivor's own shutdown adds EOF.
  const [e, f] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const kq4 = yield* sys.kqueue();
  yield* kev(sys, kq4, [{ ident: e, filter: EVFILT_READ, flags: EV_ADD }]);
  const before = yield* kev(sys, kq4);
  yield* sys.close(f);
  const reset = yield* kev(sys, kq4, [
    { ident: e, filter: EVFILT_READ, flags: EV_ADD },
    { ident: e, filter: EVFILT_WRITE, flags: EV_ADD },
  ]);
  yield* sys.shutdown(e, SHUT_RDWR);
  r.soerror = [before, reset, yield* kev(sys, kq4)];
  // Closing a socket drops its knotes: nothing more is reported for it.
  const [m, n] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* kev(sys, kq3, [
    { ident: m, filter: EVFILT_READ, flags: EV_ADD },
    { ident: m, filter: EVFILT_WRITE, flags: EV_ADD },
    { ident: n, filter: EVFILT_READ, flags: EV_ADD },
  ]);
  yield* sys.send(n, enc('x'));
  yield* sys.close(m);
  r.closed = [m, n, yield* kev(sys, kq3)];
  // Closing a kqueue with knotes on live sockets: the sockets go on working and notifying.
  const [p, q] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* kev(sys, kq4, [
    { ident: p, filter: EVFILT_READ, flags: EV_ADD },
    { ident: q, filter: EVFILT_WRITE, flags: EV_ADD },
  ]);
  yield* sys.close(kq4);
  yield* sys.send(q, enc('after'));
  r.kqclosed = [yield* pl(sys, [[p, IN], [q, OUT]]), yield* drain(sys, p, 5), yield* attempt(sys.kevent(kq4, null, 1))];
  // The console: EVFILT_WRITE holds, EVFILT_READ never.
  r.console = yield* kev(sys, kq2, [
    { ident: 0, filter: EVFILT_READ, flags: EV_ADD },
    { ident: 1, filter: EVFILT_WRITE, flags: EV_ADD },
  ]);
  // A kqueue in a kqueue: readable while the inner one has events.
  yield* kev(sys, kq, [{ ident: kq2, filter: EVFILT_READ, flags: EV_ADD }]);
  r.nested = yield* kev(sys, kq);
  // kq (knotes on a and on kq2), kq2, a and b are left open: exit closes them, knotes and all.
  for (const fd of [c, d, g, h, l, kq3, k1, k2, e, n, p, q]) yield* sys.close(fd);
  yield* sys.unlink('/kq.l');
  return r;
}

/* ---- waking a waiter from the other CPU ---- */

/* Wait until thread tid of this process sleeps in wmesg (common.ts wait_asleep). */
function* asleep_in(sys: Sys, tid: number, wmesg: string): Blocking<boolean> {
  return yield* wait_asleep(sys, yield* sys.getpid(), tid, wmesg);
}

/*
 * A thread on the other CPU: once thread tid (every thread of tid, if it is a list)
 * sleeps in wmesg, act: send a byte on fd, connect a new socket to path (its fd is
 * returned), close fd, or signal the process.
 */
export function* actor(sys: Sys, tid: number | number[], wmesg: string, action: string, fd: number,
    path: string): Blocking<unknown> {
  let seen = true;
  for (const t of Array.isArray(tid) ? tid : [tid]) seen = (yield* asleep_in(sys, t, wmesg)) && seen;
  switch (action) {
    case 'send': yield* sys.send(fd, enc('!')); break;
    case 'connect': {
      const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* sys.connect(s, path);
      return [seen, s];
    }
    case 'close': yield* sys.close(fd); break;
    case 'kill': yield* sys.kill(yield* sys.getpid(), SIGUSR1); break;
    default: throw new Error(`actor: ${action}?`);
  }
  return [seen, -1];
}

/* A thread polling fd for input, forever. */
export function* poller(sys: Sys, fd: number): Blocking<number[]> {
  return yield* pl(sys, [[fd, IN]], INFTIM);
}

/*
 * poll, select and kevent, blocked on this CPU, woken by a send, a connect and a close
 * made on the other CPU; a finite timeout cut short by an event; the polled descriptor
 * closed by another thread; EINTR from a signal, with and without SA_RESTART.
 */
export function* wakeups(sys: Sys, other: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const me = yield* sys.gettid();
  const act = function* (wmesg: string, action: string, fd = -1, path = ''): Blocking<number> {
    return yield* sys.thread(actor, { cpu: other, args: [me, wmesg, action, fd, path] });
  };
  const seen: unknown[] = [];
  // poll forever, woken by a send.
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  let t = yield* act('poll', 'send', a);
  r.poll = yield* pl(sys, [[b, IN]], INFTIM);
  seen.push(yield* sys.join(t));
  yield* drain(sys, b, 1);
  // poll with 10 s to go, woken by a send.
  t = yield* act('poll', 'send', a);
  r.pollTimed = yield* pl(sys, [[b, IN]], 10000);
  seen.push(yield* sys.join(t));
  yield* drain(sys, b, 1);
  // Two threads poll one socket: the second record collides (SI_COLL), and one send
  // wakes both (nselcoll moves, every selector wakes and scans again).
  const ncoll = Atomics.load(k32, nselcoll_word());
  const t2 = yield* sys.thread(poller, { cpu: other, args: [b] });
  t = yield* sys.thread(actor, { cpu: other, args: [[me, t2], 'poll', 'send', a, ''] });
  r.collision = [yield* pl(sys, [[b, IN]], INFTIM), yield* sys.join(t2), Atomics.load(k32, nselcoll_word()) > ncoll];
  seen.push(yield* sys.join(t));
  yield* drain(sys, b, 1);
  // select forever on a listener, woken by a connect.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, '/wake.l');
  yield* sys.listen(l, 4);
  t = yield* act('select', 'connect', -1, '/wake.l');
  r.select = yield* sys.select(l + 1, [l], null, null, null);
  const [seenc, cfd] = (yield* sys.join(t)) as [boolean, number];
  seen.push([seenc, -1]);
  const s = yield* sys.accept(l);
  // kevent forever, woken by the peer's close: EV_EOF.
  const kq = yield* sys.kqueue();
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.kevent(kq, [{ ident: c, filter: EVFILT_READ, flags: EV_ADD, udata: 3 }], 0);
  t = yield* act('kqread', 'close', d);
  r.kevent = (yield* sys.kevent(kq, null, 4, null)).map((e) => [e.ident === c, e.filter, e.flags, e.fflags, e.data, e.udata]);
  seen.push(yield* sys.join(t));
  // kevent with a timeout, woken by a send.
  const [g, h] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.kevent(kq, [
    { ident: c, filter: EVFILT_READ, flags: EV_DELETE },
    { ident: h, filter: EVFILT_READ, flags: EV_ADD | EV_CLEAR },
  ], 0);
  t = yield* act('kqread', 'send', g);
  r.keventTimed = (yield* sys.kevent(kq, null, 4, { sec: 10, nsec: 0 })).map((e) => [e.ident === h, e.data]);
  seen.push(yield* sys.join(t));
  // The polled descriptor closed by the other CPU: poll wakes to POLLNVAL, select to EBADF.
  const [e, f] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  t = yield* act('poll', 'close', e);
  r.pollClosed = yield* pl(sys, [[e, IN]], INFTIM);
  seen.push(yield* sys.join(t));
  const [e2, f2] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  t = yield* act('select', 'close', e2);
  r.selectClosed = yield* attempt(sys.select(e2 + 1, [e2], null, null, null));
  seen.push(yield* sys.join(t));
  // A signal: EINTR, and not restarted even with SA_RESTART.
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  let handled = 0;
  yield* sys.sigaction(SIGUSR1, () => { handled++; });
  t = yield* act('poll', 'kill');
  r.eintr = [yield* attempt(sys.poll([{ fd: y, events: IN }], INFTIM))];
  seen.push(yield* sys.join(t));
  yield* sys.sigaction(SIGUSR1, () => { handled++; }, SA_RESTART);
  t = yield* act('select', 'kill');
  (r.eintr as unknown[]).push(yield* attempt(sys.select(y + 1, [y], null, null, null)));
  seen.push(yield* sys.join(t));
  const kq2 = yield* sys.kqueue();
  t = yield* act('kqread', 'kill');
  (r.eintr as unknown[]).push(yield* attempt(sys.kevent(kq2, null, 1, null)));
  seen.push(yield* sys.join(t));
  r.handled = handled;
  r.seen = seen;
  for (const fd of [a, b, l, cfd, s, kq, c, g, h, f, f2, x, y, kq2]) yield* sys.close(fd);
  yield* sys.unlink('/wake.l');
  return r;
}
