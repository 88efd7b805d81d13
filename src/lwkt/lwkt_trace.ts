/*
 * lwkt_trace.ts: the deterministic engine's event log, decoded into words.
 *
 * With traceLog, every resume of a thread and every plain scheduling point is logged as
 * five numbers: the engine's step, the CPU, the thread id, what happened, an argument.
 * What happened is an effect (how a resume ended: switch, step, spin, exit) or a
 * scheduling point's kind (lwkt_schedpt.ts); the argument is what the point touched (a
 * token, a lock, a message, a channel, a CPU) or, for a system call, its number on
 * entry and its errno on return.  Nothing outside this file needs the numbers.
 */

import { EFF_SPIN, EFF_STEP, EFF_SWITCH } from '../../shared/effect.js';
import { errno_name } from '../../shared/errno.js';
import { SP_NAMES, SP_SYSCALL, SP_SYSRET, SP_IPI, SP_CRIT_EXIT, SP_QUANTUM } from './lwkt_schedpt.js';
import { SYSCALL_NAMES } from '../sys/syscall.js';

export const TRACE_WORDS = 5;
const EV_EXIT = 3;

export interface TraceEvent {
  step: number;         // the engine's step during which it happened
  cpu: number;
  tid: number;
  thread: string;       // the thread's name
  what: string;         // 'syscall', 'sysret', 'token get', 'switch', 'exit', ...
  detail: string;       // the argument in words: 'sendto', 'EAGAIN', 'token 0x1a2b', 'cpu 1'
}

function hex(n: number): string { return `0x${(n >>> 0).toString(16)}`; }

function decode_what(what: number): string {
  switch (what) {
    case EFF_SWITCH: return 'switch';
    case EFF_STEP: return 'step';
    case EFF_SPIN: return 'spin';
    case EV_EXIT: return 'exit';
    default: return SP_NAMES[what] ?? `event ${what}`;
  }
}

function decode_detail(what: number, arg: number): string {
  switch (what) {
    case SP_SYSCALL:
    case SP_QUANTUM:
      return SYSCALL_NAMES[arg] ?? `syscall ${arg}`;
    case SP_SYSRET:
      return arg === 0 ? 'ok' : arg < 0 ? 'exception' : errno_name(arg);
    case SP_IPI:
      return `cpu ${arg}`;
    case SP_CRIT_EXIT:
    case EFF_SWITCH:
    case EFF_STEP:
    case EFF_SPIN:
    case EV_EXIT:
      return '';
    default:
      return hex(arg);
  }
}

/* Decode a raw log (a multiple of TRACE_WORDS numbers). */
export function trace_decode(log: readonly number[], names: ReadonlyMap<number, string>): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (let i = 0; i + TRACE_WORDS <= log.length; i += TRACE_WORDS) {
    const tid = log[i + 2], what = log[i + 3], arg = log[i + 4];
    out.push({
      step: log[i], cpu: log[i + 1], tid, thread: names.get(tid) ?? `tid ${tid}`,
      what: decode_what(what), detail: decode_detail(what, arg),
    });
  }
  return out;
}

/* One line: step, CPU, thread, what. */
export function trace_format(e: TraceEvent): string {
  const d = e.detail === '' ? '' : ` ${e.detail}`;
  return `step ${e.step.toString().padStart(7)}  cpu${e.cpu}  ${`${e.thread}(${e.tid})`.padEnd(24)} ${e.what}${d}`;
}
