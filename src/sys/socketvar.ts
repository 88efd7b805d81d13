/*
 * sys/socketvar.ts: struct socket and struct signalsockbuf (DragonFly 2008
 * sys/socketvar.h, sys/sockbuf.h), as kmem layouts, with their flag values.
 *
 * A socket comes from the socket zone; its two signalsockbufs are embedded.  Pointers are
 * kmem word indexes; so_proto is an index into the protocol switch table (uipc_domain.ts),
 * whose entries, like C's static tables, exist identically in every CPU's isolate.
 */

import { layout, flag_names } from '../../shared/struct.js';
import { SPINLOCK_WORDS } from '../../shared/spinlock.js';

/* struct selinfo (2008): who selected, the knote list, and the notify-message list. */
export const SEL = layout('selinfo', {
  si_pid: 1,          // a process selecting, or 0
  si_tid: 1,
  si_note: 2,         // klist: knotes attached (SLIST head, tail)
  si_mlist: 2,        // TAILQ of netmsg_so_notify messages waiting on a predicate
  si_flags: 1,        // SI_COLL
  si_pad: 1,
});
export const SI_COLL = 0x0001;

/* struct signalsockbuf: one direction of a socket. */
export const SSB = layout('signalsockbuf', {
  // struct sockbuf; guarded by the sockbuf's lock (ssb_spin) or the dispatch model's exclusion.
  ssb_cc: 1,          // bytes queued, including MT_SONAME and MT_CONTROL m_len
  ssb_mbcnt: 1,       // storage charged: MSIZE per mbuf, plus the cluster size
  ssb_climit: 1,
  ssb_mb: 1,          // first mbuf of the first record
  ssb_lastmbuf: 1,    // last mbuf of the chain (sb_lastmbuf)
  ssb_lastrecord: 1,  // first mbuf of the last record (sb_lastrecord)
  ssb_sel: SEL.SIZE,  // select/kqueue/notify-message state
  ssb_flags: 1,       // SSB_*; changed with Atomics (SSB_LOCK/SSB_WANT is a sleep lock)
  ssb_timeo: 1,       // sleep timeout, ticks; 0 = none
  ssb_lowat: 1,       // low-water mark, bytes
  ssb_hiwat: 1,       // high-water mark, bytes
  ssb_mbmax: 1,       // mbcnt limit, bytes
  ssb_spin: SPINLOCK_WORDS, // here: the sockbuf lock of the netisr and mpsafe models
});

export const SSB_LOCK = 0x01;     // long-term I/O lock held (sosend/soreceive/sorflush)
export const SSB_WANT = 0x02;     // someone sleeps on &ssb_flags for the lock
export const SSB_WAIT = 0x04;     // someone sleeps on &ssb_cc for data or space
export const SSB_SEL = 0x08;      // a select/poll is recorded
export const SSB_ASYNC = 0x10;    // send SIGIO
export const SSB_UPCALL = 0x20;   // call so_upcall (accept filters)
export const SSB_NOINTR = 0x40;   // lock and wait sleeps are not PCATCH
export const SSB_AIO = 0x80;      // AIO queued
export const SSB_KNOTE = 0x100;   // a kqueue knote is attached
export const SSB_MEVENT = 0x200;  // notify messages wait in ssb_sel.si_mlist
export const SSB_STOP = 0x400;    // back-pressure: ssb_space() is 0
export const SSB_NOTIFY = SSB_WAIT | SSB_SEL | SSB_ASYNC | SSB_UPCALL | SSB_AIO | SSB_KNOTE | SSB_MEVENT;
export const SSB_NAMES = flag_names({ SSB_LOCK, SSB_WANT, SSB_WAIT, SSB_SEL, SSB_ASYNC, SSB_UPCALL, SSB_NOINTR,
  SSB_AIO, SSB_KNOTE, SSB_MEVENT, SSB_STOP });

export const SB_MAX = 256 * 1024;   // default kern.ipc.maxsockbuf

