/*
 * Programs for test/bsd_unix.test.ts: the unix-socket regression tests of NetBSD
 * (tests/net/net/t_unix.c, tests/lib/libc/sys/t_socketpair.c) and OpenBSD
 * (regress/sys/kern/unixsockets: unixsock_test, unfdpassfail, ungc, unsopassgc,
 * unsendrecvthr) ported to this AF_LOCAL socket layer, each check's intent translated
 * and held to what DragonFly 2008 (SEED, d6f338fca7) does where the BSDs differ.
 *
 * The OpenBSD stress programs loop for 20-60 seconds of wall time; here each loop runs a
 * fixed number of rounds, with its threads spread over the CPUs, and every wait is
 * bounded (SO_RCVTIMEO, or a counted retry loop), so a lost message ends the program
 * with a wrong count instead of hanging it.  Programs return plain values; the test
 * compares them with what a BSD kernel gives.
 *
 * Addresses are strings here: Sys.bind/connect/sendto build a struct sockaddr_un with
 * sun_len = 2 + the path's byte length, up to SOCK_MAXADDRLEN (255), so a path of up to
 * 253 bytes, as DragonFly takes from a C caller with an oversized sockaddr_un (the
 * tests' sockaddr_un_len_max); a longer one is ENAMETOOLONG, getsockaddr's answer.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO,
  MSG_DONTWAIT, F_GETFD, F_GETFL, F_SETFL, FD_CLOEXEC, O_NONBLOCK, SCM_RIGHTS, CMSG_SPACE,
  scm_rights, cmsg_rights, type Cmsg,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/* A five-second bound on every blocking receive (and send) on fd: EAGAIN instead of a hang. */
function* bounded(sys: Sys, fd: number): Blocking<void> {
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 5, usec: 0 });
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, { sec: 5, usec: 0 });
}

function* inflight(sys: Sys): Blocking<number> { return yield* sys.sysctl('net.local.inflight'); }

/*
 * Wait (bounded: at most ~1500 ticks) until net.local.inflight is back at in0, closing a
 * fresh AF_LOCAL socket now and then: its detach asks unp_gc for a pass while anything
 * is in flight, which is how the OpenBSD programs' own closes drive the collector.
 * Returns how far off it stayed (0 when settled).
 */
function* settle(sys: Sys, in0: number): Blocking<number> {
  let d = 0;
  for (let i = 0; i < 1500; i++) {
    d = (yield* inflight(sys)) - in0;
    if (d === 0) break;
    if (i % 50 === 0) yield* sys.close(yield* sys.socket(AF_LOCAL, SOCK_DGRAM));
    yield* sys.sleep(1);
  }
  return d;
}

/*
 * Wait (bounded: at most ~1000 ticks) until kern.ipc.numopensockets is back at n0;
 * returns how far off it stayed.  Needed after closing a listener that still has queued
 * connections: soclose hands each one to soaborta, which under the netisr model (as in
 * DragonFly since SEED's soaborta) is a message the socket's netisr thread runs later,
 * so the aborted socket outlives the close by a little.  Under the BGL model (SEED's sync
 * port for AF_LOCAL) it is gone before close returns.
 */
function* sockets_back(sys: Sys, n0: number): Blocking<number> {
  let d = 0;
  for (let i = 0; i < 1000; i++) {
    d = (yield* sys.sysctl('kern.ipc.numopensockets')) - n0;
    if (d === 0) break;
    yield* sys.sleep(1);
  }
  return d;
}

/* The descriptors of the SCM_RIGHTS message in control, or []. */
function rights_of(control: Cmsg[]): number[] {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS);
  return c === undefined ? [] : cmsg_rights(c.data);
}

/* A 4-byte little-endian word (the programs' iov_buf / sequence numbers). */
function word(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}
function unword(b: Uint8Array, at = 0): number { return new DataView(b.buffer, b.byteOffset).getInt32(at, true); }

/* ---------------------------------------------------------------- NetBSD t_unix.c */

