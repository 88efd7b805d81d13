/*
 * signals_progs.ts: the programs of the `signals` workload (signals.ts).  A target
 * process catches SIGUSR1 (with SA_RESTART or without) and ignores SIGUSR2; it serves one
 * connection, telling its pid, then reads the connection's bytes until EOF, blocking in
 * recv (plain or MSG_WAITALL), in poll, or in sleep.  A killer process on another CPU
 * sends it bytes and signals, pausing now and then so that the target is asleep when a
 * signal comes.
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, MSG_WAITALL, POLLIN, INFTIM, SIGUSR1, SIGUSR2, SIG_IGN, SA_RESTART, EINTR,
  fnv1a, FNV_BASIS,
} from '../../index.js';
import type { Blocking } from '../../kernel.js';
import { again, transient, signalFaultsArmed, Rng, connectRetry, fillAt, getU32, mismatchAt, note, putU32, tryc } from './progs_common.js';

export interface TargetResult {
  restart: boolean;
  injected: boolean;         // the signal fault site is armed: some signals came from it
  caught: number;            // SIGUSR1 handler runs
  got: number; h: number; bad: number;
  eintr: { recv: number; waitall: number; poll: number; sleep: number };
  shortWaitall: number;      // MSG_WAITALL reads cut short by a signal
  calls: { recv: number; waitall: number; poll: number; sleep: number };
  ops: number; bytes: number; anomalies: string[];
}

export interface KillerResult { sent: number; h: number; kills1: number; kills2: number; ops: number; bytes: number; anomalies: string[] }

/*
 * The target: listen on path, accept, send our pid, then read until EOF.  Allowed per
 * call: recv returns data, or (without SA_RESTART) EINTR; MSG_WAITALL returns all it
 * asked for, or less when a signal came during it (or at EOF), or EINTR with nothing;
 * poll and sleep may fail with EINTR whatever SA_RESTART says.
 */
export function* sigTarget(sys: Sys, path: string, restart: boolean, seed: number, dseed: number): Blocking<TargetResult> {
  const rng = new Rng(seed);
  const out: TargetResult = { restart, injected: signalFaultsArmed(), caught: 0, got: 0, h: FNV_BASIS, bad: -1, eintr: { recv: 0, waitall: 0, poll: 0, sleep: 0 },
    shortWaitall: 0, calls: { recv: 0, waitall: 0, poll: 0, sleep: 0 }, ops: 0, bytes: 0, anomalies: [] };
  yield* sys.sigaction(SIGUSR1, () => { out.caught++; }, restart ? SA_RESTART : 0);
  yield* sys.sigaction(SIGUSR2, SIG_IGN);
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  yield* again(sys, () => sys.bind(s, path));
  yield* sys.listen(s, 1);
  // accept waits through a predicate message: EINTR on a signal with SA_RESTART too.
  let c: number;
  for (;;) {
    const r = yield* tryc(sys.accept(s));
    out.ops++;
    if (!(r instanceof SysError)) { c = r; break; }
    if (r.errno !== EINTR && !transient(r)) throw r;
  }
  yield* sys.close(s);
  yield* sys.unlink(path);
  const pidb = new Uint8Array(4);
  putU32(pidb, 0, yield* sys.getpid());
  yield* sys.send(c, pidb);
  out.ops += 8;
  const buf = new Uint8Array(8192);
  let mustEof = -1;
  for (;;) {
    const how = rng.below(10);
    let r: number | SysError;
    const before = out.caught;
    if (how < 2) {
      out.calls.poll++;
      const p = yield* tryc(sys.poll([{ fd: c, events: POLLIN }], INFTIM));
      out.ops++;
      if (p instanceof SysError) {
        if (p.errno !== EINTR) throw p;
        out.eintr.poll++;
        if (out.caught === before) note(out.anomalies, 'target: poll failed with EINTR and no handler ran');
      }
      continue;
    } else if (how < 3) {
      out.calls.sleep++;
      const p = yield* tryc(sys.sleep(rng.range(1, 20)));
      out.ops++;
      if (p instanceof SysError) {
        if (p.errno !== EINTR) throw p;
        out.eintr.sleep++;
        if (out.caught === before) note(out.anomalies, 'target: sleep failed with EINTR and no handler ran');
      }
      continue;
    } else if (how < 5) {
      const n = rng.range(1, buf.length);
      out.calls.waitall++;
      r = yield* tryc(sys.recv(c, buf, MSG_WAITALL, n));
      out.ops++;
      if (r instanceof SysError) {
        if (r.errno !== EINTR) throw r;
        out.eintr.waitall++;
        if (out.caught === before) note(out.anomalies, 'target: MSG_WAITALL recv failed with EINTR and no handler ran');
        if (restart) note(out.anomalies, 'target: MSG_WAITALL recv failed with EINTR under SA_RESTART');
        continue;
      }
      if (r > 0 && r < n) {
        if (out.caught !== before) out.shortWaitall++;
        else if (mustEof < 0) mustEof = out.got + r;      // no signal: only EOF may cut it short
      }
    } else {
      out.calls.recv++;
      r = yield* tryc(sys.recv(c, buf, 0, rng.range(1, buf.length)));
      out.ops++;
      if (r instanceof SysError) {
        if (r.errno !== EINTR) throw r;
        out.eintr.recv++;
        if (out.caught === before) note(out.anomalies, 'target: recv failed with EINTR and no handler ran');
        if (restart) note(out.anomalies, 'target: recv failed with EINTR under SA_RESTART');
        continue;
      }
    }
    if (r === 0) break;
    if (mustEof >= 0 && mustEof <= out.got) {
      note(out.anomalies, `target: MSG_WAITALL came back short at ${mustEof} with no signal caught, and data followed`);
      mustEof = -1;
    }
    const bad = mismatchAt(buf, 0, r, dseed, out.got);
    if (bad >= 0 && out.bad < 0) out.bad = out.got + bad;
    out.h = fnv1a(out.h, buf, r);
    out.got += r;
  }
  yield* sys.close(c);
  out.ops++;
  return out;
}

