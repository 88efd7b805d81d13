/*
 * signals: caught signals interrupting sleeps.  A target process (SIGUSR1 caught, with
 * SA_RESTART or without; SIGUSR2 ignored) reads a connection blocking in recv, recv with
 * MSG_WAITALL, poll or sleep, while a killer process on another CPU sends it bytes and
 * signals; signals_progs.ts.
 *
 * Check: the target got exactly the killer's bytes (count, FNV-1a, each at its offset:
 * a restarted or interrupted call neither loses nor repeats data); it caught SIGUSR1 at
 * least once (the last one is sent before the close that ends its reading) and no more
 * often than it was sent (unless the `signal` fault site, which posts caught signals
 * itself, is armed); under SA_RESTART no recv failed with EINTR (poll, sleep and a
 * predicate wait never restart); every interruption (an EINTR, a MSG_WAITALL cut short)
 * had a caught signal of its own, so an ignored SIGUSR2 never interrupted anything.
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { Checker, cpuPair, hex, pathFor, planRng, progsUrl } from './plan.js';
import type { KillerResult, TargetResult } from './signals_progs.js';

const PROGS = progsUrl(import.meta.url, 'signals_progs');

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'signals');
  const pairs = rng.range(2, 3);
  const rounds = Math.max(3, Math.floor(ctx.ops / (pairs * 2)));
  const out: ProcessPlan[] = [];
  for (let i = 0; i < pairs; i++) {
    const [t, k] = cpuPair(rng, ctx.cpus);
    const path = pathFor(ctx, 'signals', i);
    const dseed = rng.seed();
    const restart = i === 0 ? true : i === 1 ? false : rng.chance(0.5);
    out.push({ cpu: t, module: PROGS, export: 'sigTarget', args: [path, restart, rng.seed(), dseed], name: `signal target ${i}`, uid: 1000 });
    out.push({ cpu: k, module: PROGS, export: 'sigKiller', args: [path, rng.range(Math.ceil(rounds / 2), rounds), rng.seed(), dseed],
      name: `signal killer ${i}`, uid: 1000 });
  }
  return out;
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  for (let i = 0; i + 1 < plans.length; i += 2) {
    const t = c.value<TargetResult>(outcomes[i], plans[i].name ?? 'target', false);
    const k = c.value<KillerResult>(outcomes[i + 1], plans[i + 1].name ?? 'killer');
    if (t === null || k === null) continue;
    const what = `pair ${i / 2} (${t.restart ? 'SA_RESTART' : 'no SA_RESTART'})`;
    c.eq(t.bad, -1, `${what}: the first wrong byte at offset`);
    c.eq(t.got, k.sent, `${what}: bytes received vs sent`);
    c.expect(t.h === k.h, () => `${what}: checksum received ${hex(t.h)}, sent ${hex(k.h)}`);
    c.expect(t.caught >= 1, () => `${what}: SIGUSR1 sent ${k.kills1} times and never caught`);
    // (With the signal fault site armed, the kernel posts some caught signals itself.)
    if (!t.injected) c.expect(t.caught <= k.kills1, () => `${what}: SIGUSR1 caught ${t.caught} times, sent ${k.kills1}`);
    if (t.restart) {
      c.eq(t.eintr.recv + t.eintr.waitall, 0, `${what}: recvs failed with EINTR under SA_RESTART`);
    }
    const interruptions = t.eintr.recv + t.eintr.waitall + t.eintr.poll + t.eintr.sleep + t.shortWaitall;
    c.expect(interruptions <= t.caught, () => `${what}: ${interruptions} interrupted calls (${JSON.stringify(t.eintr)}, ${t.shortWaitall} short MSG_WAITALL) for ${t.caught} signals caught`);
  }
  return c.report();
}

export const signals: Workload = {
  name: 'signals',
  description: 'caught signals (SA_RESTART and not) interrupting a reader blocked in recv, MSG_WAITALL, poll and sleep while another CPU sends; EINTR or restart as DragonFly does, no byte lost or repeated',
  plan,
  check,
};