/*
 * t_unix's test(closeit, len): a listener bound at a path of `len` bytes, a client that
 * connects (and, with closeit, closes before the accept), the accept, and the names.
 *  - getpeereid on the client gives the listener's credentials (cached at listen:
 *    unp_listen; handed over by unp_connect).  The original's "#if 0 not symmetric"
 *    case, getpeereid on the listener itself: a listener has only UNP_HAVEPCCACHED, not
 *    UNP_HAVEPC, so uipc_ctloutput says ENOTCONN for a stream socket.
 *  - The accept succeeds even when the client is gone (sockaddr_un_closed).  acc()'s
 *    check that the accepted address is unnamed becomes getpeername on the accepted
 *    socket: '' (uipc_peeraddr's sun_noname) while the client lives; once the client
 *    closed, unp_disconnect has made the accepted socket disconnected, and
 *    kern_getpeername answers ENOTCONN.  The closed client's queued data is still read,
 *    then EOF.
 *  - getsockname on the listener gives back the whole path.
 */
export function* t_unix_case(sys: Sys, closeit: boolean, len: number): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const path = `/${'a'.repeat(len - 1)}`;
  yield* attempt(sys.unlink(path));
  const srvr = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.bind = yield* attempt(sys.bind(srvr, path));
  yield* sys.listen(srvr, -1);
  const clnt = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.connect = yield* attempt(sys.connect(clnt, path));
  const me = yield* sys.geteuid();
  const pe = yield* sys.getpeereid(clnt);
  r.peereid = pe.uid === me;
  r.listenerPeereid = yield* attempt(sys.getpeereid(srvr));
  if (closeit) {
    yield* sys.send(clnt, enc.encode('bye'));
    yield* sys.close(clnt);
  }
  const acpt = yield* sys.accept(srvr);
  try {
    r.peername = yield* sys.getpeername(acpt);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    r.peername = e.code;
  }
  // The accepted socket carries the connector's credentials (unp_connect: so3 gets them).
  r.acceptedPeereid = (yield* sys.getpeereid(acpt)).uid === me;
  const name = yield* sys.getsockname(srvr);
  r.sockname = name === path ? len : name;
  if (closeit) {
    yield* bounded(sys, acpt);
    const buf = new Uint8Array(16);
    const n = yield* sys.recv(acpt, buf);
    r.drained = [dec.decode(buf.subarray(0, n)), yield* sys.recv(acpt, buf)];
  } else {
    yield* sys.close(clnt);
  }
  yield* sys.close(acpt);
  yield* sys.close(srvr);
  yield* sys.unlink(path);
  return r;
}

/*
 * t_unix's sockaddr_un_len_exceed and sockaddr_un_len_max, and the empty name.
 * NetBSD takes a path up to 253 bytes (sun_len 255) and refuses 254 (SUN_LEN 256 does
 * not fit sun_len: EINVAL there).  DragonFly 2008 is the same in substance: getsockaddr
 * refuses a sockaddr longer than SOCK_MAXADDRLEN (255) with ENAMETOOLONG, and
 * unp_bind/unp_connect use sun_len - 2 bytes of path, however long: 105, 200 and 253
 * bytes bind, connect and come back whole from getsockname and getpeername.  104, a
 * sun_path with no room for a NUL, works too (strncpy of namelen bytes into a
 * NUL-terminated buffer), where OpenBSD refuses it.  An empty path makes sun_len 2:
 * namelen 0, EINVAL from unp_bind and unp_connect.  The socket still binds after the
 * refusals, and only once.
 *
 * One more DragonFly 2008 edge: a datagram carries its sender's name in an MT_SONAME
 * mbuf, and sbappendaddr refuses a name longer than MLEN (180 bytes), so a datagram
 * socket bound to a path over 178 bytes cannot send (ENOBUFS); at 178 it can, and the
 * receiver gets the whole name.  dgram: [send at 178, name the receiver got, send at 179].
 */
