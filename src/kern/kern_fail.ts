/*
 * kern_fail.ts: fault sites and injected bugs (after FreeBSD's fail(9) and FoundationDB's
 * BUGGIFY).  docs/faults.md says where each site sits and what each bug breaks.
 *
 * Fault sites are compiled into the kernel, each where the real failure would happen,
 * and armed at boot with a probability (boot option `faults: { site: rate }`):
 *
 *   mbuf             an mbuf allocation fails (uipc_mbuf.ts): MB_DONTWAIT gives NULL, the
 *                    caller's ENOBUFS; MB_WAIT sleeps a tick for memory and tries again
 *   cluster          a cluster allocation fails, the same way
 *   zone             a socket, file, unpcb or sockaddr allocation fails, where the caller
 *                    handles it: soalloc (ENOBUFS), falloc (ENFILE; not a process's first
 *                    descriptor, exec's console), unp_attach (ENOBUFS), getsockaddr (ENOBUFS)
 *   ipi_delay        an IPI arrives late (lwkt_ipiq.ts)
 *   spurious_wakeup  a tsleep ends without a wakeup, returning 0 (kern_synch.ts)
 *   yield            a thread gives up its CPU where it may block anyway: after taking a
 *                    token, after taking a sockbuf's I/O lock with M_WAITOK, in an MB_WAIT
 *                    allocation (tokens, the BGL among them, go while it is switched out)
 *   signal           a PCATCH sleep of a process that catches a signal gets one of those
 *                    signals, posted to the sleeping thread (as pthread_kill would): its
 *                    sleep ends with EINTR or ERESTART as the handler's SA_RESTART says, the
 *                    handler runs at the system call's return, and the call is restarted
 *                    or fails with EINTR, as after a real signal.  A process that catches
 *                    nothing gets none: an ignored or defaulted signal would not interrupt
 *                    the sleep (psignal drops an ignored one), and a default action that
 *                    kills belongs to the kill site.
 *   kill             a process is sent SIGKILL at a sleep point of one of its threads: a
 *                    PCATCH sleep ends at once, another runs on; the process dies at the
 *                    system call's return (Sys.userret)
 *
 * Sleep points are every tsleep and every lwkt_sleep of a process's thread (kern_synch.ts
 * calls the hook registered below: posting signals is the process layer's business).
 *
 * Injected bugs (boot option `injectBug: [name, ...]`) are conditionals at the exact place
 * of the mistake; shared/fail.ts has their bits.  Neither costs more than one test of a
 * module flag while off.
 */

import { k32, kmem_views, H_FAIL_TABLE, H_FAIL_ON, H_BUGS, H_NCPUS } from '../../shared/kmem.js';
import { faults_on } from '../../shared/cpu.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { zalloc } from '../../shared/zone.js';
import {
  FS_NAMES, FS_NSITES, FS_ZONE, FS_SIGNAL, FS_KILL, BUG_NAMES, FT_SLOTS, FT_SLOT_WORDS, FT_STATE, FT_COUNT, FT_BUGHITS,
  fail_table_words, fail_mix, fail_point, fail_armed, fail_below, fail_set_sleep_hook,
} from '../../shared/fail.js';
import { TD } from '../lwkt/thread.js';
import { PCATCH, CURSIG, lwkt_signal, sigbit } from '../lwkt/kern_synch.js';
import { PROC, SIGACTS, P_WEXIT, SIGKILL, SIGSTOP } from '../sys/proc.js';

export { FS_NAMES, BUG_NAMES };

/* The site names, as the boot option spells them. */
export const FAULT_SITES: readonly string[] = FS_NAMES;
/* The injectable bugs' names. */
export const INJECT_BUGS: readonly string[] = BUG_NAMES;

/* ---- boot: the options, checked, and the table ---- */

/*
 * The `faults` boot option as rates by site (FS_* order), or null when no site is armed.
 * RangeError for an unknown site (naming it and the valid ones) or a rate outside [0, 1];
 * TypeError for something that is not an object of numbers.
 */
export function kfail_parse_faults(v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError('boot: faults must be an object { site: rate }');
  const rates = new Array<number>(FS_NSITES).fill(0);
  for (const [name, rate] of Object.entries(v as Record<string, unknown>)) {
    const site = FS_NAMES.indexOf(name);
    if (site < 0) throw new RangeError(`boot: unknown fault site '${name}' (valid: ${FS_NAMES.join(', ')})`);
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new RangeError(`boot: fault site '${name}' has rate ${String(rate)}: a probability in [0, 1] is wanted`);
    }
    rates[site] = rate;
  }
  return rates.some((r) => r > 0) ? rates : null;
}

/* The `injectBug` boot option as a BUG_* mask.  RangeError for an unknown name, listing the valid ones. */
export function kfail_parse_bugs(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (!Array.isArray(v)) throw new TypeError('boot: injectBug must be an array of bug names');
  let mask = 0;
  for (const name of v as unknown[]) {
    const b = typeof name === 'string' ? BUG_NAMES.indexOf(name) : -1;
    if (b < 0) throw new RangeError(`boot: unknown injected bug '${String(name)}' (valid: ${BUG_NAMES.join(', ')})`);
    mask |= 1 << b;
  }
  return mask;
}

