/*
 * rights: descriptor passing with SCM_RIGHTS between processes on different CPUs, over
 * stream and seqpacket connections, including deliberate MSG_CTRUNC; and cycles of
 * sockets queued inside themselves (or each other) that only unp_gc can free;
 * rights_progs.ts.
 *
 * Check: every message arrived once with its descriptors (or, when the receiver gave too
 * little control room, the first ones with MSG_CTRUNC and the rest closed, so their peers
 * saw EOF); every descriptor received is the socket sent (its token reached the other
 * end); the sender's and the receiver's counts agree; a socket disposed of with a closed
 * datagram pair is closed.  That the cycles were collected, and that nothing stays in
 * flight (net.local.inflight), is the runner's zone and counter check.
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { SOCK_SEQPACKET, SOCK_STREAM } from '../../libc/index.js';
import { Checker, pathFor, planRng, progsUrl, share } from './plan.js';
import type { RightsRecv, RightsSend } from './rights_progs.js';

const PROGS = progsUrl(import.meta.url, 'rights_progs');

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'rights');
  const out: ProcessPlan[] = [];
  const groups = rng.range(1, 2);
  let id = 1;
  for (let g = 0; g < groups; g++) {
    const type = rng.pick([SOCK_STREAM, SOCK_SEQPACKET]);
    const senders = rng.range(1, 2);
    const path = pathFor(ctx, 'rights', g);
    const cpus = rng.shuffle(Array.from({ length: ctx.cpus }, (_, i) => i));
    out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'rightsReceiver', args: [path, type, senders, cpus, rng.seed()],
      name: `rights receiver ${g}`, uid: 1000 });
    const n = share(ctx.ops, groups * senders * 8, 2);
    for (let i = 0; i < senders; i++) {
      out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'rightsSender',
        args: [path, type, id++, rng.range(Math.ceil(n / 2), n), rng.range(1, 3), rng.seed()], name: `rights sender ${g}.${i}`, uid: 1000 });
    }
  }
  return out;
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  let recv: RightsRecv | null = null;
  const sends: RightsSend[] = [];
  const flush = (): void => {
    if (recv === null) return;
    const msgs = sends.reduce((a, s) => a + s.msgs, 0), fds = sends.reduce((a, s) => a + s.fds, 0);
    const trunc = sends.reduce((a, s) => a + s.truncated, 0);
    c.eq(recv.msgs, msgs, 'messages received vs sent');
    c.eq(recv.fds + recv.truncated, fds, 'descriptors received + closed by MSG_CTRUNC vs sent');
    c.eq(recv.truncated, trunc, 'descriptors closed by MSG_CTRUNC: receiver vs sender');
  };
  let broken = false;
  outcomes.forEach((o, i) => {
    const p = plans[i];
    const label = p?.name ?? `process ${i}`;
    if (p?.export === 'rightsReceiver') {
      if (!broken) flush();
      broken = false;
      sends.length = 0;
      recv = c.value<RightsRecv>(o, label, false);
      if (recv === null) broken = true;
      return;
    }
    const v = c.value<RightsSend>(o, label);
    if (v === null) { broken = true; return; }
    c.eq(v.msgs, p.args[3], `${label}: messages`);
    c.eq(v.cycles, p.args[4], `${label}: cycles made`);
    sends.push(v);
  });
  if (!broken) flush();
  return c.report();
}

export const rights: Workload = {
  name: 'rights',
  description: 'SCM_RIGHTS between processes on different CPUs (stream and seqpacket, MSG_PEEK, deliberate MSG_CTRUNC), self and two-socket cycles for unp_gc, rights disposed of with a closed datagram pair',
  plan,
  check,
};
