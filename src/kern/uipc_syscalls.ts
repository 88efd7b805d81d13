/*
 * uipc_syscalls.ts: the kernel halves of the socket system calls, on the calling
 * thread's process (td_proc) and its descriptor table.
 * Mirrors DragonFly 2008 sys/kern/uipc_syscalls.c (dragonfly.md 4.15, SEED): kern_socket,
 * kern_bind, kern_listen, kern_accept, kern_connect, kern_socketpair, kern_sendmsg,
 * kern_recvmsg, kern_shutdown, kern_setsockopt, kern_getsockopt, kern_getsockname,
 * kern_getpeername, with getsockaddr; in its order.  kern_socketpair does the FreeBSD 2.1
 * walkthrough's steps in its order (socreate x2, falloc x2, soconnect2, the second
 * soconnect2 for datagrams) and unwinds exactly what was done.
 *
 * Differs:
 *  - Results come back through kmem words (C's int *res, struct sockaddr **, int *sv);
 *    a user buffer is a Uint8Array with an offset and a length, moved by a Uio.
 *  - Every argument is checked before anything is touched: a non-integer or out-of-range
 *    descriptor is EBADF, a bad enum or length EINVAL, a kmem pointer outside kmem
 *    EFAULT (C's copyin/copyout), so no input can throw or reach a KASSERT.
 *  - Each call takes the BGL in the bgl dispatch model (the 2008 syscall entry held it
 *    for socket calls); tokens nest, so a caller that holds it already is fine.
 *  - accept and connect wait with DragonFly's predicate notify messages
 *    (soaccept_predicate, soconnected_predicate; uipc_msg.ts so_pru_notify), each a
 *    frame on the thread's kstack as C's stack message.  The notify goes to the
 *    listener's serving port (run at once in the caller on the sync port, by the netisr
 *    thread otherwise), waits on so_rcv's (so_snd's for connect) notify list, and is
 *    replied by the sowakeup that makes its predicate true, which for accept dequeues the
 *    connection inside the predicate: two accepts racing connects from other CPUs can
 *    neither lose nor share one.  A signal aborts the wait (netmsg_so_notify_doabort):
 *    EINTR, even with SA_RESTART.
 *  - The scratch words C keeps on the stack (fp, fd, a sockaddr pointer, flags) are a
 *    16-word frame on the thread's kstack (kmalloc16 when it is full: ENOBUFS when that
 *    zone is empty too).
 */

import { FreeList } from '../../shared/freelist.js';
import { k32, ku8 } from '../../shared/kmem.js';
import { invariants_on } from '../../shared/cpu.js';
import { so_queues_inv } from './kern_invariants.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import {
  EALREADY, EBADF, EDOM, EFAULT, EINPROGRESS, EINTR, EINVAL, ENAMETOOLONG, ENOBUFS, ENOTCONN, EPIPE, ERESTART,
  EWOULDBLOCK, ECONNABORTED,
} from '../../shared/errno.js';
import { Z_KMALLOC16, Z_KMALLOC64, Z_MSG } from '../../shared/zone.js';
import { kfail_zalloc } from './kern_fail.js';
import { kstack_get, kstack_put } from '../lwkt/lwkt_kstack.js';
import { done_num, done_value, is_done, type Blocking } from '../../shared/effect.js';
import { Cont, FINISHED } from '../../shared/cont.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_REMOVE } from '../../shared/tailq.js';
import { curthread } from '../lwkt/globaldata.js';
import { TD } from '../lwkt/thread.js';
import { PCATCH } from '../lwkt/kern_synch.js';
import { get_mplock, rel_mplock } from '../lwkt/lwkt_token.js';
import { DTYPE_SOCKET, FASYNC, FILE, FIOASYNC, FIONBIO, FNONBLOCK, FREAD, FWRITE } from '../sys/file.js';
import { PROC, SIGPIPE } from '../sys/proc.js';
import { SEL, SO, SSB, SS_CANTRCVMORE, SS_COMP, SS_ISCONFIRMING, SS_ISCONNECTED, SS_ISCONNECTING } from '../sys/socketvar.js';
import {
  MSG_FBLOCKING, MSG_FNONBLOCKING, MSG_NOSIGNAL, SOCK_DGRAM, SOCK_MAXADDRLEN, SO_ACCEPTCONN, SO_NOSIGPIPE,
} from '../sys/socket.js';
import { falloc, fdrop, fileops_of, fsetfd, holdfp, holdsock } from './kern_descrip.js';
import { psignal } from './kern_proc.js';
import { ktrace_step } from './kern_ktrace.js';
import { KNOTE } from './sys_generic.js';
import { m_freem } from './uipc_mbuf.js';
import {
  SOPT, UIO_READ, UIO_WRITE, Uio, soaccept, sobind, soclose, soconnect, soconnect2, socreate, solisten, soreceive,
  sosend, sosetopt, sogetopt,
} from './uipc_socket.js';
import { free_sockaddr, soclrstate } from './uipc_socket2.js';
import {
  NM_FFLAGS, NM_REVENT, NM_SO, SO_DISPATCH_BGL, so_dispatch_model, so_pru_notify, so_pru_peeraddr, so_pru_sockaddr,
} from './uipc_msg.js';
import { MSG } from '../sys/msgport.js';
import { kfunc_on_attach, kfunc_register } from '../lwkt/kfunc.js';
import { O_FBLOCKING, O_FNONBLOCKING, socketops } from './sys_socket.js';

