/*
 * stream: AF_LOCAL SOCK_STREAM connections moving checksummed bytes.  Each channel is a
 * socketpair inside one process (writer here, reader in a thread on another CPU) or a
 * connection between a server and a client process on different CPUs; some channels
 * carry a second direction back (full duplex, four threads on one connection).  Writes
 * and reads have random sizes and flags (stream_progs.ts).
 *
 * Check, per direction: the reader got exactly the bytes the writer's sends accepted
 * (count and FNV-1a, so in order and each once), every byte right at its offset, and
 * no call returned what DragonFly does not allow (a blocking send short, MSG_WAITALL
 * short before EOF, a peeked run read back short).
 */

import type { ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { Checker, cpuPair, hex, pathFor, planRng, progsUrl, share } from './plan.js';
import type { DirRec, DirSpec, StreamResult } from './stream_progs.js';

const PROGS = progsUrl(import.meta.url, 'stream_progs');

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'stream');
  const channels = rng.range(2, 3);
  const out: ProcessPlan[] = [];
  let id = 0;
  const perDir = share(ctx.ops, channels * 2, 2);
  const dir = (): DirSpec => ({ id: id++, seed: rng.seed(), writes: rng.range(Math.ceil(perDir / 2), perDir),
    maxWrite: rng.pick([4096, 16384, 70_000]), maxRead: rng.pick([4096, 65536, 80_000]), close: rng.chance(0.5),
    sndbuf: rng.chance(0.4) ? rng.range(256, 8192) : 0 });
  for (let k = 0; k < channels; k++) {
    const [c0, c1] = cpuPair(rng, ctx.cpus);
    const d0 = dir();
    const d1 = rng.chance(0.4) ? dir() : null;
    if (rng.chance(0.5)) {
      out.push({ cpu: c0, module: PROGS, export: 'streamPair', args: [c1, d0, d1], name: `stream pair ${k}`, uid: 1000 });
    } else {
      const path = pathFor(ctx, 'stream', k);
      const [c2, c3] = cpuPair(rng, ctx.cpus);
      out.push({ cpu: c0, module: PROGS, export: 'streamServer', args: [path, c2, d0, d1], name: `stream server ${k}`, uid: 1000 });
      out.push({ cpu: c1, module: PROGS, export: 'streamClient', args: [path, c3, d0, d1], name: `stream client ${k}`, uid: 1000 });
    }
  }
  return out;
}

/* The directions a plan made, by id (the check plans again: plans are a function of ctx). */
function plannedDirs(plans: ProcessPlan[]): number[] {
  const ids = new Set<number>();
  for (const p of plans) for (const a of p.args) if (a !== null && typeof a === 'object' && 'id' in a) ids.add((a as DirSpec).id);
  return [...ids].sort((x, y) => x - y);
}

function check(outcomes: import('../workload.js').ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  const recs: DirRec[] = [];
  outcomes.forEach((o, i) => {
    const v = c.value<StreamResult>(o, plans[i]?.name ?? `process ${i}`);
    if (v !== null && Array.isArray(v.recs)) recs.push(...v.recs);
  });
  for (const id of plannedDirs(plans)) {
    const w = recs.filter((r) => r.id === id && r.role === 'w');
    const r = recs.filter((x) => x.id === id && x.role === 'r');
    if (!c.expect(w.length === 1 && r.length === 1, () => `direction ${id}: ${w.length} writers and ${r.length} readers reported`)) continue;
    c.eq(r[0].bad, -1, `direction ${id}: first wrong byte at offset`);
    c.eq(r[0].bytes, w[0].bytes, `direction ${id}: bytes received vs sent`);
    c.expect(r[0].h === w[0].h, () => `direction ${id}: checksum received ${hex(r[0].h)}, sent ${hex(w[0].h)}`);
  }
  return c.report();
}

export const stream: Workload = {
  name: 'stream',
  description: 'AF_LOCAL stream socketpairs and connections, one or both ways, with random write/read sizes and MSG_PEEK/MSG_WAITALL/MSG_DONTWAIT; bytes and FNV-1a checksums must match, every byte at its offset',
  plan,
  check,
};
