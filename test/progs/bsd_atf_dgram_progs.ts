/*
 * Programs for test/bsd_atf_dgram.test.ts: FreeBSD's ATF tests of AF_LOCAL datagram sockets
 *   tests/sys/kern/unix_dgram.c          (basic, one2many, event),
 *   tests/sys/kern/socket_msg_trunc.c    (recv_trunc_afunix_dgram, and the recvmsg half of
 *                                         recvmsg_trunc_ktrace_uio),
 *   tests/sys/kern/unix_passfd_dgram.c   (unix_passfd_test.c built with TEST_PROTO SOCK_DGRAM),
 * ported to this socket layer.  Each ATF case is one program (or one step of one) under its
 * ATF name; the programs return what the cases check (counts, errno names, flags, which
 * datagram came out) and the test compares that with what DragonFly 2008 gives.
 *
 * Where DragonFly 2008 (SEED, uipc_socket.c v1.55, uipc_usrreq.c v1.44, uipc_syscalls.c)
 * differs from the FreeBSD 14 the tests were written for:
 *  - A receive buffer takes a datagram while ssb_space(so_rcv) > 0 (ssb_appendaddr), so one
 *    datagram overshoots hiwat: fill() leaves room for one more, and ENOBUFS comes one send
 *    later than FreeBSD expects.  cc counts the sender's address (16 bytes, sun_noname) and
 *    control mbufs, so FIONREAD and EVFILT_READ's data include them (FreeBSD 14 counts data).
 *  - A receive buffer is one FIFO: none of FreeBSD 14's per-sender queues, so no "connected
 *    before sendto", no "casual sender before flooder", and closing a sender leaves its
 *    datagrams queued.
 *  - listen(2) on a bound datagram socket succeeds (uipc_listen checks only for a vnode) and
 *    sets SO_ACCEPTCONN: accept() then waits for connections that never come (non-blocking
 *    here: EAGAIN), and connect(2) on it is EOPNOTSUPP (soconnect), so the self-connect of
 *    one2many fails and its send is EDESTADDRREQ.
 *  - recv's MSG_TRUNC is only an output flag: kern_recvmsg hands any flags to soreceive,
 *    which ignores MSG_TRUNC on the way in and ORs its own flags into the caller's, so recv
 *    returns the bytes copied, not the datagram's length.
 *  - sosend refuses an atomic send whose data plus control exceeds so_snd's space (hiwat
 *    2048 for a datagram socket): maxdgram bytes with SCM_RIGHTS is EWOULDBLOCK when
 *    non-blocking, before the receiver is looked at.
 *  - Control is one mbuf of at most MLEN (180) bytes (sys_sendmsg: EINVAL past it): 42
 *    descriptors per message, not MAXFDS; one message per send (unp_internalize: EINVAL);
 *    no SCM_TIMESTAMP (EINVAL), so unix_dgram's event sends SCM_CREDS instead.
 *  - A receiver without room in its descriptor table gets EMSGSIZE (unp_externalize;
 *    FreeBSD 14: EMFILE), and the datagram is dropped with it (soreceive's PR_ATOMIC
 *    sbdroprecord of what the error left).
 *  - DragonFly 2008's sys_recvmsg sets MSG_CTRUNC in its copy of the msghdr but copies
 *    the soreceive flags out, so a C caller never saw MSG_CTRUNC: a bug the simulation
 *    does not reproduce (it reports MSG_CTRUNC, as the brief and FreeBSD do).
 *  - The descriptors of an SCM_RIGHTS message that did not fit the control room stay
 *    installed in DragonFly 2008; the simulation closes them on purpose, as FreeBSD does
 *    (README, "Descriptor passing"), and truncated_rights asserts that, saying so.
 *
 * Left out:
 *  - socket_msg_trunc.c's AF_INET and AF_INET6 cases, and the ktrace half of
 *    recvmsg_trunc_ktrace_uio: no INET and no ktrace(2) here.
 *  - unix_passfd: simple_send_fd_msg_cmsg_cloexec (no MSG_CMSG_CLOEXEC in DragonFly 2008),
 *    LOCAL_CREDS in rights_creds_payload (none in 2008: the case runs without it),
 *    copyout_rights_error (a bad msg_control pointer cannot be expressed through Sys).
 *
 * Translations: setitimer's SIGALRM becomes a thread on the other CPU that posts SIGALRM
 * once the receiver is seen asleep in its recv (wait_asleep); every blocking receive has
 * SO_RCVTIMEO 5 s, so a lost wake-up ends in EAGAIN, never a hang.  The passed "tempfile"
 * is an unconnected AF_LOCAL stream socket (one file; fstat's st_dev/st_ino tell it is the
 * same file).  getnfds counts open descriptors with F_GETFD; sysctlbyname is sys.sysctl.
 * Waits for unp_gc are bounded polls of net.local.inflight and kern.openfiles.
 */
