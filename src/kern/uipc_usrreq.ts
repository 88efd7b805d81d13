/*
 * uipc_usrreq.ts: the unix-domain (AF_LOCAL) protocol: SOCK_STREAM, SOCK_SEQPACKET and
 * SOCK_DGRAM, and its registration.
 * Mirrors DragonFly sys/kern/uipc_usrreq.c (2008, dragonfly.md "SEED" 5.1-5.6, 5.8)
 * function for function, in its order, and, last, kern/uipc_proto.c (localsw, localdomain),
 * which registers the domain when this module loads (net_add_domain); src/kernel.ts
 * imports it, so every isolate that loads the kernel has AF_LOCAL, numbered before any
 * protocol a thread module adds.
 *
 * Differs where the simulation forces it:
 *  - The file system is kern/vfs_unixsock.ts: unp_bind creates a socket node there
 *    (vn_sock_create), unp_connect looks one up (vn_sock_lookup), unp_detach releases it.
 *  - A sockaddr is a kmem byte address (sun_len first); a returned address (accept,
 *    peeraddr, sockaddr) is a dup_sockaddr copy stored in the kmem word `nam`; a copy that
 *    cannot be had is ENOBUFS (C's M_WAITOK kmalloc cannot fail).
 *  - Requests reach these functions on so_port (pr_mport NULL): the sync port in the bgl
 *    model, under the BGL, as in SEED; the socket's netisr thread in the netisr model.
 *    Appends to the peer's so_rcv and the SSB_STOP decisions are made under that
 *    sockbuf's ssb_spin (the reader's soreceive holds it while it unlinks mbufs), and
 *    SSB_STOP changes by Atomics, so a writer's sosend re-check after SSB_WAIT (uipc_socket)
 *    cannot miss uipc_rcvd's clear.  A request reaches the peer's pcb and socket from its
 *    own socket's thread (a send appends to the peer, a close disconnects it), so the
 *    netisr threads hold unp_token around every AF_LOCAL request (pr_token), as HEAD
 *    does; the finer per-pcb pool tokens and pcb references come with the mpsafe AF_LOCAL
 *    issue.  The mpsafe model routes these requests to the caller with no lock:
 *    single-threaded use only.
 *  - Control data: unp_internalize (uipc_cmsg.ts) fills in SCM_CREDS; SCM_RIGHTS
 *    (unp_externalize, unp_dispose, unp_gc) is uipc_usrreq_rights.ts.
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { unp_internalize } from './uipc_cmsg.js';
import { unp_detach_rights, unp_dispose, unp_externalize } from './uipc_usrreq_rights.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import {
  ECONNABORTED, ECONNREFUSED, ECONNRESET, EINVAL, EISCONN, ENOBUFS, ENOTCONN, EOPNOTSUPP, EPIPE, EPROTOTYPE,
} from '../../shared/errno.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { zfree, Z_KMALLOC16 } from '../../shared/zone.js';
import { kfail_zalloc } from './kern_fail.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_INSERT_TAIL, TAILQ_REMOVE } from '../../shared/tailq.js';
import { TD } from '../lwkt/thread.js';
import { SO, SSB, SSB_STOP, SS_ISCONNECTED, SS_CANTSENDMORE } from '../sys/socketvar.js';
import { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SO_ACCEPTCONN, LOCAL_PEERCRED, AF_LOCAL } from '../sys/socket.js';
import {
  PR_ATOMIC, PR_ADDR, PR_CONNREQUIRED, PR_WANTRCVD, PR_RIGHTS, PRUS_OOB, PRUS_EOF, type Domain, type Protosw,
  type PrUsrreqs,
} from '../sys/protosw.js';
import { PROC, UCRED } from '../sys/proc.js';
import { STAT } from '../sys/stat.js';
import {
  UNPCB, XUCRED, XUCRED_VERSION, UNP_HAVEPC, UNP_HAVEPCCACHED, SUN_PATH_OFF,
} from '../sys/unpcb.js';
import { m_freem } from './uipc_mbuf.js';
import { sbappend, sbappendrecord, ssb_appendaddr, ssb_appendcontrol } from './uipc_sockbuf.js';
import { net_add_domain, protosw_of } from './uipc_domain.js';
import {
  dup_sockaddr, free_sockaddr, pru_control_notsupp, pru_rcvoob_notsupp, socantrcvmore, socantsendmore, soclrstate,
  soisconnected, soisdisconnected, sonewconn, soreserve, sorwakeup, sowwakeup,
} from './uipc_socket2.js';
import { ai_sb_rlimit, sofree, SOPT, SOPT_GET } from './uipc_socket.js';
import {
  NSG, sun_noname, unixsock_globals, unixsock_ino_alloc, unp_token, vn_sock_create, vn_sock_lookup, vn_sock_lookup_result,
  vn_sock_release,
} from './vfs_unixsock.js';
import { CTLFLAG_RW, sysctl_int } from './kern_sysctl.js';

/*
 * Default buffer sizes (SEED, since 2008-09-06: dragonfly.md 5.3): stream and seqpacket
 * both ways PIPSIZ; a datagram socket sends at most UNPDG_SENDSPACE ("really max datagram
 * size") and queues UNPDG_RECVSPACE.  These are the boot values of the read-write sysctls
 * net.local.stream.sendspace/recvspace and net.local.dgram.maxdgram/recvspace, which
 * unp_attach reads for each new socket.
 */
