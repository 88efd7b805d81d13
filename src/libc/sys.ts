/*
 * sys/sys.ts: the system-call interface of a simulated process.  A program is a
 * generator function `function* main(sys: Sys, ...args)` started by
 * Machine.spawnProcess (kern/kern_exec.ts); it calls the kernel with `yield* sys.call()`.
 * Each method is the user half of one system call and its return path: it checks the
 * arguments a C library could not have made (a buffer that is not a Uint8Array is
 * EFAULT, a bad length or enum EINVAL, a descriptor that is not a small non-negative
 * integer EBADF), calls the kernel half (uipc_syscalls.ts, kern_descrip.ts, ...),
 * delivers pending signals as the syscall return path does (userret: a caught signal
 * runs its handler; a signal whose default action terminates kills the process), then
 * restarts the call on ERESTART, or throws SysError for any other errno.
 *
 * Differs from C:
 *  - The results C returns through user pointers come back as values (accept's fd,
 *    socketpair's [fd0, fd1], FIONREAD's count, getsockname's path); recvfrom returns
 *    [bytes, sender path or null].
 *  - Addresses are AF_LOCAL paths (strings, UTF-8, at most SUN_NAME_MAX = 253 bytes: the
 *    longest a sockaddr_un of SOCK_MAXADDRLEN bytes holds, as a C caller gets by passing
 *    an oversized one), the only domain with names here; getsockname, getpeername and
 *    recvfrom give the whole path, as to a caller with a SOCK_MAXADDRLEN buffer.  A raw
 *    sockaddr (Uint8Array) may stand for a path where one is passed, and the calls that
 *    return an address give its bytes with { raw: true } (docs/syscalls.md).
 *    File-system paths are at most PATH_ROOM bytes (less than MAXPATHLEN: one scratch
 *    item holds them).
 *  - Socket option values are ints, or objects for the two structs (Linger, Timeval).
 *  - A signal handler is a JS function run in the program at the return from the next
 *    system call; SIGSTOP and the other stop signals are ignored (no job control).
 *  - kill() takes a pid > 0 only (no process groups or broadcast).
 *  - The kmem the calls need (result words, a struct sockopt, a struct rlimit, a
 *    sockaddr_un or a path) is one kmalloc256 item per process, allocated at exec and
 *    freed at exit; the Uio is one per process.  A call allocates no kmem of its own
 *    beyond what the kernel half does.
 */

import { k32, ku8, kf64 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { done_count, done_num, done_value, is_done, type Blocking } from '../../shared/effect.js';
import { Cont, FINISHED } from '../../shared/cont.js';
import {
  EBADF, EDOM, EFAULT, EINTR, EINVAL, ENAMETOOLONG, ENOEXEC, ENOTTY, EPERM, EPIPE, ERESTART, ESRCH, EWOULDBLOCK,
} from '../../shared/errno.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { CURSIG, PCATCH, lwkt_signal, lwkt_sigtake, sigbit, tsleep } from '../lwkt/kern_synch.js';
import { lwkt_yield } from '../lwkt/lwkt_thread.js';
import { HZ } from '../../shared/param.js';
import { DTYPE_SOCKET, FILE, FIOASYNC, FIONBIO, FREAD, FWRITE, F_DUPFD, F_GETFD, F_GETFL, F_GETOWN, F_SETFD, F_SETFL, FD_CLOEXEC, O_NONBLOCK } from '../sys/file.js';
import {
  KERN, NSIG, PROC, RLIMIT, RLIMIT_NOFILE, RLIM_NLIMITS, SACTIVE, SA_RESTART, SIGACTS, SIGPIPE, SIGPROP_IGNORE,
  SIGSTOP, SIG_CATCH, SIG_DFL, SIG_IGN, UCRED, P_WEXIT, WNOHANG, W_EXITCODE, kern_globals,
} from '../sys/proc.js';
import { AF_LOCAL, LOCAL_PEERCRED, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_PEEK, SOCK_CLOEXEC, SOCK_NONBLOCK, SOL_SOCKET, SO_ACCEPTFILTER, SOMAXCONN, SO_LINGER, SO_NOSIGPIPE, SO_RCVTIMEO, SO_SNDTIMEO, SOCK_MAXADDRLEN, SUN_NAME_MAX } from '../sys/socket.js';
import { SO } from '../sys/socketvar.js';
import { XUCRED } from '../sys/unpcb.js';
import { STAT } from '../sys/stat.js';
import { SysError, ProcessExit, ProcessKilled } from './errors.js';
import { syscall_install, type Trap } from './syscall.js';
import {
  fdcloseexec, fdrop, fileops_of, kern_closefrom, holdfp, kern_close, kern_dup, kern_fstat, kern_fcntl, DUP_FIXED, DUP_VARIABLE,
} from '../kern/kern_descrip.js';
import { execsigs, fork1, psignal, kern_sigaction, pfind_locked, lwpfind_locked } from '../kern/kern_proc.js';
import { exit1, kern_getppid, kern_wait, proc_abandon } from '../kern/kern_exit.js';
import {
  ER_FORK, ER_SPAWN, ER_THREAD, exec_request, is_program, kern_thread_join, thread_reserve, thread_unreserve,
  type Handlers, type ProgramFn,
} from '../kern/kern_fork.js';
import { exec_args_copyout, exec_args_free } from '../kern/kern_exec_args.js';
import { exec_set_image } from '../kern/kern_exec.js';
import { SCM_RIGHTS, cmsg_copyin, cmsg_copyin_raw, cmsg_copyout, cmsg_copyout_raw, cmsg_rights, type Cmsg } from '../kern/uipc_cmsg.js';
import { ACCEPT_FILTER_ARG_BYTES, ACCF_NAME_BYTES } from '../kern/uipc_accf.js';
import { LIO_READ, LIO_WRITE, aio_aqueue, aio_cancel, aio_error, aio_return, aio_suspend } from '../kern/vfs_aio.js';
import { m_freem } from '../kern/uipc_mbuf.js';
import { mycpu } from '../lwkt/globaldata.js';
import { TD } from '../lwkt/thread.js';
import { ncpus } from '../../shared/cpu.js';
import { getuid, geteuid, setuid } from '../kern/kern_prot.js';
import { kern_getrlimit, kern_setrlimit } from '../kern/kern_resource.js';
import { kernel_sysctl } from '../kern/kern_sysctl.js';
import { FIONREAD, FIOGETOWN, FIOSETOWN, SIOCATMARK } from '../kern/sys_socket.js';
import { SOPT, SOPT_GET, SOPT_SET, UIO_READ, UIO_WRITE, Uio } from '../kern/uipc_socket.js';
import { free_sockaddr } from '../kern/uipc_socket2.js';
import {
  kern_accept, kern_bind, kern_connect, kern_getpeername, kern_getsockname, kern_getsockopt, kern_listen,
  kern_recvmsg, kern_sendmsg, kern_setsockopt, kern_shutdown, kern_socket, kern_socketpair,
} from '../kern/uipc_syscalls.js';
import { kern_chmod, kern_mkdir, kern_rmdir, kern_unlink } from '../kern/vfs_unixsock.js';
import '../kern/uipc_usrreq.js';     // AF_LOCAL registers itself in every isolate that runs programs
import { FD_SETSIZE, INFTIM, PFD_EVENTS, PFD_FD, PFD_REVENTS, POLLFD_INTS, type PollFd, type SelectResult } from '../sys/poll.js';
import { KEVENT, KEVENT_INTS, type Kevent, type Timespec } from '../sys/event.js';
import { NDFILE_MAX } from '../sys/file.js';
import { SEL_WORDS, kern_poll, kern_select } from '../kern/sys_generic.js';
import { Kevlist, kern_kevent, kern_kqueue } from '../kern/kern_event.js';
import { p_rlimit_cur } from '../kern/kern_resource.js';

/* ---- the per-process scratch item (kmalloc256: 256 words) ---- */

export const SCRATCH_WORDS = 256;
const S_RES = 0;          // a result word; socketpair's second fd at S_RES + 1
const S_NAME = 2;         // getsockname/getpeername: the sockaddr pointer
const S_NAMELEN = 3;      //   and its length
const S_PSA = 4;          // recvfrom: the sender's sockaddr pointer
const S_FLAGS = 5;        // recvmsg's flags in and out
const S_INT = 6;          // an ioctl's int argument
const S_OPTVAL = 7;       // a socket option's value: an int, or two (struct linger, struct timeval)
const S_RLIM = 8;         // struct rlimit (4 words, on an even word: see rlim()); overlaps S_OPTVAL + 1
const S_SLEEP = 13;       // sleep()'s wait channel
const S_SOPT = 14;        // struct sockopt
const S_CTL = 31;         // recvmsg: the control mbufs
const S_PATH = 32;        // a sockaddr_un or a path, to the end of the item
export const PATH_ROOM = (SCRATCH_WORDS - S_PATH) * 4;

if (S_SOPT + SOPT.SIZE > S_CTL || S_RLIM + RLIMIT.SIZE + 1 > S_SOPT) throw new Error('sys: scratch layout overlaps');

/* The stop signals: their default action (stop) is ignored here. */
const SIGPROP_STOP = sigbit(SIGSTOP) | sigbit(18) | sigbit(21) | sigbit(22);

/* The ioctls a program may make. */
const IOCTLS = new Set([FIONBIO, FIOASYNC, FIONREAD, FIOSETOWN, FIOGETOWN, SIOCATMARK]);

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/* AF_MAX of DragonFly 2008's sys/socket.h (AF_IEEE80211 35 the last): getsockaddr's COMPAT_43 fix-up bound. */
const AF_MAX = 36;

/* The path in a raw sockaddr_un's bytes (to sun_len or a NUL). */
function decode_sun(b: Uint8Array): string {
  let end = 2;
  const lim = Math.min(b.length, b[0] ?? 0);
  while (end < lim && b[end] !== 0) end++;
  return end > 2 ? decoder.decode(b.subarray(2, end)) : '';
}

/* What a Sys.IoWait continues. */
const IO_SEND = 0;
const IO_RECV = 1;
const IO_READ = 2;
const IO_WRITE = 3;

function fd_ok(fd: unknown): fd is number {
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff;
}
/* io_len's byte count without its throw: -1 where io_len would refuse the call. */
function io_len_ok(buf: unknown, len: unknown): number {
  if (!(buf instanceof Uint8Array)) return -1;
  if (len === undefined) return buf.length;
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > buf.length) return -1;
  return len;
}

/* A read or write interrupted after moving data succeeds with the short count. */
function rw_short(e: number, moved: number): number {
  return e !== 0 && moved !== 0 && (e === ERESTART || e === EINTR || e === EWOULDBLOCK) ? 0 : e;
}
function int_ok(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}

