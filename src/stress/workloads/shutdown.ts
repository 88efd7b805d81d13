/*
 * shutdown: shutdown(SHUT_RD/SHUT_WR/SHUT_RDWR) and close racing a blocked reader and a
 * blocked writer on other CPUs (threads of one process sharing the descriptors), on
 * stream and seqpacket pairs; shutdown_progs.ts.
 *
 * Check, per round: every blocked call ended (nothing hangs: each join returned), and
 * ended as DragonFly allows:
 *  - the writer finished its bytes, or failed with EPIPE (its side shut down, or the
 *    peer gone), EBADF (it called after its descriptor was closed) or ENOTCONN: sosend's
 *    state checks passed, then the peer's close disconnected the pair before uipc_send
 *    ran, which looks at SS_ISCONNECTED before SS_CANTSENDMORE.  Under `netisr` the send
 *    is a message to another thread; under `bgl` sosend may block between the two (an
 *    mbuf allocation that waits, a token it has to wait for) and the MP lock goes while
 *    it sleeps, as in DragonFly 2008;
 *  - the reader saw EOF (0 bytes) or EBADF (it called after b was closed);
 *  - the shutdown or close itself succeeded;
 *  - the reader's bytes are the writer's, in order, at their offsets, never more than
 *    were sent (a failed send may have moved part of its bytes), unless b's receive side
 *    was shut down (sorflush discards what is queued, and later sends still land);
 *  - a reader that reached EOF with nothing discarded got everything the writer's
 *    successful sends moved.
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { SOCK_SEQPACKET, SOCK_STREAM } from '../../libc/index.js';
import { Checker, cpuPair, fmt, planRng, progsUrl } from './plan.js';
import type { Round, ShutdownResult } from './shutdown_progs.js';

const PROGS = progsUrl(import.meta.url, 'shutdown_progs');

const WRITER_ENDS = new Set(['done', 'EPIPE', 'EBADF', 'ENOTCONN']);
const READER_ENDS = new Set(['eof', 'EBADF']);
const DISCARDS = new Set(['shutRdB', 'shutRdwrB']);

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'shutdown');
  const procs = rng.range(1, 2);
  const out: ProcessPlan[] = [];
  for (let i = 0; i < procs; i++) {
    const [w, r] = cpuPair(rng, ctx.cpus);
    const rounds = Math.max(2, Math.floor(ctx.ops / (procs * 6)));
    out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'shutdownRounds',
      args: [rounds, [SOCK_STREAM, SOCK_SEQPACKET], w, r, rng.seed()], name: `shutdown ${i}`, uid: 1000 });
  }
  return out;
}

function checkRound(c: Checker, label: string, r: Round): void {
  const what = `${label}, ${r.type === SOCK_SEQPACKET ? 'seqpacket' : 'stream'} ${r.action}`;
  const w = r.writer, rd = r.reader;
  c.eq(r.actionResult, 'ok', `${what}: the ${r.action} itself`);
  c.expect(WRITER_ENDS.has(w.end), () => `${what}: the writer ended with ${w.end} (${fmt(w)})`);
  c.expect(READER_ENDS.has(rd.end), () => `${what}: the reader ended with ${rd.end} (${fmt(rd)})`);
  const discard = DISCARDS.has(r.action);
  if (!discard) c.eq(rd.bad, -1, `${what}: the reader's first wrong byte at offset`);
  c.expect(rd.got <= w.sent + w.pending, () => `${what}: the reader got ${rd.got} bytes, more than the writer sent (${w.sent} + ${w.pending} of a failed send)`);
  if (rd.end === 'eof' && !discard) {
    c.expect(rd.got >= w.sent, () => `${what}: the reader saw EOF after ${rd.got} bytes, the writer had sent ${w.sent}`);
  }
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  outcomes.forEach((o, i) => {
    const label = plans[i]?.name ?? `process ${i}`;
    const v = c.value<ShutdownResult>(o, label);
    if (v === null || !Array.isArray(v.rounds)) return;
    c.eq(v.rounds.length, plans[i].args[0], `${label}: rounds`);
    v.rounds.forEach((r, k) => checkRound(c, `${label} round ${k}`, r));
  });
  return c.report();
}

export const shutdown: Workload = {
  name: 'shutdown',
  description: 'shutdown(SHUT_RD/WR/RDWR) and close racing blocked readers and writers on other CPUs; every blocked call ends, as DragonFly allows (EOF, EPIPE, EBADF), with the bytes it moved intact',
  plan,
  check,
};