export const UNPST_SENDSPACE = 57344;
export const UNPST_RECVSPACE = 57344;
export const UNPDG_SENDSPACE = 2048;
export const UNPDG_RECVSPACE = 4096;

/* Boot: the net.local space tunables' initial values. */
export function unp_space_init(): void {
  const g = unixsock_globals();
  k32[g + NSG.ns_st_sendspace] = UNPST_SENDSPACE;
  k32[g + NSG.ns_st_recvspace] = UNPST_RECVSPACE;
  k32[g + NSG.ns_dg_sendspace] = UNPDG_SENDSPACE;
  k32[g + NSG.ns_dg_recvspace] = UNPDG_RECVSPACE;
}

/*
 * C declares them u_long and SYSCTL_INT takes any int; ssb_reserve clamps a size past
 * sb_max_adj, as there.  A negative value is refused (EINVAL) instead of wrapping to a
 * huge u_long.
 */
function unp_space_set(word: number): (v: number) => number {
  return (v: number): number => {
    if (v < 0) return EINVAL;
    Atomics.store(k32, unixsock_globals() + word, v);
    return 0;
  };
}
sysctl_int('net.local.stream.sendspace', CTLFLAG_RW, () => unixsock_globals() + NSG.ns_st_sendspace,
  'Default stream send space', unp_space_set(NSG.ns_st_sendspace));
sysctl_int('net.local.stream.recvspace', CTLFLAG_RW, () => unixsock_globals() + NSG.ns_st_recvspace,
  'Default stream receive space', unp_space_set(NSG.ns_st_recvspace));
sysctl_int('net.local.dgram.maxdgram', CTLFLAG_RW, () => unixsock_globals() + NSG.ns_dg_sendspace,
  'Maximum datagram size', unp_space_set(NSG.ns_dg_sendspace));
sysctl_int('net.local.dgram.recvspace', CTLFLAG_RW, () => unixsock_globals() + NSG.ns_dg_recvspace,
  'Default datagram receive space', unp_space_set(NSG.ns_dg_recvspace));

const NOUDEV = -1;                    // st_dev of a socket: no device

/* The pcb of so, or NULL. */
export function sotounpcb(so: Ptr): Ptr { return k32[so + SO.so_pcb]; }

/* Store a dup_sockaddr copy of sa (a byte address) in the kmem word nam: 0, or ENOBUFS. */
function nam_dup(nam: Ptr, sa: number): number {
  const copy = dup_sockaddr(sa);
  if (copy === NULL) return ENOBUFS;
  k32[nam] = copy;
  return 0;
}

/* ---- the user requests (struct pr_usrreqs uipc_usrreqs) ---- */

/*
 * uipc_abort: a queued connection is aborted (its listener closed, or the incomplete
 * queue evicted it): ECONNABORTED for it, disconnect (the client then reads EOF), detach
 * and free.  netmsg_pru_abort has cleared SS_ABORTING, so sofree proceeds.  EINVAL with
 * no pcb (the dispatcher then frees the socket).
 */
function uipc_abort(so: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  unp_drop(unp, ECONNABORTED);
  unp_detach(unp);
  sofree(so);
  return 0;
}

