/*
 * format.ts: number formatting for the CLI's reports (counts, rates, percentages, times).
 */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/* A count, with thousands separators. */
export function fmtCount(n: number): string {
  return grouped.format(Math.round(n));
}

/* A rate: whole numbers from 100 up, one decimal below. */
export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  return perSecond >= 100 ? grouped.format(Math.round(perSecond)) : perSecond.toFixed(1);
}

export function fmtPct(fraction: number): string {
  if (!Number.isFinite(fraction)) return '-';
  const pct = fraction * 100;
  return `${pct !== 0 && Math.abs(pct) < 1 ? pct.toFixed(2) : pct.toFixed(1)}%`;   // a few in thousands still shows
}

/* A duration given in nanoseconds, in the largest unit that keeps it >= 1. */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

export function fmtSeconds(ns: number): string {
  return `${(ns / 1e9).toFixed(1)}s`;
}