/* A program or thread body: a generator function taking the Sys object first. */
export type Program = (sys: Sys, ...args: never[]) => Blocking<unknown>;
export type { ProgramFn };
export type SigHandler = typeof SIG_DFL | typeof SIG_IGN | typeof SIG_CATCH | ((sig: number) => void);

/* fstat's answer: struct stat's fields the kernel fills (sys/stat.h names, without st_). */
export interface Stat {
  dev: number; ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number;
  size: number; blksize: number; blocks: number;
}

export interface Rlimit { cur: number; max: number }

/* struct linger (SO_LINGER): linger on close for up to `linger` seconds when onoff. */
export interface Linger { onoff: number; linger: number }
/* struct timeval (SO_SNDTIMEO, SO_RCVTIMEO). */
export interface Timeval { sec: number; usec: number }

/* struct accept_filter_arg (SO_ACCEPTFILTER): the filter's name ('dataready', 'httpready') and its argument. */
export interface AcceptFilterArg { name: string; arg?: string }

/* What getsockopt gives for option N: the structs for SO_LINGER, the timeouts and SO_ACCEPTFILTER, else an int. */
export type OptValue<N extends number> = N extends typeof SO_LINGER ? Linger
  : N extends typeof SO_SNDTIMEO | typeof SO_RCVTIMEO ? Timeval
  : N extends typeof SO_ACCEPTFILTER ? Required<AcceptFilterArg> : number;

const OPT_INT = 0, OPT_LINGER = 1, OPT_TIMEVAL = 2;
function opt_shape(name: number): number {
  return name === SO_LINGER ? OPT_LINGER : name === SO_SNDTIMEO || name === SO_RCVTIMEO ? OPT_TIMEVAL : OPT_INT;
}

/* sendmsg's message. */
export interface MsgOut {
  buf?: Uint8Array;    // the data (default none)
  len?: number;        // bytes of buf to send (default all)
  path?: string | Uint8Array | null; // the destination (default: the connected peer); Uint8Array: a raw sockaddr
  control?: Cmsg[] | Uint8Array;    // control messages; Uint8Array: raw msg_control bytes (cmsg_build)
}
/* recvmsg's options and result. */
export interface RecvmsgOptions { flags?: number; len?: number; controlLen?: number; rawAddr?: boolean; rawControl?: boolean }
/* addr: with rawAddr, the sender's sockaddr bytes (null when none). */
/* controlBytes: with rawControl, msg_control as recvit copies it out (control is then []). */
export interface MsgIn {
  bytes: number; path: string | null; flags: number; control: Cmsg[]; addr?: Uint8Array | null; controlBytes?: Uint8Array;
}

/* spawn's options. */
export interface SpawnOptions {
  cpu?: number;        // the CPU its first thread runs on (default: the caller's)
  uid?: number;        // its real, effective and saved uid (default: the caller's credentials)
  args?: unknown[];    // the program's arguments after sys (copied: JSON)
  name?: string;       // its thread's name (default: the function's)
}

/* thread's options. */
export interface ThreadOptions {
  cpu?: number;        // the CPU it runs on (default: the caller's)
  args?: unknown[];    // fn's arguments after sys (copied: JSON)
}

/* The process pid, if it is active (not a zombie), or NULL; kg_proc_spin held. */
function pfind_active_locked(pid: number): Ptr {
  const q = pfind_locked(pid);
  return q !== NULL && k32[q + PROC.p_stat] === SACTIVE ? q : NULL;
}

export class Sys {
  private readonly p: Ptr;
  private readonly td: Ptr;
  private w: Ptr;
  private readonly uio = new Uio();
  /* The process's handlers, shared by its threads in this isolate (kern_fork.ts). */
  private readonly handlers: Handlers;
  /* The signal that killed the process (its default action) in this thread, or 0. */
  killedBy = 0;
  /* This thread has seen its process exit (exit(), or P_WEXIT at a return to user mode). */
  exited = false;
  /* The system-call trap's state (syscall.ts). */
  trap_depth = 0;
  readonly trap_stack: Trap[] = [];

  /* Made by kern_exec for thread td of process p, with its scratch item w. */
  constructor(p: Ptr, td: Ptr, w: Ptr, handlers: Handlers) {
    this.p = p;
    this.td = td;
    this.w = w;
    this.handlers = handlers;
  }

  /* kern_exec, at exit: the scratch item goes back (the caller frees it). */
  release(): Ptr {
    const w = this.w;
    this.w = NULL;
    return w;
  }

  /* ---- the return path ---- */

  /*
   * userret: end the thread if its process is exiting (ProcessExit); else deliver the
   * pending unblocked signals: a caught one runs its handler, an ignored one is dropped,
   * one whose default action terminates kills the process.
   */
  private userret(): void {
    if (this.killedBy !== 0) throw new ProcessKilled(this.killedBy);
    if (this.w === NULL) throw new Error('sys: the process has exited');
    if ((k32[this.p + PROC.p_flag] & P_WEXIT) !== 0) {
      this.exited = true;
      throw new ProcessExit();
    }
    const ps = this.p + PROC.p_sigacts;
    for (let sig = CURSIG(this.td); sig !== 0; sig = CURSIG(this.td)) {
      lwkt_sigtake(this.td, sig);
      const bit = sigbit(sig);
      if ((k32[ps + SIGACTS.ps_sigignore] & bit) !== 0) continue;
      if ((k32[ps + SIGACTS.ps_sigcatch] & bit) !== 0) {
        const h = this.handlers[sig];
        if (h !== undefined) h(sig);
        continue;
      }
      if (((SIGPROP_IGNORE | SIGPROP_STOP) & bit) !== 0) continue;
      this.killedBy = sig;
      throw new ProcessKilled(sig);
    }
  }

  /* Would userret() do nothing now (no kill, exit or signal pending)?  The plain fast paths' test. */
  private quiet(): boolean {
    return this.killedBy === 0 && this.w !== NULL && (k32[this.p + PROC.p_flag] & P_WEXIT) === 0 &&
      CURSIG(this.td) === 0;
  }

  /* The end of a call with errno e: signals delivered; true to restart (ERESTART); throws SysError. */
  private ret(syscall: string, e: number): boolean {
    this.userret();
    if (e === 0) return false;
    if (e === ERESTART) return true;
    throw new SysError(syscall, e);
  }

  /* A call refused before it reached the kernel. */
  private fail(syscall: string, e: number): never {
    this.userret();
    throw new SysError(syscall, e);
  }

  private rlim(): Ptr { return this.w + S_RLIM + (this.w & 1); }

  /* Write s into the scratch item's path area (UTF-8); returns its byte length, or -errno. */
  private put_path(s: unknown, max: number, at: number): number {
    if (typeof s !== 'string') return -EFAULT;
    const dst = ku8.subarray(at, at + PATH_ROOM - (at - (this.w + S_PATH) * 4));
    const n = s.length <= 32 && /^[\x01-\x7f]*$/.test(s) ? ascii_into(s, dst) : utf8_into(s, dst);
    if (n < 0 || n > max) return -ENAMETOOLONG;
    return n;
  }

  /* A sockaddr_un for path in the scratch item: its byte address, or -errno. */
  private sun(path: unknown): number {
    const a = (this.w + S_PATH) * 4;
    ku8.fill(0, a, a + SOCK_MAXADDRLEN);
    const n = this.put_path(path, SUN_NAME_MAX, a + 2);
    if (n < 0) return n;
    ku8[a] = 2 + n;
    ku8[a + 1] = AF_LOCAL;
    return a;
  }

  /*
   * An address for the kernel in the scratch item: a path (sun()), or a raw sockaddr (a
   * Uint8Array of namelen = its length bytes, as a C caller passes one) copied as
   * getsockaddr copies it: ENAMETOOLONG above SOCK_MAXADDRLEN, EDOM below the 2-byte
   * header, family 0 with sa_len < AF_MAX taken as sa_len (the COMPAT_43 fix-up), and
   * sa_len forced to namelen.  Nothing checks the family (dragonfly.md 4.15).
   */
  private addr(a: unknown): number {
    if (!(a instanceof Uint8Array)) return this.sun(a);
    const len = a.length;
    if (len > SOCK_MAXADDRLEN) return -ENAMETOOLONG;
    if (len < 2) return -EDOM;
    const at = (this.w + S_PATH) * 4;
    ku8.set(a, at);
    if (ku8[at + 1] === 0 && ku8[at] < AF_MAX) ku8[at + 1] = ku8[at];
    ku8[at] = len;
    return at;
  }

  /* The bytes of a kernel sockaddr, at most its sa_len and room (then freed). */
  private take_sockaddr_raw(sa: number, room = SOCK_MAXADDRLEN): Uint8Array {
    const bytes = ku8.slice(sa, sa + Math.min(ku8[sa], room));
    free_sockaddr(sa);
    return bytes;
  }

  /* The path of a kernel sockaddr (then freed); '' for an unnamed one. */
  private take_sockaddr(sa: number): string {
    let end = sa + 2;
    const lim = sa + ku8[sa];
    while (end < lim && ku8[end] !== 0) end++;
    const bytes = new Uint8Array(end - sa - 2);
    bytes.set(ku8.subarray(sa + 2, end));
    free_sockaddr(sa);
    return decoder.decode(bytes);
  }

  /* ---- sockets ---- */

  /*
   * socket / socketpair: type may carry SOCK_NONBLOCK and SOCK_CLOEXEC (beyond DragonFly
   * 2008: FreeBSD 10, DragonFly 3.x), applied to the new descriptors before the call
   * returns (by F_SETFL / F_SETFD, so another thread could see them without the flags
   * for a moment; FreeBSD sets them atomically).
   */
  *socket(domain: number, type: number, protocol = 0): Blocking<number> {
    const sf = int_ok(type) ? type & (SOCK_NONBLOCK | SOCK_CLOEXEC) : 0;
    for (;;) {
      const e = yield* kern_socket(domain, int_ok(type) ? type & ~sf : type, protocol, this.w + S_RES);
      const fd = k32[this.w + S_RES];
      if (e === 0 && sf !== 0) yield* this.sock_flags(fd, sf, false);
      if (!this.ret('socket', e)) return fd;
    }
  }

  *socketpair(domain: number, type: number, protocol = 0): Blocking<[number, number]> {
    const sf = int_ok(type) ? type & (SOCK_NONBLOCK | SOCK_CLOEXEC) : 0;
    for (;;) {
      const e = yield* kern_socketpair(domain, int_ok(type) ? type & ~sf : type, protocol, this.w + S_RES);
      const fds: [number, number] = [k32[this.w + S_RES], k32[this.w + S_RES + 1]];
      if (e === 0 && sf !== 0) for (const fd of fds) yield* this.sock_flags(fd, sf, false);
      if (!this.ret('socketpair', e)) return fds;
    }
  }

