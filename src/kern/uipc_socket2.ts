/*
 * uipc_socket2.ts: primitive routines on sockets and socket buffers.
 * Mirrors DragonFly sys/kern/uipc_socket2.c rev 1.32 (2008-08-28), the seed, function for
 * function and in its order.  This file grows with the socket layer: so far the
 * signalsockbuf procedures (ssb_wait, _ssb_lock, ssbtoxsockbuf, and ssb_lock/ssb_unlock
 * from socketvar2.h), buffer reservation (soreserve, ssb_reserve, ssb_release), the
 * pru_*_notsupp defaults, pru_sense_null, dup_sockaddr, sotoxsocket and the kern.ipc
 * tunables with their sysctl handlers.
 *
 * Differs where shared memory forces it: SSB_LOCK/SSB_WANT are bits of ssb_flags changed
 * with CAS (lwkt_serialize.ts's sleep lock), where DragonFly relied on the BGL and a
 * critical section; sleeps are generator yields.
 */

import { k32, ku8, H_OFF_GLOBALS } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EINVAL, ENOBUFS, EOPNOTSUPP, EWOULDBLOCK } from '../../shared/errno.js';
import { chgsbsize } from './kern_resource.js';
import { sbflush } from './uipc_sockbuf.js';
import { protosw_of } from './uipc_domain.js';
import { UCRED, RLIM_INFINITY } from '../sys/proc.js';
import { KASSERT } from '../../shared/panic.js';
import { zalloc, zfree, Z_KMALLOC16, Z_KMALLOC64 } from '../../shared/zone.js';
import { STAT } from '../sys/stat.js';
import { done_num, type Blocking } from '../../shared/effect.js';
import { tsleep, PCATCH } from '../lwkt/kern_synch.js';
import { sleeplock_lock, sleeplock_try, sleeplock_unlock } from '../lwkt/lwkt_serialize.js';
import { KG } from '../lwkt/kglobals.js';
import { SO, SSB, SSB_LOCK, SSB_WANT, SSB_WAIT, SSB_NOINTR, SB_MAX, IPC, M_WAITOK, XSOCKBUF, XSOCKET } from '../sys/socketvar.js';
import { SOMAXCONN } from '../sys/socket.js';
import { MSIZE, MCLBYTES } from '../sys/mbuf.js';
import { sysctl_int, CTLFLAG_RD, CTLFLAG_RW } from './kern_sysctl.js';

/* ---- the tunables (sb_max, sb_max_adj, sb_efficiency, maxsockets) ---- */

function ipc(): Ptr { return k32[H_OFF_GLOBALS] + KG.g_ipc; }

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
}

/*
 * sysctl_handle_sb_max: a new kern.ipc.maxsockbuf below MSIZE + MCLBYTES is EINVAL and
 * the old value stays; otherwise sb_max_adj is recomputed.
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
sysctl_int('kern.ipc.somaxconn', CTLFLAG_RW, () => ipc() + IPC.ipc_somaxconn, 'Maximum pending socket connection queue size');
sysctl_int('kern.ipc.numopensockets', CTLFLAG_RD, () => ipc() + IPC.ipc_numopensockets, 'Number of open sockets');

/* ---- signalsockbuf procedures ---- */

/*
 * Wait for data to arrive at or drain from a socket buffer: sleep on &ssb_cc, with PCATCH
 * unless SSB_NOINTR, for at most ssb_timeo ticks.  Returns 0, EWOULDBLOCK (timeout), EINTR
 * or ERESTART.  Blocks.
 */
export function* ssb_wait(ssb: Ptr): Blocking<number> {
  const flags = Atomics.or(k32, ssb + SSB.ssb_flags, SSB_WAIT) | SSB_WAIT;
  return yield* tsleep(ssb + SSB.ssb_cc, (flags & SSB_NOINTR) !== 0 ? 0 : PCATCH, 'sbwait', k32[ssb + SSB.ssb_timeo]);
}

/*
 * Lock a signalsockbuf already known to be locked: set SSB_WANT and sleep on &ssb_flags
 * until the holder unlocks, with PCATCH unless SSB_NOINTR.  Returns 0 with SSB_LOCK set, or
 * the sleep's EINTR/ERESTART without it.  Blocks.
 */
export function _ssb_lock(ssb: Ptr): Blocking<number> {
  const noint = (Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_NOINTR) !== 0;
  return sleeplock_lock(ssb + SSB.ssb_flags, SSB_LOCK, SSB_WANT, noint ? 0 : PCATCH, 'sblock');
}

/*
 * ssb_lock (socketvar2.h): take the I/O lock.  Free: 0 at once.  Held: EWOULDBLOCK unless
 * wf is M_WAITOK (SBLOCKWAIT: MSG_DONTWAIT asks M_NOWAIT; a non-blocking file alone does
 * not), else _ssb_lock.
 */
export function ssb_lock(ssb: Ptr, wf: number): Blocking<number> {
  if (sleeplock_try(ssb + SSB.ssb_flags, SSB_LOCK)) return done_num(0);
  if ((wf & M_WAITOK) === 0) return done_num(EWOULDBLOCK);
  return _ssb_lock(ssb);
}

/* ssb_unlock: clear SSB_LOCK; if SSB_WANT was set, wake every lock waiter (they race). */
export function ssb_unlock(ssb: Ptr): void {
  sleeplock_unlock(ssb + SSB.ssb_flags, SSB_LOCK, SSB_WANT);
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
  k32[ssb + SSB.ssb_mbmax] = Math.min(cc * sb_efficiency(), sb_max());
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