export function* t_unix_long(sys: Sys): Blocking<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const n0 = yield* sys.sysctl('kern.ipc.numopensockets');
  const p = (n: number): string => `/${'b'.repeat(n - 1)}`;
  for (const n of [105, 200, 253]) {
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const b = yield* attempt(sys.bind(s, p(n)));
    if (b === 'ok') yield* sys.listen(s, 1);
    const k = yield* attempt(sys.connect(c, p(n)));
    const names = k === 'ok' ? [(yield* sys.getsockname(s)) === p(n), (yield* sys.getpeername(c)) === p(n)] : [];
    r[`len${n}`] = [b, k, ...names];
    yield* sys.close(c);
    yield* sys.close(s);                     // aborts the connection it never accepted
    yield* attempt(sys.unlink(p(n)));
  }
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  r.len254 = [yield* attempt(sys.bind(s, p(254))), yield* attempt(sys.connect(c, p(254)))];
  r.empty = [yield* attempt(sys.bind(s, '')), yield* attempt(sys.connect(c, ''))];
  r.after = [yield* attempt(sys.bind(s, p(104))), yield* attempt(sys.bind(s, p(20)))];
  yield* sys.listen(s, 1);
  r.connect104 = yield* attempt(sys.connect(c, p(104)));
  r.name104 = (yield* sys.getpeername(c)).length;
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(p(104));
  // Datagrams from long names.
  const rx = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(rx, '/rx');
  yield* bounded(sys, rx);
  const dgram: unknown[] = [];
  for (const n of [178, 179]) {
    const tx = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    yield* sys.bind(tx, p(n));
    dgram.push(yield* attempt(sys.sendto(tx, enc.encode('hi'), 0, '/rx')));
    if (n === 178) {
      const [, from] = yield* sys.recvfrom(rx, new Uint8Array(8));
      dgram.push(from === p(n) ? n : from);
    }
    yield* sys.close(tx);
    yield* sys.unlink(p(n));
  }
  r.dgram = dgram;
  yield* sys.close(rx);
  yield* sys.unlink('/rx');
  r.sockets = yield* sockets_back(sys, n0);
  return r;
}

/* ---------------------------------------------------------------- NetBSD t_socketpair.c */

/*
 * socketpair_basic: with every descriptor above 2 closed (closefrom(3)), a pair takes 3
 * and 4; both ends are connected (getpeername succeeds: uipc_peeraddr's sun_noname for
 * an unbound peer, '' here), neither is close-on-exec nor non-blocking.  The original
 * makes datagram pairs; stream and seqpacket pairs are held to the same.  The
 * SOCK_NONBLOCK / SOCK_CLOEXEC / SOCK_CLOFORK variants are left out: DragonFly 2008's
 * socketpair took no such flags.  Entry per type: [fd0, fd1, peer names, FD_CLOEXEC
 * bits, O_NONBLOCK bits].
 */
export function* socketpair_basic(sys: Sys): Blocking<unknown[]> {
  const out: unknown[] = [];
  for (const type of [SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET]) {
    for (let i = 0; i < 3; i++) yield* sys.dup(0);
    yield* sys.closefrom(3);
    const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
    const names = [yield* sys.getpeername(a), yield* sys.getpeername(b)];
    const cloexec = [(yield* sys.fcntl(a, F_GETFD)) & FD_CLOEXEC, (yield* sys.fcntl(b, F_GETFD)) & FD_CLOEXEC];
    const nb = [(yield* sys.fcntl(a, F_GETFL)) & O_NONBLOCK, (yield* sys.fcntl(b, F_GETFL)) & O_NONBLOCK];
    out.push([a, b, names, cloexec, nb, [yield* attempt(sys.close(a)), yield* attempt(sys.close(b))]]);
  }
  return out;
}

/* ---------------------------------------------------------------- OpenBSD unixsock_test.c */

/*
 * unixsock_test: bind and connect with paths of total length L (the directory, then
 * "socket." and 'a's) for L in 30..200.  OpenBSD wants a NUL inside sun_path, so it
 * takes L <= 103 and refuses 104 and beyond with EINVAL.  DragonFly 2008 copies
 * sun_len - 2 bytes and terminates them itself: 104 binds and connects, and so does
 * every longer path up to 253 bytes (a sockaddr of up to SOCK_MAXADDRLEN); 254 is
 * ENAMETOOLONG (getsockaddr).  The original's
 * connect target is bound through a relative name in the same directory; there is no
 * chdir here, so the listener binds the same absolute path.  Its "no NUL" variant
 * (FAIL4) has no meaning for a string, but a NUL inside the string does: the kernel's
 * strncpy stops there, so "<path>\0junk" names "<path>" (checked by connecting to it).
 * Entry per L: [L, bind, connect].
 */
