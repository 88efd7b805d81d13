/*
 * run.ts: `lwkt-sim run <scenario>`.  A scenario is a built-in name (socketpair, stream,
 * accept-storm, pass-fd, poll-server; their programs are in scenario_progs.ts) or the path of a module whose
 * export is a process main, run as one process on CPU 0.  Each prints what its processes
 * print (the console, labelled by pid) and a summary; the return value is the exit status:
 * 0, or 1 when the scenario's own check failed.  The machine is always shut down.
 */

import { startCountBar } from './progress.js';
import { inspect } from 'node:util';
import type { Machine, MachineStats } from '../machine/machine.js';
import { PanicError } from '../machine/dump.js';
import { SCENARIO_PROGS } from './scenario_progs.js';
import { machineTables } from './stats_tables.js';
import { fmtCount, fmtNs } from './format.js';

export const BUILTIN_SCENARIOS = ['socketpair', 'stream', 'accept-storm', 'pass-fd', 'poll-server'] as const;
export type BuiltinScenario = (typeof BUILTIN_SCENARIOS)[number];

/* What to run: a built-in scenario, or a program module (a file URL) and its export. */
export type ScenarioSpec =
  | { kind: 'builtin'; name: BuiltinScenario }
  | { kind: 'module'; url: string; path: string; export: string; args: string[] };

export interface RunConfig {
  bytes: number;              // stream: bytes to send
  backlog: number;            // accept-storm: the listener's listen(2) backlog
  connectors: number;         // accept-storm: connector processes; poll-server: client processes
  messages: number;           // poll-server: lines each client sends
  ipi: string;
  dispatch: string;
  seed?: number;              // the deterministic engine's seed
  rerun?: string;             // the command that reruns this run
}

export interface RunIO {
  out: NodeJS.WritableStream;
}

type Say = (s?: string) => void;

export async function runScenario(m: Machine, spec: ScenarioSpec, cfg: RunConfig, io: RunIO): Promise<number> {
  let status: number;
  try {
    status = await scenario(m, spec, cfg, io);
  } catch (e) {
    await m.shutdown().catch(() => undefined);   // the run's own error is the one to report
    throw e;
  }
  const det = m.engine === 'deterministic' ? (m as Machine & { traceHash(): string }) : null;
  if (det !== null) {
    // A deterministic run is its seed: say how to run it again, event for event.
    const hash = det.traceHash();
    io.out.write(`\ndeterministic run: seed ${cfg.seed ?? 1}, trace hash ${hash}; rerun: ${cfg.rerun}\n`);
  }
  await m.shutdown();
  if (m.panicked !== null) throw m.panicked;   // a failure no join reported (shutdown resolves after one)
  return status;
}

function scenario(m: Machine, spec: ScenarioSpec, cfg: RunConfig, io: RunIO): Promise<number> {
  const say: Say = (s = '') => { io.out.write(`${s}\n`); };
  const virtual = m.engine === 'deterministic';
  const title = spec.kind === 'builtin' ? spec.name : spec.path;
  say(`lwkt-sim run ${title}: ${m.ncpus} CPU${m.ncpus === 1 ? '' : 's'}, ${m.engine} engine` +
    `${virtual ? '' : `, ${cfg.ipi} IPIs`}, ${cfg.dispatch} dispatch`);
  if (spec.kind === 'module') return runModule(m, spec, say);
  switch (spec.name) {
    case 'socketpair': return runSocketpair(m, say);
    case 'stream': return runStream(m, cfg, say);
    case 'accept-storm': return runAcceptStorm(m, cfg, say);
    case 'pass-fd': return runPassFd(m, say);
    case 'poll-server': return runPollServer(m, cfg, say);
  }
}

/* The console so far, indented, without a trailing newline. */
function consoleBlock(m: Machine): string {
  return m.console().replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n');
}

function spawn(m: Machine, cpu: number, exp: string, args: unknown[], uid = 0): Promise<number> {
  return m.spawnProcess({ cpu, module: SCENARIO_PROGS, export: exp, args, uid });
}

/* Threads per CPU at the busiest sample: sampled now and every 5 ms until stop(). */
function peakSampler(m: Machine): { peak: number[]; stop: () => void } {
  const peak = m.stats().cpus.map((c) => c.threads);
  const sample = (): void => { m.stats().cpus.forEach((c, i) => { peak[i] = Math.max(peak[i], c.threads); }); };
  const timer = setInterval(sample, 5);
  timer.unref();
  return { peak, stop: () => { clearInterval(timer); } };
}

