/*
 * uipc_socket2.ts: primitive routines on sockets and socket buffers.
 * Mirrors DragonFly sys/kern/uipc_socket2.c rev 1.32 (2008-08-28), the seed, function for
 * function and in its order: the signalsockbuf procedures (ssb_wait, _ssb_lock,
 * ssbtoxsockbuf, with ssb_lock/ssb_unlock from socketvar2.h), the state transitions and
 * wake-ups (soisconnecting .. sowakeup, with sorwakeup/sowwakeup from socketvar.h),
 * buffer reservation (soreserve, ssb_reserve, ssb_release), the pru_*_notsupp defaults,
 * pru_sense_null, dup_sockaddr, sotoxsocket and the kern.ipc tunables with their sysctl
 * handlers (which sit first here: the sysctls register when the module loads).
 *
 * Differs where shared memory forces it:
 *  - SSB_LOCK/SSB_WANT are bits of ssb_flags changed with CAS (lwkt_serialize.ts's sleep
 *    lock), where DragonFly relied on the BGL and a critical section; every ssb_flags and
 *    so_state change is an Atomics read-modify-write (HEAD's sosetstate/soclrstate),
 *    because in the netisr model a protocol thread and a user thread change them from
 *    different CPUs.
 *  - The mbufs of a sockbuf are guarded by its ssb_spin in every dispatch model (DESIGN 7),
 *    as is the notify-message list si_mlist.
 *  - sleeps are generator yields; so_upcall is a kfunc id.
 *  - sonewconn tests SS_ABORTING inside soaborta (rev 1.33's form), see there.
 */