/* Scratch words of one call (scratch_get: a kstack frame, or a kmalloc16 item). */
const W_FP = 0;          // holdsock / falloc: the file
const W_FD = 1;          // falloc: the fd (falloc writes res + 1)
const W_FP2 = 2;         // socketpair: the second file, its fd at W_FP2 + 1
const W_SO = 4;          // socreate's result
const W_SO2 = 5;
const W_SA = 6;          // a sockaddr pointer (pru_sockaddr, soaccept)
const W_INT = 7;         // an ioctl argument
const W_FLAGS = 8;       // soreceive's flags

/* accept's and connect's file-flag overrides. */
const ACCEPT_FFLAGS = O_FBLOCKING | O_FNONBLOCKING;

/* The most a single send or receive moves (C: ssize_t; here a Uint8Array's length). */
const IO_BYTES_MAX = 0x7fffffff;

/* ---- helpers (not in uipc_syscalls.c) ---- */

function bgl(): boolean { return so_dispatch_model() === SO_DISPATCH_BGL; }

function curproc(): Ptr { return k32[curthread() + TD.td_proc]; }

/* A descriptor number: a small non-negative integer. */
function fd_ok(fd: number): boolean { return Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff; }

/* A kmem word the call may write (C: a user pointer copyout would check): NULL allowed when optional. */
function word_ok(w: Ptr): boolean { return Number.isInteger(w) && w > 0 && w < k32.length; }

/* A kmem struct sockaddr at byte address sa: aligned, inside kmem, sa_len within its bounds. */
function sockaddr_check(sa: number): number {
  if (!Number.isInteger(sa) || sa <= 0 || (sa & 3) !== 0 || sa + 2 > ku8.length) return EFAULT;
  const len = ku8[sa];
  if (len < 2) return EDOM;
  if (sa + len > ku8.length) return EFAULT;
  return 0;
}

/* A user buffer range. */
function range_ok(buf: Uint8Array, off: number, len: number): boolean {
  return buf instanceof Uint8Array && Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 &&
    len <= IO_BYTES_MAX && off + len <= buf.length;
}

/*
 * Uios for sends and receives, one per call in flight on this CPU (threads interleave):
 * a free list, so a call allocates no JS object once the CPU has seen as many at once.
 */
const uio_free = new FreeList<Uio>();
function uio_get(): Uio { return uio_free.get() ?? new Uio(); }
function uio_put(uio: Uio): void { uio.buf = EMPTY; uio_free.put(uio); }
const EMPTY = new Uint8Array(0);

/*
 * Run body(p, w) with the BGL (bgl model) and a scratch item w; EBADF without a process,
 * ENOBUFS without scratch.
 */
function* syscall<A extends unknown[]>(body: (p: Ptr, w: Ptr, ...a: A) => Blocking<number>, ...a: A): Blocking<number> {
  const w = syscall_enter();
  if (w < 0) return -w;
  const locked = bgl();
  const lk = sc_lock;
  if (lk !== null) yield* lk;
  const error = yield* body(curproc(), w, ...a);
  return syscall_exit(w, locked, error);
}

/* syscall's end: drop the BGL (bgl model) and the scratch item; returns error. */
function syscall_exit(w: Ptr, locked: boolean, error: number): number {
  if (locked) rel_mplock();
  scratch_put(w);
  return error;
}

/* A call's scratch words: a frame on the thread's kstack, as C's locals; kmalloc16 when it is full. */
function scratch_get(): Ptr { return kstack_get(16, Z_KMALLOC16); }
function scratch_put(w: Ptr): void { kstack_put(w, 16, Z_KMALLOC16); }

/*
 * syscall's start for the plain dispatchers (kern_sendmsg, kern_recvmsg): EBADF without a
 * process, ENOBUFS without scratch (as negative numbers), else the scratch item, its
 * BGL taken when that did not block.  When it would, sc_lock holds the wait (else NULL).
 */
let sc_lock: Blocking<void> | null = null;
function syscall_enter(): number {
  const p = curproc();
  if (p === NULL || k32[p + PROC.p_fd] === NULL) return -EBADF;
  const w = scratch_get();
  if (w === NULL) return -ENOBUFS;
  sc_lock = null;
  if (bgl()) {
    const lk = get_mplock();
    if (!is_done(lk)) sc_lock = lk;
  }
  return w;
}

/* The end of a plain dispatcher's system call: at once, or in a SyscallWait if body blocked. */
function syscall_finish(w: Ptr, locked: boolean, body: Blocking<number>): Blocking<number> {
  if (!is_done(body)) return (syscall_waits.get() ?? new SyscallWait()).start(w, locked, body);
  return done_num(syscall_exit(w, locked, done_value(body)));
}

/*
 * The rest of a plain dispatcher's system call as a reusable continuation
 * (shared/cont.ts): after a body that blocked, syscall_exit (start); or, when the BGL
 * had to be waited for, the wait, then kern_sendmsg's or kern_recvmsg's body with the
 * call's arguments, then syscall_exit (locked).
 */
class SyscallWait extends Cont {
  private w = NULL;
  private locked = false;
  private body = false;            // the body is still to run (after the BGL wait)
  private recv = false;
  private p = NULL;
  private s = 0;
  private sa = NULL;               // sa, or recv's psa
  private buf: Uint8Array = EMPTY;
  private off = 0;
  private len = 0;
  private control = NULL;          // control, or recv's controlp
  private flags = 0;               // flags, or recv's flagsp
  private res = NULL;

  constructor() { super(0); }

  start(w: Ptr, locked: boolean, body: Blocking<number>): this {
    this.w = w; this.locked = locked; this.body = false;
    return this.begin(body);
  }

