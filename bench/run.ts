/*
 * run.ts: the benchmark suite (`npm run bench`, or `node dist/bench/run.js` after a build).
 *
 *   --quick            fewer rounds, shorter windows
 *   --only <substr>    run the sections whose name or keywords contain <substr>
 *                      (host, domsg, contended, switch, socket; or e.g. spin, token, zone, det)
 *   --name <name>      results file name (default: a timestamp)
 *
 * Every figure is printed beside a baseline measured in the same run (in the same round,
 * back to back, for the noisy multi-CPU ones), as a ratio, with its target and PASS/MISS.
 * Multi-CPU figures are repeated `rounds` times; the table shows medians (the ratio is
 * the median of the per-round ratios) and the ratio's range over the rounds.
 * Progress goes to stderr, the table to stdout, everything to bench/results/<name>.json.
 */

import { availableParallelism, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { Report, host_info, progress, table, write_json } from './report.js';
import { host_costs } from './host_bench.js';
import { raw_futex_counter, raw_mp_pp, raw_spin_pp, raw_spinwait_pp } from './baselines.js';
import { contended, det_switch_rate, domsg_pingpong, in_thread_uncontended, raw_generator_resume_ns, switch_cost, with_machine,
  K_BGL, K_SPIN, K_TOKEN, KIND_NAME } from './lwkt_bench.js';
import {
  SOCKET_PROGS, WAKE_PROGS, compile_host_helper, copy_ceiling, heap_probe, host_rt, host_stream, host_wake, remove_host_helper, sim_rt,
  sim_stream, sim_wake, warm_until_steady, type HeapProbe,
} from './socket_bench.js';
import { median } from './report.js';
import { section_witness } from './witness_bench.js';
import { stress, DEFAULT_SETTINGS } from '../src/stress/index.js';

interface Options { quick: boolean; only: string | null; name: string }

function parse_args(argv: string[]): Options {
  const o: Options = { quick: false, only: null, name: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = argv[++i] ?? '';
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--name') o.name = argv[++i] ?? '';
    else if (a.startsWith('--name=')) o.name = a.slice(7);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node dist/bench/run.js [--quick] [--only <substring>] [--name <results name>]\n');
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  if (o.name === '') {
    const d = new Date();
    const p = (n: number): string => String(n).padStart(2, '0');
    o.name = `bench-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` +
      (o.quick ? '-quick' : '');
  }
  if (!/^[\w.-]+$/.test(o.name)) throw new Error(`--name: use letters, digits, '.', '_' or '-'`);
  return o;
}

const opts = ((): Options => {
  try {
    return parse_args(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
})();
const HOST_CPUS = availableParallelism();
const NMAX = Math.min(4, Math.max(2, 2 * HOST_CPUS));   // contended runs: 2..NMAX simulated CPUs
const cfg = opts.quick
  ? { hostRounds: 1, hostMs: 150, warmMs: 300, ppRounds: 3, ppMs: 150, ctRounds: 2, ctMs: 150, swRounds: 3, swN: 400_000, detN: 300_000 }
  : { hostRounds: 3, hostMs: 300, warmMs: 400, ppRounds: 7, ppMs: 300, ctRounds: 5, ctMs: 250, swRounds: 5, swN: 1_000_000, detN: 1_000_000 };

const report = new Report();

/* ../shared/reference/baselines.md (2 vCPU, quiet): used only to flag disturbed baselines. */
const REF = {
  spinPp: 271, spinwaitPp: 366, mpPp: 17_300, casStore: 18.4, genResume: 10.9,
  futexCounter: { 1: 21.5e6 / 0.434, 2: 21.5e6, 4: 20e6 } as Record<number, number | undefined>,
};

/* ---- sections ---- */

async function section_host(): Promise<void> {
  for (let r = 0; r < cfg.hostRounds; r++) {
    progress(`host costs, round ${r + 1}/${cfg.hostRounds} (tinybench, ${cfg.hostMs} ms a task)`);
    const h = await host_costs(cfg.hostMs);
    const base = { section: 'uncontended (host, tinybench)', unit: 'ns' as const, baselineLabel: 'raw CAS+store',
      reference: { value: REF.casStore } };
    report.add({ ...base, id: 'spin.uncontended.lockstat-off', label: 'spin_lock+unlock, lockstat off', value: h.spinOff,
      baseline: h.casStore, target: { kind: 'ratio-max', x: 1.5 } });
    report.add({ ...base, id: 'spin.uncontended.lockstat-on', label: 'spin_lock+unlock, lockstat on', value: h.spinOn,
      baseline: h.casStore, target: { kind: 'ratio-max', x: 2.5 } });
    report.add({ ...base, id: 'zone.alloc-free.lockstat-off', label: 'zalloc+zfree Z_MSG, lockstat off', value: h.zoneOff,
      baseline: h.casStore, target: { kind: 'none' } });
    report.add({ ...base, id: 'zone.alloc-free.lockstat-on', label: 'zalloc+zfree Z_MSG, lockstat on', value: h.zoneOn,
      baseline: h.casStore, target: { kind: 'none' } });
    progress(`  CAS+store ${h.casStore.toFixed(1)} ns, spin off ${h.spinOff.toFixed(1)} / on ${h.spinOn.toFixed(1)} ns, ` +
      `zone off ${h.zoneOff.toFixed(1)} / on ${h.zoneOn.toFixed(1)} ns, generator resume ${h.genResume.toFixed(1)} ns`);
  }
}

/*
 * A fresh worker runs the kernel's code cold (interpreted, then baseline-compiled): the
 * first ~150 ms of a ping-pong on a new machine measured 30x slower than the rest.  So each
 * machine is booted once, warmed with the same workloads, and the rounds run on it.
 */
async function section_domsg(): Promise<void> {
  const ms = cfg.ppMs;
  const section = 'lwkt_domsg round trip (parallel engine, 2 CPUs)';
  const swN = Math.max(50_000, Math.round(cfg.swN / 4));
  await with_machine({ engine: 'parallel', cpus: 2, ipi: 'sab' }, async (m) => {
    progress('domsg: sab machine booted; warming up (busy, idle, same-CPU, switch)');
    await domsg_pingpong(m, 0, 1, true, cfg.warmMs);
    await domsg_pingpong(m, 0, 1, false, cfg.warmMs);
    await domsg_pingpong(m, 0, 0, false, cfg.warmMs / 2);
    await switch_cost(m, 0, 2, swN / 2);
    for (let r = 0; r < cfg.ppRounds; r++) {
      const tag = `round ${r + 1}/${cfg.ppRounds}`;
      // Each simulation figure right after its raw baseline.  The raw workers run while the
      // machine is idle (its CPUs asleep on their doorbells, ~1% of a core).
      const spin = await raw_spin_pp(ms);
      progress(`domsg ${tag}: raw spin ping-pong ${spin.ns.toFixed(0)} ns/rt`);
      const busy = await m_pp(m, 0, 1, true, ms, `${tag}: sab, both CPUs busy`);
      report.add({ id: 'domsg.xcpu.sab.busy', section, label: 'x-CPU domsg, sab, CPUs busy',
        unit: 'ns', value: busy.ns, baseline: spin.ns, baselineLabel: 'raw spin ping-pong', target: { kind: 'ratio-max', x: 3 },
        reference: { value: REF.spinPp },
        extra: { rounds: busy.rounds, baselineRounds: spin.rounds, busySwitches: busy.busySwitches } });
      const spinwait = await raw_spinwait_pp(ms);
      progress(`domsg ${tag}: raw spin-then-wait ping-pong ${spinwait.ns.toFixed(0)} ns/rt`);
      const idle = await m_pp(m, 0, 1, false, ms, `${tag}: sab, target CPU idle`);
      report.add({ id: 'domsg.xcpu.sab.idle', section, label: 'x-CPU domsg, sab, target idle',
        unit: 'ns', value: idle.ns, baseline: spinwait.ns, baselineLabel: 'raw spin-then-wait', target: { kind: 'ratio-max', x: 1.5 },
        reference: { value: REF.spinwaitPp },
        extra: { rounds: idle.rounds, baselineRounds: spinwait.rounds } });
      // Same CPU: the least a local round trip can cost is two scheduler switches.
      const local = await m_pp(m, 0, 0, false, ms, `${tag}: same CPU`);
      const sw = await switch_cost(m, 0, 2, swN);
      progress(`domsg ${tag}: switch cost on the same machine ${sw.ns.toFixed(1)} ns`);
      report.add({ id: 'domsg.local', section, label: 'same-CPU domsg', unit: 'ns',
        value: local.ns, baseline: 2 * sw.ns, baselineLabel: '2 sched switches', target: { kind: 'none' },
        extra: { rounds: local.rounds, switchNs: sw.ns } });
    }
  });
  await with_machine({ engine: 'parallel', cpus: 2, ipi: 'messageport' }, async (m) => {
    progress('domsg: messageport machine booted; warming up (busy, idle)');
    await domsg_pingpong(m, 0, 1, true, cfg.warmMs);
    await domsg_pingpong(m, 0, 1, false, cfg.warmMs);
    for (let r = 0; r < cfg.ppRounds; r++) {
      const tag = `round ${r + 1}/${cfg.ppRounds}`;
      const mp = await raw_mp_pp(ms);
      progress(`domsg ${tag}: raw MessagePort round trip ${(mp.ns / 1e3).toFixed(1)} µs`);
      const busy = await m_pp(m, 0, 1, true, ms, `${tag}: messageport, both CPUs busy`);
      const idle = await m_pp(m, 0, 1, false, ms, `${tag}: messageport, target CPU idle`);
      report.add({ id: 'domsg.xcpu.messageport.busy', section, label: 'x-CPU domsg, messageport, busy', unit: 'ns',
        value: busy.ns, baseline: mp.ns, baselineLabel: 'raw MessagePort rt', target: { kind: 'ratio-max', x: 1.3 },
        reference: { value: REF.mpPp }, extra: { rounds: busy.rounds, baselineRounds: mp.rounds, busySwitches: busy.busySwitches } });
      report.add({ id: 'domsg.xcpu.messageport.idle', section, label: 'x-CPU domsg, messageport, idle', unit: 'ns',
        value: idle.ns, baseline: mp.ns, baselineLabel: 'raw MessagePort rt', target: { kind: 'ratio-max', x: 1.3 },
        reference: { value: REF.mpPp }, extra: { rounds: idle.rounds, baselineRounds: mp.rounds } });
    }
  });
}

async function m_pp(m: Parameters<typeof domsg_pingpong>[0], server: number, client: number, busy: boolean, ms: number,
    what: string): Promise<Awaited<ReturnType<typeof domsg_pingpong>>> {
  const r = await domsg_pingpong(m, server, client, busy, ms);
  progress(`domsg ${what}: ${r.ns >= 1e4 ? (r.ns / 1e3).toFixed(1) + ' µs' : r.ns.toFixed(0) + ' ns'}/rt over ${r.rounds} round trips`);
  return r;
}

function ref_counter(k: number): { value: number; higherIsBetter: boolean } | undefined {
  const v = REF.futexCounter[k];
  return v === undefined ? undefined : { value: v, higherIsBetter: true };
}

async function section_contended(): Promise<void> {
  const ms = cfg.ctMs;
  const kinds = [K_SPIN, K_TOKEN, K_BGL];
  const section = 'counter under a lock, one thread per CPU (parallel engine, lockstat off)';
  const uncontended: number[][] = [];   // [round][kind]: ops/s on 1 CPU
  const raw1: number[] = [];            // [round]: raw futex counter, 1 worker
  for (let k = 1; k <= NMAX; k++) {
    const over = k > HOST_CPUS;
    await with_machine({ engine: 'parallel', cpus: k, lockstat: false }, async (m) => {
      progress(`contended: ${k}-CPU machine booted${over ? ` (oversubscribed: ${HOST_CPUS} host cores)` : ''}; warming up`);
      for (const kind of kinds) await contended(m, kind, cfg.warmMs / 3);
      if (k === 1) {
        await in_thread_uncontended(m, 0, 100_000);
        for (let r = 0; r < cfg.ctRounds; r++) {
          const [spin, cas, zone] = await in_thread_uncontended(m, 0, opts.quick ? 200_000 : 500_000);
          progress(`contended round ${r + 1}/${cfg.ctRounds}: in-thread uncontended: spin ${spin.toFixed(1)} ns, ` +
            `CAS+store ${cas.toFixed(1)} ns, zone ${zone.toFixed(1)} ns`);
          const base = { section: 'uncontended (in a kernel thread, parallel engine, lockstat off)', unit: 'ns' as const,
            baselineLabel: 'raw CAS+store (in thread)', baseline: cas, reference: { value: REF.casStore } };
          report.add({ ...base, id: 'spin.uncontended.in-thread', label: 'spin_lock+unlock (in thread)', value: spin,
            target: { kind: 'ratio-max', x: 1.5 } });
          report.add({ ...base, id: 'zone.alloc-free.in-thread', label: 'zalloc+zfree Z_MSG (in thread)', value: zone,
            target: { kind: 'none' } });
        }
      }
      for (let r = 0; r < cfg.ctRounds; r++) {
        const tag = `round ${r + 1}/${cfg.ctRounds}`;
        const raw = await raw_futex_counter(k, ms);
        if (!raw.counterOk) throw new Error(`raw futex counter on ${k} workers lost updates`);
        if (k === 1) raw1[r] = raw.opsPerSec;
        progress(`contended ${tag}: raw futex-mutex counter, ${k} worker${k > 1 ? 's' : ''}: ${(raw.opsPerSec / 1e6).toFixed(2)} Mop/s`);
        for (const kind of kinds) {
          const c = await contended(m, kind, ms);
          if (k === 1) (uncontended[r] ??= [])[kind] = c.opsPerSec;
          const u = uncontended[r]?.[kind] ?? NaN;
          progress(`contended ${tag}: ${KIND_NAME[kind]} on ${k} CPU${k > 1 ? 's' : ''}: ${(c.opsPerSec / 1e6).toFixed(3)} Mop/s` +
            ` (${(c.opsPerSec / u).toFixed(2)}x of 1 CPU)`);
          report.add({
            id: `contended.${KIND_NAME[kind]}.${k}cpu`, section,
            label: `${KIND_NAME[kind]}, ${k} CPU${k > 1 ? 's' : ''}${over ? ' (oversub.)' : ''}`, unit: 'ops/s',
            value: c.opsPerSec, baseline: raw.opsPerSec, baselineLabel: `raw futex ctr, ${k}w`, target: { kind: 'none' },
            reference: ref_counter(k),
            side: k === 1 ? undefined : [{ key: 'vsUncontended', label: 'of 1 CPU' }, { key: 'rawVsUncontended', label: 'raw vs 1w' }],
            extra: { vsUncontended: c.opsPerSec / u, rawVsUncontended: raw.opsPerSec / (raw1[r] ?? NaN), ops: c.ops, perCpu: c.perCpu,
              windowNs: c.windowNs, oversubscribed: over },
          });
        }
      }
    });
  }
}

async function section_switch(): Promise<void> {
  await with_machine({ engine: 'parallel', cpus: 1 }, async (m) => {
    progress('switch: 1-CPU parallel machine booted; warming up');
    await switch_cost(m, 0, 2, cfg.swN / 4);
    for (let r = 0; r < cfg.swRounds; r++) {
      const gen = raw_generator_resume_ns(2_000_000);
      const sw = await switch_cost(m, 0, 2, cfg.swN);
      progress(`switch round ${r + 1}/${cfg.swRounds}: parallel engine, 2 yield_loop threads on 1 CPU: ${sw.ns.toFixed(1)} ns/switch ` +
        `(generator resume ${gen.toFixed(1)} ns)`);
      report.add({ id: 'switch.parallel', section: 'scheduler', label: 'switch, yield_loop x2, 1 CPU (parallel)', unit: 'ns',
        value: sw.ns, baseline: gen, baselineLabel: 'raw generator resume', target: { kind: 'abs-max', x: 100 },
        reference: { value: REF.genResume },
        note: 'target is absolute (< 100 ns) as set; the ratio shows the cost over a bare generator resume',
        extra: { switches: sw.switches } });
    }
  });
  await det_switch_rate(2, cfg.detN / 4);   // warm the host isolate's copy of the kernel
  for (let r = 0; r < cfg.swRounds; r++) {
    const det = await det_switch_rate(2, cfg.detN);
    const genRate = 1e9 / raw_generator_resume_ns(2_000_000);
    progress(`switch round ${r + 1}/${cfg.swRounds}: deterministic engine: ${(det.perSec / 1e6).toFixed(2)} M switches/s ` +
      `(${det.switches} in ${det.wallMs.toFixed(0)} ms)`);
    report.add({ id: 'switch.deterministic', section: 'scheduler', label: 'det engine switches/s, 1 CPU, 2 thr', unit: 'switch/s',
      value: det.perSec, baseline: genRate, baselineLabel: 'raw generator resumes/s', target: { kind: 'abs-min', x: 2e6 },
      reference: { value: 1e9 / REF.genResume, higherIsBetter: true },
      note: 'target is absolute (>= 2 M/s) as set; host wall time around machine.join', extra: { switches: det.switches, wallMs: det.wallMs } });
  }
}

/*
 * socket: stream throughput (64 B, 2 KB, 64 KB writes) and a 1-byte round trip between two
 * processes on an AF_LOCAL stream socket, same CPU and across CPUs, bgl and netisr, each
 * beside the host kernel's socketpair(2) doing the same work in the same round (the C
 * helper bench/host_socketpair.c, pinned the same way); then the JS heap a steady-state
 * send allocates (bench/socket_heap.ts in a child node).
 */
/*
 * Beside each 1-CPU stream figure, once a round: what the copies alone would allow
 * (copy_ceiling), against the same host figure.  No target: it shows how much of a
 * throughput target shared memory leaves to meet.
 */
function add_copy_ceiling(ws: number, wl: string, host: number): void {
  const c = copy_ceiling(ws, opts.quick ? 60 : 150);
  progress(`socket copy ceiling: ${wl} writes: ${(c.shared / 1e6).toFixed(0)} MB/s through kmem ` +
    `(${(c.plain / 1e6).toFixed(0)} MB/s through an unshared buffer); host ${(host / 1e6).toFixed(0)} MB/s`);
  report.add({ id: `socket.copy.${ws}`, section: 'socket copy ceiling (copyin + copyout only, host thread)',
    label: `${wl} writes: one copy in, one out, through a SharedArrayBuffer`, unit: 'B/s', value: c.shared, baseline: host,
    baselineLabel: `host socketpair ${wl} 1 CPU`, target: { kind: 'none' },
    side: [{ key: 'plainRatio', label: 'with an unshared ArrayBuffer' }],
    extra: { plainRatio: c.plain / host, plain: c.plain } });
}

async function section_socket(): Promise<void> {
  const { helper, why } = compile_host_helper();
  if (helper === null) progress(`socket: ${why}: skipping the host socketpair baselines (figures show 'no baseline')`);
  else progress(`socket: host helper compiled with ${helper.cc} into ${helper.dir}`);
  const rounds = opts.quick ? 3 : 5;
  const SIZES: [number, string, number, number][] = [   // write size, label, sim bytes a round, host bytes a round
    [64, '64 B', opts.quick ? 128 << 10 : 512 << 10, 2 << 20],
    [2048, '2 KB', opts.quick ? 4 << 20 : 8 << 20, 64 << 20],
    [65536, '64 KB', opts.quick ? 16 << 20 : 32 << 20, 256 << 20],
  ];
  const RT_N = opts.quick ? 1000 : 3000;
  const WARM_MIN_MS = opts.quick ? 250 : 1000, WARM_CAP_MS = opts.quick ? 1500 : 4000;   // per shape
  try {
    for (const dispatch of ['bgl', 'netisr'] as const) {
      await with_machine({ engine: 'parallel', cpus: 2, dispatch, modules: [SOCKET_PROGS] }, async (m) => {
        progress(`socket: 2-CPU ${dispatch} machine booted; warming up each shape until it is steady`);
        for (const [ws, wl, tot] of SIZES) {
          for (const cross of [false, true]) {
            const w = await warm_until_steady(async () => Math.max(...await sim_stream(m, ws, tot / 4, 2, cross ? 1 : 0, 0)), WARM_MIN_MS, WARM_CAP_MS);
            progress(`socket warm-up: ${dispatch} ${wl} writes, ${cross ? 'x-CPU' : '1 CPU'}: ${w.runs} runs, best ${(w.best / 1e6).toFixed(1)} MB/s`);
          }
        }
        for (const cross of [false, true]) {
          const w = await warm_until_steady(async () => 1e9 / Math.min(...await sim_rt(m, RT_N / 2, 2, cross ? 1 : 0, 0)), WARM_MIN_MS, WARM_CAP_MS);
          progress(`socket warm-up: ${dispatch} 1-byte round trip, ${cross ? 'x-CPU' : '1 CPU'}: ${w.runs} runs, best ${(1e6 / w.best).toFixed(1)} µs`);
        }
        for (let r = 0; r < rounds; r++) {
          const tag = `round ${r + 1}/${rounds}`;
          for (const [ws, wl, tot, htot] of SIZES) {
            for (const cross of [false, true]) {
              const where = cross ? 'x-CPU' : '1 CPU';
              const h = helper === null ? NaN : median(host_stream(helper, ws, htot, 1, cross));
              const v = median(await sim_stream(m, ws, tot, 2, cross ? 1 : 0, 0));   // 2 rounds in one connection: the median
              progress(`socket ${tag}: ${dispatch} ${wl} writes, ${where}: ${(v / 1e6).toFixed(1)} MB/s; host ${(h / 1e6).toFixed(0)} MB/s`);
              report.add({ id: `socket.stream.${ws}.${cross ? 'xcpu' : 'local'}.${dispatch}`, section: `socket stream throughput (${dispatch}, parallel engine)`,
                label: `${wl} writes, ${where}, ${dispatch}`, unit: 'B/s', value: v, baseline: h,
                baselineLabel: `host socketpair ${wl}${cross ? ' x-CPU' : ' 1 CPU'}`, target: { kind: 'ratio-min', x: ws === 64 ? 1 : 0.5 },
                reference: ws === 64 ? undefined : { value: ws === 2048 ? 2.03e9 : 6.93e9, higherIsBetter: true },
                extra: { simBytes: tot, hostBytes: htot } });
              if (dispatch === 'bgl' && !cross) add_copy_ceiling(ws, wl, h);
            }
          }
          for (const cross of [false, true]) {
            const h = helper === null ? NaN : median(host_rt(helper, RT_N * 5, 1, cross));
            const v = median(await sim_rt(m, RT_N, 2, cross ? 1 : 0, 0));
            progress(`socket ${tag}: ${dispatch} 1-byte round trip, ${cross ? 'x-CPU' : '1 CPU'}: ${(v / 1e3).toFixed(1)} µs; host ${(h / 1e3).toFixed(1)} µs`);
            report.add({ id: `socket.rt.${cross ? 'xcpu' : 'local'}.${dispatch}`, section: `socket stream throughput (${dispatch}, parallel engine)`,
              label: `1-byte round trip, ${cross ? 'x-CPU' : '1 CPU'}, ${dispatch}`, unit: 'ns', value: v, baseline: h,
              baselineLabel: `host socketpair rt${cross ? ' x-CPU' : ' 1 CPU'}`, target: cross ? { kind: 'ratio-max', x: 1 } : { kind: 'none' },
              reference: cross ? { value: 8202 } : undefined, extra: { roundTrips: RT_N } });
          }
        }
      });
    }
  } finally {
    remove_host_helper(helper);
  }
  // A probe whose windows had a scavenge in them (even after it shrank them) measured
  // nothing: no value, so no PASS.
  // The x-CPU rows have no target (see below).
  const add_heap = (hp: HeapProbe, id: string, label: string): void => {
    const xcpu = hp.shape === 'xcpu' || hp.shape === 'xcpu-lockstat';
    report.add({ id, section: `socket steady-state JS heap (${xcpu ? 'parallel engine, 2 CPUs' : 'deterministic engine, 1 CPU'})`,
      label, unit: 'B', value: hp.gcsInWindows > 0 ? NaN : hp.bytesPerPair, baseline: hp.bytesPerObject,
      baselineLabel: 'one minimal JS object', target: xcpu ? { kind: 'none' } : { kind: 'abs-max', x: 1 },
      note: hp.gcsInWindows > 0 ? `${hp.gcsInWindows} GC(s) ran inside the measured windows: no figure` : undefined,
      extra: { pairs: hp.pairs, deltas: hp.deltas, gcsInWindows: hp.gcsInWindows } });
  };
  for (const dispatch of ['bgl', 'netisr']) {
    for (const ws of [64, 2048]) {
      const hp = heap_probe(dispatch, ws, opts.quick);
      progress(`socket heap: ${dispatch} ${ws} B writes: ${hp.bytesPerPair.toFixed(1)} B of JS heap a write (a minimal object: ` +
        `${hp.bytesPerObject.toFixed(0)} B; ${hp.pairs[0]}/${hp.pairs[1]} writes; GCs in the windows: ${hp.gcsInWindows})`);
      add_heap(hp, `socket.heap.${ws}.${dispatch}`, `JS heap a ${ws} B send + its recvs, ${dispatch}`);
    }
  }
  // One thread, both ends: a send and a receive that never wait for space or data (under
  // netisr each still waits for its netisr thread's reply).
  for (const dispatch of ['bgl', 'netisr']) {
    for (const ws of [64, 2048]) {
      const hp = heap_probe(dispatch, ws, opts.quick, 'self');
      progress(`socket heap: ${dispatch} ${ws} B send + recv on one thread: ${hp.bytesPerPair.toFixed(1)} B of JS heap a pair ` +
        `(GCs in the windows: ${hp.gcsInWindows})`);
      add_heap(hp, `socket.heap.self.${ws}.${dispatch}`, `JS heap a ${ws} B send + recv, one thread, ${dispatch}`);
    }
  }
  // Across CPUs, where the BGL (bgl) or the netisr thread's port (netisr) is contended: both
  // CPUs' heaps, lock statistics off, then on (each contended wait reads the clock twice,
  // and V8 boxes each reading: 16 B).  Figures without a target: a parallel-engine CPU also
  // allocates by the millisecond, not by the write (its event-loop visit every SLICE_MS,
  // the clock reads of its idle loop), which a window of slow writes cannot cancel.
  for (const dispatch of ['bgl', 'netisr']) {
    for (const ws of [64, 2048]) {
      for (const shape of ['xcpu', 'xcpu-lockstat'] as const) {
        const hp = heap_probe(dispatch, ws, opts.quick, shape);
        const ls = shape === 'xcpu' ? 'lockstat off' : 'lockstat on';
        progress(`socket heap: ${dispatch} ${ws} B writes across CPUs, ${ls}: ${hp.bytesPerPair.toFixed(1)} B of JS heap a write ` +
          `(both CPUs; GCs or shrunk heaps in the windows: ${hp.gcsInWindows})`);
        add_heap(hp, `socket.heap.${shape}.${ws}.${dispatch}`, `JS heap a ${ws} B send + its recvs, x-CPU, ${ls}, ${dispatch}`);
      }
    }
  }
}

/*
 * wake: the wake-up latency from a send on CPU 0 to a reader thread on CPU 1 blocked in
 * recv, in poll and in kevent, beside the host kernel's socketpair doing the same with
 * recv, poll and kevent (epoll_wait on Linux) in the same round; bgl and netisr.
 */
async function section_wake(): Promise<void> {
  const { helper, why } = compile_host_helper();
  if (helper === null) progress(`wake: ${why}: skipping the host baselines (figures show 'no baseline')`);
  const rounds = opts.quick ? 3 : 5;
  const N = opts.quick ? 100 : 300;
  const host_kevent = process.platform === 'linux' ? 'host epoll_wait' : 'host kevent';
  try {
    for (const dispatch of ['bgl', 'netisr'] as const) {
      await with_machine({ engine: 'parallel', cpus: 2, dispatch, modules: [WAKE_PROGS] }, async (m) => {
        for (const mode of ['recv', 'poll', 'kevent'] as const) await sim_wake(m, N / 4, 1, mode, 1, 0);   // warm up
        for (let r = 0; r < rounds; r++) {
          for (const mode of ['recv', 'poll', 'kevent'] as const) {
            const h = helper === null ? NaN : median(host_wake(helper, N, 1, mode));
            const v = median(await sim_wake(m, N, 1, mode, 1, 0));
            progress(`wake round ${r + 1}/${rounds}: ${dispatch} ${mode}: ${(v / 1e3).toFixed(1)} µs; host ${(h / 1e3).toFixed(1)} µs`);
            report.add({ id: `wake.${mode}.${dispatch}`, section: `wake-up latency across CPUs (${dispatch}, parallel engine)`,
              label: `send to a reader blocked in ${mode}, ${dispatch}`, unit: 'ns', value: v, baseline: h,
              baselineLabel: mode === 'kevent' ? host_kevent : `host ${mode}`, target: { kind: 'none' },
              extra: { wakeups: N } });
          }
        }
      });
    }
  } finally {
    remove_host_helper(helper);
  }
}

/*
 * explore: what fine scheduling points cost the deterministic engine.  A 1-byte round trip
 * over a socketpair between processes on CPUs 0 and 1 (4 system calls a round), once with
 * points everywhere the machine interleaves (the default) and once with points at
 * blocking only (boot option points: 'blocking'), back to back in each round.  Target:
 * exploration costs at most 2x (fine >= 0.5x the blocking-only rate).
 */
async function det_rt_syscalls_per_s(points: 'fine' | 'blocking', n: number): Promise<number> {
  return with_machine({ engine: 'deterministic', cpus: 2, memory: 16 << 20, points, seed: 7 }, async (m) => {
    const t0 = performance.now();
    await sim_rt(m, n, 1, 1, 0);
    return (4 * n) / ((performance.now() - t0) / 1e3);
  });
}

/*
 * stress --jobs: deterministic seeds on a piscina pool.  The same seeds with one worker
 * and with one per host core, back to back; target: --jobs 2 gives at least 1.8x the
 * seeds per second of --jobs 1 on a 2-core host (the seeds are independent machines).
 */
const STRESS_BENCH_OPS = 20_000;   // ~0.3 s a seed of stream: long enough that starting the pool's workers does not dominate

async function stress_seeds_per_s(jobs: number, seeds: number[]): Promise<number> {
  const t0 = performance.now();
  const r = await stress({ settings: { ...DEFAULT_SETTINGS, workloads: ['stream'], ops: STRESS_BENCH_OPS, faults: 'none', witness: false, invariants: false },
    seeds, jobs, shrink: false });
  if (r.summary.failed > 0) throw new Error(`stress bench: seeds ${r.summary.failedSeeds.join(', ')} failed`);
  return seeds.length / ((performance.now() - t0) / 1e3);
}

async function section_stress(): Promise<void> {
  const jobs = Math.min(HOST_CPUS, 4);
  const n = opts.quick ? 12 : 24;
  for (let r = 0; r < (opts.quick ? 1 : 3); r++) {
    const seeds = Array.from({ length: n }, (_, i) => 1 + r * n + i);
    const one = await stress_seeds_per_s(1, seeds);
    const many = await stress_seeds_per_s(jobs, seeds);
    progress(`stress round ${r + 1}: ${one.toFixed(2)} seeds/s with --jobs 1, ${many.toFixed(2)} with --jobs ${jobs}`);
    report.add({ id: `stress.jobs.${jobs}`, section: 'stress: deterministic seeds on a piscina pool', label: `seeds/s, --jobs ${jobs}`,
      unit: 'ops/s', value: many, baseline: one, baselineLabel: 'seeds/s, --jobs 1', target: jobs >= 2 ? { kind: 'ratio-min', x: 1.8 } : { kind: 'none' },
      note: `target: --jobs 2 >= 1.8x --jobs 1 on a 2-core host (${n} seeds of the stream workload, ${STRESS_BENCH_OPS} ops each, WITNESS and invariants off)` });
  }
}

async function section_explore(): Promise<void> {
  const n = opts.quick ? 4_000 : 10_000;
  await det_rt_syscalls_per_s('fine', n / 4);       // warm the host isolate's kernel
  await det_rt_syscalls_per_s('blocking', n / 4);
  for (let r = 0; r < cfg.swRounds; r++) {
    const blocking = await det_rt_syscalls_per_s('blocking', n);
    const fine = await det_rt_syscalls_per_s('fine', n);
    progress(`explore round ${r + 1}/${cfg.swRounds}: det engine x-CPU round trips: ${(fine / 1e3).toFixed(0)} k syscalls/s ` +
      `with fine points, ${(blocking / 1e3).toFixed(0)} k with points at blocking only`);
    report.add({ id: 'explore.det.rt.syscalls', section: 'deterministic engine exploration (2 CPUs, x-CPU 1-byte round trip)',
      label: 'syscalls/s, fine scheduling points', unit: 'ops/s', value: fine, baseline: blocking,
      baselineLabel: 'points at blocking only', target: { kind: 'ratio-min', x: 0.5 },
      note: 'exploration may cost at most 2x: fine >= 0.5x the blocking-only rate' });
  }
}

const SECTIONS: { name: string; keywords: string; run: () => Promise<void> }[] = [
  { name: 'explore', keywords: 'explore det deterministic points schedule', run: section_explore },
  { name: 'stress', keywords: 'stress jobs piscina seeds pool', run: section_stress },
  { name: 'host', keywords: 'host tinybench uncontended spinlock spin lockstat zone zalloc cas', run: section_host },
  { name: 'domsg', keywords: 'domsg pingpong ping-pong ipi sab messageport busy idle local same-cpu cross-cpu x-cpu', run: section_domsg },
  { name: 'contended', keywords: 'contended counter spin token bgl futex in-thread zone', run: section_contended },
  { name: 'switch', keywords: 'switch scheduler yield yield_loop deterministic det generator', run: section_switch },
  { name: 'socket', keywords: 'socket socketpair stream throughput unix af_local heap netisr', run: section_socket },
  { name: 'wake', keywords: 'wake wakeup latency recv poll kevent select events', run: section_wake },
  { name: 'witness', keywords: 'witness invariants lock order overhead debug', run: () => section_witness(report, opts.quick) },
];

function git_info(root: string): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'shared', 'workers'], { cwd: root, encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const started = new Date();
  const load_start = loadavg();
  if (load_start[0] > HOST_CPUS) {
    progress(`warning: load average ${load_start[0].toFixed(2)} on ${HOST_CPUS} CPUs: other processes are running; ` +
      'the figures will be noisy (baselines far off their references are flagged with !)');
  }
  const t0 = performance.now();
  // A section name wins ('contended' is not also 'uncontended'); otherwise any keyword containing it.
  const only = opts.only;
  const byName = only === null ? SECTIONS : SECTIONS.filter((s) => s.name.includes(only));
  const selected = only === null || byName.length > 0 ? byName
    : SECTIONS.filter((s) => s.keywords.split(' ').some((k) => k.includes(only)));
  if (selected.length === 0) throw new Error(`--only '${opts.only}' matches no section (${SECTIONS.map((s) => s.name).join(', ')})`);
  progress(`lwkt-sim bench${opts.quick ? ' (quick)' : ''}: ${selected.map((s) => s.name).join(', ')}; ` +
    `${HOST_CPUS} host CPUs, node ${process.version}`);
  for (const s of selected) {
    const ts = performance.now();
    try {
      await s.run();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      report.errors.push({ section: s.name, message: err.message });
      progress(`section ${s.name} FAILED: ${err.stack ?? err.message}`);
    }
    progress(`section ${s.name} done in ${((performance.now() - ts) / 1e3).toFixed(1)} s`);
  }
  const sums = report.summaries();
  process.stdout.write(`\nlwkt-sim benchmarks${opts.quick ? ' (--quick)' : ''}: medians over rounds; ratio = value / baseline ` +
    `(median of per-round ratios; for op/s and sw/s higher is better)\n\n`);
  process.stdout.write(table(sums) + '\n');
  const missed = sums.filter((s) => s.status === 'MISS');
  process.stdout.write(`\n${sums.filter((s) => s.status === 'PASS').length} PASS, ${missed.length} MISS, ` +
    `${sums.filter((s) => s.status === 'info').length} info` +
    (report.errors.length > 0 ? `, ${report.errors.length} section(s) FAILED: ${report.errors.map((e) => `${e.section}: ${e.message}`).join('; ')}` : '') + '\n');
  // dist/bench/run.js (npm run bench) or bench/run.ts (a TS runner): results go to <root>/bench/results.
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, here.endsWith(join('dist', 'bench')) ? '../..' : '..');
  const path = join(root, 'bench', 'results', `${opts.name}.json`);
  write_json(path, {
    name: opts.name,
    timestamp: started.toISOString(),
    durationSec: (performance.now() - t0) / 1e3,
    options: { quick: opts.quick, only: opts.only, ...cfg, contendedMaxCpus: NMAX },
    host: { ...host_info(), loadavgAtStart: load_start },
    git: git_info(root),
    summary: {
      pass: sums.filter((x) => x.status === 'PASS').map((x) => x.id),
      miss: sums.filter((x) => x.status === 'MISS').map((x) => x.id),
      disturbedBaselines: sums.filter((x) => x.disturbed).map((x) => x.id),
    },
    figures: sums,
    errors: report.errors,
  });
  const load_end = loadavg();
  process.stdout.write(`host: ${HOST_CPUS} CPUs, node ${process.version}; load average ${load_start[0].toFixed(2)} at start, ` +
    `${load_end[0].toFixed(2)} at end; ${((performance.now() - t0) / 1e3).toFixed(0)} s\n`);
  process.stdout.write(`results: ${path}\n`);
  return report.errors.length > 0 ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
