/*
 * dump.ts: read a machine's state out of kmem for panic reports and `ps`-like listings.
 * Uses explicit views, so the host can read any machine without attaching to it.
 */

import { H_NCPUS, H_OFF_ZONES, H_PANIC, H_PANIC_LEN, H_PANICMSG, H_PANIC_TD, H_OFF_PCPU, H_OFF_LOCKCLASS,
  kmem_getstr, kmem_views } from '../../shared/kmem.js';
import { kstr_read } from '../../shared/kstr.js';
import { ZD, Z_THREAD, zone_item_live } from '../../shared/zone.js';
import { PC, PCPU_WORDS, CPUSTATE_NAMES } from '../../shared/pcpu.js';
import { TD, TDF_NAMES, thread_state_name } from '../lwkt/thread.js';
import { TOK } from '../lwkt/lwkt_token.js';
import { TD_COMM_BYTES, PANICMSG_BYTES } from '../../shared/param.js';

function pcpu_of_views(i32: Int32Array, cpu: number): number { return i32[H_OFF_PCPU] + cpu * PCPU_WORDS; }
export function lockclass_name(i32: Int32Array, u8: Uint8Array, cls: number): string {
  return kstr_read(i32, u8, i32[i32[H_OFF_LOCKCLASS] + 1 + cls]);
}

export interface ThreadInfo {
  id: number;
  name: string;
  cpu: number;
  state: string;
  flags: string;
  pri: number;
  crit: number;
  wchan: number;         // kmem address slept on, 0 if none
  wmesg: string;         // wait message
  waitmsg: number;       // lwkt_msg waited for, 0 if none
  tokens: string[];      // held or wanted tokens, by lock class
}

export function thread_dump(sab: SharedArrayBuffer): ThreadInfo[] {
  const { i32, u8 } = kmem_views(sab);
  const zd = i32[H_OFF_ZONES] + Z_THREAD * ZD.SIZE;
  const base = i32[zd + ZD.zd_base];
  const words = i32[zd + ZD.zd_item_words];
  const count = i32[zd + ZD.zd_count];
  const out: ThreadInfo[] = [];
  for (let i = 0; i < count; i++) {
    const td = base + i * words;
    if (!zone_item_live(i32, td) || i32[td + TD.td_id] === 0) continue;
    const flags = i32[td + TD.td_flags];
    const wchan = i32[td + TD.td_wchan];
    const tokens: string[] = [];
    for (let t = 0; t < i32[td + TD.td_ntoks]; t++) {
      const tok = i32[td + TD.td_toks + t];
      const owner = i32[tok + TOK.t_owner];
      const name = lockclass_name(i32, u8, i32[tok + TOK.t_class]);
      tokens.push(owner === td ? name : `${name} (wanted)`);
    }
    out.push({
      id: i32[td + TD.td_id],
      name: kmem_getstr(u8, (td + TD.td_comm) * 4, TD_COMM_BYTES),
      cpu: i32[td + TD.td_cpu],
      state: thread_state_name(flags, wchan),
      flags: TDF_NAMES(flags),
      pri: i32[td + TD.td_pri],
      crit: i32[td + TD.td_critcount],
      wchan,
      wmesg: kstr_read(i32, u8, i32[td + TD.td_wmesg]),
      waitmsg: i32[td + TD.td_wmsg],
      tokens,
    });
  }
  return out;
}

export function format_threads(threads: ThreadInfo[]): string {
  const rows = [' TID CPU STATE     PRI CRIT WCHAN      WMESG     NAME                 TOKENS'];
  for (const t of threads) {
    rows.push(`${String(t.id).padStart(4)} ${String(t.cpu).padStart(3)} ${t.state.padEnd(9)} ${String(t.pri).padStart(3)} ` +
      `${String(t.crit).padStart(4)} ${(t.wchan ? '0x' + t.wchan.toString(16) : '-').padEnd(10)} ` +
      `${(t.wmesg || (t.waitmsg ? 'msg 0x' + t.waitmsg.toString(16) : '-')).padEnd(9)} ${t.name.padEnd(20)} ` +
      `${t.tokens.join(',') || '-'}`);
  }
  return rows.join('\n');
}

export interface PanicRecord { cpu: number; thread: number; message: string }

/* The panic recorded in the header, if any. */
export function panic_record(sab: SharedArrayBuffer): PanicRecord | null {
  const { i32, u8 } = kmem_views(sab);
  const who = Atomics.load(i32, H_PANIC);
  if (who === 0) return null;
  return {
    cpu: who - 1,
    thread: i32[H_PANIC_TD],
    message: kmem_getstr(u8, H_PANICMSG * 4, Math.min(i32[H_PANIC_LEN], PANICMSG_BYTES)),
  };
}

export function cpu_dump(sab: SharedArrayBuffer): string {
  const { i32 } = kmem_views(sab);
  const n = i32[H_NCPUS];
  const rows: string[] = [];
  for (let c = 0; c < n; c++) {
    const p = pcpu_of_views(i32, c);
    rows.push(`cpu${c}: ${CPUSTATE_NAMES[i32[p + PC.pc_state]] ?? '?'}, ${i32[p + PC.pc_nthreads]} threads, ` +
      `${i32[p + PC.pc_ncallouts]} callouts, ipi pending 0x${(i32[p + PC.pc_ipipend] >>> 0).toString(16)}`);
  }
  return rows.join('\n');
}

/*
 * How a machine failed: a kernel panic, every thread asleep for good, a CPU stuck in one
 * step (parallel engine), or a CPU's worker lost.
 */
export type PanicKind = 'panic' | 'deadlock' | 'lockup' | 'worker' | 'budget';
const PANIC_HEADS: Record<PanicKind, string> = { panic: 'panic', deadlock: 'deadlock', lockup: 'soft lockup', worker: 'cpu lost', budget: 'budget exhausted' };

/* Rejection value of join/shutdown when the machine panicked, deadlocked, locked up or lost a CPU. */
export class PanicError extends Error {
  override name = 'PanicError';
  readonly kind: PanicKind;
  readonly panicMessage: string;
  readonly cpu: number;
  readonly thread: number;
  readonly threadName: string;
  readonly threads: ThreadInfo[];
  readonly kernelStack: string | undefined;
  readonly liveness: string | undefined;   // a deadlock's report of what each thread waits for (liveness.ts)

  constructor(kind: PanicKind, message: string, cpu: number, thread: number,
      threads: ThreadInfo[], cpus: string, stack?: string, liveness?: string) {
    const t = threads.find((x) => x.id === thread);
    super(`${PANIC_HEADS[kind]}: ${message}\n  cpu ${cpu}, thread ${thread}${t ? ` '${t.name}'` : ''}\n` +
      `${cpus}\n${format_threads(threads)}` +
      (kind === 'lockup' && stack !== undefined ? `\nstack of the stuck CPU:\n${stack}` : '') +
      (liveness !== undefined ? `\n${liveness}` : ''));
    this.liveness = liveness;
    this.kind = kind;
    this.panicMessage = message;
    this.cpu = cpu;
    this.thread = thread;
    this.threadName = t?.name ?? '';
    this.threads = threads;
    this.kernelStack = stack;
  }
}