/* A join that does not throw for a killed process (a PanicError still does). */
async function settle(m: Machine, id: number): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await m.join(id) };
  } catch (e) {
    if (e instanceof PanicError || !(e instanceof Error)) throw e;
    return { ok: false, error: e.message };
  }
}

/* Until no thread is alive (kernel daemons with work count), at most 10 s. */
async function idle(m: Machine): Promise<void> {
  const det = m as Machine & { run?: () => Promise<void> };
  if (typeof det.run === 'function') return det.run();
  for (const t0 = Date.now(); m.stats().liveThreads !== 0 && Date.now() - t0 < 10_000;) {
    await new Promise((r) => setTimeout(r, 2));
  }
}

/* ---- socketpair ---- */

async function runSocketpair(m: Machine, say: Say): Promise<number> {
  say('  one process: socketpair(AF_LOCAL, SOCK_STREAM), then SOCK_DGRAM, each kernel step traced (kern.ktrace_steps)');
  say();
  const r = await settle(m, await spawn(m, 0, 'socketpair_walk', []));
  say(consoleBlock(m));
  say();
  if (!r.ok) {
    say(`socketpair_walk failed: ${r.error}`);
    return 1;
  }
  const [a, b, c, d, ok] = r.value as number[];
  const good = ok === 1;
  say('checks');
  say(`  descriptors   stream [${a}, ${b}], datagram [${c}, ${d}]`);
  say(`  messages      ${good ? 'whole, both ways, on both pairs  OK' : 'DAMAGED'}`);
  return good ? 0 : 1;
}

/* ---- stream ---- */

async function runStream(m: Machine, cfg: RunConfig, say: Say): Promise<number> {
  const srvCpu = m.ncpus > 1 ? 1 : 0;
  say(`  server on CPU ${srvCpu}, client on CPU 0: ${fmtCount(cfg.bytes)} bytes of checksummed data over an AF_LOCAL stream`);
  const path = '/stream.sock';
  const before = m.stats();
  const wall0 = performance.now();
  const word = m.kmalloc(1);
  const srv = await spawn(m, srvCpu, 'stream_server', [path, word], 1000);
  const cli = await spawn(m, 0, 'stream_client', [path, cfg.bytes, 12345], 1000);
  const sampler = peakSampler(m);
  const kmem = new Int32Array(m.kmem);
  // Bytes received against the total, on stderr while the stream runs.
  const bar = startCountBar(process.stderr, 'stream {bar} {percentage}% | {value}/{total} bytes | {secs} s',
    (v, t, f) => `stream: ${fmtCount(v)} / ${fmtCount(t)} bytes received, ${f.secs} s`);
  const t0 = performance.now();
  const tick = setInterval(() => {
    bar.update(Atomics.load(kmem, word), cfg.bytes, { secs: ((performance.now() - t0) / 1e3).toFixed(1) });
  }, 200);
  tick.unref();
  const [c, s] = await Promise.all([settle(m, cli), settle(m, srv)]).finally(() => {
    sampler.stop();
    clearInterval(tick);
    bar.stop();
  });
  const after = m.stats();
  say();
  say(consoleBlock(m));
  say();
  if (!c.ok || !s.ok) {
    if (!c.ok) say(`client failed: ${c.error}`);
    if (!s.ok) say(`server failed: ${s.error}`);
    return 1;
  }
  const [sent, h, rtotal, rh] = c.value as number[];
  const [stotal, sh] = s.value as number[];
  const bytesOk = sent === cfg.bytes && stotal === sent && rtotal === sent;
  const sumOk = sh === h && rh === h;
  const ns = after.uptimeNs - before.uptimeNs;
  const wallMs = performance.now() - wall0;
  const virtual = m.engine === 'deterministic';
  say('checks');
  say(`  bytes     ${fmtCount(sent)} sent ${stotal === sent ? '=' : '!='} ${fmtCount(stotal)} received  ${bytesOk ? 'OK' : 'MISMATCH'}`);
  say(`  checksum  0x${(h >>> 0).toString(16).padStart(8, '0')} ${sumOk ? '=' : '!='} ` +
    `0x${(sh >>> 0).toString(16).padStart(8, '0')}  ${sumOk ? 'match OK' : 'MISMATCH'}`);
  say();
  const mbs = stotal / (ns / 1e9) / 1e6;
  say(`throughput  ${mbs >= 100 ? fmtCount(mbs) : mbs.toFixed(1)} MB/${virtual ? 'virtual ' : ''}s ` +
    `(${fmtCount(stotal)} bytes in ${fmtNs(ns)}${virtual ? ` of virtual time, ${fmtNs(wallMs * 1e6)} of host time` : ''}` +
    ', connect and close included)');
  say();
  machineTables(say, before, after, virtual, sampler.peak);
  return bytesOk && sumOk ? 0 : 1;
}


