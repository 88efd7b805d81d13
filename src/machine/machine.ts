/*
 * machine.ts: the host's view of a booted machine, common to both engines: joins,
 * statistics read straight out of kmem, panic state.
 */

import { kmem_views, H_NCPUS, H_OFF_LOCKCLASS, H_OFF_LOCKSTAT, H_OFF_PCPU, H_LIVE } from '../../shared/kmem.js';
import { PC, PCPU_WORDS, CPUSTATE_NAMES } from '../../shared/pcpu.js';
import { lockstat_read, type LockClassStats } from '../../shared/lockstat.js';
import { zone_stats, type ZoneStats } from '../../shared/zone.js';
import { zalloc, Z_KMALLOC16, Z_KMALLOC64, Z_KMALLOC256 } from '../../shared/zone.js';
import { set_mycpuid } from '../../shared/cpu.js';
import { thread_dump, cpu_dump, panic_record, PanicError, type PanicKind, type ThreadInfo } from './dump.js';
import { exec_killed_message } from '../kern/kern_exec.js';
import { kmem_sab_put } from './kmem_pool.js';
import { witness_read, type WitnessReport } from '../kern/subr_witness.js';
import { liveness_report } from './liveness.js';
import { kfail_counts } from '../kern/kern_fail.js';
import { check_spawn_options } from './validate.js';

export type EngineName = 'parallel' | 'deterministic';
export type IpiCarrier = 'sab' | 'messageport';
export type DispatchModel = 'bgl' | 'netisr' | 'mpsafe';

export interface BootOptions {
  cpus?: number;                  // simulated CPUs (default: one per host core)
  engine?: EngineName;            // default 'parallel'
  seed?: number;                  // deterministic engine: the run's seed (default 1)
  ipi?: IpiCarrier;               // default 'sab'
  memory?: number;                // kmem bytes (default 64 MiB)
  lockstat?: boolean;             // lock statistics (default true)
  ipiqSlots?: number;             // entries per IPI ring, a power of two (default 64)
  maxThreads?: number;            // thread descriptors (default 1024)
  modules?: string[];             // modules every CPU loads at boot (their kfuncs are then known)
  dispatch?: DispatchModel;       // socket dispatch model (default 'bgl')
  maxsockets?: number;            // tunable kern.ipc.maxsockets, raised to max(maxfiles, nmbclusters) as SEED does
  traceLog?: boolean | number;    // deterministic engine: keep every event (firstDivergence), or only the last n (a failure's tail)
  stepBudget?: number;            // deterministic engine: fail with kind 'budget' after this many steps (default 200,000,000; 0: none)
  stepLimit?: number;             // the old name of stepBudget
  timeBudgetMs?: number;          // deterministic engine: ... or after this much wall-clock time running (default 300,000; 0: none)
  points?: 'fine' | 'blocking';   // deterministic engine: scheduling points everywhere the machine interleaves (default), or at blocking only
  scheduler?: 'random' | 'pct' | 'replay'; // deterministic engine: who picks the next CPU (default 'random')
  pctDepth?: number;              // PCT's bug depth d (default 3)
  pctSteps?: number;              // PCT's k: change points are drawn from the first k steps (default 100,000)
  choices?: number[];             // the replay scheduler's choices (explore.ts)
  recordChoices?: boolean;        // deterministic engine: keep the schedule's choices (choices()) to replay or shrink
  witness?: boolean;              // WITNESS: lock-order graph, reversals and recursion reported as panics (default false; docs/witness.md)
  invariants?: boolean;           // INVARIANTS: sockbuf accounting, listen queues, message and token checks (default false)
  softLockupMs?: number;          // parallel engine: panic when a running CPU has not switched threads for this long (default 10000, 0 under a debugger; 0: never)
  faults?: Record<string, number>; // fault sites armed, site -> probability in [0, 1] (kern/kern_fail.ts, docs/faults.md)
  injectBug?: string[];           // kernel bugs to inject by name (kern/kern_fail.ts, docs/faults.md)
}

export interface SpawnOptions {
  cpu?: number;                   // default 0
  module: string;                 // module URL (import.meta.url-relative href), absolute path, or ./ ../ path from process.cwd()
  export?: string;                // exported generator function (default 'default')
  args?: unknown[];               // its arguments: plain data (validate.ts), copied to the CPU in the parallel engine
  name?: string;
  priority?: number;              // TDPRI_* (default TDPRI_KERN_DAEMON, 12)
}

/* spawnProcess: a program (a generator function `function* main(sys: Sys, ...args)`) as a process. */
export interface ProcessOptions {
  cpu?: number;                   // default 0
  module: string;                 // module URL or path, as for spawn
  export?: string;                // the program's generator function (default 'default')
  args?: unknown[];               // its arguments after sys: plain data, as for spawn
  uid?: number;                   // real, effective and saved uid and gid (default 0, root)
  name?: string;                  // the thread's name (default the export's)
}

export interface CpuStats {
  cpu: number;
  state: string;
  threads: number;
  switches: number;
  steps: number;
  ipisSent: number;
  ipisReceived: number;
  msgsSent: number;
  msgsReceived: number;
  wakeups: number;
  callouts: number;
  idleNs: number;
  sleeps: number;                 // parallel engine: times the idle CPU slept on its doorbell
}