import {
  Sys, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_RCVTIMEO, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT,
  MSG_CTRUNC, F_SETFL, O_NONBLOCK, SIGALRM, SHUT_RD, FIONREAD, RLIMIT_NOFILE, SCM_RIGHTS, SCM_TIMESTAMP,
  SCM_CREDS, CMSGCRED_BYTES, CMSG_LEN, CMSG_SPACE, EVFILT_READ, EV_ADD, NOTE_LOWAT, scm_rights, cmsg_rights, S_IFMT,
  type Cmsg,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep, count_or_code } from './common.js';
import { gc_settle, inflight, nfds, openfiles, samefile } from './rights_common.js';

const enc = new TextEncoder();

/* The bound on a wait the ATF test makes without one. */
const BOUND = { sec: 5, usec: 0 };
function* bounded(sys: Sys, fd: number): Blocking<void> {
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, BOUND);
}

/* sizeof(struct sockaddr): what FreeBSD's fill() allows per datagram for the address. */
const SOCKADDR_BYTES = 16;

/*
 * unix_dgram.c's fill(): send len-byte datagrams while sent + len + sizeof(struct sockaddr)
 * < net.local.dgram.recvspace.  The number of sends that returned len.
 */
function* fill(sys: Sys, fd: number, buf: Uint8Array, len: number): Blocking<number> {
  const recvspace = yield* sys.sysctl('net.local.dgram.recvspace');
  let ok = 0;
  for (let sent = 0; sent + len + SOCKADDR_BYTES < recvspace; sent += len + SOCKADDR_BYTES) {
    if ((yield* count_or_code(sys.send(fd, buf, 0, len))) === len) ok++;
  }
  return ok;
}

/* Sends of len bytes until one fails (at most n): each count, then the errno name. */
function* sends_until_error(sys: Sys, fd: number, buf: Uint8Array, len: number, n = 8): Blocking<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const r = yield* count_or_code(sys.send(fd, buf, 0, len));
    out.push(r);
    if (typeof r === 'string') break;
  }
  return out;
}

/* ---------------------------------------------------------------- unix_dgram.c basic */

/*
 * The setitimer stand-in: once thread tid of process pid sleeps in soreceive's ssb_wait
 * ('sbwait'), post SIGALRM to the process.  Whether it was seen asleep (no signal if not:
 * the receive then ends with its SO_RCVTIMEO, EAGAIN).
 */
export function* dg_alarm(sys: Sys, pid: number, tid: number): Blocking<boolean> {
  const asleep = yield* wait_asleep(sys, pid, tid, 'sbwait');
  if (asleep) yield* sys.kill(pid, SIGALRM);
  return asleep;
}

/*
 * basic: fd[0] sends, fd[1] receives.  EMSGSIZE past maxdgram; MSG_PEEK whole and
 * truncated (recvmsg's flags MSG_PEEK|MSG_TRUNC); a whole receive (flags 0); a truncated
 * one (MSG_TRUNC); an empty socket blocks until SIGALRM (EINTR, the handler ran);
 * MSG_DONTWAIT and O_NONBLOCK give EAGAIN; fill, then sends until ENOBUFS; ENOBUFS with
 * O_NONBLOCK too; the peer closed: ECONNRESET once (so_error), then EDESTADDRREQ.
 */
