/*
 * rights_progs.ts: the programs of the `rights` workload (rights.ts): descriptor passing
 * with SCM_RIGHTS between processes on different CPUs, and cycles for unp_gc.
 *
 * A sender connects to the receiver's listener (stream or seqpacket) and, op by op,
 * sends one to three fresh sockets (one end of a socketpair each: stream, seqpacket or
 * datagram) in one message, closes its copies, and waits for the answer.  The receiver
 * (a thread per connection, on any CPU) takes the message with recvmsg (sometimes after
 * a MSG_PEEK, which leaves the rights in flight), and proves each descriptor it got is
 * the socket sent by writing a token through it, which the sender reads at the other end.
 * Now and then it gives recvmsg too little control room on purpose: the descriptors that
 * did not fit are closed (MSG_CTRUNC), and the sender sees EOF at their other ends.
 *
 * Then each sender builds cycles only unp_gc can free (a socket queued in its own receive
 * buffer, two sockets each queued in the other), closes every descriptor, and closes one
 * more AF_LOCAL socket so a collection runs; a datagram pair closed with rights queued
 * disposes of them.  The runner's zone check sees that they were all freed.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOL_SOCKET, SCM_RIGHTS, MSG_PEEK, MSG_CTRUNC,
  CMSG_SPACE, scm_rights, cmsg_rights, type Cmsg,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, Rng, connectRetry, getU32, note, putU32, tryc } from './progs_common.js';

const HDR = 12;               // op, number of descriptors, flags
const F_TRUNCATABLE = 1;      // every payload is a stream or seqpacket (EOF shows at its peer)
const TOKEN = 8;

export interface RightsRecv { msgs: number; fds: number; truncated: number; peeks: number; ops: number; bytes: number; anomalies: string[] }
export interface RightsSend { id: number; msgs: number; fds: number; truncated: number; cycles: number; disposed: number; ops: number; bytes: number; anomalies: string[] }

function rightsOf(control: Cmsg[]): number[] {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_RIGHTS);
  return c === undefined ? [] : cmsg_rights(c.data);
}

/* Serve one connection: until EOF, take each message, use its descriptors, answer. */
export function* rightsServe(sys: Sys, c: number, seed: number): Blocking<RightsRecv> {
  const rng = new Rng(seed);
  const out: RightsRecv = { msgs: 0, fds: 0, truncated: 0, peeks: 0, ops: 0, bytes: 0, anomalies: [] };
  const buf = new Uint8Array(256), pk = new Uint8Array(256), tok = new Uint8Array(TOKEN), ans = new Uint8Array(8);
  yield* sys.send(c, new Uint8Array([1]));          // accepted: from now on rights may come
  out.ops++;
  for (;;) {
    let room = CMSG_SPACE(4 * 8);
    let peeked = -1;
    if (rng.chance(0.5)) {
      const p = yield* sys.recvmsg(c, pk, { flags: MSG_PEEK, controlLen: room });
      out.ops++;
      out.peeks++;
      peeked = p.bytes;
      if (p.bytes >= HDR && (getU32(pk, 8) & F_TRUNCATABLE) !== 0 && getU32(pk, 4) > 1 && rng.chance(0.5)) {
        room = CMSG_SPACE(4 * rng.range(0, getU32(pk, 4) - 1));   // too little room on purpose
      }
    }
    const m = yield* sys.recvmsg(c, buf, { controlLen: room });
    out.ops++;
    if (m.bytes === 0 && m.control.length === 0) break;
    if (peeked >= 0 && peeked !== m.bytes) note(out.anomalies, `receiver: peeked ${peeked} bytes, then received ${m.bytes}`);
    if (m.bytes < HDR) {
      note(out.anomalies, `receiver: a message of ${m.bytes} bytes`);
      continue;
    }
    const op = getU32(buf, 0), nfds = getU32(buf, 4);
    const fds = rightsOf(m.control);
    out.msgs++;
    out.fds += fds.length;
    if (fds.length < nfds) {
      out.truncated += nfds - fds.length;
      if ((m.flags & MSG_CTRUNC) === 0) note(out.anomalies, `receiver: op ${op}: ${fds.length} of ${nfds} descriptors and no MSG_CTRUNC`);
    } else if (fds.length > nfds) {
      note(out.anomalies, `receiver: op ${op}: ${fds.length} descriptors, ${nfds} sent`);
    }
    for (let i = 0; i < fds.length; i++) {
      putU32(tok, 0, op);
      putU32(tok, 4, i);
      // (A datagram payload's send may fail for want of an mbuf: try again.)
      const w = yield* tryc(again(sys, () => sys.send(fds[i], tok)));
      if (w instanceof SysError || w !== TOKEN) note(out.anomalies, `receiver: op ${op}: the token through descriptor ${i} gave ${w instanceof SysError ? w.code : w}`);
      yield* sys.close(fds[i]);
      out.ops += 2;
      out.bytes += TOKEN;
    }
    putU32(ans, 0, op);
    putU32(ans, 4, fds.length);
    yield* sys.send(c, ans);
    out.ops++;
  }
  return out;
}

