/*
 * Programs for test/rights.test.ts: descriptor passing (SCM_RIGHTS) over AF_LOCAL
 * sockets, and unp_gc.  A passed descriptor is proved to be the same open file by writing
 * through it and reading what was written at the other end of its socketpair.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOL_SOCKET, MSG_CTRUNC, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, SCM_RIGHTS, SCM_CREDS, CMSGCRED_BYTES,
  CMSG_SPACE, RLIMIT_NOFILE, scm_rights, cmsg_rights, type Cmsg,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, count_or_code } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function* inflight(sys: Sys): Blocking<number> { return yield* sys.sysctl('net.local.inflight'); }

/* Write text through fd and read it back at peer: the proof that fd is the file we think. */
function* through(sys: Sys, fd: number, peer: number, text: string): Blocking<string> {
  yield* sys.send(fd, enc.encode(text));
  const buf = new Uint8Array(64);
  const n = yield* sys.recv(peer, buf);
  return dec.decode(buf.subarray(0, n));
}

/* The descriptors of the first SCM_RIGHTS message of a recvmsg, or []. */
function rights_of(control: Cmsg[]): number[] {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS);
  return c === undefined ? [] : cmsg_rights(c.data);
}

/*
 * One end of a payload socketpair passed over a pair of `type`, the sender closing its
 * copy: the receiver gets the lowest free fd, and it is the same file; inflight counts.
 * Two descriptors in one message; the payload's other end sees EOF once every copy is
 * closed.
 */
export function* pass_pair(sys: Sys, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const sent = yield* sys.sendmsg(a, { buf: enc.encode('fd'), control: [scm_rights([x])] });
  const in1 = yield* inflight(sys);
  yield* sys.close(x);                         // only the message holds it now
  const buf = new Uint8Array(16);
  const r = yield* sys.recvmsg(b, buf, { controlLen: CMSG_SPACE(4) });
  const got = rights_of(r.control);
  const in2 = yield* inflight(sys);
  const echo = yield* through(sys, got[0], y, 'hello');
  // Two at once, in order; each arrives as a new descriptor on the same file.
  yield* sys.sendmsg(a, { buf: enc.encode('2'), control: [scm_rights([got[0], y])] });
  const r2 = yield* sys.recvmsg(b, buf, { controlLen: CMSG_SPACE(8) });
  const two = rights_of(r2.control);
  const echo2 = yield* through(sys, two[0], two[1], 'twice');
  for (const fd of [got[0], ...two]) yield* sys.close(fd);
  const eof = yield* sys.recv(y, buf);          // every copy of x closed
  yield* sys.close(y);
  yield* sys.close(a);
  yield* sys.close(b);
  return [sent, r.bytes, got.length, got[0] === x, in1, in2, echo, two.length,
    two[0] !== two[1], echo2, eof, r.flags & MSG_CTRUNC, yield* inflight(sys)];
}

/*
 * Refusals, each leaving nothing behind: a closed fd (EBADF), SCM_RIGHTS with SCM_CREDS in
 * one send (EINVAL: one message per send), a datagram receiver with no room (ENOBUFS: the
 * rights are disposed of, so the payload's peer sees EOF).  inflight returns to 0.
 */
export function* refusals(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const creds: Cmsg = { level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(CMSGCRED_BYTES) };
  const bad = [
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [scm_rights([x, 77])] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [scm_rights([-1])] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [scm_rights([x]), creds] })),
  ];
  const in0 = yield* inflight(sys);
  // A full datagram receiver: the send fails and its rights go with it.
  const [d1, d2] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  let fills = 0;
  for (;;) {
    const e = yield* attempt(sys.send(d1, new Uint8Array(1024)));
    if (e !== 'ok') break;
    fills++;
  }
  const nobufs = yield* attempt(sys.sendmsg(d1, { buf: enc.encode('z'), control: [scm_rights([x])] }));
  yield* sys.close(x);
  const buf = new Uint8Array(8);
  const eof = yield* sys.recv(y, buf);          // the disposed right was x's last reference
  for (const fd of [y, a, b, d1, d2]) yield* sys.close(fd);
  return [bad, in0, fills > 0, nobufs, eof, yield* inflight(sys)];
}

/*
 * uipc_send's refusals before unp_internalize (C's "goto release"): out-of-band data
 * (EOPNOTSUPP) with rights on each type, and a seqpacket send with every flag bit set.
 * The rights were never internalized, so nothing is disposed of: the descriptors stay
 * open and working and nothing is in flight.  (They used to be disposed of as if they
 * were file pointers: a panic on a closef of "file" 3.)
 */
