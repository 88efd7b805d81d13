/*
 * deterministic.ts: the deterministic engine.  Every CPU runs in the host thread; a
 * seeded PRNG picks which CPU with work steps next (one resume of one thread); time is a
 * virtual clock that advances DET_STEP_NS a step and jumps to the next callout when every
 * CPU is idle.  The same seed gives the same run, event for event: traceHash() hashes
 * every (CPU, thread, effect) and the PRNG's picks, and with traceLog the events
 * themselves are kept so two runs can be compared (firstDivergence).
 *
 * The machine runs only while the host waits on it (join, run, shutdown): spawns made
 * between waits take effect at a well-defined point, which keeps runs reproducible.
 * It runs in slices and yields to the host's event loop between them, so a test's
 * timeout can still fire; a thread that never yields is the one thing it cannot stop.
 */

import { k32, kf64, H_LIVE, H_HALT, H_SEED, H_NCPUS } from '../../shared/kmem.js';
import { PC } from '../../shared/pcpu.js';
import { DET_STEP_NS, NCPU_MAX } from '../../shared/param.js';
import { set_mycpuid } from '../../shared/cpu.js';
import { clock_set_virtual } from '../../shared/clock.js';
import { panic_set_recorder, type KernelPanic } from '../../shared/panic.js';
import { set_mycpu, type Globaldata } from '../lwkt/globaldata.js';
import { cpu_step, cpu_has_work, STEP_RAN } from '../lwkt/lwkt_thread.js';
import { schedpt_set_fine } from '../lwkt/lwkt_schedpt.js';
import { trace_decode, trace_format, TRACE_WORDS, type TraceEvent } from '../lwkt/lwkt_trace.js';
import { PctScheduler, RandomScheduler, ReplayScheduler, type Decision, type DetScheduler, type PctReport, type SchedulerName } from './det_sched.js';
import { callout_next_deadline } from '../lwkt/kern_timeout.js';
import { ipiq_any_inflight } from '../lwkt/lwkt_ipiq.js';
import { machine_attach } from './attach.js';
import { cpu_bringup, panic_record_here, panic_record_on, spawn_create, spawn_prepare } from './cpu_runtime.js';
import { module_export_of, module_load } from './modules.js';
import { DetRng } from './det_rng.js';
import { MessageChannel } from 'node:worker_threads';
import { MachineBase, type ProcessOptions, type SpawnOptions } from './machine.js';
import { console_attach } from '../kern/sys_console.js';
import { ktrace_attach } from '../kern/kern_ktrace.js';

const SLICE_STEPS = 50_000;

/* How a deterministic machine runs (boot options, checked by boot.ts). */
export interface DetOptions {
  traceLog: boolean | number;  // keep the events (a number: only the last that many)
  stepBudget: number;         // fail with kind 'budget' after this many steps (0: none)
  timeBudgetMs: number;       // ... or after this much wall-clock time spent running (0: none)
  ports: boolean;             // the messageport IPI carrier
  points: 'fine' | 'blocking';
  scheduler: SchedulerName;
  pctDepth: number;
  pctSteps: number;           // PCT's k: the steps its change points are drawn from
  choices: readonly number[]; // the replay scheduler's prefix
  recordChoices: boolean;     // keep every pick (the schedule shrinker replays and edits them)
}
const LIVELOCK_STEPS = 5_000_000;
const STALL_STEPS = 64;             // steps with every CPU stalled before time or a deadlock decides   // steps in a row in which no CPU could run a thread

export class DeterministicMachine extends MachineBase {
  readonly engine = 'deterministic' as const;
  private readonly gds: Globaldata[] = [];
  private readonly rng: DetRng;
  private now_ns = 0;
  private steps = 0;
  private idle_streak = 0;
  private pick_hash = 0x811c9dc5;
  private readonly cand = new Int32Array(NCPU_MAX);   // this step's candidate CPUs (no array to regrow per step)
  private readonly log: number[] | null;
  /* Thread names by id, kept for decoding after threads exit. */
  private readonly tid_names = new Map<number, string>();
  private readonly log_cap: number;           // words of log kept (0: all)
  private readonly step_budget: number;
  private readonly time_budget_ms: number;
  private run_ms = 0;                 // wall-clock time spent running so far
  private readonly fine: boolean;
  readonly scheduler: DetScheduler;
  private last_cpu = -1;
  private readonly picks: number[] | null;   // recordChoices: the index picked at each step with a choice
  private stalled = 0;
  private all_stalled_since = -1;     // the step since which every CPU with work has been stalled                // CPUs whose last step ran nothing, since the last step that did
  private readonly stalled_cand = new Int32Array(NCPU_MAX);
  private stepping = -1;
  private readonly channels: MessageChannel[] = [];

