/*
 * divergence.ts: where two deterministic runs of the same seed first differ.  Events are
 * the decoded ones DeterministicMachine.traceEvents() returns (lwkt_trace.ts).
 */

import type { TraceEvent } from '../lwkt/lwkt_trace.js';

export interface Divergence { index: number; a: TraceEvent | null; b: TraceEvent | null }

function same(x: TraceEvent, y: TraceEvent): boolean {
  return x.step === y.step && x.cpu === y.cpu && x.tid === y.tid && x.what === y.what && x.detail === y.detail;
}

export function firstDivergence(a: readonly TraceEvent[], b: readonly TraceEvent[]): Divergence | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!same(a[i], b[i])) return { index: i, a: a[i], b: b[i] };
  if (a.length === b.length) return null;
  return { index: n, a: a[n] ?? null, b: b[n] ?? null };
}
