/*
 * accept_progs.ts: the programs of the `accept` workload (accept.ts).  A listener with a
 * small backlog and acceptor threads on several CPUs; connector processes that connect
 * over and over (retrying ECONNREFUSED while the queue is full), and on each connection
 * either exchange a hello (8 bytes out, 8 bytes back) or close at once (churn).  First,
 * the listener measures its backlog's limit on a listener of its own.
 */

import { Sys, SysError, AF_LOCAL, SOCK_STREAM, SHUT_RDWR, SHUT_WR, ECONNREFUSED, ENOENT } from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, transient, Rng, connectRetry, getU32, note, putU32, tryc } from './progs_common.js';

const SENTINEL = 0xffffffff;
const ACK = 0xa5a5a5a5;

export interface AcceptorResult {
  hellos: number[]; churn: number; accepted: number;
  probe?: { backlog: number; queued: number; limit: number };
  ops: number; bytes: number; anomalies: string[];
}
export interface ConnectorResult { hellos: number[]; churn: number; refused: number; ops: number; bytes: number; anomalies: string[] }

/* Read up to buf.length bytes, until EOF: the count. */
function* readUpTo(sys: Sys, fd: number, buf: Uint8Array): Blocking<number> {
  let got = 0;
  while (got < buf.length) {
    const n = yield* sys.recv(fd, buf.subarray(got));
    if (n === 0) break;
    got += n;
  }
  return got;
}

/* An acceptor thread: accept, take the hello (or see the peer gone), answer, report one byte on ctl. */
export function* acceptor(sys: Sys, s: number, ctl: number, seed: number): Blocking<AcceptorResult> {
  const rng = new Rng(seed);
  const out: AcceptorResult = { hellos: [], churn: 0, accepted: 0, ops: 0, bytes: 0, anomalies: [] };
  const buf = new Uint8Array(8);
  for (;;) {
    // Now and then fall behind, so the queue fills and connectors are refused.
    if (rng.chance(0.15)) yield* sys.sleep(1);
    const c = yield* again(sys, () => sys.accept(s));
    out.ops++;
    const n = yield* tryc(readUpTo(sys, c, buf));
    out.ops++;
    if (n instanceof SysError) {
      note(out.anomalies, `acceptor: reading a hello failed with ${n.code}`);
    } else if (n === 0) {
      out.churn++;
    } else if (n !== 8) {
      note(out.anomalies, `acceptor: a hello of ${n} bytes, then EOF`);
    } else {
      const id = getU32(buf, 0);
      if (id === SENTINEL) {
        yield* sys.close(c);
        return out;
      }
      putU32(buf, 4, (getU32(buf, 4) ^ ACK) >>> 0);
      const w = yield* tryc(sys.send(c, buf));
      out.ops++;
      if (w instanceof SysError) note(out.anomalies, `acceptor: answering hello ${id.toString(16)} failed with ${w.code}`);
      out.hellos.push(id);
    }
    yield* sys.close(c);
    out.accepted++;
    yield* sys.send(ctl, buf.subarray(0, 1));
    out.ops += 2;
  }
}

/*
 * The backlog's limit, where nothing else connects: listen(p, backlog) on a path of its
 * own and connect without accepting until refused.  sonewconn refuses a connection once
 * so_qlen > 3 * so_qlimit / 2, so floor(3 * backlog / 2) + 1 connections queue.  A refusal
 * is tried again a few times (the zone fault site can refuse one, sonewconn's soalloc
 * failing): a full queue refuses every time.  Then every queued connection is accepted.
 */
function* backlogProbe(sys: Sys, path: string, backlog: number, out: AcceptorResult): Blocking<void> {
  const p = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  yield* again(sys, () => sys.bind(p, path));
  yield* sys.listen(p, backlog);
  const limit = Math.floor((3 * backlog) / 2) + 1;
  const cs: number[] = [];
  for (let i = 0; i < limit + 2; i++) {
    const c = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
    let ok = false;
    for (let t = 0; t < 20 && !ok; t++) {
      const r = yield* tryc(sys.connect(c, path));
      out.ops++;
      if (!(r instanceof SysError)) ok = true;
      else if (r.errno === ECONNREFUSED || transient(r)) yield* sys.sched_yield();
      else throw r;
    }
    if (!ok) {
      yield* sys.close(c);
      break;
    }
    cs.push(c);
  }
  out.probe = { backlog, queued: cs.length, limit };
  for (let i = 0; i < cs.length; i++) yield* sys.close(yield* again(sys, () => sys.accept(p)));
  for (const c of [...cs, p]) yield* sys.close(c);
  yield* sys.unlink(path);
  out.ops += 6 + 3 * cs.length;
}

