/*
 * readiness_progs.ts: the programs of the `readiness` workload (readiness.ts).  One
 * process owns k socketpairs (stream or seqpacket); a writer thread per pair, on the
 * CPUs given, writes the pair's bytes into one end (send, or aio_write) and closes it;
 * the main thread reads every other end through one event loop: poll, select, kevent
 * (level-triggered, or EV_CLEAR drained until EAGAIN), or aio_read with aio_suspend.
 *
 * What readiness promises is checked as it is used: a descriptor reported readable
 * gives data or EOF to a MSG_DONTWAIT read, never EAGAIN; kevent's data is no more than
 * what the read then gets; a socket never reports POLLHUP, POLLERR or POLLNVAL here (the
 * loop polls only open descriptors, and DragonFly 2008 sockets report neither of the
 * first two); an infinite wait never returns empty.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_SEQPACKET, MSG_DONTWAIT, EAGAIN, EINPROGRESS, POLLIN, POLLRDNORM, POLLHUP,
  POLLERR, POLLNVAL, INFTIM, EVFILT_READ, EV_ADD, EV_CLEAR, EV_EOF, EV_ERROR, fnv1a, FNV_BASIS, type PollFd, type Kevent,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, Rng, fillAt, mismatchAt, note, tryc } from './progs_common.js';

export type Mode = 'poll' | 'select' | 'kevent' | 'kevent_clear' | 'aio';

export interface PairEnd { id: number; bytes: number; h: number; bad: number }
export interface ReadyResult { mode: Mode; writers: PairEnd[]; readers: PairEnd[]; waits: number; ops: number; bytes: number; anomalies: string[] }

/* A writer thread: `writes` chunks into fd (send or aio_write), then close it. */
export function* rdWriter(sys: Sys, fd: number, id: number, seed: number, writes: number, maxChunk: number, aio: boolean): Blocking<{ end: PairEnd; calls: number; anomalies: string[] }> {
  const rng = new Rng(seed ^ 0x77);
  const end: PairEnd = { id, bytes: 0, h: FNV_BASIS, bad: -1 };
  const anomalies: string[] = [];
  const buf = new Uint8Array(maxChunk);
  let calls = 0;
  for (let i = 0; i < writes; i++) {
    const n = rng.range(1, maxChunk);
    fillAt(buf, 0, n, seed, end.bytes);
    let w: number;
    if (aio && rng.chance(0.5)) {
      const h = yield* sys.aio_write(fd, buf, n);
      while ((yield* sys.aio_error(h)) === EINPROGRESS) { yield* sys.aio_suspend([h]); calls++; }
      w = yield* sys.aio_return(h);
      calls += 3;
    } else {
      w = yield* sys.send(fd, buf, 0, n);
      calls++;
    }
    if (w !== n) note(anomalies, `pair ${id}: a write of ${n} moved ${w}`);
    if (w > 0) {
      end.h = fnv1a(end.h, buf, w);
      end.bytes += w;
    }
    if (rng.chance(0.2)) yield* sys.sched_yield();
  }
  yield* sys.close(fd);
  return { end, calls: calls + 1, anomalies };
}

interface Rd { id: number; fd: number; seed: number; end: PairEnd; open: boolean }

/* Take what a readable descriptor has (MSG_DONTWAIT): the bytes read, 0 at EOF, -1 for EAGAIN. */
function* take(sys: Sys, r: Rd, buf: Uint8Array, len: number, out: ReadyResult): Blocking<number> {
  const n = yield* tryc(sys.recv(r.fd, buf, MSG_DONTWAIT, len));
  out.ops++;
  if (n instanceof SysError) {
    if (n.errno !== EAGAIN) throw n;
    return -1;
  }
  if (n === 0) {
    yield* sys.close(r.fd);
    out.ops++;
    r.open = false;
    return 0;
  }
  const bad = mismatchAt(buf, 0, n, r.seed, r.end.bytes);
  if (bad >= 0 && r.end.bad < 0) r.end.bad = r.end.bytes + bad;
  r.end.h = fnv1a(r.end.h, buf, n);
  r.end.bytes += n;
  return n;
}

const BAD_REVENTS = POLLHUP | POLLERR | POLLNVAL;

