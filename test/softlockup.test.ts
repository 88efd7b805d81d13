/*
 * The soft-lockup detector's arithmetic: what counts as stuck time and what starts the
 * count again.  (machine.test.ts shows a whole machine failing with it.)
 */
import { describe, it, expect } from 'vitest';
import { SoftLockup } from '../src/machine/softlockup.js';

const RUN = [true, true];

describe('SoftLockup', () => {
  it('reports a running CPU whose epoch stays put once limit_ms of on-time ticks have passed', () => {
    const w = new SoftLockup(2, 200, 100);
    expect(w.tick(1000, RUN, [5, 9])).toBe(-1);          // the first tick only sets the baseline
    for (let t = 1050; t < 1200; t += 50) expect(w.tick(t, RUN, [5, 9 + t])).toBe(-1);
    expect(w.stuck_ms(0)).toBe(150);
    expect(w.stuck_ms(1)).toBe(0);                       // its epoch moves every tick
    expect(w.tick(1200, RUN, [5, 9])).toBe(0);
    expect(w.stuck_ms(0)).toBe(200);
  });

  it('does not count a late tick: the host was stalled, the CPU may have been too', () => {
    const w = new SoftLockup(1, 200, 100);
    w.tick(0, [true], [1]);
    expect(w.tick(150, [true], [1])).toBe(-1);           // SIGSTOP, a debugger, a starved host
    expect(w.stuck_ms(0)).toBe(0);
    expect(w.tick(10_000, [true], [1])).toBe(-1);
    expect(w.stuck_ms(0)).toBe(0);
    w.tick(10_100, [true], [1]);
    expect(w.tick(10_200, [true], [1])).toBe(0);         // two on-time ticks of 100 ms
  });

  it('starts again when the epoch moves or the CPU stops running', () => {
    const w = new SoftLockup(1, 100, 100);
    w.tick(0, [true], [1]);
    w.tick(60, [true], [1]);
    expect(w.stuck_ms(0)).toBe(60);
    w.tick(120, [true], [2]);
    expect(w.stuck_ms(0)).toBe(0);
    w.tick(180, [true], [2]);
    w.tick(240, [false], [2]);                           // idle: asleep, not stuck
    expect(w.stuck_ms(0)).toBe(0);
    w.tick(300, [true], [2]);                            // running again since some time after 240
    expect(w.stuck_ms(0)).toBe(0);
    expect(w.tick(360, [true], [2])).toBe(-1);
    expect(w.tick(420, [true], [2])).toBe(0);
  });

  it('names the first stuck CPU when several are', () => {
    const w = new SoftLockup(3, 100, 100);
    w.tick(0, [false, true, true], [0, 0, 0]);
    w.tick(50, [false, true, true], [0, 0, 0]);
    expect(w.tick(100, [false, true, true], [0, 0, 0])).toBe(1);
    expect(w.stuck_ms(2)).toBe(100);
  });

  it('rejects limits that are not positive', () => {
    expect(() => new SoftLockup(1, 0, 100)).toThrow(RangeError);
    expect(() => new SoftLockup(1, 100, Number.NaN)).toThrow(RangeError);
  });
});