  /*
   * SOCK_CLOEXEC and SOCK_NONBLOCK on a new descriptor: close-on-exec, and O_NONBLOCK
   * (pushed to the socket as FIONBIO).  With setfl false, O_NONBLOCK is left alone when
   * not asked for; accept4 passes true, so its socket gets only what flags ask for.
   */
  private *sock_flags(fd: number, flags: number, setfl: boolean): Blocking<void> {
    if ((flags & SOCK_CLOEXEC) !== 0) yield* kern_fcntl(this.p, fd, F_SETFD, FD_CLOEXEC, this.w + S_INT);
    if (setfl || (flags & SOCK_NONBLOCK) !== 0) {
      yield* kern_fcntl(this.p, fd, F_SETFL, (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0, this.w + S_INT);
    }
  }

  /*
   * accept4: accept, with flags SOCK_NONBLOCK and SOCK_CLOEXEC (anything else EINVAL);
   * as FreeBSD's accept4 the new socket does not inherit the listener's O_NONBLOCK or
   * O_ASYNC: it is non-blocking exactly when SOCK_NONBLOCK is given.  Beyond DragonFly 2008.
   */
  *accept4(fd: number, flags: number): Blocking<number> {
    if (!int_ok(flags) || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) this.fail('accept4', EINVAL);
    for (;;) {
      const e = yield* kern_accept(fd, 0, NULL, NULL, this.w + S_RES);
      const nfd = k32[this.w + S_RES];
      if (e === 0) yield* this.sock_flags(nfd, flags, true);
      if (!this.ret('accept4', e)) return nfd;
    }
  }

  /* bind: to a path, or to a raw sockaddr (Uint8Array: see addr()). */
  *bind(fd: number, path: string | Uint8Array): Blocking<void> {
    for (;;) {
      const sa = this.addr(path);
      if (sa < 0) this.fail('bind', -sa);
      if (!this.ret('bind', yield* kern_bind(fd, sa))) return;
    }
  }

  *listen(fd: number, backlog: number = SOMAXCONN): Blocking<void> {
    for (;;) if (!this.ret('listen', yield* kern_listen(fd, backlog))) return;
  }

  /*
   * accept: the new descriptor; with opts.name, [fd, the peer's path] (pru_accept's name:
   * the client's, or sun_noname's empty path), with opts.raw, [fd, its sockaddr bytes].
   */
  accept(fd: number, opts?: { name?: false; raw?: false }): Blocking<number>;
  accept(fd: number, opts: { name: true; raw?: false }): Blocking<[number, string]>;
  accept(fd: number, opts: { raw: true }): Blocking<[number, Uint8Array]>;
  *accept(fd: number, opts: { name?: boolean; raw?: boolean } = {}): Blocking<number | [number, string | Uint8Array]> {
    const o = typeof opts === 'object' && opts !== null ? opts : {};
    const raw = o.raw === true, named = raw || o.name === true;
    for (;;) {
      k32[this.w + S_NAME] = NULL;
      k32[this.w + S_NAMELEN] = SOCK_MAXADDRLEN;
      const e = named ? yield* kern_accept(fd, 0, this.w + S_NAME, this.w + S_NAMELEN, this.w + S_RES)
        : yield* kern_accept(fd, 0, NULL, NULL, this.w + S_RES);
      const sa = e === 0 && named ? k32[this.w + S_NAME] : NULL;
      const addr = !named ? '' : raw ? (sa !== NULL ? this.take_sockaddr_raw(sa, k32[this.w + S_NAMELEN]) : new Uint8Array(0))
        : sa !== NULL ? this.take_sockaddr(sa) : '';
      if (!this.ret('accept', e)) return named ? [k32[this.w + S_RES], addr] : k32[this.w + S_RES];
    }
  }

  *connect(fd: number, path: string | Uint8Array): Blocking<void> {
    for (;;) {
      const sa = this.addr(path);
      if (sa < 0) this.fail('connect', -sa);
      if (!this.ret('connect', yield* kern_connect(fd, 0, sa))) return;
    }
  }

  /*
   * send, sendto, recv, read, write are plain dispatchers: when the arguments are good, the
   * kernel half does not block and succeeds, and no signal or exit is pending, the call
   * completes with no generator frame (done_count).  A first attempt that blocks, fails or
   * meets a pending signal goes on in this thread's IoWait continuation (no allocation);
   * arguments the plain path refuses, in the *_wait generator from the start.  Either
   * way a refused call throws only when it is run (yield*), as a generator method did.
   */

  /* send: the bytes of buf (all of it, or len) on a connected socket; the count sent. */
  send(fd: number, buf: Uint8Array, flags = 0, len?: number): Blocking<number> {
    return this.sendto_(fd, buf, flags, null, len, 'send');
  }

  /* sendto: to the socket bound at path (null: the connected peer). */
  sendto(fd: number, buf: Uint8Array, flags: number, path: string | Uint8Array | null, len?: number): Blocking<number> {
    return this.sendto_(fd, buf, flags, path, len, 'sendto');
  }

  private sendto_(fd: number, buf: Uint8Array, flags: number, path: string | Uint8Array | null, len: number | undefined,
      name: string): Blocking<number> {
    const n = io_len_ok(buf, len);
    if (n < 0 || !int_ok(flags) || path !== null) return this.sendto_wait(fd, buf, flags, path, len, name);
    const call = this.sendto_call(fd, buf, flags, null, n, name);
    if (!is_done(call) || done_value(call) !== 0 || !this.quiet()) return this.io_wait().start(this, IO_SEND, call, fd, buf, flags, n, name);
    return done_count(k32[this.w + S_RES]);
  }

  /* One kern_sendmsg of n bytes of buf. */
  private sendto_call(fd: number, buf: Uint8Array, flags: number, path: string | Uint8Array | null, n: number,
      name: string): Blocking<number> {
    let sa = NULL;
    if (path !== null) {
      sa = this.addr(path);
      if (sa < 0) this.fail(name, -sa);
    }
    k32[this.w + S_RES] = 0;
    return kern_sendmsg(fd, sa, buf, 0, n, NULL, flags, this.w + S_RES);
  }

  /* sendto_ from the start: arguments the plain path would not take. */
  private *sendto_wait(fd: number, buf: Uint8Array, flags: number, path: string | Uint8Array | null, len: number | undefined,
      name: string): Blocking<number> {
    const n = this.io_len(buf, len, name);
    if (!int_ok(flags)) this.fail(name, EINVAL);
    for (;;) {
      const e = yield* this.sendto_call(fd, buf, flags, path, n, name);
      if (!this.ret(name, e)) return k32[this.w + S_RES];
    }
  }

  /* recv: into buf (all of it, or len); the count received (0 at end of file). */
  recv(fd: number, buf: Uint8Array, flags = 0, len?: number): Blocking<number> {
    const n = io_len_ok(buf, len);
    if (n < 0 || !int_ok(flags)) return this.recv_wait(fd, buf, flags, len);
    const call = this.recv_call(fd, buf, flags, n);
    if (!is_done(call) || done_value(call) !== 0 || !this.quiet()) return this.io_wait().start(this, IO_RECV, call, fd, buf, flags, n, 'recv');
    return done_count(k32[this.w + S_RES]);
  }

  private recv_call(fd: number, buf: Uint8Array, flags: number, n: number): Blocking<number> {
    k32[this.w + S_RES] = 0;
    k32[this.w + S_FLAGS] = flags;
    return kern_recvmsg(fd, NULL, buf, 0, n, NULL, this.w + S_FLAGS, this.w + S_RES);
  }

  /* recv from the start: arguments the plain path would not take. */
  private *recv_wait(fd: number, buf: Uint8Array, flags: number, len: number | undefined): Blocking<number> {
    const n = this.io_len(buf, len, 'recv');
    if (!int_ok(flags)) this.fail('recv', EINVAL);
    for (;;) {
      const e = yield* this.recv_call(fd, buf, flags, n);
      if (!this.ret('recv', e)) return k32[this.w + S_RES];
    }
  }

  /*
   * recvfrom: as recv, with the sender's path ('' unnamed, null when the protocol gives
   * none); with opts.raw, the sender's sockaddr bytes instead (sa_len of them).
   */
  recvfrom(fd: number, buf: Uint8Array, flags?: number, len?: number, opts?: { raw?: false }): Blocking<[number, string | null]>;
  recvfrom(fd: number, buf: Uint8Array, flags: number, len: number | undefined, opts: { raw: true }): Blocking<[number, Uint8Array | null]>;
  *recvfrom(fd: number, buf: Uint8Array, flags = 0, len?: number, opts: { raw?: boolean } = {}): Blocking<[number, string | Uint8Array | null]> {
    const raw = typeof opts === 'object' && opts !== null && opts.raw === true;
    const n = this.io_len(buf, len, 'recvfrom');
    if (!int_ok(flags)) this.fail('recvfrom', EINVAL);
    for (;;) {
      k32[this.w + S_RES] = 0;
      k32[this.w + S_FLAGS] = flags;
      const e = yield* kern_recvmsg(fd, this.w + S_PSA, buf, 0, n, NULL, this.w + S_FLAGS, this.w + S_RES);
      const sa = k32[this.w + S_PSA];
      const from = sa === NULL ? null : raw ? this.take_sockaddr_raw(sa) : this.take_sockaddr(sa);
      if (!this.ret('recvfrom', e)) return [k32[this.w + S_RES], from];
    }
  }

  /*
   * sendmsg: msg.buf (all of it, or msg.len bytes) with the control messages
   * msg.control ({ level, type, data }), to msg.path or the connected peer; the count
   * sent.  AF_LOCAL takes SCM_CREDS (the kernel writes the sender's credentials into its
   * data, which must be CMSGCRED_BYTES long) and SCM_RIGHTS (scm_rights(fds): every fd
   * must be open, EBADF, and no kqueue, EOPNOTSUPP; the files travel held by the message);
   * other control is EINVAL.  More than MCLBYTES of control is EINVAL.  msg.control may
   * be raw msg_control bytes (a Uint8Array, i386 layout: cmsg_build), copied as they are
   * into one mbuf (fewer than 12 or more than MLEN bytes: EINVAL) for unp_internalize to
   * check; msg.path may be a raw sockaddr (see bind).
   */
  *sendmsg(fd: number, msg: MsgOut, flags = 0): Blocking<number> {
    if (typeof msg !== 'object' || msg === null) this.fail('sendmsg', EFAULT);
    const buf = msg.buf ?? EMPTY;
    const n = this.io_len(buf, msg.len, 'sendmsg');
    if (!int_ok(flags)) this.fail('sendmsg', EINVAL);
    const path = msg.path ?? null;
    for (;;) {
      let sa = NULL;
      if (path !== null) {
        sa = this.addr(path);
        if (sa < 0) this.fail('sendmsg', -sa);
      }
      const control = msg.control instanceof Uint8Array ? cmsg_copyin_raw(msg.control) : cmsg_copyin(msg.control ?? []);
      if (control < 0) this.fail('sendmsg', -control);
      k32[this.w + S_RES] = 0;
      const e = yield* kern_sendmsg(fd, sa, buf, 0, n, control, flags, this.w + S_RES);   // consumes control
      if (!this.ret('sendmsg', e)) return k32[this.w + S_RES];
    }
  }

  /*
   * recvmsg: as recvfrom, with the control messages that fit in opts.controlLen bytes
   * (default 0) and the flags out (MSG_TRUNC, MSG_CTRUNC when control did not fit,
   * MSG_EOR).  opts.rawAddr adds addr (the sender's sockaddr bytes); opts.rawControl
   * gives controlBytes (the control as recvit copies it out) instead of control.
   * MSG_CMSG_CLOEXEC in opts.flags (beyond 2008) makes received descriptors close-on-exec.
   */
  *recvmsg(fd: number, buf: Uint8Array, opts: RecvmsgOptions = {}): Blocking<MsgIn> {
    if (typeof opts !== 'object' || opts === null) this.fail('recvmsg', EFAULT);
    const n = this.io_len(buf, opts.len, 'recvmsg');
    const room = opts.controlLen ?? 0;
    let flags = opts.flags ?? 0;
    if (!int_ok(flags) || !int_ok(room) || room < 0) this.fail('recvmsg', EINVAL);
    const cloexec = (flags & MSG_CMSG_CLOEXEC) !== 0;
    flags &= ~MSG_CMSG_CLOEXEC;
    for (;;) {
      k32[this.w + S_RES] = 0;
      k32[this.w + S_FLAGS] = flags;
      const e = yield* kern_recvmsg(fd, this.w + S_PSA, buf, 0, n, this.w + S_CTL, this.w + S_FLAGS, this.w + S_RES);
      const sa = k32[this.w + S_PSA];
      const rawsa = sa !== NULL && opts.rawAddr === true ? this.take_sockaddr_raw(sa) : null;
      const path = rawsa !== null ? decode_sun(rawsa) : sa !== NULL ? this.take_sockaddr(sa) : null;
      const ctl = k32[this.w + S_CTL];
      const control: Cmsg[] = [];
      let out = k32[this.w + S_FLAGS];
      let controlBytes: Uint8Array = EMPTY;
      if (ctl !== NULL) {
        const lost: number[] = [];
        if (opts.rawControl === true) {
          const r = cmsg_copyout_raw(ctl, room, lost);
          controlBytes = r.bytes;
          if (r.trunc) out |= MSG_CTRUNC;
        } else if (cmsg_copyout(ctl, room, control, lost)) out |= MSG_CTRUNC;
        // MSG_CMSG_CLOEXEC (beyond DragonFly 2008): every descriptor received close-on-exec.
        if (cloexec && (flags & MSG_PEEK) === 0) {
          const all: Cmsg[] = [];
          cmsg_copyout(ctl, 0x7fffffff, all, []);
          for (const c of all) {
            if (c.level !== SOL_SOCKET || c.type !== SCM_RIGHTS) continue;
            for (const rfd of cmsg_rights(c.data)) if (!lost.includes(rfd)) yield* kern_fcntl(this.p, rfd, F_SETFD, FD_CLOEXEC, this.w + S_INT);
          }
        }
        m_freem(ctl);
        // Received, but the program cannot learn them.  (A peek externalizes nothing: its
        // copy holds what the message holds, not descriptors of ours.)
        if ((flags & MSG_PEEK) === 0) for (const lfd of lost) yield* kern_close(this.p, lfd);
      }
      if (!this.ret('recvmsg', e)) {
        const r: MsgIn = { bytes: k32[this.w + S_RES], path, flags: out, control };
        if (opts.rawAddr === true) r.addr = rawsa;
        if (opts.rawControl === true) r.controlBytes = controlBytes;
        return r;
      }
    }
  }

  *shutdown(fd: number, how: number): Blocking<void> {
    for (;;) if (!this.ret('shutdown', yield* kern_shutdown(fd, how))) return;
  }

  /*
   * getsockopt / setsockopt: an option's value.  Most are ints (a boolean is 0 or 1);
   * at SOL_SOCKET, SO_LINGER is a Linger ({ onoff, linger } seconds) and SO_SNDTIMEO and
   * SO_RCVTIMEO are a Timeval ({ sec, usec }; 0 means no timeout), as struct linger and
   * struct timeval are in C.  A value of the wrong shape is EINVAL.
   */
  *getsockopt<N extends number>(fd: number, level: number, name: N): Blocking<OptValue<N>> {
    if (level === SOL_SOCKET && name === SO_ACCEPTFILTER) return (yield* this.accept_filter(fd, null, false)) as OptValue<N>;
    const v = yield* this.sockopt(fd, level, name, 0, 0, false);
    const shape = level === SOL_SOCKET ? opt_shape(name) : OPT_INT;
    if (shape === OPT_LINGER) return { onoff: v, linger: k32[this.w + S_OPTVAL + 1] } as OptValue<N>;
    if (shape === OPT_TIMEVAL) return { sec: v, usec: k32[this.w + S_OPTVAL + 1] } as OptValue<N>;
    return v as OptValue<N>;
  }

  *setsockopt(fd: number, level: number, name: number,
      value: number | boolean | Linger | Timeval | AcceptFilterArg | null): Blocking<void> {
    if (level === SOL_SOCKET && name === SO_ACCEPTFILTER) {
      if (value !== null && (typeof value !== 'object' || typeof (value as AcceptFilterArg).name !== 'string' ||
          ((value as AcceptFilterArg).arg !== undefined && typeof (value as AcceptFilterArg).arg !== 'string'))) {
        this.fail('setsockopt', EINVAL);
      }
      yield* this.accept_filter(fd, value as AcceptFilterArg | null, true);
      return;
    }
    const shape = level === SOL_SOCKET ? opt_shape(name) : OPT_INT;
    let a: unknown, b: unknown = 0;
    if (shape === OPT_INT) {
      a = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    } else if (typeof value !== 'object' || value === null) {
      this.fail('setsockopt', EINVAL);
    } else if (shape === OPT_LINGER) {
      a = (value as Linger).onoff;
      b = (value as Linger).linger;
      if (typeof a === 'boolean') a = a ? 1 : 0;
    } else {
      a = (value as Timeval).sec;
      b = (value as Timeval).usec;
    }
    if (!int_ok(a) || !int_ok(b)) this.fail('setsockopt', EINVAL);
    yield* this.sockopt(fd, level, name, a, b, true);
  }

  /*
   * SO_ACCEPTFILTER's struct accept_filter_arg (af_name[16], af_arg[240]) in the scratch
   * item's path area: set (null: remove the filter) or get.  Names and arguments longer
   * than their fields are cut, as C's NUL termination of the last byte does.
   */
  private *accept_filter(fd: number, value: AcceptFilterArg | null, set: boolean): Blocking<Required<AcceptFilterArg>> {
    const call = set ? 'setsockopt' : 'getsockopt';
    const at = (this.w + S_PATH) * 4;
    for (;;) {
      ku8.fill(0, at, at + ACCEPT_FILTER_ARG_BYTES);
      if (value !== null) {
        const name = encoder.encode(value.name).subarray(0, ACCF_NAME_BYTES - 1);
        const arg = encoder.encode(value.arg ?? '').subarray(0, ACCEPT_FILTER_ARG_BYTES - ACCF_NAME_BYTES - 1);
        ku8.set(name, at);
        ku8.set(arg, at + ACCF_NAME_BYTES);
      }
      const so = this.w + S_SOPT;
      k32[so + SOPT.sopt_dir] = set ? SOPT_SET : SOPT_GET;
      k32[so + SOPT.sopt_level] = SOL_SOCKET;
      k32[so + SOPT.sopt_name] = SO_ACCEPTFILTER;
      k32[so + SOPT.sopt_val] = set && value === null ? NULL : at;
      k32[so + SOPT.sopt_valsize] = set && value === null ? 0 : ACCEPT_FILTER_ARG_BYTES;
      const e = set ? yield* kern_setsockopt(fd, so) : yield* kern_getsockopt(fd, so);
      if (!this.ret(call, e)) {
        const cut = (b: Uint8Array): string => decoder.decode(b.subarray(0, Math.max(0, b.indexOf(0))));
        return { name: cut(ku8.slice(at, at + ACCF_NAME_BYTES)), arg: cut(ku8.slice(at + ACCF_NAME_BYTES, at + ACCEPT_FILTER_ARG_BYTES)) };
      }
    }
  }

  private *sockopt(fd: number, level: number, name: number, value: number, value2: number, set: boolean): Blocking<number> {
    const call = set ? 'setsockopt' : 'getsockopt';
    if (!int_ok(level) || !int_ok(name) || !int_ok(value)) this.fail(call, EINVAL);
    const size = level === SOL_SOCKET && opt_shape(name) !== OPT_INT ? 8 : 4;
    for (;;) {
      const so = this.w + S_SOPT;
      k32[so + SOPT.sopt_dir] = set ? SOPT_SET : SOPT_GET;
      k32[so + SOPT.sopt_level] = level;
      k32[so + SOPT.sopt_name] = name;
      k32[so + SOPT.sopt_val] = (this.w + S_OPTVAL) * 4;
      k32[so + SOPT.sopt_valsize] = size;
      k32[this.w + S_OPTVAL] = set ? value : 0;
      k32[this.w + S_OPTVAL + 1] = set ? value2 : 0;
      const e = set ? yield* kern_setsockopt(fd, so) : yield* kern_getsockopt(fd, so);
      if (!this.ret(call, e)) return k32[this.w + S_OPTVAL];
    }
  }

  /*
   * getpeereid: the effective uid and gid of a connected stream or seqpacket peer, as they
   * were when it connected (libc's getpeereid: getsockopt(fd, 0, LOCAL_PEERCRED)).
   * ENOTCONN before the connection; ENOPROTOOPT on a datagram socket.
   */
  *getpeereid(fd: number): Blocking<{ uid: number; gid: number }> {
    for (;;) {
      const so = this.w + S_SOPT;
      const xuc = this.w + S_PATH;
      k32[so + SOPT.sopt_dir] = SOPT_GET;
      k32[so + SOPT.sopt_level] = 0;
      k32[so + SOPT.sopt_name] = LOCAL_PEERCRED;
      k32[so + SOPT.sopt_val] = xuc * 4;
      k32[so + SOPT.sopt_valsize] = XUCRED.SIZE * 4;
      const e = yield* kern_getsockopt(fd, so);
      if (!this.ret('getpeereid', e)) return { uid: k32[xuc + XUCRED.cr_uid], gid: k32[xuc + XUCRED.cr_groups] };
    }
  }

  /*
   * getsockname / getpeername: the path ('' when unnamed); with opts.raw, the sockaddr's
   * bytes as copied out to a SOCK_MAXADDRLEN buffer (an empty array when the protocol
   * gives no address).
   */
  getsockname(fd: number, opts?: { raw?: false }): Blocking<string>;
  getsockname(fd: number, opts: { raw: true }): Blocking<Uint8Array>;
  *getsockname(fd: number, opts: { raw?: boolean } = {}): Blocking<string | Uint8Array> {
    return yield* this.getname(fd, false, typeof opts === 'object' && opts !== null && opts.raw === true);
  }
  getpeername(fd: number, opts?: { raw?: false }): Blocking<string>;
  getpeername(fd: number, opts: { raw: true }): Blocking<Uint8Array>;
  *getpeername(fd: number, opts: { raw?: boolean } = {}): Blocking<string | Uint8Array> {
    return yield* this.getname(fd, true, typeof opts === 'object' && opts !== null && opts.raw === true);
  }

  private *getname(fd: number, peer: boolean, raw: boolean): Blocking<string | Uint8Array> {
    const call = peer ? 'getpeername' : 'getsockname';
    for (;;) {
      k32[this.w + S_NAME] = NULL;
      k32[this.w + S_NAMELEN] = SOCK_MAXADDRLEN;
      const e = peer ? yield* kern_getpeername(fd, this.w + S_NAME, this.w + S_NAMELEN)
        : yield* kern_getsockname(fd, this.w + S_NAME, this.w + S_NAMELEN);
      const sa = e === 0 ? k32[this.w + S_NAME] : NULL;
      const path = raw ? (sa !== NULL ? this.take_sockaddr_raw(sa, k32[this.w + S_NAMELEN]) : new Uint8Array(0))
        : sa !== NULL ? this.take_sockaddr(sa) : '';
      if (!this.ret(call, e)) return path;
    }
  }

  /* ---- files ---- */

  /* The byte count of a read or write: buf must be a Uint8Array (EFAULT), len 0..buf.length. */
  private io_len(buf: unknown, len: unknown, call: string): number {
    if (!(buf instanceof Uint8Array)) this.fail(call, EFAULT);
    if (len === undefined) return buf.length;
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0) this.fail(call, EINVAL);
    if (len > buf.length) this.fail(call, EFAULT);
    return len;
  }