  locked_call(lk: Blocking<void>, w: Ptr, recv: boolean, p: Ptr, s: number, sa: Ptr, buf: Uint8Array, off: number,
      len: number, control: Ptr, flags: number, res: Ptr): this {
    this.w = w; this.locked = true; this.body = true;
    this.recv = recv; this.p = p; this.s = s; this.sa = sa; this.buf = buf; this.off = off; this.len = len;
    this.control = control; this.flags = flags; this.res = res;
    return this.begin(lk);
  }

  protected step(v: unknown): Blocking<number> | null {
    if (this.body) {
      this.body = false;
      const buf = this.buf;
      this.buf = EMPTY;
      return this.recv ?
        kern_recvmsg_body(this.p, this.w, this.s, this.sa, buf, this.off, this.len, this.control, this.flags, this.res) :
        kern_sendmsg_body(this.p, this.w, this.s, this.sa, buf, this.off, this.len, this.control, this.flags, this.res);
    }
    this.result = syscall_exit(this.w, this.locked, v as number);
    return FINISHED;
  }

  protected release(): void { syscall_waits.put(this); }
}
const syscall_waits = new FreeList<SyscallWait>();

/* holdsock on s with its number checked first; the file in k32[w + W_FP]. */
function getsock(p: Ptr, s: number, w: Ptr): number {
  if (!fd_ok(s)) return EBADF;
  return holdsock(k32[p + PROC.p_fd], s, w + W_FP);
}

/* ---- the system calls ---- */

/*
 * kern_socket: a socket of (domain, type, protocol) on the lowest free descriptor, stored
 * in the kmem word res.  falloc first (EMFILE/ENFILE), then socreate (EPROTONOSUPPORT,
 * EPROTOTYPE, ENOBUFS, the protocol's attach errno); a failed socreate releases the
 * reserved descriptor and the file.  EINVAL for a non-integer argument.  Blocks.
 */
export function kern_socket(domain: number, type: number, protocol: number, res: Ptr): Blocking<number> {
  return syscall(kern_socket_body, domain, type, protocol, res);
}

function* kern_socket_body(p: Ptr, w: Ptr, domain: number, type: number, protocol: number, res: Ptr): Blocking<number> {
  if (!Number.isInteger(domain) || !Number.isInteger(type) || !Number.isInteger(protocol)) return EINVAL;
  if (!word_ok(res)) return EFAULT;
  let error = falloc(p, w + W_FP);
  if (error !== 0) return error;
  const fp = k32[w + W_FP], fd = k32[w + W_FD];
  error = yield* socreate(domain, w + W_SO, type, protocol, curthread());
  if (error !== 0) {
    fsetfd(p, NULL, fd);
  } else {
    k32[fp + FILE.f_type] = DTYPE_SOCKET;
    k32[fp + FILE.f_flag] = FREAD | FWRITE;
    k32[fp + FILE.f_data] = k32[w + W_SO];
    k32[fp + FILE.f_ops] = socketops.fo_id;
    k32[res] = fd;
    fsetfd(p, fp, fd);
  }
  yield* fdrop(fp);
  return error;
}

/*
 * getsockaddr: copy a caller's sockaddr of len bytes from uaddr into kmem (kmalloc16 up
 * to 64 bytes, else kmalloc64), forcing sa_len = len, and store its byte address in the
 * kmem word namp; the caller frees it with free_sockaddr.  ENAMETOOLONG above
 * SOCK_MAXADDRLEN, EDOM below the header (2 bytes), EINVAL for a buffer shorter than len,
 * ENOBUFS without memory.  Never blocks.
 */
export function getsockaddr(namp: Ptr, uaddr: Uint8Array, len: number): number {
  if (!word_ok(namp)) return EFAULT;
  if (!Number.isInteger(len)) return EINVAL;
  if (len > SOCK_MAXADDRLEN) return ENAMETOOLONG;
  if (len < 2) return EDOM;
  if (!(uaddr instanceof Uint8Array) || uaddr.length < len) return EINVAL;
  const sa = kfail_zalloc(len <= 64 ? Z_KMALLOC16 : Z_KMALLOC64);   // the zone fault site (kern_fail.ts)
  if (sa === NULL) return ENOBUFS;
  ku8.set(uaddr.subarray(0, len), sa * 4);
  ku8[sa * 4] = len;
  k32[namp] = sa * 4;
  return 0;
}

/* kern_bind: give socket s the address sa (a kmem sockaddr).  EBADF, ENOTSOCK, EFAULT, EDOM, sobind's.  Blocks. */
export function kern_bind(s: number, sa: number): Blocking<number> { return syscall(kern_bind_body, s, sa); }

function* kern_bind_body(p: Ptr, w: Ptr, s: number, sa: number): Blocking<number> {
  let error = getsock(p, s, w);
  if (error !== 0) return error;
  const fp = k32[w + W_FP];
  error = sockaddr_check(sa);
  if (error === 0) error = yield* sobind(k32[fp + FILE.f_data], sa, curthread());
  yield* fdrop(fp);
  return error;
}

/* kern_listen: make s a listener (solisten: backlog outside 0..somaxconn is somaxconn).  Blocks. */
export function kern_listen(s: number, backlog: number): Blocking<number> { return syscall(kern_listen_body, s, backlog); }

function* kern_listen_body(p: Ptr, w: Ptr, s: number, backlog: number): Blocking<number> {
  let error = getsock(p, s, w);
  if (error !== 0) return error;
  const fp = k32[w + W_FP];
  error = Number.isInteger(backlog) ? yield* solisten(k32[fp + FILE.f_data], backlog, curthread()) : EINVAL;
  yield* fdrop(fp);
  return error;
}