export function* dg_basic(sys: Sys, other: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const maxdgram = yield* sys.sysctl('net.local.dgram.maxdgram');
  r.maxdgram = maxdgram;
  const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* bounded(sys, s1);
  const buf = new Uint8Array(maxdgram + 1);
  r.send_too_big = yield* count_or_code(sys.send(s0, buf, 0, maxdgram + 1));
  r.send_max = yield* count_or_code(sys.send(s0, buf, 0, maxdgram));
  r.peek_full = yield* count_or_code(sys.recv(s1, buf, MSG_PEEK, maxdgram));
  const pt = yield* sys.recvmsg(s1, buf, { flags: MSG_PEEK, len: 42 });
  r.peek_trunc = [pt.bytes, pt.flags];
  const full = yield* sys.recvmsg(s1, buf, { len: maxdgram });
  r.recv_full = [full.bytes, full.flags];
  r.send_max2 = yield* count_or_code(sys.send(s0, buf, 0, maxdgram));
  const half = yield* sys.recvmsg(s1, buf, { len: maxdgram / 2 });
  r.recv_trunc = [half.bytes, half.flags, yield* sys.ioctl(s1, FIONREAD)];
  // Empty: block, until the "timer" fires.
  let timer_done = 0;
  yield* sys.sigaction(SIGALRM, () => { timer_done = 1; });
  const t = yield* sys.thread(dg_alarm, { cpu: other, args: [yield* sys.getpid(), yield* sys.gettid()] });
  const blocked = yield* count_or_code(sys.recv(s1, buf, 0, maxdgram));
  const done = timer_done;
  r.empty_block = [blocked, done, yield* sys.join(t)];
  r.dontwait = yield* attempt(sys.recv(s1, buf, MSG_DONTWAIT, maxdgram));
  yield* sys.fcntl(s1, F_SETFL, O_NONBLOCK);
  r.nonblock = yield* attempt(sys.recv(s1, buf, 0, maxdgram));
  // Full socket.
  r.fill = yield* fill(sys, s0, buf, maxdgram);
  r.full = yield* sends_until_error(sys, s0, buf, maxdgram);
  r.full_cc = yield* sys.ioctl(s1, FIONREAD);
  yield* sys.fcntl(s0, F_SETFL, O_NONBLOCK);
  r.full_nonblock = yield* count_or_code(sys.send(s0, buf, 0, maxdgram));
  // Remote side closed.
  yield* sys.close(s1);
  r.peer_closed = [yield* count_or_code(sys.send(s0, buf, 0, maxdgram)), yield* count_or_code(sys.send(s0, buf, 0, maxdgram))];
  yield* sys.close(s0);
  return r;
}

/* ---------------------------------------------------------------- unix_dgram.c one2many */

const BUFSIZE = 1024;
const FLOODER = 13, GOODBOY = 42, NOTCONN = 66;
const TAGS: Record<number, string> = { [FLOODER]: 'FLOODER', [GOODBOY]: 'GOODBOY', [NOTCONN]: 'NOTCONN' };

function tagged(tag: number): Uint8Array {
  const b = new Uint8Array(BUFSIZE);
  b[0] = tag;
  return b;
}

/* One receive of up to BUFSIZE: [whose datagram (its first byte), bytes], or the errno name. */
function* rcv(sys: Sys, fd: number, flags = 0): Blocking<unknown> {
  const buf = new Uint8Array(BUFSIZE);
  const n = yield* count_or_code(sys.recv(fd, buf, flags));
  return typeof n === 'string' ? n : [TAGS[buf[0]] ?? buf[0], n];
}

/*
 * one2many: one socket bound at path, three connected to it, a fourth (two) that uses
 * sendto.  Each step of the ATF case under its comment's name, with what it gave.
 */
export function* dg_one2many(sys: Sys, path: string): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const goodboy = tagged(GOODBOY), flooder = tagged(FLOODER), notconn = tagged(NOTCONN);
  const one = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(one, path);
  yield* bounded(sys, one);
  r.listen = yield* attempt(sys.listen(one, -1));
  const many: number[] = [];
  const conns: string[] = [];
  for (let i = 0; i < 3; i++) {
    many.push(yield* sys.socket(AF_LOCAL, SOCK_DGRAM));
    conns.push(yield* attempt(sys.connect(many[i], path)));
  }
  r.connect = conns;
  // accept(2): blocking, it would wait for a connection; non-blocking, the predicate's EWOULDBLOCK.
  yield* sys.fcntl(one, F_SETFL, O_NONBLOCK);
  r.accept = yield* attempt(sys.accept(one));
  yield* sys.fcntl(one, F_SETFL, 0);
  // Connecting a bound socket to self.
  r.self_connect = yield* attempt(sys.connect(one, path));
  r.self_send = yield* count_or_code(sys.send(one, new Uint8Array(BUFSIZE), 0, 42));
  r.self_recv = yield* rcv(sys, one, MSG_DONTWAIT);     // the ATF recv would wait: nothing was sent
  // Connected priority over sendto(2).
  const two = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  r.prio_sendto = yield* count_or_code(sys.sendto(two, notconn, 0, path));
  r.prio_send = yield* count_or_code(sys.send(many[1], goodboy));
  r.prio_recv = [yield* rcv(sys, one), yield* rcv(sys, one)];
  // Casual sender priority over a flooder.
  r.flood_fill = yield* fill(sys, many[0], flooder, BUFSIZE);
  r.flood_send = yield* count_or_code(sys.send(many[0], flooder));
  r.flood_goodboy = yield* count_or_code(sys.send(many[1], goodboy));
  r.flood_recv = [yield* rcv(sys, one), yield* rcv(sys, one)];
  // Once seen, a message can't be deprioritized by any other message.
  r.seen = [
    yield* rcv(sys, one, MSG_PEEK),
    yield* count_or_code(sys.send(many[1], goodboy)),
    yield* rcv(sys, one, MSG_PEEK),
    yield* rcv(sys, one),
    yield* rcv(sys, one),
  ];
  // Disconnect in presence of data from not connected.
  r.disc_sendto = yield* count_or_code(sys.sendto(two, notconn, 0, path));
  yield* sys.close(many[0]);
  r.disc_recv = [yield* rcv(sys, one), yield* rcv(sys, one, MSG_DONTWAIT)];
  // Disconnect in absence of data from not connected.
  r.disc2_send = yield* count_or_code(sys.send(many[1], goodboy));
  yield* sys.close(many[1]);
  r.disc2_recv = [yield* rcv(sys, one), yield* rcv(sys, one, MSG_DONTWAIT)];
  // Check that nothing leaks on close(2).
  const small = new Uint8Array(BUFSIZE);
  r.leak = [
    yield* count_or_code(sys.send(many[2], small, 0, 42)),
    yield* count_or_code(sys.send(many[2], small, 0, 42)),
    yield* count_or_code(sys.recv(one, small, MSG_PEEK)),
    yield* count_or_code(sys.sendto(two, notconn, 0, path, 42)),
    yield* sys.ioctl(one, FIONREAD),
  ];
  yield* sys.close(one);
  yield* sys.close(two);
  yield* sys.close(many[2]);
  yield* sys.unlink(path);
  return r;
}

