/*
 * report.ts: figures, their baselines and targets; medians over rounds; the stdout table,
 * stderr progress lines and the JSON record.
 */

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, cpus as os_cpus, loadavg, totalmem } from 'node:os';

/*
 * A target on the figure's ratio to its baseline (ratio-max: value/baseline at most x),
 * or, where the brief sets one, on the value itself (abs-max / abs-min), or none (info).
 */
export type Target =
  | { kind: 'ratio-max'; x: number }
  | { kind: 'ratio-min'; x: number }
  | { kind: 'abs-max'; x: number }
  | { kind: 'abs-min'; x: number }
  | { kind: 'none' };

export type Unit = 'ns' | 'ops/s' | 'switch/s' | 'B/s' | 'B';

export interface Figure {
  id: string;
  section: string;
  label: string;
  unit: Unit;
  baselineLabel: string;
  target: Target;
  values: number[];        // one per round
  baselines: number[];     // one per round, measured back to back with the value
  note?: string;
  side?: Side[];
  /* The baseline as ../shared/reference/baselines.md measured it on a quiet machine. */
  reference?: { value: number; higherIsBetter?: boolean };
  extra: Record<string, unknown>;
}

/* A secondary ratio kept in extra[key] each round, shown (median) in the table's last column. */
export interface Side { key: string; label: string }

export interface FigureSummary {
  id: string;
  section: string;
  label: string;
  unit: Unit;
  value: number;           // median over rounds
  baseline: number;        // median over rounds
  baselineLabel: string;
  ratio: number;           // median of the per-round ratios value/baseline
  ratioSpread: [number, number];
  valueSpread: [number, number];
  target: Target;
  targetText: string;
  status: 'PASS' | 'MISS' | 'info';
  rounds: number;
  values: number[];
  baselines: number[];
  ratios: number[];
  note?: string;
  sideText: string;
  reference?: number;
  /* The baseline's median is over DISTURBED_X worse than its reference: the host was busy. */
  disturbed: boolean;
  extra: Record<string, unknown>;
}

export const DISTURBED_X = 3;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export class Report {
  readonly figures = new Map<string, Figure>();
  readonly notes: string[] = [];
  readonly errors: { section: string; message: string }[] = [];

  /* Record one round of a figure (value and its same-round baseline). */
  add(f: Omit<Figure, 'values' | 'baselines' | 'extra'> & { value: number; baseline: number; extra?: Record<string, unknown> }): void {
    let fig = this.figures.get(f.id);
    if (fig === undefined) {
      fig = { id: f.id, section: f.section, label: f.label, unit: f.unit, baselineLabel: f.baselineLabel, target: f.target,
        values: [], baselines: [], note: f.note, side: f.side, reference: f.reference, extra: {} };
      this.figures.set(f.id, fig);
    }
    const load = (fig.extra.load1 as number[] | undefined) ?? [];
    load.push(Number(loadavg()[0].toFixed(2)));
    fig.extra.load1 = load;
    fig.values.push(f.value);
    fig.baselines.push(f.baseline);
    if (f.note !== undefined) fig.note = f.note;
    if (f.extra !== undefined) {
      for (const [k, v] of Object.entries(f.extra)) {
        const arr = (fig.extra[k] as unknown[] | undefined) ?? [];
        arr.push(v);
        fig.extra[k] = arr;
      }
    }
  }

  summaries(): FigureSummary[] {
    const out: FigureSummary[] = [];
    for (const f of this.figures.values()) {
      const ratios = f.values.map((v, i) => v / f.baselines[i]);
      const value = median(f.values);
      const ratio = median(ratios);
      let status: FigureSummary['status'] = 'info';
      const t = f.target;
      if (t.kind === 'ratio-max') status = ratio <= t.x ? 'PASS' : 'MISS';
      else if (t.kind === 'ratio-min') status = ratio >= t.x ? 'PASS' : 'MISS';
      else if (t.kind === 'abs-max') status = value <= t.x ? 'PASS' : 'MISS';
      else if (t.kind === 'abs-min') status = value >= t.x ? 'PASS' : 'MISS';
      const sideText = (f.side ?? []).map((sd) => {
        const xs = ((f.extra[sd.key] as number[] | undefined) ?? []).filter((x) => typeof x === 'number');
        return xs.length === 0 ? '' : `${fmt_ratio(median(xs))} ${sd.label}`;
      }).filter((x) => x !== '').join(', ');
      const b = median(f.baselines);
      // A ratio target with no baseline this run (e.g. no C compiler for the host helper): info.
      if ((t.kind === 'ratio-max' || t.kind === 'ratio-min') && !Number.isFinite(b)) status = 'info';
      const ref = f.reference;
      const disturbed = ref !== undefined && (ref.higherIsBetter ? b * DISTURBED_X < ref.value : b > ref.value * DISTURBED_X);
      out.push({
        id: f.id, section: f.section, label: f.label, unit: f.unit, value, baseline: median(f.baselines),
        baselineLabel: f.baselineLabel, ratio, ratioSpread: [Math.min(...ratios), Math.max(...ratios)],
        valueSpread: [Math.min(...f.values), Math.max(...f.values)], target: t, targetText: target_text(t, f.unit),
        status, rounds: f.values.length, values: f.values, baselines: f.baselines, ratios, note: f.note, sideText,
        reference: ref?.value, disturbed, extra: f.extra,
      });
    }
    return out;
  }
}