/*
 * uipc_accept: the name of the connecting socket, if it was bound and we are still
 * connected (our peer may have closed already!), else sun_noname.  nam may be NULL.
 */
function uipc_accept(so: Ptr, nam: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  if (nam === NULL) return 0;
  const unp2 = k32[unp + UNPCB.unp_conn];
  if (unp2 !== NULL && k32[unp2 + UNPCB.unp_addr] !== NULL) return nam_dup(nam, k32[unp2 + UNPCB.unp_addr]);
  return nam_dup(nam, sun_noname());
}

/* uipc_attach: EISCONN when so already has a pcb; else unp_attach. */
function uipc_attach(so: Ptr, _proto: number, ai: Ptr): number {
  if (sotounpcb(so) !== NULL) return EISCONN;
  return unp_attach(so, ai);
}

function uipc_bind(so: Ptr, nam: Ptr, td: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  return unp_bind(unp, nam, td);
}

function uipc_connect(so: Ptr, nam: Ptr, td: Ptr): number {
  if (sotounpcb(so) === NULL) return EINVAL;
  return unp_connect(so, nam, td);
}

/* uipc_connect2: one direction; a datagram pair is connected both ways by its caller. */
function uipc_connect2(so1: Ptr, so2: Ptr): number {
  if (sotounpcb(so1) === NULL) return EINVAL;
  return unp_connect2(so1, so2);
}

/* control is DEPRECATED: pru_control_notsupp. */

function uipc_detach(so: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  unp_detach(unp);
  return 0;
}

function uipc_disconnect(so: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  unp_disconnect(unp);
  return 0;
}

/* uipc_listen: only a bound socket (EINVAL otherwise); any type may "listen". */
function uipc_listen(so: Ptr, td: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL || k32[unp + UNPCB.unp_vnode] === NULL) return EINVAL;
  return unp_listen(unp, td);
}

/* uipc_peeraddr: the peer's bound address, or sun_noname. */
function uipc_peeraddr(so: Ptr, nam: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  const unp2 = k32[unp + UNPCB.unp_conn];
  if (unp2 !== NULL && k32[unp2 + UNPCB.unp_addr] !== NULL) return nam_dup(nam, k32[unp2 + UNPCB.unp_addr]);
  // XXX (C): it seems this test always fails even when connected; so return PF_LOCAL's noname.
  return nam_dup(nam, sun_noname());
}

/*
 * uipc_rcvd: the reader took data from so_rcv.  Because mbufs go straight to the peer's
 * receive buffer, the writer is held back by SSB_STOP on its own so_snd (uipc_send); lift
 * it, and wake the writer, as soon as our so_rcv is below the writer's limits: no
 * hysteresis.  A datagram socket never asks (no PR_WANTRCVD): panic.
 */
function uipc_rcvd(so: Ptr, _flags: number): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  const type = k32[so + SO.so_type];
  if (type === SOCK_DGRAM) panic('uipc_rcvd DGRAM?');
  if (type !== SOCK_STREAM && type !== SOCK_SEQPACKET) panic('uipc_rcvd unknown socktype');
  const unp2 = k32[unp + UNPCB.unp_conn];
  if (unp2 === NULL) return 0;
  const so2 = k32[unp2 + UNPCB.unp_socket];
  const rcv = so + SO.so_rcv, snd2 = so2 + SO.so_snd;
  spin_lock(rcv + SSB.ssb_spin);
  const lift = k32[rcv + SSB.ssb_cc] < k32[snd2 + SSB.ssb_hiwat] && k32[rcv + SSB.ssb_mbcnt] < k32[snd2 + SSB.ssb_mbmax];
  if (lift) Atomics.and(k32, snd2 + SSB.ssb_flags, ~SSB_STOP);
  spin_unlock(rcv + SSB.ssb_spin);
  if (lift) sowwakeup(so2);
  return 0;
}

/* pru_rcvoob is EOPNOTSUPP. */

