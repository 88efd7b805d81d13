/*
 * records_progs.ts: the programs of the `dgram` and `seqpacket` workloads (records.ts).
 * Every record carries a header (sender id, sequence number, length, checksum) and a
 * payload made from (id, seq), so the receiver knows each one arrived whole.
 *
 * dgram: senders on several CPUs send to one bound receiver (sendto, or connect then
 * send); a send the full receiver refuses (ENOBUFS) was not sent, one larger than
 * net.local.dgram.maxdgram is EMSGSIZE.  Per sender, the receiver must see exactly the
 * records whose send succeeded, in the order sent (one receive buffer, appended in call
 * order), each whole.
 *
 * seqpacket: each sender has a connection (to a listener, or a socketpair in one
 * process); records arrive in order, none lost, none cut, each exactly once.  A send is
 * all or nothing: MSG_DONTWAIT gives EAGAIN or the whole record, a record larger than the
 * send buffer EMSGSIZE.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_DGRAM, SOCK_SEQPACKET, SOL_SOCKET, SO_RCVTIMEO, SO_SNDBUF, SHUT_WR, MSG_PEEK, MSG_DONTWAIT,
  MSG_TRUNC, EAGAIN, ENOBUFS, EMSGSIZE, ENOENT, ECONNREFUSED,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, REC_HDR, Rng, connectRetry, makeRecord, note, parseRecord, tryc } from './progs_common.js';

const END_SEQ = 0xffffffff;

/* What a receiver saw from one sender (or one connection). */
export interface SeenFrom { id: number; count: number; sum: number; last: number }
/* What a sender sent. */
export interface SentBy { id: number; count: number; sum: number; last: number; refused: number; oversize: number; eagain: number }

export interface RecvResult { from: SeenFrom[]; ops: number; bytes: number; anomalies: string[] }
export interface SendResult { sent: SentBy[]; ops: number; bytes: number; anomalies: string[] }

function seen(map: Map<number, SeenFrom>, id: number): SeenFrom {
  let s = map.get(id);
  if (s === undefined) {
    s = { id, count: 0, sum: 0, last: -1 };
    map.set(id, s);
  }
  return s;
}

/* ---- dgram ---- */

/*
 * The receiver: bind path, take records until every one of `senders` sent its end
 * marker (waits bounded by SO_RCVTIMEO: waitMs).  Some receives peek first, and the
 * record read for real must be the one peeked.
 */
export function* dgramReceiver(sys: Sys, path: string, senders: number, seed: number, waitMs: number): Blocking<RecvResult> {
  const rng = new Rng(seed);
  const out: RecvResult = { from: [], ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_DGRAM));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, { sec: Math.floor(waitMs / 1000), usec: (waitMs % 1000) * 1000 });
  out.ops += 3;
  const buf = new Uint8Array(4096), pk = new Uint8Array(4096);
  const from = new Map<number, SeenFrom>();
  let ends = 0;
  while (ends < senders) {
    let n: number;
    const how = rng.below(10);
    let peeked = -1;
    if (how < 2) {
      const p = yield* tryc(sys.recv(s, pk, MSG_PEEK));
      out.ops++;
      if (p instanceof SysError) {
        if (p.errno !== EAGAIN) throw p;
        note(out.anomalies, `dgram receiver: no record for ${waitMs} ms with ${senders - ends} senders to end`);
        break;
      }
      peeked = p;
    }
    let r: number | SysError | { bytes: number; flags: number };
    if (how === 2 || how === 3) {
      const t = yield* tryc(sys.recvmsg(s, buf, {}));
      r = t instanceof SysError ? t : { bytes: t.bytes, flags: t.flags };
    } else if (how === 4) {
      const t = yield* tryc(sys.recvfrom(s, buf));
      r = t instanceof SysError ? t : t[0];
    } else {
      r = yield* tryc(sys.recv(s, buf));
    }
    out.ops++;
    if (r instanceof SysError) {
      if (r.errno !== EAGAIN) throw r;
      note(out.anomalies, `dgram receiver: no record for ${waitMs} ms with ${senders - ends} senders to end`);
      break;
    }
    if (typeof r === 'object') {
      if ((r.flags & MSG_TRUNC) !== 0) note(out.anomalies, `dgram receiver: MSG_TRUNC on a ${r.bytes}-byte record in a 4096-byte buffer`);
      n = r.bytes;
    } else {
      n = r;
    }
    if (peeked >= 0 && (peeked !== n || !buf.subarray(0, n).every((x, i) => x === pk[i]))) {
      note(out.anomalies, `dgram receiver: peeked a ${peeked}-byte record, then read a different one (${n} bytes)`);
    }
    const rec = parseRecord(buf, n);
    if (typeof rec === 'string') {
      note(out.anomalies, `dgram receiver: ${rec}`);
      continue;
    }
    const f = seen(from, rec.id);
    if (rec.seq === END_SEQ) {
      ends++;
      continue;
    }
    if (rec.seq <= f.last) note(out.anomalies, `dgram receiver: from sender ${rec.id}, record ${rec.seq} after ${f.last}`);
    f.last = rec.seq;
    f.count++;
    f.sum = (f.sum + rec.sum) >>> 0;
    out.bytes += n;
  }
  yield* sys.close(s);
  yield* sys.unlink(path);
  out.ops += 2;
  out.from = [...from.values()];
  return out;
}