export function* refused_before_internalize(sys: Sys): Blocking<unknown[]> {
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const out: unknown[] = [];
  for (const type of [SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM]) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
    out.push(yield* attempt(sys.sendmsg(a, { buf: enc.encode('o'), control: [scm_rights([x, a])] }, MSG_OOB)));
    if (type === SOCK_SEQPACKET) out.push(yield* attempt(sys.sendmsg(a, { buf: enc.encode('o'), control: [scm_rights([x, b])] }, -1)));
    yield* sys.close(a);
    yield* sys.close(b);
  }
  out.push(yield* inflight(sys), yield* through(sys, x, y, 'x works'));
  yield* sys.close(x);
  yield* sys.close(y);
  return out;
}

/*
 * The receiver's side: a control buffer too small (MSG_CTRUNC, and the descriptors that
 * did not fit are closed: the payload's peer sees EOF); MSG_PEEK leaves them in flight; a
 * table with no free slot (EMSGSIZE, the file discarded so its peer sees EOF, the data
 * left queued).
 */
export function* receiver_limits(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(16);
  // Too little room.
  let [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(a, { buf: enc.encode('t'), control: [scm_rights([x])] });
  yield* sys.close(x);
  const t = yield* sys.recvmsg(b, buf, { controlLen: 4 });
  const truncEof = yield* sys.recv(y, buf);
  yield* sys.close(y);
  // Peek: the data and the rights stay; then the real receive takes them.
  [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(a, { buf: enc.encode('p'), control: [scm_rights([x])] });
  yield* sys.close(x);
  const pk = yield* sys.recvmsg(b, buf, { flags: MSG_PEEK, controlLen: 64 });
  const pk0 = yield* sys.recvmsg(b, buf, { flags: MSG_PEEK, controlLen: 0 });   // truncated peek: nothing closed
  const inPeek = yield* inflight(sys);
  const real = yield* sys.recvmsg(b, buf, { controlLen: 64 });
  const got = rights_of(real.control)[0];
  const peekEcho = yield* through(sys, got, y, 'peeked');
  yield* sys.close(got);
  yield* sys.close(y);
  // No free slot: EMSGSIZE.
  const [p, q] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(a, { buf: enc.encode('m'), control: [scm_rights([p])] });
  yield* sys.close(p);
  const lim = yield* sys.getrlimit(RLIMIT_NOFILE);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: 16, max: lim.max });
  const dups: number[] = [];
  let full = '';
  for (;;) {
    try {
      dups.push(yield* sys.dup(0));
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      full = e.code;
      break;
    }
  }
  const emsg = yield* attempt(sys.recvmsg(b, buf, { controlLen: 64 }));
  const inAfter = yield* inflight(sys);
  const discardedEof = yield* sys.recv(q, buf);          // p's last reference went with the discard
  for (const fd of dups) yield* sys.close(fd);
  const left = yield* sys.recv(b, buf);
  const leftText = dec.decode(buf.subarray(0, left));
  yield* sys.close(q);
  yield* sys.close(a);
  yield* sys.close(b);
  return [t.bytes, (t.flags & MSG_CTRUNC) !== 0, t.control.length, truncEof, pk.bytes, (pk0.flags & MSG_CTRUNC) !== 0, inPeek, peekEcho, dups.length + 3 + 3, full,
    emsg, inAfter, discardedEof, leftText, yield* inflight(sys)];
}

/* Sockets closed with rights still queued: sorflush disposes of them; nothing stays in flight. */
export function* close_in_flight(sys: Sys, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  for (let i = 0; i < 3; i++) yield* sys.sendmsg(a, { buf: enc.encode('q'), control: [scm_rights([x, y])] });
  const in1 = yield* inflight(sys);
  for (const fd of [x, y, a, b]) yield* sys.close(fd);
  return [in1];
}

/*
 * unp_gc's cycles: a socket queued in its own receive buffer (b sent over a, which
 * delivers into b), and two sockets each queued in the other (d in b's buffer, b in
 * d's).  After every descriptor is closed only the messages hold them; closing one more
 * AF_LOCAL socket runs the collector, which frees them.  What a process can still reach
 * is never freed: r's buffer holds s, a live socket is passed around the cycle, and both
 * still work after the collection.
 */
