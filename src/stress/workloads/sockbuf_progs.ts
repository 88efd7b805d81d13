/*
 * sockbuf_progs.ts: the programs of the `sockbuf` workload (sockbuf.ts).  Stream traffic
 * whose buffers are resized under it: the writer sets its SO_SNDBUF and the reader its
 * SO_RCVBUF between their calls, a resizer thread (here or on the other CPU) sets the
 * other two on the same sockets meanwhile, and a root process moves kern.ipc.maxsockbuf
 * among a few values (restoring it at the end).
 *
 * ssb_reserve clamps a request to sb_max_adj (maxsockbuf * MCLBYTES / (MSIZE + MCLBYTES))
 * of the moment: a setsockopt never fails for size (EINVAL below 1), and the hiwat read
 * back right after is min(request, sb_max_adj(v)) for one of the values v maxsockbuf had.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_SNDBUF, SO_RCVBUF, SHUT_WR, EINVAL, fnv1a, FNV_BASIS,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, Rng, fillAt, mismatchAt, note, tryc } from './progs_common.js';

const MSIZE = 256, MCLBYTES = 2048;
export const sbMaxAdj = (v: number): number => Math.floor((v * MCLBYTES) / (MSIZE + MCLBYTES));

export interface SideResult { bytes: number; h: number; bad: number; resizes: number; calls: number; anomalies: string[] }
export interface SockbufResult { w: SideResult; r: SideResult; resizer: SideResult; ops: number; bytes: number; anomalies: string[] }
export interface SysctlResult { orig: number; final: number; sets: number; einval: number; ops: number; bytes: number; anomalies: string[] }

/*
 * Set opt on fd to a random size and read it back: the hiwat must be the request clamped
 * to sb_max_adj of one of the maxsockbuf values in play (`limits`: their sb_max_adj).
 * Sizes below 1 must be EINVAL.
 */
function* resize(sys: Sys, fd: number, opt: number, rng: Rng, limits: number[], out: SideResult): Blocking<void> {
  const name = opt === SO_SNDBUF ? 'SO_SNDBUF' : 'SO_RCVBUF';
  out.resizes++;
  out.calls += 2;
  if (rng.chance(0.05)) {
    const e = yield* tryc(sys.setsockopt(fd, SOL_SOCKET, opt, rng.pick([0, -1, -4096])));
    if (!(e instanceof SysError) || e.errno !== EINVAL) note(out.anomalies, `${name} below 1 gave ${e instanceof SysError ? e.code : 'success'}`);
    return;
  }
  const r = rng.below(10);
  const v = r < 4 ? rng.range(1, 4096) : r < 8 ? rng.range(4097, 70_000) : rng.range(70_001, 1 << 20);
  // The value maxsockbuf had around the call (its original value is one of these too).
  const m0 = yield* sys.sysctl('kern.ipc.maxsockbuf');
  yield* sys.setsockopt(fd, SOL_SOCKET, opt, v);
  const got = yield* sys.getsockopt(fd, SOL_SOCKET, opt);
  const m1 = yield* sys.sysctl('kern.ipc.maxsockbuf');
  out.calls += 2;
  const adjs = [...limits, sbMaxAdj(m0), sbMaxAdj(m1)];
  if (!adjs.some((adj) => got === Math.min(v, adj))) {
    note(out.anomalies, `${name} set to ${v} reads back ${got}; sb_max_adj of the maxsockbuf values in play: ${adjs.join(', ')}`);
  }
}

export function* sbWriter(sys: Sys, fd: number, writes: number, seed: number, limits: number[]): Blocking<SideResult> {
  const rng = new Rng(seed);
  const out: SideResult = { bytes: 0, h: FNV_BASIS, bad: -1, resizes: 0, calls: 0, anomalies: [] };
  const buf = new Uint8Array(40_000);
  for (let i = 0; i < writes; i++) {
    if (rng.chance(0.3)) yield* resize(sys, fd, SO_SNDBUF, rng, limits, out);
    const n = rng.chance(0.7) ? rng.range(1, 2048) : rng.range(2049, buf.length);
    fillAt(buf, 0, n, seed, out.bytes);
    const w = yield* sys.send(fd, buf, 0, n);
    out.calls++;
    if (w !== n) note(out.anomalies, `writer: a blocking send of ${n} returned ${w}`);
    out.h = fnv1a(out.h, buf, w);
    out.bytes += w;
  }
  yield* sys.shutdown(fd, SHUT_WR);
  out.calls++;
  return out;
}

