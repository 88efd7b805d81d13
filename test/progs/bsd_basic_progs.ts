/*
 * Programs for test/bsd_basic.test.ts: FreeBSD's socket regression tests
 * (tools/regression/sockets: sigpipe, zerosend, socketpair, shutdown, pr_atomic,
 * unix_socket, unix_bindconnect, reconnect) ported to this AF_LOCAL socket layer, each
 * check translated to what a DragonFly 2008 kernel does.  The TCP and UDP cases become
 * AF_LOCAL stream connections made through a listener (bind, listen, connect, accept) and
 * AF_LOCAL datagram sockets bound to paths, where the behaviour carries over; INET
 * itself does not exist here.  Sleeps that let TCP settle are not needed: an AF_LOCAL
 * connect completes inside the connect call.  Every program closes what it opened and
 * unlinks what it bound, and returns the outcomes the test asserts.
 *
 * Left out, because DragonFly 2008 had no such thing (sys/sys/socket.h at d6f338fca7
 * defines neither): the SO_NOSIGPIPE cases of sigpipe.c (and MSG_NOSIGNAL).
 */
import {
  Sys, SysError, AF_LOCAL, AF_INET, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOL_SOCKET,
  SO_TYPE, SO_ERROR, SO_REUSEADDR, SO_RCVTIMEO, MSG_DONTWAIT, MSG_TRUNC, SHUT_RD, SHUT_WR, SHUT_RDWR, SIGPIPE, SIG_DFL, SIG_IGN,
  RLIMIT_NOFILE, WIFSIGNALED, WTERMSIG, WIFEXITED, WEXITSTATUS,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const NOW = { sec: 0, usec: 0 };

/* Send text on fd and read it back at peer (one recv): what arrived. */
function* through(sys: Sys, fd: number, peer: number, text: string): Blocking<string> {
  yield* sys.send(fd, enc.encode(text));
  const buf = new Uint8Array(64);
  const n = yield* sys.recv(peer, buf);
  return dec.decode(buf.subarray(0, n));
}

/*
 * The AF_LOCAL stand-in for the tests' tcp_pair/setup_tcp: a listener bound at path, a
 * socket connected to it, and the connection accepted.  Returns [accepted, connector,
 * listener]; the path is unlinked at once (the sockets keep working).
 */
function* listener_pair(sys: Sys, path: string): Blocking<[number, number, number]> {
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, -1);               // a negative backlog means somaxconn (solisten)
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, path);
  const a = yield* sys.accept(l);
  yield* sys.unlink(path);
  return [a, c, l];
}

/*
 * The AF_LOCAL stand-in for zerosend's setup_udp: two datagram sockets bound to paths,
 * each connected to the other.  (A UDP socket may connect to a port nobody has bound
 * yet; an AF_LOCAL connect needs the path to exist, so both bind first.)
 */
function* bound_dgram_pair(sys: Sys, p1: string, p2: string): Blocking<[number, number]> {
  const s1 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const s2 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(s1, p1);
  yield* sys.bind(s2, p2);
  yield* sys.connect(s1, p2);
  yield* sys.connect(s2, p1);
  return [s1, s2];
}

/* ---- sigpipe.c ---- */

/*
 * A write or send on a socket whose sending side is shut down fails with EPIPE and
 * raises SIGPIPE (kern_sendmsg and dofilewrite send it on EPIPE).  sock2 shuts down its
 * own sending side, a handler notes the signal, and one byte goes out by send or by
 * write.  The setups: a stream socketpair (sigpipe.c's PF_LOCAL case), a stream
 * connection made through a listener (its TCP case), and, beyond the original, a
 * seqpacket and a datagram socketpair (sosend tests SS_CANTSENDMORE before anything
 * protocol-specific) and a stream whose peer has closed instead (unp_disconnect's
 * soisdisconnected sets CANTSENDMORE on the survivor).  Each entry: [errno, signalled].
 */