export interface MachineStats {
  engine: EngineName;
  uptimeNs: number;
  liveThreads: number;
  cpus: CpuStats[];
  locks: LockClassStats[];
  zones: ZoneStats[];
}

export interface Machine {
  readonly engine: EngineName;
  readonly ncpus: number;
  readonly kmem: SharedArrayBuffer;
  spawn(opts: SpawnOptions): Promise<number>;
  spawnProcess(opts: ProcessOptions): Promise<number>;
  join(id: number): Promise<unknown>;
  console(): string;
  kmalloc(words: number): number;
  stats(): MachineStats;
  threads(): ThreadInfo[];
  witness(): WitnessReport;
  traceHash(): string;
  faults(): Record<string, number>;
  readonly panicked: PanicError | null;   // the machine's failure, or null
  shutdown(): Promise<void>;
}

type Waiter = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

export abstract class MachineBase implements Machine {
  abstract readonly engine: EngineName;
  readonly ncpus: number;
  private readonly sab: SharedArrayBuffer;
  protected readonly i32: Int32Array;
  protected readonly exited = new Map<number, { result?: unknown; error?: string }>();
  protected readonly waiters = new Map<number, Waiter[]>();
  protected readonly spawned = new Set<number>();
  protected failure: PanicError | null = null;
  protected down = false;

  constructor(kmem: SharedArrayBuffer) {
    this.sab = kmem;
    this.i32 = new Int32Array(kmem);
    this.ncpus = this.i32[H_NCPUS];
  }

  /* What stats() and threads() said when the machine was shut down and its kmem pooled. */
  private final: { stats: MachineStats; threads: ThreadInfo[]; faults: Record<string, number> } | null = null;

  /* The machine's kmem; gone to the pool (kmem_pool.ts) once it is shut down. */
  get kmem(): SharedArrayBuffer {
    if (this.final !== null) throw new Error('kmem: the machine is shut down and its memory went back to the pool');
    return this.sab;
  }

  /*
   * The end of shutdown, once no CPU runs the machine any more: keep what stats() and
   * threads() say now, and hand kmem to the next boot.
   */
  protected release_kmem(): void {
    if (this.final !== null) return;
    this.final_witness = this.witness();
    this.final = { stats: this.stats(), threads: this.threads(), faults: this.faults() };
    kmem_sab_put(this.sab);
  }

  abstract spawn(opts: SpawnOptions): Promise<number>;
  abstract spawnProcess(opts: ProcessOptions): Promise<number>;
  abstract join(id: number): Promise<unknown>;
  abstract traceHash(): string;
  abstract shutdown(): Promise<void>;
  protected abstract uptimeNs(): number;

