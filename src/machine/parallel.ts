/*
 * parallel.ts: the parallel engine.  One worker_threads Worker per CPU, real
 * parallelism, real Atomics contention.  The host owns the workers directly: a CPU is a
 * long-lived loop, not a task, and piscina cannot pin work to a worker.  comlink carries
 * control calls (spawn, load); thread exits and panics come back on an events port.
 * Nothing on a hot path crosses either.
 *
 * A watchdog checks every WATCHDOG_MS for a deadlock (every CPU idle across two checks,
 * no callout armed, no IPI or token kick in flight, threads still alive) and for a soft
 * lockup (a CPU running one step for softLockupMs, see softlockup.ts), and reports either
 * as a panic.
 * A worker that dies is reported, never waited for.
 *
 * Workers are pooled: a machine shut down cleanly hands its workers (each has halted its
 * CPU loop) to a pool in this process, and the next machine boots on them with a boot
 * message instead of starting a worker and importing the kernel again (~0.1-0.2 s a CPU,
 * much more when the sources are compiled on the fly).  Pooled workers are unref'd, so
 * they never keep the process alive.  A machine that failed (panic, deadlock, a worker
 * that died) terminates its workers instead.
 */

import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { H_HALT, H_LIVE, H_OFF_PCPU, H_PANIC, H_PANIC_LEN, H_PANICMSG, H_PANIC_TD, H_OFF_IPIQ, H_IPIQ_SLOTS,
  kmem_putstr } from '../../shared/kmem.js';
import { panic_set_recorder } from '../../shared/panic.js';
import { PC, PCPU_WORDS, CPUSTATE_IDLE, CPUSTATE_RUN } from '../../shared/pcpu.js';
import { PANICMSG_BYTES } from '../../shared/param.js';
import { IPIQ_RI, IPIQ_WI, ipiq_ring_words } from '../lwkt/lwkt_ipiq.js';
import { MachineBase, type ProcessOptions, type SpawnOptions } from './machine.js';
import { module_url } from './modules.js';
import { machine_attach } from './attach.js';
import type { CpuApi, CpuBootMessage, CpuEvent, CpuWorkerData } from './cpu_worker.js';
import type { PanicError } from './dump.js';
import { clock_now_abs_ms } from '../../shared/clock.js';
import { TD } from '../lwkt/thread.js';
import { SoftLockup } from './softlockup.js';
import { worker_stack } from './worker_stack.js';

const WATCHDOG_MS = 50;
const WATCHDOG_LATE_MS = 4 * WATCHDOG_MS;   // a tick this late: the host stalled, the interval is not counted
const STACK_TIMEOUT_MS = 1000;              // how long a stuck CPU's stack is waited for
const POOL_MAX = 16;           // idle workers kept for the next machine

/* Idle workers, by entry script (the built worker or the sources' tsx one). */
const pool = new Map<string, Worker[]>();

function pool_take(entry: URL): Worker | undefined {
  const w = pool.get(entry.href)?.pop();
  if (w !== undefined) {
    w.removeAllListeners('exit');
    w.ref();
  }
  return w;
}

function pool_put(entry: URL, w: Worker): void {
  const list = pool.get(entry.href) ?? [];
  if (list.length >= POOL_MAX) {
    void w.terminate();
    return;
  }
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  w.removeAllListeners('message');
  w.once('exit', () => {
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
  });
  w.unref();
  list.push(w);
  pool.set(entry.href, list);
}
const HALT_GRACE_MS = 100;     // a CPU that has not stopped by then is terminated
const READY_TIMEOUT_MS = 30_000;

function worker_entry(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../workers/cpu-tsx.mjs', here) : new URL('../../workers/cpu.js', here);
}