export function* sigpipe_cases(sys: Sys): Blocking<unknown[]> {
  let signalled = 0;
  yield* sys.sigaction(SIGPIPE, (sig) => { signalled = sig; });
  const out: unknown[] = [];
  const setups: Array<() => Blocking<[number, number, number[]]>> = [
    function* () { const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM); return [a, b, []]; },
    function* () { const [a, c, l] = yield* listener_pair(sys, '/sigpipe.sock'); return [a, c, [l]]; },
    function* () { const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_SEQPACKET); return [a, b, []]; },
    function* () { const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM); return [a, b, []]; },
  ];
  for (const setup of setups) {
    for (const op of ['send', 'write'] as const) {
      const [sock1, sock2, extra] = yield* setup();
      yield* sys.shutdown(sock2, SHUT_WR);
      signalled = 0;
      const one = new Uint8Array(1);
      const e = yield* attempt(op === 'send' ? sys.send(sock2, one) : sys.write(sock2, one));
      out.push([e, signalled === SIGPIPE]);
      for (const fd of [sock1, sock2, ...extra]) yield* sys.close(fd);
    }
  }
  // The peer closed: the survivor's writes are EPIPE and SIGPIPE too.
  for (const op of ['send', 'write'] as const) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* sys.close(a);
    signalled = 0;
    const one = new Uint8Array(1);
    const e = yield* attempt(op === 'send' ? sys.send(b, one) : sys.write(b, one));
    out.push([e, signalled === SIGPIPE]);
    yield* sys.close(b);
  }
  return out;
}

/* The child of sigpipe_dispositions: shut down, then write with SIGPIPE at `disp`. */
export function* sigpipe_child(sys: Sys, fd: number, disp: number): Blocking<number> {
  yield* sys.sigaction(SIGPIPE, disp === 1 ? SIG_IGN : SIG_DFL);
  yield* sys.shutdown(fd, SHUT_WR);
  const e = yield* attempt(sys.write(fd, new Uint8Array(1)));
  return e === 'EPIPE' ? 7 : 1;            // reached only when SIGPIPE did not kill us
}

/*
 * What sigpipe.c's handler stands in for: SIGPIPE's default action ends the writer (the
 * parent reaps a child killed by SIGPIPE), and an ignored SIGPIPE leaves only EPIPE (the
 * child goes on and exits 7).  Returns [killed by SIGPIPE, exit status when ignored].
 */
export function* sigpipe_dispositions(sys: Sys): Blocking<unknown[]> {
  const out: unknown[] = [];
  for (const disp of [0, 1]) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    const pid = yield* sys.fork(sigpipe_child, b, disp);
    yield* sys.close(b);
    const st = (yield* sys.waitpid(pid)).status;
    out.push(WIFSIGNALED(st) ? `signal ${WTERMSIG(st)}` : WIFEXITED(st) ? `exit ${WEXITSTATUS(st)}` : `status ${st}`);
    yield* sys.close(a);
  }
  return out;
}

/* ---- zerosend.c ---- */

/*
 * A zero-length send and a zero-length write succeed and return 0 on every kind of
 * socket: a stream and a datagram socketpair, a stream connection through a listener
 * (the TCP case: the connector is writable and has no exception, as setup_tcp checks
 * with select) and bound datagram sockets connected to each other (the UDP case).
 *
 * Beyond the original, what the receiver sees: DragonFly's sosend builds one empty mbuf
 * and calls pru_send even for resid 0 (uipc_socket.c, sosend's `do { ... } while
 * (resid)` runs once), so a datagram receiver gets an empty datagram, with the sender's
 * address, and a stream receiver gets nothing (sbcompress drops the empty mbuf).
 * Each case: [send, write, what the peer's first and second non-blocking receive give].
 */
