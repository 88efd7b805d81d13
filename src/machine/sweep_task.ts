/*
 * sweep_task.ts: one seed of a sweep, run in a piscina worker: boot a deterministic
 * machine with the seed, run the scenario, report its result and the trace hash.
 */

import { boot } from './boot.js';
import { thread_fn } from './modules.js';
import type { Scenario, SeedResult, SweepTaskInput } from './sweep.js';
import type { Machine } from './machine.js';

export default async function run_seed(t: SweepTaskInput): Promise<SeedResult> {
  const scenario = (await thread_fn(t.module, t.export)) as unknown as Scenario;
  const m = (await boot({ ...t.boot, engine: 'deterministic', seed: t.seed })) as Machine & { kmalloc(w: number): number };
  let out: SeedResult;
  try {
    const result = await scenario(m);
    out = { seed: t.seed, ok: true, traceHash: m.traceHash(), result };
  } catch (e) {
    out = { seed: t.seed, ok: false, traceHash: m.traceHash(), error: e instanceof Error ? e.message : String(e) };
  }
  await m.shutdown().catch(() => undefined);
  return out;
}
