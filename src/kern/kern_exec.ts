/*
 * kern_exec.ts: the bodies of a process's threads: the main thread, which runs the
 * program and ends the process, and the further threads thread() makes.
 * Stands for what DragonFly 2008 does between fork1 and exit1 for a new program:
 * kern_execve's image activation (here: calling a generator function with a Sys object
 * and its arguments), init's opening of /dev/console on descriptors 0, 1 and 2 for a
 * process the host starts, and the exit when main returns.  Named after kern_exec.c
 * because that is where a program's image becomes the running process.
 *
 * proc_exec is the generator of a process the host starts (Machine.spawnProcess): it
 * makes the process (proc_create with the uid as real, effective and saved uid and
 * gid), attaches itself, opens the console (falloc, then dup to 1 and 2) and runs the
 * main body.  proc_main is the main body, also the first thread of a process made by
 * spawn or fork (kern_fork.ts, which attached it): it runs the program, then exits the
 * process: exit1 with the program's status (its return value as an int, or exit()'s),
 * waits for the other threads to end, and proc_exit.  proc_thread is the body of a
 * thread() thread: its result goes to its join slot.
 *
 * How a program ends, and the process's wait status:
 *  - main returns v: exit status v & 0xff when v is a number, else 0; the host's join
 *    gets v itself.
 *  - exit(n) in any thread: status n & 0xff; the host's join gets n & 0xff.
 *  - a signal's default action (ProcessKilled): terminated by that signal; the host's
 *    join rejects, naming the signal.
 *  - a program (main or thread) throws: the process is killed, as an uncaught C++
 *    exception aborts one: terminated by SIGABRT; the host's join rejects, naming the
 *    exception when the thread ran in the main thread's isolate.
 * A KernelPanic passing through the program is not a program error: it is re-thrown.
 * Every other thread ends at its next return from a system call once exit1 has run
 * (Sys.userret throws ProcessExit).
 *
 * Differs: no image, no address space, no argv/envp in memory (the arguments are the
 * generator's, copied: kern_exec_args.ts); the program's yields must be the kernel's
 * effects (it may only yield* the Sys calls): anything else kills it.
 */

import { k32, kmem_bootid } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EFF_SPIN, EFF_STEP, EFF_SWITCH, Resumable, type Blocking, type Effect } from '../../shared/effect.js';
import { E2BIG, EINVAL, ENOMEM } from '../../shared/errno.js';
import { zalloc, zfree, Z_KMALLOC256 } from '../../shared/zone.js';
import { curthread, type ThreadGen } from '../lwkt/globaldata.js';
import { wakeup } from '../lwkt/kern_synch.js';
import { DTYPE_CONSOLE, FILE, FREAD, FWRITE } from '../sys/file.js';
import { PROC, SIGABRT, W_EXITCODE, WEXITSTATUS, WIFSIGNALED, WTERMSIG } from '../sys/proc.js';
import { DUP_FIXED, falloc, fdrop, fsetfd, kern_dup } from './kern_descrip.js';
import { proc_attach_thread, proc_create, proc_detach_thread } from './kern_proc.js';
import { exit1, exit_chan, proc_exit, proc_exit_wait } from './kern_exit.js';
import { exec_set_bodies, is_program, thread_done, type Handlers, type ProgramFn } from './kern_fork.js';
import { exec_args_copyin } from './kern_exec_args.js';
import { signal_message } from '../sys/proc.js';
import { panic } from '../../shared/panic.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYSCALL_NAMES } from '../sys/syscall.js';

function is_generator_object(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as Generator).next === 'function' && typeof (v as Generator).throw === 'function';
}
import { consoleops } from './sys_console.js';

/*
 * What the kernel knows of a program's system-call object (libc's Sys): whether a signal
 * killed its thread or its process exited, and its scratch item to free.  libc registers
 * the constructor (exec_set_image), as the kernel would load an image's entry point:
 * kern sits below libc and imports none of it.  The machine layer loads libc in every
 * isolate that runs CPUs.
 */
export interface ExecImage { killedBy: number; exited: boolean; release(): Ptr }
type ImageMaker = (p: Ptr, td: Ptr, w: Ptr, handlers: Handlers) => ExecImage;
let make_image: ImageMaker | null = null;
export function exec_set_image(f: ImageMaker): void { make_image = f; }
function exec_image(p: Ptr, td: Ptr, w: Ptr, handlers: Handlers): ExecImage {
  if (make_image === null) return panic('kern_exec: no program interface loaded (libc/sys.ts)');
  return make_image(p, td, w, handlers);
}