export class ParallelMachine extends MachineBase {
  readonly engine = 'parallel' as const;
  private readonly workers: Worker[] = [];
  private readonly apis: Comlink.Remote<CpuApi>[] = [];
  private readonly events: MessagePort[] = [];
  private readonly controls: MessagePort[] = [];
  private pooled = false;
  private readonly halted = new Set<number>();
  private readonly gone = new Set<number>();
  private readonly boot_ms = clock_now_abs_ms();
  private watchdog: NodeJS.Timeout | null = null;
  private idle_epochs: number[] | null = null;
  private halt_waiters: (() => void)[] = [];
  private spawning = 0;
  private readonly lockup: SoftLockup | null;
  private readonly controls_out: Int32Array;     // control calls under way, per CPU

  private constructor(kmem: SharedArrayBuffer, lockup_ms: number) {
    super(kmem);
    this.controls_out = new Int32Array(this.ncpus);
    this.lockup = lockup_ms > 0 ? new SoftLockup(this.ncpus, lockup_ms, WATCHDOG_LATE_MS) : null;
  }

  static async boot(kmem: SharedArrayBuffer, carrier: 'sab' | 'messageport', modules: string[],
      lockup_ms: number): Promise<ParallelMachine> {
    const m = new ParallelMachine(kmem, lockup_ms);
    await m.start(carrier, modules.map(module_url));
    return m;
  }

