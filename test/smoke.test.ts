import { describe, it, expect } from 'vitest';
import { boot } from '../src/index.js';

const prog = new URL('./progs/basic.ts', import.meta.url).href;

describe.each(['deterministic', 'parallel'] as const)('smoke (%s)', (engine) => {
  it('runs a thread and a cross-CPU domsg ping-pong', async () => {
    const m = await boot({ cpus: 2, engine, memory: 32 << 20 });
    try {
      const t = await m.spawn({ cpu: 1, module: prog, export: 'hello', args: [41] });
      expect(await m.join(t)).toBe(42);
    } finally {
      await m.shutdown();
    }
  });
});