/* The receiver: accept `senders` connections on path, each served by a thread on one of cpus. */
export function* rightsReceiver(sys: Sys, path: string, type: number, senders: number, cpus: number[], seed: number): Blocking<RightsRecv> {
  const out: RightsRecv = { msgs: 0, fds: 0, truncated: 0, peeks: 0, ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, type));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.listen(s, senders);
  const tids: number[] = [], cs: number[] = [];
  for (let i = 0; i < senders; i++) {
    const c = yield* again(sys, () => sys.accept(s));
    cs.push(c);
    tids.push(yield* sys.thread(rightsServe, { cpu: cpus[i % cpus.length], args: [c, (seed + i) >>> 0] }));
  }
  yield* sys.close(s);
  yield* sys.unlink(path);
  for (const t of tids) {
    const r = (yield* sys.join(t)) as RightsRecv;
    out.msgs += r.msgs;
    out.fds += r.fds;
    out.truncated += r.truncated;
    out.peeks += r.peeks;
    out.ops += r.ops;
    out.bytes += r.bytes;
    out.anomalies.push(...r.anomalies);
  }
  for (const c of cs) yield* sys.close(c);
  return out;
}

/* Cycles only unp_gc can free, then every descriptor closed. */
function* cycles(sys: Sys, rng: Rng, n: number, out: RightsSend): Blocking<void> {
  const one = new Uint8Array([7]);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.5)) {
      // A socket queued in its own receive buffer.
      const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, rng.pick([SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM])));
      yield* again(sys, () => sys.sendmsg(a, { buf: one, control: [scm_rights([b])] }));
      yield* sys.close(a);
      yield* sys.close(b);
      out.ops += 4;
    } else {
      // Two sockets, each queued in the other's receive buffer.
      const [c, d] = yield* again(sys, () => sys.socketpair(AF_LOCAL, rng.pick([SOCK_STREAM, SOCK_SEQPACKET])));
      const [e, f] = yield* again(sys, () => sys.socketpair(AF_LOCAL, rng.pick([SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM])));
      yield* again(sys, () => sys.sendmsg(c, { buf: one, control: [scm_rights([f])] }));   // f queued in d
      yield* again(sys, () => sys.sendmsg(e, { buf: one, control: [scm_rights([d])] }));   // d queued in f
      for (const fd of [c, d, e, f]) yield* sys.close(fd);
      out.ops += 8;
    }
    out.cycles++;
  }
  // Rights queued on a datagram pair that is closed: sorflush disposes of them, and the
  // passed socket's peer sees EOF once that last reference is gone.
  const [d1, d2] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_DGRAM));
  const [x, y] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  yield* again(sys, () => sys.sendmsg(d1, { buf: one, control: [scm_rights([x])] }));
  yield* sys.close(x);
  yield* sys.close(d1);
  yield* sys.close(d2);
  const eof = yield* sys.recv(y, new Uint8Array(4));
  if (eof !== 0) note(out.anomalies, `sender ${out.id}: a socket disposed of with its datagram pair: its peer read ${eof} bytes, not EOF`);
  yield* sys.close(y);
  out.disposed++;
  out.ops += 8;
  // One more AF_LOCAL socket detaching with rights in flight asks unp_gc for a pass.
  const [g, h] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  yield* sys.close(g);
  yield* sys.close(h);
  out.ops += 3;
}