  constructor(kmem: SharedArrayBuffer, opts: DetOptions) {
    super(kmem);
    this.rng = new DetRng(k32[H_SEED] >>> 0);
    this.log = opts.traceLog !== false && opts.traceLog !== 0 ? [] : null;
    this.log_cap = typeof opts.traceLog === 'number' ? opts.traceLog * TRACE_WORDS : 0;
    this.step_budget = opts.stepBudget;
    this.time_budget_ms = opts.timeBudgetMs;
    this.fine = opts.points === 'fine';
    this.scheduler = opts.scheduler === 'pct' ? new PctScheduler(this.rng, opts.pctDepth, opts.pctSteps)
      : opts.scheduler === 'replay' ? new ReplayScheduler(opts.choices) : new RandomScheduler(this.rng, k32[H_NCPUS]);
    this.picks = opts.recordChoices ? [] : null;
    const ports = opts.ports;
    this.attach();
    for (let c = 0; c < this.ncpus; c++) {
      const gd = cpu_bringup(c, {
        module_of: module_export_of,
        thread_exit: (id, _name, result, error) => {
          if (this.raised !== null) return;   // it ran on past a panic it caught: the machine fails instead
          this.thread_exited(id, result, error === undefined ? undefined : String(error));
        },
      });
      gd.trace_log = this.log;
      gd.trace_names = this.log !== null ? this.tid_names : null;
      console_attach(gd, (pid, bytes) => this.console_in(pid, bytes));
      ktrace_attach(gd, (pid, bytes) => this.console_in(pid, bytes));   // trace lines join the console
      this.gds.push(gd);
    }
    if (ports) {
      // The messageport carrier, all in this thread: receiveMessageOnPort still drains it.
      for (const s of this.gds) for (const d of this.gds) {
        if (s === d) continue;
        const ch = new MessageChannel();
        s.ipi_out[d.cpuid] = ch.port1;
        d.ipi_in[s.cpuid] = ch.port2;
        this.channels.push(ch);
      }
    }
    set_mycpuid(-1);
  }

  static async boot(kmem: SharedArrayBuffer, modules: string[], opts: DetOptions): Promise<DeterministicMachine> {
    for (const m of modules) await module_load(m);
    return new DeterministicMachine(kmem, opts);
  }

  private attach(): void {
    machine_attach(this.kmem, this.gds, this.now_ns);
    panic_set_recorder(this.record_panic);
    schedpt_set_fine(this.fine);
  }

  /* A panic raised on this machine: recorded at once, the machine failed after the step (shared/panic.ts). */
  private raised: KernelPanic | null = null;
  private readonly record_panic = (e: KernelPanic): void => {
    const gd = this.gds[Math.max(this.stepping, 0)];
    if (gd !== undefined && panic_record_on(gd, e.message)) this.raised = e;
  };
  protected attach_host(): void { this.attach(); }

  protected uptimeNs(): number { return this.now_ns; }

  async spawn(opts: SpawnOptions): Promise<number> {
    const cpu = this.check_spawn(opts);
    const fn = await spawn_prepare(opts);
    this.attach();
    const id = spawn_create(this.gds[cpu], opts, fn);
    set_mycpuid(-1);
    this.spawned.add(id);
    return id;
  }

  async spawnProcess(opts: ProcessOptions): Promise<number> {
    const cpu = this.check_spawn(opts, 'spawnProcess');
    this.check_process(opts);
    const req = { module: opts.module, export: opts.export, args: opts.args, name: opts.name, uid: opts.uid ?? 0,
      process: true };
    const fn = await spawn_prepare(req);
    this.attach();
    try {
      const id = spawn_create(this.gds[cpu], req, fn);
      this.spawned.add(id);
      return id;
    } finally {
      set_mycpuid(-1);
    }
  }

  async join(id: number): Promise<unknown> {
    if (this.spawned.has(id)) await this.run_until(() => this.exited.has(id));
    return this.join_wait(id);
  }

  /* Run until no thread is left (or the machine fails). */
  async run(): Promise<void> {
    await this.run_until(() => Atomics.load(this.i32, H_LIVE) === 0);
    if (this.failure !== null) throw this.failure;
  }

