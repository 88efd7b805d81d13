/*
 * cpu_worker.ts: the parallel engine's CPU, run inside a worker thread (workers/cpu.ts).
 *
 * The CPU loop runs threads for at most SLICE_MS, then returns to the worker's event loop
 * (setImmediate) so that control requests over comlink are served.  Idle, it polls its
 * IPI summary word IDLE_POLLS times (a message right behind the last one is caught in a
 * few hundred ns), then sets its doorbell and sleeps in Atomics.wait until a sender rings
 * it, its next callout is due, or IDLE_WAIT_MS pass.  The host sets pc_ctlpend and kicks
 * the CPU before a control call, so a busy or sleeping CPU answers within a slice.
 */

import { workerData, parentPort, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { k32, kf64, H_HALT, H_PANIC } from '../../shared/kmem.js';
import { IDLE_POLLS, IDLE_WAIT_MS, SLICE_MS } from '../../shared/param.js';
import { PC, CPUSTATE_HALT, CPUSTATE_RUN } from '../../shared/pcpu.js';
import { nanotime } from '../../shared/clock.js';
import { panic_set_recorder } from '../../shared/panic.js';
import { machine_attach } from './attach.js';
import { cpu_bringup, panic_record_on, spawn_create, spawn_prepare, type SpawnRequest } from './cpu_runtime.js';
import { module_export_loaded, module_export_of, module_load } from './modules.js';
import { cpu_step, cpu_idle_work, STEP_RAN } from '../lwkt/lwkt_thread.js';
import { callout_next_deadline } from '../lwkt/kern_timeout.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import { doorbell_all } from './doorbell.js';
import { console_attach } from '../kern/sys_console.js';
import { ktrace_attach } from '../kern/kern_ktrace.js';

export interface CpuWorkerData {
  sab: SharedArrayBuffer;
  cpu: number;
  ipiOut: (MessagePort | null)[];
  ipiIn: (MessagePort | null)[];
  events: MessagePort;
  control: MessagePort;        // comlink's channel for this machine (CpuApi)
  modules: string[];
}

/* What the host posts to an idle pooled worker to make it a CPU of another machine. */
export interface CpuBootMessage { type: 'boot'; data: CpuWorkerData }

export interface CpuApi {
  spawn(req: SpawnRequest): Promise<number>;
  /* A process running a program (kern_exec.ts); req.process is forced on. */
  spawnProcess(req: SpawnRequest): Promise<number>;
  load(module: string): Promise<void>;
}

export type CpuEvent =
  | { type: 'ready'; cpu: number }
  | { type: 'exit'; id: number; name: string; result?: unknown; error?: string; uncloneable?: boolean }
  | { type: 'panic'; cpu: number; message: string; stack?: string }
  | { type: 'halted'; cpu: number }
  | { type: 'console'; pid: number; data: Uint8Array };

/*
 * The worker's life: be a CPU of the machine in workerData; once it has halted cleanly,
 * wait on parentPort for a CpuBootMessage and be a CPU of that machine, and so on.  A
 * worker that joins a second machine keeps its loaded modules: booting costs no imports.
 * The kernel's module state is re-attached to the new kmem as the deterministic engine's
 * host isolate does between machines (machine_attach, kfunc_on_attach).
 */
export async function cpu_worker_serve(): Promise<void> {
  await cpu_worker_main(workerData as CpuWorkerData);
  parentPort!.on('message', (m: CpuBootMessage) => {
    if (m !== null && typeof m === 'object' && m.type === 'boot') void cpu_worker_main(m.data);
  });
}

/* Be CPU wd.cpu of the machine in wd until it halts; resolves once it is up. */
export async function cpu_worker_main(wd: CpuWorkerData): Promise<void> {
  const events = wd.events;
  const post = (e: CpuEvent): void => events.postMessage(e);
  machine_attach(wd.sab, [], -1);
  const gd = cpu_bringup(wd.cpu, {
    thread_exit(id, name, result, error) {
      if (error !== undefined) { post({ type: 'exit', id, name, error: String(error) }); return; }
      try {
        post({ type: 'exit', id, name, result });
      } catch {
        post({ type: 'exit', id, name, result: String(result), uncloneable: true });
      }
    },
    module_of: module_export_of,
    load_export(url, name, done) {
      const fn = module_export_loaded(url, name);
      if (fn !== undefined) { done(fn); return; }
      // Importing takes event-loop turns: pc_ctlpend keeps the CPU awake and visiting the
      // loop meanwhile, and tells the host's deadlock watchdog that work is under way.
      const ctl = gd.pcpu + PC.pc_ctlpend;
      Atomics.add(k32, ctl, 1);
      module_load(url).then((m) => m[name], () => undefined).then((f) => {
        Atomics.sub(k32, ctl, 1);
        done(f);
      });
    },
  });
  // A panic is recorded, and the host told, where it is raised: a program that catches the
  // KernelPanic cannot keep the machine running (shared/panic.ts).
  panic_set_recorder((e) => {
    if (panic_record_on(gd, e.message)) {
      post({ type: 'panic', cpu: gd.cpuid, message: e.message, stack: e.stack });
      doorbell_all();
    }
  });
  console_attach(gd, (pid, data) => post({ type: 'console', pid, data }));
  ktrace_attach(gd, (pid, data) => post({ type: 'console', pid, data }));   // trace lines join the console
  gd.ipi_out = wd.ipiOut;
  gd.ipi_in = wd.ipiIn;
  calibrate_polls(gd);
  for (const m of wd.modules) await module_load(m);

  // The host adds 1 to pc_ctlpend before each call; the call takes it off on arrival,
  // and holds control_calls while it runs (a module import needs several event-loop turns).
  const arrived = (): void => { Atomics.sub(k32, gd.pcpu + PC.pc_ctlpend, 1); control_calls++; };
  const create = async (req: SpawnRequest): Promise<number> => {
    arrived();
    try {
      return spawn_create(gd, req, await spawn_prepare(req));
    } finally {
      control_calls--;
    }
  };
  const api: CpuApi = {
    spawn: (req) => create(req),
    spawnProcess: (req) => create({ ...req, process: true }),
    async load(module) {
      arrived();
      try { await module_load(module); } finally { control_calls--; }
    },
  };
  Comlink.expose(api, nodeEndpoint(wd.control));
  post({ type: 'ready', cpu: wd.cpu });
  const loop = (): void => {
    if (cpu_slice(gd, post)) setImmediate(loop);
    else {
      k32[gd.pcpu + PC.pc_state] = CPUSTATE_HALT;
      post({ type: 'halted', cpu: wd.cpu });
      // This machine is over for this worker: drop its channels (the host may pool us).
      wd.control.close();
      for (const port of wd.ipiIn) port?.close();
      for (const port of wd.ipiOut) port?.close();
    }
  };
  setImmediate(loop);
}

/*
 * Control calls under way on this CPU: while there is one (or one announced by the host
 * in pc_ctlpend has not arrived yet), the CPU does not sleep, so every event-loop turn
 * the call needs comes at once.
 */
let control_calls = 0;

/* Busy polls of the idle loop per nanosecond, measured once: idle time is counted in
 * polls on the fast path, because reading the clock costs ~70 ns here. */
let poll_ns = 0;
function calibrate_polls(gd: Globaldata): void {
  if (poll_ns !== 0) return;               // a pooled worker measured it for an earlier machine
  const w = gd.pcpu + PC.pc_ipipend;
  const n = 200_000;
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < n; i++) x |= Atomics.load(k32, w);
  poll_ns = ((performance.now() - t0) * 1e6) / n + (x & 0);
}

