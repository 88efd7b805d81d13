/*
 * uipc_socket.ts: the protocol-independent socket core: socket life (soalloc .. sofree),
 * connection set-up and tear-down, sosend and soreceive, shutdown and flush, and the
 * SOL_SOCKET options.
 * Mirrors DragonFly sys/kern/uipc_socket.c rev 1.55 (2008, dragonfly.md "SEED" 4.6-4.8,
 * 4.11) function for function, in its order; uiomove (kern_subr.c) and struct uio are
 * here too, reduced to what a socket needs.
 *
 * Differs where the simulation forces it:
 *  - struct uio is a small reusable JS object (Uio) naming a caller's Uint8Array, a cursor
 *    and the bytes left: one per caller, re-initialised per call, so sosend and soreceive
 *    allocate no JS object per call.  Bytes move with shared/kview.ts's copyin/copyout
 *    (Uint8Array.set or copyWithin, with views from its caches, or a byte loop for a few
 *    bytes), so a steady stream of copies makes no object.
 *  - The mbufs of a sockbuf are guarded by its ssb_spin in every model; soreceive holds
 *    so_rcv's while it unlinks and copies (uiomove cannot fault or block here), and drops
 *    it before anything that may block (ssb_wait, so_pru_rcvd).
 *  - A sleep for data or space publishes SSB_WAIT and then re-checks its condition
 *    (inside a critical section, after tsleep_interlock) before sleeping: with no BGL
 *    around sosend/soreceive (the netisr model) a wake-up can otherwise fall between the
 *    test and the sleep (dragonfly.md 9.2).
 *  - soalloc gives the socket its so_port (uipc_msg.ts); pru_attach's `ai` is the creating
 *    process (for its RLIMIT_SBSIZE) or NULL; so_sigio holds the owner id (kern_sig.ts).
 *  - sorflush's copy of the receive buffer (C's stack `asb`) lives in the socket's own
 *    zone item, past struct socket, so the flush cannot fail for want of memory; the
 *    copy is made under knote_spin too, which guards the knotes it carries over.
 *  - sopoll records the poller and then looks again, as the SSB_WAIT sleeps do.
 *  - Socket options are a struct sockopt in kmem (SOPT) whose value is a kmem byte range.
 *  - soreceive's out-of-band read into an sbuf (sio) hands the mbuf over once and forgets
 *    it; C appends it and then frees it at "bad:" all the same (a use after free nothing
 *    reaches here: no caller passes a null uio, and AF_LOCAL has no out-of-band data).
 */