import { sched_want, SP_LOCK_GET, SP_LOCK_REL } from '../lwkt/lwkt_schedpt.js';
import { k32, ku8, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL, layout, type Ptr } from '../../shared/struct.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_INSERT_TAIL, TAILQ_NEXT, TAILQ_REMOVE } from '../../shared/tailq.js';
import { SPINLOCK_WORDS, spin_init, spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { EINVAL, ENOBUFS, EOPNOTSUPP, EWOULDBLOCK } from '../../shared/errno.js';
import { chgsbsize } from './kern_resource.js';
import { sbdrop, sbflush } from './uipc_sockbuf.js';
import { protosw_of } from './uipc_domain.js';
import { UCRED, RLIM_INFINITY, SIGIO } from '../sys/proc.js';
import { KASSERT } from '../../shared/panic.js';
import { zalloc, zfree, zone_desc, ZD, Z_CLUSTER, Z_KMALLOC16, Z_KMALLOC64, Z_MBUF } from '../../shared/zone.js';
import { STAT } from '../sys/stat.js';
import { done_num, type Blocking } from '../../shared/effect.js';
import { tsleep, wakeup, wakeup_one, PCATCH } from '../lwkt/kern_synch.js';
import { kfunc_get } from '../lwkt/kfunc.js';
import { PORT, MSG } from '../sys/msgport.js';
import { lwkt_replymsg } from '../lwkt/lwkt_msgport.js';
import { sleeplock_lock, sleeplock_try, sleeplock_unlock } from '../lwkt/lwkt_serialize.js';
import { KG } from '../sys/kglobals.js';
import {
  SO, SSB, SEL, SSB_LOCK, SSB_WANT, SSB_WAIT, SSB_SEL, SSB_UPCALL, SSB_AIO, SSB_MEVENT, SSB_NOINTR, SSB_NOTIFY, SB_MAX,
  IPC, M_WAITOK, XSOCKBUF, XSOCKET, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING, SS_ISCONFIRMING,
  SS_CANTRCVMORE, SS_CANTSENDMORE, SS_ISDISCONNECTED, SS_INCOMP, SS_COMP, SS_NOFDREF, SS_ASYNC,
} from '../sys/socketvar.js';
import { SOMAXCONN, SO_ACCEPTCONN, SO_ACCEPTFILTER } from '../sys/socket.js';
import { MSIZE, MCLBYTES, MB_DONTWAIT } from '../sys/mbuf.js';
import { crhold } from './kern_prot.js';
import { selwakeup, KNOTE } from './sys_generic.js';
import { aio_swake } from './vfs_aio.js';
import { pgsigio } from './kern_sig.js';
import { soalloc, sodealloc, soaborta } from './uipc_socket.js';
import { NM_LIST, NM_PREDICATE } from './uipc_msg.js';
import { sysctl_int, CTLFLAG_RD, CTLFLAG_RW } from './kern_sysctl.js';
import { invariants_on } from '../../shared/cpu.js';
import { so_queues_inv } from './kern_invariants.js';
import { faults_on, kbugs } from '../../shared/cpu.js';
import {
  bug_hit, fail_point, FAIL_SWITCH_0, FS_YIELD, BUG_SSB_UNLOCK_NO_WAKEUP, BUG_SONEWCONN_WRONG_QUEUE,
  BUG_SOISDISCONNECTED_KEEPS_SND, BUG_SOWAKEUP_SKIPS_NOTIFY,
} from '../../shared/fail.js';

/* ---- the tunables (sb_max, sb_max_adj, sb_efficiency, maxsockets) ---- */

function ipc(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_ipc; }

/*
 * The socket layer's kernel-wide words: kmem's g_ipc block (sys/kglobals.ts), the
 * tunables first, then what DragonFly keeps in other files' globals.
 */
export const IPCG = layout('ipc_globals', {
  ig_tunables: IPC.SIZE,      // struct IPC (sys/socketvar.ts): kern.ipc.*
  ig_sync_port: PORT.SIZE,    // netisr_sync_port (uipc_msg.ts): putonly, runs requests in the caller
  ig_netisr_ports: 1,         // netisr model: kmalloc64 table of each CPU's netisr thread port
  ig_selwait: 1,              // selwait: the channel every select(2) sleeps on (sys_generic.c)
  ig_nselcoll: 1,             // nselcoll: select collisions (Atomics)
  ig_sel_spin: SPINLOCK_WORDS, // sel_spin: every selinfo's si_pid/si_tid/si_flags (sys_generic.ts)
  ig_knote_spin: SPINLOCK_WORDS, // knote_spin: every knote, klist and kqueue (kern_event.ts)
  ig_cons_klist: 1,           // the console's knotes (its tty's t_rsel/t_wsel si_note, kern_event.ts)
});
const KG_IPC_WORDS = 32;      // KG.g_ipc's size (sys/kglobals.ts); IPCG must fit
if (IPCG.SIZE > KG_IPC_WORDS) throw new Error('uipc_socket2: IPCG does not fit in g_ipc');

export function ipc_globals(): Ptr { return ipc(); }
export function selwait_chan(): Ptr { return ipc() + IPCG.ig_selwait; }
export function nselcoll_word(): Ptr { return ipc() + IPCG.ig_nselcoll; }
export function sel_spin(): Ptr { return ipc() + IPCG.ig_sel_spin; }
export function knote_spin(): Ptr { return ipc() + IPCG.ig_knote_spin; }
export function cons_klist(): Ptr { return ipc() + IPCG.ig_cons_klist; }

/*
 * struct so_accf (socketvar.h): a listener's accept filter.  so_accept_filter names the
 * filter's accf_callback directly (a kfunc id: the accept_filter registry of uipc_accf.c
 * comes later); a kmalloc16 item, freed by sodealloc.
 */
export const SO_ACCF = layout('so_accf', {
  so_accept_filter: 1,        // kfunc id of the filter's callback: (so, arg, waitflag) => void
  so_accept_filter_arg: 1,
  so_accept_filter_str: 1,
});

export function sb_max(): number { return k32[ipc() + IPC.ipc_sb_max]; }
export function sb_max_adj(): number { return k32[ipc() + IPC.ipc_sb_max_adj]; }
export function sb_efficiency(): number { return k32[ipc() + IPC.ipc_sb_efficiency]; }
export function somaxconn(): number { return k32[ipc() + IPC.ipc_somaxconn]; }

/* sb_max_adj for a given sb_max: the data that fits when every mbuf carries a cluster. */
export function sb_max_adj_of(max: number): number {
  return Math.floor((max * MCLBYTES) / (MSIZE + MCLBYTES));
}

/*
 * Boot: the tunables' initial values.  maxsockets is at least max(maxfiles, nmbclusters),
 * as SEED's init_maxsockets makes it; here the zone sizes stand in for both.
 */
export function ipc_init(maxsockets_tunable: number, maxfiles: number, nmbclusters: number): void {
  const b = ipc();
  k32[b + IPC.ipc_sb_max] = SB_MAX;
  k32[b + IPC.ipc_sb_max_adj] = sb_max_adj_of(SB_MAX);
  k32[b + IPC.ipc_sb_efficiency] = 8;
  k32[b + IPC.ipc_somaxconn] = SOMAXCONN;
  k32[b + IPC.ipc_maxsockets] = Math.max(maxsockets_tunable, maxfiles, nmbclusters);
  k32[b + IPC.ipc_numopensockets] = 0;
  spin_init(b + IPCG.ig_sel_spin, 'selinfo');
  spin_init(b + IPCG.ig_knote_spin, 'knote');
}

/*
 * sysctl_handle_sb_max: a new kern.ipc.maxsockbuf below MSIZE + MCLBYTES is EINVAL and
 * the old value stays; otherwise sb_max_adj is recomputed ((u_quad_t)sb_max * MCLBYTES /
 * (MSIZE + MCLBYTES): exact here, since v < 2^31).  Differs: DragonFly 2008's sb_max is a
 * u_long the handler fills from an int, so a negative value became a u_long above 2^31
 * and was accepted; here it is below the floor and refused with the handler's own EINVAL
 * (kernel words are 32-bit signed: sb_max and sb_max_adj above 2^31 are not kept).
 */
function sysctl_handle_sb_max(v: number): number {
  if (v < MSIZE + MCLBYTES) return EINVAL;
  const b = ipc();
  Atomics.store(k32, b + IPC.ipc_sb_max, v);
  Atomics.store(k32, b + IPC.ipc_sb_max_adj, sb_max_adj_of(v));
  return 0;
}

sysctl_int('kern.ipc.maxsockbuf', CTLFLAG_RW, () => ipc() + IPC.ipc_sb_max, 'Maximum socket buffer size',
  sysctl_handle_sb_max);
sysctl_int('kern.ipc.maxsockets', CTLFLAG_RD, () => ipc() + IPC.ipc_maxsockets, 'Maximum number of sockets available');
sysctl_int('kern.ipc.sockbuf_waste_factor', CTLFLAG_RW, () => ipc() + IPC.ipc_sb_efficiency,
  'Socket buffer size waste factor');
/*
 * The mbuf counters, read-only: the two zones' sizes (nmbufs, nmbclusters; fixed at boot
 * from kmem) and what is in use now (DragonFly's struct mbstat m_mbufs and m_clusters,
 * here one OID each).
 */
function zone_word(z: number, field: number): () => number { return () => zone_desc(z) + field; }
sysctl_int('kern.ipc.nmbufs', CTLFLAG_RD, zone_word(Z_MBUF, ZD.zd_count), 'Maximum number of mbufs available');
sysctl_int('kern.ipc.nmbclusters', CTLFLAG_RD, zone_word(Z_CLUSTER, ZD.zd_count), 'Maximum number of mbuf clusters available');
sysctl_int('kern.ipc.mbstat.m_mbufs', CTLFLAG_RD, zone_word(Z_MBUF, ZD.zd_inuse), 'mbufs in use');
sysctl_int('kern.ipc.mbstat.m_clusters', CTLFLAG_RD, zone_word(Z_CLUSTER, ZD.zd_inuse), 'mbuf clusters in use');
sysctl_int('kern.ipc.somaxconn', CTLFLAG_RW, () => ipc() + IPC.ipc_somaxconn, 'Maximum pending socket connection queue size');
sysctl_int('kern.ipc.numopensockets', CTLFLAG_RD, () => ipc() + IPC.ipc_numopensockets, 'Number of open sockets');

/* ---- signalsockbuf procedures ---- */

/*
 * Wait for data to arrive at or drain from a socket buffer: sleep on &ssb_cc, with PCATCH
 * unless SSB_NOINTR, for at most ssb_timeo ticks.  Returns 0, EWOULDBLOCK (timeout), EINTR
 * or ERESTART.  Blocks.
 */
export function ssb_wait(ssb: Ptr): Blocking<number> {
  const flags = Atomics.or(k32, ssb + SSB.ssb_flags, SSB_WAIT) | SSB_WAIT;
  return tsleep(ssb + SSB.ssb_cc, (flags & SSB_NOINTR) !== 0 ? 0 : PCATCH, 'sbwait', k32[ssb + SSB.ssb_timeo]);
}

/*
 * Lock a signalsockbuf already known to be locked: set SSB_WANT and sleep on &ssb_flags
 * until the holder unlocks, with PCATCH unless SSB_NOINTR, which is read again before
 * every sleep (DragonFly's loop evaluates ssb_flags & SSB_NOINTR at each tsleep).
 * Returns 0 with SSB_LOCK set, or the sleep's EINTR/ERESTART without it.  Blocks.
 */
export function _ssb_lock(ssb: Ptr): Blocking<number> {
  return sleeplock_lock(ssb + SSB.ssb_flags, SSB_LOCK, SSB_WANT, PCATCH, 'sblock', SSB_NOINTR);
}

/*
 * ssb_lock (socketvar2.h): take the I/O lock.  Free: 0 at once.  Held: EWOULDBLOCK unless
 * wf is M_WAITOK (SBLOCKWAIT: MSG_DONTWAIT asks M_NOWAIT; a non-blocking file alone does
 * not), else _ssb_lock.
 */
export function ssb_lock(ssb: Ptr, wf: number): Blocking<number> {
  if (sleeplock_try(ssb + SSB.ssb_flags, SSB_LOCK)) {
    // A plain point: callers take the free lock's 0 at once (sosend's try with M_NOWAIT).
    sched_want(SP_LOCK_GET, ssb);
    // The yield fault site (kern_fail.ts): with M_WAITOK the caller is ready to block here.
    if (faults_on && (wf & M_WAITOK) !== 0 && fail_point(FS_YIELD)) return FAIL_SWITCH_0;
    return done_num(0);
  }
  if ((wf & M_WAITOK) === 0) return done_num(EWOULDBLOCK);
  return _ssb_lock(ssb);
}

/* ssb_unlock: clear SSB_LOCK; if SSB_WANT was set, wake every lock waiter (they race). */
export function ssb_unlock(ssb: Ptr): void {
  // Injected bug ssb-unlock-no-wakeup (kern_fail.ts): the SSB_WANT block is forgotten:
  // SSB_LOCK is cleared, SSB_WANT stays and its sleepers are not woken.
  const want = kbugs !== 0 && bug_hit(BUG_SSB_UNLOCK_NO_WAKEUP) ? 0 : SSB_WANT;
  sleeplock_unlock(ssb + SSB.ssb_flags, SSB_LOCK, want);
  sched_want(SP_LOCK_REL, ssb);
}

/* Copy a signalsockbuf's figures into its external form (xsockbuf). */
export function ssbtoxsockbuf(ssb: Ptr, xsb: Ptr): void {
  k32[xsb + XSOCKBUF.sb_cc] = k32[ssb + SSB.ssb_cc];
  k32[xsb + XSOCKBUF.sb_hiwat] = k32[ssb + SSB.ssb_hiwat];
  k32[xsb + XSOCKBUF.sb_mbcnt] = k32[ssb + SSB.ssb_mbcnt];
  k32[xsb + XSOCKBUF.sb_mbmax] = k32[ssb + SSB.ssb_mbmax];
  k32[xsb + XSOCKBUF.sb_lowat] = k32[ssb + SSB.ssb_lowat];
  k32[xsb + XSOCKBUF.sb_flags] = Atomics.load(k32, ssb + SSB.ssb_flags);
  k32[xsb + XSOCKBUF.sb_timeo] = k32[ssb + SSB.ssb_timeo];
}

/* ---- procedures which manipulate socket state flags, wakeups, etc. ---- */

/*
 * Normal sequence from the active (originating) side: soisconnecting() while a connect()
 * is processed, then soisconnected() once (if) the connection is established; when it is
 * torn down soisdisconnecting() during the disconnect, soisdisconnected() when the peer is
 * severed.  Connectionless protocols may call only soisconnected() and
 * soisdisconnected(), setting up a "connection" taking no time.
 *
 * From the passive side a listener has two queues: so_incomp for connections in
 * progress and so_comp for connections made and awaiting accept().  A protocol preparing
 * an incoming connection makes its socket with sonewconn(), on so_incomp; soisconnected()
 * moves it to so_comp, where accept() finds it.  A listener closed with sockets on either
 * queue drops them (soclose, soaborta).
 *
 * Every function here is plain (never blocks); the caller owns so in its dispatch model
 * (DESIGN 7: the BGL, the netisr thread that serves so, or the protocol's tokens).
 * Here: a wakeup() reaches sleepers on other CPUs by IPI; they run later, not inside the
 * call.
 */

/* soisconnecting: a connect() is under way. */
export function soisconnecting(so: Ptr): void {
  sochgstate(so, SS_ISCONNECTED | SS_ISDISCONNECTING, SS_ISCONNECTING);
}

/*
 * soisconnected: the connection on so is established.  A socket on its listener's
 * incomplete queue moves to so_comp and accept() is woken (through the listener's
 * so_rcv: the accept predicates, then one so_timeo sleeper); unless the socket carries
 * SO_ACCEPTFILTER, in which case the listener's filter becomes its upcall, is called once,
 * and the socket stays on so_incomp until the filter calls soisconnected() again.  Any
 * other socket wakes its connect() sleepers and both sockbufs.
 */
export function soisconnected(so: Ptr): void {
  const head = k32[so + SO.so_head];
  sochgstate(so, SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISCONFIRMING, SS_ISCONNECTED);
  if (head !== NULL && (k32[so + SO.so_state] & SS_INCOMP) !== 0) {
    if ((k32[so + SO.so_options] & SO_ACCEPTFILTER) !== 0) {
      const accf = k32[head + SO.so_accf];
      KASSERT(accf !== NULL, 'soisconnected: SO_ACCEPTFILTER but the listener has no filter');
      k32[so + SO.so_upcall] = k32[accf + SO_ACCF.so_accept_filter];
      k32[so + SO.so_upcallarg] = k32[accf + SO_ACCF.so_accept_filter_arg];
      Atomics.or(k32, so + SO.so_rcv + SSB.ssb_flags, SSB_UPCALL);
      k32[so + SO.so_options] &= ~SO_ACCEPTFILTER;
      so_upcall(so, k32[so + SO.so_upcallarg], 0);
      return;
    }
    TAILQ_REMOVE(head + SO.so_incomp, so, SO.so_list);
    k32[head + SO.so_incqlen]--;
    soclrstate(so, SS_INCOMP);
    TAILQ_INSERT_TAIL(head + SO.so_comp, so, SO.so_list);
    k32[head + SO.so_qlen]++;
    sosetstate(so, SS_COMP);
    if (invariants_on) so_queues_inv(head);
    sorwakeup(head);
    wakeup_one(head + SO.so_timeo);
  } else {
    wakeup(so + SO.so_timeo);
    sorwakeup(so);
    sowwakeup(so);
  }
}

/* soisdisconnecting: the disconnect has started; no more data either way. */
export function soisdisconnecting(so: Ptr): void {
  sochgstate(so, SS_ISCONNECTING, SS_ISDISCONNECTING | SS_CANTRCVMORE | SS_CANTSENDMORE);
  wakeup(so + SO.so_timeo);
  sowwakeup(so);
  sorwakeup(so);
}

/*
 * soisdisconnected: the peer is severed.  Unsent data in so_snd is dropped; data already
 * received stays readable in so_rcv.  Wakes connect/linger sleepers and both sockbufs.
 */
export function soisdisconnected(so: Ptr): void {
  sochgstate(so, SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING, SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED);
  wakeup(so + SO.so_timeo);
  const snd = so + SO.so_snd;
  // Injected bug soisdisconnected-keeps-snd (kern_fail.ts): the send side is left as it
  // was: its unsent data stays, and a writer asleep waiting for room in it is not woken
  // (AF_LOCAL never leaves data in so_snd, so the lost wake-up is what a run can see).
  const keep = kbugs !== 0 && bug_hit(BUG_SOISDISCONNECTED_KEEPS_SND);
  spin_lock(snd + SSB.ssb_spin);
  if (!keep) sbdrop(snd, k32[snd + SSB.ssb_cc]);
  spin_unlock(snd + SSB.ssb_spin);
  if (!keep) sowwakeup(so);
  sorwakeup(so);
}

/*
 * sonewconn: a connection is arriving on listener head.  Returns the new socket, queued
 * on so_comp (connstatus non-zero: SS_ISCONFIRMING or SS_ISCONNECTED, which it then also
 * gets) or on so_incomp (connstatus 0), or NULL: the completed queue is over its limit
 * (so_qlen > 3 * so_qlimit / 2, integer division: backlog b admits floor(3b/2) + 1
 * unaccepted connections), or memory or the protocol's attach failed.  The new socket
 * copies the listener (type, options less SO_ACCEPTCONN, linger, state plus SS_NOFDREF,
 * protocol, timeo, a held cred) and its buffer sizes; the protocol's pru_attach is called
 * directly, since the caller is already at protocol level.  A full incomplete queue
 * (so_incqlen > so_qlimit) evicts its oldest entry with an asynchronous abort.  A
 * listener with an accept filter always queues on so_incomp (soisconnected runs the
 * filter).  Never blocks.
 */
export function sonewconn(head: Ptr, connstatus: number): Ptr {
  // Injected bug sonewconn-wrong-queue (kern_fail.ts): the incomplete queue is counted.
  const qlen = kbugs !== 0 && bug_hit(BUG_SONEWCONN_WRONG_QUEUE) ? k32[head + SO.so_incqlen] : k32[head + SO.so_qlen];
  if (qlen > Math.trunc((3 * k32[head + SO.so_qlimit]) / 2)) return NULL;
  const so = soalloc(1);
  if (so === NULL) return NULL;
  if ((k32[head + SO.so_options] & SO_ACCEPTFILTER) !== 0) connstatus = 0;
  k32[so + SO.so_head] = head;
  k32[so + SO.so_type] = k32[head + SO.so_type];
  k32[so + SO.so_options] = k32[head + SO.so_options] & ~SO_ACCEPTCONN;
  k32[so + SO.so_linger] = k32[head + SO.so_linger];
  Atomics.store(k32, so + SO.so_state, k32[head + SO.so_state] | SS_NOFDREF);
  k32[so + SO.so_proto] = k32[head + SO.so_proto];
  k32[so + SO.so_timeo] = k32[head + SO.so_timeo];
  k32[so + SO.so_cred] = crhold(k32[head + SO.so_cred]);
  // ai: no rlimit (the connection is made at protocol level, not by a process).
  if (soreserve(so, k32[head + SO.so_snd + SSB.ssb_hiwat], k32[head + SO.so_rcv + SSB.ssb_hiwat], RLIM_INFINITY) !== 0 ||
      // Directly call the function since we are already at protocol level.
      protosw_of(k32[so + SO.so_proto]).pr_usrreqs.pru_attach(so, 0, NULL) !== 0) {
    sodealloc(so);
    return NULL;
  }
  if (connstatus !== 0) {
    TAILQ_INSERT_TAIL(head + SO.so_comp, so, SO.so_list);
    sosetstate(so, SS_COMP);
    k32[head + SO.so_qlen]++;
  } else {
    if (k32[head + SO.so_incqlen] > k32[head + SO.so_qlimit]) {
      const sp = TAILQ_FIRST(head + SO.so_incomp);
      TAILQ_REMOVE(head + SO.so_incomp, sp, SO.so_list);
      k32[head + SO.so_incqlen]--;
      soclrstate(sp, SS_INCOMP);
      k32[sp + SO.so_head] = NULL;
      // The seed (rev 1.32) tests and sets SS_ABORTING here and then calls soaborta;
      // rev 1.33 (2008-09-02) moved that test into soaborta, the form uipc_socket.ts
      // has (dragonfly.md 4.6).  The test and the set happen once, in soaborta.
      soaborta(sp);
    }
    TAILQ_INSERT_TAIL(head + SO.so_incomp, so, SO.so_list);
    sosetstate(so, SS_INCOMP);
    k32[head + SO.so_incqlen]++;
  }
  if (invariants_on) so_queues_inv(head);
  if (connstatus !== 0) {
    sorwakeup(head);
    wakeup(head + SO.so_timeo);
    sosetstate(so, connstatus);
  }
  return so;
}

/*
 * socantsendmore: no more data will be sent on so (the user shut down writing, PRU_SHUTDOWN).
 * socantrcvmore: no more data will be received (the peer will send no more).  Data
 * already queued for reading may still be read.
 */
export function socantsendmore(so: Ptr): void {
  sosetstate(so, SS_CANTSENDMORE);
  sowwakeup(so);
}

export function socantrcvmore(so: Ptr): void {
  sosetstate(so, SS_CANTRCVMORE);
  sorwakeup(so);
}

/*
 * sowakeup: tell everyone waiting on ssb (one of so's sockbufs), in DragonFly's order:
 * the recorded selector (then SSB_SEL is cleared); the data/space sleepers (SSB_WAIT
 * cleared, then wakeup(&ssb_cc), every one); SIGIO to the owner if SS_ASYNC; the upcall
 * (accept filters); AIO; the knotes; last, the notify messages (accept and connect waits)
 * whose predicates now hold, replied in list order, in the caller's thread.  SSB_MEVENT is
 * cleared once the list is empty.  Never blocks.
 *
 * The notify list is guarded by ssb_spin.  Predicates run with it held (they must not
 * take it, nor block); the messages they release are unlinked under the lock and replied
 * after it is dropped, because a reply may send an IPI.  A waiter that sets SSB_WAIT
 * re-checks its condition afterwards (sosend, soreceive), which closes the race with a
 * wake-up that read the flags just before (dragonfly.md 9.2).
 */
export function sowakeup(so: Ptr, ssb: Ptr): void {
  const selinfo = ssb + SSB.ssb_sel;
  const flags_w = ssb + SSB.ssb_flags;
  selwakeup(selinfo);
  Atomics.and(k32, flags_w, ~SSB_SEL);
  if ((Atomics.and(k32, flags_w, ~SSB_WAIT) & SSB_WAIT) !== 0) wakeup(ssb + SSB.ssb_cc);
  if ((k32[so + SO.so_state] & SS_ASYNC) !== 0 && k32[so + SO.so_sigio] !== 0) pgsigio(k32[so + SO.so_sigio], SIGIO, 0);
  const flags = Atomics.load(k32, flags_w);
  if ((flags & SSB_UPCALL) !== 0) so_upcall(so, k32[so + SO.so_upcallarg], MB_DONTWAIT);
  if ((flags & SSB_AIO) !== 0) aio_swake(so, ssb);
  KNOTE(selinfo + SEL.si_note, 0);
  // Injected bug sowakeup-skips-notify (kern_fail.ts): the predicates are not evaluated.
  if ((Atomics.load(k32, flags_w) & SSB_MEVENT) !== 0 && !(kbugs !== 0 && bug_hit(BUG_SOWAKEUP_SKIPS_NOTIFY))) {
    const mlist = selinfo + SEL.si_mlist;
    let ready = NULL, ready_tail = NULL;
    spin_lock(ssb + SSB.ssb_spin);
    for (let msg = TAILQ_FIRST(mlist); msg !== NULL;) {
      const nmsg = TAILQ_NEXT(msg, NM_LIST);
      const predicate = kfunc_get(k32[msg + NM_PREDICATE]) as (m: Ptr) => boolean;
      if (predicate(msg)) {
        TAILQ_REMOVE(mlist, msg, NM_LIST);
        k32[msg + NM_LIST] = NULL;             // reuse the link to chain the ready ones
        if (ready === NULL) ready = msg;
        else k32[ready_tail + NM_LIST] = msg;
        ready_tail = msg;
      }
      msg = nmsg;
    }
    if (TAILQ_EMPTY(mlist)) Atomics.and(k32, flags_w, ~SSB_MEVENT);
    spin_unlock(ssb + SSB.ssb_spin);
    while (ready !== NULL) {
      const next = k32[ready + NM_LIST];
      lwkt_replymsg(ready, k32[ready + MSG.ms_error]);
      ready = next;
    }
  }
}

/*
 * sorwakeup, sowwakeup (socketvar.h): sowakeup on so_rcv or so_snd, only when ssb_notify
 * says someone listens (one of WAIT, SEL, ASYNC, UPCALL, AIO, KNOTE, MEVENT is set).
 */
export function sorwakeup(so: Ptr): void {
  const ssb = so + SO.so_rcv;
  if ((Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_NOTIFY) !== 0) sowakeup(so, ssb);
}

export function sowwakeup(so: Ptr): void {
  const ssb = so + SO.so_snd;
  if ((Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_NOTIFY) !== 0) sowakeup(so, ssb);
}

/* ---- buffer reservation ---- */

/*
 * soreserve: reserve send and receive space for a new socket; ENOBUFS if either cannot
 * be had (never, with SEED's chgsbsize).  A receive low-water of 0 becomes 1, a send
 * low-water of 0 becomes MCLBYTES, and the send low-water never exceeds its hiwat.
 * rl is the creator's RLIMIT_SBSIZE (its rlim_cur; RLIM_INFINITY when there is none).
 */
export function soreserve(so: Ptr, sndcc: number, rcvcc: number, rl: number): number {
  const snd = so + SO.so_snd, rcv = so + SO.so_rcv;
  if (ssb_reserve(snd, sndcc, so, rl) === 0) return ENOBUFS;
  if (ssb_reserve(rcv, rcvcc, so, rl) === 0) {
    ssb_release(snd, so);
    return ENOBUFS;
  }
  if (k32[rcv + SSB.ssb_lowat] === 0) k32[rcv + SSB.ssb_lowat] = 1;
  if (k32[snd + SSB.ssb_lowat] === 0) k32[snd + SSB.ssb_lowat] = MCLBYTES;
  if (k32[snd + SSB.ssb_lowat] > k32[snd + SSB.ssb_hiwat]) k32[snd + SSB.ssb_lowat] = k32[snd + SSB.ssb_hiwat];
  return 0;
}

/*
 * ssb_reserve: allot cc bytes to a signalsockbuf, clamped to sb_max_adj, charged to the
 * socket owner's uid through chgsbsize (which may scale the hiwat down but, in SEED,
 * never refuses).  mbmax becomes min(cc * sb_efficiency, sb_max), from the requested cc,
 * not the possibly scaled hiwat.  Returns 1, or 0 when the charge is refused.
 */
export function ssb_reserve(ssb: Ptr, cc: number, so: Ptr, rl: number): number {
  const adj = sb_max_adj();
  if (cc > adj) cc = adj;
  const cred = k32[so + SO.so_cred];
  KASSERT(cred !== NULL, 'ssb_reserve: socket without a cred');
  if (chgsbsize(k32[cred + UCRED.cr_uidinfo], ssb + SSB.ssb_hiwat, cc, rl) === 0) return 0;
  // i386: cc * sb_efficiency is u_long arithmetic (mod 2^32; a negative waste factor is a
  // huge u_long) and min() is u_int's: maxsockbuf 2^31-1, SO_SNDBUF 6e8 give 505032704.
  // sb_max is never above 2^31-1 here (sysctl_handle_sb_max), so mbmax is never negative.
  k32[ssb + SSB.ssb_mbmax] = Math.min(Math.imul(cc, sb_efficiency()) >>> 0, sb_max() >>> 0);
  if (k32[ssb + SSB.ssb_lowat] > k32[ssb + SSB.ssb_hiwat]) k32[ssb + SSB.ssb_lowat] = k32[ssb + SSB.ssb_hiwat];
  return 1;
}

/* ssb_release: free the mbufs a signalsockbuf holds and return its reservation. */
export function ssb_release(ssb: Ptr, so: Ptr): void {
  sbflush(ssb);
  chgsbsize(k32[k32[so + SO.so_cred] + UCRED.cr_uidinfo], ssb + SSB.ssb_hiwat, 0, RLIM_INFINITY);
  k32[ssb + SSB.ssb_mbmax] = 0;
}

/* ---- defaults for the entry points a protocol does not support ---- */

export function pru_accept_notsupp(_so: Ptr, _nam: Ptr): number { return EOPNOTSUPP; }
export function pru_connect_notsupp(_so: Ptr, _nam: Ptr, _td: Ptr): number { return EOPNOTSUPP; }
export function pru_connect2_notsupp(_so1: Ptr, _so2: Ptr): number { return EOPNOTSUPP; }
export function pru_control_notsupp(_so: Ptr, _cmd: number, _data: Ptr, _ifp: Ptr, _td: Ptr): number { return EOPNOTSUPP; }
export function pru_listen_notsupp(_so: Ptr, _td: Ptr): number { return EOPNOTSUPP; }
export function pru_rcvd_notsupp(_so: Ptr, _flags: number): number { return EOPNOTSUPP; }
export function pru_rcvoob_notsupp(_so: Ptr, _m: Ptr, _flags: number): number { return EOPNOTSUPP; }

/* The default sense: not really a null operation, but harmless: report the send hiwat. */
export function pru_sense_null(so: Ptr, sb: Ptr): number {
  k32[sb + STAT.st_blksize] = k32[so + SO.so_snd + SSB.ssb_hiwat];
  return 0;
}

/*
 * Copy a sockaddr (its first byte is sa_len) into kmalloc'd kmem; returns the copy's byte
 * address.  Here: DragonFly's M_INTWAIT allocation cannot fail; a kmalloc zone can, and
 * then this returns NULL and the caller fails the call with ENOBUFS.
 */
export function dup_sockaddr(sa: number): number {
  const len = ku8[sa];
  KASSERT(len >= 2, 'dup_sockaddr: sockaddr shorter than its header');
  const p = zalloc(len <= 64 ? Z_KMALLOC16 : Z_KMALLOC64);
  if (p === NULL) return NULL;
  ku8.copyWithin(p * 4, sa, sa + len);
  return p * 4;
}

/*
 * sotoxsocket: the external form of a socket (netstat, kern.ipc sysctls), from the kernel
 * one.  so_sigio holds the SIGIO owner (pid > 0, process group < 0) directly here.
 */
export function sotoxsocket(so: Ptr, xso: Ptr): void {
  const pr = protosw_of(k32[so + SO.so_proto]);
  k32[xso + XSOCKET.xso_len] = XSOCKET.SIZE * 4;
  k32[xso + XSOCKET.xso_so] = so;
  k32[xso + XSOCKET.so_type] = k32[so + SO.so_type];
  k32[xso + XSOCKET.so_options] = k32[so + SO.so_options];
  k32[xso + XSOCKET.so_linger] = k32[so + SO.so_linger];
  k32[xso + XSOCKET.so_state] = k32[so + SO.so_state];
  k32[xso + XSOCKET.so_pcb] = k32[so + SO.so_pcb];
  k32[xso + XSOCKET.xso_protocol] = pr.pr_protocol;
  k32[xso + XSOCKET.xso_family] = pr.pr_domain.dom_family;
  k32[xso + XSOCKET.so_qlen] = k32[so + SO.so_qlen];
  k32[xso + XSOCKET.so_incqlen] = k32[so + SO.so_incqlen];
  k32[xso + XSOCKET.so_qlimit] = k32[so + SO.so_qlimit];
  k32[xso + XSOCKET.so_timeo] = k32[so + SO.so_timeo];
  k32[xso + XSOCKET.so_error] = k32[so + SO.so_error];
  k32[xso + XSOCKET.so_pgid] = k32[so + SO.so_sigio];
  k32[xso + XSOCKET.so_oobmark] = k32[so + SO.so_oobmark];
  ssbtoxsockbuf(so + SO.so_snd, xso + XSOCKET.so_snd);
  ssbtoxsockbuf(so + SO.so_rcv, xso + XSOCKET.so_rcv);
  k32[xso + XSOCKET.so_uid] = k32[k32[so + SO.so_cred] + UCRED.cr_uid];
}

/* Free a sockaddr made by dup_sockaddr (kfree(sa, M_SONAME)). */
export function free_sockaddr(sa: number): void {
  KASSERT((sa & 3) === 0, 'free_sockaddr: not a dup_sockaddr copy');
  zfree(ku8[sa] <= 64 ? Z_KMALLOC16 : Z_KMALLOC64, sa >> 2);
}

/* ---- simulation-only helpers ---- */

/*
 * sosetstate / soclrstate (DragonFly HEAD's names): set or clear SS_* bits of so_state
 * atomically.  In the netisr model a socket's state is changed by its netisr thread and
 * by user threads (sorflush, soaccept) on other CPUs; an Atomics read-modify-write keeps
 * both changes, and orders the change before a following read of ssb_flags (sowakeup's
 * interlock with a waiter).
 */
export function sosetstate(so: Ptr, bits: number): void { Atomics.or(k32, so + SO.so_state, bits); }
export function soclrstate(so: Ptr, bits: number): void { Atomics.and(k32, so + SO.so_state, ~bits); }

/*
 * sochgstate: clear bits clr and set bits set in one step.  C makes the two changes
 * under the MP lock, so no one sees the state between them; here a sender on another
 * CPU could (a socket neither connected nor unable to send: ENOTCONN for EPIPE).
 */
export function sochgstate(so: Ptr, clr: number, set: number): void {
  const w = so + SO.so_state;
  for (;;) {
    const o = Atomics.load(k32, w);
    if (Atomics.compareExchange(k32, w, o, (o & ~clr) | set) === o) return;
  }
}

/* Call so's upcall (a kfunc id): (so, arg, waitflag). */
function so_upcall(so: Ptr, arg: number, waitf: number): void {
  (kfunc_get(k32[so + SO.so_upcall]) as (s: Ptr, a: number, w: number) => void)(so, arg, waitf);
}
