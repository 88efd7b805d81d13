/*
 * Proof that the stress tool finds bugs: with each known kernel bug switched on
 * (--inject-bug), the default deterministic stress run fails within 50 seeds, and the
 * repro command it prints fails again the same way.  With no bug, the default run passes,
 * in both engines and both dispatch models.
 */
import { describe, expect, it } from 'vitest';
import { stress, runStressSeed, DEFAULT_SETTINGS, type StressSettings } from '../src/stress/index.js';
import { failure_signature } from '../src/stress/shrink.js';
import { INJECT_BUGS } from '../src/kern/kern_fail.js';

const seeds = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('the default run passes with no bug injected', () => {
  for (const model of ['bgl', 'netisr'] as const) {
    it(`deterministic engine, ${model}: 6 seeds of every workload, with swarm faults, WITNESS and invariants`, async () => {
      const r = await stress({ settings: { ...DEFAULT_SETTINGS, model }, seeds: seeds(6, 101), jobs: 2, stopAtFirstFailure: false, shrink: false });
      expect(r.outcomes.filter((o) => !o.ok).map((o) => `seed ${o.seed}: ${o.failures.join('; ')}`)).toEqual([]);
    });

    it(`parallel engine, ${model}: 2 runs of every workload`, async () => {
      const r = await stress({ settings: { ...DEFAULT_SETTINGS, engine: 'parallel', model }, seeds: seeds(2, 101), stopAtFirstFailure: false });
      expect(r.outcomes.filter((o) => !o.ok).map((o) => `seed ${o.seed}: ${o.failures.join('; ')}`)).toEqual([]);
    });
  }
});

describe('each injected bug is found within 50 seeds, and its repro fails again', () => {
  for (const bug of INJECT_BUGS) {
    it(bug, async () => {
      const settings: StressSettings = { ...DEFAULT_SETTINGS, injectBug: [bug] };
      const r = await stress({ settings, seeds: seeds(50), jobs: 2, shrink: false });
      const failed = r.outcomes.filter((o) => !o.ok).sort((a, b) => a.seed - b.seed);
      expect(failed.length, `${bug}: no failure in 50 seeds`).toBeGreaterThan(0);
      const first = failed[0];
      expect(first.repro).toContain(`--inject-bug ${bug}`);
      expect(first.repro).toContain(`--seed ${first.seed}`);
      // The repro's settings, run again: the same schedule and the same failure.
      const again = await runStressSeed(first.seed, { ...first.settings, faults: first.faults });
      expect(again.ok).toBe(false);
      expect(failure_signature(again)).toBe(failure_signature(first));
      expect(again.traceHash).toBe(first.traceHash);
    });
  }
});