  /* read: up to len bytes (default buf.length) into buf; 0 at end of file. */
  read(fd: number, buf: Uint8Array, len?: number): Blocking<number> { return this.rw(fd, buf, len, false); }

  /* write: len bytes (default buf.length) of buf; the count written.  EPIPE raises SIGPIPE. */
  write(fd: number, buf: Uint8Array, len?: number): Blocking<number> { return this.rw(fd, buf, len, true); }

  /* print: text and a newline on fd 1 (the console unless redirected). */
  *print(text: string): Blocking<number> {
    return yield* this.write(1, encoder.encode(`${String(text)}\n`));
  }

  /* rw: plain on a quiet success (see send); else the IoWait, or rw_refused. */
  private rw(fd: number, buf: Uint8Array, len: number | undefined, write: boolean): Blocking<number> {
    const n = io_len_ok(buf, len);
    if (n < 0 || !fd_ok(fd)) return this.rw_refused(buf, len, write);
    const io = this.rw_call(fd, buf, n, write);
    const fp = this.rw_fp;
    if (fp === NULL) return this.rw_refused(buf, len, write);
    const kind = write ? IO_WRITE : IO_READ, name = write ? 'write' : 'read';
    if (!is_done(io)) return this.io_wait().start(this, kind, io, fd, buf, 0, n, name);
    const e = this.rw_done(fp, write, done_value(io));
    const moved = n - this.uio.resid;
    const drop = fdrop(fp);
    if (!is_done(drop) || rw_short(e, moved) !== 0 || !this.quiet()) return this.io_wait().dropping(this, kind, drop, e, fd, buf, n, name);
    return done_count(moved);
  }

