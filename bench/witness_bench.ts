/*
 * witness_bench.ts: the `witness` section: what WITNESS (and INVARIANTS) cost a socket
 * stream.  The `socket` section's 1-CPU stream row (a writer process and its reader thread
 * on CPU 0 of a 2-CPU bgl machine, bench/progs/pair_progs.ts, timed inside the simulation)
 * on three machines booted side by side: witness off (the baseline), witness on, and
 * witness plus invariants on.  Each machine is warmed until steady, then every round
 * measures the three back to back; the figure is the ratio of the throughput with the
 * checks on to the same row with them off (higher is better, 1x = free).
 *
 * What WITNESS adds to each lock acquisition: a walk of the locks the thread holds, a
 * read of the lock-order matrix and a count per lock held; a stack capture and a graph
 * search only the first time an edge is seen (at warm-up).  INVARIANTS walks the whole
 * queue of a sockbuf before and after every append and drop (sbcheck), so its cost grows
 * with what is queued.
 */

import { boot, type BootOptions } from '../src/index.js';
import { type Kmachine } from './lwkt_bench.js';
import { SOCKET_PROGS, sim_stream, warm_until_steady } from './socket_bench.js';
import { median, progress, type Report } from './report.js';

const MEMORY = 32 << 20;

async function boot_one(opts: BootOptions): Promise<Kmachine> {
  return (await boot({ memory: MEMORY, engine: 'parallel', cpus: 2, dispatch: 'bgl', modules: [SOCKET_PROGS], ...opts })) as Kmachine;
}

export async function section_witness(report: Report, quick: boolean): Promise<void> {
  const rounds = quick ? 3 : 5;
  const SIZES: [number, string, number][] = [
    [64, '64 B', quick ? 128 << 10 : 256 << 10],
    [2048, '2 KB', quick ? 4 << 20 : 8 << 20],
  ];
  const warmMin = quick ? 250 : 1000, warmCap = quick ? 1500 : 4000;
  const off = await boot_one({});
  const wit = await boot_one({ witness: true });
  const inv = await boot_one({ witness: true, invariants: true });
  const machines = [['off', off], ['witness', wit], ['witness+invariants', inv]] as const;
  try {
    progress('witness: three 2-CPU bgl machines booted (off, witness, witness+invariants); warming up');
    for (const [name, m] of machines) {
      for (const [ws, wl, tot] of SIZES) {
        const w = await warm_until_steady(async () => Math.max(...await sim_stream(m, ws, tot / 4, 2, 0, 0)), warmMin, warmCap);
        progress(`witness warm-up: ${name}, ${wl} writes, 1 CPU: ${w.runs} runs, best ${(w.best / 1e6).toFixed(1)} MB/s`);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const [ws, wl, tot] of SIZES) {
        const base = median(await sim_stream(off, ws, tot, 2, 0, 0));
        const vw = median(await sim_stream(wit, ws, tot, 2, 0, 0));
        const vi = median(await sim_stream(inv, ws, tot, 2, 0, 0));
        progress(`witness round ${r + 1}/${rounds}: ${wl} writes, 1 CPU: off ${(base / 1e6).toFixed(1)} MB/s, ` +
          `witness ${(vw / 1e6).toFixed(1)} MB/s (${(vw / base).toFixed(2)}x), +invariants ${(vi / 1e6).toFixed(1)} MB/s (${(vi / base).toFixed(2)}x)`);
        const common = { section: 'WITNESS and INVARIANTS overhead (socket stream, 1 CPU, bgl, parallel engine)', unit: 'B/s' as const,
          baseline: base, baselineLabel: `the same row, witness off`, extra: { simBytes: tot } };
        report.add({ ...common, id: `witness.stream.${ws}.local.bgl`, label: `${wl} writes, 1 CPU, bgl, witness on`, value: vw,
          target: { kind: 'ratio-min', x: 0.5 }, note: 'WITNESS may cost at most 2x: on >= 0.5x the throughput with it off' });
        report.add({ ...common, id: `witness.stream.${ws}.local.bgl.invariants`, label: `${wl} writes, 1 CPU, bgl, witness + invariants on`,
          value: vi, target: { kind: 'none' } });
      }
    }
  } finally {
    for (const [, m] of machines) await m.shutdown().catch(() => undefined);
  }
}
