/*
 * stream_progs.ts: the programs of the `stream` workload (stream.ts).  A direction of a
 * stream is a writer and a reader.  The writer sends `writes` chunks of the direction's
 * bytes (byteAt(seed, offset)) with random sizes and flags (MSG_DONTWAIT, whose EAGAIN
 * is followed by a blocking send, and whose partial count moves the offset; write()
 * instead of send()), then shuts its side down or closes it.  The reader receives until
 * EOF with random sizes and flags (MSG_PEEK, then the same bytes read for real;
 * MSG_WAITALL, short only at EOF; MSG_DONTWAIT, EAGAIN followed by a blocking read),
 * checking each byte at its offset, and keeps the FNV-1a of what arrived in order.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_SNDBUF, SO_RCVBUF, SHUT_WR, MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, EAGAIN, fnv1a, FNV_BASIS,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, Rng, connectRetry, fillAt, mismatchAt, note, tryc } from './progs_common.js';

/* What one side of a direction did. */
export interface DirRec {
  id: number;                // the direction
  role: 'w' | 'r';
  bytes: number;             // sent (accepted by send), or received
  h: number;                 // FNV-1a of those bytes, in order
  bad: number;               // reader: the offset of the first wrong byte, or -1
  calls: number;
  eagain: number;
  peeks: number;
  waitall: number;
}

export interface StreamResult { recs: DirRec[]; ops: number; bytes: number; anomalies: string[] }

/* One direction's parameters, as the plan hands them over (plain data). */
export interface DirSpec { id: number; seed: number; writes: number; maxWrite: number; maxRead: number; close: boolean; sndbuf: number }

/* A write size: mostly small, some a few clusters, a few larger than the 56 KB buffer. */
function writeSize(rng: Rng, max: number): number {
  const r = rng.below(100);
  const n = r < 60 ? rng.range(1, 512) : r < 92 ? rng.range(513, 8192) : rng.range(8193, 70_000);
  return Math.min(n, max);
}

function readSize(rng: Rng, max: number): number {
  const r = rng.below(100);
  const n = r < 40 ? rng.range(1, 256) : r < 85 ? rng.range(257, 16384) : rng.range(16385, 80_000);
  return Math.min(n, max);
}

/* The writer of direction d on fd. */
export function* streamWriter(sys: Sys, fd: number, d: DirSpec, anomalies: string[]): Blocking<DirRec> {
  const rng = new Rng(d.seed ^ 0x5157);
  const buf = new Uint8Array(d.maxWrite);
  const rec: DirRec = { id: d.id, role: 'w', bytes: 0, h: FNV_BASIS, bad: -1, calls: 0, eagain: 0, peeks: 0, waitall: 0 };
  // A small send buffer: the writer stops (SSB_STOP) after every few writes.
  if (d.sndbuf > 0) yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, d.sndbuf);
  for (let i = 0; i < d.writes; i++) {
    const n = writeSize(rng, d.maxWrite);
    fillAt(buf, 0, n, d.seed, rec.bytes);
    const how = rng.below(10);
    let r: number | SysError;
    rec.calls++;
    if (how < 2) {
      r = yield* tryc(sys.send(fd, buf, MSG_DONTWAIT, n));
      if (r instanceof SysError) {
        if (r.errno !== EAGAIN) throw r;
        rec.eagain++;
        rec.calls++;
        r = yield* sys.send(fd, buf, 0, n);
        if (r !== n) note(anomalies, `dir ${d.id}: a blocking send of ${n} after EAGAIN returned ${r}`);
      } else if (r < 1 || r > n) {
        note(anomalies, `dir ${d.id}: MSG_DONTWAIT send of ${n} returned ${r}`);
      }
    } else {
      r = how < 4 ? yield* sys.write(fd, buf, n) : yield* sys.send(fd, buf, 0, n);
      if (r !== n) note(anomalies, `dir ${d.id}: a blocking ${how < 4 ? 'write' : 'send'} of ${n} returned ${r}`);
    }
    rec.h = fnv1a(rec.h, buf, r);
    rec.bytes += r;
  }
  rec.calls++;
  if (d.close) yield* sys.close(fd);
  else yield* sys.shutdown(fd, SHUT_WR);
  return rec;
}