/*
 * uipc_send: deliver chain m (and control) straight into the peer's so_rcv.
 *  SOCK_DGRAM: with nam, a temporary connect to it (EISCONN when connected; unp_connect's
 *   errors), undone after the send; without, the connected peer (ENOTCONN: sosend's
 *   EDESTADDRREQ normally comes first).  One record: the sender's bound address (or
 *   sun_noname), control, data.  ENOBUFS at once when the receiver has no space
 *   (ssb_space <= 0); a record bigger than the space left still goes in whole.  Senders
 *   never block: their own so_snd stays empty.
 *  SOCK_STREAM, SOCK_SEQPACKET: an unconnected socket connects to nam, or ENOTCONN; EPIPE
 *   after shutdown.  Stream data merges into the peer's last record (sbappend), a
 *   seqpacket send is one record (sbappendrecord), control data goes with its data as one
 *   record (ssb_appendcontrol; refused silently when the peer has no space).  Then, if the
 *   peer's so_rcv holds our so_snd hiwat (or mbmax), SSB_STOP on our so_snd: sosend waits
 *   until uipc_rcvd lifts it.
 * PRUS_OOB: EOPNOTSUPP.  PRUS_EOF: shut down the send side after.  m and control are
 * consumed in every case.
 */
function uipc_send(so: Ptr, flags: number, m: Ptr, nam: Ptr, control: Ptr, td: Ptr): number {
  let error = 0;
  const unp = sotounpcb(so);
  release: {
    if (unp === NULL) { error = EINVAL; break release; }
    if ((flags & PRUS_OOB) !== 0) { error = EOPNOTSUPP; break release; }
    if (control !== NULL) {
      // SCM_CREDS filled in, SCM_RIGHTS' descriptors turned into held files, the rest refused.
      const p = td !== NULL ? k32[td + TD.td_proc] : NULL;
      error = p !== NULL ? unp_internalize(control, p) : EINVAL;
      if (error !== 0) {
        m_freem(control);           // nothing was internalized: nothing to dispose of
        control = NULL;
        break release;
      }
    }
    switch (k32[so + SO.so_type]) {
      case SOCK_DGRAM: {
        if (nam !== NULL) {
          if (k32[unp + UNPCB.unp_conn] !== NULL) { error = EISCONN; break; }
          error = unp_connect(so, nam, td);
          if (error !== 0) break;
        } else if (k32[unp + UNPCB.unp_conn] === NULL) {
          error = ENOTCONN;
          break;
        }
        const so2 = k32[k32[unp + UNPCB.unp_conn] + UNPCB.unp_socket];
        const from = k32[unp + UNPCB.unp_addr] !== NULL ? k32[unp + UNPCB.unp_addr] : sun_noname();
        const rcv2 = so2 + SO.so_rcv;
        spin_lock(rcv2 + SSB.ssb_spin);
        const ok = ssb_appendaddr(rcv2, from, m, control);
        spin_unlock(rcv2 + SSB.ssb_spin);
        if (ok !== 0) {
          sorwakeup(so2);
          m = NULL;
          control = NULL;
        } else {
          error = ENOBUFS;
        }
        if (nam !== NULL) unp_disconnect(unp);
        break;
      }
      case SOCK_STREAM:
      case SOCK_SEQPACKET: {
        // Connect if not connected yet.  (A better implementation would complain if nam
        // is not the peer's address.)
        if ((k32[so + SO.so_state] & SS_ISCONNECTED) === 0) {
          if (nam === NULL) { error = ENOTCONN; break; }
          error = unp_connect(so, nam, td);
          if (error !== 0) break;
        }
        if ((k32[so + SO.so_state] & SS_CANTSENDMORE) !== 0) { error = EPIPE; break; }
        const unp2 = k32[unp + UNPCB.unp_conn];
        if (unp2 === NULL) panic('uipc_send connected but no connection?');
        const so2 = k32[unp2 + UNPCB.unp_socket];
        const rcv2 = so2 + SO.so_rcv, snd = so + SO.so_snd;
        spin_lock(rcv2 + SSB.ssb_spin);
        if (control !== NULL) {
          if (ssb_appendcontrol(rcv2, m, control) !== 0) {
            control = NULL;
            m = NULL;
          }
        } else if (k32[so + SO.so_type] === SOCK_SEQPACKET) {
          sbappendrecord(rcv2, m);
          m = NULL;
        } else {
          sbappend(rcv2, m);
          m = NULL;
        }
        // We hand mbufs straight to the peer: stop ourselves before it holds too many.
        if (k32[rcv2 + SSB.ssb_cc] >= k32[snd + SSB.ssb_hiwat] || k32[rcv2 + SSB.ssb_mbcnt] >= k32[snd + SSB.ssb_mbmax]) {
          Atomics.or(k32, snd + SSB.ssb_flags, SSB_STOP);
        }
        spin_unlock(rcv2 + SSB.ssb_spin);
        sorwakeup(so2);
        break;
      }
      default:
        panic('uipc_send unknown socktype');
    }
    // PRUS_EOF is pru_send followed by pru_shutdown.
    if ((flags & PRUS_EOF) !== 0) {
      socantsendmore(so);
      unp_shutdown(unp);
    }
    // A refused send's rights are dropped (a stream receiver that had no room for them
    // returns no error: those stay in flight, as in C).  Only here, after unp_internalize
    // ran: the early exits above (C's "goto release") hold raw descriptor numbers.
    if (control !== NULL && error !== 0) unp_dispose(control, false);
  }
  if (control !== NULL) m_freem(control);
  if (m !== NULL) m_freem(m);
  return error;
}