  /* PCT's figures for this run (n threads, k steps, the bound), or null under another scheduler. */
  pctReport(): PctReport | null { return this.scheduler instanceof PctScheduler ? this.scheduler.report(this.steps) : null; }

  /* The schedule as the replay scheduler takes it: the index picked at each step with a choice (recordChoices). */
  choices(): number[] | null {
    if (this.scheduler instanceof ReplayScheduler) return this.scheduler.decisions.map((d) => d.chosen);
    return this.picks === null ? null : this.picks.slice();
  }

  /* The replay scheduler's decisions (explore.ts), or null under another scheduler. */
  decisions(): Decision[] | null { return this.scheduler instanceof ReplayScheduler ? this.scheduler.decisions : null; }

  traceHash(): string {
    let h = this.pick_hash;
    for (const gd of this.gds) h = Math.imul(h ^ gd.trace_hash, 0x01000193);
    return (h >>> 0).toString(16).padStart(8, '0') + ':' + this.steps.toString(16);
  }

  /* The recorded events, decoded (lwkt_trace.ts), when booted with traceLog. */
  traceEvents(): TraceEvent[] { return this.log === null ? [] : trace_decode(this.log, this.tid_names); }

  /* The last n events, decoded, as lines (a failure report's tail). */
  traceTail(n: number): string[] {
    if (this.log === null) return [];
    const log = this.log;
    const from = Math.max(0, log.length - n * TRACE_WORDS);
    return trace_decode(log.slice(from - (from % TRACE_WORDS)), this.tid_names).map(trace_format);
  }


  get virtualTimeNs(): number { return this.now_ns; }
  get stepCount(): number { return this.steps; }

