/*
 * shrink_schedule.ts: shrink a failing deterministic schedule to one with fewer
 * preemptions (no anchor tool does this: fast-check shrinks its inputs, not its scheduler).
 *
 * A schedule is the list of choices a run made at its steps with more than one candidate
 * CPU (DeterministicMachine.choices(), boot option recordChoices); the replay scheduler
 * follows a list and then never preempts: the CPU that ran last runs on while it can.  A
 * choice other than that is a preemption.  The shrinker replays edited lists and keeps an
 * edit while the run still fails:
 *  1. the shortest prefix that still fails (everything after it non-preemptive);
 *  2. then each remaining preemption, last first, replaced by the non-preemptive choice.
 * Each replay records its own decisions, so positions after an edit are read afresh.
 * The result is a schedule whose few preemptions are the ones the failure needs.
 */

import type { Decision } from './det_sched.js';

/* Runs the scenario under the replay scheduler with these choices: the decisions it made, and whether it failed. */
export type Replay = (choices: number[]) => Promise<{ failed: boolean; decisions: Decision[] }>;

export interface ScheduleShrink {
  choices: number[];           // the shrunk schedule (replay it with scheduler 'replay')
  preemptions: number;         // in the shrunk schedule
  preemptionsBefore: number;   // in the original
  runs: number;
}

export function count_preemptions(d: readonly Decision[]): number {
  let n = 0;
  for (const x of d) if (x.lastRunnable && x.chosen !== x.fallback) n++;
  return n;
}

/* Run-length text of a schedule: '0*120 1 0*33' (the index picked, repeated). */
export function encode_choices(c: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < c.length; ) {
    let j = i;
    while (j < c.length && c[j] === c[i]) j++;
    out.push(j - i > 1 ? `${c[i]}*${j - i}` : `${c[i]}`);
    i = j;
  }
  return out.join(' ');
}

export function decode_choices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(/\s+/)) {
    if (part === '') continue;
    const m = /^(\d+)(?:\*(\d+))?$/.exec(part);
    if (m === null) throw new RangeError(`choices: '${part}' is not n or n*count`);
    const n = Number(m[1]), k = m[2] === undefined ? 1 : Number(m[2]);
    for (let i = 0; i < k; i++) out.push(n);
  }
  return out;
}

export async function shrink_schedule(original: number[], replay: Replay, maxRuns = 60): Promise<ScheduleShrink> {
  let runs = 1;
  const first = await replay(original);
  if (!first.failed) return { choices: original, preemptions: count_preemptions(first.decisions), preemptionsBefore: count_preemptions(first.decisions), runs };
  let best = first.decisions;
  const before = count_preemptions(best);
  const chosen = (d: readonly Decision[]): number[] => d.map((x) => x.chosen);
  // 1. The shortest failing prefix (binary search over its length).
  let lo = 0, hi = best.length;
  while (lo < hi && runs < maxRuns) {
    const mid = (lo + hi) >> 1;
    runs++;
    const r = await replay(chosen(best).slice(0, mid));
    if (r.failed) {
      hi = mid;
      best = r.decisions;
    } else {
      lo = mid + 1;
    }
  }
  // 2. Each preemption left, last first, made non-preemptive.
  for (let i = Math.min(hi, best.length) - 1; i >= 0 && runs < maxRuns; i--) {
    const d = best[i];
    if (d === undefined || !d.lastRunnable || d.chosen === d.fallback) continue;
    const cand = chosen(best).slice(0, Math.min(hi, best.length));
    cand[i] = d.fallback;
    runs++;
    const r = await replay(cand);
    if (r.failed) best = r.decisions;
  }
  const kept = chosen(best);
  // Trailing choices of the replay's own default are what it does anyway.
  let end = kept.length;
  while (end > 0 && best[end - 1].chosen === best[end - 1].fallback) end--;
  return { choices: kept.slice(0, end), preemptions: count_preemptions(best), preemptionsBefore: before, runs };
}