/* ---- accept-storm ---- */

/* sonewconn's limit: so_qlen > 3 * so_qlimit / 2 (integer division) refuses. */
export function stormLimit(backlog: number): number {
  return Math.floor((3 * backlog) / 2) + 1;
}

async function runAcceptStorm(m: Machine, cfg: RunConfig, say: Say): Promise<number> {
  const k = cfg.connectors, b = cfg.backlog;
  const limit = stormLimit(b);
  say(`  a listener on CPU 0 with backlog ${b} that does not accept yet; ${k} connectors on ` +
    `${m.ncpus === 1 ? 'CPU 0' : `CPUs 0..${m.ncpus - 1}`}`);
  say(`  sonewconn refuses once so_qlen > 3*${b}/2: at most ${limit} complete connections are queued`);
  const path = '/storm.sock', ctl = '/storm.ctl';
  const before = m.stats();
  const lis = await spawn(m, 0, 'storm_listener', [path, ctl, b, k], 1000);
  const ids: number[] = [];
  for (let i = 0; i < k; i++) ids.push(await spawn(m, i % m.ncpus, 'storm_connector', [path, ctl], 1000));
  // The connectors first: one that fails never reports, and the listener would wait for it forever.
  const sampler = peakSampler(m);
  const results = await Promise.all(ids.map((id) => settle(m, id)));
  const failed = results.filter((r) => !r.ok) as { ok: false; error: string }[];
  if (failed.length === 0) results.unshift(await settle(m, lis));
  sampler.stop();
  const after = m.stats();
  say();
  say(consoleBlock(m));
  say();
  if (failed.length === 0 && !results[0].ok) failed.push(results[0]);
  for (const f of failed) say(`failed: ${f.error}`);
  if (failed.length > 0) return 1;
  const [connected, refused, accepted, leftover] = (results[0] as { value: number[] }).value;
  const statuses = results.slice(1).map((r) => (r as { value: number }).value);
  const byConnectors = statuses.filter((s) => s === 1).length;
  const expected = Math.min(k, limit);
  const sumOk = connected + refused === k && byConnectors === connected;
  const limitOk = connected <= limit;
  const acceptOk = accepted === connected && leftover === 0;
  say('results');
  say(`  connected     ${connected}`);
  say(`  refused       ${refused} (ECONNREFUSED)`);
  say(`  accepted      ${accepted}, then ${leftover} left in the queue`);
  say('checks');
  say(`  every connector reported   ${connected} + ${refused} = ${k}  ${sumOk ? 'OK' : 'MISMATCH'}`);
  say(`  sonewconn's limit          ${connected} connected <= ${limit}` +
    `${connected === expected ? '' : ` (${expected} expected when nothing is accepted)`}  ${limitOk ? 'OK' : 'OVER THE LIMIT'}`);
  say(`  the listener took them all ${accepted} accepted = ${connected} connected  ${acceptOk ? 'OK' : 'MISMATCH'}`);
  say();
  machineTables(say, before, after, m.engine === 'deterministic', sampler.peak);
  return sumOk && limitOk && acceptOk ? 0 : 1;
}

/* ---- pass-fd ---- */

async function runPassFd(m: Machine, say: Say): Promise<number> {
  const childCpu = m.ncpus - 1;
  say(`  a parent on CPU 0 and a child on CPU ${childCpu} pass sockets both ways (SCM_RIGHTS), then the parent`);
  say('  closes a two-socket cycle that only messages in flight hold, and unp_gc frees it');
  const zones = (st: MachineStats): Map<string, number> => new Map(st.zones.map((z) => [z.name, z.used]));
  const before = m.stats();
  const r = await settle(m, await spawn(m, 0, 'passfd_parent', [childCpu], 1000));
  await idle(m);                          // the unp_gc thread may still be closing what it freed
  const after = m.stats();
  say();
  say(consoleBlock(m));
  say();
  if (!r.ok) {
    say(`pass-fd failed: ${r.error}`);
    return 1;
  }
  const [got, back, status, closed, inflight, runs] = r.value as [string, string, number, number, number, number];
  const z0 = zones(before), z1 = zones(after);
  const leaked = ['socket', 'file', 'mbuf'].filter((z) => z1.get(z) !== z0.get(z));
  const passOk = got.startsWith('hello from pid') && back.startsWith('written to fd') && status === 0;
  const gcOk = closed === 2 && inflight === 0 && runs > 0;
  say('checks');
  say(`  passed both ways       ${passOk ? 'OK' : 'FAILED'}`);
  say(`  the cycle collected    inflight ${closed} -> ${inflight} after ${runs} unp_gc pass(es)  ${gcOk ? 'OK' : 'NOT FREED'}`);
  say(`  sockets, files, mbufs  ${leaked.length === 0 ? 'back to their starting counts  OK' : `leaked: ${leaked.join(', ')}`}`);
  return passOk && gcOk && leaked.length === 0 ? 0 : 1;
}