/* The reader of direction d on fd: until EOF. */
export function* streamReader(sys: Sys, fd: number, d: DirSpec, anomalies: string[]): Blocking<DirRec> {
  const rng = new Rng(d.seed ^ 0x4ead);
  const buf = new Uint8Array(d.maxRead);
  const rec: DirRec = { id: d.id, role: 'r', bytes: 0, h: FNV_BASIS, bad: -1, calls: 0, eagain: 0, peeks: 0, waitall: 0 };
  const rcvHiwat = yield* sys.getsockopt(fd, SOL_SOCKET, SO_RCVBUF);
  let mustEof = -1;          // a MSG_WAITALL read came back short at this offset: EOF must follow
  for (;;) {
    const n = readSize(rng, d.maxRead);
    const how = rng.below(20);
    let r: number;
    rec.calls++;
    if (how < 3) {
      // Peek, check, then take the same bytes for real.
      rec.peeks++;
      const p = yield* sys.recv(fd, buf, MSG_PEEK, n);
      if (p === 0) {
        r = 0;
      } else {
        const bad = mismatchAt(buf, 0, p, d.seed, rec.bytes);
        if (bad >= 0 && rec.bad < 0) rec.bad = rec.bytes + bad;
        rec.calls++;
        r = yield* sys.recv(fd, buf, 0, p);
        if (r !== p) note(anomalies, `dir ${d.id}: peeked ${p} bytes at ${rec.bytes}, then a read of ${p} gave ${r}`);
      }
    } else if (how < 6 && (d.sndbuf === 0 || n > rcvHiwat)) {
      // A MSG_WAITALL read up to so_rcv's hiwat waits, taking nothing, until all of it is
      // queued; the writer stops (SSB_STOP) once the queue holds its SO_SNDBUF.  A writer
      // with a small one would never get there (DragonFly 2008 deadlocks, as 4.4BSD's
      // sb_hiwat back-pressure did), so such a reader asks for more than its hiwat, which
      // takes the data as it comes.
      rec.waitall++;
      r = yield* sys.recv(fd, buf, MSG_WAITALL, n);
      if (mustEof < 0 && r > 0 && r < n) mustEof = rec.bytes + r;
    } else if (how < 9) {
      const t = yield* tryc(sys.recv(fd, buf, MSG_DONTWAIT, n));
      if (t instanceof SysError) {
        if (t.errno !== EAGAIN) throw t;
        rec.eagain++;
        rec.calls++;
        r = yield* sys.recv(fd, buf, 0, n);
      } else {
        r = t;
      }
    } else if (how < 12) {
      r = yield* sys.read(fd, buf, n);
    } else {
      r = yield* sys.recv(fd, buf, 0, n);
    }
    if (r === 0) break;
    if (mustEof >= 0 && mustEof <= rec.bytes) {
      // A MSG_WAITALL read with no signal, timeout or error is short only at EOF.
      note(anomalies, `dir ${d.id}: MSG_WAITALL returned short at offset ${mustEof}, and more data followed`);
      mustEof = -1;
    }
    const bad = mismatchAt(buf, 0, r, d.seed, rec.bytes);
    if (bad >= 0 && rec.bad < 0) rec.bad = rec.bytes + bad;
    rec.h = fnv1a(rec.h, buf, r);
    rec.bytes += r;
  }
  return rec;
}

/* A thread of a process: one side of a direction on fd. */
export function* streamSide(sys: Sys, role: 'w' | 'r', fd: number, d: DirSpec): Blocking<{ rec: DirRec; anomalies: string[] }> {
  const anomalies: string[] = [];
  const rec = role === 'w' ? yield* streamWriter(sys, fd, d, anomalies) : yield* streamReader(sys, fd, d, anomalies);
  return { rec, anomalies };
}

/*
 * Run the sides of a stream on fd: `mine` in this thread, `other` (if any) in a thread on
 * otherCpu; close fd at the end unless a writer closed it.
 */
