/*
 * determinism.ts: --check-determinism.  A deterministic seed is run twice with every
 * event kept; the two runs must agree event for event.  A difference (real time, an
 * unseeded random number or hash-order iteration leaking into the kernel or a workload)
 * is reported with the first event where they part, decoded.
 */

import type { DeterministicMachine } from '../machine/deterministic.js';
import { firstDivergence } from '../machine/divergence.js';
import { trace_format, type TraceEvent } from '../lwkt/lwkt_trace.js';
import { run_stress_seed, type SeedOutcome, type SeedRunOptions } from './seed_run.js';
import type { StressSettings } from './settings.js';

/* The events and hash of one run of the seed (the machine kept to read them). */
async function events_of(seed: number, s: StressSettings, o: SeedRunOptions): Promise<{ out: SeedOutcome; events: TraceEvent[] }> {
  let events: TraceEvent[] = [];
  const hook = (m: DeterministicMachine): void => { events = m.traceEvents(); };
  const out = await run_stress_seed(seed, s, { ...o, traceAll: true, onEnd: hook });
  return { out, events };
}

export async function first_divergence_text(seed: number, s: StressSettings, o: SeedRunOptions): Promise<SeedOutcome> {
  const a = await events_of(seed, s, o);
  const b = await events_of(seed, s, o);
  const d = firstDivergence(a.events, b.events);
  if (d === null && a.out.traceHash === b.out.traceHash) return a.out;
  const at = d === null ? 'no event differs but the schedule hashes do'
    : `event ${d.index}: first run ${d.a === null ? '(ended)' : trace_format(d.a)}; second run ${d.b === null ? '(ended)' : trace_format(d.b)}`;
  a.out.divergence = at;
  a.out.failures.push(`determinism: two runs of seed ${seed} differ at ${at}`);
  a.out.ok = false;
  return a.out;
}