/* ---------------------------------------------------------------- unix_dgram.c event */

/*
 * test42: what FIONREAD, select, kevent (EVFILT_READ, NOTE_LOWAT 41) and aio_read (50
 * bytes) see on a socket with one 42-byte datagram queued.  The ATF waits without a
 * timeout; here each has BOUND.
 */
function* test42(sys: Sys, fd: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  r.fionread = yield* sys.ioctl(fd, FIONREAD);
  const sel = yield* sys.select(fd + 1, [fd], null, null, BOUND);
  r.select = [sel.n, sel.readfds.includes(fd)];
  const kq = yield* sys.kqueue();
  yield* sys.kevent(kq, [{ ident: fd, filter: EVFILT_READ, flags: EV_ADD, fflags: NOTE_LOWAT, data: 41 }]);
  const evs = yield* sys.kevent(kq, null, 1, { sec: 5, nsec: 0 });
  r.kevent = [evs.length, evs[0]?.filter === EVFILT_READ, evs[0]?.data];
  yield* sys.close(kq);
  const buf = new Uint8Array(50);
  const h = yield* sys.aio_read(fd, buf, 50);
  const waited = yield* attempt(sys.aio_suspend([h], 5000));
  r.aio = waited === 'ok' ? yield* sys.aio_return(h) : waited;
  return r;
}

/*
 * event: a 42-byte datagram with control, on a connected pair, then one sent with sendto
 * to a bound socket, and what the event mechanisms report.  The ATF control is an empty
 * SCM_TIMESTAMP, which DragonFly's unp_internalize refuses (EINVAL, nothing queued); the
 * connected half then sends SCM_CREDS, the control AF_LOCAL takes without descriptors.
 */
export function* dg_event(sys: Sys, path: string): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const buf = new Uint8Array(42);
  let [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const stamp: Cmsg = { level: SOL_SOCKET, type: SCM_TIMESTAMP, data: new Uint8Array(0) };
  r.timestamp = [yield* count_or_code(sys.sendmsg(a, { buf, control: [stamp] })), yield* sys.ioctl(b, FIONREAD)];
  const creds: Cmsg = { level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(CMSGCRED_BYTES) };
  r.connected_send = yield* count_or_code(sys.sendmsg(a, { buf, control: [creds] }));
  r.connected = yield* test42(sys, b);
  yield* sys.close(a);
  yield* sys.close(b);
  // Not-connected send.
  [a, b] = [yield* sys.socket(AF_LOCAL, SOCK_DGRAM), yield* sys.socket(AF_LOCAL, SOCK_DGRAM)];
  yield* sys.bind(a, path);
  r.unconnected_send = yield* count_or_code(sys.sendto(b, buf, 0, path));
  r.unconnected = yield* test42(sys, a);
  yield* sys.close(a);
  yield* sys.close(b);
  yield* sys.unlink(path);
  return r;
}

/* ---------------------------------------------------------------- socket_msg_trunc.c */