/*
 * The listener: listen(s, backlog) on path, acceptor threads on `cpus`, until `total`
 * connections were accepted; then one sentinel connection per acceptor ends them.
 */
export function* acceptListener(sys: Sys, path: string, backlog: number, total: number, cpus: number[], seed: number): Blocking<AcceptorResult> {
  const out: AcceptorResult = { hellos: [], churn: 0, accepted: 0, ops: 0, bytes: 0, anomalies: [] };
  yield* backlogProbe(sys, `${path}.probe`, backlog, out);
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.listen(s, backlog);
  const [ctl, ctl2] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  out.ops += 4;
  const tids: number[] = [];
  for (const cpu of cpus) tids.push(yield* sys.thread(acceptor, { cpu, args: [s, ctl2, (seed + cpu) >>> 0] }));
  const buf = new Uint8Array(64);
  for (let got = 0; got < total;) {
    const n = yield* sys.recv(ctl, buf, 0, Math.min(buf.length, total - got));
    out.ops++;
    if (n === 0) break;
    got += n;
  }
  const hello = new Uint8Array(8);
  putU32(hello, 0, SENTINEL);
  for (let i = 0; i < tids.length; i++) {
    const k = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
    yield* connectRetry(sys, k, path);
    yield* sys.send(k, hello);
    yield* sys.close(k);
    out.ops += 4;
  }
  for (const t of tids) {
    const r = (yield* sys.join(t)) as AcceptorResult;
    out.hellos.push(...r.hellos);
    out.churn += r.churn;
    out.accepted += r.accepted;
    out.ops += r.ops;
    out.anomalies.push(...r.anomalies);
  }
  for (const fd of [s, ctl, ctl2]) yield* sys.close(fd);
  yield* sys.unlink(path);
  return out;
}

/*
 * A connector: k connections to path.  Each exchanges a hello (id << 16 | j, a nonce;
 * the answer must be the nonce ^ ACK) or is closed at once (churn: close, or shutdown
 * then close); now and then a connect to a path nobody bound (ENOENT).
 */
export function* connector(sys: Sys, path: string, id: number, k: number, seed: number): Blocking<ConnectorResult> {
  const rng = new Rng(seed);
  const out: ConnectorResult = { hellos: [], churn: 0, refused: 0, ops: 0, bytes: 0, anomalies: [] };
  const buf = new Uint8Array(8), back = new Uint8Array(8);
  for (let j = 0; j < k; j++) {
    if (rng.chance(0.1)) {
      const x = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
      const e = yield* tryc(sys.connect(x, `${path}.nobody`));
      if (!(e instanceof SysError) || e.errno !== ENOENT) note(out.anomalies, `connect to an unbound path gave ${e instanceof SysError ? e.code : 'success'}`);
      yield* sys.close(x);
      out.ops += 3;
    }
    const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
    const refused = yield* connectRetry(sys, s, path);
    out.refused += refused;
    out.ops += 2 + refused;
    if (rng.chance(0.3)) {
      const how = rng.below(3);
      if (how === 1) yield* sys.shutdown(s, SHUT_RDWR);
      else if (how === 2) yield* sys.shutdown(s, SHUT_WR);
      yield* sys.close(s);
      out.churn++;
      out.ops += how === 0 ? 1 : 2;
      continue;
    }
    const hid = ((id << 16) | j) >>> 0;
    const nonce = rng.next();
    putU32(buf, 0, hid);
    putU32(buf, 4, nonce);
    yield* sys.send(s, buf);
    const n = yield* readUpTo(sys, s, back);
    out.ops += 3;
    out.bytes += 8;
    if (n !== 8 || getU32(back, 0) !== hid || getU32(back, 4) !== ((nonce ^ ACK) >>> 0)) {
      note(out.anomalies, `connector ${id}: hello ${j} answered with ${n} bytes ${Array.from(back.subarray(0, n)).join(',')}`);
    } else {
      out.hellos.push(hid);
    }
    yield* sys.close(s);
  }
  return out;
}