export function* gc_cycles(sys: Sys): Blocking<unknown[]> {
  const runs0 = yield* sys.sysctl('net.local.gcruns');
  // Reachable: s queued in r, r kept open.
  const [r, rr] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [s, t] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(rr, { buf: enc.encode('s'), control: [scm_rights([s])] });
  yield* sys.close(s);
  // Self cycle.
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(a, { buf: enc.encode('b'), control: [scm_rights([b])] });
  // Two-socket cycle.
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [e, f] = yield* sys.socketpair(AF_LOCAL, SOCK_SEQPACKET);
  yield* sys.sendmsg(c, { buf: enc.encode('f'), control: [scm_rights([f])] });   // f queued in d
  yield* sys.sendmsg(e, { buf: enc.encode('d'), control: [scm_rights([d])] });   // d queued in f
  const in1 = yield* inflight(sys);
  // The collector may run from the first of these closes on (a's detach asks for it).
  for (const fd of [a, b, c, d, e, f]) yield* sys.close(fd);
  // One more AF_LOCAL socket closing with rights in flight runs the collector.
  const [g, h] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(g);
  yield* sys.close(h);
  // The collector runs in its own thread: wait (bounded) for its pass to show.
  let runs = runs0;
  for (let i = 0; i < 2000 && (runs === runs0 || (yield* inflight(sys)) !== 1); i++) {
    yield* sys.sleep(1);
    runs = yield* sys.sysctl('net.local.gcruns');
  }
  const in3 = yield* inflight(sys);
  // s is alive and still reaches t.
  const buf = new Uint8Array(8);
  const m = yield* sys.recvmsg(r, buf, { controlLen: 64 });
  const s2 = rights_of(m.control)[0];
  const echo = yield* through(sys, s2, t, 'alive');
  for (const fd of [s2, t, r, rr]) yield* sys.close(fd);
  return [in1, runs > runs0, in3, echo, yield* inflight(sys)];
}

/*
 * Across processes and CPUs: the parent passes a fresh socket to a child on another CPU
 * over an inherited socketpair; the child answers through it and passes one back.
 */
export function* cross_cpu(sys: Sys, childCpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pid = yield* sys.spawn(rights_child, { cpu: childCpu, args: [b] });
  yield* sys.sendmsg(a, { buf: enc.encode('go'), control: [scm_rights([x])] });
  yield* sys.close(x);
  const buf = new Uint8Array(32);
  const n = yield* sys.recv(y, buf);
  const fromChild = dec.decode(buf.subarray(0, n));
  const back = yield* sys.recvmsg(a, buf, { controlLen: 64 });
  const z = rights_of(back.control)[0];
  const zEcho = dec.decode(buf.subarray(0, yield* sys.recv(z, buf)));
  const st = yield* sys.waitpid(pid);
  for (const fd of [z, y, a, b]) yield* sys.close(fd);
  return [fromChild, zEcho, st.status, yield* inflight(sys)];
}

export function* rights_child(sys: Sys, fd: number): Blocking<number> {
  const buf = new Uint8Array(16);
  const r = yield* sys.recvmsg(fd, buf, { controlLen: 64 });
  const x = rights_of(r.control)[0];
  yield* sys.send(x, enc.encode(`child got ${dec.decode(buf.subarray(0, r.bytes))}`));
  yield* sys.close(x);
  const [u, v] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.send(v, enc.encode('from v'));
  yield* sys.sendmsg(fd, { buf: enc.encode('u'), control: [scm_rights([u])] });
  yield* sys.close(u);
  yield* sys.close(v);
  yield* sys.close(fd);
  return 0;
}

/*
 * A peek at a record that holds control and no data (what a zero-length send with
 * SCM_RIGHTS leaves): C's soreceive returns nothing, takes nothing, and goes round again
 * for good.  Here a stream's peek waits for data as a reader with none does (EAGAIN when
 * it must not block; a blocked peek on the other CPU returns the data sent after the
 * rights), and a seqpacket peek returns the empty record.  Then the rights arrive whole
 * (with the data on a stream, alone on seqpacket, the data a record of its own), and
 * nothing is left in flight.
 */
export function* peek_control_only(sys: Sys, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const sent = yield* sys.sendmsg(a, { buf: new Uint8Array(0), control: [scm_rights([x])] });
  yield* sys.close(x);
  const buf = new Uint8Array(16);
  const nonblocking = yield* count_or_code(sys.recv(b, buf, MSG_PEEK | MSG_DONTWAIT));
  const tid = yield* sys.thread(peek_thread, { cpu: 1, args: [b] });
  yield* sys.send(a, enc.encode('hi'));
  const peeked = yield* sys.join(tid);
  const r = yield* sys.recvmsg(b, buf, { controlLen: 64 });
  const data = dec.decode(buf.subarray(0, r.bytes));
  const got = rights_of(r.control);
  const echo = got.length === 1 ? yield* through(sys, got[0], y, 'passed') : '';
  const rest = yield* count_or_code(sys.recv(b, buf, MSG_DONTWAIT));
  const after = typeof rest === 'number' ? dec.decode(buf.subarray(0, rest)) : rest;
  for (const fd of [a, b, y, ...got]) yield* sys.close(fd);
  return [sent, nonblocking, peeked, r.bytes, data, got.length, echo, after, yield* inflight(sys)];
}

function* peek_thread(sys: Sys, fd: number): Blocking<string> {
  const buf = new Uint8Array(16);
  const n = yield* sys.recv(fd, buf, MSG_PEEK);
  return dec.decode(buf.subarray(0, n));
}