/*
 * kern_accept: take a completed connection off listener s onto a new descriptor, stored
 * in the kmem word res.  The descriptor is reserved (falloc) before waiting: EMFILE and
 * ENFILE come at once, connection or not.  EINVAL for a negative *namelen or a socket
 * not listening.  Waits (PCATCH) with a soaccept_predicate notify message until a
 * connection is queued, which the predicate dequeues; returns the listener's pending so_error (not cleared), ECONNABORTED once it
 * cannot receive, EWOULDBLOCK when non-blocking (the listener's FNONBLOCK, or fflags'
 * O_FNONBLOCKING; O_FBLOCKING overrides it), EINTR on a signal (SA_RESTART or not).  The
 * new file gets the listener's f_flag (FNONBLOCK and FASYNC pushed down by ioctl) and its
 * SIGIO owner.  With name and namelen (kmem words, or NULL), *name receives the peer's
 * address (a sockaddr the caller frees with free_sockaddr, or 0 when the protocol has
 * none) and *namelen its length, at most the *namelen given.  Blocks.
 */
export function kern_accept(s: number, fflags: number, name: Ptr, namelen: Ptr, res: Ptr): Blocking<number> {
  return syscall(kern_accept_body, s, fflags, name, namelen, res);
}

function* kern_accept_body(p: Ptr, w: Ptr, s: number, fflags: number, name: Ptr, namelen: Ptr,
    res: Ptr): Blocking<number> {
  if (!word_ok(res) || (name !== NULL && !word_ok(name)) || (namelen !== NULL && !word_ok(namelen))) return EFAULT;
  if (!Number.isInteger(fflags) || (fflags & ~ACCEPT_FFLAGS) !== 0) return EINVAL;
  if (name !== NULL && namelen !== NULL && k32[namelen] < 0) return EINVAL;
  let error = getsock(p, s, w);
  if (error !== 0) return error;
  const lfp = k32[w + W_FP];
  error = falloc(p, w + W_FP2);
  if (error !== 0) {
    yield* fdrop(lfp);
    return error;
  }
  const nfp = k32[w + W_FP2], fd = k32[w + W_FP2 + 1];
  const head = k32[lfp + FILE.f_data];
  const lflag = Atomics.load(k32, lfp + FILE.f_flag);
  let nonblock = (lflag & FNONBLOCK) !== 0;
  if ((fflags & O_FBLOCKING) !== 0) nonblock = false;
  else if ((fflags & O_FNONBLOCKING) !== 0) nonblock = true;
  done: {
    if ((k32[head + SO.so_options] & SO_ACCEPTCONN) === 0) {
      error = EINVAL;
      break done;
    }
    // The predicate dequeues the connection for us (into W_SO).
    error = yield* notify_wait(head, pred.accept, nonblock, NM_REVENT, w + W_SO);
    if (error !== 0) break done;
    const so = k32[w + W_SO];
    soclrstate(so, SS_COMP);
    k32[so + SO.so_head] = NULL;
    KNOTE(head + SO.so_rcv + SSB.ssb_sel + SEL.si_note, 0);
    k32[so + SO.so_sigio] = k32[head + SO.so_sigio];
    k32[nfp + FILE.f_type] = DTYPE_SOCKET;
    k32[nfp + FILE.f_flag] = lflag & (FREAD | FWRITE | FNONBLOCK | FASYNC);
    k32[nfp + FILE.f_data] = so;
    k32[nfp + FILE.f_ops] = socketops.fo_id;
    // Sync the socket's non-blocking and async state with the file flags.
    k32[w + W_INT] = lflag & FNONBLOCK;
    yield* socketops.fo_ioctl(nfp, FIONBIO, w + W_INT, k32[nfp + FILE.f_cred]);
    k32[w + W_INT] = lflag & FASYNC;
    yield* socketops.fo_ioctl(nfp, FIOASYNC, w + W_INT, k32[nfp + FILE.f_cred]);
    k32[w + W_SA] = NULL;
    error = soaccept(so, w + W_SA);
    const sa = k32[w + W_SA];
    if (error === 0 && sa !== NULL && name !== NULL && namelen !== NULL) {
      if (k32[namelen] > ku8[sa]) k32[namelen] = ku8[sa];
      k32[name] = sa;
    } else {
      if (sa !== NULL) free_sockaddr(sa);
      if (error === 0 && name !== NULL && namelen !== NULL) {
        k32[name] = NULL;
        k32[namelen] = 0;
      }
    }
  }
  // An error releases the reserved descriptor, else nfp goes there.
  if (error !== 0) {
    fsetfd(p, NULL, fd);
  } else {
    k32[res] = fd;
    fsetfd(p, nfp, fd);
  }
  yield* fdrop(nfp);
  yield* fdrop(lfp);
  return error;
}

/*
 * soaccept_predicate (a notify message's predicate, run where the message is, under
 * head.so_rcv's ssb_spin: at once in kern_accept's netmsg_so_notify, or in sowakeup):
 * the listener's so_error (returned, not cleared); a completed connection, dequeued here
 * into the message's nm_so; ECONNABORTED once the listener cannot receive; EWOULDBLOCK
 * for a non-blocking accept; otherwise false (wait).
 */
function soaccept_predicate(msg: Ptr): boolean {
  const head = k32[msg + NM_SO];
  if (k32[head + SO.so_error] !== 0) {
    k32[msg + MSG.ms_error] = k32[head + SO.so_error];
    return true;
  }
  if (!TAILQ_EMPTY(head + SO.so_comp)) {
    const so = TAILQ_FIRST(head + SO.so_comp);
    TAILQ_REMOVE(head + SO.so_comp, so, SO.so_list);
    k32[head + SO.so_qlen]--;
    if (invariants_on) so_queues_inv(head);
    k32[msg + NM_SO] = so;            // "abuse nm_so as a copy in/copy out parameter"
    k32[msg + MSG.ms_error] = 0;
    return true;
  }
  if ((Atomics.load(k32, head + SO.so_state) & SS_CANTRCVMORE) !== 0) {
    k32[msg + MSG.ms_error] = ECONNABORTED;
    return true;
  }
  if ((k32[msg + NM_FFLAGS] & FNONBLOCK) !== 0) {
    k32[msg + MSG.ms_error] = EWOULDBLOCK;
    return true;
  }
  return false;
}