export function* unixsock_lengths(sys: Sys): Blocking<unknown[]> {
  const dir = '/peer.d';
  const n0 = yield* sys.sysctl('kern.ipc.numopensockets');
  yield* sys.mkdir(dir, 0o700);
  const base = `${dir}/socket.`;
  const out: unknown[] = [];
  for (const L of [30, 50, 100, 102, 103, 104, 105, 110, 200, 253, 254]) {
    const path = base + 'a'.repeat(L - base.length);
    const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const b = yield* attempt(sys.bind(s, path));
    yield* sys.close(s);
    yield* attempt(sys.unlink(path));
    // test_connect: a listener at the path, a connect to it.
    const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const lb = yield* attempt(sys.bind(l, path));
    if (lb === 'ok') yield* sys.listen(l, 5);
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    const cr = yield* attempt(sys.connect(c, path));
    yield* sys.close(c);
    yield* sys.close(l);
    yield* attempt(sys.unlink(path));
    out.push([L, b, cr]);
  }
  // A NUL inside the name ends it.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const nul = yield* attempt(sys.bind(l, `${base}nul\0junk`));
  yield* sys.listen(l, 1);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  out.push(['nul', nul, yield* attempt(sys.connect(c, `${base}nul`)), yield* attempt(sys.unlink(`${base}nul`))]);
  yield* sys.close(c);
  yield* sys.close(l);
  out.push(['rmdir', yield* attempt(sys.rmdir(dir))]);
  // A component may be NAME_MAX (255) bytes long, not more (namei: ENAMETOOLONG).
  const d255 = `/${'d'.repeat(255)}`;
  out.push(['name_max', yield* attempt(sys.mkdir(d255, 0o700)), yield* attempt(sys.rmdir(d255)),
    yield* attempt(sys.mkdir(`/${'d'.repeat(256)}`, 0o700))]);
  // Every listener above was closed with its connection still queued (as the original's
  // test_connect does): each was aborted, and none is left.
  out.push(['sockets', yield* sockets_back(sys, n0)]);
  return out;
}

/* ---------------------------------------------------------------- OpenBSD unfdpassfail.c */

/* unfdpassfail's thr_close: close fd, racing the sender. */
export function* fpf_closer(sys: Sys, fd: number): Blocking<string> {
  return yield* attempt(sys.close(fd));
}

/*
 * unfdpassfail: a message carrying a datagram socket and a kqueue, sent while another
 * thread (on another CPU) closes the socket's descriptor.  It must fail either way, and
 * take nothing in flight and leak no file.  OpenBSD refuses the kqueue with EINVAL;
 * DragonFly 2008's unp_internalize checks every descriptor before holding any, and says
 * EBADF for a closed one and EOPNOTSUPP for a kqueue, so the send ends with one of
 * those two.  Beyond the original, the outcomes without the race: the socket open (the
 * kqueue alone refuses the message), the kqueue listed first, and a closed descriptor
 * before the kqueue.  Returns [outcomes of the racing rounds, the fixed cases, what the
 * peer received, inflight].
 */
export function* fdpassfail(sys: Sys, rounds: number, other: number): Blocking<unknown[]> {
  const in0 = yield* inflight(sys);
  const kq = yield* sys.kqueue();
  const seen: Record<string, number> = {};
  let leaked = 0;
  for (let i = 0; i < rounds; i++) {
    const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    yield* sys.fcntl(s0, F_SETFL, O_NONBLOCK);
    yield* sys.fcntl(s1, F_SETFL, O_NONBLOCK);
    const fd = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
    const t = yield* sys.thread(fpf_closer, { cpu: other, args: [fd] });
    const e = yield* attempt(sys.sendmsg(s0, { buf: word(0), control: [scm_rights([fd, kq])] }));
    seen[e] = (seen[e] ?? 0) + 1;
    if ((yield* sys.join(t)) !== 'ok') leaked++;
    // Nothing reached the peer.
    if ((yield* attempt(sys.recv(s1, new Uint8Array(4), MSG_DONTWAIT))) !== 'EAGAIN') leaked++;
    yield* sys.close(s0);
    yield* sys.close(s1);
    if ((yield* attempt(sys.close(fd))) !== 'EBADF') leaked++;
  }
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const d = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const x = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.close(x);
  const fixed = [
    yield* attempt(sys.sendmsg(a, { buf: word(0), control: [scm_rights([d, kq])] })),
    yield* attempt(sys.sendmsg(a, { buf: word(0), control: [scm_rights([kq, d])] })),
    yield* attempt(sys.sendmsg(a, { buf: word(0), control: [scm_rights([x, kq])] })),
  ];
  const got = yield* attempt(sys.recv(b, new Uint8Array(4), MSG_DONTWAIT));
  for (const fd of [a, b, d, kq]) yield* sys.close(fd);
  const ok = Object.keys(seen).every((k) => k === 'EBADF' || k === 'EOPNOTSUPP');
  return [ok ? 'EBADF|EOPNOTSUPP' : seen, leaked, fixed, got, (yield* inflight(sys)) - in0];
}