export function* zerosend_cases(sys: Sys): Blocking<unknown[]> {
  const out: unknown[] = [];
  const buf = new Uint8Array(8);
  const peek = function* (fd: number): Blocking<unknown> {
    try {
      const [n, from] = yield* sys.recvfrom(fd, buf, MSG_DONTWAIT);
      return [n, from];
    } catch (e) {
      if (e instanceof SysError) return e.code;
      throw e;
    }
  };
  let sel: unknown = null;
  for (const kind of ['udsstream', 'udsdgram', 'stream-listener', 'dgram-bound']) {
    let fd0: number, fd1: number, paths: string[] = [];
    if (kind === 'udsstream') [fd0, fd1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    else if (kind === 'udsdgram') [fd0, fd1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
    else if (kind === 'stream-listener') {
      const [a, c, l] = yield* listener_pair(sys, '/zerosend.sock');
      const r = yield* sys.select(c + 1, null, [c], [c], NOW);
      sel = [r.writefds.includes(c), r.exceptfds.length];
      yield* sys.close(l);                 // setup_tcp closes the listener before the sends
      [fd0, fd1] = [c, a];
    } else {
      paths = ['/zerosend.1', '/zerosend.2'];
      [fd0, fd1] = yield* bound_dgram_pair(sys, paths[0], paths[1]);
    }
    const s = yield* sys.send(fd0, buf, 0, 0);
    const w = yield* sys.write(fd0, buf, 0);
    out.push([kind, s, w, yield* peek(fd1), yield* peek(fd1), yield* peek(fd1)]);
    yield* sys.close(fd0);
    yield* sys.close(fd1);
    for (const p of paths) yield* sys.unlink(p);
  }
  out.push(sel);
  return out;
}

/* ---- socketpair.c ---- */

/*
 * Datagram and stream pairs open and close; a pair in a domain with no pair support
 * fails; a failed socketpair allocates no descriptor.  Plus what socketpair.c's comment
 * asks for: data both ways, the right type on each end, and record boundaries on a
 * datagram pair (and none on a stream pair).
 */
export function* socketpair_cases(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const closes: string[] = [];
  for (const type of [SOCK_DGRAM, SOCK_STREAM]) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
    closes.push(yield* attempt(sys.close(a)), yield* attempt(sys.close(b)));
  }
  r.closes = closes;
  // FreeBSD answers EOPNOTSUPP here: its INET protocols exist and refuse pru_connect2.
  // This kernel has no INET domain, so socreate finds no protosw: EPROTONOSUPPORT, as
  // DragonFly 2008's socreate says for a domain it does not know.
  r.inet = [yield* attempt(sys.socketpair(AF_INET, SOCK_DGRAM)), yield* attempt(sys.socketpair(AF_INET, SOCK_STREAM))];
  // Descriptors are handed out lowest first.
  const fd1 = yield* sys.dup(0);
  const fd2 = yield* sys.dup(0);
  r.sequential = fd2 === fd1 + 1;
  // socketpair(..., NULL) is not expressible here (the pair comes back as a value).  The
  // intent, that a failed socketpair leaves no descriptor behind, is checked on the
  // failures this kernel can make: no protosw, and no room for the second descriptor
  // (kern_socketpair's free3 path gives the first reservation back).
  r.raw = yield* attempt(sys.socketpair(AF_LOCAL, SOCK_RAW));
  const fd3 = yield* sys.dup(0);
  r.noLeak = fd3 === fd2 + 1;
  const lim = yield* sys.getrlimit(RLIMIT_NOFILE);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: fd3 + 2, max: lim.max });   // exactly one slot free
  r.emfile = yield* attempt(sys.socketpair(AF_LOCAL, SOCK_STREAM));
  const fd4 = yield* sys.dup(0);
  r.emfileNoLeak = fd4 === fd3 + 1;
  for (const fd of [fd1, fd2, fd3, fd4]) yield* sys.close(fd);
  // Back to the old soft limit.  (Not the old hard limit: setting NOFILE clamped that to
  // maxfilesperproc, and raising it again takes root, as kern_setrlimit says.)
  const now = yield* sys.getrlimit(RLIMIT_NOFILE);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: Math.min(lim.cur, now.max), max: now.max });
  // Data both ways and the type of each end.
  const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  r.stream = [yield* through(sys, s0, s1, 'ping'), yield* through(sys, s1, s0, 'pong'),
    yield* sys.getsockopt(s0, SOL_SOCKET, SO_TYPE), yield* sys.getsockopt(s1, SOL_SOCKET, SO_TYPE)];
  // No boundaries in a stream: two sends, one receive.
  yield* sys.send(s0, enc.encode('ab'));
  yield* sys.send(s0, enc.encode('cde'));
  const buf = new Uint8Array(64);
  r.streamMerged = dec.decode(buf.subarray(0, yield* sys.recv(s1, buf)));
  yield* sys.close(s0);
  yield* sys.close(s1);
  const [d0, d1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  r.dgram = [yield* through(sys, d0, d1, 'ping'), yield* through(sys, d1, d0, 'pong'),
    yield* sys.getsockopt(d0, SOL_SOCKET, SO_TYPE), yield* sys.getsockopt(d1, SOL_SOCKET, SO_TYPE)];
  // Boundaries kept; a short buffer truncates the record (MSG_TRUNC) and drops its rest.
  yield* sys.send(d0, enc.encode('ab'));
  yield* sys.send(d0, enc.encode('cde'));
  yield* sys.send(d0, enc.encode('fgh'));
  const m1 = dec.decode(buf.subarray(0, yield* sys.recv(d1, buf)));
  const m2 = dec.decode(buf.subarray(0, yield* sys.recv(d1, buf)));
  const t = yield* sys.recvmsg(d1, buf, { len: 1 });
  r.dgramRecords = [m1, m2, t.bytes, (t.flags & MSG_TRUNC) !== 0, yield* attempt(sys.recv(d1, buf, MSG_DONTWAIT))];
  yield* sys.close(d0);
  yield* sys.close(d1);
  return r;
}