/*
 * recv_trunc_afunix_dgram (check_recvmsg): per size, sendto a bound socket, then
 * recv(NULL, 0, MSG_PEEK|MSG_TRUNC), recv(1 byte, MSG_PEEK|MSG_TRUNC), recvmsg(1 byte,
 * MSG_PEEK|MSG_TRUNC) for its flags out, recv(1 byte, MSG_TRUNC), and FIONREAD after it.
 * [size, sent, r0, r1, [recvmsg bytes, flags], r2, left].
 */
export function* mt_recv_trunc(sys: Sys, path: string): Blocking<unknown[]> {
  const out: unknown[] = [];
  const ss = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(ss, path);
  yield* bounded(sys, ss);
  const cs = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const buf = new Uint8Array(9000).fill(0xff);
  const tbuf = new Uint8Array(1);
  for (const sz of [80, 255, 256, 1024, 2000]) {
    const sent = yield* count_or_code(sys.sendto(cs, buf, 0, path, sz));
    const r0 = yield* count_or_code(sys.recv(ss, new Uint8Array(0), MSG_PEEK | MSG_TRUNC));
    const r1 = yield* count_or_code(sys.recv(ss, tbuf, MSG_PEEK | MSG_TRUNC));
    const m = yield* count_or_code(sys.recvmsg(ss, tbuf, { flags: MSG_PEEK | MSG_TRUNC }));
    const r2 = yield* count_or_code(sys.recv(ss, tbuf, MSG_TRUNC));
    out.push([sz, sent, r0, r1, typeof m === 'string' ? m : [m.bytes, m.flags], r2, yield* sys.ioctl(ss, FIONREAD)]);
    // Cleanup, not part of the case: whatever the receives above left queued.
    for (let i = 0; i < 4 && (yield* sys.ioctl(ss, FIONREAD)) > 0; i++) yield* attempt(sys.recv(ss, buf, MSG_DONTWAIT));
  }
  yield* sys.close(cs);
  yield* sys.close(ss);
  yield* sys.unlink(path);
  return out;
}

/*
 * recvmsg_trunc_ktrace_uio, without ktrace: a 128-byte datagram over a socketpair read by
 * recvmsg into 127 bytes with MSG_TRUNC.  [sent, bytes, MSG_TRUNC in flags, FIONREAD after].
 */
export function* mt_recvmsg_trunc(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* bounded(sys, b);
  const buf = new Uint8Array(128);
  const sent = yield* sys.send(a, buf);
  const m = yield* count_or_code(sys.recvmsg(b, buf, { flags: MSG_TRUNC, len: 127 }));
  const left = yield* sys.ioctl(b, FIONREAD);
  yield* sys.close(a);
  yield* sys.close(b);
  return typeof m === 'string' ? [sent, m, left] : [sent, m.bytes, (m.flags & MSG_TRUNC) !== 0, left];
}

/* ---------------------------------------------------------------- unix_passfd_dgram.c */

/* tempfile: a file to pass; an unconnected stream socket (one file). */
function* tempfile(sys: Sys): Blocking<number> { return yield* sys.socket(AF_LOCAL, SOCK_STREAM); }

/* sendfd_payload: payload with one SCM_RIGHTS descriptor; the count, or the errno name. */
function* sendfd_payload(sys: Sys, via: number, fd: number, payload: Uint8Array): Blocking<number | string> {
  return yield* count_or_code(sys.sendmsg(via, { buf: payload, control: [scm_rights([fd])] }));
}

function* sendfd(sys: Sys, via: number, fd: number): Blocking<number | string> {
  return yield* sendfd_payload(sys, via, fd, new Uint8Array(1));
}

/* The descriptors of the first SCM_RIGHTS message, or []. */
function rights_of(control: Cmsg[]): number[] {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS);
  return c === undefined ? [] : cmsg_rights(c.data);
}

/*
 * recvfd_payload: buflen bytes and CMSG_SPACE(int) of control.  [bytes, the descriptor
 * (-1 if no single-fd SCM_RIGHTS message came), MSG_TRUNC set].
 */
function* recvfd_payload(sys: Sys, s: number, buflen: number): Blocking<[number, number, boolean]> {
  const r = yield* sys.recvmsg(s, new Uint8Array(buflen), { controlLen: CMSG_SPACE(4) });
  const c = r.control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS && CMSG_LEN(x.data.length) === CMSG_LEN(4));
  const fd = c === undefined ? -1 : cmsg_rights(c.data)[0];
  return [r.bytes, fd, (r.flags & MSG_TRUNC) !== 0];
}

function* recvfd(sys: Sys, s: number): Blocking<[number, number, boolean]> { return yield* recvfd_payload(sys, s, 1); }

function* closeall(sys: Sys, fds: number[]): Blocking<void> {
  for (const fd of fds) yield* sys.close(fd);
}