/* Run for up to SLICE_MS.  Returns false when the CPU must stop (halt or panic). */
function cpu_slice(gd: Globaldata, post: (e: CpuEvent) => void): boolean {
  const ctl = gd.pcpu + PC.pc_ctlpend;
  const deadline = performance.now() + SLICE_MS;
  let n = 0;
  try {
    for (;;) {
      if (cpu_step(gd) === STEP_RAN) {
        if ((++n & 255) !== 0) continue;
      } else {
        const r = cpu_idle(gd);
        if (r === IDLE_VISIT) return true;
        if (r === IDLE_WORK && (++n & 255) !== 0) continue;
      }
      // Every 256 steps or idle wake-ups, and after every sleep:
      if (Atomics.load(k32, H_PANIC) !== 0 || Atomics.load(k32, H_HALT) !== 0) return false;
      if (Atomics.load(k32, ctl) !== 0 || control_calls !== 0 || performance.now() > deadline) return true;
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err.name !== 'KernelHalt' && panic_record_on(gd, err.message)) {
      post({ type: 'panic', cpu: gd.cpuid, message: err.message, stack: err.stack });
      doorbell_all();
    }
    return false;
  }
}

/*
 * Take a kick on the way to the look it asks for.  The CPU shows RUN first: the host's
 * deadlock check reads pc_kick before pc_state, and must never find "no kick, CPU idle"
 * while a thread whose token was just released is still to be picked (cpu_step shows
 * IDLE again if the look finds nothing it can run).  As idle_intr does for IPIs.
 */