/* ---------------------------------------------------------------- OpenBSD ungc.c */

/*
 * ungc: unp_gc must not collect a socket that a live socket's buffer holds, and must
 * collect a cycle.  Per round:
 *  - sp: sp[0] is sent over itself (into sp[1]'s buffer), sp[1] over itself (into
 *    sp[0]'s), and sp[0] is closed.  sp[0]'s file is now held only by a message, but
 *    that message sits in sp[1], which a descriptor holds: unp_gc's mark phase reaches
 *    sp[0] from sp[1] and sp[1] back from sp[0], so neither may be flushed.
 *  - sl: both ends sent over sl[0] (into sl[1]'s buffer), both closed: sl[1] is in its
 *    own buffer (a cycle, unp_gc's to collect), and sl[0] goes when sl[1]'s buffer is
 *    flushed.  These closes start collections that run while we go on.
 *  - Then sp[0] is received from sp[1] (ts), sp[1] from ts, and the two are shown to be
 *    the same pair by a byte through them.
 * OpenBSD's EMFILE (its limit on sockets in flight) and EMSGSIZE skips do not arise in
 * DragonFly 2008, which has no such limit; any failure is counted.  Returns [rounds that
 * went right, the first thing that went wrong, inflight left after settling, whether
 * unp_gc ran].
 */
export function* ungc(sys: Sys, rounds: number): Blocking<unknown[]> {
  const in0 = yield* inflight(sys);
  const runs0 = yield* sys.sysctl('net.local.gcruns');
  let good = 0;
  let bad: unknown = null;
  const note = (what: unknown): void => { if (bad === null) bad = what; };
  const buf = new Uint8Array(4);
  const room = CMSG_SPACE(4 * 2);
  for (let i = 0; i < rounds; i++) {
    const sp = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    for (const fd of sp) yield* sys.fcntl(fd, F_SETFL, O_NONBLOCK);
    yield* sys.sendmsg(sp[0], { buf: word(0), control: [scm_rights([sp[0]])] });
    yield* sys.sendmsg(sp[1], { buf: word(0), control: [scm_rights([sp[1]])] });
    yield* sys.close(sp[0]);
    const sl = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    for (const fd of sl) yield* sys.fcntl(fd, F_SETFL, O_NONBLOCK);
    yield* sys.sendmsg(sl[0], { buf: word(0), control: [scm_rights([sl[0], sl[1]])] });
    yield* sys.close(sl[0]);
    yield* sys.close(sl[1]);
    const r1 = yield* sys.recvmsg(sp[1], buf, { controlLen: room });
    const c1 = r1.control[0];
    const f1 = rights_of(r1.control);
    if (r1.bytes !== 4 || c1 === undefined || c1.data.length !== 4 || f1.length !== 1) {
      note([i, 'first', r1.bytes, f1.length]);
      for (const fd of f1) yield* sys.close(fd);
      yield* sys.close(sp[1]);
      continue;
    }
    const ts = f1[0];
    const r2 = yield* sys.recvmsg(ts, buf, { controlLen: room });
    const f2 = rights_of(r2.control);
    if (r2.bytes !== 4 || f2.length !== 1) {
      note([i, 'second', r2.bytes, f2.length]);
    } else {
      // f2 is sp[1]'s file again, ts is sp[0]'s: a byte from one comes out of the other.
      yield* sys.send(f2[0], enc.encode('z'));
      const n = yield* attempt(sys.recv(ts, buf, MSG_DONTWAIT));
      if (n === 'ok' && buf[0] === 0x7a) good++;
      else note([i, 'pair', n]);
    }
    for (const fd of [...f2, ts, sp[1]]) yield* sys.close(fd);
  }
  const left = yield* settle(sys, in0);
  return [good, bad, left, (yield* sys.sysctl('net.local.gcruns')) > runs0];
}

