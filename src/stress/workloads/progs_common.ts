/*
 * progs_common.ts: what the stress programs share (they run on the simulated CPUs, in
 * every isolate).  Payload bytes are a function of (seed, offset), so a reader checks
 * every byte where it lands, whatever sizes the writes and reads had: a byte lost,
 * duplicated, reordered or corrupted shows at its offset.  Records carry a header
 * (sequence number, length, checksum) so a receiver knows one arrived whole.
 */

import { Sys, SysError, ECONNREFUSED, ENOBUFS, ENFILE, ENOENT, fnv1a, FNV_BASIS } from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { mix32 } from '../rng.js';
import { faults_on } from '../../../shared/cpu.js';
import { FS_SIGNAL, fail_armed } from '../../../shared/fail.js';

export { Rng } from '../rng.js';

/* A system call's value, or the SysError it failed with (ProcessKilled and ProcessExit pass through). */
export function* tryc<T>(call: Blocking<T>): Blocking<T | SysError> {
  try {
    return yield* call;
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
}

/* A call's errno name, or 'ok'. */
export function* codeOf(call: Blocking<unknown>): Blocking<string> {
  const r = yield* tryc(call);
  return r instanceof SysError ? r.code : 'ok';
}

/* The payload byte at offset off of the stream seeded seed. */
export function byteAt(seed: number, off: number): number {
  let h = Math.imul((off ^ seed) >>> 0, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) & 0xff;
}

/* Fill buf[at..at+n) with the stream's bytes from offset off. */
export function fillAt(buf: Uint8Array, at: number, n: number, seed: number, off: number): void {
  for (let i = 0; i < n; i++) buf[at + i] = byteAt(seed, off + i);
}

/* The index in buf[at..at+n) of the first byte that is not the stream's byte at off + i, or -1. */
export function mismatchAt(buf: Uint8Array, at: number, n: number, seed: number, off: number): number {
  for (let i = 0; i < n; i++) if (buf[at + i] !== byteAt(seed, off + i)) return i;
  return -1;
}

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

export function getU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/*
 * Records: a 16-byte header (stream id, sequence number, total length, FNV-1a of the
 * payload) and a payload made by (id, seq).  A record is whole when its length matches
 * what arrived and its checksum its payload.
 */
export const REC_HDR = 16;

export function recordSeed(id: number, seq: number): number {
  return mix32((id * 0x10001) ^ mix32(seq));
}

/* Build record (id, seq) of total length len (>= REC_HDR) in buf; → its checksum. */
export function makeRecord(buf: Uint8Array, id: number, seq: number, len: number): number {
  const n = len - REC_HDR;
  fillAt(buf, REC_HDR, n, recordSeed(id, seq), 0);
  const h = fnv1a(FNV_BASIS, buf.subarray(REC_HDR), n);
  putU32(buf, 0, id);
  putU32(buf, 4, seq);
  putU32(buf, 8, len);
  putU32(buf, 12, h);
  return h;
}

export interface RecordSeen { id: number; seq: number; len: number; sum: number }

/*
 * What a received record of n bytes is: its header, or a string saying why it is not a
 * whole record (cut, the wrong length, a bad checksum, a payload that is not its own).
 */
export function parseRecord(buf: Uint8Array, n: number): RecordSeen | string {
  if (n < REC_HDR) return `a record of ${n} bytes, shorter than its header`;
  const id = getU32(buf, 0), seq = getU32(buf, 4), len = getU32(buf, 8), sum = getU32(buf, 12);
  if (len !== n) return `record ${id}/${seq}: ${n} bytes arrived, its header says ${len}`;
  const h = fnv1a(FNV_BASIS, buf.subarray(REC_HDR), n - REC_HDR);
  if (h !== sum) return `record ${id}/${seq}: checksum ${h.toString(16)}, header says ${sum.toString(16)}`;
  if (mismatchAt(buf, REC_HDR, n - REC_HDR, recordSeed(id, seq), 0) >= 0) return `record ${id}/${seq}: a payload that is not its own`;
  return { id, seq, len, sum };
}

/*
 * An allocation that failed (ENOBUFS: no socket, unpcb, sockaddr or mbuf; ENFILE: no
 * file), as memory pressure or the fault sites make it (docs/faults.md): transient, so
 * programs try again.
 */
export function transient(e: SysError): boolean {
  return e.errno === ENOBUFS || e.errno === ENFILE;
}

/*
 * call() until it does not fail for want of memory (transient()): yield the CPU between
 * tries, sleep a tick every 8.  Other errors, and the last one after `tries`, are thrown.
 */
export function* again<T>(sys: Sys, call: () => Blocking<T>, tries = 10_000): Blocking<T> {
  for (let n = 0; ; n++) {
    const r = yield* tryc(call());
    if (!(r instanceof SysError)) return r;
    if (!transient(r) || n >= tries) throw r;
    if (n % 8 === 7) yield* sys.sleep(1);
    else yield* sys.sched_yield();
  }
}

/*
 * Connect fd to path, retrying while nobody has bound it yet (ENOENT), its listen queue
 * is full or not there yet (ECONNREFUSED), or memory is short (transient()): yield the
 * CPU between tries, and sleep a tick every `sleepEvery` tries.  → the refusals; throws
 * the last SysError after `tries`.
 */
export function* connectRetry(sys: Sys, fd: number, path: string, tries = 20_000, sleepEvery = 8): Blocking<number> {
  for (let n = 0; ; n++) {
    const r = yield* tryc(sys.connect(fd, path));
    if (!(r instanceof SysError)) return n;
    if ((r.errno !== ENOENT && r.errno !== ECONNREFUSED && !transient(r)) || n >= tries) throw r;
    if (n % sleepEvery === sleepEvery - 1) yield* sys.sleep(1);
    else yield* sys.sched_yield();
  }
}

/*
 * Whether the machine's `signal` fault site is armed (docs/faults.md): then a process that
 * catches signals also gets some nobody sent.  Read from the kernel's fault table, as a
 * debugger would: a program has no system call for it.
 */
export function signalFaultsArmed(): boolean {
  return faults_on && fail_armed(FS_SIGNAL);
}

/* Anomalies are capped so one broken run cannot make a result too large to return. */
export function note(anomalies: string[], msg: string): void {
  if (anomalies.length < 20) anomalies.push(msg);
}
