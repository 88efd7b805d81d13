/*
 * divergence.ts: where two deterministic runs of the same seed first differ.  Events are
 * (cpu, thread id, effect) triples, as DeterministicMachine.traceEvents() returns them.
 */

export interface Divergence { index: number; a: [number, number, number] | null; b: [number, number, number] | null }

export function firstDivergence(a: number[], b: number[]): Divergence | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 3) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) {
      return { index: i / 3, a: [a[i], a[i + 1], a[i + 2]], b: [b[i], b[i + 1], b[i + 2]] };
    }
  }
  if (a.length === b.length) return null;
  const i = n;
  return { index: i / 3, a: i < a.length ? [a[i], a[i + 1], a[i + 2]] : null, b: i < b.length ? [b[i], b[i + 1], b[i + 2]] : null };
}