export function* sbReader(sys: Sys, fd: number, seed: number, dseed: number, limits: number[]): Blocking<SideResult> {
  const rng = new Rng(seed);
  const out: SideResult = { bytes: 0, h: FNV_BASIS, bad: -1, resizes: 0, calls: 0, anomalies: [] };
  const buf = new Uint8Array(40_000);
  for (;;) {
    if (rng.chance(0.3)) yield* resize(sys, fd, SO_RCVBUF, rng, limits, out);
    const n = yield* sys.recv(fd, buf, 0, rng.range(1, buf.length));
    out.calls++;
    if (n === 0) break;
    const bad = mismatchAt(buf, 0, n, dseed, out.bytes);
    if (bad >= 0 && out.bad < 0) out.bad = out.bytes + bad;
    out.h = fnv1a(out.h, buf, n);
    out.bytes += n;
  }
  return out;
}

/*
 * The resizer thread: `n` resizes of the buffers the writer and the reader leave alone
 * (a's SO_RCVBUF, b's SO_SNDBUF: every (socket, option) has one setter, so each read-back
 * is checkable), on the same sockets while they send and receive, yielding between them.
 */
export function* sbResizer(sys: Sys, a: number, b: number, n: number, seed: number, limits: number[]): Blocking<SideResult> {
  const rng = new Rng(seed);
  const out: SideResult = { bytes: 0, h: 0, bad: -1, resizes: 0, calls: 0, anomalies: [] };
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.5)) yield* resize(sys, a, SO_RCVBUF, rng, limits, out);
    else yield* resize(sys, b, SO_SNDBUF, rng, limits, out);
    if (rng.chance(0.5)) yield* sys.sched_yield();
  }
  return out;
}

/* A stream pair: the writer here, the reader and the resizer in threads on the other CPU. */
export function* sbStream(sys: Sys, otherCpu: number, writes: number, seed: number, limits: number[]): Blocking<SockbufResult> {
  const rng = new Rng(seed);
  const [a, b] = yield* again(sys, () => sys.socketpair(AF_LOCAL, SOCK_STREAM));
  const dseed = rng.seed();
  const rt = yield* sys.thread(sbReader, { cpu: otherCpu, args: [b, rng.seed(), dseed, limits] });
  const zt = yield* sys.thread(sbResizer, { cpu: rng.chance(0.5) ? otherCpu : undefined, args: [a, b, Math.max(2, writes >> 1), rng.seed(), limits] });
  const w = yield* sbWriter(sys, a, writes, dseed, limits);
  const r = (yield* sys.join(rt)) as SideResult;
  const resizer = (yield* sys.join(zt)) as SideResult;
  yield* sys.close(a);
  yield* sys.close(b);
  return { w, r, resizer, ops: w.calls + r.calls + resizer.calls + 6, bytes: w.bytes, anomalies: [...w.anomalies, ...r.anomalies, ...resizer.anomalies] };
}

/*
 * The sysctl process (root): n times set kern.ipc.maxsockbuf to one of values (now and
 * then a value below MSIZE + MCLBYTES, which must be EINVAL and leave it alone), then put
 * back the value it found.
 */
export function* sbSysctl(sys: Sys, n: number, values: number[], seed: number): Blocking<SysctlResult> {
  const rng = new Rng(seed);
  const out: SysctlResult = { orig: 0, final: 0, sets: 0, einval: 0, ops: 0, bytes: 0, anomalies: [] };
  out.orig = yield* sys.sysctl('kern.ipc.maxsockbuf');
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.1)) {
      const before = yield* sys.sysctl('kern.ipc.maxsockbuf');
      const e = yield* tryc(sys.sysctl('kern.ipc.maxsockbuf', rng.range(1, MSIZE + MCLBYTES - 1)));
      const after = yield* sys.sysctl('kern.ipc.maxsockbuf');
      if (!(e instanceof SysError) || e.errno !== EINVAL) note(out.anomalies, `maxsockbuf below MSIZE + MCLBYTES gave ${e instanceof SysError ? e.code : 'success'}`);
      else out.einval++;
      if (after !== before) note(out.anomalies, `a refused maxsockbuf changed it from ${before} to ${after}`);
      out.ops += 3;
    } else {
      yield* sys.sysctl('kern.ipc.maxsockbuf', rng.pick(values));
      out.sets++;
      out.ops++;
    }
    const pause = rng.below(3);
    if (pause === 0) yield* sys.sleep(1);
    else if (pause === 1) yield* sys.sched_yield();
  }
  yield* sys.sysctl('kern.ipc.maxsockbuf', out.orig);
  out.final = yield* sys.sysctl('kern.ipc.maxsockbuf');
  out.ops += 2;
  return out;
}