function* runSides(sys: Sys, fd: number, mine: ['w' | 'r', DirSpec], other: ['w' | 'r', DirSpec] | null,
    otherCpu: number, out: StreamResult): Blocking<void> {
  let tid = -1;
  if (other !== null) tid = yield* sys.thread(streamSide, { cpu: otherCpu, args: [other[0], fd, other[1]] });
  const r = yield* streamSide(sys, mine[0], fd, mine[1]);
  out.recs.push(r.rec);
  out.anomalies.push(...r.anomalies);
  if (tid >= 0) {
    const t = (yield* sys.join(tid)) as { rec: DirRec; anomalies: string[] };
    out.recs.push(t.rec);
    out.anomalies.push(...t.anomalies);
  }
  const closedByWriter = (mine[0] === 'w' && mine[1].close) || (other !== null && other[0] === 'w' && other[1].close);
  if (!closedByWriter) yield* sys.close(fd);
  for (const rec of out.recs) {
    out.ops += rec.calls;
    if (rec.role === 'w') out.bytes += rec.bytes;
  }
}

/*
 * A socketpair in one process: this thread writes d0 on one end while a thread on
 * otherCpu reads it at the other; with d1, the reverse direction too, written by a
 * third thread (on otherCpu) and read by a fourth (here).
 */
export function* streamPair(sys: Sys, otherCpu: number, d0: DirSpec, d1: DirSpec | null): Blocking<StreamResult> {
  const out: StreamResult = { recs: [], ops: 0, bytes: 0, anomalies: [] };
  const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  if (d1 === null) {
    const tid = yield* sys.thread(streamSide, { cpu: otherCpu, args: ['r', b, d0] });
    const w = yield* streamSide(sys, 'w', a, d0);
    const r = (yield* sys.join(tid)) as { rec: DirRec; anomalies: string[] };
    out.recs.push(w.rec, r.rec);
    out.anomalies.push(...w.anomalies, ...r.anomalies);
  } else {
    // d0: a -> b, d1: b -> a.  Writers shut down (never close) so the other direction lives on.
    const t1 = yield* sys.thread(streamSide, { cpu: otherCpu, args: ['r', b, d0] });
    const t2 = yield* sys.thread(streamSide, { cpu: otherCpu, args: ['w', b, { ...d1, close: false }] });
    const t3 = yield* sys.thread(streamSide, { args: ['r', a, d1] });
    const w = yield* streamSide(sys, 'w', a, { ...d0, close: false });
    out.recs.push(w.rec);
    out.anomalies.push(...w.anomalies);
    for (const t of [t1, t2, t3]) {
      const r = (yield* sys.join(t)) as { rec: DirRec; anomalies: string[] };
      out.recs.push(r.rec);
      out.anomalies.push(...r.anomalies);
    }
  }
  for (const fd of [a, b]) {
    const e = yield* tryc(sys.close(fd));
    if (e instanceof SysError && e.code !== 'EBADF') throw e;   // a writer may have closed it
  }
  for (const rec of out.recs) {
    out.ops += rec.calls;
    if (rec.role === 'w') out.bytes += rec.bytes;
  }
  return out;
}

/* A server: accept one connection on path, read d0 from it (and write d1 back from a thread on otherCpu). */
export function* streamServer(sys: Sys, path: string, otherCpu: number, d0: DirSpec, d1: DirSpec | null): Blocking<StreamResult> {
  const out: StreamResult = { recs: [], ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.listen(s, 1);
  const c = yield* again(sys, () => sys.accept(s));
  yield* sys.close(s);
  yield* sys.unlink(path);
  out.ops += 5;
  yield* runSides(sys, c, ['r', d0], d1 === null ? null : ['w', { ...d1, close: false }], otherCpu, out);
  return out;
}

/* The client: connect to path, write d0 (and read d1 in a thread on otherCpu). */
export function* streamClient(sys: Sys, path: string, otherCpu: number, d0: DirSpec, d1: DirSpec | null): Blocking<StreamResult> {
  const out: StreamResult = { recs: [], ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  out.ops += 1 + (yield* connectRetry(sys, s, path));
  yield* runSides(sys, s, ['w', d1 === null ? d0 : { ...d0, close: false }], d1 === null ? null : ['r', d1], otherCpu, out);
  return out;
}