/* soconnected_predicate: the connect is no longer under way, or failed; its so_error. */
function soconnected_predicate(msg: Ptr): boolean {
  const so = k32[msg + NM_SO];
  if ((Atomics.load(k32, so + SO.so_state) & SS_ISCONNECTING) === 0 || k32[so + SO.so_error] !== 0) {
    k32[msg + MSG.ms_error] = k32[so + SO.so_error];
    return true;
  }
  return false;
}

const pred = { accept: 0, connected: 0 };
function register_predicates(): void {
  pred.accept = kfunc_register('soaccept_predicate', soaccept_predicate as (...a: number[]) => unknown);
  pred.connected = kfunc_register('soconnected_predicate', soconnected_predicate as (...a: number[]) => unknown);
}
register_predicates();
kfunc_on_attach(register_predicates);

/*
 * Wait for a notify predicate on so (kern_accept, kern_connect): an abortable
 * netmsg_so_notify, C's stack message, a frame on this thread's kstack.  A signal gives
 * EINTR, never ERESTART: the thread port does not restart (dragonfly.md 4.15).  The
 * predicate's nm_so result goes to the kmem word sop when given.  Blocks.
 */
function* notify_wait(so: Ptr, predicate: number, nonblock: boolean, etype: number, sop: Ptr): Blocking<number> {
  const msg = kstack_get(MSG.SIZE, Z_MSG);
  if (msg === NULL) return ENOBUFS;
  const error = yield* so_pru_notify(msg, so, predicate, nonblock ? FNONBLOCK : 0, etype, PCATCH);
  if (error === 0 && sop !== NULL) k32[sop] = k32[msg + NM_SO];
  kstack_put(msg, MSG.SIZE, Z_MSG);
  return error === ERESTART ? EINTR : error;
}

/*
 * kern_connect: connect s to sa (a kmem sockaddr).  EALREADY while a connect is under
 * way; soconnect's errors; EINPROGRESS when non-blocking (the file's FNONBLOCK or
 * fflags' O_FNONBLOCKING) and still connecting.  Otherwise waits (PCATCH) with a
 * soconnected_predicate notify message while connecting, then returns and clears
 * so_error.  SS_ISCONNECTING is cleared unless
 * the wait was interrupted; ERESTART becomes EINTR.  Blocks.
 */
export function kern_connect(s: number, fflags: number, sa: number): Blocking<number> {
  return syscall(kern_connect_body, s, fflags, sa);
}

function* kern_connect_body(p: Ptr, w: Ptr, s: number, fflags: number, sa: number): Blocking<number> {
  if (!Number.isInteger(fflags) || (fflags & ~ACCEPT_FFLAGS) !== 0) return EINVAL;
  let error = getsock(p, s, w);
  if (error !== 0) return error;
  const fp = k32[w + W_FP];
  const so = k32[fp + FILE.f_data];
  let nonblock = (Atomics.load(k32, fp + FILE.f_flag) & FNONBLOCK) !== 0;
  if ((fflags & O_FBLOCKING) !== 0) nonblock = false;
  else if ((fflags & O_FNONBLOCKING) !== 0) nonblock = true;
  let interrupted = false;
  done: {
    error = sockaddr_check(sa);
    if (error !== 0) break done;
    if ((Atomics.load(k32, so + SO.so_state) & SS_ISCONNECTING) !== 0) {
      error = EALREADY;
      break done;
    }
    bad: {
      error = yield* soconnect(so, sa, curthread());
      if (error !== 0) break bad;
      if (nonblock && (Atomics.load(k32, so + SO.so_state) & SS_ISCONNECTING) !== 0) {
        error = EINPROGRESS;
        break done;
      }
      if ((Atomics.load(k32, so + SO.so_state) & SS_ISCONNECTING) !== 0 && k32[so + SO.so_error] === 0) {
        // NM_REVENT as in C: soisconnected and soisdisconnected wake both buffers.
        error = yield* notify_wait(so, pred.connected, false, NM_REVENT, NULL);
        if (error === EINTR || error === ERESTART) interrupted = true;
      }
      // so_error is taken (and cleared) only when nothing failed before it, as C does.
      if (error === 0) {
        error = k32[so + SO.so_error];
        k32[so + SO.so_error] = 0;
      }
    }
    if (!interrupted) soclrstate(so, SS_ISCONNECTING);
    if (error === ERESTART) error = EINTR;
  }
  yield* fdrop(fp);
  return error;
}

/*
 * kern_socketpair: two connected sockets of (domain, type, protocol) on the two lowest
 * free descriptors, stored in the kmem words sv and sv + 1.  The walkthrough's order:
 * socreate so1 and so2, falloc fp1 and fp2, soconnect2(so1, so2) and, for a datagram
 * pair, soconnect2(so2, so1) (a datagram connection is one-way).  A failure unwinds
 * exactly what was done, in reverse: the reserved descriptors and files, then soclose
 * of so2 and so1.  The files get their operations only once the pair is made.  Blocks.
 */
export function kern_socketpair(domain: number, type: number, protocol: number, sv: Ptr): Blocking<number> {
  return syscall(kern_socketpair_body, domain, type, protocol, sv);
}