  /* The file op of one read or write, the file held left in rw_fp (NULL: EBADF, no op run). */
  private rw_fp: Ptr = NULL;
  private rw_call(fd: number, buf: Uint8Array, n: number, write: boolean): Blocking<number> {
    const fp = holdfp(k32[this.p + PROC.p_fd], fd, write ? FWRITE : FREAD);
    this.rw_fp = fp;
    if (fp === NULL) return done_num(EBADF);
    const uio = this.uio;
    uio.buf = buf; uio.offset = 0; uio.resid = n; uio.rw = write ? UIO_WRITE : UIO_READ; uio.td = this.td;
    const ops = fileops_of(fp), cred = k32[fp + FILE.f_cred];
    return write ? ops.fo_write(fp, uio, cred, 0) : ops.fo_read(fp, uio, cred, 0);
  }

  /* After the file op: dofilewrite's EPIPE raises SIGPIPE (a socket with SO_NOSIGPIPE excepted). */
  private rw_done(fp: Ptr, write: boolean, e: number): number {
    this.uio.buf = EMPTY;
    if (write && e === EPIPE && !(k32[fp + FILE.f_type] === DTYPE_SOCKET &&
        (k32[k32[fp + FILE.f_data] + SO.so_options] & SO_NOSIGPIPE) !== 0)) psignal(this.p, SIGPIPE);
    return e;
  }

  /* A read or write the plain path refused: the bad length or buffer's errno, else EBADF, thrown when run. */
  private *rw_refused(buf: Uint8Array, len: number | undefined, write: boolean): Blocking<number> {
    const call = write ? 'write' : 'read';
    this.io_len(buf, len, call);
    this.fail(call, EBADF);
  }

  /*
   * The continuation of a send, recv, read or write whose first attempt blocked, failed or
   * found a signal pending: the return to user mode, and the call again on ERESTART,
   * as a reusable object (shared/cont.ts), one per thread: a thread makes one call at a
   * time, and a handler runs without blocking.
   */
  private io_cont: InstanceType<typeof Sys.IoWait> | null = null;
  private io_wait(): InstanceType<typeof Sys.IoWait> {
    let c = this.io_cont;
    if (c === null || c.busy) this.io_cont = c = new Sys.IoWait();
    return c;
  }

  private static readonly IoWait = class extends Cont {
    busy = false;
    private sys: Sys | null = null;
    private kind = IO_SEND;
    private fd = 0;
    private buf: Uint8Array = EMPTY;
    private flags = 0;
    private n = 0;
    private name = '';
    private fp = NULL;
    private dropped = false;
    private e = 0;

    constructor() { super(0); }

    /* call: the first attempt, made (for a read or write, its file op, the file in sys.rw_fp). */
    start(sys: Sys, kind: number, call: Blocking<number>, fd: number, buf: Uint8Array, flags: number, n: number,
        name: string): this {
      this.busy = true;
      this.sys = sys; this.kind = kind; this.fd = fd; this.buf = buf; this.flags = flags; this.n = n; this.name = name;
      this.fp = kind === IO_READ || kind === IO_WRITE ? sys.rw_fp : NULL;
      this.dropped = false;
      return this.begin(call);
    }

    /* A read or write whose file op is done (its errno e), from its fdrop, drop, on. */
    dropping(sys: Sys, kind: number, drop: Blocking<number>, e: number, fd: number, buf: Uint8Array, n: number,
        name: string): this {
      this.start(sys, kind, drop, fd, buf, 0, n, name);
      this.dropped = true;
      this.e = e;
      return this;
    }

    protected step(v: unknown): Blocking<number> | null {
      const sys = this.sys!;
      const kind = this.kind;
      if (kind === IO_READ || kind === IO_WRITE) {
        // The file op ended: its count and SIGPIPE, then the fdrop; the return after that.
        if (!this.dropped) {
          this.dropped = true;
          this.e = sys.rw_done(this.fp, kind === IO_WRITE, v as number);
          return fdrop(this.fp);
        }
        const moved = this.n - sys.uio.resid;
        if (!this.again(sys, rw_short(this.e, moved))) {
          this.result = moved;
          return FINISHED;
        }
        this.dropped = false;
        const io = sys.rw_call(this.fd, this.buf, this.n, kind === IO_WRITE);
        this.fp = sys.rw_fp;
        if (this.fp === NULL) {
          this.busy = false;
          sys.fail(this.name, EBADF);      // throws
        }
        return io;
      }
      if (!this.again(sys, v as number)) {
        this.result = k32[sys.w + S_RES];
        return FINISHED;
      }
      return kind === IO_SEND ? sys.sendto_call(this.fd, this.buf, this.flags, null, this.n, this.name) :
        sys.recv_call(this.fd, this.buf, this.flags, this.n);
    }

    /*
     * The return to user mode with errno e (Sys.ret): true to make the call again
     * (ERESTART).  It throws the SysError of a failed call: this Cont is free again then,
     * so a program that fails calls in a loop (EAGAIN) does not make one per call.
     */
    private again(sys: Sys, e: number): boolean {
      try {
        return sys.ret(this.name, e);
      } catch (x) {
        this.busy = false;
        throw x;
      }
    }

    protected release(): void {
      this.sys = null;
      this.buf = EMPTY;
      this.busy = false;
    }
  };

  *close(fd: number): Blocking<void> {
    if (!fd_ok(fd)) this.fail('close', EBADF);
    const e = yield* kern_close(this.p, fd);
    this.ret('close', e === ERESTART ? EINTR : e);   // the descriptor is gone: never restarted
  }

  /*
   * fstat: the file at fd as struct stat describes it.  A socket (soo_stat): S_IFSOCK,
   * read permission bits unless its receive side is shut and drained, write bits unless
   * its send side is shut, size the bytes readable, uid/gid its creator's, and from
   * AF_LOCAL's pru_sense blksize the send buffer's hiwat (SEED's uipc_sense; before
   * SSB_STOP it added what the peer had queued), dev NODEV and a made-up inode number.
   * The console: S_IFCHR | 0620.
   * A kqueue: S_IFIFO, size its pending events.  EBADF for a descriptor not open.
   */
  *fstat(fd: number): Blocking<Stat> {
    if (!fd_ok(fd)) this.fail('fstat', EBADF);
    const sb = this.w + S_PATH + (this.w & 1);   // on an even word, for st_size's double
    for (;;) {
      const e = yield* kern_fstat(this.p, fd, sb);
      if (!this.ret('fstat', e)) {
        return {
          dev: k32[sb + STAT.st_dev], ino: k32[sb + STAT.st_ino], mode: k32[sb + STAT.st_mode],
          nlink: k32[sb + STAT.st_nlink], uid: k32[sb + STAT.st_uid], gid: k32[sb + STAT.st_gid],
          rdev: k32[sb + STAT.st_rdev], size: kf64[(sb + STAT.st_size_f64) >> 1],
          blksize: k32[sb + STAT.st_blksize], blocks: k32[sb + STAT.st_blocks],
        };
      }
    }
  }