/* The killer: connect, learn the target's pid, then `rounds` rounds of signals and bytes. */
export function* sigKiller(sys: Sys, path: string, rounds: number, seed: number, dseed: number): Blocking<KillerResult> {
  const rng = new Rng(seed);
  const out: KillerResult = { sent: 0, h: FNV_BASIS, kills1: 0, kills2: 0, ops: 0, bytes: 0, anomalies: [] };
  const s = yield* again(sys, () => sys.socket(AF_LOCAL, SOCK_STREAM));
  out.ops += 1 + (yield* connectRetry(sys, s, path));
  const pidb = new Uint8Array(4);
  let got = 0;
  while (got < 4) {
    const n = yield* sys.recv(s, pidb.subarray(got));
    if (n === 0) throw new Error('killer: the target closed before telling its pid');
    got += n;
  }
  const pid = getU32(pidb, 0);
  const buf = new Uint8Array(12_000);
  for (let i = 0; i < rounds; i++) {
    // Let the target block first, some of the time.
    const pause = rng.below(4);
    if (pause === 0) yield* sys.sleep(1);
    else if (pause === 1) for (let k = rng.range(1, 20); k > 0; k--) yield* sys.sched_yield();
    for (let k = rng.below(3); k > 0; k--) {
      yield* sys.kill(pid, SIGUSR1);
      out.kills1++;
      out.ops++;
    }
    if (rng.chance(0.3)) {
      yield* sys.kill(pid, SIGUSR2);
      out.kills2++;
      out.ops++;
    }
    if (rng.chance(0.7)) {
      const n = rng.range(1, buf.length);
      fillAt(buf, 0, n, dseed, out.sent);
      const w = yield* sys.send(s, buf, 0, n);
      if (w !== n) note(out.anomalies, `killer: a blocking send of ${n} returned ${w}`);
      out.h = fnv1a(out.h, buf, w);
      out.sent += w;
      out.bytes += w;
      out.ops++;
    }
  }
  // One last signal, so every target has one to catch.
  yield* sys.kill(pid, SIGUSR1);
  out.kills1++;
  yield* sys.close(s);
  out.ops += 2;
  return out;
}