/* uipc_sense: st_blksize the send hiwat, no device, a made-up non-zero inode number. */
function uipc_sense(so: Ptr, sb: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  k32[sb + STAT.st_blksize] = k32[so + SO.so_snd + SSB.ssb_hiwat];
  k32[sb + STAT.st_dev] = NOUDEV;
  if (k32[unp + UNPCB.unp_ino] === 0) k32[unp + UNPCB.unp_ino] = unixsock_ino_alloc();
  k32[sb + STAT.st_ino] = k32[unp + UNPCB.unp_ino];
  return 0;
}

/* uipc_shutdown: no more sends; a stream or seqpacket peer reads EOF after draining. */
function uipc_shutdown(so: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  socantsendmore(so);
  unp_shutdown(unp);
  return 0;
}

/* uipc_sockaddr: our bound address; unbound, nothing (the word stays NULL: namelen 0). */
function uipc_sockaddr(so: Ptr, nam: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  if (k32[unp + UNPCB.unp_addr] !== NULL) return nam_dup(nam, k32[unp + UNPCB.unp_addr]);
  return 0;
}

export const uipc_usrreqs: PrUsrreqs = {
  pru_abort: uipc_abort,
  pru_accept: uipc_accept,
  pru_attach: uipc_attach,
  pru_bind: uipc_bind,
  pru_connect: uipc_connect,
  pru_connect2: uipc_connect2,
  pru_control: pru_control_notsupp,
  pru_detach: uipc_detach,
  pru_disconnect: uipc_disconnect,
  pru_listen: uipc_listen,
  pru_peeraddr: uipc_peeraddr,
  pru_rcvd: uipc_rcvd,
  pru_rcvoob: pru_rcvoob_notsupp,
  pru_send: uipc_send,
  pru_sense: uipc_sense,
  pru_shutdown: uipc_shutdown,
  pru_sockaddr: uipc_sockaddr,
};

/*
 * uipc_ctloutput (stream and seqpacket): get LOCAL_PEERCRED: the peer's credentials
 * (struct xucred) once connected; ENOTCONN before (a listener has only its own cached).
 * Anything else, and every set, EOPNOTSUPP.
 */
export function uipc_ctloutput(so: Ptr, sopt: Ptr): number {
  const unp = sotounpcb(so);
  if (unp === NULL) return EINVAL;
  if (k32[sopt + SOPT.sopt_dir] !== SOPT_GET || k32[sopt + SOPT.sopt_name] !== LOCAL_PEERCRED) return EOPNOTSUPP;
  if ((k32[unp + UNPCB.unp_flags] & UNP_HAVEPC) === 0) {
    const type = k32[so + SO.so_type];
    return type === SOCK_STREAM || type === SOCK_SEQPACKET ? ENOTCONN : EINVAL;
  }
  // sooptcopyout: at most sopt_valsize bytes; sopt_valsize becomes what was copied.
  const n = Math.min(XUCRED.SIZE * 4, k32[sopt + SOPT.sopt_valsize]);
  ku8.copyWithin(k32[sopt + SOPT.sopt_val], (unp + UNPCB.unp_peercred) * 4, (unp + UNPCB.unp_peercred) * 4 + n);
  k32[sopt + SOPT.sopt_valsize] = n;
  return 0;
}

/* ---- the protocol's internals ---- */

/*
 * unp_attach: give so a pcb.  A socket without buffer space (every one but sonewconn's,
 * which copy their listener's) reserves the defaults for its type, charged against ai's
 * RLIMIT_SBSIZE (ai: the creating process, or NULL).  ENOBUFS without pcb memory.
 */
