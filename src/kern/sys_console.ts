/*
 * sys_console.ts: the console, a character-device file type (DTYPE_CONSOLE).  Every
 * process starts with descriptors 0, 1 and 2 open on it (kern_exec.ts).
 * Stands for DragonFly 2008's /dev/console (a tty vnode behind vn_read/vn_write), cut
 * down to what a simulated program needs: fo_write appends the bytes to the machine's
 * console output, which the host reads (Machine.console(), each line labelled with the
 * writer's pid); fo_read is EOF; fo_poll and fo_kqfilter are a tty's with nothing typed
 * (writable, never readable); fo_shutdown is EOPNOTSUPP (DragonFly's kern_shutdown takes
 * any file, and a device vnode's is nofo_shutdown); the other socket calls on it are
 * ENOTSOCK (holdsock).
 *
 * Differs: there is no tty and no kmem ring.  Output leaves the kernel at once through a
 * per-CPU sink the engine attaches (console_attach): the deterministic engine appends to
 * the host's buffer directly, the parallel engine posts the bytes on the CPU's events
 * port, ahead of any later thread exit, so a join sees all output written before it.
 * Writes never block and never fail for lack of room (a sink with no host attached
 * drops the bytes, as a console with no terminal does).
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { done_num, type Blocking } from '../../shared/effect.js';
import { ENOTTY, EOPNOTSUPP } from '../../shared/errno.js';
import { curthread, mycpu } from '../lwkt/globaldata.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import { TD } from '../lwkt/thread.js';
import { FILE, FIOASYNC, FIONBIO, FNONBLOCK, FASYNC, type Fileops } from '../sys/file.js';
import { PROC } from '../sys/proc.js';
import { STAT, S_IFCHR } from '../sys/stat.js';
import { POLLOUT, POLLWRNORM } from '../sys/poll.js';
import { fileops_register } from './kern_descrip.js';
import { FIONREAD } from './sys_socket.js';
import { knote_fpclose, ttykqfilter } from './kern_event.js';
import { cons_klist } from './uipc_socket2.js';
import type { Uio } from './uipc_socket.js';

/* Where one CPU's console output goes: (pid of the writer, a copy of the bytes). */
export type ConsoleSink = (pid: number, bytes: Uint8Array) => void;

const sinks = new WeakMap<Globaldata, ConsoleSink>();

/* The engine attaches a sink to each CPU it brings up. */
export function console_attach(gd: Globaldata, sink: ConsoleSink): void { sinks.set(gd, sink); }

function curpid(): number {
  const p = k32[curthread() + TD.td_proc];
  return p === NULL ? 0 : k32[p + PROC.p_pid];
}

/* Set or clear bits of f_flag by CAS (fcntl changes other bits concurrently). */
function f_flag_change(fp: Ptr, bits: number, on: boolean): void {
  for (;;) {
    const o = Atomics.load(k32, fp + FILE.f_flag);
    const n = on ? o | bits : o & ~bits;
    if (Atomics.compareExchange(k32, fp + FILE.f_flag, o, n) === o) return;
  }
}

/* cn_read: end of file, always (no keyboard). */
function cn_read(_fp: Ptr, _uio: Uio, _cred: Ptr, _flags: number): Blocking<number> { return done_num(0); }

/* cn_write: the whole uio goes to this CPU's console sink.  Never blocks. */
function cn_write(_fp: Ptr, uio: Uio, _cred: Ptr, _flags: number): Blocking<number> {
  const n = uio.resid;
  if (n > 0) {
    const sink = sinks.get(mycpu);
    if (sink !== undefined) sink(curpid(), uio.buf.slice(uio.offset, uio.offset + n));
    uio.offset += n;
    uio.resid = 0;
  }
  return done_num(0);
}

/* cn_ioctl: FIONBIO and FIOASYNC set the file flags (nothing else to do), FIONREAD is 0. */
function cn_ioctl(fp: Ptr, cmd: number, data: Ptr, _cred: Ptr): Blocking<number> {
  switch (cmd) {
    case FIONBIO: f_flag_change(fp, FNONBLOCK, k32[data] !== 0); return done_num(0);
    case FIOASYNC: f_flag_change(fp, FASYNC, k32[data] !== 0); return done_num(0);
    case FIONREAD: k32[data] = 0; return done_num(0);
    default: return done_num(ENOTTY);
  }
}

/*
 * cn_poll (ttypoll): always writable (output never queues), never readable: nothing is
 * ever typed.  A tty records a reader in t_rsel for the keyboard's selwakeup; here no
 * input will ever come, so there is nothing to record: a select for reading on the
 * console waits for its timeout or a signal, as on a terminal nobody types at.
 */
function cn_poll(_fp: Ptr, events: number, _cred: Ptr): Blocking<number> {
  return done_num(events & (POLLOUT | POLLWRNORM));
}

/* cn_kqfilter: the tty filters (kern_event.ts): EVFILT_READ never fires, EVFILT_WRITE always holds. */
function cn_kqfilter(_fp: Ptr, kn: Ptr): number { return ttykqfilter(kn); }

function cn_stat(_fp: Ptr, sb: Ptr, _cred: Ptr): Blocking<number> {
  for (let i = 0; i < STAT.SIZE; i++) k32[sb + i] = 0;
  k32[sb + STAT.st_mode] = S_IFCHR | 0o620;
  return done_num(0);
}

/* cn_close: the file's knotes go (the console itself stays). */
function cn_close(fp: Ptr): Blocking<number> {
  knote_fpclose(cons_klist(), fp);
  return done_num(0);
}

function cn_shutdown(_fp: Ptr, _how: number): Blocking<number> { return done_num(EOPNOTSUPP); }

export const consoleops: Fileops = {
  fo_name: 'consoleops', fo_id: 0,
  fo_read: cn_read, fo_write: cn_write, fo_ioctl: cn_ioctl, fo_poll: cn_poll, fo_kqfilter: cn_kqfilter,
  fo_stat: cn_stat, fo_close: cn_close, fo_shutdown: cn_shutdown,
};
fileops_register(consoleops);