/*
 * A sender: connect to path; n ops of 1-3 sockets passed in one message, each proved by
 * its token (or, when the receiver gave too little room, by EOF); then cycles.
 */
export function* rightsSender(sys: Sys, path: string, type: number, id: number, n: number, ncycles: number, seed: number): Blocking<RightsSend> {
  const rng = new Rng(seed);
  const out: RightsSend = { id, msgs: 0, fds: 0, truncated: 0, cycles: 0, disposed: 0, ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, type));
  out.ops += 1 + (yield* connectRetry(sys, s, path));
  const welcome = new Uint8Array(1);
  if ((yield* sys.recv(s, welcome)) !== 1) throw new Error(`sender ${id}: no welcome from the receiver`);
  const msg = new Uint8Array(HDR + 100), ans = new Uint8Array(8), tok = new Uint8Array(TOKEN);
  for (let op = 0; op < n; op++) {
    const k = rng.range(1, 3);
    const xs: number[] = [], ys: number[] = [];
    let flags = F_TRUNCATABLE;
    for (let i = 0; i < k; i++) {
      const t = rng.pick([SOCK_STREAM, SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM]);
      if (t === SOCK_DGRAM) flags = 0;
      const [x, y] = yield* again(sys, () => sys.socketpair(AF_LOCAL, t));
      xs.push(x);
      ys.push(y);
    }
    const len = HDR + rng.below(100);
    putU32(msg, 0, op);
    putU32(msg, 4, k);
    putU32(msg, 8, flags);
    yield* again(sys, () => sys.sendmsg(s, { buf: msg, len, control: [scm_rights(xs)] }));
    for (const x of xs) yield* sys.close(x);
    out.msgs++;
    out.fds += k;
    out.ops += 2 * k + 1 + k;
    // The answer: how many descriptors the receiver got (the first ones; the rest were closed).
    let got = 0;
    while (got < 8) {
      const r = yield* sys.recv(s, ans.subarray(got));
      if (r === 0) throw new Error(`sender ${id}: the receiver closed the connection at op ${op}`);
      got += r;
    }
    out.ops++;
    const received = getU32(ans, 4);
    if (getU32(ans, 0) !== op) note(out.anomalies, `sender ${id}: the answer to op ${op} names op ${getU32(ans, 0)}`);
    if (received < k && (flags & F_TRUNCATABLE) === 0) note(out.anomalies, `sender ${id}: op ${op}: ${received} of ${k} descriptors arrived`);
    out.truncated += k - Math.min(k, received);
    for (let i = 0; i < k; i++) {
      const r = yield* sys.recv(ys[i], tok);
      out.ops++;
      if (i < received) {
        if (r !== TOKEN || getU32(tok, 0) !== op || getU32(tok, 4) !== i) {
          note(out.anomalies, `sender ${id}: op ${op}: descriptor ${i}'s token came back as ${r} bytes ${Array.from(tok.subarray(0, Math.max(0, r))).join(',')}`);
        }
      } else if (r !== 0) {
        note(out.anomalies, `sender ${id}: op ${op}: descriptor ${i} did not fit the receiver's control room, yet its peer read ${r} bytes, not EOF`);
      }
      yield* sys.close(ys[i]);
      out.ops++;
    }
    out.bytes += len;
  }
  yield* sys.shutdown(s, 1);   // SHUT_WR: the receiver's thread sees EOF
  const left = yield* sys.recv(s, ans);
  if (left !== 0) note(out.anomalies, `sender ${id}: ${left} bytes after the last answer`);
  yield* sys.close(s);
  out.ops += 3;
  yield* cycles(sys, rng, ncycles, out);
  return out;
}