function unp_attach(so: Ptr, ai: Ptr): number {
  if (k32[so + SO.so_snd + SSB.ssb_hiwat] === 0 || k32[so + SO.so_rcv + SSB.ssb_hiwat] === 0) {
    let error: number;
    const g = unixsock_globals();
    switch (k32[so + SO.so_type]) {
      case SOCK_STREAM:
      case SOCK_SEQPACKET:
        error = soreserve(so, Atomics.load(k32, g + NSG.ns_st_sendspace), Atomics.load(k32, g + NSG.ns_st_recvspace),
          ai_sb_rlimit(ai));
        break;
      case SOCK_DGRAM:
        error = soreserve(so, Atomics.load(k32, g + NSG.ns_dg_sendspace), Atomics.load(k32, g + NSG.ns_dg_recvspace),
          ai_sb_rlimit(ai));
        break;
      default:
        panic('unp_attach');
    }
    if (error !== 0) return error;
  }
  const unp = kfail_zalloc(Z_KMALLOC16);   // the zone fault site (kern_fail.ts)
  if (unp === NULL) return ENOBUFS;
  k32[unp + UNPCB.unp_socket] = so;
  k32[so + SO.so_pcb] = unp;
  return 0;
}

/*
 * unp_detach: so is going.  Its name is released (the file stays, connects now get
 * ECONNREFUSED); it is disconnected; every datagram socket connected to it gets
 * ECONNRESET and is disconnected (unp_drop); it is marked disconnected and loses its pcb.
 * With rights in flight its receive buffer is flushed first and unp_gc is asked for.
 */
function unp_detach(unp: Ptr): void {
  const so = k32[unp + UNPCB.unp_socket];
  unp_detach_rights(so);              // rights in flight: flush so_rcv, ask for unp_gc
  const vp = k32[unp + UNPCB.unp_vnode];
  if (vp !== NULL) {
    vn_sock_release(vp);
    k32[unp + UNPCB.unp_vnode] = NULL;
  }
  if (k32[unp + UNPCB.unp_conn] !== NULL) unp_disconnect(unp);
  // Bounded: each unp_drop takes its pcb off our unp_refs.
  while (!TAILQ_EMPTY(unp + UNPCB.unp_refs)) unp_drop(TAILQ_FIRST(unp + UNPCB.unp_refs), ECONNRESET);
  soisdisconnected(so);
  k32[so + SO.so_pcb] = NULL;
  if (k32[unp + UNPCB.unp_addr] !== NULL) free_sockaddr(k32[unp + UNPCB.unp_addr]);
  zfree(Z_KMALLOC16, unp);
}

/*
 * unp_bind: name the socket with path nam->sun_path (sun_len - 2 bytes, to a NUL).
 * EINVAL when already bound or the path is empty; EADDRINUSE when the path exists; the
 * namespace's errors (ENOENT, ENOTDIR, EACCES, ENAMETOOLONG); ENOBUFS/ENOSPC without
 * memory.  The socket file gets mode ACCESSPERMS less td's umask.
 */
function unp_bind(unp: Ptr, nam: Ptr, td: Ptr): number {
  if (k32[unp + UNPCB.unp_vnode] !== NULL) return EINVAL;
  const namelen = ku8[nam] - SUN_PATH_OFF;
  if (namelen <= 0) return EINVAL;
  const addr = dup_sockaddr(nam);
  if (addr === NULL) return ENOBUFS;
  const error = vn_sock_create(nam + SUN_PATH_OFF, namelen, k32[unp + UNPCB.unp_socket], td, unp + UNPCB.unp_vnode);
  if (error !== 0) {
    free_sockaddr(addr);
    return error;
  }
  k32[unp + UNPCB.unp_addr] = addr;
  return 0;
}

/* Copy td's process's credentials into the xucred at xu (cru2x). */
function cru2x_td(td: Ptr, xu: Ptr): void {
  const p = td === NULL ? NULL : k32[td + TD.td_proc];
  KASSERT(p !== NULL, 'cru2x: the thread has no process');
  spin_lock(p + PROC.p_spin);
  const cr = k32[p + PROC.p_ucred];
  k32[xu + XUCRED.cr_version] = XUCRED_VERSION;
  k32[xu + XUCRED.cr_uid] = k32[cr + UCRED.cr_uid];
  k32[xu + XUCRED.cr_ngroups] = 1;
  k32[xu + XUCRED.cr_groups] = k32[cr + UCRED.cr_gid];
  spin_unlock(p + PROC.p_spin);
}