  /*
   * Host-side checks of spawn's and spawnProcess's options (validate.ts): known keys, a
   * module that exists (a ./ or ../ path is taken relative to process.cwd()), args plain data.
   */
  protected check_spawn(opts: SpawnOptions, fn: 'spawn' | 'spawnProcess' = 'spawn'): number {
    if (this.down) throw new Error(`${fn}: machine is shut down`);
    if (this.failure !== null) throw this.failure;
    check_spawn_options(fn, opts);
    const cpu = opts.cpu ?? 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.ncpus) throw new RangeError(`spawn: cpu must be 0..${this.ncpus - 1}`);
    return cpu;
  }

  /* Host-side checks of spawnProcess's options (the CPU checks them again). */
  protected check_process(opts: ProcessOptions): void {
    const uid = opts.uid ?? 0;
    if (!Number.isInteger(uid) || uid < 0 || uid > 0x7fffffff) throw new RangeError('spawnProcess: uid must be 0..2^31-1');
  }

  /* ---- the console (kern/sys_console.ts): bytes from the CPUs, shown by line with the pid ---- */

  private readonly con_lines: string[] = [];
  private readonly con_partial = new Map<number, { dec: InstanceType<typeof TextDecoder>; text: string }>();

  protected console_in(pid: number, bytes: Uint8Array): void {
    let part = this.con_partial.get(pid);
    if (part === undefined) {
      part = { dec: new TextDecoder(), text: '' };
      this.con_partial.set(pid, part);
    }
    const lines = (part.text + part.dec.decode(bytes, { stream: true })).split('\n');
    part.text = lines.pop() ?? '';
    for (const l of lines) this.con_lines.push(`[pid ${pid}] ${l}\n`);
  }

  /*
   * The console output so far: every line written to a console descriptor, prefixed
   * with the writer's pid ("[pid 3] "), in the order the lines were completed; a line
   * not yet ended by a newline comes last, as it is so far.
   */
  console(): string {
    let out = this.con_lines.join('');
    for (const [pid, part] of this.con_partial) if (part.text !== '') out += `[pid ${pid}] ${part.text}\n`;
    return out;
  }

  /* A thread ended: settle its joiners.  A killed process's record becomes the join's error. */
  protected thread_exited(id: number, result: unknown, error: string | undefined): void {
    const killed = error === undefined ? exec_killed_message(result) : null;
    if (killed !== null) {
      result = undefined;
      error = killed;
    }
    this.exited.set(id, { result, error });
    const ws = this.waiters.get(id);
    if (ws === undefined) return;
    this.waiters.delete(id);
    for (const w of ws) {
      if (error !== undefined) w.reject(new Error(error));
      else w.resolve(result);
    }
  }

  /* Settle a join at once if the thread has ended, else queue it. */
  protected join_wait(id: number): Promise<unknown> {
    if (!this.spawned.has(id)) return Promise.reject(new RangeError(`join: no thread ${id} was spawned on this machine`));
    const done = this.exited.get(id);
    if (done !== undefined) return done.error !== undefined ? Promise.reject(new Error(done.error)) : Promise.resolve(done.result);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const ws = this.waiters.get(id) ?? [];
      ws.push({ resolve, reject });
      this.waiters.set(id, ws);
    });
  }

  /* Shutdown with joins pending: they can never complete. */
  protected abandon_waiters(): void {
    for (const [id, ws] of this.waiters) for (const w of ws) w.reject(new Error(`join: machine shut down before thread ${id} ended`));
    this.waiters.clear();
  }

  /* The machine failed: every pending join rejects with the same PanicError. */
  protected fail(err: PanicError): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const ws of this.waiters.values()) for (const w of ws) w.reject(err);
    this.waiters.clear();
  }

  protected panic_error(kind: PanicKind, fallback: string, cpu: number, stack?: string): PanicError {
    const rec = panic_record(this.sab);
    // A deadlock says what each blocked thread waits for (liveness.ts).
    const live = kind === 'deadlock' ? liveness_report(this.sab) : undefined;
    return new PanicError(kind, rec?.message ?? fallback, rec?.cpu ?? cpu, rec?.thread ?? 0,
      thread_dump(this.sab), cpu_dump(this.sab), stack, live);
  }

  /* The failure, if any (a PanicError), so callers can inspect it without a join. */
  get panicked(): PanicError | null { return this.failure; }

  threads(): ThreadInfo[] { return this.final !== null ? this.final.threads : thread_dump(this.sab); }

  /*
   * WITNESS's lock-order graph: every edge seen (classes, kinds, the thread and call path
   * that set it first, an approximate count) and the cycles found (deadlock: false for
   * those through a token, which are not reported).  Empty, enabled false, unless the
   * machine booted with witness: true.
   */
  witness(): WitnessReport { return this.final_witness ?? witness_read(this.sab); }
  private final_witness: WitnessReport | null = null;

  /* How often each fault site fired so far, { site: fires } for every site (kern/kern_fail.ts). */
  faults(): Record<string, number> { return this.final !== null ? this.final.faults : kfail_counts(this.sab); }

  /*
   * Allocate `words` zeroed words of kmem for threads to share (counters, lock words,
   * rendezvous); returns its kmem pointer, or 0 when that size class is exhausted.
   */
  kmalloc(words: number): number {
    if (!Number.isInteger(words) || words < 1 || words > 256) throw new RangeError('kmalloc: 1..256 words');
    if (this.down) throw new Error('kmalloc: machine is shut down');
    this.attach_host();
    try {
      return zalloc(words <= 16 ? Z_KMALLOC16 : words <= 64 ? Z_KMALLOC64 : Z_KMALLOC256);
    } finally {
      set_mycpuid(-1);
    }
  }

  /* Attach this isolate's kernel globals to this machine, as the host (cpu -1). */
  protected abstract attach_host(): void;

  stats(): MachineStats {
    if (this.final !== null) return this.final.stats;
    const { i32, u8, f64 } = kmem_views(this.sab);
    const cpus: CpuStats[] = [];
    for (let c = 0; c < this.ncpus; c++) {
      const p = i32[H_OFF_PCPU] + c * PCPU_WORDS;
      const d = (off: number): number => f64[(p + off) >> 1];
      cpus.push({
        cpu: c, state: CPUSTATE_NAMES[i32[p + PC.pc_state]] ?? '?', threads: i32[p + PC.pc_nthreads],
        switches: d(PC.pc_switches_f64), steps: d(PC.pc_steps_f64), ipisSent: d(PC.pc_ipis_sent_f64),
        ipisReceived: d(PC.pc_ipis_recv_f64), msgsSent: d(PC.pc_msgs_sent_f64), msgsReceived: d(PC.pc_msgs_recv_f64),
        wakeups: d(PC.pc_wakeups_f64), callouts: d(PC.pc_callouts_f64), idleNs: d(PC.pc_idle_ns_f64),
        sleeps: d(PC.pc_sleeps_f64),
      });
    }
    return {
      engine: this.engine,
      uptimeNs: this.uptimeNs(),
      liveThreads: Atomics.load(i32, H_LIVE),
      cpus,
      locks: lockstat_read(i32, u8, f64, this.ncpus, i32[H_OFF_LOCKCLASS], i32[H_OFF_LOCKSTAT]),
      zones: zone_stats(i32, u8, f64),
    };
  }
}