function* dgram_pair(sys: Sys): Blocking<[number, number]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* bounded(sys, b);
  yield* bounded(sys, a);
  return [a, b];
}

/*
 * simple_send_fd, send_and_close, send_and_cancel, two_files.  Each: what was sent, what
 * came back ([bytes, a new descriptor, MSG_TRUNC]), that it is the same file; for
 * send_and_cancel what stays in flight and open once both ends are closed.
 */
export function* pfd_basic(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  // simple_send_fd: the sender keeps its reference.
  let [a, b] = yield* dgram_pair(sys);
  let put = yield* tempfile(sys);
  let sent = yield* sendfd(sys, a, put);
  let [n, get, trunc] = yield* recvfd(sys, b);
  r.simple_send_fd = [sent, n, get >= 0 && get !== put, trunc, yield* samefile(sys, put, get)];
  yield* closeall(sys, [put, get, a, b]);
  // send_and_close: only the message holds the file while it is queued.
  [a, b] = yield* dgram_pair(sys);
  put = yield* tempfile(sys);
  const before = yield* sys.fstat(put);
  sent = yield* sendfd(sys, a, put);
  yield* sys.close(put);
  [n, get, trunc] = yield* recvfd(sys, b);
  const after = get >= 0 ? yield* sys.fstat(get) : null;
  r.send_and_close = [sent, n, get >= 0, trunc, after !== null && after.dev === before.dev && after.ino === before.ino];
  yield* closeall(sys, get >= 0 ? [get, a, b] : [a, b]);
  // send_and_cancel: the pair closes with the right queued.
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  [a, b] = yield* dgram_pair(sys);
  put = yield* tempfile(sys);
  sent = yield* sendfd(sys, a, put);
  yield* sys.close(put);
  const queued = (yield* inflight(sys)) - in0;
  yield* closeall(sys, [a, b]);
  r.send_and_cancel = [sent, queued, ...(yield* gc_settle(sys, in0, of0))];
  // two_files: received in order, each the file sent.
  [a, b] = yield* dgram_pair(sys);
  const p1 = yield* tempfile(sys), p2 = yield* tempfile(sys);
  const st1 = yield* sys.fstat(p1), st2 = yield* sys.fstat(p2);
  const sends = [yield* sendfd(sys, a, p1), yield* sendfd(sys, a, p2)];
  yield* closeall(sys, [p1, p2]);
  const [, g1] = yield* recvfd(sys, b);
  const [, g2] = yield* recvfd(sys, b);
  const gt1 = yield* sys.fstat(g1), gt2 = yield* sys.fstat(g2);
  r.two_files = [sends, gt1.ino === st1.ino && gt1.dev === st1.dev, gt2.ino === st2.ino && gt2.dev === st2.dev, st1.ino !== st2.ino];
  yield* closeall(sys, [g1, g2, a, b]);
  r.inflight = yield* inflight(sys);
  return r;
}

/*
 * send_and_shutdown: shutdown(SHUT_RD) on the receiver flushes its buffer (sorflush), and
 * dom_dispose closes the queued right's file at once.  [files the message holds after the
 * sender's close, files after shutdown, inflight].
 */
export function* pfd_shutdown(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* dgram_pair(sys);
  const put = yield* tempfile(sys);
  const sent = yield* sendfd(sys, a, put);
  const nfiles = yield* openfiles(sys);
  yield* sys.close(put);
  const held = (yield* openfiles(sys)) - nfiles;
  yield* sys.shutdown(b, SHUT_RD);
  const after = (yield* openfiles(sys)) - nfiles;
  const inq = yield* inflight(sys);
  yield* closeall(sys, [a, b]);
  return [sent, held, after, inq];
}

/*
 * send_a_lot, with DragonFly's limit: 43 descriptors (CMSG_LEN 184 > MLEN) are refused
 * by sys_sendmsg, 42 go and all come back; then with RLIMIT_NOFILE at the current count,
 * a one-descriptor datagram's receive fails and takes the datagram with it.
 */
