/*
 * stress_task.ts: one deterministic seed of a stress run, as a piscina task.  Each task
 * boots a machine of its own (its own kmem), so seeds run side by side on the host's cores.
 */

import { threadId } from 'node:worker_threads';
import { run_stress_seed, type SeedOutcome, type SeedRunOptions } from './seed_run.js';
import type { StressSettings } from './settings.js';

export interface StressTaskInput {
  seed: number;
  settings: StressSettings;
  opts: SeedRunOptions;
  twice: boolean;
  heartbeat?: SharedArrayBuffer;   // this worker's thread id goes in word 0 (runner.ts takes its stack if it sticks)
}

export default async function stress_task(t: StressTaskInput): Promise<SeedOutcome> {
  if (t.heartbeat !== undefined) Atomics.store(new Int32Array(t.heartbeat), 0, threadId);
  if (!t.twice) return run_stress_seed(t.seed, t.settings, t.opts);
  return check_determinism(t.seed, t.settings, t.opts);
}

/*
 * --check-determinism: run the seed twice with every event kept and compare; a difference
 * is a failure naming the first event where the runs part (madsim's double run).
 */
async function check_determinism(seed: number, s: StressSettings, o: SeedRunOptions): Promise<SeedOutcome> {
  const { first_divergence_text } = await import('./determinism.js');
  return first_divergence_text(seed, s, o);
}