/* ---------------------------------------------------------------- OpenBSD unsopassgc.c */

const PASSFD_NUM = 4;

/*
 * unsopassgc's thr_send: `count` datagrams on s0, each numbered and carrying s0, s1 and
 * passfd twice.  The receiver's buffer fills (ENOBUFS at once in DragonFly 2008: a
 * datagram sender never blocks), so a refused send is retried after a yield, at most
 * `tries` times in all.  Returns the retries used, or an error text.
 */
export function* upg_send(sys: Sys, s0: number, s1: number, passfd: number, count: number, tries: number): Blocking<unknown> {
  let retries = 0;
  for (let k = 0; k < count; k++) {
    for (;;) {
      const e = yield* attempt(sys.sendmsg(s0, { buf: word(k), control: [scm_rights([s0, s1, passfd, passfd])] }));
      if (e === 'ok') break;
      if (e !== 'ENOBUFS' || ++retries > tries) return `send ${k}: ${e}`;
      yield* sys.sched_yield();
    }
  }
  return retries;
}

/*
 * unsopassgc's thr_recv: `count` datagrams from s1, each of which must carry all four
 * descriptors and the next number (a collector that flushed this live socket's buffer
 * would take messages or their rights away); every received descriptor is closed.
 * Returns the count received intact, or an error text.
 */
export function* upg_recv(sys: Sys, s1: number, count: number): Blocking<unknown> {
  const buf = new Uint8Array(4);
  for (let k = 0; k < count; k++) {
    let r;
    try {
      r = yield* sys.recvmsg(s1, buf, { controlLen: CMSG_SPACE(4 * PASSFD_NUM) });
    } catch (e) {
      if (e instanceof SysError) return `recv ${k}: ${e.code}`;
      throw e;
    }
    const fds = rights_of(r.control);
    for (const fd of fds) yield* sys.close(fd);
    if (r.bytes !== 4 || fds.length !== PASSFD_NUM || r.control[0].data.length !== 4 * PASSFD_NUM) {
      return `recv ${k}: ${r.bytes} bytes, ${fds.length} rights`;
    }
    if (unword(buf) !== k) return `recv ${k}: got ${unword(buf)}`;
  }
  return count;
}

/*
 * unsopassgc's thr_gc: make garbage for unp_gc.  Each round a datagram pair whose s0
 * sends s0, s1 and passfd (a live socket) twice into s1's own buffer, and both are
 * closed: s1 and s0 are then an unreachable cycle holding two references to passfd.
 * Returns the rounds whose send went out.
 */