function* kern_socketpair_body(p: Ptr, w: Ptr, domain: number, type: number, protocol: number,
    sv: Ptr): Blocking<number> {
  if (!Number.isInteger(domain) || !Number.isInteger(type) || !Number.isInteger(protocol)) return EINVAL;
  if (!word_ok(sv) || !word_ok(sv + 1)) return EFAULT;
  ktrace_step('socketpair', domain, type, protocol);
  const td = curthread();
  let error = yield* socreate(domain, w + W_SO, type, protocol, td);
  if (error !== 0) return error;
  const so1 = k32[w + W_SO];
  free1: {
    error = yield* socreate(domain, w + W_SO2, type, protocol, td);
    if (error !== 0) break free1;
    const so2 = k32[w + W_SO2];
    free2: {
      error = falloc(p, w + W_FP);
      if (error !== 0) break free2;
      const fp1 = k32[w + W_FP], fd1 = k32[w + W_FD];
      k32[fp1 + FILE.f_data] = so1;
      free3: {
        error = falloc(p, w + W_FP2);
        if (error !== 0) break free3;
        const fp2 = k32[w + W_FP2], fd2 = k32[w + W_FP2 + 1];
        k32[fp2 + FILE.f_data] = so2;
        free4: {
          error = yield* soconnect2(so1, so2);
          if (error !== 0) break free4;
          if (type === SOCK_DGRAM) {
            // Datagram socket connection is asymmetric.
            error = yield* soconnect2(so2, so1);
            if (error !== 0) break free4;
          }
          k32[fp1 + FILE.f_type] = DTYPE_SOCKET;
          k32[fp2 + FILE.f_type] = DTYPE_SOCKET;
          k32[fp1 + FILE.f_flag] = FREAD | FWRITE;
          k32[fp2 + FILE.f_flag] = FREAD | FWRITE;
          k32[fp1 + FILE.f_ops] = socketops.fo_id;
          k32[fp2 + FILE.f_ops] = socketops.fo_id;
          fsetfd(p, fp1, fd1);
          fsetfd(p, fp2, fd2);
          yield* fdrop(fp1);
          yield* fdrop(fp2);
          k32[sv] = fd1;
          k32[sv + 1] = fd2;
          return 0;
        }
        fsetfd(p, NULL, fd2);
        yield* fdrop(fp2);               // badfileops: the file only
      }
      fsetfd(p, NULL, fd1);
      yield* fdrop(fp1);
    }
    yield* soclose(so2, 0);
  }
  yield* soclose(so1, 0);
  return error;
}

/*
 * kern_sendmsg: send len bytes of buf from off on s, to sa (a kmem sockaddr, or NULL for
 * the connected peer), with control (an MT_CONTROL mbuf or NULL, consumed in every
 * case), storing the bytes sent in the kmem word res.  Non-blocking when the file is
 * FNONBLOCK (unless MSG_FBLOCKING).  EPIPE raises SIGPIPE in the process unless
 * MSG_NOSIGNAL or SO_NOSIGPIPE.  EINTR, ERESTART and EWOULDBLOCK after some data moved
 * become success with the short count.  Unknown flags are ignored (DragonFly passes them
 * to sosend unchecked; only MSG_EOR on a stream is EINVAL there); EINVAL for a bad buffer
 * range.  Blocks.
 */
export function kern_sendmsg(s: number, sa: number, buf: Uint8Array, off: number, len: number, control: Ptr,
    flags: number, res: Ptr): Blocking<number> {
  // syscall() by hand, without its rest arguments: plain unless something blocks.
  const w = syscall_enter();
  if (w < 0) return done_num(-w);
  const locked = bgl();
  if (sc_lock !== null) {
    return (syscall_waits.get() ?? new SyscallWait()).locked_call(sc_lock, w, false, curproc(), s, sa, buf, off, len,
      control, flags, res);
  }
  const body = kern_sendmsg_body(curproc(), w, s, sa, buf, off, len, control, flags, res);
  return syscall_finish(w, locked, body);
}

/* Plain up to sosend; the rest in a MsgWait when sosend blocks (fdrop_wait when the last fdrop does). */
function kern_sendmsg_body(p: Ptr, w: Ptr, s: number, sa: number, buf: Uint8Array, off: number, len: number,
    control: Ptr, flags: number, res: Ptr): Blocking<number> {
  let error = 0;
  done: {
    if (!word_ok(res)) { error = EFAULT; break done; }
    if (!Number.isInteger(flags) || !range_ok(buf, off, len)) { error = EINVAL; break done; }
    if (sa !== NULL && (error = sockaddr_check(sa)) !== 0) break done;
    error = getsock(p, s, w);
    if (error !== 0) break done;
    const fp = k32[w + W_FP];
    const so = k32[fp + FILE.f_data];
    if ((flags & MSG_FBLOCKING) === 0 && (Atomics.load(k32, fp + FILE.f_flag) & FNONBLOCK) !== 0) flags |= MSG_FNONBLOCKING;
    const td = curthread();
    const uio = uio_get();
    uio.buf = buf; uio.offset = off; uio.resid = len; uio.rw = UIO_WRITE; uio.td = td;
    const send = sosend(so, sa, uio, NULL, control, flags & ~MSG_FBLOCKING, td);
    // sosend consumed control.
    if (!is_done(send)) return (msg_waits.get() ?? new MsgWait()).start(send, false, p, w, fp, uio, len, flags, NULL, res);
    error = sendmsg_done(p, fp, uio, len, flags, res, done_value(send));
    const drop = fdrop(fp);
    if (!is_done(drop)) return fdrop_wait(drop, error);
    return done_num(error);
  }
  if (control !== NULL) m_freem(control);
  return done_num(error);
}

