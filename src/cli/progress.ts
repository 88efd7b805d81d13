/*
 * progress.ts: an "elapsed / total" line on stderr while a run is under way.  On a TTY
 * the line is rewritten in place ~5 times a second; otherwise (a pipe, a log file) one
 * line is printed per second.  The ticks also call back, so the caller can sample.
 */

import { fmtSeconds } from './format.js';

const TICK_MS = 200;
const TICKS_PER_LINE = 5;

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

export function startProgress(o: ProgressOptions): Progress {
  const tty = o.stream.isTTY === true;
  let ticks = 0;
  const line = (): string => {
    const elapsed = o.now();
    const t = Math.min(elapsed, o.totalNs);
    const tail = elapsed >= o.totalNs && o.after !== undefined ? `, ${o.after()}` : '';
    return `${o.label}: ${fmtSeconds(t)} / ${fmtSeconds(o.totalNs)}${tail}`;
  };
  const timer = setInterval(() => {
    o.onTick?.();
    ticks++;
    if (tty) o.stream.write(`\r${line()}\x1b[K`);
    else if (ticks % TICKS_PER_LINE === 0) o.stream.write(`${line()}\n`);
  }, TICK_MS);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      if (tty && ticks > 0) o.stream.write('\r\x1b[K');
    },
  };
}