  /* closefrom: close every descriptor from fd up. */
  *closefrom(fd: number): Blocking<void> {
    if (!int_ok(fd)) this.fail('closefrom', EBADF);   // a negative fd is kern_closefrom's EINVAL
    const e = yield* kern_closefrom(this.p, fd);
    this.ret('closefrom', e === ERESTART ? EINTR : e);
  }

  *dup(fd: number): Blocking<number> {
    if (!fd_ok(fd)) this.fail('dup', EBADF);
    for (;;) {
      const e = yield* kern_dup(DUP_VARIABLE, fd, 0, this.p, this.w + S_RES);
      if (!this.ret('dup', e)) return k32[this.w + S_RES];
    }
  }

  /* dup2: as kern_dup, a negative or too large nfd is EINVAL before fd is looked at. */
  *dup2(fd: number, nfd: number): Blocking<number> {
    if (!int_ok(fd) || !int_ok(nfd)) this.fail('dup2', EBADF);
    for (;;) {
      const e = yield* kern_dup(DUP_FIXED, fd, nfd, this.p, this.w + S_RES);
      if (!this.ret('dup2', e)) return k32[this.w + S_RES];
    }
  }

  /* fcntl: F_DUPFD, F_GETFD/F_SETFD, F_GETFL/F_SETFL (O_NONBLOCK, O_ASYNC), F_GETOWN/F_SETOWN; the result or 0. */
  *fcntl(fd: number, cmd: number, arg = 0): Blocking<number> {
    if (!fd_ok(fd)) this.fail('fcntl', EBADF);
    if (!int_ok(cmd) || !int_ok(arg)) this.fail('fcntl', EINVAL);
    for (;;) {
      k32[this.w + S_RES] = 0;
      const e = yield* kern_fcntl(this.p, fd, cmd, arg, this.w + S_RES);
      if (!this.ret('fcntl', e)) {
        return cmd === F_GETFL || cmd === F_GETFD || cmd === F_DUPFD || cmd === F_GETOWN ? k32[this.w + S_RES] : 0;
      }
    }
  }

  /*
   * ioctl: FIONBIO / FIOASYNC (arg: on or off), FIONREAD (returns the bytes readable),
   * FIOSETOWN (arg: pid), FIOGETOWN and SIOCATMARK (return the value).  ENOTTY for any
   * other command.
   */
  *ioctl(fd: number, cmd: number, arg: number | boolean = 0): Blocking<number> {
    if (!fd_ok(fd)) this.fail('ioctl', EBADF);
    const v = typeof arg === 'boolean' ? (arg ? 1 : 0) : arg;
    if (!int_ok(v)) this.fail('ioctl', EINVAL);
    if (typeof cmd !== 'number' || !IOCTLS.has(cmd)) this.fail('ioctl', ENOTTY);
    for (;;) {
      const fp = holdfp(k32[this.p + PROC.p_fd], fd, -1);
      if (fp === NULL || (k32[fp + FILE.f_flag] & (FREAD | FWRITE)) === 0) {
        if (fp !== NULL) yield* fdrop(fp);
        this.fail('ioctl', EBADF);
      }
      k32[this.w + S_INT] = cmd === FIONBIO || cmd === FIOASYNC ? (v !== 0 ? 1 : 0) : v;
      const e = yield* fileops_of(fp).fo_ioctl(fp, cmd, this.w + S_INT, k32[fp + FILE.f_cred]);
      yield* fdrop(fp);
      if (!this.ret('ioctl', e)) return cmd === FIONREAD || cmd === FIOGETOWN || cmd === SIOCATMARK ? k32[this.w + S_INT] : 0;
    }
  }

  /* ---- readiness: select, poll, kqueue, kevent (kern/sys_generic.ts, kern/kern_event.ts) ---- */

  /* select's fd_sets (SEL_WORDS words each: read, write, except), in and out. */
  private readonly selin = new Int32Array(3 * SEL_WORDS);
  private readonly selout = new Int32Array(3 * SEL_WORDS);
  /* poll's struct pollfd array and kevent's struct kevent arrays, made on first use and grown. */
  private pollfds: Int32Array | null = null;
  private kevin: Kevlist | null = null;
  private kevout: Kevlist | null = null;

