/*
 * sys/errors.ts: what a failing system call throws in a simulated program (sys/sys.ts):
 * a SysError with the errno's name as `code` (as Node names its errors), the BSD number
 * as `errno` and the call's name as `syscall`.
 */

import { errno_name } from '../../shared/errno.js';
import { SIGNAMES, signal_message } from '../sys/proc.js';

export class SysError extends Error {
  override name = 'SysError';
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, errno: number) {
    const code = errno_name(errno);
    super(`${syscall}: ${code} (errno ${errno})`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/*
 * Thrown through a program when a signal's default action terminates its process (at
 * the return from a system call, where the kernel would deliver it).  The program may
 * catch it, but cannot survive it: every later system call throws it again, and the
 * process is recorded as killed by the signal however the program ends.
 */
export class ProcessKilled extends Error {
  override name = 'ProcessKilled';
  readonly signal: number;
  constructor(sig: number) {
    super(signal_message(sig));
    this.signal = sig;
  }
}

/*
 * Thrown through a program's thread when its process is exiting: by exit() in the thread
 * that calls it, and at the return from a system call in every other thread once exit1
 * has run (a thread of DragonFly's killalllwps).  Like ProcessKilled it cannot be
 * survived: every later system call throws it again.
 */
export class ProcessExit extends Error {
  override name = 'ProcessExit';
  constructor() {
    super('process is exiting');
  }
}

export { SIGNAMES };