/* ---- shutdown.c ---- */

/*
 * shutdown(2)'s argument checks and the plain cases.  EBADF for a descriptor that is not
 * open; EINVAL for a `how` below SHUT_RD or above SHUT_RDWR; SHUT_RD then SHUT_WR on a
 * connected stream both succeed (shutdown.c's TCP connection becomes an AF_LOCAL one,
 * connected through a listener and not accepted, as there).
 *
 * Beyond the original, DragonFly 2008's answers where FreeBSD's later ones differ:
 *  - On a descriptor that is not a socket, kern_shutdown (kern_descrip.c) holds the file
 *    with holdfp, not holdsock, and calls fo_shutdown: a vnode (the console is a device
 *    vnode, specvnode_fileops) and a kqueue have nofo_shutdown, which is EOPNOTSUPP.
 *    FreeBSD's getsock says ENOTSOCK.
 *  - On an unconnected stream socket soshutdown does not look at the state: 0 (FreeBSD
 *    since 2010 says ENOTCONN).
 * And what the shutdowns do: after SHUT_RD the connector reads EOF at once; after
 * SHUT_WR the peer (the queued connection, accepted now) reads EOF too.
 */
export function* shutdown_cases(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(x);
  yield* sys.close(y);
  r.ebadf = [yield* attempt(sys.shutdown(x, SHUT_RDWR)), yield* attempt(sys.shutdown(40, SHUT_RDWR))];
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, '/shutdown.sock');
  yield* sys.listen(l, -1);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, '/shutdown.sock');
  r.how = [yield* attempt(sys.shutdown(c, SHUT_RD - 1)), yield* attempt(sys.shutdown(c, SHUT_RDWR + 1))];
  r.rd = yield* attempt(sys.shutdown(c, SHUT_RD));
  r.wr = yield* attempt(sys.shutdown(c, SHUT_WR));
  const buf = new Uint8Array(8);
  r.connectorEof = yield* sys.recv(c, buf);
  const a = yield* sys.accept(l);
  r.peerEof = yield* sys.recv(a, buf);
  const kq = yield* sys.kqueue();
  r.notSocket = [yield* attempt(sys.shutdown(0, SHUT_RDWR)), yield* attempt(sys.shutdown(kq, SHUT_RDWR))];
  const u = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.unconnected = [yield* attempt(sys.shutdown(u, SHUT_RD)), yield* attempt(sys.shutdown(u, SHUT_WR)),
    yield* attempt(sys.shutdown(u, SHUT_RDWR))];
  for (const fd of [u, kq, a, c, l]) yield* sys.close(fd);
  yield* sys.unlink('/shutdown.sock');
  return r;
}