import { Uio, UIO_READ, UIO_WRITE } from '../sys/uio.js';
import { FreeList } from '../../shared/freelist.js';
import { k32, ku8 } from '../../shared/kmem.js';
import { copyin, copyout } from '../../shared/kview.js';
import { NULL, layout, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import {
  EALREADY, EDESTADDRREQ, EDOM, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPIPE,
  EPROTONOSUPPORT, EPROTOTYPE, EWOULDBLOCK,
} from '../../shared/errno.js';
import { HZ } from '../../shared/param.js';
import { spin_init_class, spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { lockclass_register } from '../../shared/lockstat.js';
import { zfree, zone_desc, ZD, Z_SOCKET } from '../../shared/zone.js';
import { kfail_zalloc } from './kern_fail.js';
import { DONE_VOID, done_num, done_value, is_done, type Blocking } from '../../shared/effect.js';
import { Cont, FINISHED } from '../../shared/cont.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_REMOVE } from '../../shared/tailq.js';
import { kfunc_on_attach } from '../lwkt/kfunc.js';
import { TD } from '../lwkt/thread.js';
import { crit_enter, crit_exit } from '../lwkt/lwkt_thread.js';
import { PCATCH, tsleep, tsleep_interlock } from '../lwkt/kern_synch.js';
import { sleeplock_try } from '../lwkt/lwkt_serialize.js';
import {
  SO, SSB, SEL, IPC, SSB_LOCK, SSB_WANT, SSB_WAIT, SSB_SEL, SSB_NOINTR, SSB_KNOTE, M_NOWAIT, M_WAITOK, SS_NOFDREF, SS_ISCONNECTED,
  SS_ISCONNECTING, SS_ISDISCONNECTING, SS_CANTSENDMORE, SS_CANTRCVMORE, SS_RCVATMARK, SS_PRIV, SS_ABORTING,
  SS_ISCONFIRMING, SS_INCOMP, SS_COMP,
} from '../sys/socketvar.js';
import {
  SOCK_STREAM, SOL_SOCKET, SHUT_RD, SHUT_WR, SHUT_RDWR, SCM_RIGHTS, SO_DEBUG, SO_ACCEPTCONN, SO_REUSEADDR,
  SO_KEEPALIVE, SO_DONTROUTE, SO_BROADCAST, SO_USELOOPBACK, SO_LINGER, SO_OOBINLINE, SO_REUSEPORT, SO_TIMESTAMP,
  SO_NOSIGPIPE, SO_ACCEPTFILTER, SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT, SO_RCVLOWAT, SO_SNDTIMEO, SO_RCVTIMEO,
  SO_ERROR, SO_TYPE, MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_EOR, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_EOF,
  MSG_FNONBLOCKING,
} from '../sys/socket.js';
import {
  PR_ATOMIC, PR_ADDR, PR_CONNREQUIRED, PR_WANTRCVD, PR_RIGHTS, PR_IMPLOPCL, PRUS_OOB, PRUS_EOF, PRUS_MORETOCOME,
  type Protosw,
} from '../sys/protosw.js';
import {
  MB, MCLBYTES, MINCLSIZE, M_EOR, M_PKTHDR, MT_DATA, MT_HEADER, MT_SONAME, MT_CONTROL, MT_OOBDATA, MB_DONTWAIT,
  M_TRAILINGSPACE, MH_ALIGN,
} from '../sys/mbuf.js';
import { RLIMIT_SBSIZE, RLIM_INFINITY, UCRED } from '../sys/proc.js';
import { FNONBLOCK } from '../sys/file.js';
import { POLLIN, POLLINIGNEOF, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRNORM } from '../sys/poll.js';
import { m_copy, m_copym, m_free, m_freem, m_get_wait, m_getl_wait } from './uipc_mbuf.js';
import { sbappend, sbdroprecord, sbunlinkmbuf, ssb_space } from './uipc_sockbuf.js';
import { invariants_on } from '../../shared/cpu.js';
import { so_queues_inv } from './kern_invariants.js';
import { pffindproto, pffindtype, protosw_of } from './uipc_domain.js';
import { chgsbsize, p_rlimit_cur } from './kern_resource.js';
import { crfree, p_crhold } from './kern_prot.js';
import { ktrace_step } from './kern_ktrace.js';
import {
  dup_sockaddr, ipc_globals, knote_spin, socantrcvmore, soclrstate, sosetstate, ssb_lock, ssb_release, ssb_reserve,
  ssb_unlock, ssb_wait,
} from './uipc_socket2.js';
import { selrecord } from './sys_generic.js';
import { accept_filt_remove, do_setopt_accept_filter, sogetopt_accept_filter } from './uipc_accf.js';
import {
  so_port_init, so_pru_abort, so_pru_aborta, so_pru_accept, so_pru_attach, so_pru_bind, so_pru_connect,
  so_pru_connect2, so_pru_ctloutput, so_pru_detach, so_pru_disconnect, so_pru_listen, so_pru_rcvd, so_pru_rcvoob,
  so_pru_send, so_pru_shutdown,
} from './uipc_msg.js';

/* ---- uiomove (kern_subr.c), reduced; struct uio is in sys/uio.ts ---- */

export { Uio, UIO_READ, UIO_WRITE };

/* Point uio at len bytes of buf from offset, moving in direction rw; returns uio. */
export function uio_init(uio: Uio, buf: Uint8Array, offset: number, len: number, rw: number, td: Ptr): Uio {
  KASSERT(offset >= 0 && len >= 0 && offset + len <= buf.length, 'uio_init: range outside the buffer');
  uio.buf = buf;
  uio.offset = offset;
  uio.resid = len;
  uio.rw = rw;
  uio.td = td;
  return uio;
}

/*
 * uiomove: move n bytes between kmem byte address cp and the uio, in its direction, and
 * advance it.  Returns 0 (no page faults here: C's EFAULT cannot happen).  Never blocks.
 */
export function uiomove(cp: number, n: number, uio: Uio): number {
  KASSERT(n >= 0 && n <= uio.resid, 'uiomove: n outside the residue');
  const off = uio.offset;
  if (uio.rw === UIO_WRITE) copyin(uio.buf, off, n, cp);
  else copyout(cp, n, uio.buf, off);
  uio.offset = off + n;
  uio.resid -= n;
  return 0;
}

/* ---- struct sockopt (sys/socketvar.h) ---- */

export const SOPT_GET = 0;
export const SOPT_SET = 1;

export const SOPT = layout('sockopt', {
  sopt_dir: 1,        // SOPT_GET or SOPT_SET
  sopt_level: 1,      // SOL_SOCKET, or a protocol's level
  sopt_name: 1,       // SO_* or a protocol option
  sopt_val: 1,        // kmem byte address of the value
  sopt_valsize: 1,    // bytes at sopt_val; a get stores how many it wrote
  sopt_td: 1,         // the calling thread
});

/* struct linger and struct timeval on i386: two 4-byte ints each. */
const LINGER_BYTES = 8;
const TIMEVAL_BYTES = 8;
const INT_BYTES = 4;
const SHRT_MAX = 32767;
const USTICK = 1000000 / HZ;          // microseconds per tick

/* ---- socket allocation ---- */

let ssb_class = 0;                    // lock class of every sockbuf's ssb_spin
kfunc_on_attach(() => {
  ssb_class = lockclass_register('ssb_spin');
  const w = k32[zone_desc(Z_SOCKET) + ZD.zd_item_words];
  if (w !== 0 && w < SO.SIZE + SSB.SIZE) panic('uipc_socket: socket zone item cannot hold sorflush\'s copy');
});

function numopensockets_add(n: number): void { Atomics.add(k32, ipc_globals() + IPC.ipc_numopensockets, n); }

/*
 * soalloc: a zeroed socket (empty queues), its sockbufs' spinlocks initialised and its
 * serving port chosen, or NULL when the socket zone is empty.  Never blocks (SEED's
 * M_WAITOK for a process caller is moot: a zone does not wait).
 */
export function soalloc(_waitok: number): Ptr {
  const so = kfail_zalloc(Z_SOCKET);   // the zone fault site (kern_fail.ts): socreate's ENOBUFS, sonewconn's refusal
  if (so === NULL) return NULL;
  spin_init_class(so + SO.so_rcv + SSB.ssb_spin, ssb_class);
  spin_init_class(so + SO.so_snd + SSB.ssb_spin, ssb_class);
  k32[so + SO.so_port] = so_port_init(so);
  numopensockets_add(1);
  return so;
}

/*
 * The process's RLIMIT_SBSIZE for a pru_attach: ai is the creating process, or NULL
 * (sonewconn: no limit).  Protocols pass this to soreserve.
 */
export function ai_sb_rlimit(ai: Ptr): number {
  return ai === NULL ? RLIM_INFINITY : p_rlimit_cur(ai, RLIMIT_SBSIZE);
}

/*
 * socreate: a socket of type in domain dom (protocol proto, or the domain's first of that
 * type when 0), attached to its protocol, stored in the kmem word aso.  Errors: no such
 * protocol, an unknown domain, or one without pru_attach: EPROTONOSUPPORT; a protocol of
 * another type: EPROTOTYPE; no socket memory: ENOBUFS; else pru_attach's errno, the
 * socket then freed.  A root creator's socket gets SS_PRIV.  Blocks (the attach request).
 */
export function* socreate(dom: number, aso: Ptr, type: number, proto: number, td: Ptr): Blocking<number> {
  const p = k32[td + TD.td_proc];
  KASSERT(p !== NULL, 'socreate: thread has no process');
  ktrace_step('socreate', dom, type, proto);
  const prp = proto !== 0 ? pffindproto(dom, proto, type) : pffindtype(dom, type);
  if (prp === null || typeof prp.pr_usrreqs.pru_attach !== 'function') return EPROTONOSUPPORT;
  // No jails here: the jail_socket_unixiproute_only test never applies.
  if (prp.pr_type !== type) return EPROTOTYPE;
  const so = soalloc(1);
  if (so === NULL) return ENOBUFS;
  k32[so + SO.so_type] = type;
  const cred = p_crhold(p);
  k32[so + SO.so_cred] = cred;
  if (k32[cred + UCRED.cr_uid] === 0) sosetstate(so, SS_PRIV);
  k32[so + SO.so_proto] = prp.pr_index;
  const error = yield* so_pru_attach(so, proto, p);
  if (error !== 0) {
    sosetstate(so, SS_NOFDREF);
    sofree(so);
    return error;
  }
  k32[aso] = so;
  return 0;
}

/* sobind: give so the local address nam (a kmem byte address).  Blocks. */
export function* sobind(so: Ptr, nam: Ptr, td: Ptr): Blocking<number> {
  crit_enter();
  const error = yield* so_pru_bind(so, nam, td);
  crit_exit();
  return error;
}

/*
 * sodealloc: return both buffer reservations to the owner's uid, drop the accept filter,
 * the cred and the socket.  Never blocks.
 */
export function sodealloc(so: Ptr): void {
  const uip = k32[k32[so + SO.so_cred] + UCRED.cr_uidinfo];
  if (k32[so + SO.so_rcv + SSB.ssb_hiwat] !== 0) chgsbsize(uip, so + SO.so_rcv + SSB.ssb_hiwat, 0, RLIM_INFINITY);
  if (k32[so + SO.so_snd + SSB.ssb_hiwat] !== 0) chgsbsize(uip, so + SO.so_snd + SSB.ssb_hiwat, 0, RLIM_INFINITY);
  // Remove the accept filter, if present.
  if (k32[so + SO.so_accf] !== NULL) accept_filt_remove(so);
  crfree(k32[so + SO.so_cred]);
  numopensockets_add(-1);
  zfree(Z_SOCKET, so);
}

/*
 * solisten: make so a listener with room for backlog unaccepted connections (outside
 * 0..kern.ipc.somaxconn: somaxconn).  EINVAL when connected or connecting; SO_ACCEPTCONN
 * is set only if so_comp is empty.  The protocol may refuse; then nothing changes.
 * Blocks (the listen request).
 */
export function* solisten(so: Ptr, backlog: number, td: Ptr): Blocking<number> {
  crit_enter();
  if ((k32[so + SO.so_state] & (SS_ISCONNECTED | SS_ISCONNECTING)) !== 0) {
    crit_exit();
    return EINVAL;
  }
  const oldopt = k32[so + SO.so_options];
  const oldqlimit = k32[so + SO.so_qlimit];
  if (TAILQ_EMPTY(so + SO.so_comp)) k32[so + SO.so_options] |= SO_ACCEPTCONN;
  const somaxconn = k32[ipc_globals() + IPC.ipc_somaxconn];
  if (backlog < 0 || backlog > somaxconn) backlog = somaxconn;
  k32[so + SO.so_qlimit] = backlog;
  const error = yield* so_pru_listen(so, td);
  if (error !== 0) {
    k32[so + SO.so_options] = oldopt;
    k32[so + SO.so_qlimit] = oldqlimit;
  }
  crit_exit();
  return error;
}

/*
 * sofree: free so if nothing holds it any more: no-op while it has a pcb, while a file
 * still refers to it (no SS_NOFDREF), while an abort is in flight (SS_ABORTING), or while
 * it sits on a listener's so_comp (accept will pick it up).  An incomplete connection
 * leaves its listener's so_incomp first.  Never blocks: with no file reference nobody
 * can hold so_rcv's I/O lock, so sorflush takes it at once (asserted).
 */
export function sofree(so: Ptr): void {
  const head = k32[so + SO.so_head];
  const state = k32[so + SO.so_state];
  if (k32[so + SO.so_pcb] !== NULL || (state & SS_NOFDREF) === 0) return;
  if ((state & SS_ABORTING) !== 0) return;
  if (head !== NULL) {
    if ((state & SS_INCOMP) !== 0) {
      TAILQ_REMOVE(head + SO.so_incomp, so, SO.so_list);
      k32[head + SO.so_incqlen]--;
      if (invariants_on) so_queues_inv(head);
    } else if ((state & SS_COMP) !== 0) {
      // Not while it is on the accept(2) queue: accept may be about to take it (after
      // select said the listener was ready).
      return;
    } else {
      panic('sofree: not queued');
    }
    soclrstate(so, SS_INCOMP);
    k32[so + SO.so_head] = NULL;
  }
  ssb_release(so + SO.so_snd, so);
  // sofree cannot sleep: files whose last reference was in the buffer go to the unp_gc daemon.
  if (sorflush(so, false) !== DONE_VOID) panic('sofree: so_rcv locked on a socket no file refers to');
  sodealloc(so);
}

/*
 * soclose: the last file reference to so is gone.  Disconnects a connected socket; with
 * SO_LINGER waits up to so_linger seconds (interruptibly) for the disconnect to finish,
 * unless the file is non-blocking; detaches the protocol; aborts every connection still
 * queued on a listener; frees so.  Returns the disconnect's, the linger sleep's or the
 * detach's errno; so is gone either way.  Blocks.
 */
export function* soclose(so: Ptr, fflag: number): Blocking<number> {
  let error = 0;
  crit_enter();
  k32[so + SO.so_sigio] = 0;                  // funsetown
  discard: {
    if (k32[so + SO.so_pcb] === NULL) break discard;
    drop: {
      if ((k32[so + SO.so_state] & SS_ISCONNECTED) !== 0) {
        if ((k32[so + SO.so_state] & SS_ISDISCONNECTING) === 0) {
          error = yield* sodisconnect(so);
          // Here: in the netisr model the peer's close may disconnect us between the test
          // above and sodisconnect's (under the BGL the two could not interleave): there is
          // then nothing left to disconnect, which is not a failure of this close.
          if (error === ENOTCONN) error = 0;
          if (error !== 0) break drop;
        }
        if ((k32[so + SO.so_options] & SO_LINGER) !== 0) {
          if ((k32[so + SO.so_state] & SS_ISDISCONNECTING) !== 0 && (fflag & FNONBLOCK) !== 0) break drop;
          // Interlocked with soisdisconnected's wakeup(&so_timeo) from another CPU.
          for (;;) {
            tsleep_interlock(so + SO.so_timeo);
            if ((Atomics.load(k32, so + SO.so_state) & SS_ISCONNECTED) === 0) break;
            error = yield* tsleep(so + SO.so_timeo, PCATCH, 'soclos', k32[so + SO.so_linger] * HZ);
            if (error !== 0) break;
          }
        }
      }
    }
    if (k32[so + SO.so_pcb] !== NULL) {
      const error2 = yield* so_pru_detach(so);
      if (error === 0) error = error2;
    }
  }
  if ((k32[so + SO.so_options] & SO_ACCEPTCONN) !== 0) {
    let sp: Ptr;
    while ((sp = TAILQ_FIRST(so + SO.so_incomp)) !== NULL) {
      TAILQ_REMOVE(so + SO.so_incomp, sp, SO.so_list);
      soclrstate(sp, SS_INCOMP);
      k32[sp + SO.so_head] = NULL;
      k32[so + SO.so_incqlen]--;
      soaborta(sp);
    }
    while ((sp = TAILQ_FIRST(so + SO.so_comp)) !== NULL) {
      TAILQ_REMOVE(so + SO.so_comp, sp, SO.so_list);
      soclrstate(sp, SS_COMP);
      k32[sp + SO.so_head] = NULL;
      k32[so + SO.so_qlen]--;
      soaborta(sp);
    }
    if (invariants_on) so_queues_inv(so);
  }
  if ((k32[so + SO.so_state] & SS_NOFDREF) !== 0) panic('soclose: NOFDREF');
  sosetstate(so, SS_NOFDREF);
  sofree(so);
  crit_exit();
  return error;
}

/*
 * soabort: abort so synchronously, unless an abort is already in flight (SS_ABORTING:
 * only one at a time).  soaborta: the same, asynchronously (a plain call: the abort runs
 * later on the serving port, or at once on the sync port).  The protocol frees so.
 */
export function* soabort(so: Ptr): Blocking<void> {
  if ((k32[so + SO.so_state] & SS_ABORTING) === 0) {
    sosetstate(so, SS_ABORTING);
    yield* so_pru_abort(so);
  }
}

export function soaborta(so: Ptr): void {
  if ((k32[so + SO.so_state] & SS_ABORTING) === 0) {
    sosetstate(so, SS_ABORTING);
    so_pru_aborta(so);
  }
}

/*
 * soaccept: a connection taken off a listener's queue gets its file: SS_NOFDREF is cleared
 * and the protocol fills in the peer's address (nam, a kmem word for the dup'd sockaddr,
 * or NULL).  Never blocks (pru_accept is a direct call).
 */
export function soaccept(so: Ptr, nam: Ptr): number {
  crit_enter();
  if ((k32[so + SO.so_state] & SS_NOFDREF) === 0) panic('soaccept: !NOFDREF');
  soclrstate(so, SS_NOFDREF);
  const error = so_pru_accept(so, nam);
  crit_exit();
  return error;
}

/*
 * soconnect: connect so to nam.  EOPNOTSUPP on a listener.  A connected or connecting
 * socket: EISCONN for a connection-oriented protocol, else it is disconnected first
 * (EISCONN if that fails).  Clears so_error, then asks the protocol.  Blocks.
 */
export function* soconnect(so: Ptr, nam: Ptr, td: Ptr): Blocking<number> {
  if ((k32[so + SO.so_options] & SO_ACCEPTCONN) !== 0) return EOPNOTSUPP;
  crit_enter();
  let error: number;
  if ((k32[so + SO.so_state] & (SS_ISCONNECTED | SS_ISCONNECTING)) !== 0 &&
      ((protosw_of(k32[so + SO.so_proto]).pr_flags & PR_CONNREQUIRED) !== 0 || (yield* sodisconnect(so)) !== 0)) {
    error = EISCONN;
  } else {
    k32[so + SO.so_error] = 0;
    error = yield* so_pru_connect(so, nam, td);
  }
  crit_exit();
  return error;
}

/* soconnect2: connect two sockets of one protocol to each other (socketpair).  Blocks. */
export function* soconnect2(so1: Ptr, so2: Ptr): Blocking<number> {
  ktrace_step('soconnect2', so1, so2);
  crit_enter();
  const error = yield* so_pru_connect2(so1, so2);
  crit_exit();
  return error;
}

/* sodisconnect: ENOTCONN when not connected, EALREADY when already disconnecting.  Blocks. */
export function* sodisconnect(so: Ptr): Blocking<number> {
  crit_enter();
  let error: number;
  const state = k32[so + SO.so_state];
  if ((state & SS_ISCONNECTED) === 0) error = ENOTCONN;
  else if ((state & SS_ISDISCONNECTING) !== 0) error = EALREADY;
  else error = yield* so_pru_disconnect(so);
  crit_exit();
  return error;
}

/* SBLOCKWAIT: only MSG_DONTWAIT makes the I/O lock non-blocking (not a non-blocking file). */
function SBLOCKWAIT(flags: number): number { return (flags & MSG_DONTWAIT) !== 0 ? M_NOWAIT : M_WAITOK; }

/*
 * sosend and soreceive are plain dispatchers: a plain attempt does the common call (the
 * I/O lock free, one mbuf's worth, data or space there) with no generator frame.  Where
 * it must wait for space or data, or for the reply to a protocol request sent to a
 * netisr thread, it hands its caller a reusable continuation (SosendWait, SoreceiveWait:
 * shared/cont.ts) that goes on after the wait, so a stream that fills and drains its
 * buffers allocates nothing.  The rarer waits (the I/O lock, an mbuf) continue in the
 * generator (sosend_slow, soreceive_slow), and rarer calls (out-of-band data,
 * MSG_WAITALL, a prepared chain, more than a cluster) run it from the start.  All run the
 * same helpers below in DragonFly's order; only the waits differ.
 */

/*
 * sosend's checks with the I/O lock held, in a critical section: EPIPE once the send side
 * is shut, a pending so_error (returned once, and cleared), ENOTCONN or EDESTADDRREQ on
 * an unconnected socket, EMSGSIZE beyond the send hiwat; 0 to go on.
 */
function sosend_check(so: Ptr, pr: Protosw, addr: Ptr, resid: number, clen: number, atomic: boolean): number {
  const state = k32[so + SO.so_state];
  if ((state & SS_CANTSENDMORE) !== 0) return EPIPE;
  const error = k32[so + SO.so_error];
  if (error !== 0) {
    k32[so + SO.so_error] = 0;
    return error;
  }
  if ((state & SS_ISCONNECTED) === 0) {
    // sendto/sendmsg on a connection-based socket only with an implied connect.
    if ((pr.pr_flags & PR_CONNREQUIRED) !== 0 && (pr.pr_flags & PR_IMPLOPCL) === 0) {
      if ((state & SS_ISCONFIRMING) === 0 && !(resid === 0 && clen !== 0)) return ENOTCONN;
    } else if (addr === NULL) {
      return (pr.pr_flags & PR_CONNREQUIRED) !== 0 ? ENOTCONN : EDESTADDRREQ;
    }
  }
  const hiwat = k32[so + SO.so_snd + SSB.ssb_hiwat];
  if ((atomic && resid > hiwat) || clen > hiwat) return EMSGSIZE;
  return 0;
}

/* The room sosend counts on in so_snd: ssb_space, and 1024 more for out-of-band data. */
function sosend_space(snd: Ptr, flags: number): number {
  const space = ssb_space(snd);
  return (flags & MSG_OOB) !== 0 ? space + 1024 : space;
}

/* Too little room: an atomic send needs all of it, a stream the low-water mark and the control. */
function sosend_short(snd: Ptr, space: number, resid: number, clen: number, atomic: boolean): boolean {
  return space < resid + clen && (atomic || space < k32[snd + SSB.ssb_lowat] || space < clen);
}

/*
 * Would sosend still wait for space now?  The re-check after SSB_WAIT is published: false
 * as soon as anything the sender must look at has changed (state, error, space).
 */
function sosend_mustwait(so: Ptr, resid: number, clen: number, atomic: boolean, flags: number): boolean {
  const snd = so + SO.so_snd;
  if ((Atomics.load(k32, so + SO.so_state) & SS_CANTSENDMORE) !== 0 || k32[so + SO.so_error] !== 0) return false;
  return sosend_short(snd, sosend_space(snd, flags), resid, clen, atomic);
}

/*
 * sosend_sleep: too little space, in a critical section with the I/O lock held: queue on
 * the channel, publish SSB_WAIT, drop the lock, re-check (file header).  True when the
 * sender must sleep (ssb_wait); either way it then starts over.
 */
function sosend_sleep(so: Ptr, resid: number, clen: number, atomic: boolean, flags: number): boolean {
  const snd = so + SO.so_snd;
  tsleep_interlock(snd + SSB.ssb_cc);
  Atomics.or(k32, snd + SSB.ssb_flags, SSB_WAIT);
  ssb_unlock(snd);
  return sosend_mustwait(so, resid, clen, atomic, flags);
}

/*
 * sosend_fill: fill the new mbuf m from uio, at most space bytes, as the next of the chain
 * top (m itself when top is NULL), after mp.  Returns uiomove's errno.
 */
function sosend_fill(m: Ptr, top: Ptr, mp: Ptr, uio: Uio, space: number, atomic: boolean, flags: number): number {
  const resid = uio.resid;
  const mlen = M_TRAILINGSPACE(m);
  if (top === NULL) {
    k32[m + MB.m_pkthdr_len] = 0;
    k32[m + MB.m_pkthdr_rcvif] = NULL;
  }
  const len = Math.min(mlen, resid, space);
  // A datagram protocol's first short mbuf leaves room in front for headers.
  if (resid < MINCLSIZE && atomic && top === NULL && len < mlen) MH_ALIGN(m, len);
  const error = uiomove(k32[m + MB.m_data], len, uio);
  k32[m + MB.m_len] = len;
  if (top === NULL) top = m;
  else k32[mp + MB.m_next] = m;
  k32[top + MB.m_pkthdr_len] += len;
  if (error === 0 && uio.resid <= 0 && (flags & MSG_EOR) !== 0) k32[top + MB.m_flags] |= M_EOR;
  return error;
}

/* The pru_send flags of one pass: out-of-band, the implied close, or more to come. */
function sosend_pruflags(flags: number, pr_flags: number, resid: number, space: number): number {
  if ((flags & MSG_OOB) !== 0) return PRUS_OOB;
  if ((flags & MSG_EOF) !== 0 && (pr_flags & PR_IMPLOPCL) !== 0 && resid <= 0) return PRUS_EOF;
  if (resid > 0 && space > 0) return PRUS_MORETOCOME;
  return 0;
}

/* Where sosend_slow starts: at the top; after the plain attempt set up a sleep for space
 * (in a critical section); or at the filling of a pass (I/O lock held, checks done). */
const SEND_TOP = 0;
const SEND_SLEEP = 1;
const SEND_FILL = 2;

/*
 * sosend: send data (uio, or the prepared chain top when uio is null) and control to so's
 * protocol; addr names the destination for unconnected protocols.  Atomic protocols
 * (PR_ATOMIC, or a prepared chain) send the whole message in one pru_send or fail with
 * EMSGSIZE beyond the send hiwat; a stream send goes one mbuf (at most MCLBYTES) per
 * pru_send, sampling the space once per pass.  With too little space it sleeps (dropping
 * the I/O lock, then starting over), or fails with EWOULDBLOCK for MSG_DONTWAIT or a
 * non-blocking file (MSG_FNONBLOCKING).  Errors: EINVAL (resid < 0, MSG_EOR on a stream),
 * EPIPE after the send side is shut (the caller raises SIGPIPE), a pending so_error
 * (returned once and cleared), ENOTCONN, EDESTADDRREQ, EMSGSIZE, EWOULDBLOCK, the sleep's
 * EINTR/ERESTART/EWOULDBLOCK (timeout), the protocol's.  The caller learns how much went
 * out from uio.resid.  top and control are consumed in every case.  Blocks.
 *
 * Plain for the caller's bytes in one mbuf and one pass (its waits for space and for the
 * pru_send's reply are SosendWait continuations); sosend_slow for the rest (see above).
 */
export function sosend(so: Ptr, addr: Ptr, uio: Uio | null, top: Ptr, control: Ptr, flags: number,
    td: Ptr): Blocking<number> {
  const pr = protosw_of(k32[so + SO.so_proto]);
  const snd = so + SO.so_snd;
  if (uio === null || top !== NULL || uio.resid < 0 || (flags & (MSG_OOB | MSG_EOR | MSG_DONTROUTE)) !== 0) {
    return sosend_slow(so, addr, uio, top, control, flags, td, SEND_TOP, 0, null);
  }
  // A held lock: the generator waits for it (or fails with EWOULDBLOCK); nothing done yet.
  if (done_value(ssb_lock(snd, M_NOWAIT)) !== 0) return sosend_slow(so, addr, uio, top, control, flags, td, SEND_TOP, 0, null);
  const atomic = (pr.pr_flags & PR_ATOMIC) !== 0;
  const resid = uio.resid;
  const clen = control !== NULL ? k32[control + MB.m_len] : 0;
  let error: number;
  release: {
    crit_enter();
    error = sosend_check(so, pr, addr, resid, clen, atomic);
    if (error !== 0) { crit_exit(); break release; }
    let space = sosend_space(snd, flags);
    if (sosend_short(snd, space, resid, clen, atomic)) {
      if ((flags & (MSG_FNONBLOCKING | MSG_DONTWAIT)) !== 0) { error = EWOULDBLOCK; crit_exit(); break release; }
      if (sosend_sleep(so, resid, clen, atomic, flags)) {
        return (sosend_conts.get() ?? new SosendWait()).space(so, addr, uio, control, flags, td);
      }
      crit_exit();
      return sosend_slow(so, addr, uio, top, control, flags, td, SEND_TOP, 0, null);
    }
    crit_exit();
    space -= clen;
    // More than one mbuf or one pass, or an mbuf to wait for: the generator goes on.
    if (resid > space || resid > MCLBYTES) return sosend_slow(so, addr, uio, top, control, flags, td, SEND_FILL, space, null);
    const mb = m_getl_wait(resid, MT_DATA, M_PKTHDR);
    if (!is_done(mb)) return sosend_slow(so, addr, uio, top, control, flags, td, SEND_FILL, space, mb);
    top = done_value(mb);
    error = sosend_fill(top, NULL, NULL, uio, space, atomic, flags);
    if (error !== 0) break release;
    space -= k32[top + MB.m_len];
    crit_enter();
    // The protocol owns top and control from here on, even when it fails.
    const send = so_pru_send(so, sosend_pruflags(flags, pr.pr_flags, uio.resid, space), top, addr, control, td);
    if (!is_done(send)) return (sosend_conts.get() ?? new SosendWait()).pru(so, send);
    error = done_value(send);
    crit_exit();
    top = NULL;
    control = NULL;
  }
  ssb_unlock(snd);
  if (top !== NULL) m_freem(top);
  if (control !== NULL) m_freem(control);
  return done_num(error);
}

/*
 * The plain sosend's waits, as a reusable continuation (shared/cont.ts):
 *  - SOSEND_SPACE (SEND_SLEEP with nothing moved yet): ssb_wait, then sosend again from
 *    the top, as C's "goto restart" (the I/O lock was dropped before the wait, and uio
 *    holds what is left);
 *  - SOSEND_PRU: a pru_send whose port makes us wait for the reply (the netisr model),
 *    then the end of the pass: out of the critical section, the I/O lock dropped.
 */
const SOSEND_SPACE = 0;
const SOSEND_PRU = 1;

class SosendWait extends Cont {
  private what = SOSEND_SPACE;
  private so = NULL;
  private addr = NULL;
  private uio: Uio | null = null;
  private control = NULL;
  private flags = 0;
  private td = NULL;
  private again = false;

  constructor() { super(0); }

  /* Called inside the critical section sosend_sleep's interlock began. */
  space(so: Ptr, addr: Ptr, uio: Uio, control: Ptr, flags: number, td: Ptr): this {
    this.what = SOSEND_SPACE;
    this.so = so; this.addr = addr; this.uio = uio; this.control = control; this.flags = flags; this.td = td;
    this.again = false;
    return this.begin(ssb_wait(so + SO.so_snd));
  }

  /* Called inside the critical section the pru_send began, with so_snd's I/O lock. */
  pru(so: Ptr, send: Blocking<number>): this {
    this.what = SOSEND_PRU;
    this.so = so;
    return this.begin(send);
  }

  protected step(v: unknown): Blocking<number> | null {
    const error = v as number;
    if (this.what === SOSEND_PRU) {
      crit_exit();
      ssb_unlock(this.so + SO.so_snd);
    } else if (!this.again) {
      this.again = true;
      crit_exit();
      if (error === 0) return sosend(this.so, this.addr, this.uio, NULL, this.control, this.flags, this.td);
      if (this.control !== NULL) m_freem(this.control);
    }
    this.result = error;
    return FINISHED;
  }

  protected release(): void {
    this.uio = null;
    sosend_conts.put(this);
  }
}
const sosend_conts = new FreeList<SosendWait>();

/* sosend as a generator, from entry (SEND_*); space and mb (an mbuf being waited for) at SEND_FILL. */
function* sosend_slow(so: Ptr, addr: Ptr, uio: Uio | null, top: Ptr, control: Ptr, flags: number, td: Ptr,
    entry: number, space: number, mb: Blocking<Ptr> | null): Blocking<number> {
  const pr = protosw_of(k32[so + SO.so_proto]);
  const snd = so + SO.so_snd;
  const atomic = (pr.pr_flags & PR_ATOMIC) !== 0 || top !== NULL;
  let resid = uio !== null ? uio.resid : k32[top + MB.m_pkthdr_len];
  let clen = 0;
  let error = 0;
  out: {
    // resid is signed: a negative one would loop sending empty segments.
    if (resid < 0 || (k32[so + SO.so_type] === SOCK_STREAM && (flags & MSG_EOR) !== 0)) {
      error = EINVAL;
      break out;
    }
    const dontroute = (flags & MSG_DONTROUTE) !== 0 && (k32[so + SO.so_options] & SO_DONTROUTE) === 0 &&
      (pr.pr_flags & PR_ATOMIC) !== 0;
    if (control !== NULL) clen = k32[control + MB.m_len];
    restart: for (;;) {
      if (entry === SEND_SLEEP) {
        entry = SEND_TOP;
        error = yield* ssb_wait(snd);
        crit_exit();
        if (error !== 0) break out;
      }
      if (entry === SEND_TOP) {
        error = yield* ssb_lock(snd, SBLOCKWAIT(flags));
        if (error !== 0) break out;
      }
      release: {
        do {
          if (entry === SEND_FILL) {
            entry = SEND_TOP;
          } else {
            crit_enter();
            error = sosend_check(so, pr, addr, resid, clen, atomic);
            if (error !== 0) { crit_exit(); break release; }
            space = sosend_space(snd, flags);
            if (uio !== null && sosend_short(snd, space, resid, clen, atomic)) {
              if ((flags & (MSG_FNONBLOCKING | MSG_DONTWAIT)) !== 0) { error = EWOULDBLOCK; crit_exit(); break release; }
              if (sosend_sleep(so, resid, clen, atomic, flags)) entry = SEND_SLEEP;
              else crit_exit();
              continue restart;
            }
            crit_exit();
            space -= clen;
          }
          do {
            if (uio === null) {
              // The data is prepackaged in top.
              resid = 0;
              if ((flags & MSG_EOR) !== 0) k32[top + MB.m_flags] |= M_EOR;
            } else {
              let mp = NULL;                  // last mbuf of the chain being built
              do {
                const m = yield* (mb !== null ? mb : m_getl_wait(resid, MT_DATA, top === NULL ? M_PKTHDR : 0));
                mb = null;
                error = sosend_fill(m, top, mp, uio, space, atomic, flags);
                space -= k32[m + MB.m_len];
                resid = uio.resid;
                if (top === NULL) top = m;
                mp = m;
                if (error !== 0) break release;
                if (resid <= 0) break;
              } while (space > 0 && atomic);
            }
            if (dontroute) k32[so + SO.so_options] |= SO_DONTROUTE;
            crit_enter();
            // The protocol owns top and control from here on, even when it fails.
            error = yield* so_pru_send(so, sosend_pruflags(flags, pr.pr_flags, resid, space), top, addr, control, td);
            crit_exit();
            if (dontroute) k32[so + SO.so_options] &= ~SO_DONTROUTE;
            clen = 0;
            control = NULL;
            top = NULL;
            if (error !== 0) break release;
          } while (resid !== 0 && space > 0);
        } while (resid !== 0);
      }
      ssb_unlock(snd);
      break;
    }
  }
  if (top !== NULL) m_freem(top);
  if (control !== NULL) m_freem(control);
  return error;
}

/*
 * Would soreceive still wait for data now?  The re-check after SSB_WAIT is published
 * (caller holds so_rcv's ssb_spin): the block condition of step 4, less the cases that
 * end the wait (an error, EOF, an out-of-band or end-of-record mbuf).
 */
function soreceive_mustwait(so: Ptr, resid: number, flags: number, pr_flags: number): boolean {
  const rcv = so + SO.so_rcv;
  const m = k32[rcv + SSB.ssb_mb];
  const cc = k32[rcv + SSB.ssb_cc];
  if (m !== NULL && !((flags & MSG_DONTWAIT) === 0 && cc < resid &&
      (cc < k32[rcv + SSB.ssb_lowat] || ((flags & MSG_WAITALL) !== 0 && resid <= k32[rcv + SSB.ssb_hiwat])) &&
      k32[m + MB.m_nextpkt] === NULL && (pr_flags & PR_ATOMIC) === 0)) return false;
  if (k32[so + SO.so_error] !== 0 || (Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0) return false;
  for (let n = m; n !== NULL; n = k32[n + MB.m_next]) {
    if (k32[n + MB.m_type] === MT_OOBDATA || (k32[n + MB.m_flags] & M_EOR) !== 0) return false;
  }
  return true;
}

/*
 * soreceive's locals, which its helpers share: the arguments, the flags and residue, and
 * where the copy loop is.  One per call in progress on this CPU, from a free list (as the
 * syscalls' Uios), so a call allocates none once the CPU has seen as many at once; the
 * plain attempt hands its own to soreceive_slow when it must wait.
 */
class Rcv {
  so: Ptr = NULL;
  pr: Protosw | null = null;
  uio: Uio | null = null;
  sio: Ptr = NULL;
  psa: Ptr = NULL;
  controlp: Ptr = NULL;
  flags = 0;
  resid = 0;
  orig_resid = 0;
  free_chain: Ptr = NULL;     // mbufs unlinked from so_rcv, freed at the end
  error = 0;
  m: Ptr = NULL;              // the mbuf being read
  moff = 0;                   // bytes of it already read (MSG_PEEK)
  offset = 0;                 // bytes read, towards the out-of-band mark (MSG_PEEK)
  type = 0;                   // the first data mbuf's type (MT_OOBDATA: MSG_OOB)
  stalled = false;            // the last pass peeked and found nothing to return (soreceive_pass_end)
  seen_cc = 0;                // ssb_cc and ssb_mb as the last pass found them, under ssb_spin
  seen_mb: Ptr = NULL;
}
const rcv_free = new FreeList<Rcv>();

function soreceive_init(r: Rcv, so: Ptr, psa: Ptr, uio: Uio | null, sio: Ptr, controlp: Ptr, flags: number): void {
  r.so = so;
  r.pr = protosw_of(k32[so + SO.so_proto]);
  r.uio = uio;
  r.sio = sio;
  r.psa = psa;
  r.controlp = controlp;
  r.flags = flags;
  r.resid = uio !== null ? uio.resid : k32[sio + SSB.ssb_climit] - k32[sio + SSB.ssb_cc];
  r.orig_resid = r.resid;
  r.free_chain = NULL;
  r.error = 0;
  r.m = NULL;
  r.moff = 0;
  r.offset = 0;
  r.type = 0;
  r.stalled = false;
}

/* soreceive's end: free what was unlinked; the errno.  r goes back to the free list. */
function soreceive_end(r: Rcv): number {
  const free_chain = r.free_chain, error = r.error;
  r.uio = null;
  rcv_free.put(r);
  if (free_chain !== NULL) m_freem(free_chain);
  return error;
}

/* What soreceive_head found. */
const RCV_COPY = 0;        // something to return: r.m is the first mbuf, ssb_spin held
const RCV_RELEASE = 1;     // nothing to copy: r.error (EOF and resid 0: none); ssb_spin dropped
const RCV_SLEEP = 2;       // sleep set up and I/O lock dropped: wait (ssb_wait), then start over
const RCV_RESTART = 3;     // ... but the re-check found no need to wait: start over

/*
 * soreceive_head: with the I/O lock and ssb_spin held, in a critical section: block for
 * more if we have less than asked for and: less than the low-water mark, or MSG_WAITALL
 * and the whole request could fit at once (resid <= hiwat); never with MSG_DONTWAIT.  A
 * larger MSG_WAITALL is received in sections.  Returns RCV_*.
 */
function soreceive_head(r: Rcv): number {
  const so = r.so, flags = r.flags, resid = r.resid, pr_flags = r.pr!.pr_flags;
  const rcv = so + SO.so_rcv;
  const spin = rcv + SSB.ssb_spin;
  const m = k32[rcv + SSB.ssb_mb];
  const cc = k32[rcv + SSB.ssb_cc];
  // A peek that found nothing to return waits for the buffer to change (pass_end).
  if (r.stalled && (cc !== r.seen_cc || m !== r.seen_mb)) r.stalled = false;
  const stalled = r.stalled;
  if (m === NULL || stalled || ((flags & MSG_DONTWAIT) === 0 && cc < resid &&
      (cc < k32[rcv + SSB.ssb_lowat] || ((flags & MSG_WAITALL) !== 0 && resid <= k32[rcv + SSB.ssb_hiwat])) &&
      k32[m + MB.m_nextpkt] === NULL && (pr_flags & PR_ATOMIC) === 0)) {
    KASSERT(m !== NULL || cc === 0, 'receive 1');
    // What a pass could return: queued mbufs, unless a peek has just found none of them data.
    const queued = m !== NULL && !stalled;
    dontblock: {
      if (k32[so + SO.so_error] !== 0) {
        if (queued) break dontblock;
        r.error = k32[so + SO.so_error];
        if ((flags & MSG_PEEK) === 0) k32[so + SO.so_error] = 0;
        spin_unlock(spin);
        return RCV_RELEASE;
      }
      // One look at the state: under netisr the peer's soisdisconnected (one atomic
      // change: connected -> CANTRCVMORE) runs on another CPU, and two reads could see
      // "not yet unable to receive" and then "no longer connected": ENOTCONN with data
      // queued.  C reads it twice, but under the MP lock.
      const state = Atomics.load(k32, so + SO.so_state);
      if ((state & SS_CANTRCVMORE) !== 0) {
        if (queued) break dontblock;
        spin_unlock(spin);
        return RCV_RELEASE;
      }
      let eor = false;
      for (let n = queued ? m : NULL; n !== NULL && !eor; n = k32[n + MB.m_next]) {
        eor = k32[n + MB.m_type] === MT_OOBDATA || (k32[n + MB.m_flags] & M_EOR) !== 0;
      }
      if (eor) break dontblock;
      if ((state & (SS_ISCONNECTED | SS_ISCONNECTING)) === 0 && (pr_flags & PR_CONNREQUIRED) !== 0) {
        r.error = ENOTCONN;
        spin_unlock(spin);
        return RCV_RELEASE;
      }
      if (resid === 0) { spin_unlock(spin); return RCV_RELEASE; }
      if ((flags & (MSG_FNONBLOCKING | MSG_DONTWAIT)) !== 0) {
        r.error = EWOULDBLOCK;
        spin_unlock(spin);
        return RCV_RELEASE;
      }
      spin_unlock(spin);
      // Queue on the channel, publish SSB_WAIT, re-check, then sleep (file header).
      tsleep_interlock(rcv + SSB.ssb_cc);
      Atomics.or(k32, rcv + SSB.ssb_flags, SSB_WAIT);
      ssb_unlock(rcv);
      spin_lock(spin);
      const wait = stalled ? soreceive_unchanged(r) : soreceive_mustwait(so, resid, flags, pr_flags);
      r.stalled = false;
      spin_unlock(spin);
      return wait ? RCV_SLEEP : RCV_RESTART;
    }
  }
  r.m = m;
  r.seen_cc = cc;
  r.seen_mb = m;
  return RCV_COPY;
}

/* The stalled peek's re-check, with ssb_spin: nothing appended, taken, or ended since its pass. */
function soreceive_unchanged(r: Rcv): boolean {
  const so = r.so, rcv = so + SO.so_rcv;
  return k32[rcv + SSB.ssb_cc] === r.seen_cc && k32[rcv + SSB.ssb_mb] === r.seen_mb && k32[so + SO.so_error] === 0 &&
    (Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) === 0;
}

/*
 * soreceive_dontblock: r.m is the first mbuf of the first record, and we hold ssb_spin:
 * take the address and the control mbufs that lead the record, and flag out-of-band data.
 */
function soreceive_dontblock(r: Rcv): void {
  const so = r.so, pr = r.pr!, flags = r.flags;
  const rcv = so + SO.so_rcv;
  let m = r.m;
  KASSERT(m === k32[rcv + SSB.ssb_mb], 'soreceive: m is not ssb_mb');
  // Skip the address mbuf that leads the record.
  if ((pr.pr_flags & PR_ADDR) !== 0) {
    KASSERT(k32[m + MB.m_type] === MT_SONAME, 'receive 1a');
    r.orig_resid = 0;
    if (r.psa !== NULL) {
      const sa = dup_sockaddr(k32[m + MB.m_data]);
      if (sa === NULL) {
        // Differs: C's M_INTWAIT copy cannot fail; a zone can.  ENOBUFS, with the record
        // left queued whole (nothing is taken; soreceive_move sees no mbuf).
        r.error = ENOBUFS;
        r.m = NULL;
        return;
      }
      k32[r.psa] = sa;
    }
    if ((flags & MSG_PEEK) !== 0) {
      m = k32[m + MB.m_next];
    } else {
      const n = sbunlinkmbuf(rcv, m, r.free_chain);
      r.free_chain = m;
      m = n;
    }
  }
  // Then the control mbufs.
  let cp = r.controlp;
  while (m !== NULL && k32[m + MB.m_type] === MT_CONTROL && r.error === 0) {
    if ((flags & MSG_PEEK) !== 0) {
      // No externalize: raw kernel pointers are copied, an old wart kept.
      if (cp !== NULL) k32[cp] = m_copy(m, 0, k32[m + MB.m_len]);
      m = k32[m + MB.m_next];
    } else if (cp !== NULL) {
      const n = sbunlinkmbuf(rcv, m, NULL);
      const dom = pr.pr_domain;
      if (dom.dom_externalize !== null && k32[(k32[m + MB.m_data] >> 2) + 2] === SCM_RIGHTS) {
        r.error = dom.dom_externalize(m);
      }
      k32[cp] = m;
      m = n;
    } else {
      // Rights dropped here stay in flight until the protocol's garbage collector.
      const n = sbunlinkmbuf(rcv, m, r.free_chain);
      r.free_chain = m;
      m = n;
    }
    if (cp !== NULL && k32[cp] !== NULL) {
      r.orig_resid = 0;
      cp = k32[cp] + MB.m_next;
    }
  }
  // Flag out-of-band data.
  if (m !== NULL) {
    r.type = k32[m + MB.m_type];
    if (r.type === MT_OOBDATA) r.flags |= MSG_OOB;
  }
  r.m = m;
  r.moff = 0;
  r.offset = 0;
}

/*
 * MSG_WAITALL on a non-atomic protocol, the record used up and so_rcv empty, with more
 * wanted and no error or EOF: wait for the rest (soreceive_slow), keeping the I/O lock.
 */
function soreceive_waitall(r: Rcv): boolean {
  const so = r.so;
  return (r.flags & MSG_WAITALL) !== 0 && r.m === NULL && r.resid > 0 && (r.pr!.pr_flags & PR_ATOMIC) === 0 &&
    k32[so + SO.so_rcv + SSB.ssb_mb] === NULL &&
    !(k32[so + SO.so_error] !== 0 || (k32[so + SO.so_state] & SS_CANTRCVMORE) !== 0);
}

/*
 * soreceive_move: copy from r.m on to the uio, or pass the mbufs to sio, with ssb_spin
 * held.  True when it stopped to wait for MSG_WAITALL's rest (ssb_spin still held); else
 * an atomic read that left data in the record gets MSG_TRUNC and the rest of the record
 * is dropped (unless MSG_PEEK), ssb_spin is dropped, and false.
 */
function soreceive_move(r: Rcv): boolean {
  const so = r.so, uio = r.uio, sio = r.sio, pr_flags = r.pr!.pr_flags;
  const rcv = so + SO.so_rcv;
  const spin = rcv + SSB.ssb_spin;
  let m = r.m;
  while (m !== NULL && r.resid > 0 && r.error === 0) {
    const mtype = k32[m + MB.m_type];
    if (mtype === MT_OOBDATA) {
      if (r.type !== MT_OOBDATA) break;
    } else if (r.type === MT_OOBDATA) {
      break;
    } else {
      KASSERT(mtype === MT_DATA || mtype === MT_HEADER, 'receive 3');
    }
    // C clears SS_RCVATMARK on every pass; the atomic op only when it is set.
    if ((k32[so + SO.so_state] & SS_RCVATMARK) !== 0) soclrstate(so, SS_RCVATMARK);
    let len = r.resid;
    const oobmark = k32[so + SO.so_oobmark];
    if (oobmark !== 0 && len > oobmark - r.offset) len = oobmark - r.offset;
    if (len > k32[m + MB.m_len] - r.moff) len = k32[m + MB.m_len] - r.moff;
    if (uio !== null) {
      uiomove(k32[m + MB.m_data] + r.moff, len, uio);
      r.resid = uio.resid;
    } else {
      r.resid -= len;
    }
    // Eat the whole mbuf or a piece of it.
    if (len === k32[m + MB.m_len] - r.moff) {
      if ((k32[m + MB.m_flags] & M_EOR) !== 0) r.flags |= MSG_EOR;
      if ((r.flags & MSG_PEEK) !== 0) {
        m = k32[m + MB.m_next];
        r.moff = 0;
      } else if (sio !== NULL) {
        const n = sbunlinkmbuf(rcv, m, NULL);
        sbappend(sio, m);
        m = n;
      } else {
        const n = sbunlinkmbuf(rcv, m, r.free_chain);
        r.free_chain = m;
        m = n;
      }
    } else if ((r.flags & MSG_PEEK) !== 0) {
      r.moff += len;
    } else {
      if (sio !== NULL) {
        // Here MB_DONTWAIT (C: MB_WAIT): nothing may sleep under ssb_spin.
        const n = m_copym(m, 0, len, MB_DONTWAIT);
        if (n !== NULL) sbappend(sio, n);
      }
      k32[m + MB.m_data] += len;
      k32[m + MB.m_len] -= len;
      k32[rcv + SSB.ssb_cc] -= len;
    }
    if (k32[so + SO.so_oobmark] !== 0) {
      if ((r.flags & MSG_PEEK) === 0) {
        k32[so + SO.so_oobmark] -= len;
        if (k32[so + SO.so_oobmark] === 0) {
          sosetstate(so, SS_RCVATMARK);
          break;
        }
      } else {
        r.offset += len;
        if (r.offset === k32[so + SO.so_oobmark]) break;
      }
    }
    if ((r.flags & MSG_EOR) !== 0) break;
    r.m = m;
    if (soreceive_waitall(r)) return true;
  }
  r.m = m;
  // An atomic read that left data in the record: MSG_TRUNC.
  if (m !== NULL && (pr_flags & PR_ATOMIC) !== 0) r.flags |= MSG_TRUNC;
  // Clean up: an atomic read drops the rest of the record.
  if ((r.flags & MSG_PEEK) === 0 && m !== NULL && (pr_flags & PR_ATOMIC) !== 0) sbdroprecord(rcv);
  spin_unlock(spin);
  return false;
}

/* After the copy: tell the protocol we took data (PR_WANTRCVD), unless we only peeked. */
function soreceive_wantrcvd(r: Rcv): boolean {
  return (r.flags & MSG_PEEK) === 0 && (r.pr!.pr_flags & PR_WANTRCVD) !== 0 && k32[r.so + SO.so_pcb] !== NULL;
}

/* Nothing was returned (no data, address or control), and more may come: start over. */
function soreceive_again(r: Rcv): boolean {
  return r.orig_resid === r.resid && r.orig_resid !== 0 && (r.flags & MSG_EOR) === 0 &&
    (k32[r.so + SO.so_state] & SS_CANTRCVMORE) === 0;
}

/*
 * The end of a pass that took data: true when soreceive must go round again (nothing was
 * returned: the I/O lock and the critical section are left); else the flags go out.
 *
 * Differs from SEED: a pass with MSG_PEEK that returned nothing took nothing either
 * (the record ahead held only control mbufs, as a zero-length send with SCM_RIGHTS
 * leaves, or empty ones), so C's `goto restart` finds the same buffer and spins there
 * for good, holding the MP lock.  Here a stream's next pass waits for the buffer to
 * change instead, as a reader with nothing to read does (EWOULDBLOCK when it must not
 * block): what FreeBSD's later test against sbavail(), which leaves control bytes out,
 * gives.  On an atomic protocol (seqpacket) the data behind would be another record, so
 * the peek returns the record it found: zero bytes.
 */
function soreceive_pass_end(r: Rcv, flagsp: Ptr): boolean {
  const peek = (r.flags & MSG_PEEK) !== 0;
  if (soreceive_again(r) && !(peek && (r.pr!.pr_flags & PR_ATOMIC) !== 0)) {
    r.stalled = peek;
    ssb_unlock(r.so + SO.so_rcv);
    crit_exit();
    return true;
  }
  if (flagsp !== NULL) k32[flagsp] |= r.flags;
  return false;
}

/* Where soreceive_slow starts: at the top (r initialised); waiting for the I/O lock (lk);
 * after the plain attempt set up a sleep for data.  The last two in its critical section. */
const RECV_TOP = 0;
const RECV_LOCK = 1;
const RECV_SLEEP = 2;

/*
 * soreceive: receive from so into uio (or, with uio null, move the mbufs into the
 * sockbuf sio).  psa, controlp and flagsp are kmem words (or NULL) for the sender's
 * address (a dup_sockaddr copy the caller frees), the control mbufs, and the flags in
 * and out (MSG_EOR, MSG_TRUNC, MSG_OOB out).  Queued data is returned before a pending
 * so_error (then returned once, and cleared unless MSG_PEEK) and before EOF (0 bytes,
 * no error).  An atomic protocol returns at most one record: the rest of it is dropped,
 * with MSG_TRUNC.  MSG_PEEK leaves the data queued.  MSG_WAITALL waits, holding the I/O
 * lock, until the request is filled (a signal or timeout then gives the short count and
 * no error).  Errors: ENOTCONN (never connected, CONNREQUIRED), EWOULDBLOCK (nothing to
 * read and MSG_DONTWAIT or a non-blocking file), the sleep's EINTR/ERESTART/timeout
 * EWOULDBLOCK, the protocol's (MSG_OOB).  Blocks.
 *
 * Plain into a uio without MSG_OOB or MSG_WAITALL (its waits for data and for the
 * pru_rcvd's reply are SoreceiveWait continuations); soreceive_slow for the rest (see
 * sosend).
 */
export function soreceive(so: Ptr, psa: Ptr, uio: Uio | null, sio: Ptr, controlp: Ptr, flagsp: Ptr): Blocking<number> {
  const flags = flagsp !== NULL ? k32[flagsp] & ~MSG_EOR : 0;
  const r = rcv_free.get() ?? new Rcv();
  soreceive_init(r, so, psa, uio, sio, controlp, flags);
  if (uio === null || (flags & (MSG_OOB | MSG_WAITALL)) !== 0 ||
      ((k32[so + SO.so_state] & SS_ISCONFIRMING) !== 0 && uio.resid !== 0)) {
    return soreceive_slow(r, flagsp, RECV_TOP, null);
  }
  if (psa !== NULL) k32[psa] = NULL;
  if (controlp !== NULL) k32[controlp] = NULL;
  return soreceive_plain(r, flagsp);
}

/* The plain soreceive from its restart label: done, or the wait that comes next. */
function soreceive_plain(r: Rcv, flagsp: Ptr): Blocking<number> {
  const so = r.so;
  const rcv = so + SO.so_rcv;
  let entry = RECV_TOP;
  let lk: Blocking<number> | null = null;
  restart: for (;;) {
    crit_enter();
    lk = ssb_lock(rcv, SBLOCKWAIT(r.flags));
    if (!is_done(lk)) { entry = RECV_LOCK; break; }
    r.error = done_value(lk);
    if (r.error !== 0) break;
    release: {
      spin_lock(rcv + SSB.ssb_spin);
      const head = soreceive_head(r);
      if (head === RCV_SLEEP) { entry = RECV_SLEEP; break restart; }
      if (head === RCV_RESTART) { crit_exit(); continue restart; }
      if (head === RCV_RELEASE) break release;
      soreceive_dontblock(r);
      if (soreceive_move(r)) panic('soreceive: MSG_WAITALL wait in the plain attempt');
      if (soreceive_wantrcvd(r)) {
        const rcvd = so_pru_rcvd(so, r.flags);
        if (!is_done(rcvd)) return (soreceive_conts.get() ?? new SoreceiveWait()).start(RECV_RCVD, r, flagsp, rcvd);
      }
      if (soreceive_pass_end(r, flagsp)) continue restart;
    }
    ssb_unlock(rcv);
    break;
  }
  // The wait goes on from here, in this critical section.
  if (entry === RECV_SLEEP) return (soreceive_conts.get() ?? new SoreceiveWait()).start(RECV_SLEEP, r, flagsp, ssb_wait(rcv));
  if (entry !== RECV_TOP) return soreceive_slow(r, flagsp, entry, lk);
  crit_exit();
  return done_num(soreceive_end(r));
}

/*
 * The plain soreceive's waits, as a reusable continuation (shared/cont.ts):
 *  - RECV_SLEEP: ssb_wait, then the plain attempt again from its restart label, as
 *    soreceive_slow does after the same wait;
 *  - RECV_RCVD: a pru_rcvd whose port makes us wait for the reply (the netisr model),
 *    then the end of the pass.
 */
const RECV_RCVD = 3;

class SoreceiveWait extends Cont {
  private what = RECV_SLEEP;
  private r: Rcv | null = null;
  private flagsp = NULL;
  private again = false;

  constructor() { super(0); }

  /* entry RECV_SLEEP: inside the critical section in which soreceive_head found nothing to
   * read; RECV_RCVD: inside the pass's critical section, with the I/O lock, io the pru_rcvd. */
  start(what: number, r: Rcv, flagsp: Ptr, io: Blocking<number>): this {
    this.what = what; this.r = r; this.flagsp = flagsp;
    this.again = false;
    return this.begin(io);
  }

  protected step(v: unknown): Blocking<number> | null {
    const r = this.r!;
    if (this.again) {
      this.result = v as number;
      return FINISHED;
    }
    this.again = true;
    if (this.what === RECV_SLEEP) {
      r.error = v as number;
      crit_exit();
      if (r.error === 0) return soreceive_plain(r, this.flagsp);
    } else {
      if (soreceive_pass_end(r, this.flagsp)) return soreceive_plain(r, this.flagsp);
      ssb_unlock(r.so + SO.so_rcv);
      crit_exit();
    }
    this.result = soreceive_end(r);
    return FINISHED;
  }

  protected release(): void {
    this.r = null;
    soreceive_conts.put(this);
  }
}
const soreceive_conts = new FreeList<SoreceiveWait>();

/* soreceive as a generator, from entry (RECV_*), with the plain attempt's r. */
function* soreceive_slow(r: Rcv, flagsp: Ptr, entry: number, lk: Blocking<number> | null): Blocking<number> {
  const so = r.so, uio = r.uio, sio = r.sio, pr = r.pr!;
  const rcv = so + SO.so_rcv;
  const spin = rcv + SSB.ssb_spin;
  if (entry === RECV_TOP) {
    if (r.psa !== NULL) k32[r.psa] = NULL;
    if (r.controlp !== NULL) k32[r.controlp] = NULL;
    if ((r.flags & MSG_OOB) !== 0) {
      let m = yield* m_get_wait(MT_DATA);
      let error = yield* so_pru_rcvoob(so, m, r.flags & MSG_PEEK);
      if (error === 0) {
        if (sio !== NULL) {
          sbappend(sio, m);
          m = NULL;
        } else {
          do {
            error = uiomove(k32[m + MB.m_data], Math.min(uio!.resid, k32[m + MB.m_len]), uio!);
            m = m_free(m);
          } while (uio!.resid !== 0 && error === 0 && m !== NULL);
        }
      }
      if (m !== NULL) m_freem(m);
      r.error = error;
      return soreceive_end(r);
    }
    if ((k32[so + SO.so_state] & SS_ISCONFIRMING) !== 0 && r.resid !== 0) yield* so_pru_rcvd(so, 0);
  }

  restart: for (;;) {
    if (entry === RECV_SLEEP) {
      entry = RECV_TOP;
      r.error = yield* ssb_wait(rcv);
      crit_exit();
      if (r.error !== 0) break;
    }
    if (entry === RECV_LOCK) {
      entry = RECV_TOP;
    } else {
      crit_enter();
      lk = ssb_lock(rcv, SBLOCKWAIT(r.flags));
    }
    done: {
      r.error = yield* lk!;
      if (r.error !== 0) break done;
      release: {
        spin_lock(spin);
        const head = soreceive_head(r);
        if (head === RCV_SLEEP) { entry = RECV_SLEEP; continue restart; }
        if (head === RCV_RESTART) { crit_exit(); continue restart; }
        if (head === RCV_RELEASE) break release;
        soreceive_dontblock(r);
        // MSG_WAITALL on a non-atomic protocol: wait for the rest while keeping the I/O
        // lock against other readers; a signal or timeout returns the short count with
        // no error.
        let waitall = soreceive_move(r);
        while (waitall) {
          spin_unlock(spin);
          // The window may have closed to zero: tell the protocol we drained it.
          if ((pr.pr_flags & PR_WANTRCVD) !== 0 && k32[so + SO.so_pcb] !== NULL) yield* so_pru_rcvd(so, r.flags);
          tsleep_interlock(rcv + SSB.ssb_cc);
          Atomics.or(k32, rcv + SSB.ssb_flags, SSB_WAIT);
          spin_lock(spin);
          const wait = k32[rcv + SSB.ssb_mb] === NULL && k32[so + SO.so_error] === 0 &&
            (Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) === 0;
          spin_unlock(spin);
          if (wait) r.error = yield* ssb_wait(rcv);
          if (r.error !== 0) {
            ssb_unlock(rcv);
            r.error = 0;
            break done;
          }
          spin_lock(spin);
          r.m = k32[rcv + SSB.ssb_mb];
          waitall = soreceive_waitall(r) || soreceive_move(r);
        }
        if (soreceive_wantrcvd(r)) yield* so_pru_rcvd(so, r.flags);
        if (soreceive_pass_end(r, flagsp)) continue restart;
      }
      ssb_unlock(rcv);
    }
    crit_exit();
    break;
  }
  return soreceive_end(r);
}

/*
 * soshutdown: SHUT_RD flushes the receive side (never telling the peer); SHUT_WR tells
 * the protocol (pru_shutdown); SHUT_RDWR both.  EINVAL for another how.  Blocks.
 */
export function* soshutdown(so: Ptr, how: number): Blocking<number> {
  if (!(how === SHUT_RD || how === SHUT_WR || how === SHUT_RDWR)) return EINVAL;
  if (how !== SHUT_WR) yield* sorflush(so);
  if (how !== SHUT_RD) return yield* so_pru_shutdown(so);
  return 0;
}

/*
 * sorflush: throw away everything receivable: take the I/O lock uninterruptibly
 * (SSB_NOINTR; a MSG_WAITALL reader may hold it), mark the socket unable to receive
 * (waking readers), then empty so_rcv completely: every field is zeroed (hiwat, lowat,
 * timeo and flags included) except a kqueue's knote state; in-flight rights are disposed
 * of by the domain (PR_RIGHTS) and the reservation returned.  Blocks for the lock, and
 * with wait in the last close of a file whose last reference was in the buffer; without
 * wait (a caller that cannot sleep, whose socket has no file: the lock is free) it never
 * blocks and those closes go to the unp_gc daemon.
 */
export function sorflush(so: Ptr, wait = true): Blocking<void> {
  const ssb = so + SO.so_rcv;
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_NOINTR);
  if (sleeplock_try(ssb + SSB.ssb_flags, SSB_LOCK)) return sorflush_locked(so, wait);
  return sorflush_wait(so, wait);
}

function* sorflush_wait(so: Ptr, wait: boolean): Blocking<void> {
  yield* ssb_lock(so + SO.so_rcv, M_WAITOK);   // SSB_NOINTR: no signal ends this wait
  yield* sorflush_locked(so, wait);
}

/*
 * The rest of sorflush, with so_rcv's I/O lock held.  asb: past struct socket (file
 * header).  Blocks only in the disposal's last closes, and only with wait.
 */
function sorflush_locked(so: Ptr, wait: boolean): Blocking<void> {
  const ssb = so + SO.so_rcv;
  const asb = so + SO.SIZE;
  const pr = protosw_of(k32[so + SO.so_proto]);
  crit_enter();
  socantrcvmore(so);
  spin_lock(ssb + SSB.ssb_spin);
  spin_lock(knote_spin());      // the klist and SSB_KNOTE must not change under the copy (kern_event.ts)
  k32.copyWithin(asb, ssb, ssb + SSB.SIZE);
  k32[asb + SSB.ssb_flags] &= ~(SSB_LOCK | SSB_WANT);   // C copies after its ssb_unlock
  // bzero the live signalsockbuf, all but its flags (below) and its spinlock (held, and
  // kept for its class).
  k32.fill(0, ssb, ssb + SSB.ssb_flags);
  k32.fill(0, ssb + SSB.ssb_flags + 1, ssb + SSB.ssb_spin);
  const knote = k32[asb + SSB.ssb_flags] & SSB_KNOTE;
  if (knote !== 0) {
    k32[ssb + SSB.ssb_sel + SEL.si_note] = k32[asb + SSB.ssb_sel + SEL.si_note];
    k32[ssb + SSB.ssb_sel + SEL.si_note + 1] = k32[asb + SSB.ssb_sel + SEL.si_note + 1];
  }
  // The flags C's bzero leaves (SSB_KNOTE or none), but the I/O lock's bits as they are:
  // C drops the lock first and clears after, which is safe only because the threads it
  // wakes cannot run before the bzero (MP lock, critical section).  A reader on another
  // CPU here could take the lock in that gap and have its bit wiped; so the lock is
  // dropped after the clear, and a waiter's SSB_WANT survives it to be woken.
  for (;;) {
    const old = Atomics.load(k32, ssb + SSB.ssb_flags);
    if (Atomics.compareExchange(k32, ssb + SSB.ssb_flags, old, (old & (SSB_LOCK | SSB_WANT)) | knote) === old) break;
  }
  spin_unlock(knote_spin());
  spin_unlock(ssb + SSB.ssb_spin);
  ssb_unlock(ssb);
  crit_exit();
  let closes = DONE_VOID;
  if ((pr.pr_flags & PR_RIGHTS) !== 0 && pr.pr_domain.dom_dispose !== null) closes = pr.pr_domain.dom_dispose(k32[asb + SSB.ssb_mb], wait);
  // The chain is released here, the files it carried closed after: C closes them inside
  // dom_dispose, before sbrelease, which only settles the copy's accounting.
  ssb_release(asb, so);
  k32.fill(0, asb, asb + SSB.SIZE);
  return closes;
}

/* The value a sockopt moves, as the C local does; consumed before anything else runs. */
const optbuf32 = new Int32Array(4);
const optbuf = new Uint8Array(optbuf32.buffer);

/*
 * sooptcopyin: copy the option value into optbuf: EINVAL when it is shorter than minlen;
 * at most len bytes are taken.
 */
export function sooptcopyin(sopt: Ptr, len: number, minlen: number): number {
  let valsize = k32[sopt + SOPT.sopt_valsize];
  if (valsize < minlen) return EINVAL;
  if (valsize > len) k32[sopt + SOPT.sopt_valsize] = valsize = len;
  optbuf32.fill(0);
  const src = k32[sopt + SOPT.sopt_val];
  for (let i = 0; i < valsize; i++) optbuf[i] = ku8[src + i];
  return 0;
}

/* sooptcopyout: copy len bytes of optbuf out, at most sopt_valsize; sopt_valsize = bytes copied. */
export function sooptcopyout(sopt: Ptr, len: number): number {
  const valsize = Math.min(len, k32[sopt + SOPT.sopt_valsize]);
  k32[sopt + SOPT.sopt_valsize] = valsize;
  const dst = k32[sopt + SOPT.sopt_val];
  for (let i = 0; i < valsize; i++) ku8[dst + i] = optbuf[i];
  return 0;
}

/*
 * sosetopt: set a socket option.  Another level goes to the protocol's pr_ctloutput
 * (ENOPROTOOPT without one).  SOL_SOCKET: SO_LINGER (struct linger), the boolean options
 * (an int, non-zero sets), SO_SNDBUF/SO_RCVBUF (EINVAL below 1; a new reservation),
 * SO_SNDLOWAT/SO_RCVLOWAT (EINVAL below 1; clamped to the hiwat), SO_SNDTIMEO/SO_RCVTIMEO
 * (struct timeval to ticks at HZ, EDOM out of range), SO_ACCEPTFILTER; ENOPROTOOPT for
 * anything else.  A successful SOL_SOCKET set is also shown to pr_ctloutput (its answer
 * ignored).  Blocks (a protocol request).
 */
export function* sosetopt(so: Ptr, sopt: Ptr): Blocking<number> {
  const pr = protosw_of(k32[so + SO.so_proto]);
  let error = 0;
  k32[sopt + SOPT.sopt_dir] = SOPT_SET;
  if (k32[sopt + SOPT.sopt_level] !== SOL_SOCKET) {
    if (pr.pr_ctloutput !== null) return yield* so_pru_ctloutput(so, sopt);
    return ENOPROTOOPT;
  }
  const name = k32[sopt + SOPT.sopt_name];
  bad: {
    switch (name) {
      case SO_ACCEPTFILTER:
        error = do_setopt_accept_filter(so, k32[sopt + SOPT.sopt_val], k32[sopt + SOPT.sopt_valsize]);
        if (error !== 0) break bad;
        break;
      case SO_LINGER:
        error = sooptcopyin(sopt, LINGER_BYTES, LINGER_BYTES);
        if (error !== 0) break bad;
        k32[so + SO.so_linger] = optbuf32[1];
        if (optbuf32[0] !== 0) k32[so + SO.so_options] |= SO_LINGER;
        else k32[so + SO.so_options] &= ~SO_LINGER;
        break;
      case SO_DEBUG: case SO_KEEPALIVE: case SO_DONTROUTE: case SO_USELOOPBACK: case SO_BROADCAST:
      case SO_REUSEADDR: case SO_REUSEPORT: case SO_OOBINLINE: case SO_TIMESTAMP: case SO_NOSIGPIPE:
        error = sooptcopyin(sopt, INT_BYTES, INT_BYTES);
        if (error !== 0) break bad;
        if (optbuf32[0] !== 0) k32[so + SO.so_options] |= name;
        else k32[so + SO.so_options] &= ~name;
        break;
      case SO_SNDBUF: case SO_RCVBUF: case SO_SNDLOWAT: case SO_RCVLOWAT: {
        error = sooptcopyin(sopt, INT_BYTES, INT_BYTES);
        if (error !== 0) break bad;
        const optval = optbuf32[0];
        // Values below 1 make no sense for any of these.
        if (optval < 1) { error = EINVAL; break bad; }
        if (name === SO_SNDBUF || name === SO_RCVBUF) {
          const td = k32[sopt + SOPT.sopt_td];
          const p = td !== NULL ? k32[td + TD.td_proc] : NULL;
          if (ssb_reserve(so + (name === SO_SNDBUF ? SO.so_snd : SO.so_rcv), optval, so, ai_sb_rlimit(p)) === 0) {
            error = ENOBUFS;
            break bad;
          }
        } else {
          // The low-water mark never exceeds the high-water mark.
          const ssb = so + (name === SO_SNDLOWAT ? SO.so_snd : SO.so_rcv);
          k32[ssb + SSB.ssb_lowat] = Math.min(optval, k32[ssb + SSB.ssb_hiwat]);
        }
        break;
      }
      case SO_SNDTIMEO: case SO_RCVTIMEO: {
        error = sooptcopyin(sopt, TIMEVAL_BYTES, TIMEVAL_BYTES);
        if (error !== 0) break bad;
        const tv_sec = optbuf32[0], tv_usec = optbuf32[1];
        if (tv_sec < 0 || tv_sec > Math.trunc(SHRT_MAX / HZ) || tv_usec < 0 || tv_usec >= 1000000) {
          error = EDOM;
          break bad;
        }
        let val = tv_sec * HZ + Math.trunc(tv_usec / USTICK);
        if (val > SHRT_MAX) { error = EDOM; break bad; }
        if (val === 0 && tv_usec !== 0) val = 1;
        k32[so + (name === SO_SNDTIMEO ? SO.so_snd : SO.so_rcv) + SSB.ssb_timeo] = val;
        break;
      }
      default:
        error = ENOPROTOOPT;
        break;
    }
    if (error === 0 && pr.pr_ctloutput !== null) yield* so_pru_ctloutput(so, sopt);
  }
  return error;
}

/*
 * sogetopt: read a socket option into the caller's value (sopt_valsize becomes the bytes
 * written).  SO_ERROR returns so_error and clears it; SO_SNDBUF/SO_RCVBUF the hiwats;
 * SO_*TIMEO a struct timeval; the booleans their bit (non-zero when set).  ENOPROTOOPT
 * for an unknown option or a level the protocol has no handler for.  Blocks (a protocol
 * request).
 */
export function* sogetopt(so: Ptr, sopt: Ptr): Blocking<number> {
  const pr = protosw_of(k32[so + SO.so_proto]);
  k32[sopt + SOPT.sopt_dir] = SOPT_GET;
  if (k32[sopt + SOPT.sopt_level] !== SOL_SOCKET) {
    if (pr.pr_ctloutput !== null) return yield* so_pru_ctloutput(so, sopt);
    return ENOPROTOOPT;
  }
  const name = k32[sopt + SOPT.sopt_name];
  optbuf32.fill(0);
  switch (name) {
    case SO_LINGER:
      optbuf32[0] = k32[so + SO.so_options] & SO_LINGER;
      optbuf32[1] = k32[so + SO.so_linger];
      return sooptcopyout(sopt, LINGER_BYTES);
    case SO_USELOOPBACK: case SO_DONTROUTE: case SO_DEBUG: case SO_KEEPALIVE: case SO_REUSEADDR:
    case SO_REUSEPORT: case SO_BROADCAST: case SO_OOBINLINE: case SO_TIMESTAMP: case SO_ACCEPTCONN:
    case SO_NOSIGPIPE:
      optbuf32[0] = k32[so + SO.so_options] & name;
      return sooptcopyout(sopt, INT_BYTES);
    case SO_TYPE:
      optbuf32[0] = k32[so + SO.so_type];
      return sooptcopyout(sopt, INT_BYTES);
    case SO_ACCEPTFILTER: {
      const n = sogetopt_accept_filter(so, k32[sopt + SOPT.sopt_val], k32[sopt + SOPT.sopt_valsize]);
      if (n < 0) return -n;
      k32[sopt + SOPT.sopt_valsize] = n;
      return 0;
    }
    case SO_ERROR:
      optbuf32[0] = k32[so + SO.so_error];
      k32[so + SO.so_error] = 0;
      return sooptcopyout(sopt, INT_BYTES);
    case SO_SNDBUF:
      optbuf32[0] = k32[so + SO.so_snd + SSB.ssb_hiwat];
      return sooptcopyout(sopt, INT_BYTES);
    case SO_RCVBUF:
      optbuf32[0] = k32[so + SO.so_rcv + SSB.ssb_hiwat];
      return sooptcopyout(sopt, INT_BYTES);
    case SO_SNDLOWAT:
      optbuf32[0] = k32[so + SO.so_snd + SSB.ssb_lowat];
      return sooptcopyout(sopt, INT_BYTES);
    case SO_RCVLOWAT:
      optbuf32[0] = k32[so + SO.so_rcv + SSB.ssb_lowat];
      return sooptcopyout(sopt, INT_BYTES);
    case SO_SNDTIMEO: case SO_RCVTIMEO: {
      const optval = k32[so + (name === SO_SNDTIMEO ? SO.so_snd : SO.so_rcv) + SSB.ssb_timeo];
      optbuf32[0] = Math.trunc(optval / HZ);
      optbuf32[1] = (optval % HZ) * USTICK;
      return sooptcopyout(sopt, TIMEVAL_BYTES);
    }
    default:
      return ENOPROTOOPT;
  }
}

/* ---- readiness (sys/socketvar.h soreadable/sowriteable; uipc_socket.c sopoll) ---- */

/* soreadable: data at or above the low-water mark, EOF, a completed connection, or an error. */
export function soreadable(so: Ptr): boolean {
  const r = so + SO.so_rcv;
  return k32[r + SSB.ssb_cc] >= k32[r + SSB.ssb_lowat] || (Atomics.load(k32, so + SO.so_state) & SS_CANTRCVMORE) !== 0 ||
    k32[so + SO.so_comp] !== NULL || k32[so + SO.so_error] !== 0;
}

/* sowriteable: room at or above the send low-water mark on a socket that may send, a
 * shut send side (the write then fails), or an error. */
export function sowriteable(so: Ptr): boolean {
  const s = so + SO.so_snd;
  const st = Atomics.load(k32, so + SO.so_state);
  return (ssb_space(s) >= k32[s + SSB.ssb_lowat] &&
      ((st & SS_ISCONNECTED) !== 0 || (protosw_of(k32[so + SO.so_proto]).pr_flags & PR_CONNREQUIRED) === 0)) ||
    (st & SS_CANTSENDMORE) !== 0 || k32[so + SO.so_error] !== 0;
}

/*
 * sopoll: which of `events` hold now.  When none does and td is given (a selecting
 * thread), td is recorded on so_rcv for the read events and on so_snd for the write
 * events (selrecord, SSB_SEL), so that sowakeup wakes it.  td NULL only asks.
 * Here the state is looked at again after the record: a protocol thread on another CPU
 * (netisr model) may have changed it and found no SSB_SEL between the first look and the
 * record (DragonFly 2008 had the BGL around both; dragonfly.md 9.2).
 */
export function sopoll(so: Ptr, events: number, _cred: Ptr = NULL, td: Ptr = NULL): number {
  let revents = sopoll_events(so, events);
  if (revents === 0 && td !== NULL) {
    if ((events & (POLLIN | POLLINIGNEOF | POLLPRI | POLLRDNORM | POLLRDBAND)) !== 0) {
      selrecord(td, so + SO.so_rcv + SSB.ssb_sel);
      Atomics.or(k32, so + SO.so_rcv + SSB.ssb_flags, SSB_SEL);
    }
    if ((events & (POLLOUT | POLLWRNORM)) !== 0) {
      selrecord(td, so + SO.so_snd + SSB.ssb_sel);
      Atomics.or(k32, so + SO.so_snd + SSB.ssb_flags, SSB_SEL);
    }
    revents = sopoll_events(so, events);
  }
  return revents;
}

function sopoll_events(so: Ptr, events: number): number {
  let revents = 0;
  if ((events & (POLLIN | POLLRDNORM)) !== 0 && soreadable(so)) revents |= events & (POLLIN | POLLRDNORM);
  if ((events & POLLINIGNEOF) !== 0 && (k32[so + SO.so_rcv + SSB.ssb_cc] >= k32[so + SO.so_rcv + SSB.ssb_lowat] ||
      k32[so + SO.so_comp] !== NULL || k32[so + SO.so_error] !== 0)) revents |= POLLINIGNEOF;
  if ((events & (POLLOUT | POLLWRNORM)) !== 0 && sowriteable(so)) revents |= events & (POLLOUT | POLLWRNORM);
  if ((events & (POLLPRI | POLLRDBAND)) !== 0 &&
      (k32[so + SO.so_oobmark] !== 0 || (Atomics.load(k32, so + SO.so_state) & SS_RCVATMARK) !== 0)) {
    revents |= events & (POLLPRI | POLLRDBAND);
  }
  return revents;
}