  /*
   * select: wait until a descriptor below nfds in readfds is readable, in writefds
   * writable, or in exceptfds has an exception (out-of-band data), or the timeout passes
   * (null: wait forever; { sec: 0, usec: 0 }: look once).  Returns the count of ready
   * descriptors and each set's ready ones ([] for a set not given).  Descriptors at or
   * above nfds are ignored.  EBADF for a set descriptor that is not open (or not a
   * descriptor), EINVAL for a negative nfds or a bad timeout, EINTR when a signal
   * arrives, even with SA_RESTART (select is never restarted).
   */
  *select(nfds: number, readfds: readonly number[] | null, writefds: readonly number[] | null = null,
      exceptfds: readonly number[] | null = null, timeout: Timeval | null = null): Blocking<SelectResult> {
    if (!int_ok(nfds) || nfds < 0) this.fail('select', EINVAL);
    // No descriptor is NDFILE_MAX or above: kern_select would clip nd to the table anyway.
    const nd = nfds > NDFILE_MAX ? NDFILE_MAX : nfds;
    const given = [readfds, writefds, exceptfds];
    const ib = this.selin, ob = this.selout;
    ib.fill(0);
    let sets = 0;
    for (let i = 0; i < 3; i++) {
      const set = given[i];
      if (set === null || set === undefined) continue;
      if (!Array.isArray(set)) this.fail('select', EFAULT);
      sets |= 1 << i;
      for (const fd of set) {
        if (!fd_ok(fd)) this.fail('select', EBADF);
        if (fd < nd) ib[i * SEL_WORDS + (fd >> 5)] |= 1 << (fd & 31);
      }
    }
    const tv = this.timeout_in('select', timeout, 'usec');
    // kern_select never gives ERESTART: no restart loop.
    this.ret('select', yield* kern_select(this.p, nd, ib, ob, sets, tv, this.w + S_RES));
    const out: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      if ((sets & (1 << i)) === 0) continue;
      for (let fd = 0; fd < nd; fd++) if ((ob[i * SEL_WORDS + (fd >> 5)] & (1 << (fd & 31))) !== 0) out[i].push(fd);
    }
    return { n: k32[this.w + S_RES], readfds: out[0], writefds: out[1], exceptfds: out[2] };
  }

  /*
   * poll: wait until an entry's descriptor has one of its events (POLLIN, POLLRDNORM,
   * POLLOUT, POLLWRNORM, POLLPRI, POLLRDBAND), or the timeout passes (milliseconds;
   * INFTIM waits forever, 0 looks once).  Sets every entry's revents (POLLNVAL for a
   * descriptor that is not open; 0 for a negative one) and returns how many are non-zero.
   * EINVAL for a timeout below INFTIM or more entries than both RLIMIT_NOFILE and
   * FD_SETSIZE; EINTR when a signal arrives, even with SA_RESTART.
   */
  *poll(fds: PollFd[], timeout: number = INFTIM): Blocking<number> {
    if (!Array.isArray(fds)) this.fail('poll', EFAULT);
    if (!int_ok(timeout)) this.fail('poll', EINVAL);
    const n = fds.length;
    // kern_poll's limit, tested before the array is copied in, as C tests it.
    if (n > FD_SETSIZE && n > p_rlimit_cur(this.p, RLIMIT_NOFILE)) this.fail('poll', EINVAL);
    let b = this.pollfds;
    if (b === null || b.length < n * POLLFD_INTS) b = this.pollfds = new Int32Array(Math.max(32, n) * POLLFD_INTS);
    for (let i = 0; i < n; i++) {
      const f = fds[i];
      if (typeof f !== 'object' || f === null) this.fail('poll', EFAULT);
      if (!int_ok(f.fd) || !int_ok(f.events)) this.fail('poll', EINVAL);
      b[i * POLLFD_INTS + PFD_FD] = f.fd;
      b[i * POLLFD_INTS + PFD_EVENTS] = f.events & 0xffff;    // a short in struct pollfd
      b[i * POLLFD_INTS + PFD_REVENTS] = 0;
    }
    this.ret('poll', yield* kern_poll(this.p, b, n, timeout, this.w + S_RES));   // never ERESTART
    for (let i = 0; i < n; i++) fds[i].revents = b[i * POLLFD_INTS + PFD_REVENTS];
    return k32[this.w + S_RES];
  }

  /* kqueue: a new kernel event queue; its descriptor.  EMFILE, ENFILE, ENOMEM. */
  *kqueue(): Blocking<number> {
    this.ret('kqueue', yield* kern_kqueue(this.p, this.w + S_RES));
    return k32[this.w + S_RES];
  }

  /*
   * kevent: apply changes to the kqueue kq (EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE,
   * with EV_ONESHOT, EV_CLEAR; EVFILT_READ or EVFILT_WRITE on a descriptor, NOTE_LOWAT
   * with data as the low-water mark), then return up to nevents pending events, waiting
   * for one as timeout says (null: forever; { sec: 0, nsec: 0 }: not at all).  A change
   * that fails comes back as an event with EV_ERROR in flags and the errno in data while
   * nevents has room (and then no other events are returned); without room the call
   * throws that errno (EBADF for an ident that is not open, ENOENT for a change to a
   * knote that does not exist, EINVAL for a filter this kernel has not).  EBADF when kq
   * is not a kqueue, EINVAL for a negative nevents or a bad timeout, EINTR when a signal
   * arrives, even with SA_RESTART.
   */
  *kevent(kq: number, changes: readonly Kevent[] | null, nevents = 0, timeout: Timespec | null = null): Blocking<Kevent[]> {
    if (!fd_ok(kq)) this.fail('kevent', EBADF);
    if (!int_ok(nevents) || nevents < 0) this.fail('kevent', EINVAL);
    const cl = changes ?? [];
    if (!Array.isArray(cl)) this.fail('kevent', EFAULT);
    const kin = this.kevin ??= new Kevlist();
    const kout = this.kevout ??= new Kevlist();
    kin.n = 0;
    kin.reserve(cl.length);
    for (const c of cl) {
      if (typeof c !== 'object' || c === null) this.fail('kevent', EFAULT);
      const v = [c.ident, c.filter, c.flags, c.fflags ?? 0, c.data ?? 0, c.udata ?? 0];
      const at = kin.n * KEVENT_INTS;
      for (let i = 0; i < KEVENT_INTS; i++) {
        if (!int_ok(v[i])) this.fail('kevent', EINVAL);
        kin.buf[at + i] = v[i];
      }
      kin.n++;
    }
    const ts = this.timeout_in('kevent', timeout, 'nsec');
    kout.n = 0;
    const e = yield* kern_kevent(this.p, kq, kin, kin.n, kout, nevents, ts, this.w + S_RES);
    this.ret('kevent', e);   // never ERESTART: kevent is not restarted
    const out: Kevent[] = [];
    for (let i = 0, at = 0; i < kout.n; i++, at += KEVENT_INTS) {
      const b = kout.buf;
      out.push({ ident: b[at + KEVENT.ident], filter: b[at + KEVENT.filter], flags: b[at + KEVENT.flags],
        fflags: b[at + KEVENT.fflags], data: b[at + KEVENT.data], udata: b[at + KEVENT.udata] });
    }
    return out;
  }

  /*
   * A timeout argument as a kmem struct timeval or timespec ({ sec, usec } or
   * { sec, nsec }, in S_OPTVAL's two words), or NULL for none.  EFAULT for something
   * that is not an object, EINVAL for fields that are not ints (the kernel checks ranges).
   */
  private timeout_in(call: string, t: Timeval | Timespec | null, sub: 'usec' | 'nsec'): Ptr {
    if (t === null || t === undefined) return NULL;
    if (typeof t !== 'object') this.fail(call, EFAULT);
    const sec: unknown = t.sec, frac: unknown = (t as unknown as Record<string, unknown>)[sub];
    if (!int_ok(sec) || !int_ok(frac)) this.fail(call, EINVAL);
    k32[this.w + S_OPTVAL] = sec;
    k32[this.w + S_OPTVAL + 1] = frac;
    return this.w + S_OPTVAL;
  }

  /* ---- the file namespace (AF_LOCAL socket files and directories) ---- */

  private *path_call(call: string, path: string, mode: number,
      fn: (a: number, n: number, mode: number, td: Ptr) => number): Blocking<void> {
    if (!int_ok(mode)) this.fail(call, EINVAL);
    const a = (this.w + S_PATH) * 4;
    const n = this.put_path(path, PATH_ROOM, a);
    if (n < 0) this.fail(call, -n);
    this.ret(call, fn(a, n, mode, this.td));
  }

  *mkdir(path: string, mode = 0o777): Blocking<void> { yield* this.path_call('mkdir', path, mode, kern_mkdir); }
  *unlink(path: string): Blocking<void> {
    yield* this.path_call('unlink', path, 0, (a, n, _m, td) => kern_unlink(a, n, td));
  }
  *rmdir(path: string): Blocking<void> {
    yield* this.path_call('rmdir', path, 0, (a, n, _m, td) => kern_rmdir(a, n, td));
  }
  *chmod(path: string, mode: number): Blocking<void> { yield* this.path_call('chmod', path, mode, kern_chmod); }

  /* ---- processes ---- */

  /* sched_yield: let other threads of this CPU run. */
  *sched_yield(): Blocking<void> {
    yield* lwkt_yield();
    this.userret();
  }

  /* sleep: ms milliseconds (whole ticks, at least one); EINTR when a signal interrupts it. */
  *sleep(ms: number): Blocking<void> {
    if (typeof ms !== 'number' || !(ms >= 0) || ms > 0x7fffffff) this.fail('sleep', EINVAL);
    const e = yield* tsleep(this.w + S_SLEEP, PCATCH, 'nanslp', Math.max(1, Math.ceil((ms * HZ) / 1000)));
    this.ret('sleep', e === 0 || e === EWOULDBLOCK ? 0 : EINTR);
  }

  /* ---- asynchronous I/O (kern/vfs_aio.ts) ---- */

  /*
   * aio_read / aio_write: queue a read into (write from) len bytes of buf (default all of
   * it) on fd and return at once with the job's handle.  buf belongs to the job until
   * aio_return.  EBADF for a bad descriptor (or a write to one not open for writing),
   * EAGAIN past the queue limits (32 running, 256 queued a process, 1024 in all).
   */
  *aio_read(fd: number, buf: Uint8Array, len?: number): Blocking<number> { return yield* this.aio_queue('aio_read', fd, buf, len, LIO_READ); }
  *aio_write(fd: number, buf: Uint8Array, len?: number): Blocking<number> { return yield* this.aio_queue('aio_write', fd, buf, len, LIO_WRITE); }

  private *aio_queue(call: string, fd: number, buf: Uint8Array, len: number | undefined, op: number): Blocking<number> {
    const n = this.io_len(buf, len, call);
    if (!fd_ok(fd)) this.fail(call, EBADF);
    for (;;) if (!this.ret(call, aio_aqueue(fd, buf, 0, n, op, this.w + S_RES))) return k32[this.w + S_RES];
  }

  /* aio_error: EINPROGRESS while the job runs, then its errno (0 when it succeeded).  EINVAL for an unknown handle. */
  *aio_error(handle: number): Blocking<number> {
    const r = aio_error(this.p, handle);
    this.ret('aio_error', r < 0 ? -r : 0);
    return r;
  }

  /* aio_return: the finished job's byte count (-1 when it failed: see aio_error); the handle is spent.  EINVAL before it finishes. */
  *aio_return(handle: number): Blocking<number> {
    for (;;) if (!this.ret('aio_return', yield* aio_return(this.p, handle, this.w + S_RES))) return k32[this.w + S_RES];
  }

  /*
   * aio_suspend: wait until one of the jobs has finished; at most timeoutMs (default: no
   * limit), then EAGAIN.  EINTR on a signal (never restarted).  EINVAL for more than
   * AIO_LISTIO_MAX handles.
   */
  *aio_suspend(handles: number[], timeoutMs?: number): Blocking<void> {
    if (!Array.isArray(handles) || handles.some((h) => !int_ok(h))) this.fail('aio_suspend', EINVAL);
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > 0x7fffffff)) {
      this.fail('aio_suspend', EINVAL);
    }
    const timo = timeoutMs === undefined ? 0 : Math.max(1, Math.ceil((timeoutMs * HZ) / 1000));
    this.ret('aio_suspend', yield* aio_suspend(this.p, handles, timo));
  }

  /* aio_cancel: cancel fd's jobs that have not started (or only the one with handle): AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE. */
  *aio_cancel(fd: number, handle = 0): Blocking<number> {
    if (!fd_ok(fd) || !int_ok(handle)) this.fail('aio_cancel', !fd_ok(fd) ? EBADF : EINVAL);
    this.ret('aio_cancel', aio_cancel(this.p, fd, handle, this.w + S_RES));
    return k32[this.w + S_RES];
  }

  *getpid(): Blocking<number> { this.userret(); return k32[this.p + PROC.p_pid]; }
  *getuid(): Blocking<number> { this.userret(); return getuid(this.p); }
  *geteuid(): Blocking<number> { this.userret(); return geteuid(this.p); }
  *setuid(uid: number): Blocking<void> { this.ret('setuid', setuid(this.p, uid)); }

  /* sysctl: the value of name; set it to newValue when given (root only).  Returns the old value. */
  *sysctl(name: string, newValue?: number): Blocking<number> {
    if (typeof name !== 'string') this.fail('sysctl', EINVAL);
    if (newValue !== undefined && typeof newValue !== 'number') this.fail('sysctl', EINVAL);
    const r = kernel_sysctl(name, newValue, geteuid(this.p));
    this.ret('sysctl', r.error);
    return r.old;
  }

  *getrlimit(resource: number): Blocking<Rlimit> {
    if (!int_ok(resource) || resource < 0 || resource >= RLIM_NLIMITS) this.fail('getrlimit', EINVAL);
    const rl = this.rlim();
    this.ret('getrlimit', kern_getrlimit(this.p, resource, rl));
    return { cur: kf64[(rl + RLIMIT.rlim_cur_f64) >> 1], max: kf64[(rl + RLIMIT.rlim_max_f64) >> 1] };
  }

  *setrlimit(resource: number, limit: Rlimit): Blocking<void> {
    if (typeof limit !== 'object' || limit === null) this.fail('setrlimit', EFAULT);
    if (!int_ok(resource) || resource < 0 || resource >= RLIM_NLIMITS ||
        typeof limit.cur !== 'number' || typeof limit.max !== 'number') this.fail('setrlimit', EINVAL);
    const rl = this.rlim();
    kf64[(rl + RLIMIT.rlim_cur_f64) >> 1] = limit.cur;
    kf64[(rl + RLIMIT.rlim_max_f64) >> 1] = limit.max;
    this.ret('setrlimit', kern_setrlimit(this.p, resource, rl));
  }

  /*
   * kill: post sig to the process pid (sig 0: only check that it exists and may be
   * signalled).  ESRCH when there is none; EPERM unless we are root or our real or
   * effective uid is its real uid.  EINVAL for a bad signal or a pid <= 0.
   */
  *kill(pid: number, sig: number): Blocking<void> {
    if (!int_ok(pid) || pid <= 0 || !int_ok(sig) || sig < 0 || sig > NSIG) this.fail('kill', EINVAL);
    const ruid = getuid(this.p), euid = geteuid(this.p);
    const kg = kern_globals();
    let e = 0;
    spin_lock(kg + KERN.kg_proc_spin);
    const q = pfind_active_locked(pid);
    if (q === NULL) {
      e = ESRCH;
    } else {
      spin_lock(q + PROC.p_spin);
      const may = Sys.cansignal(ruid, euid, q);
      spin_unlock(q + PROC.p_spin);
      if (!may) e = EPERM;
      else if (sig !== 0) psignal(q, sig);   // under kg_proc_spin: q cannot be freed meanwhile
    }
    spin_unlock(kg + KERN.kg_proc_spin);
    this.ret('kill', e);
  }

  /*
   * May a caller with real and effective uids ruid, euid (read before any lock: q may be
   * ourselves) signal q (its p_spin held)?  Root, or either uid is q's real uid.
   */
  private static cansignal(ruid: number, euid: number, q: Ptr): boolean {
    const qr = k32[k32[q + PROC.p_ucred] + UCRED.cr_ruid];
    return euid === 0 || ruid === qr || euid === qr;
  }

  /*
   * lwp_kill: post sig to thread tid of process pid (-1: this process), as DragonFly
   * 2008's sys_lwp_kill → kern_kill(sig, pid, tid) does: EINVAL for a bad signal or tid
   * < 0, ESRCH when the process or the thread is not there, EPERM as kill; sig 0 only
   * checks.  The signal goes to that thread only (lwpsignal): it interrupts that thread's
   * PCATCH sleep, and only its return path delivers it.  A signal the process ignores is
   * dropped, as psignal drops it.
   */
  *lwp_kill(pid: number, tid: number, sig: number): Blocking<void> {
    if (!int_ok(pid) || (pid <= 0 && pid !== -1) || !int_ok(tid) || tid < 0 || !int_ok(sig) || sig < 0 || sig > NSIG) {
      this.fail('lwp_kill', EINVAL);
    }
    if (pid === -1) pid = k32[this.p + PROC.p_pid];
    const ruid = getuid(this.p), euid = geteuid(this.p);
    const kg = kern_globals();
    let e = 0;
    spin_lock(kg + KERN.kg_proc_spin);
    const q = pfind_active_locked(pid);
    if (q === NULL) {
      e = ESRCH;
    } else {
      spin_lock(q + PROC.p_spin);
      const td = lwpfind_locked(q, tid);
      if (!Sys.cansignal(ruid, euid, q)) e = EPERM;
      else if (td === NULL) e = ESRCH;
      else if (sig !== 0) {
        const bit = sigbit(sig), ps = q + PROC.p_sigacts;
        const caught = (k32[ps + SIGACTS.ps_sigcatch] & bit) !== 0;
        const ignored = (k32[ps + SIGACTS.ps_sigignore] & bit) !== 0 || (!caught && (SIGPROP_IGNORE & bit) !== 0);
        if (!ignored) lwkt_signal(td, sig);   // under p_spin: td cannot exit meanwhile
      }
      spin_unlock(q + PROC.p_spin);
    }
    spin_unlock(kg + KERN.kg_proc_spin);
    this.ret('lwp_kill', e);
  }

  /* pthread_kill: lwp_kill(-1, tid, sig), as libthread_xu's pthread_kill. */
  *pthread_kill(tid: number, sig: number): Blocking<void> {
    if (!int_ok(sig) || sig < 0 || sig > NSIG) this.fail('pthread_kill', EINVAL);
    if (!int_ok(tid) || tid < 0) this.fail('pthread_kill', ESRCH);
    try {
      yield* this.lwp_kill(-1, tid, sig);
    } catch (err) {
      if (err instanceof SysError) throw new SysError('pthread_kill', err.errno);
      throw err;
    }
  }

  /*
   * sigaction: sig's disposition: SIG_DFL, SIG_IGN, or a handler function (run at the
   * return from the next system call after the signal arrives), with SA_RESTART in flags
   * to restart an interrupted call instead of failing it with EINTR.
   */
  *sigaction(sig: number, handler: SigHandler, flags = 0): Blocking<void> {
    if (!int_ok(sig) || !int_ok(flags) || (flags & ~SA_RESTART) !== 0) this.fail('sigaction', EINVAL);
    const disp = typeof handler === 'function' ? SIG_CATCH : handler;
    if (disp !== SIG_DFL && disp !== SIG_IGN && disp !== SIG_CATCH) this.fail('sigaction', EINVAL);
    const e = kern_sigaction(this.p, sig, disp, flags);
    if (e === 0) this.handlers[sig] = typeof handler === 'function' ? handler : undefined;
    this.ret('sigaction', e);
  }

  /* ---- processes and threads ---- */

  /*
   * fork: a child process running fn(childSys, ...args) on this CPU: a copy of this
   * process's descriptor table (each file shared), its credentials, limits and signal
   * actions, handlers included.  Returns the child's pid; the child is ours to waitpid.
   * fn must be a generator function (ENOEXEC); args are copied (JSON).  EAGAIN when the
   * process table or RLIMIT_NPROC is full.
   */
  *fork(fn: Program, ...args: unknown[]): Blocking<number> {
    if (!is_program(fn)) this.fail('fork', ENOEXEC);
    return yield* this.newproc('fork', ER_FORK, fn, mycpu.cpuid, args, -1, fn.name || 'fork');
  }

  /*
   * spawn: a child process running the program fn(childSys, ...opts.args) on CPU
   * opts.cpu (default this one), as fork then exec would make it: the descriptor table
   * copied, close-on-exec descriptors closed, caught signals back to their defaults, and
   * with opts.uid (root only, unless it is our real uid: EPERM) as its real, effective
   * and saved uid.  On another CPU of the parallel engine fn must be an export of a
   * module (ENOEXEC otherwise).  Returns the child's pid.
   */
  *spawn(fn: Program, opts: SpawnOptions = {}): Blocking<number> {
    if (typeof opts !== 'object' || opts === null) this.fail('spawn', EFAULT);
    if (!is_program(fn)) this.fail('spawn', ENOEXEC);
    const cpu = opts.cpu ?? mycpu.cpuid, uid = opts.uid ?? -1, args = opts.args ?? [];
    if (!int_ok(cpu) || cpu < 0 || cpu >= ncpus || !int_ok(uid) || uid < -1 || !Array.isArray(args) ||
        (opts.name !== undefined && typeof opts.name !== 'string')) this.fail('spawn', EINVAL);
    return yield* this.newproc('spawn', ER_SPAWN, fn, cpu, args, uid, opts.name ?? (fn.name || 'spawn'));
  }

  private *newproc(call: string, kind: number, fn: Program, cpu: number, args: unknown[], uid: number,
      name: string): Blocking<number> {
    const res = this.w + S_RES;
    this.ret(call, fork1(this.p, res));
    const p2 = k32[res];
    const pid = k32[p2 + PROC.p_pid];
    let e = 0;
    if (kind === ER_SPAWN) {
      execsigs(p2);
      yield* fdcloseexec(p2);
      if (uid >= 0) e = setuid(p2, uid);
    }
    if (e === 0) e = yield* exec_request(kind, p2, 0, cpu, fn as ProgramFn, this.handlers, args, name, res);
    if (e !== 0) yield* proc_abandon(p2);
    this.ret(call, e);
    return pid;
  }

  /*
   * thread: another thread of this process, running fn(threadSys, ...opts.args) on CPU
   * opts.cpu (default this one); its id, for join.  The process's descriptors are
   * shared; args and the result are copied (JSON).  EAGAIN beyond P_MAXTHREADS threads.
   * On another CPU of the parallel engine fn must be a module export (ENOEXEC), and
   * signal handlers set in this isolate do not run there.
   */
  *thread(fn: Program, opts: ThreadOptions = {}): Blocking<number> {
    if (typeof opts !== 'object' || opts === null) this.fail('thread', EFAULT);
    if (!is_program(fn)) this.fail('thread', ENOEXEC);
    const cpu = opts.cpu ?? mycpu.cpuid, args = opts.args ?? [];
    if (!int_ok(cpu) || cpu < 0 || cpu >= ncpus || !Array.isArray(args)) this.fail('thread', EINVAL);
    const slot = thread_reserve(this.p);
    if (slot < 0) this.fail('thread', -slot);
    const e = yield* exec_request(ER_THREAD, this.p, slot, cpu, fn as ProgramFn, this.handlers, args,
      fn.name || 'thread', this.w + S_RES);
    if (e !== 0) thread_unreserve(this.p, slot);
    this.ret('thread', e);
    return k32[this.w + S_RES];
  }

  /*
   * join: wait for thread tid of this process to end; its result.  EDEADLK for the
   * calling thread itself, ESRCH for no such thread (or one already joined).  Signals are
   * delivered while it waits; it is not interrupted by them.
   */
  *join(tid: number): Blocking<unknown> {
    if (!int_ok(tid) || tid <= 0) this.fail('join', ESRCH);
    for (;;) {
      const e = yield* kern_thread_join(this.p, tid, k32[this.td + TD.td_id], this.w + S_RES);
      if (e === EINTR || e === ERESTART) {
        this.userret();
        continue;
      }
      this.ret('join', e);
      const blob = k32[this.w + S_RES];
      const v = blob !== NULL ? exec_args_copyout(blob) : undefined;
      exec_args_free(blob);
      return v;
    }
  }

  /*
   * waitpid: reap a child that has exited (pid -1: any; > 0: that one; 0 or < -1: one of
   * a process group): { pid, status } with a wait status for WIFEXITED/WEXITSTATUS/
   * WIFSIGNALED/WTERMSIG.  With WNOHANG, { pid: 0 } while matching children run.  ECHILD
   * when there is no such child; EINTR when a signal interrupts (restarted under
   * SA_RESTART).
   */
  *waitpid(pid = -1, options = 0): Blocking<{ pid: number; status: number }> {
    if (!int_ok(pid) || !int_ok(options) || (options & ~WNOHANG) !== 0) this.fail('waitpid', EINVAL);
    for (;;) {
      const e = yield* kern_wait(this.p, pid, options, this.w + S_RES);
      if (!this.ret('waitpid', e)) return { pid: k32[this.w + S_RES], status: k32[this.w + S_RES + 1] };
    }
  }

  /*
   * exit: end the process with status code & 0xff.  Every other thread ends at its next
   * return from a system call; the main thread closes the descriptors and the parent
   * may reap the status.  Never returns (throws ProcessExit through the program).
   */
  *exit(code = 0): Blocking<never> {
    exit1(this.p, this.td, W_EXITCODE(int_ok(code) ? code : 0, 0));
    this.exited = true;
    throw new ProcessExit();
  }

  /* gettid: this thread's id (what thread() returned for it; the main thread's too). */
  *gettid(): Blocking<number> { this.userret(); return k32[this.td + TD.td_id]; }

  /* getppid: the parent's pid; 0 when there is none (spawned by the host, or orphaned). */
  *getppid(): Blocking<number> { this.userret(); return kern_getppid(this.p); }
}

/* Copy an ASCII string into dst; its length, or -1 if it does not fit. */
function ascii_into(s: string, dst: Uint8Array): number {
  if (s.length > dst.length) return -1;
  for (let i = 0; i < s.length; i++) dst[i] = s.charCodeAt(i);
  return s.length;
}

/* Encode s as UTF-8 into dst; its length, or -1 if it does not fit. */
function utf8_into(s: string, dst: Uint8Array): number {
  const b = encoder.encode(s);
  if (b.length > dst.length) return -1;
  dst.set(b);
  return b.length;
}

syscall_install(Sys);

// The kernel makes a program's Sys through this (kern_exec.ts: kern imports no libc).
exec_set_image((p, td, w, handlers) => new Sys(p, td, w, handlers));