/* ---- pr_atomic.c ---- */

/* pr_atomic's child: a datagram of "AAAAAAAAA" and its NUL to the bound path. */
export function* pr_atomic_child(sys: Sys, path: string): Blocking<number> {
  const conn = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const n = yield* sys.sendto(conn, enc.encode('AAAAAAAAA\0'), 0, path);
  yield* sys.close(conn);
  return n === 10 ? 0 : 1;
}

/*
 * PR kern/38495: a receive into a bad buffer on an atomic (datagram) socket must fail
 * without wrecking the receive buffer, and the socket must go on working.  The parent
 * binds, a forked child sends one datagram and exits (waitpid stands in for the
 * original's sleep(5)), the parent receives into bad buffers, and a bounded wait
 * (SO_RCVTIMEO) stands in for the original's alarm(5).
 *
 * What happens to the datagram differs, and is not a property a C test could see here:
 * this Sys refuses a buffer that is not a Uint8Array, or a length past its end, with
 * EFAULT before the kernel runs (a copyout cannot fault in the simulation), so the
 * datagram stays queued and a good receive gets it.  A BSD kernel finds the fault in
 * soreceive's uiomove, after the record's address mbuf is unlinked: FreeBSD since the
 * fix drops the record (so the original's second recvfrom blocks), and DragonFly 2008
 * (uipc_socket.c soreceive: `error = uiomove(...); if (error) goto release;`) still left
 * the record without its MT_SONAME, so its next receive hit KASSERT "receive 1a".
 */
export function* pr_atomic_case(sys: Sys): Blocking<unknown[]> {
  const path = '/test_socket';
  const s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* attempt(sys.unlink(path));
  yield* sys.bind(s, path);
  const pid = yield* sys.fork(pr_atomic_child, path);
  const st = (yield* sys.waitpid(pid)).status;
  const bad = [
    yield* attempt(sys.recvfrom(s, null as unknown as Uint8Array, 0, 1)),
    yield* attempt(sys.recvfrom(s, new Uint8Array(0), 0, 1)),
    yield* attempt(sys.recv(s, {} as unknown as Uint8Array)),
  ];
  const buf = new Uint8Array(32);
  const [n, from] = yield* sys.recvfrom(s, buf);
  const text = dec.decode(buf.subarray(0, n));
  yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 50_000 });
  const after = yield* attempt(sys.recvfrom(s, buf));
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [WIFEXITED(st) ? WEXITSTATUS(st) : -1, bad, n, text, from, after];
}

/* ---- unix_socket.c ---- */

/*
 * Which AF_LOCAL sockets can be made: stream and datagram (and, in DragonFly since May
 * 2008, seqpacket); SOCK_RAW is EPROTONOSUPPORT (localsw's raw entry has pr_type 0, so
 * pffindtype never finds it).  Beyond the original, DragonFly's socreate also answers
 * EPROTONOSUPPORT for SOCK_RDM, for a non-zero protocol, and for a domain it does not know
 * (FreeBSD later says EAFNOSUPPORT for that last one).  Pairs of each type have two
 * non-negative descriptors.  Entry: the call's outcome.
 */