  private async start(carrier: 'sab' | 'messageport', modules: string[]): Promise<void> {
    const n = this.ncpus;
    const out: (MessagePort | null)[][] = [];
    const inp: (MessagePort | null)[][] = [];
    for (let c = 0; c < n; c++) { out.push(new Array(n).fill(null)); inp.push(new Array(n).fill(null)); }
    if (carrier === 'messageport') {
      for (let s = 0; s < n; s++) for (let d = 0; d < n; d++) {
        if (s === d) continue;
        const ch = new MessageChannel();
        out[s][d] = ch.port1;
        inp[d][s] = ch.port2;
      }
    }
    const ready: Promise<void>[] = [];
    const entry = worker_entry();
    for (let c = 0; c < n; c++) {
      const ev = new MessageChannel();
      const ctl = new MessageChannel();
      const data: CpuWorkerData = { sab: this.kmem, cpu: c, ipiOut: out[c], ipiIn: inp[c], events: ev.port2, control: ctl.port2, modules };
      const transfer = [ev.port2, ctl.port2, ...out[c].filter((p): p is MessagePort => p !== null),
        ...inp[c].filter((p): p is MessagePort => p !== null)];
      let w = pool_take(entry);
      if (w !== undefined) w.postMessage({ type: 'boot', data } satisfies CpuBootMessage, transfer);
      else w = new Worker(entry, { workerData: data, transferList: transfer, name: `cpu${c}` });
      this.workers.push(w);
      this.events.push(ev.port1);
      this.controls.push(ctl.port1);
      this.apis.push(Comlink.wrap<CpuApi>(nodeEndpoint(ctl.port1)));
      ready.push(new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`boot: cpu${c} did not come up in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        ev.port1.on('message', (e: CpuEvent) => {
          if (e.type === 'ready') { clearTimeout(t); resolve(); }
          this.on_event(c, e);
        });
        w.on('error', (err) => { clearTimeout(t); reject(err); this.worker_died(c, err.message); });
        w.on('exit', (code) => {
          this.gone.add(c);
          if (!this.down && !this.halted.has(c)) this.worker_died(c, `exited with code ${code}`);
          this.wake_halt_waiters();
        });
      }));
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await this.teardown();
      throw e;
    }
    this.watchdog = setInterval(() => { this.check_lockup(); this.check_deadlock(); }, WATCHDOG_MS);
    this.watchdog.unref();
    this.set_ref(false);
  }

  /*
   * The workers and the host's ports keep Node alive only while the host waits on the
   * machine (a join, a spawn or load, shutdown): a script that forgets shutdown() still
   * exits once it has nothing else to do, as with an unref'd timer.
   */
  private holds = 0;
  private set_ref(on: boolean): void {
    if (this.pooled) return;       // the workers are the pool's now, maybe another machine's
    for (const w of this.workers) if (on) w.ref(); else w.unref();
    for (const p of [...this.events, ...this.controls]) if (on) p.ref(); else p.unref();
  }
  private hold_begin(): void { if (this.holds++ === 0) this.set_ref(true); }
  private hold_end(): void { if (--this.holds === 0) this.set_ref(false); }
  private hold<T>(p: Promise<T>): Promise<T> {
    this.hold_begin();
    return p.finally(() => this.hold_end());    // a join nobody awaits still rejects unhandled
  }

  protected attach_host(): void {
    machine_attach(this.kmem, [], -1);
    panic_set_recorder(null);      // not a deterministic machine's, left from an earlier attach
  }

  /* Workers still running this machine: not exited, not handed back to the pool (0 after shutdown). */
  aliveWorkers(): number { return this.pooled ? 0 : this.ncpus - this.gone.size; }

  protected uptimeNs(): number { return (clock_now_abs_ms() - this.boot_ms) * 1e6; }

  private on_event(cpu: number, e: CpuEvent): void {
    switch (e.type) {
      case 'exit':
        this.thread_exited(e.id, e.result, e.error);
        break;
      case 'panic':
        this.fail_and_stop(this.panic_error('panic', e.message, e.cpu, e.stack));
        break;
      case 'halted':
        this.halted.add(cpu);
        this.wake_halt_waiters();
        break;
      case 'console':
        this.console_in(e.pid, e.data);
        break;
      case 'ready':
        break;
    }
  }

  private worker_died(cpu: number, why: string): void {
    if (this.failure !== null || this.down) return;
    this.record_host_panic(`cpu${cpu}: worker died: ${why}`, cpu);
    this.fail_and_stop(this.panic_error('worker', `cpu${cpu}: worker died: ${why}`, cpu));
  }

  /* The machine failed: every join rejects with err, every CPU is told to stop, and one that has not by HALT_GRACE_MS is terminated. */
  private fail_and_stop(err: PanicError): void {
    this.fail(err);
    this.kick_all();
    setTimeout(() => this.force_halt(), HALT_GRACE_MS).unref();
  }

  /* Record the machine's panic from the host (cpu, the id of the thread it was in or 0), unless one is recorded already. */
  private record_host_panic(message: string, cpu: number, tid = 0): boolean {
    if (Atomics.compareExchange(this.i32, H_PANIC, 0, cpu + 1) !== 0) return false;
    this.i32[H_PANIC_TD] = tid;
    this.i32[H_PANIC_LEN] = kmem_putstr(new Uint8Array(this.kmem), H_PANICMSG * 4, PANICMSG_BYTES, message);
    return true;
  }

  private pcpu(c: number): number { return this.i32[H_OFF_PCPU] + c * PCPU_WORDS; }

  private kick(c: number): void {
    const p = this.pcpu(c);
    Atomics.store(this.i32, p + PC.pc_kick, 1);
    if (Atomics.compareExchange(this.i32, p + PC.pc_doorbell, 1, 0) === 1) Atomics.notify(this.i32, p + PC.pc_doorbell);
  }

  private kick_all(): void { for (let c = 0; c < this.ncpus; c++) this.kick(c); }

  /*
   * A control call to CPU c: announced first, so that the CPU stays awake and visits its
   * event loop until it arrives.  While one is under way the CPU works for the host in its
   * event loop (a module import takes many turns), not stuck in a step.
   */
  private async control<T>(c: number, call: () => Promise<T>): Promise<T> {
    Atomics.add(this.i32, this.pcpu(c) + PC.pc_ctlpend, 1);
    this.kick(c);
    this.controls_out[c]++;
    this.hold_begin();
    try {
      return await call();
    } catch (e) {
      // A call that could not be sent (its arguments do not clone) never arrives to take
      // its count off: undo it, or the CPU would never sleep and no deadlock be seen.
      if (e instanceof Error && e.name === 'DataCloneError') Atomics.sub(this.i32, this.pcpu(c) + PC.pc_ctlpend, 1);
      throw e;
    } finally {
      this.controls_out[c]--;
      this.hold_end();
    }
  }

  async spawn(opts: SpawnOptions): Promise<number> {
    const cpu = this.check_spawn(opts);
    this.spawning++;
    try {
      const id = await this.control(cpu, () => this.apis[cpu].spawn({ ...opts, module: module_url(opts.module) }));
      this.spawned.add(id);
      return id;
    } finally {
      this.spawning--;
      this.idle_epochs = null;
    }
  }

  async spawnProcess(opts: ProcessOptions): Promise<number> {
    const cpu = this.check_spawn(opts, 'spawnProcess');
    this.check_process(opts);
    this.spawning++;
    try {
      const id = await this.control(cpu, () => this.apis[cpu].spawnProcess({ module: module_url(opts.module),
        export: opts.export, args: opts.args, name: opts.name, uid: opts.uid ?? 0 }));
      this.spawned.add(id);
      return id;
    } finally {
      this.spawning--;
      this.idle_epochs = null;
    }
  }

  /* Load a module on every CPU (so the kfuncs it registers are known everywhere). */
  async load(module: string): Promise<void> {
    await Promise.all(this.apis.map((api, c) => this.control(c, () => api.load(module_url(module)))));
  }

  join(id: number): Promise<unknown> { return this.hold(this.join_wait(id)); }

  traceHash(): string { throw new Error('traceHash: only the deterministic engine replays runs'); }

  private inflight(): boolean {
    const n = this.ncpus;
    const slots = this.i32[H_IPIQ_SLOTS];
    const base = this.i32[H_OFF_IPIQ];
    for (let s = 0; s < n; s++) for (let d = 0; d < n; d++) {
      const r = base + (s * n + d) * ipiq_ring_words(slots);
      if (Atomics.load(this.i32, r + IPIQ_WI) !== Atomics.load(this.i32, r + IPIQ_RI)) return true;
    }
    return false;
  }

  /*
   * A deadlock is a join that can never complete: checked only while the host waits on
   * one and no spawn is under way (until then an idle machine is just waiting for input,
   * as the deterministic engine, which runs only inside join, sees it too).
   */
  /* How many times the deadlock check has looked at the machine (tests wait on it). */
  deadlockChecks = 0;

  private check_deadlock(): void {
    this.deadlockChecks++;
    if (this.failure !== null || this.down || this.waiters.size === 0 || this.spawning !== 0) {
      this.idle_epochs = null;
      return;
    }
    const live = Atomics.load(this.i32, H_LIVE);
    let quiet = live > 0 && !this.inflight();
    const epochs: number[] = [];
    for (let c = 0; quiet && c < this.ncpus; c++) {
      const p = this.pcpu(c);
      // Pending work first, then the state: a CPU that took its IPIs or callouts shows
      // RUN until it has run what they woke (cpu_idle_work).  A kick is pending work too:
      // a token its thread waits for was released, and that thread (runnable, in tokwait)
      // runs once the CPU looks again, which a worker the host does not run for a while
      // (a loaded host, a GC pause) may not do for two checks; the CPU shows RUN before
      // it takes the kick (cpu_worker.ts kick_take).
      if (Atomics.load(this.i32, p + PC.pc_ipipend) !== 0 || Atomics.load(this.i32, p + PC.pc_ncallouts) !== 0 ||
          Atomics.load(this.i32, p + PC.pc_ctlpend) !== 0 || Atomics.load(this.i32, p + PC.pc_kick) !== 0 ||
          Atomics.load(this.i32, p + PC.pc_state) !== CPUSTATE_IDLE) quiet = false;
      epochs.push(Atomics.load(this.i32, p + PC.pc_epoch));
    }
    if (!quiet) { this.idle_epochs = null; return; }
    const prev = this.idle_epochs;
    this.idle_epochs = epochs;
    if (prev === null || prev.some((e, i) => e !== epochs[i])) return;
    const msg = `every thread is asleep (${live} alive), no timer is armed and no IPI is in flight`;
    this.record_host_panic(msg, 0);
    this.fail_and_stop(this.panic_error('deadlock', msg, -1));
  }

  /*
   * A CPU stuck in one step fails the machine with what it is running: the thread, how
   * long, and the JS stack it is in (taken through the inspector; the worker cannot
   * answer any other way).  Checked whether or not anyone waits: a stuck CPU also starves
   * spawns and control calls, which need its event loop.
   */
  private check_lockup(): void {
    if (this.lockup === null || this.failure !== null || this.down || Atomics.load(this.i32, H_PANIC) !== 0) return;
    const running: boolean[] = [];
    const epochs: number[] = [];
    for (let c = 0; c < this.ncpus; c++) {
      const p = this.pcpu(c);
      running.push(Atomics.load(this.i32, p + PC.pc_state) === CPUSTATE_RUN && this.controls_out[c] === 0);
      epochs.push(Atomics.load(this.i32, p + PC.pc_epoch));
    }
    const c = this.lockup.tick(performance.now(), running, epochs);
    if (c < 0) return;
    const td = Atomics.load(this.i32, this.pcpu(c) + PC.pc_curtd);
    const tid = td !== 0 ? Atomics.load(this.i32, td + TD.td_id) : 0;
    const msg = `cpu${c} has run one step for ${(this.lockup.stuck_ms(c) / 1e3).toFixed(1)} s without a thread ` +
      `switch (a loop that never sleeps, or a program computing without a system call: nothing can ` +
      `preempt it; boot option softLockupMs is ${this.lockup.limit_ms})`;
    // Recorded first, so that the other CPUs stop now and this check does not run again;
    // a panic recorded by a CPU in the meantime fails the machine its own way.
    if (!this.record_host_panic(msg, c, tid)) return;
    void worker_stack(this.workers[c], STACK_TIMEOUT_MS).then((stack) => this.fail_and_stop(this.panic_error('lockup', msg, c, stack)));
  }

  private wake_halt_waiters(): void {
    const ws = this.halt_waiters;
    this.halt_waiters = [];
    for (const w of ws) w();
  }

  private all_stopped(): boolean {
    for (let c = 0; c < this.ncpus; c++) if (!this.halted.has(c) && !this.gone.has(c)) return false;
    return true;
  }

  /* CPUs that did not stop in time (a thread that never yields) are terminated. */
  private force_halt(): void {
    for (let c = 0; c < this.ncpus; c++) if (!this.halted.has(c) && !this.gone.has(c)) void this.workers[c].terminate();
  }

  private async teardown(): Promise<void> {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    for (const api of this.apis) api[Comlink.releaseProxy]();
    for (const p of this.events) p.close();
    for (const p of this.controls) p.close();
    // Reuse the workers only after a clean stop: every CPU halted its loop, nothing failed.
    const clean = this.failure === null && this.workers.length === this.ncpus && this.halted.size === this.ncpus &&
      this.gone.size === 0 && Atomics.load(this.i32, H_PANIC) === 0;
    if (clean) {
      const entry = worker_entry();
      for (const w of this.workers) pool_put(entry, w);
      this.pooled = true;
      return;
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  async shutdown(): Promise<void> {
    if (!this.down) {
      this.down = true;
      this.hold_begin();           // until the workers are pooled or gone
      Atomics.store(this.i32, H_HALT, 1);
      this.kick_all();
      const t0 = Date.now();
      while (!this.all_stopped() && Date.now() - t0 < HALT_GRACE_MS * 5) {
        await new Promise<void>((r) => { this.halt_waiters.push(r); setTimeout(r, 20).unref(); });
      }
      await this.teardown();
      this.hold_end();
      this.abandon_waiters();
      this.release_kmem();
    }
    // A failure is not thrown again: it is m.panicked, and every join rejected with it.
  }
}
