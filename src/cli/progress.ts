/*
 * progress.ts: progress on stderr while a run is under way.  On a terminal a live line
 * (cli-progress) is redrawn about five times a second; elsewhere (a pipe, a log file) at
 * most one plain line a second is printed, and the last one always.
 *
 * startCountBar is the mechanism: a count against a total, with named figures beside it.
 * startProgress is the "elapsed / total" time line `demo` shows, built on it.
 */

import cliProgress from 'cli-progress';
import { fmtSeconds } from './format.js';

const TICK_MS = 200;
const LINE_MS = 1000;

export type Figures = Record<string, string | number>;

export interface CountBar {
  /* The count now, its total, and the figures the format and the plain line name. */
  update(value: number, total: number, figures: Figures): void;
  stop(): void;
}

/*
 * format: cli-progress's format for the terminal ({bar}, {value}, {total}, {percentage}
 * and the figures' names); line: the plain line for everywhere else.
 */
export function startCountBar(stream: NodeJS.WriteStream, format: string,
    line: (value: number, total: number, figures: Figures) => string): CountBar {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar({ format, barCompleteChar: '#', barIncompleteChar: '.', hideCursor: true, stream,
      fps: 1000 / TICK_MS });
    let started = false;
    return {
      update(value, total, figures) {
        if (!started) {
          bar.start(total, value, figures);
          started = true;
        }
        if (bar.getTotal() !== total) bar.setTotal(total);
        bar.update(value, figures);
      },
      stop() { if (started) bar.stop(); },
    };
  }
  let last = 0;
  return {
    update(value, total, figures) {
      const now = performance.now();
      if (now - last < LINE_MS && value !== total) return;
      last = now;
      stream.write(`${line(value, total, figures)}\n`);
    },
    stop() { /* nothing to clear */ },
  };
}

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  label: string;
  totalNs: number;
  now: () => number;           // ns elapsed since the run started
  onTick?: () => void;
  after?: () => string;        // once the time is up: what the run is still waiting for
}

export interface Progress {
  stop(): void;
}

/* "label: elapsed / total", sampled every TICK_MS (onTick is called then too). */
export function startProgress(o: ProgressOptions): Progress {
  const text = (): string => {
    const elapsed = o.now();
    const t = Math.min(elapsed, o.totalNs);
    const tail = elapsed >= o.totalNs && o.after !== undefined ? `, ${o.after()}` : '';
    return `${o.label}: ${fmtSeconds(t)} / ${fmtSeconds(o.totalNs)}${tail}`;
  };
  const bar = startCountBar(o.stream, '{text}', (_v, _t, f) => String(f.text));
  // The time never reaches a count of its own: the plain line comes once a second.
  const timer = setInterval(() => {
    o.onTick?.();
    bar.update(0, 1, { text: text() });
  }, TICK_MS);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      bar.stop();
    },
  };
}
