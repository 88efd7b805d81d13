/*
 * demo.ts: `lwkt-sim demo`.  Runs the demo workload (demo_workload.ts) on a booted machine
 * for a while, with progress on stderr, then checks the results and prints per-CPU,
 * lock-class and zone tables.  Returns the exit status: 0, or 1 when a check failed.
 * The machine is always shut down.
 */

import type { Machine, MachineStats } from '../machine/machine.js';
import { DeterministicMachine } from '../machine/deterministic.js';
import { PanicError, cpu_dump, format_threads } from '../machine/dump.js';
import { joinDemo, setupDemo, spawnDemo, TOKEN_CLASS, type DemoResults } from './demo_workload.js';
import { startProgress } from './progress.js';
import { machineTables } from './stats_tables.js';
import { fmtCount, fmtNs, fmtRate } from './format.js';

export const BLOCK_EVERY = 64;

export interface DemoConfig {
  seconds: number;
  ipi: string;
  seed?: number;              // the deterministic engine's seed
  rerun?: string;             // the command that reruns this run
}

export interface DemoIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream;
}

export async function runDemo(m: Machine, cfg: DemoConfig, io: DemoIO): Promise<number> {
  let status: number;
  try {
    status = await demo(m, cfg, io);
  } catch (e) {
    await m.shutdown().catch(() => undefined);   // the run's own error is the one to report
    throw e;
  }
  if (m instanceof DeterministicMachine) {
    // A deterministic run is its seed: say how to run it again, event for event.
    io.out.write(`\ndeterministic run: seed ${cfg.seed ?? 1}, trace hash ${m.traceHash()}; rerun: ${cfg.rerun ?? ''}\n`);
  }
  await m.shutdown();
  if (m.panicked !== null) throw m.panicked;   // a failure no join reported (shutdown resolves after one)
  return status;
}

/* The clock the run is timed by, in ns: virtual time in the deterministic engine. */
function machineClock(m: Machine): () => number {
  if (m instanceof DeterministicMachine) return () => m.virtualTimeNs;
  return () => performance.now() * 1e6;
}

async function demo(m: Machine, cfg: DemoConfig, io: DemoIO): Promise<number> {
  const say = (s = ''): void => { io.out.write(`${s}\n`); };
  const virtual = m.engine === 'deterministic';
  const ns = Math.round(cfg.seconds * 1e9);
  const npairs = m.ncpus * (m.ncpus - 1) / 2;
  const pairsDesc = m.ncpus === 1 ? '1 same-CPU pair' : npairs === 1 ? '1 CPU pair' : `${npairs} CPU pairs`;
  say(`lwkt-sim demo: ${m.ncpus} CPU${m.ncpus === 1 ? '' : 's'}, ${m.engine} engine` +
    `${virtual ? '' : `, ${cfg.ipi} IPIs`}, ${cfg.seconds} ${virtual ? 'virtual ' : ''}second${cfg.seconds === 1 ? '' : 's'}`);
  say(`  message ping-pong on ${pairsDesc}; '${TOKEN_CLASS}' counter on every CPU (token dropped across a block every ${BLOCK_EVERY})`);

  const setup = await setupDemo(m);
  const now = machineClock(m);
  const wall0 = performance.now();
  const before = m.stats();
  const t0 = now();
  const threads = await spawnDemo(m, setup, ns, BLOCK_EVERY);
  const peak = m.stats().cpus.map((c) => c.threads);
  const sample = (): void => {
    m.stats().cpus.forEach((c, i) => { peak[i] = Math.max(peak[i], c.threads); });
  };
  // Once the time is up the threads wind down (with many CPUs on few cores that takes a
  // while): the line then says how many are still running.
  const progress = startProgress({ stream: io.err, label: virtual ? 'demo (virtual time)' : 'demo', totalNs: ns,
    now: () => now() - t0, onTick: sample, after: () => `waiting for its threads to finish (${m.stats().liveThreads} still running)` });
  let res: DemoResults;
  try {
    res = await joinDemo(m, threads);
  } catch (e) {
    if (e instanceof Error && !(e instanceof PanicError)) e.message += `\n${cpu_dump(m.kmem)}\n${format_threads(m.threads())}`;
    throw e;
  } finally {
    progress.stop();
  }
  const after = m.stats();
  const wallMs = performance.now() - wall0;
  return report(say, res, before, after, peak, virtual, wallMs);
}

function report(say: (s?: string) => void, res: DemoResults, before: MachineStats, after: MachineStats,
    peak: number[], virtual: boolean, wallMs: number): number {
  const secs = (after.uptimeNs - before.uptimeNs) / 1e9;
  const increments = res.counters.reduce((s, c) => s + c.increments, 0);
  const rounds = res.pairs.reduce((s, p) => s + p.rounds, 0);
  const wrong = res.pairs.reduce((s, p) => s + p.wrong, 0);
  const tokenOk = res.counterValue === increments;
  const pingOk = wrong === 0;

  say();
  say(`ran ${secs.toFixed(2)} ${virtual ? 'virtual ' : ''}seconds` + (virtual ? ` (${(wallMs / 1000).toFixed(2)} s of wall time)` : ''));
  say('checks');
  say(`  token counter     ${fmtCount(res.counterValue)} ${tokenOk ? '=' : '!='} ${fmtCount(increments)} increments` +
    `  ${tokenOk ? 'OK' : 'MISMATCH'}`);
  say(`  ping-pong replies ${fmtCount(wrong)} wrong in ${fmtCount(rounds)} round trips  ${pingOk ? 'OK' : 'MISMATCH'}`);
  say();
  const rates = res.pairs.map((p) => p.rounds / (p.ns / 1e9));
  const total = rates.reduce((s, r) => s + r, 0);
  say(`ping-pong  ${fmtCount(rounds)} round trips, ${fmtRate(total)}/s over ${res.pairs.length} pair${res.pairs.length === 1 ? '' : 's'}` +
    (rounds > 0 ? `, ${fmtNs(res.pairs.reduce((s, p) => s + p.ns, 0) / rounds)} a round trip` : '') +
    (res.pairs.length > 1 ? ` (pair rates ${fmtRate(Math.min(...rates))}..${fmtRate(Math.max(...rates))}/s)` : ''));
  say(`token      ${fmtCount(increments)} increments, ${fmtRate(increments / secs)}/s`);
  say();
  machineTables(say, before, after, virtual, peak);
  return tokenOk && pingOk ? 0 : 1;
}