  private async run_until(done: () => boolean): Promise<void> {
    while (!this.down && this.failure === null && !done()) {
      this.attach();
      let stalled = false;
      const t0 = Date.now();
      try {
        stalled = this.run_slice(done);
      } catch (e) {
        this.crashed(e);
      } finally {
        set_mycpuid(-1);
      }
      this.run_ms += Date.now() - t0;
      const log = this.log;
      if (this.log_cap > 0 && log !== null && log.length > 2 * this.log_cap) log.splice(0, log.length - this.log_cap);
      if (this.time_budget_ms > 0 && this.run_ms > this.time_budget_ms && this.failure === null && !stalled && !done()) {
        this.fail_here(this.last_cpu, `time budget of ${this.time_budget_ms} ms reached after ${this.steps} steps ` +
          `(${(this.now_ns / 1e6).toFixed(3)} ms of virtual time)`, 'budget');
        return;
      }
      if (stalled) return;   // nothing left to run
      if (!done()) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /* Returns true when the machine has nothing left to run. */
  private run_slice(done: () => boolean): boolean {
    for (let i = 0; i < SLICE_STEPS; i++) {
      if (done()) return false;
      if (!this.step()) return true;
    }
    return false;
  }

  /* One step of one CPU.  Returns false when the machine stopped (deadlock, panic, nothing left). */
  private step(): boolean {
    const gds = this.gds;
    const cand = this.cand;
    let ncand = 0, nstalled = 0;
    for (let c = 0; c < gds.length; c++) {
      const gd = gds[c];
      if (cpu_has_work(gd) || (gd.co_n !== 0 && gd.co_time[0] <= this.now_ns)) {
        // A CPU whose last step could run nothing (its threads wait for a token held on
        // another CPU) is passed over until a step somewhere makes progress: a scheduler
        // that kept picking it would spin (the replay scheduler never would stop).
        if ((this.stalled & (1 << c)) !== 0) this.stalled_cand[nstalled++] = c;
        else cand[ncand++] = c;
      } else {
        kf64[(gd.pcpu + PC.pc_idle_ns_f64) >> 1] += DET_STEP_NS;   // idle through this step
      }
    }
    if (ncand === 0) {
      if (nstalled === 0) return this.advance_idle();
      // Every CPU with work has shown it can run none of it (each runnable thread needs a
      // token another holds): only time can change that (a callout), else nothing will.
      if (this.all_stalled_since < 0) this.all_stalled_since = this.steps;
      else if (this.steps - this.all_stalled_since > STALL_STEPS) return this.stalled_for_good();
      for (let i = 0; i < nstalled; i++) cand[ncand++] = this.stalled_cand[i];
    } else {
      this.all_stalled_since = -1;
    }
    const cpu = ncand === 1 ? cand[0] : this.scheduler.pick(cand, ncand, gds, this.steps, this.last_cpu);
    if (this.picks !== null && ncand > 1) this.picks.push(cand.indexOf(cpu));
    this.last_cpu = cpu;
    this.pick_hash = Math.imul(this.pick_hash ^ cpu, 0x01000193);
    this.now_ns += DET_STEP_NS;
    clock_set_virtual(this.now_ns);
    this.steps++;
    if (this.step_budget > 0 && this.steps > this.step_budget) {
      this.fail_here(cpu, `step budget of ${this.step_budget} steps reached (${(this.now_ns / 1e6).toFixed(3)} ms of virtual time)`, 'budget');
      return false;
    }
    const gd = gds[cpu];
    this.stepping = cpu;
    gd.trace_step = this.steps;
    set_mycpu(gd);
    const ran = cpu_step(gd);
    if (gd.vt_charge !== 0) {
      // The work the step did at its scheduling points (lwkt_schedpt.ts): time moves with it.
      this.now_ns += gd.vt_charge;
      gd.vt_charge = 0;
    }

    if (this.raised !== null) {          // raised, and caught by the program: fail all the same
      this.crashed(this.raised);
      return false;
    }
    if (ran === STEP_RAN) {
      this.idle_streak = 0;
      this.stalled = 0;
    } else {
      this.stalled |= 1 << cpu;
      if (++this.idle_streak > LIVELOCK_STEPS) {
        this.fail_here(cpu, `livelock: ${LIVELOCK_STEPS} steps in a row in which no thread could run`, 'deadlock');
        return false;
      }
    }
    return true;
  }

  /*
   * Every CPU with work stalled for STALL_STEPS steps: its threads wait for tokens held by
   * threads that cannot run.  A callout may still change that: jump to it; else it is a
   * deadlock (rather than the 5M-step livelock limit).
   */
  private stalled_for_good(): boolean {
    let next = Infinity;
    for (const gd of this.gds) next = Math.min(next, callout_next_deadline(gd));
    if (next !== Infinity) {
      this.now_ns = Math.max(this.now_ns + DET_STEP_NS, next);
      clock_set_virtual(this.now_ns);
      this.all_stalled_since = -1;
      this.stalled = 0;
      return true;
    }
    this.fail_here(-1, 'every runnable thread waits for a token held by a thread that cannot run, and no timer is armed', 'deadlock');
    return false;
  }

  /* Every CPU idle: jump to the next callout, or report a deadlock if threads remain. */
  private advance_idle(): boolean {
    let next = Infinity;
    for (const gd of this.gds) next = Math.min(next, callout_next_deadline(gd));
    if (next !== Infinity) {
      const to = Math.max(this.now_ns + DET_STEP_NS, next);
      for (const gd of this.gds) kf64[(gd.pcpu + PC.pc_idle_ns_f64) >> 1] += to - this.now_ns;
      this.now_ns = to;
      clock_set_virtual(this.now_ns);
      return true;
    }
    for (let c = 0; c < this.ncpus; c++) {
      // A published IPI always has its source's bit set in the target's summary word,
      // which makes the target a candidate: one in flight here was lost.
      if (ipiq_any_inflight(c)) {
        this.fail_here(c, `cpu${c} has IPIs in flight that its summary word does not show`, 'panic');
        return false;
      }
    }
    if (Atomics.load(k32, H_LIVE) === 0) return false;
    this.fail_here(-1, 'every thread is asleep, no timer is armed and no IPI is in flight', 'deadlock');
    return false;
  }

  private fail_here(cpu: number, message: string, kind: 'panic' | 'deadlock' | 'budget'): void {
    panic_record_here(cpu < 0 ? 0 : cpu, 0, message);
    this.fail(this.panic_error(kind, message, cpu));
  }

  private crashed(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    const cpu = Math.max(this.stepping, 0);
    panic_record_on(this.gds[cpu], err.message);
    this.fail(this.panic_error('panic', err.message, cpu, err.stack));
  }

  async shutdown(): Promise<void> {
    if (!this.down) {
      this.down = true;
      Atomics.store(this.i32, H_HALT, 1);
      for (const ch of this.channels) { ch.port1.close(); ch.port2.close(); }
      this.abandon_waiters();
      this.release_kmem();
    }
    // A failure is not thrown again: it is m.panicked, and every join rejected with it.
  }
}