export function* upg_gc(sys: Sys, passfd: number, rounds: number): Blocking<unknown> {
  let sent = 0;
  for (let i = 0; i < rounds; i++) {
    const [s0, s1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
    const e = yield* attempt(sys.sendmsg(s0, { buf: word(0), control: [scm_rights([s0, s1, passfd, passfd])] }));
    if (e === 'ok') sent++;
    else if (e !== 'ENOBUFS') return `gc ${i}: ${e}`;
    yield* sys.close(s0);
    yield* sys.close(s1);
  }
  return sent;
}

/*
 * unsopassgc: one datagram pair per CPU, a sender and a receiver thread for each (on
 * different CPUs), and a garbage maker sending the first pair's s0 inside cycles that
 * unp_gc frees while the pairs are busy.  The collector must never flush a live
 * socket's buffer: every message arrives, in order, with its four descriptors (in
 * OpenBSD a wrong flush panicked the kernel).  Returns [per pair: [sender, receiver],
 * the garbage maker's rounds, inflight left after settling, whether unp_gc ran].
 */
export function* unsopassgc(sys: Sys, ncpu: number, count: number, gcRounds: number): Blocking<unknown[]> {
  const in0 = yield* inflight(sys);
  const runs0 = yield* sys.sysctl('net.local.gcruns');
  const pairs: number[][] = [];
  for (let i = 0; i < ncpu; i++) {
    const p = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
    yield* bounded(sys, p[1]);
    pairs.push(p);
  }
  const tids: number[][] = [];
  for (let i = 0; i < ncpu; i++) {
    const [s0, s1] = pairs[i];
    tids.push([
      yield* sys.thread(upg_send, { cpu: i, args: [s0, s1, s0, count, 200_000] }),
      yield* sys.thread(upg_recv, { cpu: (i + 1) % ncpu, args: [s1, count] }),
    ]);
  }
  const gc = yield* sys.thread(upg_gc, { cpu: ncpu - 1, args: [pairs[0][0], gcRounds] });
  const results: unknown[] = [];
  for (const [ts, tr] of tids) {
    const sres = yield* sys.join(ts);
    results.push([typeof sres === 'number' ? 'sent' : sres, yield* sys.join(tr)]);
  }
  const gcres = yield* sys.join(gc);
  for (const p of pairs) for (const fd of p) yield* sys.close(fd);
  const left = yield* settle(sys, in0);
  return [results, gcres, left, (yield* sys.sysctl('net.local.gcruns')) > runs0];
}

/* ---------------------------------------------------------------- OpenBSD unsendrecvthr.c */

/* unsendrecvthr's thr_tx: `count` 8-byte records (id, number from 1) on s. */
export function* usr_tx(sys: Sys, s: number, id: number, count: number): Blocking<unknown> {
  const rec = new Uint8Array(8);
  const dv = new DataView(rec.buffer);
  for (let k = 1; k <= count; k++) {
    dv.setInt32(0, id, true);
    dv.setInt32(4, k, true);
    const e = yield* attempt(sys.send(s, rec));
    if (e !== 'ok') return `send ${id}/${k}: ${e}`;
  }
  return count;
}

/*
 * unsendrecvthr's thr_rx: `total` records from s, each exactly 8 bytes (seqpacket keeps
 * the boundaries), each id in range, and per id the numbers consecutive from 1: no loss,
 * duplication or reordering among one writer's records.  Returns the count received, or
 * an error text.
 */
export function* usr_rx(sys: Sys, s: number, nid: number, total: number): Blocking<unknown> {
  const last = new Array<number>(nid).fill(0);
  const rec = new Uint8Array(16);
  for (let k = 0; k < total; k++) {
    const n = yield* attempt(sys.recv(s, rec));
    if (n !== 'ok') return `recv ${k}: ${n}`;
    const id = unword(rec, 0), cnt = unword(rec, 4);
    if (id < 0 || id >= nid) return `recv ${k}: id ${id}`;
    if (cnt !== last[id] + 1) return `recv ${k}: id ${id} ${last[id]} -> ${cnt}`;
    last[id] = cnt;
  }
  // Nothing more than was sent.
  const extra = yield* attempt(sys.recv(s, rec, MSG_DONTWAIT));
  return extra === 'EAGAIN' ? total : `extra: ${extra}`;
}

/*
 * unsendrecvthr: a seqpacket pair; on each end one receiver and one writer per CPU, all
 * writing at once.  A record must arrive whole and once, in its writer's order.  (The
 * original's fixed 8-byte recv also proves the boundaries: seqpacket's sbappendrecord.)
 * Returns [end 0's receiver, end 1's receiver, the writers' results].
 */
export function* unsendrecvthr(sys: Sys, ncpu: number, count: number): Blocking<unknown[]> {
  const s = yield* sys.socketpair(AF_LOCAL, SOCK_SEQPACKET);
  for (const fd of s) yield* bounded(sys, fd);
  const rx = [
    yield* sys.thread(usr_rx, { cpu: 0, args: [s[0], ncpu, ncpu * count] }),
    yield* sys.thread(usr_rx, { cpu: ncpu - 1, args: [s[1], ncpu, ncpu * count] }),
  ];
  const tx: number[] = [];
  for (let side = 0; side < 2; side++) {
    for (let j = 0; j < ncpu; j++) tx.push(yield* sys.thread(usr_tx, { cpu: j, args: [s[side], j, count] }));
  }
  const txr: unknown[] = [];
  for (const t of tx) txr.push(yield* sys.join(t));
  const out = [yield* sys.join(rx[0]), yield* sys.join(rx[1]), txr.every((v) => v === count) ? 'all sent' : txr];
  yield* sys.close(s[0]);
  yield* sys.close(s[1]);
  return out;
}