export function target_text(t: Target, unit: Unit): string {
  switch (t.kind) {
    case 'ratio-max': return `<= ${t.x}x`;
    case 'ratio-min': return `>= ${t.x}x`;
    case 'abs-max': return `<= ${fmt(t.x, unit)}`;
    case 'abs-min': return `>= ${fmt(t.x, unit)}`;
    default: return '-';
  }
}

export function fmt(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'ns') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
    if (v >= 1e4) return `${(v / 1e3).toFixed(1)} µs`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(2)} µs`;
    return `${v.toFixed(v < 10 ? 2 : 1)} ns`;
  }
  if (unit === 'B/s') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} GB/s`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e8 ? 0 : 1)} MB/s`;
    return `${(v / 1e3).toFixed(1)} kB/s`;
  }
  if (unit === 'B') return Math.abs(v) >= 100 ? `${v.toFixed(0)} B` : `${v.toFixed(2)} B`;
  const u = unit === 'ops/s' ? 'op/s' : 'sw/s';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M${u}`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k${u}`;
  return `${v.toFixed(0)} ${u}`;
}

function fmt_ratio(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

/* The table: figure, value, baseline, ratio (and its spread over rounds), target, status. */
export function table(sums: FigureSummary[]): string {
  const head = ['figure', 'value', 'baseline (same run)', 'ratio', 'ratio range', 'target', 'status', 'n', 'also'];
  const rows: string[][] = [head];
  let section = '';
  const sep: number[] = [];
  for (const s of sums) {
    if (s.section !== section) { section = s.section; sep.push(rows.length); }
    rows.push([
      s.label, fmt(s.value, s.unit),
      Number.isFinite(s.baseline) ? `${fmt(s.baseline, s.unit)}${s.disturbed ? '!' : ''} ${s.baselineLabel}` : `no baseline (${s.baselineLabel})`,
      Number.isFinite(s.ratio) ? fmt_ratio(s.ratio) : '-',
      s.rounds > 1 ? `${fmt_ratio(s.ratioSpread[0])}–${fmt_ratio(s.ratioSpread[1])}` : '', s.targetText, s.status,
      String(s.rounds), s.sideText,
    ]);
  }
  const w = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((x, c) => (c === 1 || c === 3 ? x.padStart(w[c]) : x.padEnd(w[c]))).join('  ').trimEnd();
  const rule = w.map((n) => '-'.repeat(n)).join('  ');
  const out: string[] = [line(rows[0]), rule];
  for (let i = 1; i < rows.length; i++) {
    if (sep.includes(i) && i > 1) out.push('');
    out.push(line(rows[i]));
  }
  const notes = sums.filter((s) => s.note !== undefined);
  const dist = sums.filter((s) => s.disturbed);
  if (notes.length > 0 || dist.length > 0) out.push('');
  if (dist.length > 0) {
    out.push(`  ! baseline over ${DISTURBED_X}x worse than its reference (../shared/reference/baselines.md): this host is not ` +
      `as it was then (other load, both vCPUs on one core, or slow wake-ups of idle vCPUs); ratios to it flatter the simulation:`);
    for (const s of dist) out.push(`      ${s.label}: baseline ${fmt(s.baseline, s.unit)}, reference ${fmt(s.reference!, s.unit)}`);
  }
  if (notes.length > 0) {
    for (const s of notes) out.push(`  ${s.label}: ${s.note}`);
  }
  return out.join('\n');
}

let t_start = performance.now();
export function progress_reset(): void { t_start = performance.now(); }
export function progress(msg: string): void {
  process.stderr.write(`[bench ${((performance.now() - t_start) / 1e3).toFixed(1).padStart(5)}s] ${msg}\n`);
}

export function host_info(): Record<string, unknown> {
  const c = os_cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: c[0]?.model ?? 'unknown',
    cpuMHz: c[0]?.speed ?? 0,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    totalMemBytes: totalmem(),
    loadavg: loadavg(),
  };
}

export function write_json(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}
