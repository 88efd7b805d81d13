/*
 * accept: accept storms against a small backlog (listen(fd, 1..3)): connector processes
 * on every CPU connect over and over, retrying ECONNREFUSED while the queue is full,
 * against acceptor threads of one listener on several CPUs; a share of the connections
 * is closed at once (connect/close churn), and now and then a connect goes to a path
 * nobody bound (ENOENT).  accept_progs.ts.
 *
 * Check: with nobody accepting, listen(s, b) queues floor(3b/2) + 1 connections and
 * refuses the next (sonewconn's so_qlen > 3 * so_qlimit / 2; measured by the listener on
 * a listener of its own, where no other process connects); every connection was
 * accepted exactly once (the listener's count is the
 * planned total); every hello a connector completed was seen by exactly one acceptor and
 * answered exactly (its nonce), and every hello an acceptor answered is one a connector
 * completed; the churned connections the acceptors saw (EOF before a hello) are the ones
 * the connectors closed.
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { Checker, pathFor, planRng, progsUrl } from './plan.js';
import type { AcceptorResult, ConnectorResult } from './accept_progs.js';

const PROGS = progsUrl(import.meta.url, 'accept_progs');

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'accept');
  const connectors = rng.range(2, 4);
  const k = Math.max(2, Math.floor(ctx.ops / (connectors * 3)));
  const path = pathFor(ctx, 'accept', 0);
  const ks = Array.from({ length: connectors }, () => rng.range(Math.ceil(k / 2), k));
  const total = ks.reduce((a, b) => a + b, 0);
  const cpus = rng.shuffle(Array.from({ length: ctx.cpus }, (_, i) => i)).slice(0, rng.range(1, ctx.cpus));
  const out: ProcessPlan[] = [{ cpu: rng.below(ctx.cpus), module: PROGS, export: 'acceptListener',
    args: [path, rng.range(1, 3), total, cpus, rng.seed()], name: 'accept listener', uid: 1000 }];
  ks.forEach((kk, i) => out.push({ cpu: rng.below(ctx.cpus), module: PROGS, export: 'connector', args: [path, i + 1, kk, rng.seed()],
    name: `connector ${i + 1}`, uid: 1000 }));
  return out;
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  const total = plans[0].args[2] as number;
  const lst = c.value<AcceptorResult>(outcomes[0], 'accept listener');
  const done: number[] = [];
  let churn = 0, refused = 0;
  for (let i = 1; i < plans.length; i++) {
    const v = c.value<ConnectorResult>(outcomes[i], plans[i].name ?? `connector ${i}`);
    if (v === null) continue;
    done.push(...v.hellos);
    churn += v.churn;
    refused += v.refused;
  }
  if (lst === null) return c.report();
  if (c.expect(lst.probe !== undefined, () => 'the listener did not measure its backlog') && lst.probe !== undefined) {
    c.eq(lst.probe.queued, lst.probe.limit, `listen(s, ${lst.probe.backlog}) with nobody accepting: connections queued before ECONNREFUSED`);
  }
  c.eq(lst.accepted, total, 'connections accepted vs made');
  c.eq(lst.churn, churn, 'connections closed before their hello: seen by acceptors vs closed by connectors');
  const seen = new Map<number, number>();
  for (const h of lst.hellos) seen.set(h, (seen.get(h) ?? 0) + 1);
  for (const [h, n] of seen) c.expect(n === 1, () => `hello ${h.toString(16)} accepted ${n} times`);
  const mine = new Set(done);
  c.eq(mine.size, done.length, 'hellos completed by connectors, distinct');
  for (const h of done) c.expect(seen.has(h), () => `hello ${h.toString(16)} completed by its connector, seen by no acceptor`);
  for (const h of seen.keys()) c.expect(mine.has(h), () => `hello ${h.toString(16)} answered by an acceptor, not completed by its connector`);
  c.bytes = done.length * 16;
  void refused;
  return c.report();
}

export const accept: Workload = {
  name: 'accept',
  description: 'accept storms on listen(fd, 1..3): connectors on every CPU retrying ECONNREFUSED, acceptor threads on several CPUs, connect/close churn; every connection accepted once, every hello answered exactly',
  plan,
  check,
};