function kick_take(gd: Globaldata, kick: number): void {
  Atomics.store(k32, gd.pcpu + PC.pc_state, CPUSTATE_RUN);
  Atomics.store(k32, kick, 0);
}

const IDLE_WORK = 0;   // something arrived while polling
const IDLE_SLEPT = 1;  // slept on the doorbell (check halt, control, the slice)
const IDLE_VISIT = 2;  // visit the event loop now (a control call)

/*
 * Nothing to run.  Poll the IPI summary and kick words IDLE_POLLS times (a message right
 * behind the last one is caught in a few hundred ns), then sleep on the doorbell until a
 * sender rings it, the next callout is due, or IDLE_WAIT_MS pass.
 *
 * A kick means "look again" (a token this CPU's thread waits for was released): it is
 * cleared only on the way to another look.  It may have come after the look that found
 * nothing (lwkt_pick's token attempt) and before this call, so clearing it here
 * unconditionally would lose it, and the waiter would sit out the whole poll (tens of
 * µs) while the releaser took the token back: a handoff of the BGL across CPUs cost
 * 20 µs that way.
 */
function cpu_idle(gd: Globaldata): number {
  if (control_calls !== 0 || Atomics.load(k32, gd.pcpu + PC.pc_ctlpend) !== 0) return IDLE_VISIT;
  const pend = gd.pcpu + PC.pc_ipipend;
  const kick = gd.pcpu + PC.pc_kick;
  const idle = (gd.pcpu + PC.pc_idle_ns_f64) >> 1;
  if (Atomics.load(k32, kick) !== 0) {
    kick_take(gd, kick);
    return IDLE_WORK;
  }
  for (let i = 0; i < IDLE_POLLS; i++) {
    if (Atomics.load(k32, pend) !== 0) {
      kf64[idle] += i * poll_ns;
      return IDLE_WORK;
    }
    if (Atomics.load(k32, kick) !== 0) {
      kick_take(gd, kick);
      kf64[idle] += i * poll_ns;
      return IDLE_WORK;
    }
  }
  const t0 = performance.now();
  // IPIs that land now, or callouts that fire, may make a thread runnable: never sleep then.
  cpu_idle_work(gd);
  if (gd.runqmask !== 0) {
    kf64[idle] += IDLE_POLLS * poll_ns;
    return IDLE_WORK;
  }
  const next = callout_next_deadline(gd);
  let ms = IDLE_WAIT_MS;
  if (next !== Infinity) ms = Math.min(ms, Math.max(0, (next - nanotime()) / 1e6));
  const door = gd.pcpu + PC.pc_doorbell;
  Atomics.store(k32, door, 1);
  kf64[(gd.pcpu + PC.pc_sleeps_f64) >> 1]++;
  if (ms > 0 && gd.runqmask === 0 && Atomics.load(k32, pend) === 0 && Atomics.load(k32, kick) === 0 &&
      Atomics.load(k32, gd.pcpu + PC.pc_ctlpend) === 0 &&
      Atomics.load(k32, H_PANIC) === 0 && Atomics.load(k32, H_HALT) === 0) {
    Atomics.wait(k32, door, 1, ms);
  }
  Atomics.store(k32, door, 0);
  cpu_idle_work(gd);
  kf64[idle] += IDLE_POLLS * poll_ns + (performance.now() - t0) * 1e6;
  return IDLE_SLEPT;
}