/* kern_sendmsg after sosend: the count, the short-count rule, SIGPIPE; returns the errno. */
function sendmsg_done(p: Ptr, fp: Ptr, uio: Uio, len: number, flags: number, res: Ptr, error: number): number {
  const so = k32[fp + FILE.f_data];
  const moved = len - uio.resid;
  uio_put(uio);
  if (error !== 0) {
    if (moved !== 0 && (error === ERESTART || error === EINTR || error === EWOULDBLOCK)) error = 0;
    if (error === EPIPE && (flags & MSG_NOSIGNAL) === 0 && (k32[so + SO.so_options] & SO_NOSIGPIPE) === 0) {
      psignal(p, SIGPIPE);
    }
  }
  if (error === 0) k32[res] = moved;
  return error;
}

/*
 * kern_sendmsg and kern_recvmsg after a sosend or soreceive that blocked, as a reusable
 * continuation (shared/cont.ts): the count and the rest (sendmsg_done or recvmsg_done),
 * then the fdrop (which blocks only in a last close).
 */
class MsgWait extends Cont {
  private recv = false;
  private p = NULL;
  private w = NULL;
  private fp = NULL;
  private uio: Uio | null = null;
  private len = 0;
  private flags = 0;
  private flagsp = NULL;
  private res = NULL;
  private dropping = false;

  constructor() { super(0); }

  start(io: Blocking<number>, recv: boolean, p: Ptr, w: Ptr, fp: Ptr, uio: Uio, len: number, flags: number,
      flagsp: Ptr, res: Ptr): this {
    this.recv = recv; this.p = p; this.w = w; this.fp = fp; this.uio = uio; this.len = len; this.flags = flags;
    this.flagsp = flagsp; this.res = res;
    this.dropping = false;
    return this.begin(io);
  }

  protected step(v: unknown): Blocking<number> | null {
    if (this.dropping) return FINISHED;
    const uio = this.uio!;
    this.uio = null;
    this.result = this.recv ? recvmsg_done(this.w, uio, this.len, this.flagsp, this.res, v as number) :
      sendmsg_done(this.p, this.fp, uio, this.len, this.flags, this.res, v as number);
    this.dropping = true;
    return fdrop(this.fp);
  }

  protected release(): void { msg_waits.put(this); }
}
const msg_waits = new FreeList<MsgWait>();

/* The last fdrop blocked (fo_close): wait for it, then return error. */
function* fdrop_wait(drop: Blocking<number>, error: number): Blocking<number> {
  yield* drop;
  return error;
}

/*
 * kern_recvmsg: receive up to len bytes into buf from off on s, storing the count in the
 * kmem word res.  psa (a kmem word, or NULL) receives the sender's address (free it with
 * free_sockaddr) or 0; controlp (or NULL) the control mbufs; flagsp (or NULL) gives the
 * MSG_* flags in and receives the flags out (MSG_EOR, MSG_TRUNC, MSG_OOB).  Non-blocking
 * when the file is FNONBLOCK (unless MSG_FBLOCKING).  EINTR, ERESTART and EWOULDBLOCK
 * after some data moved become success with the short count.  Unknown flags are ignored;
 * EINVAL for a bad buffer range.  Blocks.
 */
export function kern_recvmsg(s: number, psa: Ptr, buf: Uint8Array, off: number, len: number, controlp: Ptr,
    flagsp: Ptr, res: Ptr): Blocking<number> {
  // syscall() by hand, as kern_sendmsg.
  const w = syscall_enter();
  if (w < 0) return done_num(-w);
  const locked = bgl();
  if (sc_lock !== null) {
    return (syscall_waits.get() ?? new SyscallWait()).locked_call(sc_lock, w, true, curproc(), s, psa, buf, off, len,
      controlp, flagsp, res);
  }
  const body = kern_recvmsg_body(curproc(), w, s, psa, buf, off, len, controlp, flagsp, res);
  return syscall_finish(w, locked, body);
}

/* Plain up to soreceive; the rest in a MsgWait when soreceive blocks (fdrop_wait when the last fdrop does). */
function kern_recvmsg_body(p: Ptr, w: Ptr, s: number, psa: Ptr, buf: Uint8Array, off: number, len: number,
    controlp: Ptr, flagsp: Ptr, res: Ptr): Blocking<number> {
  if (!word_ok(res) || (psa !== NULL && !word_ok(psa)) || (controlp !== NULL && !word_ok(controlp)) ||
      (flagsp !== NULL && !word_ok(flagsp))) return done_num(EFAULT);
  let flags = flagsp !== NULL ? k32[flagsp] : 0;
  if (!range_ok(buf, off, len)) return done_num(EINVAL);
  if (psa !== NULL) k32[psa] = NULL;
  if (controlp !== NULL) k32[controlp] = NULL;
  let error = getsock(p, s, w);
  if (error !== 0) return done_num(error);
  const fp = k32[w + W_FP];
  const so = k32[fp + FILE.f_data];
  if ((flags & MSG_FBLOCKING) === 0 && (Atomics.load(k32, fp + FILE.f_flag) & FNONBLOCK) !== 0) flags |= MSG_FNONBLOCKING;
  k32[w + W_FLAGS] = flags & ~MSG_FBLOCKING;
  const uio = uio_get();
  uio.buf = buf; uio.offset = off; uio.resid = len; uio.rw = UIO_READ; uio.td = curthread();
  const recv = soreceive(so, psa, uio, NULL, controlp, w + W_FLAGS);
  if (!is_done(recv)) return (msg_waits.get() ?? new MsgWait()).start(recv, true, p, w, fp, uio, len, 0, flagsp, res);
  error = recvmsg_done(w, uio, len, flagsp, res, done_value(recv));
  const drop = fdrop(fp);
  if (!is_done(drop)) return fdrop_wait(drop, error);
  return done_num(error);
}