export function* pfd_send_a_lot(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [a, b] = yield* dgram_pair(sys);
  const one = new Uint8Array(1);
  r.too_many = yield* count_or_code(sys.sendmsg(a, { buf: one, control: [scm_rights(new Array<number>(43).fill(a))] }));
  r.max = yield* count_or_code(sys.sendmsg(a, { buf: one, control: [scm_rights(new Array<number>(42).fill(a))] }));
  let nf = yield* nfds(sys);
  const got = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(42 * 4) });
  const fds = rights_of(got.control);
  r.max_recv = [got.bytes, fds.length, (yield* nfds(sys)) - nf];
  yield* closeall(sys, fds);
  // Limit our process open files and try to receive a single descriptor.
  const lim = yield* sys.getrlimit(RLIMIT_NOFILE);
  nf = yield* nfds(sys);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: nf, max: lim.max });
  const hard = (yield* sys.getrlimit(RLIMIT_NOFILE)).max;
  r.one = yield* sendfd(sys, a, a);
  r.no_room = yield* count_or_code(sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(4) }));
  r.no_room_after = [(yield* nfds(sys)) - nf, yield* inflight(sys)];
  const next = yield* count_or_code(sys.recvmsg(b, new Uint8Array(1), { flags: MSG_DONTWAIT, controlLen: CMSG_SPACE(4) }));
  r.next = typeof next === 'string' ? next : [next.bytes, next.control.length];
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: Math.min(lim.cur, hard), max: hard });
  yield* closeall(sys, [a, b]);
  r.inflight = yield* inflight(sys);
  return r;
}

/*
 * send_overflow: fill(fd[0]) (non-blocking, maxdgram-sized datagrams while they fit
 * recvspace), then a maxdgram payload with one right: refused in sosend, since data plus
 * control exceed so_snd's hiwat.  Beyond the ATF case, to reach the receiver's overflow:
 * a payload 16 bytes shorter (exactly hiwat with the control) is taken while the
 * receiver has space left, and the next is ENOBUFS with its right disposed of.  Then what
 * stays open and in flight after close(putfd), and after the pair closes.
 */
export function* pfd_send_overflow(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const sendspace = yield* sys.sysctl('net.local.dgram.maxdgram');
  const buf = new Uint8Array(sendspace);
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  const [a, b] = yield* dgram_pair(sys);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  r.fill = yield* fill(sys, a, buf, sendspace);
  const nfiles = yield* openfiles(sys);
  const put = yield* tempfile(sys);
  r.overflow = yield* sendfd_payload(sys, a, put, buf);
  r.overflow_files = (yield* openfiles(sys)) - nfiles;
  const fit = buf.subarray(0, sendspace - CMSG_SPACE(4));
  r.fits = yield* sendfd_payload(sys, a, put, fit);
  r.refused = yield* sendfd_payload(sys, a, put, fit);
  r.refused_inflight = (yield* inflight(sys)) - in0;
  yield* sys.close(put);
  r.after_close = [(yield* openfiles(sys)) - nfiles, (yield* inflight(sys)) - in0];
  yield* closeall(sys, [a, b]);
  r.closed = yield* gc_settle(sys, in0, of0);
  return r;
}

/*
 * bundle: fd[0] sent over itself, closed, received back and closed; bundle_cancel: fd[0]
 * queued in both buffers (a cycle through its own), only unp_gc can free it.  Each ends
 * with nothing in flight and no file left open.
 */
export function* pfd_bundle(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  let [a, b] = yield* dgram_pair(sys);
  const sent = yield* sendfd(sys, a, a);
  yield* sys.close(a);
  const [n, get] = yield* recvfd(sys, b);
  if (get >= 0) yield* sys.close(get);
  yield* sys.close(b);
  r.bundle = [sent, n, get >= 0, ...(yield* gc_settle(sys, in0, of0))];
  [a, b] = yield* dgram_pair(sys);
  const sends = [yield* sendfd(sys, a, a), yield* sendfd(sys, b, a)];
  const inq = (yield* inflight(sys)) - in0;
  yield* closeall(sys, [a, b]);
  r.bundle_cancel = [sends, inq, ...(yield* gc_settle(sys, in0, of0))];
  return r;
}

/*
 * devfs_orphan: a character device (a dup of the console) in flight when both ends
 * close.  [sent, inflight and files left, the console still writes, its mode].
 */
export function* pfd_devfs_orphan(sys: Sys): Blocking<unknown[]> {
  const in0 = yield* inflight(sys), of0 = yield* openfiles(sys);
  const [a, b] = yield* dgram_pair(sys);
  const dev = yield* sys.dup(1);
  const sent = yield* sendfd(sys, a, dev);
  yield* sys.close(dev);
  yield* closeall(sys, [a, b]);
  const left = yield* gc_settle(sys, in0, of0);
  const wrote = yield* sys.write(1, enc.encode('devfs_orphan\n'));
  return [sent, ...left, wrote, ((yield* sys.fstat(1)).mode & S_IFMT).toString(8)];
}

/*
 * rights_creds_payload without LOCAL_CREDS: a non-blocking sender, a payload of
 * net.local.dgram.maxdgram bytes with one right (refused by sosend: data plus control
 * exceed hiwat), then the largest that fits (maxdgram - CMSG_SPACE(int)), received whole
 * with its descriptor.
 */
