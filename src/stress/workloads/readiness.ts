/*
 * readiness: event loops over socketpairs (readiness_progs.ts).  Each process owns 2-4
 * stream or seqpacket pairs whose writer threads run on every CPU (writing with send or
 * aio_write), and reads all the other ends through one loop: poll, select, kevent
 * (level-triggered, or EV_CLEAR drained until EAGAIN) or aio_read + aio_suspend; waits are
 * infinite, short, or zero.
 *
 * Check: per pair, the bytes read are the bytes written (count, FNV-1a, each at its
 * offset) and the loop saw its EOF; readiness was honest (a descriptor reported readable
 * never gave EAGAIN to a MSG_DONTWAIT read, kevent's data was there to read, no POLLHUP,
 * POLLERR or POLLNVAL on an open socket, no empty return from an infinite wait, no
 * aio_suspend return without a finished job).
 */

import type { ProcessOutcome, ProcessPlan, Workload, WorkloadContext } from '../workload.js';
import { SOCK_SEQPACKET, SOCK_STREAM } from '../../libc/index.js';
import { Checker, hex, planRng, progsUrl } from './plan.js';
import type { Mode, ReadyResult } from './readiness_progs.js';

const PROGS = progsUrl(import.meta.url, 'readiness_progs');
const MODES: Mode[] = ['poll', 'select', 'kevent', 'kevent_clear', 'aio'];

function plan(ctx: WorkloadContext): ProcessPlan[] {
  const rng = planRng(ctx, 'readiness');
  const procs = rng.range(2, 3);
  const modes = rng.shuffle(MODES).slice(0, procs);
  const cpus = Array.from({ length: ctx.cpus }, (_, i) => i);
  return modes.map((mode, i) => {
    const k = rng.range(2, 4);
    const writes = Math.max(2, Math.floor(ctx.ops / (procs * k)));
    return { cpu: rng.below(ctx.cpus), module: PROGS, export: 'readiness',
      args: [mode, k, rng.pick([SOCK_STREAM, SOCK_STREAM, SOCK_SEQPACKET]), rng.shuffle(cpus), writes, rng.seed()],
      name: `readiness ${mode} ${i}`, uid: 1000 };
  });
}

function check(outcomes: ProcessOutcome[], ctx: WorkloadContext) {
  const c = new Checker();
  const plans = plan(ctx);
  outcomes.forEach((o, i) => {
    const label = plans[i]?.name ?? `process ${i}`;
    const v = c.value<ReadyResult>(o, label);
    if (v === null || !Array.isArray(v.writers) || !Array.isArray(v.readers)) return;
    c.eq(v.readers.length, plans[i].args[1], `${label}: pairs read`);
    for (const w of v.writers) {
      const r = v.readers.find((x) => x.id === w.id);
      if (!c.expect(r !== undefined, () => `${label}: pair ${w.id} has no reader`) || r === undefined) continue;
      c.eq(r.bad, -1, `${label}: pair ${w.id}: first wrong byte at offset`);
      c.eq(r.bytes, w.bytes, `${label}: pair ${w.id}: bytes read vs written`);
      c.expect(r.h === w.h, () => `${label}: pair ${w.id}: checksum read ${hex(r.h)}, written ${hex(w.h)}`);
    }
  });
  return c.report();
}

export const readiness: Workload = {
  name: 'readiness',
  description: 'poll, select, kevent (level and EV_CLEAR) and aio event loops over socketpairs written from every CPU; readiness never lies, every byte arrives once, in order',
  plan,
  check,
};