/* kern_recvmsg after soreceive: the count, the short-count rule, the flags out; the errno. */
function recvmsg_done(w: Ptr, uio: Uio, len: number, flagsp: Ptr, res: Ptr, error: number): number {
  const moved = len - uio.resid;
  uio_put(uio);
  if (error !== 0 && moved !== 0 && (error === ERESTART || error === EINTR || error === EWOULDBLOCK)) error = 0;
  if (error === 0) k32[res] = moved;
  if (flagsp !== NULL) k32[flagsp] = k32[w + W_FLAGS] & ~(MSG_FNONBLOCKING | MSG_FBLOCKING);
  return error;
}

/*
 * kern_shutdown: shut down part of s's connection (fo_shutdown: SHUT_RD, SHUT_WR,
 * SHUT_RDWR; EINVAL otherwise).  EBADF for a bad descriptor.  A listener shut for
 * reading wakes its accept sleepers (file header).  Blocks.
 */
export function kern_shutdown(s: number, how: number): Blocking<number> { return syscall(kern_shutdown_body, s, how); }

function* kern_shutdown_body(p: Ptr, _w: Ptr, s: number, how: number): Blocking<number> {
  if (!fd_ok(s)) return EBADF;
  const fp = holdfp(k32[p + PROC.p_fd], s, -1);
  if (fp === NULL) return EBADF;
  const error = Number.isInteger(how) ? yield* fileops_of(fp).fo_shutdown(fp, how) : EINVAL;
  yield* fdrop(fp);
  return error;
}

/* The checks kern_setsockopt and kern_getsockopt share: EFAULT for a bad sopt or value range, EINVAL for a bad size. */
function sopt_check(sopt: Ptr): number {
  if (!word_ok(sopt) || !word_ok(sopt + SOPT.SIZE - 1)) return EFAULT;
  const val = k32[sopt + SOPT.sopt_val], valsize = k32[sopt + SOPT.sopt_valsize];
  if (valsize < 0) return EINVAL;
  if (val === NULL && valsize !== 0) return EFAULT;
  if (val < 0 || val + valsize > ku8.length) return EFAULT;
  return 0;
}

/*
 * kern_setsockopt / kern_getsockopt: sosetopt / sogetopt on s with the kmem struct
 * sockopt sopt (level, name, value range); its sopt_td becomes the caller.  EFAULT for a
 * NULL value with a size, or a range outside kmem; EINVAL for a negative size.  Blocks.
 */
export function kern_setsockopt(s: number, sopt: Ptr): Blocking<number> { return syscall(kern_sockopt_body, s, sopt, 1); }
export function kern_getsockopt(s: number, sopt: Ptr): Blocking<number> { return syscall(kern_sockopt_body, s, sopt, 0); }

function* kern_sockopt_body(p: Ptr, w: Ptr, s: number, sopt: Ptr, set: number): Blocking<number> {
  let error = sopt_check(sopt);
  if (error !== 0) return error;
  error = getsock(p, s, w);
  if (error !== 0) return error;
  const fp = k32[w + W_FP];
  k32[sopt + SOPT.sopt_td] = curthread();
  const so = k32[fp + FILE.f_data];
  error = set !== 0 ? yield* sosetopt(so, sopt) : yield* sogetopt(so, sopt);
  yield* fdrop(fp);
  return error;
}

/*
 * kern_getsockname / kern_getpeername: s's own or its peer's address: *name (a kmem
 * word) receives a sockaddr the caller frees with free_sockaddr, *namelen (in: room,
 * out: length) at most its sa_len; a protocol with no address gives *namelen 0 and
 * *name 0.  EINVAL for a negative *namelen; getpeername: ENOTCONN unless connected (or
 * confirming).  Blocks.
 */
export function kern_getsockname(s: number, name: Ptr, namelen: Ptr): Blocking<number> {
  return syscall(kern_getname_body, s, name, namelen, 0);
}
export function kern_getpeername(s: number, name: Ptr, namelen: Ptr): Blocking<number> {
  return syscall(kern_getname_body, s, name, namelen, 1);
}

function* kern_getname_body(p: Ptr, w: Ptr, s: number, name: Ptr, namelen: Ptr, peer: number): Blocking<number> {
  if (!word_ok(name) || !word_ok(namelen)) return EFAULT;
  let error = getsock(p, s, w);
  if (error !== 0) return error;
  const fp = k32[w + W_FP];
  const so = k32[fp + FILE.f_data];
  done: {
    if (k32[namelen] < 0) { error = EINVAL; break done; }
    if (peer !== 0 && (Atomics.load(k32, so + SO.so_state) & (SS_ISCONNECTED | SS_ISCONFIRMING)) === 0) {
      error = ENOTCONN;
      break done;
    }
    k32[w + W_SA] = NULL;
    error = peer !== 0 ? yield* so_pru_peeraddr(so, w + W_SA) : yield* so_pru_sockaddr(so, w + W_SA);
    if (error !== 0) break done;
    const sa = k32[w + W_SA];
    if (sa === NULL) {
      k32[namelen] = 0;
      k32[name] = NULL;
    } else {
      if (k32[namelen] > ku8[sa]) k32[namelen] = ku8[sa];
      k32[name] = sa;
    }
  }
  yield* fdrop(fp);
  return error;
}

KASSERT(W_FLAGS < 16, 'uipc_syscalls: scratch words exceed a kmalloc16 item');