export function* pfd_rights_payload(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const sendspace = yield* sys.sysctl('net.local.dgram.maxdgram');
  const [a, b] = yield* dgram_pair(sys);
  const put = yield* tempfile(sys);
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  r.maxdgram = yield* sendfd_payload(sys, a, put, new Uint8Array(sendspace));
  const len = sendspace - CMSG_SPACE(4);
  r.fits = yield* sendfd_payload(sys, a, put, new Uint8Array(len));
  const [n, get, trunc] = yield* recvfd_payload(sys, b, len);
  r.received = [n, get >= 0, trunc, get >= 0 && (yield* samefile(sys, put, get))];
  yield* closeall(sys, get >= 0 ? [put, get, a, b] : [put, a, b]);
  return r;
}

/*
 * truncated_rights, cases 1-3.  Case 1: one descriptor, CMSG_LEN(0) of room.  Cases 2a-2c
 * send two SCM_RIGHTS messages in one sendmsg, which DragonFly's unp_internalize refuses.
 * Case 3: three descriptors in one message, room for one.  Per case: [sent, bytes
 * received, descriptors left in the table, in flight].  MSG_CTRUNC is reported apart
 * (flags below), one entry per receive.
 */
export function* pfd_truncated_rights(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [a, b] = yield* dgram_pair(sys);
  const put = yield* sys.dup(1);          // devnull(): a character device
  const nf = yield* nfds(sys);
  const one = new Uint8Array(1);
  const ctrunc: boolean[] = [];
  // Case 1.
  const s1 = yield* count_or_code(sys.sendmsg(a, { buf: one, control: [scm_rights([put])] }));
  const m1 = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_LEN(0) });
  ctrunc.push((m1.flags & MSG_CTRUNC) !== 0);
  r.case1 = [s1, m1.bytes, (yield* nfds(sys)) - nf, yield* inflight(sys)];
  // Cases 2a, 2b, 2c: two messages in one send.
  const two = [scm_rights([put]), scm_rights([put])];
  r.case2 = [
    yield* count_or_code(sys.sendmsg(a, { buf: one, control: two })),
    yield* count_or_code(sys.sendmsg(a, { buf: one, control: two })),
    yield* count_or_code(sys.sendmsg(a, { buf: one, control: two })),
    yield* sys.ioctl(b, FIONREAD),
  ];
  // Case 3.
  const s3 = yield* count_or_code(sys.sendmsg(a, { buf: one, control: [scm_rights([put, put, put])] }));
  const m3 = yield* sys.recvmsg(b, new Uint8Array(1), { controlLen: CMSG_SPACE(4) });
  ctrunc.push((m3.flags & MSG_CTRUNC) !== 0);
  r.case3 = [s3, m3.bytes, (yield* nfds(sys)) - nf, yield* inflight(sys)];
  r.ctrunc = ctrunc;
  // Whatever the receives installed (nothing, as the counts say) is closed with the rest.
  yield* closeall(sys, [...rights_of(m1.control), ...rights_of(m3.control), put, a, b]);
  return r;
}

/*
 * empty_rights_message: a 0-byte datagram carrying an empty SCM_RIGHTS message
 * (cmsg_len == sizeof(struct cmsghdr), which on i386 is CMSG_LEN(0): sent); an empty then
 * a one-descriptor message in one send (EINVAL: one message per send); received: the
 * first datagram; then a one-descriptor message alone, received with its descriptor.
 */
export function* pfd_empty_rights(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [a, b] = yield* dgram_pair(sys);
  const put = yield* tempfile(sys);
  const none = new Uint8Array(0);
  const room = CMSG_SPACE(0) + CMSG_SPACE(4);
  r.empty = yield* count_or_code(sys.sendmsg(a, { buf: none, control: [scm_rights([])] }));
  r.empty_then_one = yield* count_or_code(sys.sendmsg(a, { buf: none, control: [scm_rights([]), scm_rights([put])] }));
  const m1 = yield* sys.recvmsg(b, none, { controlLen: room });
  r.recv_empty = [m1.bytes, m1.control.map((c) => [c.type, c.data.length])];
  yield* closeall(sys, rights_of(m1.control));
  r.one = yield* count_or_code(sys.sendmsg(a, { buf: none, control: [scm_rights([put])] }));
  const m2 = yield* sys.recvmsg(b, none, { controlLen: room });
  const got = rights_of(m2.control);
  r.recv_one = [m2.bytes, m2.control.map((c) => [c.type, c.data.length]), got.length === 1 && (yield* samefile(sys, put, got[0]))];
  yield* closeall(sys, [...got, put, a, b]);
  r.inflight = yield* inflight(sys);
  return r;
}
