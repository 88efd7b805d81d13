/*
 * shutdown_progs.ts: the programs of the `shutdown` workload (shutdown.ts).  Each round
 * makes a connected pair (a, b) of stream or seqpacket sockets; a writer thread on one CPU
 * sends the round's bytes into a (more than the buffer holds, so it blocks), a reader
 * thread on another CPU reads b until EOF or an error, and meanwhile the main thread does
 * one of shutdown(SHUT_RD/SHUT_WR/SHUT_RDWR) on either end, close of either end, or
 * nothing, then closes whatever is left.  The threads report how their last call ended;
 * the check holds that to what DragonFly allows.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_SEQPACKET, SOL_SOCKET, SO_SNDBUF, SHUT_RD, SHUT_WR, SHUT_RDWR, SIGPIPE, SIG_IGN,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, Rng, fillAt, mismatchAt, tryc } from './progs_common.js';

export const ACTIONS = ['none', 'shutRdB', 'shutWrA', 'shutRdwrA', 'shutRdwrB', 'shutRdA', 'shutWrB', 'closeA', 'closeB'] as const;
export type Action = (typeof ACTIONS)[number];

const ONE = new Uint8Array([1]);

export interface WriterEnd { sent: number; pending: number; end: string; calls: number }
export interface ReaderEnd { got: number; bad: number; end: string; calls: number }
export interface Round { type: number; action: Action; actionResult: string; writer: WriterEnd; reader: ReaderEnd }
export interface ShutdownResult { rounds: Round[]; ops: number; bytes: number; anomalies: string[] }

/* The writer: budget bytes of the round's stream into fd, in random chunks, until done or an error. */
export function* shWriter(sys: Sys, fd: number, seed: number, budget: number, maxChunk: number, ctl: number): Blocking<WriterEnd> {
  yield* sys.send(ctl, ONE);          // started: the main thread may act from now on
  const rng = new Rng(seed);
  const buf = new Uint8Array(maxChunk);
  const out: WriterEnd = { sent: 0, pending: 0, end: 'done', calls: 0 };
  while (out.sent < budget) {
    const n = Math.min(budget - out.sent, rng.range(1, maxChunk));
    fillAt(buf, 0, n, seed, out.sent);
    out.calls++;
    const r = yield* tryc(sys.send(fd, buf, 0, n));
    if (r instanceof SysError) {
      out.pending = n;       // some of it may have gone before the error
      out.end = r.code;
      return out;
    }
    out.sent += r;
  }
  return out;
}

/* The reader: until EOF or an error, every byte checked at its offset. */
export function* shReader(sys: Sys, fd: number, seed: number, maxChunk: number, records: boolean, ctl: number): Blocking<ReaderEnd> {
  yield* sys.send(ctl, ONE);
  const rng = new Rng(seed ^ 0x1234);
  const buf = new Uint8Array(maxChunk);
  const out: ReaderEnd = { got: 0, bad: -1, end: 'eof', calls: 0 };
  for (;;) {
    out.calls++;
    // A seqpacket read takes a whole record (a shorter one would cut it).
    const r = yield* tryc(sys.recv(fd, buf, 0, records ? maxChunk : rng.range(1, maxChunk)));
    if (r instanceof SysError) {
      out.end = r.code;
      return out;
    }
    if (r === 0) return out;
    if (out.bad < 0) {
      const bad = mismatchAt(buf, 0, r, seed, out.got);
      if (bad >= 0) out.bad = out.got + bad;
    }
    out.got += r;
  }
}

function* act(sys: Sys, action: Action, a: number, b: number, closed: Set<number>): Blocking<string> {
  let r: unknown = null;
  switch (action) {
    case 'none': return 'ok';
    case 'shutRdB': r = yield* tryc(sys.shutdown(b, SHUT_RD)); break;
    case 'shutWrA': r = yield* tryc(sys.shutdown(a, SHUT_WR)); break;
    case 'shutRdwrA': r = yield* tryc(sys.shutdown(a, SHUT_RDWR)); break;
    case 'shutRdwrB': r = yield* tryc(sys.shutdown(b, SHUT_RDWR)); break;
    case 'shutRdA': r = yield* tryc(sys.shutdown(a, SHUT_RD)); break;
    case 'shutWrB': r = yield* tryc(sys.shutdown(b, SHUT_WR)); break;
    case 'closeA': r = yield* tryc(sys.close(a)); closed.add(a); break;
    case 'closeB': r = yield* tryc(sys.close(b)); closed.add(b); break;
  }
  return r instanceof SysError ? r.code : 'ok';
}

/*
 * `rounds` rounds on pairs of the given types; the writer thread on wcpu, the reader on
 * rcpu.  SIGPIPE is ignored, so a send on a dead connection is EPIPE.
 */
export function* shutdownRounds(sys: Sys, rounds: number, types: number[], wcpu: number, rcpu: number, seed: number): Blocking<ShutdownResult> {
  const rng = new Rng(seed);
  const out: ShutdownResult = { rounds: [], ops: 0, bytes: 0, anomalies: [] };
  yield* sys.sigaction(SIGPIPE, SIG_IGN);
  // Each thread says it has started on ctl; most rounds act only after both have.
  const [ctl, ctl2] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  const two = new Uint8Array(2);
  for (let i = 0; i < rounds; i++) {
    const type = rng.pick(types);
    const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, type));
    const small = rng.chance(0.5);
    if (small) yield* sys.setsockopt(a, SOL_SOCKET, SO_SNDBUF, rng.range(512, 8192));
    const hiwat = yield* sys.getsockopt(a, SOL_SOCKET, SO_SNDBUF);
    const maxChunk = Math.min(hiwat, rng.pick([256, 2048, 16384]));
    const budget = rng.range(1, 4) * hiwat;
    const rseed = rng.seed();
    const wt = yield* sys.thread(shWriter, { cpu: wcpu, args: [a, rseed, budget, maxChunk, ctl2] });
    const rt = yield* sys.thread(shReader, { cpu: rcpu, args: [b, rseed, Math.max(maxChunk, 4096), type === SOCK_SEQPACKET, ctl2] });
    let started = 0;
    if (rng.chance(0.75)) while (started < 2) started += yield* sys.recv(ctl, two, 0, 2 - started);
    // Let the threads get going (or not): no particular interleaving is needed.
    const delay = rng.below(4);
    if (delay === 1) for (let k = rng.range(1, 30); k > 0; k--) yield* sys.sched_yield();
    else if (delay >= 2) yield* sys.sleep(1);
    const action = rng.pick(ACTIONS);
    const closed = new Set<number>();
    const actionResult = yield* act(sys, action, a, b, closed);
    if (rng.chance(0.5)) for (let k = rng.range(1, 10); k > 0; k--) yield* sys.sched_yield();
    for (const fd of rng.shuffle([a, b])) if (!closed.has(fd)) yield* sys.close(fd);
    const writer = (yield* sys.join(wt)) as WriterEnd;
    const reader = (yield* sys.join(rt)) as ReaderEnd;
    while (started < 2) started += yield* sys.recv(ctl, two, 0, 2 - started);
    out.rounds.push({ type, action, actionResult, writer, reader });
    out.ops += 8 + writer.calls + reader.calls;
    out.bytes += reader.got;
  }
  yield* sys.close(ctl);
  yield* sys.close(ctl2);
  return out;
}