/* What proc_exec returns for a killed process (plain data: it crosses to the host). */
export const EXEC_KILLED = '__lwkt_sim_killed__';
export interface ExecKilled {
  [EXEC_KILLED]: true;
  pid: number;
  signal: number;          // the signal that killed it, or 0 (the program threw)
  message: string;
}

/* The kill record's message, or null when r is a program's ordinary return value. */
export function exec_killed_message(r: unknown): string | null {
  if (typeof r !== 'object' || r === null || (r as Record<string, unknown>)[EXEC_KILLED] !== true) return null;
  return String((r as ExecKilled).message);
}

export { is_program, type ProgramFn };

/* Descriptors 0, 1 and 2 on one console file (init's open of /dev/console, then dups). */
function* console_open(p: Ptr, w: Ptr): Blocking<number> {
  let e = falloc(p, w);
  if (e !== 0) return e;
  const fp = k32[w], fd = k32[w + 1];
  k32[fp + FILE.f_type] = DTYPE_CONSOLE;
  k32[fp + FILE.f_flag] = FREAD | FWRITE;
  k32[fp + FILE.f_ops] = consoleops.fo_id;
  fsetfd(p, fp, fd);
  yield* fdrop(fp);
  for (let nfd = 1; nfd <= 2 && e === 0; nfd++) e = yield* kern_dup(DUP_FIXED, fd, nfd, p, NULL);
  return e;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}${program_hint(e)}${program_frames(e)}`;
  try { return `a ${typeof e}: ${String(e)}`; } catch { return `a ${typeof e}`; }
}

/*
 * Where a program's error came from: the frames of its stack that are the program's own
 * (not lwkt-sim's, not Node's), so the report names the user's file and line.
 */
const LIB_ROOT = new URL('../../', import.meta.url).href.replace(/\/dist\/$/, '/').replace(/\/$/, '');
const LIB_DIRS = ['/src/', '/shared/', '/dist/', '/workers/'].flatMap((d) => [LIB_ROOT + d, fileURLToPath(LIB_ROOT) + d]);
function program_frames(e: Error): string {
  const lines = (e.stack ?? '').split('\n').slice(1).filter((l) => /^\s+at /.test(l) &&
    !l.includes('node:internal') && !l.includes('/node_modules/') && !l.includes('(<anonymous>)') && !LIB_DIRS.some((d) => l.includes(d)));
  return lines.length === 0 ? '' : `\n${lines.slice(0, 6).map((l) => `    ${l.trim()}`).join('\n')}`;
}

/* The likely mistake behind a TypeError in a program: an unknown Sys method, or a call without yield*. */
function program_hint(e: Error): string {
  if (e.name !== 'TypeError') return '';
  const frame = /\(((?:file:\/\/)?\/[^)]+?):(\d+):\d+\)/.exec((e.stack ?? '').split('\n').slice(1).find((l) =>
    !l.includes('node:internal') && !l.includes('(<anonymous>)') && !LIB_DIRS.some((d) => l.includes(d))) ?? '');
  let line = '';
  if (frame !== null) {
    const file = frame[1].replace(/\?.*$/, '');
    try { line = readFileSync(file.startsWith('file:') ? fileURLToPath(file) : file, 'utf8').split('\n')[Number(frame[2]) - 1] ?? ''; } catch { /* no source */ }
  }
  const call = /\bsys\.([A-Za-z_$][\w$]*)\s*\(/.exec(line) ?? /\bsys\.([A-Za-z_$][\w$]*) is not a function/.exec(e.message);
  if (call !== null && !SYSCALL_NAMES.includes(call[1]) && call[1] !== 'print') {
    const near = SYSCALL_NAMES.concat(['print']).map((n) => [n, edit_distance(n, call[1])] as const).sort((a, b) => a[1] - b[1])[0];
    return ` (Sys has no method '${call[1]}'${near[1] <= 2 ? `: did you mean '${near[0]}'?` : ''})`;
  }
  if (/is not iterable/.test(e.message) && call !== null && !/yield\*\s*sys\./.test(line)) {
    return ` (a system call needs yield*: yield* sys.${call[1]}(...))`;
  }
  return '';
}

function edit_distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

function killed(pid: number, signal: number, message: string): ExecKilled {
  return { [EXEC_KILLED]: true, pid, signal, message };
}

/*
 * Why a thread of p in this isolate killed it (read by the main thread when it shares the
 * isolate).  Keyed by boot too: machines share an isolate (the deterministic engine's
 * host, a pooled worker), and one shut down while a killed process was still exiting
 * must not lend its reason to a later process at the same address.
 */
const why_killed = new Map<string, string>();
function why_key(p: Ptr): string { return `${kmem_bootid}:${p}`; }

/* How run_program ended. */
const RUN_RETURNED = 0;     // the program returned (value in run.value)
const RUN_EXITED = 1;       // ProcessExit: exit() here, or another thread's exit1
const RUN_KILLED = 2;       // a signal's default action
const RUN_THREW = 3;        // the program threw (message in run.why)
interface RunResult { how: number; value: unknown; why: string }

/*
 * Passes one checked yield of the program up to the scheduler and its resume value back:
 * `yield* relay.of(r)` is `yield r.value` without the result object a generator's own
 * yield makes (V8 hands a delegate's result up as it is), so a program that sleeps
 * allocates nothing here (see shared/cont.ts).
 */
class Relay extends Resumable<unknown> {
  private r: IteratorYieldResult<Effect> | null = null;
  private readonly fin = { done: true as const, value: undefined as unknown };
  of(r: IteratorYieldResult<Effect>): this { this.r = r; return this; }
  next(v?: unknown): IteratorResult<Effect, unknown> {
    const r = this.r;
    if (r !== null) {
      this.r = null;
      return r;
    }
    this.fin.value = v;
    return this.fin;
  }
}

/*
 * Drive the program's generator in this thread: its yields must be the kernel's
 * effects.  Never throws but for a kernel panic.  Blocks.
 */
function* run_program(sys: ExecImage, fn: ProgramFn, args: unknown[]): Blocking<RunResult> {
  const run: RunResult = { how: RUN_RETURNED, value: undefined, why: '' };
  try {
    const gen = fn(sys, ...args) as Generator<unknown, unknown, unknown>;
    const relay = new Relay();
    let v: unknown = undefined;
    for (;;) {
      const r = gen.next(v);
      if (r.done === true) {
        // A Blocking returned unrun: the program called the kernel without yield*.
        if (r.value instanceof Resumable || is_generator_object(r.value)) {
          throw new TypeError('the program returned a system call it never ran: a system call needs yield* (yield* sys.call(...))');
        }
        run.value = r.value;
        break;
      }
      if (r.value !== EFF_SWITCH && r.value !== EFF_STEP && r.value !== EFF_SPIN) {
        throw new TypeError(`program yielded ${String(r.value)}: a program may only yield* the Sys calls`);
      }
      v = yield* relay.of(r as IteratorYieldResult<Effect>);
    }
  } catch (e) {
    if (e instanceof Error && (e.name === 'KernelPanic' || e.name === 'KernelHalt')) throw e;
    if (e instanceof Error && e.name === 'ProcessExit') run.how = RUN_EXITED;
    else if (e instanceof Error && e.name === 'ProcessKilled') run.how = RUN_KILLED;
    else {
      run.how = RUN_THREW;
      run.why = `killed: program threw ${describe(e)}`;
    }
  }
  // Whatever the program did with the exceptions, these decide.
  if (sys.killedBy !== 0) run.how = RUN_KILLED;
  else if (sys.exited) run.how = RUN_EXITED;
  return run;
}

/* Start the exit of p for how run ended.  True when this call set the status (the first). */
function run_exit1(p: Ptr, td: Ptr, sys: ExecImage, run: RunResult): boolean {
  switch (run.how) {
    case RUN_RETURNED: {
      const v = run.value;
      return exit1(p, td, W_EXITCODE(typeof v === 'number' && Number.isFinite(v) ? v : 0, 0));
    }
    case RUN_KILLED:
      if (!exit1(p, td, W_EXITCODE(0, sys.killedBy))) return false;
      why_killed.set(why_key(p), signal_message(sys.killedBy));
      return true;
    case RUN_THREW:
      if (!exit1(p, td, W_EXITCODE(0, SIGABRT))) return false;
      why_killed.set(why_key(p), run.why);
      return true;
    default:
      return false;   // RUN_EXITED: exit1 has run already (exit(), or another thread's)
  }
}

/*
 * proc_main: the main thread of p (attached already): run the program, then end the
 * process (see the file header).  Returns what the host's join gets: the program's
 * return value, exit()'s status, or an ExecKilled record.  Blocks.
 */
function* proc_main(p: Ptr, fn: ProgramFn, args: unknown[], what: string, handlers: Handlers | null): Blocking<unknown> {
  const td = curthread();
  const pid = k32[p + PROC.p_pid];
  const w = zalloc(Z_KMALLOC256);
  let run: RunResult = { how: RUN_THREW, value: undefined, why: 'killed: no memory for its system-call area' };
  let first: boolean;
  if (w === NULL) {
    first = exit1(p, td, W_EXITCODE(0, SIGABRT));
    if (first) why_killed.set(why_key(p), run.why);
  } else {
    const sys = exec_image(p, td, w, handlers !== null ? handlers.slice() : []);
    run = yield* run_program(sys, fn, args);
    first = run_exit1(p, td, sys, run);
    yield* proc_exit_wait(p);
    zfree(Z_KMALLOC256, sys.release());
  }
  if (w === NULL) yield* proc_exit_wait(p);
  const xstat = k32[p + PROC.p_xstat];
  const why = why_killed.get(why_key(p));
  why_killed.delete(why_key(p));
  proc_detach_thread(p, td);
  yield* proc_exit(p);
  if (WIFSIGNALED(xstat)) {
    const sig = WTERMSIG(xstat);
    return killed(pid, sig, `process ${pid} (${what}) ${why ?? signal_message(sig)}`);
  }
  return first && run.how === RUN_RETURNED ? run.value : WEXITSTATUS(xstat);
}

/*
 * proc_thread: a thread() thread of p in join slot `slot`: run fn, then leave its result
 * (copied: kern_exec_args.ts) for join.  A thread that throws, or that a signal kills,
 * takes the process down with it.  Blocks.
 */
function* proc_thread(p: Ptr, slot: number, fn: ProgramFn, args: unknown[], handlers: Handlers | null): Blocking<unknown> {
  const td = curthread();
  const w = zalloc(Z_KMALLOC256);
  let res = NULL;
  if (w === NULL) {
    if (exit1(p, td, W_EXITCODE(0, SIGABRT))) why_killed.set(why_key(p), 'killed: a thread had no memory for its system-call area');
  } else {
    const sys = exec_image(p, td, w, handlers ?? []);
    const run = yield* run_program(sys, fn, args);
    if (run.how === RUN_RETURNED) {
      res = exec_args_copyin(run.value);
      if (res < 0) {
        const e = -res;
        res = NULL;
        run.how = RUN_THREW;
        run.why = `killed: a thread's result cannot be returned to join (${e === E2BIG ? 'larger than ARG_MAX' :
          e === EINVAL ? 'not representable as JSON' : 'no memory'})`;
      }
    }
    if (run.how !== RUN_RETURNED) run_exit1(p, td, sys, run);
    zfree(Z_KMALLOC256, sys.release());
  }
  thread_done(p, slot, res);
  proc_detach_thread(p, td);
  wakeup(exit_chan(p));
  return undefined;
}

exec_set_bodies({
  main: (p, fn, args, name, handlers) => proc_main(p, fn, args, name, handlers) as ThreadGen,
  thread: (p, slot, fn, args, handlers) => proc_thread(p, slot, fn, args, handlers) as ThreadGen,
});

/*
 * proc_exec: the body of a process the host starts (see the file header).  Returns the
 * program's return value, or an ExecKilled record.  Blocks.
 */
export function* proc_exec(fn: ProgramFn, uid: number, args: unknown[], what: string): Blocking<unknown> {
  const td = curthread();
  const p = proc_create(uid, uid);
  if (p === NULL) return killed(0, 0, `${what}: no memory for a process`);
  const pid = k32[p + PROC.p_pid];
  proc_attach_thread(p, td);        // a new process has room for its first thread
  const w = zalloc(Z_KMALLOC256);
  const e = w === NULL ? ENOMEM : yield* console_open(p, w);
  if (w !== NULL) zfree(Z_KMALLOC256, w);
  if (e !== 0) {
    proc_detach_thread(p, td);
    yield* proc_exit(p);
    return killed(pid, 0, `process ${pid} (${what}) could not start: errno ${e}`);
  }
  return yield* proc_main(p, fn, args, what, null);
}

export { SIGNAMES } from '../sys/proc.js';