export function* unix_socket_cases(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const made = function* (type: number, proto = 0, domain: number = AF_LOCAL): Blocking<string> {
    try {
      const s = yield* sys.socket(domain, type, proto);
      yield* sys.close(s);
      return s >= 0 ? 'ok' : `fd ${s}`;
    } catch (e) {
      if (e instanceof SysError) return e.code;
      throw e;
    }
  };
  r.stream = yield* made(SOCK_STREAM);
  r.dgram = yield* made(SOCK_DGRAM);
  r.seqpacket = yield* made(SOCK_SEQPACKET);
  r.raw = yield* made(SOCK_RAW);
  r.rdm = yield* made(SOCK_RDM);
  r.proto = yield* made(SOCK_STREAM, 1);
  r.domain = yield* made(SOCK_STREAM, 0, 77);
  const pairs: unknown[] = [];
  for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
    pairs.push(a >= 0 && b >= 0 && a !== b);
    yield* sys.close(a);
    yield* sys.close(b);
  }
  r.pairs = pairs;
  r.rawPair = yield* attempt(sys.socketpair(AF_LOCAL, SOCK_RAW));
  return r;
}

/* ---- unix_bindconnect.c ---- */

/*
 * Rendezvous through the file namespace, in a fresh directory.
 * bind_test: a bound stream socket cannot bind again (EINVAL, unp_bind: unp_vnode set);
 * another socket cannot bind the same path (EADDRINUSE), not even after the first socket
 * closed, since the socket file stays until it is unlinked; after the unlink it can.
 * connect_test: a path that does not exist is ENOENT; a listener's path connects; once
 * the listener is closed the path refuses (ECONNREFUSED: the vnode's v_socket is gone).
 * Plus one of the original's TODOs: the names getsockname and getpeername report on each
 * end of a connection (the accepted socket's own name is the listener's, unp_connect's
 * so3->unp_addr; an unbound connector is unnamed, '').
 */
export function* unix_bindconnect_cases(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const dir = '/unix_bind.d';
  yield* sys.mkdir(dir, 0o700);
  // bind_test
  const p1 = `${dir}/socket.1`;
  const s1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.bind1 = yield* attempt(sys.bind(s1, p1));
  r.rebind = yield* attempt(sys.bind(s1, p1));
  const s2 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.inuse = yield* attempt(sys.bind(s2, p1));
  yield* sys.close(s1);
  r.inuseClosed = yield* attempt(sys.bind(s2, p1));
  yield* sys.unlink(p1);
  r.bindFreed = yield* attempt(sys.bind(s2, p1));
  r.name = yield* sys.getsockname(s2);
  yield* sys.close(s2);
  yield* sys.unlink(p1);
  // connect_test
  const p2 = `${dir}/socket.2`;
  const c1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.noent = yield* attempt(sys.connect(c1, p2));
  yield* sys.bind(c1, p2);
  yield* sys.listen(c1, 3);
  const c2 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.connect = yield* attempt(sys.connect(c2, p2));
  const acc = yield* sys.accept(c1);
  r.names = [yield* sys.getpeername(c2), yield* sys.getsockname(c2), yield* sys.getsockname(acc),
    yield* sys.getpeername(acc)];
  yield* sys.close(acc);
  yield* sys.close(c2);
  yield* sys.close(c1);
  const c3 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.refused = yield* attempt(sys.connect(c3, p2));
  // The rest of unp_connect's and unp_bind's refusals on the same ground: a path that is
  // not a socket (ENOTSOCK), a socket of another type (EPROTOTYPE), a stream socket that
  // is bound but not listening (ECONNREFUSED), a directory that does not exist (ENOENT),
  // and listen on a socket with no name (uipc_listen: EINVAL).
  const p3 = `${dir}/socket.3`;
  const dg = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(dg, p3);
  const p4 = `${dir}/socket.4`;
  const idle = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(idle, p4);
  const u = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.refusals = [yield* attempt(sys.connect(c3, dir)), yield* attempt(sys.connect(c3, p3)),
    yield* attempt(sys.connect(c3, p4)), yield* attempt(sys.bind(u, `${dir}/none/socket`)), yield* attempt(sys.listen(u, 1))];
  for (const fd of [u, idle, dg, c3]) yield* sys.close(fd);
  for (const p of [p2, p3, p4]) yield* sys.unlink(p);
  r.rmdir = yield* attempt(sys.rmdir(dir));
  return r;
}