function* loopPoll(sys: Sys, rds: Rd[], rng: Rng, buf: Uint8Array, len: () => number, out: ReadyResult): Blocking<void> {
  while (rds.some((r) => r.open)) {
    const open = rds.filter((r) => r.open);
    const fds: PollFd[] = open.map((r) => ({ fd: r.fd, events: POLLIN | POLLRDNORM }));
    const t = rng.below(10);
    const timeout = t < 6 ? INFTIM : t < 8 ? 0 : 10;
    const n = yield* sys.poll(fds, timeout);
    out.waits++;
    out.ops++;
    if (n === 0) {
      if (timeout === INFTIM) note(out.anomalies, 'poll with INFTIM returned 0');
      if (timeout === 0) yield* sys.sched_yield();
      continue;
    }
    let seen = 0;
    for (let i = 0; i < fds.length; i++) {
      const rev = fds[i].revents ?? 0;
      if (rev !== 0) seen++;
      if ((rev & BAD_REVENTS) !== 0) note(out.anomalies, `poll: revents ${rev.toString(16)} on an open socket`);
      if ((rev & POLLIN) !== 0) {
        if ((rev & POLLRDNORM) === 0) note(out.anomalies, `poll: POLLIN without POLLRDNORM (${rev.toString(16)})`);
        if ((yield* take(sys, open[i], buf, len(), out)) < 0) note(out.anomalies, `poll: pair ${open[i].id} reported POLLIN, then EAGAIN`);
      }
    }
    if (seen !== n) note(out.anomalies, `poll returned ${n} with ${seen} entries' revents set`);
  }
}

function* loopSelect(sys: Sys, rds: Rd[], rng: Rng, buf: Uint8Array, len: () => number, out: ReadyResult): Blocking<void> {
  while (rds.some((r) => r.open)) {
    const open = rds.filter((r) => r.open);
    const set = open.map((r) => r.fd);
    const nfds = Math.max(...set) + 1;
    const t = rng.below(10);
    const timeout = t < 6 ? null : t < 8 ? { sec: 0, usec: 0 } : { sec: 0, usec: 10_000 };
    const r = yield* sys.select(nfds, set, null, null, timeout);
    out.waits++;
    out.ops++;
    if (r.n === 0) {
      if (timeout === null) note(out.anomalies, 'select with no timeout returned 0');
      else if (timeout.usec === 0) yield* sys.sched_yield();
      continue;
    }
    if (r.n !== r.readfds.length) note(out.anomalies, `select returned ${r.n} with ${r.readfds.length} readable`);
    for (const fd of r.readfds) {
      const rd = open.find((x) => x.fd === fd);
      if (rd === undefined) { note(out.anomalies, `select: descriptor ${fd}, not in the set, readable`); continue; }
      if ((yield* take(sys, rd, buf, len(), out)) < 0) note(out.anomalies, `select: pair ${rd.id} readable, then EAGAIN`);
    }
  }
}

function* loopKevent(sys: Sys, rds: Rd[], rng: Rng, buf: Uint8Array, len: () => number, clear: boolean, records: boolean, out: ReadyResult): Blocking<void> {
  const kq = yield* again(sys, () => sys.kqueue());
  const changes: Kevent[] = rds.map((r) => ({ ident: r.fd, filter: EVFILT_READ, flags: EV_ADD | (clear ? EV_CLEAR : 0), udata: r.id }));
  const errs = yield* sys.kevent(kq, changes, 0);
  out.ops += 2;
  if (errs.length !== 0) note(out.anomalies, `kevent: registering gave ${JSON.stringify(errs)}`);
  while (rds.some((r) => r.open)) {
    const t = rng.below(10);
    const timeout = t < 7 ? null : { sec: 0, nsec: 0 };
    const evs = yield* sys.kevent(kq, null, rng.range(1, 8), timeout);
    out.waits++;
    out.ops++;
    if (evs.length === 0) {
      if (timeout === null) note(out.anomalies, 'kevent with no timeout returned no event');
      else yield* sys.sched_yield();
      continue;
    }
    for (const ev of evs) {
      const rd = rds.find((x) => x.id === ev.udata && x.fd === ev.ident);
      if (rd === undefined || !rd.open) { note(out.anomalies, `kevent: an event for ${ev.ident}/${ev.udata}, not an open pair`); continue; }
      if ((ev.flags & EV_ERROR) !== 0) { note(out.anomalies, `kevent: EV_ERROR ${ev.data} on pair ${rd.id}`); continue; }
      const data = ev.data ?? 0;
      if (data === 0 && (ev.flags & EV_EOF) === 0) note(out.anomalies, `kevent: pair ${rd.id} reported with no data and no EV_EOF`);
      if (clear) {
        // Edge-triggered: drain until EAGAIN or EOF.
        let got = 0;
        for (;;) {
          const n = yield* take(sys, rd, buf, len(), out);
          if (n <= 0) break;
          got += n;
        }
        if (got < data) note(out.anomalies, `kevent: pair ${rd.id} reported ${data} bytes (EV_CLEAR), ${got} were there`);
      } else {
        const want = len();
        const n = yield* take(sys, rd, buf, want, out);
        if (n < 0) note(out.anomalies, `kevent: pair ${rd.id} reported ${data} bytes, then EAGAIN`);
        // A stream read gets all it asks for of what was reported (a seqpacket read, one record).
        else if (!records && n > 0 && n < Math.min(want, data)) note(out.anomalies, `kevent: pair ${rd.id} reported ${data} bytes, a read of ${want} got ${n}`);
      }
    }
  }
  yield* sys.close(kq);
  out.ops++;
}

