/*
 * sockbuf: SO_SNDBUF/SO_RCVBUF resizing and kern.ipc.maxsockbuf changes under stream
 * traffic; sockbuf_progs.ts.  Stream pairs whose writer and reader resize their own ends
 * between calls while a resizer thread on another CPU resizes both; one root process
 * moves maxsockbuf among values that keep sb_max_adj at or above the 56 KB a new AF_LOCAL
 * stream reserves (so workloads running beside this one, whose records must fit a
 * default send buffer, are not disturbed), tries a value below MSIZE + MCLBYTES now and
 * then, and restores the value it found.
 *
 * Check: bytes, FNV-1a and each byte's offset through every resize; each hiwat read back
 * is the request clamped to sb_max_adj of a maxsockbuf value in play; sizes below 1 are
 * EINVAL, a maxsockbuf below MSIZE + MCLBYTES is EINVAL and changes nothing; maxsockbuf
 * is back at its original value at the end (and the runner's counter check sees it).
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { Checker, cpuPair, hex, planRng, progsUrl } from './plan.js';
import { sbMaxAdj, type SockbufResult, type SysctlResult } from './sockbuf_progs.js';

const PROGS = progsUrl(import.meta.url, 'sockbuf_progs');

/* maxsockbuf values whose sb_max_adj (the largest buffer) stays >= 57344. */
const VALUES = [65536, 98304, 131072, 262144, 524288];

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'sockbuf');
  const pairs = rng.range(1, 2);
  const writes = Math.max(4, Math.floor(ctx.ops / (pairs * 2)));
  const values = rng.shuffle(VALUES).slice(0, 3);
  const limits = [...values, 262144].map(sbMaxAdj);
  const out: ProcessPlan[] = [{ cpu: rng.below(ctx.cpus), module: PROGS, export: 'sbSysctl', args: [Math.max(4, writes >> 1), values, rng.seed()],
    name: 'maxsockbuf changer', uid: 0 }];
  for (let i = 0; i < pairs; i++) {
    const [a, b] = cpuPair(rng, ctx.cpus);
    out.push({ cpu: a, module: PROGS, export: 'sbStream', args: [b, rng.range(Math.ceil(writes / 2), writes), rng.seed(), limits],
      name: `sockbuf stream ${i}`, uid: 1000 });
  }
  return out;
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  const sc = c.value<SysctlResult>(outcomes[0], 'maxsockbuf changer');
  if (sc !== null) c.eq(sc.final, sc.orig, 'kern.ipc.maxsockbuf at the end vs before');
  for (let i = 1; i < plans.length; i++) {
    const label = plans[i].name ?? `stream ${i}`;
    const v = c.value<SockbufResult>(outcomes[i], label);
    if (v === null || v.w === undefined || v.r === undefined) continue;
    c.eq(v.r.bad, -1, `${label}: the first wrong byte at offset`);
    c.eq(v.r.bytes, v.w.bytes, `${label}: bytes received vs sent`);
    c.expect(v.r.h === v.w.h, () => `${label}: checksum received ${hex(v.r.h)}, sent ${hex(v.w.h)}`);
  }
  return c.report();
}

export const sockbuf: Workload = {
  name: 'sockbuf',
  description: 'SO_SNDBUF/SO_RCVBUF resized from three threads and kern.ipc.maxsockbuf changed under stream traffic (restored at the end); data intact, every hiwat the request clamped to sb_max_adj of a value in play',
  plan,
  check,
};