/* ---- poll-server ---- */

async function runPollServer(m: Machine, cfg: RunConfig, say: Say): Promise<number> {
  const k = cfg.connectors, msgs = cfg.messages;
  say(`  one server process on CPU 0 multiplexes ${k} connections with kevent (EVFILT_READ on the listener and on`);
  say(`  each connection); ${k} client processes on ${m.ncpus === 1 ? 'CPU 0' : `CPUs 0..${m.ncpus - 1}`} each send ${msgs} lines and check the echoes`);
  const path = '/poll.sock';
  const before = m.stats();
  const srv = await spawn(m, 0, 'pollsrv_server', [path, k], 1000);
  const ids: number[] = [];
  for (let i = 0; i < k; i++) ids.push(await spawn(m, i % m.ncpus, 'pollsrv_client', [path, i, msgs], 1000));
  const sampler = peakSampler(m);
  const results = await Promise.all(ids.map((id) => settle(m, id)));
  const failed = results.filter((r) => !r.ok) as { ok: false; error: string }[];
  const s = failed.length === 0 ? await settle(m, srv) : null;
  sampler.stop();
  await idle(m);
  const after = m.stats();
  say();
  for (const f of failed) say(`client failed: ${f.error}`);
  if (s !== null && !s.ok) say(`server failed: ${s.error}`);
  if (failed.length > 0 || s === null || !s.ok) return 1;
  const [accepted, closed, echoed, bytes, calls, maxev, maxopen] = s.value as number[];
  const good = results.reduce((a, r) => a + ((r as { value: number }).value), 0);
  const connOk = accepted === k && closed === k;
  const echoOk = echoed === k * msgs && good === k * msgs;
  const zones = (st: MachineStats): string => st.zones.filter((z) => ['socket', 'file', 'mbuf', 'kmalloc16'].includes(z.name))
    .map((z) => z.used).join(',');
  const zonesOk = zones(before) === zones(after);
  say('results');
  say(`  connections   ${accepted} accepted, ${closed} closed, at most ${maxopen} open at once`);
  say(`  echoes        ${echoed} lines (${fmtCount(bytes)} bytes) echoed; ${good} checked by the clients`);
  say(`  kevent        ${calls} calls, up to ${maxev} events a call`);
  say('checks');
  say(`  every connection accepted and closed  ${connOk ? 'OK' : 'MISMATCH'}`);
  say(`  every line echoed intact              ${echoOk ? 'OK' : 'MISMATCH'}`);
  say(`  sockets, files, mbufs, knotes         ${zonesOk ? 'back to their starting counts  OK' : 'LEAKED'}`);
  say();
  machineTables(say, before, after, m.engine === 'deterministic', sampler.peak);
  return connOk && echoOk && zonesOk ? 0 : 1;
}

/* ---- a program module ---- */

async function runModule(m: Machine, spec: Extract<ScenarioSpec, { kind: 'module' }>, say: Say): Promise<number> {
  say(`  ${spec.export}(sys${spec.args.map((a) => `, ${JSON.stringify(a)}`).join('')}) as one process on CPU 0`);
  say();
  const id = await m.spawnProcess({ cpu: 0, module: spec.url, export: spec.export, args: spec.args });
  const printConsole = (): void => {
    if (m.console() === '') return;
    say(consoleBlock(m));
    say();
  };
  let r: Awaited<ReturnType<typeof settle>>;
  try {
    r = await settle(m, id);
  } catch (e) {
    printConsole();              // what the program said before the machine failed
    throw e;
  }
  printConsole();
  if (!r.ok) {
    say(`the process failed: ${r.error}`);
    return 1;
  }
  say(`returned ${inspect(r.value, { depth: 4, breakLength: 100 })}`);
  return 0;
}