/*
 * unp_connect: connect so to the socket bound at nam's path.  EINVAL for an empty path;
 * the lookup's errors (ENOENT, ENOTDIR, ENOTSOCK, EACCES without write permission on the
 * socket file); ECONNREFUSED when nothing is bound there; EPROTOTYPE between types.  A
 * stream or seqpacket socket needs a listener with room: sonewconn makes the server-side
 * socket (which inherits the listener's address and gets our credentials; we get the
 * listener's), else ECONNREFUSED at once.  A datagram socket connects to the bound one.
 */
function unp_connect(so: Ptr, nam: Ptr, td: Ptr): number {
  const len = ku8[nam] - SUN_PATH_OFF;
  if (len <= 0) return EINVAL;
  const error = vn_sock_lookup(nam + SUN_PATH_OFF, len, td);
  if (error !== 0) return error;
  let so2 = vn_sock_lookup_result();
  if (so2 === NULL) return ECONNREFUSED;
  if (k32[so + SO.so_type] !== k32[so2 + SO.so_type]) return EPROTOTYPE;
  if ((protosw_of(k32[so + SO.so_proto]).pr_flags & PR_CONNREQUIRED) !== 0) {
    let so3 = NULL;
    // A listener whose uipc_listen has not run yet (solisten sets SO_ACCEPTCONN first; in
    // the netisr model this connect may run on another CPU in between) is not listening.
    if ((k32[so2 + SO.so_options] & SO_ACCEPTCONN) === 0 ||
        (k32[sotounpcb(so2) + UNPCB.unp_flags] & UNP_HAVEPCCACHED) === 0) return ECONNREFUSED;
    // so3's copy of the listener's address, made first: C's M_INTWAIT copy cannot fail, a
    // zone can, and then the connect is ENOBUFS with nothing made yet.
    const addr2 = k32[sotounpcb(so2) + UNPCB.unp_addr];
    const addr3 = addr2 !== NULL ? dup_sockaddr(addr2) : NULL;
    if (addr2 !== NULL && addr3 === NULL) return ENOBUFS;
    if ((so3 = sonewconn(so2, 0)) === NULL) {
      if (addr3 !== NULL) free_sockaddr(addr3);
      return ECONNREFUSED;
    }
    const unp = sotounpcb(so), unp2 = sotounpcb(so2), unp3 = sotounpcb(so3);
    k32[unp3 + UNPCB.unp_addr] = addr3;
    // The connector's credentials, as of now, for the server side.
    cru2x_td(td, unp3 + UNPCB.unp_peercred);
    k32[unp3 + UNPCB.unp_flags] |= UNP_HAVEPC;
    // The listener's, cached by unp_listen, for the connector.
    KASSERT((k32[unp2 + UNPCB.unp_flags] & UNP_HAVEPCCACHED) !== 0, 'unp_connect: listener without cached peercred');
    k32.copyWithin(unp + UNPCB.unp_peercred, unp2 + UNPCB.unp_peercred, unp2 + UNPCB.unp_peercred + XUCRED.SIZE);
    k32[unp + UNPCB.unp_flags] |= UNP_HAVEPC;
    so2 = so3;
  }
  return unp_connect2(so, so2);
}

/*
 * unp_connect2: connect so to so2 (same type, else EPROTOTYPE).  A datagram socket only
 * points at so2 and joins its unp_refs: one direction.  Stream and seqpacket sockets
 * point at each other and both become connected (so2, fresh from sonewconn, moves to its
 * listener's so_comp and wakes accept).
 */
