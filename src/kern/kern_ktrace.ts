/*
 * kern_ktrace.ts: an optional trace of the kernel's steps, for watching a system call
 * walk through the kernel (`lwkt-sim run socketpair` shows the FreeBSD 2.1 walkthrough's
 * socketpair -> socreate -> pffindtype/pffindproto -> falloc -> soconnect2).
 *
 * ktrace_step(name, a, b, c) is called at the steps with a constant name and integer
 * arguments, so a call costs two kmem loads and a compare when tracing is off: nothing is
 * allocated or formatted.  Tracing is on while the kmem word of the sysctl
 * kern.ktrace_steps is non-zero (the last word of g_kern, so every CPU sees it); a step
 * then becomes one line "ktrace: <step>(<arguments>)" written to the CPU's trace sink,
 * which the engines attach next to the console's (ktrace_attach), so the line shows in
 * Machine.console() labelled with the pid of the process that made the step, in order
 * with what that process prints.
 *
 * Not DragonFly's ktrace(2) (per-process records in a file): a debugging aid of the
 * simulation only.
 */

import { k32, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL } from '../../shared/struct.js';
import { KG } from '../sys/kglobals.js';
import { curthread, mycpu, type Globaldata } from '../lwkt/globaldata.js';
import { TD } from '../lwkt/thread.js';
import { KERN, PROC } from '../sys/proc.js';
import { CTLFLAG_RW, sysctl_int } from './kern_sysctl.js';

const KG_KERN_WORDS = 64;                       // KG.g_kern's size (sys/kglobals.ts)
const KT_WORD = KG.g_kern + KG_KERN_WORDS - 1;  // the flag: g_kern's last word, past KERN
if (KERN.SIZE >= KG_KERN_WORDS) throw new Error('kern_ktrace: no room for the flag in g_kern');

/* Where one CPU's trace lines go: (pid of the process making the step, the line's bytes). */
export type KtraceSink = (pid: number, bytes: Uint8Array) => void;

const sinks = new WeakMap<Globaldata, KtraceSink>();
const encoder = new TextEncoder();

/* The engine attaches a sink to each CPU it brings up (the console's). */
export function ktrace_attach(gd: Globaldata, sink: KtraceSink): void { sinks.set(gd, sink); }

/* Is tracing on?  Callers may test it before computing arguments that cost something. */
export function ktrace_on(): boolean { return k32[k32[H_OFF_GLOBALS] + KT_WORD] !== 0; }

sysctl_int('kern.ktrace_steps', CTLFLAG_RW, () => k32[H_OFF_GLOBALS] + KT_WORD,
  'Trace the kernel steps of socket calls to the console (0 off, 1 on)');

/* One step.  A no-op unless tracing is on. */
export function ktrace_step(name: string, a = 0, b = 0, c = 0): void {
  if (k32[k32[H_OFF_GLOBALS] + KT_WORD] === 0) return;
  const sink = sinks.get(mycpu);
  if (sink === undefined) return;
  const td = curthread();
  const p = td === NULL ? NULL : k32[td + TD.td_proc];
  const pid = p === NULL ? 0 : k32[p + PROC.p_pid];
  sink(pid, encoder.encode(`ktrace: ${ktrace_format(name, a, b, c)}\n`));
}

const AF_NAMES: Record<number, string> = { 0: 'AF_UNSPEC', 1: 'AF_LOCAL', 2: 'AF_INET' };
const SOCK_NAMES: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 4: 'SOCK_RDM',
  5: 'SOCK_SEQPACKET' };
const af = (v: number): string => AF_NAMES[v] ?? String(v);
const sock = (v: number): string => SOCK_NAMES[v] ?? String(v);
const ptr = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/* The line of a step: its arguments by name where the step is known. */
export function ktrace_format(name: string, a: number, b: number, c: number): string {
  switch (name) {
    case 'socketpair':                          // (domain, type, protocol)
    case 'socreate':
      return `${name}(${af(a)}, ${sock(b)}, ${c})`;
    case 'pffindtype':                          // (family, type)
      return `${name}(${af(a)}, ${sock(b)})`;
    case 'pffindproto':                         // (family, protocol, type)
      return `${name}(${af(a)}, ${b}, ${sock(c)})`;
    case 'falloc':                              // (fd, fp)
      return `${name}() -> fd ${a}, file ${ptr(b)}`;
    case 'soconnect2':                          // (so1, so2)
      return `${name}(so ${ptr(a)}, so ${ptr(b)})`;
    default:
      return `${name}(${a}, ${b}, ${c})`;
  }
}