/*
 * A sender: n records of random length to path (sendto, or connect then send), some
 * oversized (EMSGSIZE expected); ENOBUFS means not sent.  Then the end marker, retried
 * until the receiver takes it.
 */
export function* dgramSender(sys: Sys, path: string, id: number, n: number, seed: number): Blocking<SendResult> {
  const rng = new Rng(seed);
  const out: SendResult = { sent: [], ops: 0, bytes: 0, anomalies: [] };
  const me: SentBy = { id, count: 0, sum: 0, last: -1, refused: 0, oversize: 0, eagain: 0 };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_DGRAM));
  const maxdgram = yield* sys.getsockopt(s, SOL_SOCKET, SO_SNDBUF);    // net.local.dgram.maxdgram
  const connected = rng.chance(0.5);
  out.ops += 2;
  if (connected) out.ops += 1 + (yield* connectRetry(sys, s, path));
  const buf = new Uint8Array(maxdgram + 1024);
  const send = (len: number): Blocking<number | SysError> =>
    connected ? tryc(sys.send(s, buf, 0, len)) : tryc(sys.sendto(s, buf, 0, path, len));
  for (let seq = 0; seq < n; seq++) {
    const big = rng.chance(0.05);
    const len = big ? rng.range(maxdgram + 1, maxdgram + 1000) : rng.chance(0.3) ? rng.range(REC_HDR, 64) : rng.range(REC_HDR, maxdgram);
    const h = makeRecord(buf, id, seq, len);
    let r: number | SysError;
    for (let tries = 0; ; tries++) {
      r = yield* send(len);
      out.ops++;
      // Before the receiver has bound its path, sendto finds nothing there (ENOENT).
      if (r instanceof SysError && (r.errno === ENOENT || r.errno === ECONNREFUSED) && !connected && me.count === 0 && tries < 20_000) {
        yield* sys.sched_yield();
        continue;
      }
      break;
    }
    if (r instanceof SysError) {
      if (r.errno === EMSGSIZE && big) { me.oversize++; continue; }
      // ENOBUFS: the receiver is full, or an mbuf or the sockaddr could not be had (sendto
      // copies the address in before sosend looks at the size).
      if (r.errno === ENOBUFS) {
        me.refused++;
        if (rng.chance(0.5)) yield* sys.sched_yield();
        continue;
      }
      note(out.anomalies, `dgram sender ${id}: a ${len}-byte record (maxdgram ${maxdgram}) failed with ${r.code}`);
      continue;
    }
    if (big) note(out.anomalies, `dgram sender ${id}: a ${len}-byte record over maxdgram ${maxdgram} was sent`);
    if (r !== len) note(out.anomalies, `dgram sender ${id}: a ${len}-byte record sent as ${r} bytes`);
    me.count++;
    me.sum = (me.sum + h) >>> 0;
    me.last = seq;
    out.bytes += len;
  }
  makeRecord(buf, id, END_SEQ, REC_HDR);
  for (let tries = 0; ; tries++) {
    const r = yield* send(REC_HDR);
    out.ops++;
    if (!(r instanceof SysError)) break;
    if ((r.errno !== ENOBUFS && r.errno !== ENOENT) || tries > 20_000) {
      note(out.anomalies, `dgram sender ${id}: the end marker failed with ${r.code} after ${tries} tries`);
      break;
    }
    if (tries % 4 === 3) yield* sys.sleep(1);
    else yield* sys.sched_yield();
  }
  yield* sys.close(s);
  out.sent.push(me);
  return out;
}