export function unp_connect2(so: Ptr, so2: Ptr): number {
  if (k32[so2 + SO.so_type] !== k32[so + SO.so_type]) return EPROTOTYPE;
  const unp = sotounpcb(so), unp2 = sotounpcb(so2);
  KASSERT(unp !== NULL && unp2 !== NULL, 'unp_connect2: socket without a pcb');
  k32[unp + UNPCB.unp_conn] = unp2;
  switch (k32[so + SO.so_type]) {
    case SOCK_DGRAM:
      TAILQ_INSERT_TAIL(unp2 + UNPCB.unp_refs, unp, UNPCB.unp_reflink);
      soisconnected(so);
      break;
    case SOCK_STREAM:
    case SOCK_SEQPACKET:
      k32[unp2 + UNPCB.unp_conn] = unp;
      soisconnected(so);
      soisconnected(so2);
      break;
    default:
      panic('unp_connect2');
  }
  return 0;
}

/*
 * unp_disconnect: break unp's connection.  A datagram socket leaves its peer's unp_refs
 * and loses SS_ISCONNECTED only (no wake-ups, no CANT* flags).  A stream or seqpacket
 * pair is disconnected both ways (soisdisconnected: each end reads EOF after its data,
 * writes EPIPE).  No connection: nothing.
 */
function unp_disconnect(unp: Ptr): void {
  const unp2 = k32[unp + UNPCB.unp_conn];
  if (unp2 === NULL) return;
  k32[unp + UNPCB.unp_conn] = NULL;
  const so = k32[unp + UNPCB.unp_socket];
  switch (k32[so + SO.so_type]) {
    case SOCK_DGRAM:
      TAILQ_REMOVE(unp2 + UNPCB.unp_refs, unp, UNPCB.unp_reflink);
      soclrstate(so, SS_ISCONNECTED);
      break;
    case SOCK_STREAM:
    case SOCK_SEQPACKET:
      soisdisconnected(so);
      k32[unp2 + UNPCB.unp_conn] = NULL;
      soisdisconnected(k32[unp2 + UNPCB.unp_socket]);
      break;
  }
}

/* unp_listen: cache the listener's credentials for the connections it will accept. */
function unp_listen(unp: Ptr, td: Ptr): number {
  cru2x_td(td, unp + UNPCB.unp_peercred);
  k32[unp + UNPCB.unp_flags] |= UNP_HAVEPCCACHED;
  return 0;
}

/* unp_shutdown: a stream or seqpacket peer can receive no more (it reads EOF after its data). */
function unp_shutdown(unp: Ptr): void {
  const type = k32[k32[unp + UNPCB.unp_socket] + SO.so_type];
  const unp2 = k32[unp + UNPCB.unp_conn];
  if ((type === SOCK_STREAM || type === SOCK_SEQPACKET) && unp2 !== NULL) {
    const so2 = k32[unp2 + UNPCB.unp_socket];
    if (so2 !== NULL) socantrcvmore(so2);
  }
}

/* unp_drop: the connection dies with err (so_error, returned once), then disconnect. */
function unp_drop(unp: Ptr, err: number): void {
  k32[k32[unp + UNPCB.unp_socket] + SO.so_error] = err;
  unp_disconnect(unp);
}

/* ---- kern/uipc_proto.c: the local domain ---- */

function local_protosw(type: number, flags: number, ctloutput: Protosw['pr_ctloutput']): Protosw {
  // pr_mport NULL: so_port serves (the sync port in the bgl model, a netisr thread in the netisr model).
  return { pr_type: type, pr_domain: null as unknown as Domain, pr_protocol: 0, pr_flags: flags,
    pr_ctloutput: ctloutput, pr_mport: null, pr_usrreqs: uipc_usrreqs, pr_index: 0, pr_token: unp_token };
}

/*
 * localsw: SEED's table, in its order.  The raw entry has pr_type 0 (pffindtype skips it),
 * so socket(AF_LOCAL, SOCK_RAW, 0) is EPROTONOSUPPORT, as in DragonFly.
 */
export const localsw: Protosw[] = [
  local_protosw(SOCK_STREAM, PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS, uipc_ctloutput),
  local_protosw(SOCK_DGRAM, PR_ATOMIC | PR_ADDR | PR_RIGHTS, null),
  local_protosw(SOCK_SEQPACKET, PR_ATOMIC | PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS, uipc_ctloutput),
  local_protosw(0, 0, null),
];

export const localdomain: Domain = {
  dom_family: AF_LOCAL,
  dom_name: 'local',
  dom_init: null,            // unp_init: its lists and lock live in kmem, zero at boot
  dom_externalize: unp_externalize,
  dom_dispose: unp_dispose,
  dom_protosw: localsw,
  dom_next: null,
};

net_add_domain(localdomain);