/* kmem words the table needs (0: no table) for these options. */
export function kfail_words(rates: number[] | null, bugs: number, ncpus: number): number {
  return rates !== null || bugs !== 0 ? fail_table_words(ncpus) : 0;
}

/* A rate as the table's threshold: the draw (uint32) fires below it; -1 always. */
function threshold(rate: number): number {
  if (rate <= 0) return 0;
  if (rate >= 1) return -1;
  return Math.max(1, Math.floor(rate * 4294967296)) | 0;
}

/*
 * Boot (host, before any CPU runs): fill the table at word offset t (0: none) and the
 * header words.  Each CPU's PRNG starts from the machine's seed and its number.
 */
export function kfail_init(i32: Int32Array, t: number, rates: number[] | null, bugs: number, seed: number): void {
  i32[H_FAIL_TABLE] = t;
  i32[H_FAIL_ON] = t !== 0 && rates !== null ? 1 : 0;
  i32[H_BUGS] = bugs;
  if (t === 0) return;
  for (let s = 0; s < FS_NSITES; s++) i32[t + s] = rates !== null ? threshold(rates[s]) : 0;
  const ncpus = i32[H_NCPUS];
  for (let c = 0; c <= ncpus; c++) {
    i32[t + FT_SLOTS + c * FT_SLOT_WORDS + FT_STATE] = fail_mix(Math.imul(seed ^ 0x6661696c, 0x9e3779b1) ^ fail_mix(c + 1)) | 0;
  }
}

/* ---- the host's view ---- */

function table_sum(sab: SharedArrayBuffer, off: number, names: readonly string[]): Record<string, number> {
  const { i32 } = kmem_views(sab);
  const t = i32[H_FAIL_TABLE];
  const n = i32[H_NCPUS];
  const out: Record<string, number> = {};
  names.forEach((name, i) => {
    let sum = 0;
    if (t !== 0) for (let c = 0; c <= n; c++) sum += i32[t + FT_SLOTS + c * FT_SLOT_WORDS + off + i];
    out[name] = sum;
  });
  return out;
}

/* How often each fault site fired, summed over the CPUs: { site: fires }, every site named. */
export function kfail_counts(sab: SharedArrayBuffer): Record<string, number> { return table_sum(sab, FT_COUNT, FS_NAMES); }

/* How often the code of each injected bug ran: { bug: hits }, every bug named. */
export function kfail_bug_hits(sab: SharedArrayBuffer): Record<string, number> { return table_sum(sab, FT_BUGHITS, BUG_NAMES); }

/* The rates a machine was booted with (only the armed sites). */
export function kfail_rates(sab: SharedArrayBuffer): Record<string, number> {
  const { i32 } = kmem_views(sab);
  const t = i32[H_FAIL_TABLE];
  const out: Record<string, number> = {};
  if (t === 0 || i32[H_FAIL_ON] === 0) return out;
  FS_NAMES.forEach((name, s) => {
    const thr = i32[t + s];
    if (thr !== 0) out[name] = thr === -1 ? 1 : (thr >>> 0) / 4294967296;
  });
  return out;
}

/* ---- sites the kernel calls ---- */

/*
 * zalloc for the allocations that may fail by design and whose callers turn NULL into an
 * errno (the zone site).  Never blocks.
 */
export function kfail_zalloc(z: number): Ptr {
  if (faults_on && fail_point(FS_ZONE)) return NULL;
  return zalloc(z);
}

const CANNOT_CATCH = sigbit(SIGKILL) | sigbit(SIGSTOP);

/*
 * A thread of a process is about to sleep (tsleep or lwkt_sleep; flags has PCATCH when a
 * signal may end the sleep): the kill and signal sites.  Nothing for kernel threads, for
 * a process already exiting, or while a signal is pending (its sleep ends anyway).
 * Never blocks; called in the sleeper's critical section, before it looks for signals.
 */
function kfail_sleep_point(td: Ptr, flags: number): void {
  const p = k32[td + TD.td_proc];
  if (p === NULL || (k32[p + PROC.p_flag] & P_WEXIT) !== 0 || CURSIG(td) !== 0) return;
  if (fail_armed(FS_KILL) && fail_point(FS_KILL)) {
    lwkt_signal(td, SIGKILL);
    return;
  }
  if ((flags & PCATCH) === 0 || !fail_armed(FS_SIGNAL)) return;
  // The process's handlers (read without p_spin: a sigaction racing this is as good either way).
  let caught = k32[p + PROC.p_sigacts + SIGACTS.ps_sigcatch] & ~k32[td + TD.td_sigmask] & ~CANNOT_CATCH;
  if (caught === 0 || !fail_point(FS_SIGNAL)) return;
  let pick = fail_below(popcount(caught));
  while (pick-- > 0) caught &= caught - 1;
  lwkt_signal(td, 32 - Math.clz32(caught & -caught));
}

function popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}

fail_set_sleep_hook(kfail_sleep_point);
