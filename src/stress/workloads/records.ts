/*
 * dgram and seqpacket: record traffic (records_progs.ts).  Every record carries its
 * sender, sequence number, length and checksum.
 *
 * dgram: 2-4 senders on all CPUs to one bound receiver, by sendto or connect + send, with
 * some records over maxdgram.  Check: every record arrived whole; per sender, the
 * receiver got exactly the records whose sends succeeded (count and checksum sum), in
 * the order sent; ENOBUFS only ever refused a record (counted as not sent), EMSGSIZE
 * only an oversized one; every sender's end marker arrived.
 *
 * seqpacket: senders each with a connection to a listener whose reader threads run on
 * every CPU, and socketpairs inside one process.  Check: per connection, records in
 * order from 0, none lost, none cut, none extra (count and checksum sum equal what the
 * sender sent); MSG_DONTWAIT all or nothing; EMSGSIZE for a record over the send buffer.
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { Checker, cpuPair, hex, pathFor, planRng, progsUrl, share } from './plan.js';
import type { RecvResult, SeenFrom, SendResult, SentBy } from './records_progs.js';

const PROGS = progsUrl(import.meta.url, 'records_progs');

/* Compare what each sender sent with what was received from it. */
function compare(c: Checker, kind: string, sent: SentBy[], seen: SeenFrom[]): void {
  for (const s of sent) {
    const got = seen.filter((x) => x.id === s.id);
    if (got.length === 0 && s.count === 0) continue;
    if (!c.expect(got.length === 1, () => `${kind} sender ${s.id}: its records seen by ${got.length} receivers`)) continue;
    c.eq(got[0].count, s.count, `${kind} sender ${s.id}: records received vs sent`);
    c.expect(got[0].sum === s.sum, () => `${kind} sender ${s.id}: checksum sum received ${hex(got[0].sum)}, sent ${hex(s.sum)}`);
    c.eq(got[0].last, s.last, `${kind} sender ${s.id}: last record received vs sent`);
  }
  for (const g of seen) {
    c.expect(sent.some((s) => s.id === g.id), () => `${kind}: records from sender ${g.id}, which nobody planned or reported`);
  }
}

/* ---- dgram ---- */

function planDgram(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'dgram');
  const out: ProcessPlan[] = [];
  const groups = rng.range(1, 2);
  let id = 1;
  for (let g = 0; g < groups; g++) {
    const senders = rng.range(2, 3);
    const path = pathFor(ctx, 'dgram', g);
    out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'dgramReceiver', args: [path, senders, rng.seed(), 20_000],
      name: `dgram receiver ${g}`, uid: 1000 });
    const n = share(ctx.ops, groups * senders, 2);
    for (let i = 0; i < senders; i++) {
      out.push({ cpu: (i + g) % ctx.cpus, module: PROGS, export: 'dgramSender', args: [path, id++, rng.range(Math.ceil(n / 2), n), rng.seed()],
        name: `dgram sender ${g}.${i}`, uid: 1000 });
    }
  }
  return out;
}

function checkDgram(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = planDgram(ctx);
  const sent: SentBy[] = [], seen: SeenFrom[] = [];
  outcomes.forEach((o, i) => {
    const p = plans[i];
    const v = c.value<RecvResult & SendResult>(o, p?.name ?? `process ${i}`, p?.export !== 'dgramReceiver');
    if (v === null) return;
    if (Array.isArray(v.sent)) sent.push(...v.sent);
    if (Array.isArray(v.from)) seen.push(...v.from);
  });
  compare(c, 'dgram', sent, seen);
  return c.report();
}

export const dgram: Workload = {
  name: 'dgram',
  description: 'AF_LOCAL datagram senders on every CPU to bound receivers (sendto and connect+send); each record whole, per sender exactly the records whose send succeeded (ENOBUFS: not sent), in order',
  plan: planDgram,
  check: checkDgram,
};

/* ---- seqpacket ---- */

function planSeq(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'seqpacket');
  const out: ProcessPlan[] = [];
  const conns = rng.range(2, 3);
  const pairs = rng.range(1, 2);
  const n = share(ctx.ops, conns + pairs, 2);
  const maxRec = rng.pick([512, 4096, 20_000]);
  const path = pathFor(ctx, 'seqpacket', 0);
  const cpus = Array.from({ length: ctx.cpus }, (_, i) => i);
  let id = 1;
  out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'seqListener', args: [path, conns, rng.shuffle(cpus), rng.seed(), maxRec],
    name: 'seqpacket listener', uid: 1000 });
  for (let i = 0; i < conns; i++) {
    out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'seqSender', args: [path, id++, rng.range(Math.ceil(n / 2), n), rng.seed(), maxRec],
      name: `seqpacket sender ${i}`, uid: 1000 });
  }
  for (let i = 0; i < pairs; i++) {
    const [c0, c1] = cpuPair(rng, ctx.cpus);
    out.push({ cpu: c0, module: PROGS, export: 'seqPair', args: [c1, id++, rng.range(Math.ceil(n / 2), n), rng.seed(), maxRec],
      name: `seqpacket pair ${i}`, uid: 1000 });
  }
  return out;
}

function checkSeq(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = planSeq(ctx);
  const sent: SentBy[] = [], seen: SeenFrom[] = [];
  outcomes.forEach((o, i) => {
    const p = plans[i];
    const label = p?.name ?? `process ${i}`;
    if (p?.export === 'seqPair') {
      const v = c.value<{ rx: RecvResult; tx: SendResult }>(o, label);
      if (v === null) return;
      for (const part of [v.rx, v.tx]) {
        if (part === undefined || part === null) continue;
        c.ops += part.ops;
        for (const a of part.anomalies ?? []) c.fail(`${label}: ${a}`);
      }
      c.bytes += v.tx?.bytes ?? 0;
      sent.push(...(v.tx?.sent ?? []));
      seen.push(...(v.rx?.from ?? []));
      return;
    }
    const v = c.value<RecvResult & SendResult>(o, label);
    if (v === null) return;
    if (Array.isArray(v.sent)) sent.push(...v.sent);
    if (Array.isArray(v.from)) seen.push(...v.from);
  });
  // Every planned sender reported, and each got its own connection.
  const planned = plans.filter((p) => p.export !== 'seqListener').map((p) => p.args[1] as number);
  for (const id of planned) c.expect(sent.some((s) => s.id === id), () => `seqpacket sender ${id}: no report`);
  compare(c, 'seqpacket', sent, seen);
  return c.report();
}

export const seqpacket: Workload = {
  name: 'seqpacket',
  description: 'AF_LOCAL seqpacket connections (listener with reader threads on every CPU, and socketpairs); records in order, whole, none lost or repeated; MSG_DONTWAIT all or nothing; EMSGSIZE over the send buffer',
  plan: planSeq,
  check: checkSeq,
};