/* ---- seqpacket ---- */

/* Read one connection's records until EOF: in order from 0, whole, from one sender. */
export function* seqReader(sys: Sys, fd: number, seed: number, maxRec: number): Blocking<RecvResult> {
  const rng = new Rng(seed);
  const out: RecvResult = { from: [], ops: 0, bytes: 0, anomalies: [] };
  const buf = new Uint8Array(maxRec + 64), pk = new Uint8Array(maxRec + 64);
  let f: SeenFrom | null = null;
  for (;;) {
    const how = rng.below(10);
    let n: number;
    out.ops++;
    if (how < 2) {
      const p = yield* sys.recv(fd, pk, MSG_PEEK);
      n = yield* sys.recv(fd, buf);
      out.ops++;
      if (p !== n || !buf.subarray(0, n).every((x, i) => x === pk[i])) {
        note(out.anomalies, `seqpacket reader: peeked a ${p}-byte record, then read a different one (${n} bytes)`);
      }
    } else if (how < 4) {
      const t = yield* tryc(sys.recv(fd, buf, MSG_DONTWAIT));
      if (t instanceof SysError) {
        if (t.errno !== EAGAIN) throw t;
        n = yield* sys.recv(fd, buf);
        out.ops++;
      } else {
        n = t;
      }
    } else if (how < 6) {
      const m = yield* sys.recvmsg(fd, buf, {});
      if ((m.flags & MSG_TRUNC) !== 0) note(out.anomalies, `seqpacket reader: MSG_TRUNC on a ${m.bytes}-byte read`);
      n = m.bytes;
    } else {
      n = yield* sys.recv(fd, buf);
    }
    if (n === 0) break;
    const rec = parseRecord(buf, n);
    if (typeof rec === 'string') {
      note(out.anomalies, `seqpacket reader: ${rec}`);
      continue;
    }
    if (f === null) f = { id: rec.id, count: 0, sum: 0, last: -1 };
    if (rec.id !== f.id) note(out.anomalies, `seqpacket reader: a record of sender ${rec.id} on sender ${f.id}'s connection`);
    if (rec.seq !== f.last + 1) note(out.anomalies, `seqpacket reader: sender ${f.id}'s record ${rec.seq} after ${f.last}`);
    f.last = rec.seq;
    f.count++;
    f.sum = (f.sum + rec.sum) >>> 0;
    out.bytes += n;
  }
  if (f !== null) out.from.push(f);
  return out;
}