/* struct socket. */
export const SO = layout('socket', {
  so_type: 1,         // SOCK_*
  so_options: 1,      // SO_* bits
  so_linger: 1,       // seconds
  so_state: 1,        // SS_*
  so_pcb: 1,          // protocol control block (unpcb for AF_LOCAL), 0 when detached
  so_proto: 1,        // protocol switch index (uipc_domain.ts), 1-based
  so_head: 1,         // the listener, for a queued connection
  so_incomp: 2,       // TAILQ of incomplete connections (on a listener)
  so_comp: 2,         // TAILQ of completed, unaccepted connections
  so_list: 2,         // link on the head's so_incomp or so_comp
  so_qlen: 1,         // connections on so_comp
  so_incqlen: 1,      // connections on so_incomp
  so_qlimit: 1,       // listen backlog
  so_timeo: 1,        // a sleep channel only (connect, accept, linger)
  so_error: 1,        // pending error (u_short)
  so_sigio: 1,        // SIGIO owner: pid (> 0) or process group (< 0), 0 none
  so_oobmark: 1,
  so_cred: 1,         // ucred of the creator (held)
  so_upcall: 1,       // kfunc id, with SSB_UPCALL
  so_upcallarg: 1,
  so_accf: 1,         // accept filter state
  so_aiojobq: 2,      // TAILQ of aio jobs waiting for this socket (vfs_aio.ts)
  so_port: 1,         // the port that serves this socket's requests (netisr model)
  so_refs: 1,         // here: references held across blocking (mpsafe model)
  so_pad: 1,
  so_rcv: SSB.SIZE,
  so_snd: SSB.SIZE,
});

export const SS_NOFDREF = 0x0001;
export const SS_ISCONNECTED = 0x0002;
export const SS_ISCONNECTING = 0x0004;
export const SS_ISDISCONNECTING = 0x0008;
export const SS_CANTSENDMORE = 0x0010;
export const SS_CANTRCVMORE = 0x0020;
export const SS_RCVATMARK = 0x0040;
export const SS_PRIV = 0x0080;
export const SS_ABORTING = 0x0100;
export const SS_ASYNC = 0x0200;
export const SS_ISCONFIRMING = 0x0400;
export const SS_INCOMP = 0x0800;
export const SS_COMP = 0x1000;
export const SS_ISDISCONNECTED = 0x2000;
export const SS_NAMES = flag_names({ SS_NOFDREF, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING, SS_CANTSENDMORE,
  SS_CANTRCVMORE, SS_RCVATMARK, SS_PRIV, SS_ABORTING, SS_ASYNC, SS_ISCONFIRMING, SS_INCOMP, SS_COMP, SS_ISDISCONNECTED });

/*
 * The socket layer's tunables, in kmem's g_ipc block (kglobals.ts) so that a sysctl on
 * one CPU is seen by all.  Set at boot by uipc_socket2's ipc_init().
 */
export const IPC = layout('ipc_tunables', {
  ipc_sb_max: 1,            // kern.ipc.maxsockbuf (sb_max)
  ipc_sb_max_adj: 1,        // sb_max * MCLBYTES / (MSIZE + MCLBYTES)
  ipc_sb_efficiency: 1,     // kern.ipc.sockbuf_waste_factor
  ipc_somaxconn: 1,         // kern.ipc.somaxconn
  ipc_maxsockets: 1,        // kern.ipc.maxsockets
  ipc_numopensockets: 1,    // kern.ipc.numopensockets (read-only)
});

/* ssb_lock wait flags (DragonFly malloc.h). */
export const M_NOWAIT = 0x0001;
export const M_WAITOK = 0x0002;

/* struct xsockbuf and struct xsocket: the external form of a socket (netstat, sysctl). */
export const XSOCKBUF = layout('xsockbuf', {
  sb_cc: 1,
  sb_hiwat: 1,
  sb_mbcnt: 1,
  sb_mbmax: 1,
  sb_lowat: 1,
  sb_flags: 1,
  sb_timeo: 1,
});

export const XSOCKET = layout('xsocket', {
  xso_len: 1,         // bytes of this structure
  xso_so: 1,          // the socket's kernel address
  so_type: 1,
  so_options: 1,
  so_linger: 1,
  so_state: 1,
  so_pcb: 1,
  xso_protocol: 1,
  xso_family: 1,
  so_qlen: 1,
  so_incqlen: 1,
  so_qlimit: 1,
  so_timeo: 1,
  so_error: 1,
  so_pgid: 1,
  so_oobmark: 1,
  so_rcv: XSOCKBUF.SIZE,
  so_snd: XSOCKBUF.SIZE,
  so_uid: 1,
});