/* ---- reconnect.c ---- */

/*
 * A connected datagram socket can be connected elsewhere after the server it was
 * connected to has closed.  In DragonFly 2008 the server's unp_detach drops each socket
 * connected to it (unp_drop: so_error ECONNRESET, then unp_disconnect, which clears
 * SS_ISCONNECTED), so the second connect finds the socket unconnected and goes ahead;
 * soconnect clears so_error, so no ECONNRESET is left to report.  Beyond the original:
 * the datagram reaches the second server, and a socket still connected to a live server
 * can be connected elsewhere too (soconnect disconnects a datagram socket first).  Each
 * server sets SO_REUSEADDR as the original does (accepted, meaningless for AF_LOCAL).
 */
export function* reconnect_case(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> & { dropped2?: unknown[] } = {};
  const n1 = '/reconnect.1', n2 = '/reconnect.2', n3 = '/reconnect.3';
  const server = function* (path: string): Blocking<number> {
    yield* attempt(sys.unlink(path));
    const s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    yield* sys.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1);
    yield* sys.bind(s, path);
    return s;
  };
  const s1 = yield* server(n1);
  const s2 = yield* server(n2);
  const c = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  r.first = yield* attempt(sys.connect(c, n1));
  yield* sys.close(s1);
  r.second = yield* attempt(sys.connect(c, n2));
  const buf = new Uint8Array(16);
  yield* sys.send(c, enc.encode('to s2'));
  const [n, from] = yield* sys.recvfrom(s2, buf);
  r.arrived = [dec.decode(buf.subarray(0, n)), from];
  r.peer = yield* sys.getpeername(c);
  // Connected to a live server, connected elsewhere: soconnect's sodisconnect first.
  const s3 = yield* server(n3);
  r.third = yield* attempt(sys.connect(c, n3));
  yield* sys.send(c, enc.encode('to s3'));
  const [m] = yield* sys.recvfrom(s3, buf);
  r.arrived3 = [dec.decode(buf.subarray(0, m)), yield* attempt(sys.recv(s2, buf, MSG_DONTWAIT))];
  // The closed server's path is still there but refuses.
  r.stale = yield* attempt(sys.connect(c, n1));
  // What the client sees when its server closes and it does not reconnect: unp_drop's
  // ECONNRESET in so_error, reported once (SO_ERROR reads and clears it; so would the
  // next send), and then no peer: a send without an address is EDESTADDRREQ.
  r.third = [r.third, yield* attempt(sys.connect(c, n3))];
  yield* sys.close(s3);
  r.dropped = [yield* sys.getsockopt(c, SOL_SOCKET, SO_ERROR), yield* sys.getsockopt(c, SOL_SOCKET, SO_ERROR),
    yield* attempt(sys.send(c, enc.encode('x')))];
  yield* sys.connect(c, n2);
  r.dropped2 = [yield* sys.getsockopt(c, SOL_SOCKET, SO_ERROR)];
  yield* sys.close(s2);
  r.dropped2.push(yield* attempt(sys.send(c, enc.encode('x'))), yield* attempt(sys.send(c, enc.encode('x'))));
  yield* sys.close(c);
  for (const p of [n1, n2, n3]) yield* sys.unlink(p);
  return r;
}