/* Send n records of sender id on fd, in order; then shut down writing or close. */
export function* seqWriter(sys: Sys, fd: number, id: number, n: number, seed: number, maxRec: number): Blocking<SendResult> {
  const rng = new Rng(seed);
  const hiwat = yield* sys.getsockopt(fd, SOL_SOCKET, SO_SNDBUF);
  const out: SendResult = { sent: [], ops: 0, bytes: 0, anomalies: [] };
  const me: SentBy = { id, count: 0, sum: 0, last: -1, refused: 0, oversize: 0, eagain: 0 };
  const buf = new Uint8Array(Math.max(maxRec, hiwat + 1024));
  for (let seq = 0; seq < n;) {
    if (rng.chance(0.03)) {
      // Larger than the send buffer: refused whole.
      const len = rng.range(hiwat + 1, hiwat + 1024);
      makeRecord(buf, id, 0x7fffffff, len);
      const r = yield* tryc(sys.send(fd, buf, 0, len));
      out.ops++;
      if (r instanceof SysError && r.errno === EMSGSIZE) me.oversize++;
      else note(out.anomalies, `seqpacket sender ${id}: a ${len}-byte record over the ${hiwat}-byte buffer gave ${r instanceof SysError ? r.code : r}`);
      continue;
    }
    const len = rng.chance(0.4) ? rng.range(REC_HDR, 128) : rng.range(REC_HDR, maxRec);
    const h = makeRecord(buf, id, seq, len);
    const dontwait = rng.chance(0.25);
    let r = yield* tryc(sys.send(fd, buf, dontwait ? MSG_DONTWAIT : 0, len));
    out.ops++;
    if (r instanceof SysError && r.errno === EAGAIN && dontwait) {
      me.eagain++;
      r = yield* tryc(sys.send(fd, buf, 0, len));
      out.ops++;
    }
    if (r instanceof SysError) throw r;
    if (r !== len) note(out.anomalies, `seqpacket sender ${id}: a ${len}-byte record sent as ${r} bytes`);
    me.count++;
    me.sum = (me.sum + h) >>> 0;
    me.last = seq;
    out.bytes += len;
    seq++;
  }
  if (rng.chance(0.5)) yield* sys.shutdown(fd, SHUT_WR);
  else yield* sys.close(fd);
  out.ops++;
  out.sent.push(me);
  return out;
}

function merge(into: { ops: number; bytes: number; anomalies: string[] }, r: { ops: number; bytes: number; anomalies: string[] }): void {
  into.ops += r.ops;
  into.bytes += r.bytes;
  into.anomalies.push(...r.anomalies);
}

/*
 * The listener: accept `conns` seqpacket connections on path, each read by a thread on
 * one of `cpus` (the CPUs listed, in turn).
 */
export function* seqListener(sys: Sys, path: string, conns: number, cpus: number[], seed: number, maxRec: number): Blocking<RecvResult> {
  const out: RecvResult = { from: [], ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_SEQPACKET));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.listen(s, conns);
  out.ops += 3;
  const tids: number[] = [], fds: number[] = [];
  for (let i = 0; i < conns; i++) {
    const c = yield* again(sys, () => sys.accept(s));
    out.ops++;
    fds.push(c);
    tids.push(yield* sys.thread(seqReader, { cpu: cpus[i % cpus.length], args: [c, (seed + i) >>> 0, maxRec] }));
  }
  yield* sys.close(s);
  yield* sys.unlink(path);
  for (const t of tids) {
    const r = (yield* sys.join(t)) as RecvResult;
    merge(out, r);
    out.bytes -= r.bytes;      // the senders count the bytes
    out.from.push(...r.from);
  }
  for (const fd of fds) yield* sys.close(fd);
  return out;
}

/* A sender process: connect to path and send. */
export function* seqSender(sys: Sys, path: string, id: number, n: number, seed: number, maxRec: number): Blocking<SendResult> {
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_SEQPACKET));
  const refusals = yield* connectRetry(sys, s, path);
  const r = yield* seqWriter(sys, s, id, n, seed, maxRec);
  r.ops += 2 + refusals;
  const e = yield* tryc(sys.close(s));
  if (e instanceof SysError && e.code !== 'EBADF') throw e;
  return r;
}

/* A socketpair in one process: this thread writes, a thread on otherCpu reads. */
export function* seqPair(sys: Sys, otherCpu: number, id: number, n: number, seed: number, maxRec: number): Blocking<{ rx: RecvResult; tx: SendResult }> {
  const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_SEQPACKET));
  const t = yield* sys.thread(seqReader, { cpu: otherCpu, args: [b, (seed ^ 0x77) >>> 0, maxRec] });
  const tx = yield* seqWriter(sys, a, id, n, seed, maxRec);
  const rx = (yield* sys.join(t)) as RecvResult;
  for (const fd of [a, b]) {
    const e = yield* tryc(sys.close(fd));
    if (e instanceof SysError && e.code !== 'EBADF') throw e;
  }
  return { rx, tx };
}
