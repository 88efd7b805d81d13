/*
 * Seed sweeps on a piscina pool: every seed runs in a worker of its own, and the trace
 * hash a worker reports is the one the same seed gives in this process (determinism
 * across isolates); different seeds interleave differently; a panic is a failed seed.
 */
import { describe, it, expect } from 'vitest';
import { sweep } from '../src/index.js';
import { machine, down } from './helpers.js';
import { messagesAndLocks } from './progs/scenarios.js';

const SCENARIOS = new URL('./progs/scenarios.ts', import.meta.url).href;

describe('seed sweeps (piscina)', () => {
  it('runs seeds side by side; each replays identically in-process', async () => {
    const seeds = [3, 5, 8, 13];
    const out = await sweep({ module: SCENARIOS, export: 'messagesAndLocks', seeds, boot: { cpus: 3, memory: 32 << 20 }, threads: 2 });
    expect(out.map((r) => r.seed)).toEqual(seeds);
    for (const r of out) {
      expect(r.ok, r.error).toBe(true);
      expect((r.result as { counter: number }).counter).toBe(300);
    }
    expect(new Set(out.map((r) => r.traceHash)).size).toBeGreaterThan(1);
    const m = await machine({ engine: 'deterministic', seed: 8, cpus: 3 });
    const local = await messagesAndLocks(m);
    expect(m.traceHash()).toBe(out[2].traceHash);
    expect(local).toEqual(out[2].result);
    await down(m);
  });

  it('a seed whose machine panics is reported, not thrown', async () => {
    const [r] = await sweep({ module: SCENARIOS, export: 'panics', seeds: [1], boot: { cpus: 1, memory: 32 << 20 } });
    expect(r.ok).toBe(false);
    expect(r.error).toContain('kassert_fails: arithmetic is broken');
  });
});
