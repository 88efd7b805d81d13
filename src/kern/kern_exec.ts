/*
 * kern_exec.ts: starting a process from a program, and ending it.
 * Stands for what DragonFly 2008 does between fork1 and exit1 for a new program:
 * kern_execve's image activation (here: calling a module's generator function with a
 * Sys object and its arguments), init's opening of /dev/console on descriptors 0, 1 and
 * 2, and exit1 when main returns.  Named after kern_exec.c because that is where a
 * program's image becomes the running process.
 *
 * proc_exec is the generator an LWKT thread of priority TDPRI_USER_NORM runs (the
 * machine's spawnProcess creates it): it makes the process (proc_create with the uid as
 * real, effective and saved uid and gid), attaches itself, opens the console (falloc,
 * then dup to 1 and 2), runs the program, and exits the process (proc_exit closes every
 * descriptor).  A program that throws, or that a signal's default action terminates, is
 * killed: the wrapper catches the exception inside the thread (a kernel thread that
 * throws would panic the machine, cpu_resume), exits the process the same way and
 * returns a kill record instead of a value, which the host's join turns into a rejected
 * join (an Error naming the exception or signal, never a PanicError).  A KernelPanic
 * passing through the program is not a program error: it is re-thrown.
 *
 * Differs: no image, no address space, no argv/envp in memory (the arguments are the
 * generator's); the program's yields must be the kernel's effects (it may only yield*
 * the Sys calls): anything else kills it; the exit status is the program's return value
 * (any structured-cloneable value, not an int).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EFF_SPIN, EFF_STEP, EFF_SWITCH, type Blocking, type Effect } from '../../shared/effect.js';
import { ENOMEM } from '../../shared/errno.js';
import { zalloc, zfree, Z_KMALLOC256 } from '../../shared/zone.js';
import { curthread } from '../lwkt/globaldata.js';
import { DTYPE_CONSOLE, FILE, FREAD, FWRITE } from '../sys/file.js';
import { PROC } from '../sys/proc.js';
import { Sys } from '../sys/sys.js';
import { ProcessKilled, SIGNAMES } from '../sys/errors.js';
import { DUP_FIXED, falloc, fdrop, fsetfd, kern_dup } from './kern_descrip.js';
import { proc_attach_thread, proc_create, proc_detach_thread, proc_exit } from './kern_proc.js';
import { consoleops } from './sys_console.js';

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

export type ProgramFn = (sys: Sys, ...args: unknown[]) => unknown;

/* Is fn a generator function (checked before a process is made for it)? */
export function is_program(fn: unknown): fn is ProgramFn {
  return typeof fn === 'function' && Object.prototype.toString.call(fn) === '[object GeneratorFunction]';
}

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
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try { return `a ${typeof e}: ${String(e)}`; } catch { return `a ${typeof e}`; }
}

function killed(pid: number, signal: number, message: string): ExecKilled {
  return { [EXEC_KILLED]: true, pid, signal, message };
}

/*
 * proc_exec: the body of a process's main thread (see the file header).  Returns the
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
  if (e !== 0) {
    if (w !== NULL) zfree(Z_KMALLOC256, w);
    proc_detach_thread(p, td);
    yield* proc_exit(p);
    return killed(pid, 0, `process ${pid} (${what}) could not start: errno ${e}`);
  }
  const sys = new Sys(p, td, w);
  let result: unknown;
  let why: string | null = null;
  try {
    const gen = fn(sys, ...args) as Generator<unknown, unknown, unknown>;
    let v: unknown = undefined;
    for (;;) {
      const r = gen.next(v);
      if (r.done === true) { result = r.value; break; }
      if (r.value !== EFF_SWITCH && r.value !== EFF_STEP && r.value !== EFF_SPIN) {
        throw new TypeError(`program yielded ${String(r.value)}: a program may only yield* the Sys calls`);
      }
      v = yield r.value as Effect;
    }
  } catch (e) {
    if (e instanceof Error && (e.name === 'KernelPanic' || e.name === 'KernelHalt')) throw e;
    why = e instanceof ProcessKilled ? e.message : `killed: program threw ${describe(e)}`;
  }
  if (sys.killedBy !== 0) why = new ProcessKilled(sys.killedBy).message;
  zfree(Z_KMALLOC256, sys.release());
  proc_detach_thread(p, td);
  yield* proc_exit(p);
  if (why === null) return result;
  return killed(pid, sys.killedBy, `process ${pid} (${what}) ${why}`);
}

export { SIGNAMES };