function* loopAio(sys: Sys, rds: Rd[], rng: Rng, maxChunk: number, out: ReadyResult): Blocking<void> {
  const bufs = new Map<number, Uint8Array>();
  const jobs = new Map<number, Rd>();          // handle -> pair
  const start = function* (r: Rd): Blocking<void> {
    const b = new Uint8Array(rng.range(maxChunk, maxChunk * 2));
    const h = yield* sys.aio_read(r.fd, b);
    bufs.set(h, b);
    jobs.set(h, r);
    out.ops++;
  };
  for (const r of rds) yield* start(r);
  while (jobs.size > 0) {
    const hs = [...jobs.keys()];
    const s = yield* tryc(sys.aio_suspend(hs, rng.chance(0.2) ? 10 : undefined));
    out.waits++;
    out.ops++;
    if (s instanceof SysError && s.errno !== EAGAIN) throw s;
    let done = 0;
    for (const h of hs) {
      const e = yield* sys.aio_error(h);
      out.ops++;
      if (e === EINPROGRESS) continue;
      done++;
      const r = jobs.get(h)!;
      const b = bufs.get(h)!;
      jobs.delete(h);
      bufs.delete(h);
      const n = yield* sys.aio_return(h);
      out.ops++;
      if (e !== 0 || n < 0) { note(out.anomalies, `aio: pair ${r.id}'s read failed (error ${e}, return ${n})`); r.open = false; continue; }
      if (n === 0) {
        yield* sys.close(r.fd);
        r.open = false;
        continue;
      }
      const bad = mismatchAt(b, 0, n, r.seed, r.end.bytes);
      if (bad >= 0 && r.end.bad < 0) r.end.bad = r.end.bytes + bad;
      r.end.h = fnv1a(r.end.h, b, n);
      r.end.bytes += n;
      yield* start(r);
    }
    if (done === 0 && !(s instanceof SysError)) note(out.anomalies, 'aio_suspend returned with no job finished');
  }
}

/*
 * The process: k pairs of `type`, writer threads on writerCpus, the main thread reading
 * through `mode`.
 */
export function* readiness(sys: Sys, mode: Mode, k: number, type: number, writerCpus: number[], writes: number, seed: number): Blocking<ReadyResult> {
  const rng = new Rng(seed);
  const out: ReadyResult = { mode, writers: [], readers: [], waits: 0, ops: 0, bytes: 0, anomalies: [] };
  const maxChunk = rng.pick([512, 4096, 16384]);
  const rds: Rd[] = [];
  const tids: number[] = [];
  for (let i = 0; i < k; i++) {
    const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, type));
    const s = rng.seed();
    rds.push({ id: i, fd: b, seed: s, end: { id: i, bytes: 0, h: FNV_BASIS, bad: -1 }, open: true });
    tids.push(yield* sys.thread(rdWriter, { cpu: writerCpus[i % writerCpus.length], args: [a, i, s, rng.range(1, writes), maxChunk, mode === 'aio' || rng.chance(0.2)] }));
    out.ops += 2;
  }
  // A seqpacket read takes a whole record: room for the largest.
  const buf = new Uint8Array(type === SOCK_SEQPACKET ? maxChunk : Math.max(maxChunk, 8192));
  const records = type === SOCK_SEQPACKET;
  const len = (): number => (records ? buf.length : rng.range(1, buf.length));
  if (mode === 'poll') yield* loopPoll(sys, rds, rng, buf, len, out);
  else if (mode === 'select') yield* loopSelect(sys, rds, rng, buf, len, out);
  else if (mode === 'kevent' || mode === 'kevent_clear') yield* loopKevent(sys, rds, rng, buf, len, mode === 'kevent_clear', records, out);
  else yield* loopAio(sys, rds, rng, maxChunk, out);
  for (const t of tids) {
    const w = (yield* sys.join(t)) as { end: PairEnd; calls: number; anomalies: string[] };
    out.writers.push(w.end);
    out.ops += w.calls;
    out.bytes += w.end.bytes;
    out.anomalies.push(...w.anomalies);
  }
  out.readers = rds.map((r) => r.end);
  return out;
}

export const READINESS_TYPES = [SOCK_STREAM, SOCK_SEQPACKET];
