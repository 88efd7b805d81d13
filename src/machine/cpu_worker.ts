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
import { PC, CPUSTATE_HALT } from '../../shared/pcpu.js';
import { nanotime } from '../../shared/clock.js';
import { machine_attach } from './attach.js';
import { cpu_bringup, panic_record_here, spawn_create, spawn_prepare, type SpawnRequest } from './cpu_runtime.js';
import { module_load } from './modules.js';
import { cpu_step, cpu_idle_work, STEP_RAN } from '../lwkt/lwkt_thread.js';
import { callout_next_deadline } from '../lwkt/kern_timeout.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import { doorbell_all } from './doorbell.js';

export interface CpuWorkerData {
  sab: SharedArrayBuffer;
  cpu: number;
  ipiOut: (MessagePort | null)[];
  ipiIn: (MessagePort | null)[];
  events: MessagePort;
  modules: string[];
}

export interface CpuApi {
  spawn(req: SpawnRequest): Promise<number>;
  load(module: string): Promise<void>;
  ping(): number;
}

export type CpuEvent =
  | { type: 'ready'; cpu: number }
  | { type: 'exit'; id: number; name: string; result?: unknown; error?: string; uncloneable?: boolean }
  | { type: 'panic'; cpu: number; message: string; stack?: string }
  | { type: 'halted'; cpu: number };

export async function cpu_worker_main(): Promise<void> {
  const wd = workerData as CpuWorkerData;
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
  });
  gd.ipi_out = wd.ipiOut;
  gd.ipi_in = wd.ipiIn;
  for (const m of wd.modules) await module_load(m);

  const api: CpuApi = {
    async spawn(req) {
      control_calls++;
      try {
        const fn = await spawn_prepare(req);
        return spawn_create(gd, req, fn);
      } finally {
        control_calls--;
      }
    },
    async load(module) {
      control_calls++;
      try { await module_load(module); } finally { control_calls--; }
    },
    ping() { return wd.cpu; },
  };
  Comlink.expose(api, nodeEndpoint(parentPort));
  post({ type: 'ready', cpu: wd.cpu });
  const loop = (): void => {
    if (cpu_slice(gd, post)) setImmediate(loop);
    else {
      k32[gd.pcpu + PC.pc_state] = CPUSTATE_HALT;
      post({ type: 'halted', cpu: wd.cpu });
    }
  };
  setImmediate(loop);
}

/*
 * Control calls in progress.  A module import takes several event-loop turns (file
 * reads); while one is under way the idle CPU does not sleep, so each turn comes at once.
 */
let control_calls = 0;

/* Run for up to SLICE_MS.  Returns false when the CPU must stop (halt or panic). */
function cpu_slice(gd: Globaldata, post: (e: CpuEvent) => void): boolean {
  const ctl = gd.pcpu + PC.pc_ctlpend;
  Atomics.store(k32, ctl, 0);
  const deadline = performance.now() + SLICE_MS;
  let n = 0;
  try {
    for (;;) {
      if (cpu_step(gd) === STEP_RAN) {
        if ((++n & 255) !== 0) continue;
        if (Atomics.load(k32, H_PANIC) !== 0 || Atomics.load(k32, H_HALT) !== 0) return false;
        if (Atomics.load(k32, ctl) !== 0 || performance.now() > deadline) return true;
        continue;
      }
      if (Atomics.load(k32, H_PANIC) !== 0 || Atomics.load(k32, H_HALT) !== 0) return false;
      if (!cpu_idle(gd) || performance.now() > deadline) return true;
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err.name !== 'KernelHalt' && panic_record_here(gd.cpuid, gd.curtd === gd.idletd ? 0 : gd.curtd, err.message)) {
      post({ type: 'panic', cpu: gd.cpuid, message: err.message, stack: err.stack });
      doorbell_all();
    }
    return false;
  }
}

/*
 * Nothing to run.  Poll, then sleep on the doorbell.  Returns false when the event loop
 * should run (a control request, or after a sleep so that requests are never starved).
 */
function cpu_idle(gd: Globaldata): boolean {
  const pend = gd.pcpu + PC.pc_ipipend;
  const kick = gd.pcpu + PC.pc_kick;
  const t0 = performance.now();
  if (control_calls !== 0) return false;
  Atomics.store(k32, kick, 0);
  for (let i = 0; i < IDLE_POLLS; i++) {
    if (Atomics.load(k32, pend) !== 0 || Atomics.load(k32, kick) !== 0) {
      kf64[(gd.pcpu + PC.pc_idle_ns_f64) >> 1] += (performance.now() - t0) * 1e6;
      return true;
    }
  }
  cpu_idle_work(gd);
  const next = callout_next_deadline(gd);
  let ms = IDLE_WAIT_MS;
  if (next !== Infinity) ms = Math.min(ms, Math.max(0, (next - nanotime()) / 1e6));
  const door = gd.pcpu + PC.pc_doorbell;
  Atomics.store(k32, door, 1);
  if (ms > 0 && Atomics.load(k32, pend) === 0 && Atomics.load(k32, kick) === 0 &&
      Atomics.load(k32, gd.pcpu + PC.pc_ctlpend) === 0 &&
      Atomics.load(k32, H_PANIC) === 0 && Atomics.load(k32, H_HALT) === 0) {
    Atomics.wait(k32, door, 1, ms);
  }
  Atomics.store(k32, door, 0);
  cpu_idle_work(gd);
  kf64[(gd.pcpu + PC.pc_idle_ns_f64) >> 1] += (performance.now() - t0) * 1e6;
  if (Atomics.load(k32, gd.pcpu + PC.pc_ctlpend) !== 0) return false;
  return gd.runqmask !== 0 || Atomics.load(k32, pend) !== 0 || Atomics.load(k32, kick) !== 0;
}
