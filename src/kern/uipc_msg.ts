/*
 * uipc_msg.ts: where a socket request meets its protocol: the so_pru_* wrappers, the
 * netmsg_pru_* dispatch functions that run them on the serving port, the predicate
 * notify messages (netmsg_so_notify), and the ports the dispatch models use.
 * Mirrors DragonFly sys/kern/uipc_msg.c rev 1.26 (2008) for the wrappers and dispatchers,
 * and the parts of net/netisr.c (netmsg_service_loop, netisr_sync_port,
 * netmsg_sync_putport, netmsg_put_port's self-dispatch) they need; those sit here until
 * src/net/ exists.
 *
 * A netmsg is an lwkt_msg whose ms_cmd is the kfunc id of its nm_dispatch; the request's
 * fields (nm_so, the pru arguments) are ms_arg words (NM_* below).  nm_prufn is not stored:
 * the dispatcher finds the pru_* entry in the socket's protosw, which is the same table in
 * every isolate.  A synchronous request's message comes from the msg zone for the call and
 * goes back after it (C keeps it on the caller's stack); the async abort's is freed by the
 * reply (the autofree port), as C's kmalloc'd one is.
 *
 * Dispatch models (DESIGN 7), chosen at boot in k32[H_DISPATCH]:
 *   bgl     so_port is netisr_sync_port: a putonly port whose put runs the dispatcher at
 *           once in the caller's thread (netmsg_sync_putport), the caller holding the BGL as
 *           the 2008 system calls did (get_mplock around socket calls; asserted here).
 *   netisr  one netisr thread per CPU (netisr_cpu_init, from cpu_bringup) runs
 *           netmsg_service_loop; each socket's so_port is one of them, chosen by hashing
 *           the socket (so_port_init), and every request is an lwkt_domsg to it.
 *   mpsafe  routed as HEAD routes PR_SYNC_PORT protocols: so_port is netisr_sync_port and
 *           the request runs in the caller's thread, with no BGL.  What makes that safe in
 *           HEAD is the protocols' own tokens (unp_token, per-unpcb pool tokens), which come
 *           with the mpsafe AF_LOCAL issue; the socket core's own shared state is already
 *           guarded without the BGL (sockbufs by ssb_spin, so_state by Atomics).  So the
 *           model boots and routes correctly, and a protocol written without its own
 *           locking (like the tests' protocol) is only safe under it single-threaded.
 * A protosw may override the choice with pr_mport (SEED's per-protocol port function).
 */

import { Cont, FINISHED } from '../../shared/cont.js';
import { FreeList } from '../../shared/freelist.js';
import { k32, H_DISPATCH, H_LIVE } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { KASSERT, panic } from '../../shared/panic.js';
import { EINTR, EINVAL, ENOBUFS } from '../../shared/errno.js';
import { ncpus } from '../../shared/cpu.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { TAILQ_EMPTY, TAILQ_FIRST, TAILQ_INSERT_TAIL, TAILQ_NEXT, TAILQ_REMOVE } from '../../shared/tailq.js';
import { zalloc, Z_KMALLOC64 } from '../../shared/zone.js';
import { DONE_VOID, done_num, is_done, type Blocking } from '../../shared/effect.js';
import { MSG, PORT, EASYNC, MSGF_DONE, MSGF_QUEUED, MSGF_REPLY, MSGF_SYNC, MPT_THREAD } from '../sys/msgport.js';
import { kstack_alloc, kstack_free } from '../lwkt/lwkt_kstack.js';
import { TDPRI_KERN_DAEMON, TDF_SYSTHREAD } from '../lwkt/thread.js';
import type { Globaldata } from '../lwkt/globaldata.js';
import { curthread } from '../lwkt/globaldata.js';
import { lwkt_create } from '../lwkt/lwkt_thread.js';
import { bgl_token, lwkt_gettoken, lwkt_reltoken, lwkt_token_owner } from '../lwkt/lwkt_token.js';
import { kfunc_get, kfunc_id, kfunc_on_attach, kfunc_register } from '../lwkt/kfunc.js';
import {
  lwkt_domsg, lwkt_initmsg, lwkt_initmsg_abortable, lwkt_initport_putonly, lwkt_msg_alloc, lwkt_msg_free, lwkt_replymsg, lwkt_sendmsg,
  lwkt_thread_port, lwkt_waitport, lwkt_afree_rport,
} from '../lwkt/lwkt_msgport.js';
import { SO, SSB, SEL, SSB_MEVENT, SS_ABORTING } from '../sys/socketvar.js';
import {
  PRU_ABORT, PRU_ATTACH, PRU_BIND, PRU_CONNECT, PRU_CONNECT2, PRU_DETACH, PRU_DISCONNECT, PRU_LISTEN, PRU_PEERADDR,
  PRU_RCVD, PRU_RCVOOB, PRU_SEND, PRU_SENSE, PRU_SHUTDOWN, PRU_SOCKADDR, type Protosw,
} from '../sys/protosw.js';
import { protosw_of } from './uipc_domain.js';
import { IPCG, ipc_globals } from './uipc_socket2.js';
import { sofree } from './uipc_socket.js';

/* The values machine/boot.ts stores in k32[H_DISPATCH] (kern cannot import machine). */
export const SO_DISPATCH_BGL = 0;
export const SO_DISPATCH_NETISR = 1;
export const SO_DISPATCH_MPSAFE = 2;

/* ---- struct netmsg and its request fields (net/netmsg.h), as ms_arg words ---- */

export const NM_SO = MSG.ms_arg + 0;        // nm_so
export const NM_A1 = MSG.ms_arg + 1;        // the request's arguments, in pru_* order
export const NM_A2 = MSG.ms_arg + 2;
export const NM_A3 = MSG.ms_arg + 3;
export const NM_A4 = MSG.ms_arg + 4;
export const NM_A5 = MSG.ms_arg + 5;
/* struct netmsg_so_notify: nm_so, then these. */
export const NM_PREDICATE = MSG.ms_arg + 1; // kfunc id: (msg) => boolean; may set ms_error
export const NM_FFLAGS = MSG.ms_arg + 2;    // the waiter's file flags (FNONBLOCK)
export const NM_ETYPE = MSG.ms_arg + 3;     // NM_REVENT or NM_SEVENT
export const NM_LIST = MSG.ms_arg + 4;      // 2 words: TAILQ link on ssb_sel.si_mlist
export const NM_HEAD = MSG.ms_arg + 8;      // here: nm_so as sent (a predicate may replace nm_so): the abort's socket
/* struct netmsg_so_notify_abort: nm_so and nm_etype as the original's, then: */
export const NM_NOTIFYMSG = MSG.ms_arg + 1; // the netmsg_so_notify to abort
export const NM_REVENT = 0x1;               // the event is on so_rcv
export const NM_SEVENT = 0x2;               // ... on so_snd

/* netmsg_init: an lwkt_initmsg that also names the dispatch function (a kfunc id). */
export function netmsg_init(msg: Ptr, rport: Ptr, flags: number, dispatch: number): void {
  lwkt_initmsg(msg, rport, flags);
  k32[msg + MSG.ms_cmd] = dispatch;
}

/* ---- ports ---- */

let so_dispatch = SO_DISPATCH_BGL;          // k32[H_DISPATCH] of the attached machine

export function so_dispatch_model(): number { return so_dispatch; }

/* netisr_sync_port: requests run at once in the sender's thread. */
export function netisr_sync_port(): Ptr { return ipc_globals() + IPCG.ig_sync_port; }

/* netisr_cpuport: the port of CPU cpu's netisr thread (netisr model only). */
export function netisr_cpuport(cpu: number): Ptr {
  const table = k32[ipc_globals() + IPCG.ig_netisr_ports];
  KASSERT(table !== NULL, 'netisr_cpuport: no netisr threads in this dispatch model');
  return Atomics.load(k32, table + cpu);
}

/*
 * so_port_init: the port that will serve so's requests (HEAD's so_port): a netisr thread's
 * chosen by a hash of the socket in the netisr model, netisr_sync_port otherwise.
 */
export function so_port_init(so: Ptr): Ptr {
  if (so_dispatch !== SO_DISPATCH_NETISR) return netisr_sync_port();
  return netisr_cpuport((Math.imul(so, 0x9e3779b1) >>> 0) % ncpus);
}

/* sync_soport: SEED's pr_mport for protocols served by the sync port (AF_LOCAL). */
export function sync_soport(_so: Ptr, _nam: Ptr, _req: number): Ptr { return netisr_sync_port(); }

/* pr_mport: the port for request req on so: the protocol's choice, else so_port. */
export function so_mport(pr: Protosw, so: Ptr, nam: Ptr, req: number): Ptr {
  if (pr.pr_mport !== null) return pr.pr_mport(so, nam, req);
  return k32[so + SO.so_port];
}

/*
 * netmsg_domsg: lwkt_domsg, except that a thread sending to its own port dispatches the
 * message inline (netisr.c's netmsg_put_port): waiting for itself would never end.  The
 * message must be done when the dispatcher returns ("self-referential deadlock").
 */
function netmsg_domsg(port: Ptr, msg: Ptr, flags = 0): Blocking<number> {
  const td = curthread();
  if (k32[port + PORT.mp_type] === MPT_THREAD && k32[port + PORT.mp_td] === td) {
    k32[msg + MSG.ms_flags] = (k32[msg + MSG.ms_flags] & ~(MSGF_REPLY | MSGF_DONE)) | MSGF_SYNC;
    k32[msg + MSG.ms_target_port] = port;
    netmsg_dispatch(msg);
    if ((k32[msg + MSG.ms_flags] & MSGF_DONE) === 0) panic('netmsg_put_port: self-referential deadlock on netport');
    return done_num(k32[msg + MSG.ms_error]);
  }
  return lwkt_domsg(port, msg, flags);
}

function netmsg_dispatch(msg: Ptr): void {
  (kfunc_get(k32[msg + MSG.ms_cmd]) as (m: Ptr) => void)(msg);
}

/*
 * One synchronous request: a message from the msg zone, sent with lwkt_domsg (not PCATCH)
 * to the serving port, freed after the reply.  ENOBUFS when the msg zone is empty (C's
 * stack message cannot fail).  Blocks.
 */
function so_pru_domsg(pr: Protosw, so: Ptr, nam: Ptr, req: number, dispatch: number,
    a1: number, a2: number, a3: number, a4: number, a5: number): Blocking<number> {
  const port = so_mport(pr, so, nam, req);
  const msg = netmsg_stack_get();
  if (msg === NULL) return done_num(ENOBUFS);
  k32[msg + MSG.ms_cmd] = dispatch;
  k32[msg + NM_SO] = so;
  k32[msg + NM_A1] = a1;
  k32[msg + NM_A2] = a2;
  k32[msg + NM_A3] = a3;
  k32[msg + NM_A4] = a4;
  k32[msg + NM_A5] = a5;
  // Plain when the port served it at once (the sync port); else wait for the reply.
  const reply = netmsg_domsg(port, msg);
  if (!is_done(reply)) return (domsg_conts.get() ?? new DomsgWait()).start(reply, msg);
  netmsg_stack_put(msg);
  return reply;
}

/* The wait for a request's (or an abort's) reply, then the message freed: a reusable continuation (shared/cont.ts). */
class DomsgWait extends Cont {
  private msg = NULL;

  constructor() { super(0); }

  start(reply: Blocking<number>, msg: Ptr): this {
    this.msg = msg;
    return this.begin(reply);
  }

  protected step(v: unknown): Blocking<number> | null {
    netmsg_stack_put(this.msg);
    this.result = v as number;
    return FINISHED;
  }

  protected release(): void { domsg_conts.put(this); }
}
const domsg_conts = new FreeList<DomsgWait>();

/*
 * The request message: C declares it on the caller's stack (struct netmsg_pru_send msg),
 * so it is a frame on the thread's kstack; from the msg zone when that is full.  NULL
 * when neither has room.
 */
function netmsg_stack_get(): Ptr {
  const td = curthread();
  const msg = kstack_alloc(MSG.SIZE, false);
  if (msg === NULL) return lwkt_msg_alloc(lwkt_thread_port(td), 0);
  lwkt_initmsg(msg, lwkt_thread_port(td), 0);
  k32[msg + MSG.ms_result] = 0;
  k32[msg + MSG.ms_result2] = 0;
  k32[msg + MSG.ms_owner] = td;
  k32[msg + MSG.ms_zone] = 0;
  return msg;
}

function netmsg_stack_put(msg: Ptr): void {
  KASSERT((k32[msg + MSG.ms_flags] & MSGF_QUEUED) === 0, 'so_pru: request message still queued');
  if (!kstack_free(msg, MSG.SIZE)) lwkt_msg_free(msg);
}

/* What pr_mport is told for a message that is no PRU_* request (ctloutput, notify). */
const PRU_NONE = -1;

function pr_of(so: Ptr): Protosw { return protosw_of(k32[so + SO.so_proto]); }

/* ---- the so_pru_* wrappers (uipc_msg.c), each returning the protocol's errno ---- */

/* so_pru_abort: abort so, synchronously.  The caller set SS_ABORTING (soabort).  Blocks. */
export function so_pru_abort(so: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_ABORT, id.abort, 0, 0, 0, 0, 0);
}

/*
 * so_pru_aborta: abort so asynchronously: the message is sent and forgotten; its reply
 * frees it (the autofree port).  Never blocks: the sync port's put dispatches at once
 * and never waits, and a put to a thread port only queues.  Returns 0.  Until the abort
 * has run, the machine counts it as a live thread (H_LIVE), as it does a busy unp_gc:
 * work is still queued, so the machine is not idle (Machine.run, a test's quiesce).
 */
export function so_pru_aborta(so: Ptr): number {
  const pr = pr_of(so);
  const port = so_mport(pr, so, NULL, PRU_ABORT);
  const msg = lwkt_msg_alloc(lwkt_afree_rport(), 0);
  // C's kmalloc(M_WAITOK) cannot fail; a plain function cannot wait for the zone.
  if (msg === NULL) panic('so_pru_aborta: lwkt_msg zone exhausted');
  k32[msg + MSG.ms_cmd] = id.abort;
  k32[msg + NM_SO] = so;
  Atomics.add(k32, H_LIVE, 1);
  const r = lwkt_sendmsg(port, msg).next();
  KASSERT(r.done === true, 'so_pru_aborta: the send blocked');
  return 0;
}

/* so_pru_accept: a direct call (no message), as in SEED. */
export function so_pru_accept(so: Ptr, nam: Ptr): number {
  return pr_of(so).pr_usrreqs.pru_accept(so, nam);
}

/* so_pru_attach: ai is the creating process (its RLIMIT_SBSIZE and cred), or NULL. */
export function so_pru_attach(so: Ptr, proto: number, ai: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_ATTACH, id.attach, proto, ai, 0, 0, 0);
}

export function so_pru_bind(so: Ptr, nam: Ptr, td: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, nam, PRU_BIND, id.bind, nam, td, 0, 0, 0);
}

export function so_pru_connect(so: Ptr, nam: Ptr, td: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, nam, PRU_CONNECT, id.connect, nam, td, 0, 0, 0);
}

export function so_pru_connect2(so1: Ptr, so2: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so1), so1, NULL, PRU_CONNECT2, id.connect2, so2, 0, 0, 0, 0);
}

/* so_pru_control: a direct call (it copies in and out of the caller), as in SEED. */
export function so_pru_control(so: Ptr, cmd: number, data: Ptr, ifp: Ptr, td: Ptr): number {
  return pr_of(so).pr_usrreqs.pru_control(so, cmd, data, ifp, td);
}

export function so_pru_detach(so: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_DETACH, id.detach, 0, 0, 0, 0, 0);
}

export function so_pru_disconnect(so: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_DISCONNECT, id.disconnect, 0, 0, 0, 0, 0);
}

export function so_pru_listen(so: Ptr, td: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_LISTEN, id.listen, td, 0, 0, 0, 0);
}

export function so_pru_peeraddr(so: Ptr, nam: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_PEERADDR, id.peeraddr, nam, 0, 0, 0, 0);
}

export function so_pru_rcvd(so: Ptr, flags: number): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_RCVD, id.rcvd, flags, 0, 0, 0, 0);
}

export function so_pru_rcvoob(so: Ptr, m: Ptr, flags: number): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_RCVOOB, id.rcvoob, m, flags, 0, 0, 0);
}

/*
 * so_pru_send: hand chain m (and control) to the protocol, which owns both from here on,
 * even when it fails.  EINVAL when no port serves the socket (pr_mport gave NULL).
 */
export function so_pru_send(so: Ptr, flags: number, m: Ptr, addr: Ptr, control: Ptr, td: Ptr): Blocking<number> {
  const pr = pr_of(so);
  if (so_mport(pr, so, addr, PRU_SEND) === NULL) return done_num(EINVAL);
  return so_pru_domsg(pr, so, addr, PRU_SEND, id.send, flags, m, addr, control, td);
}

export function so_pru_sense(so: Ptr, sb: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_SENSE, id.sense, sb, 0, 0, 0, 0);
}

export function so_pru_shutdown(so: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_SHUTDOWN, id.shutdown, 0, 0, 0, 0, 0);
}

export function so_pru_sockaddr(so: Ptr, nam: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_SOCKADDR, id.sockaddr, nam, 0, 0, 0, 0);
}

/* so_pru_ctloutput: the protocol's option handler (it has one: sosetopt/sogetopt check). */
export function so_pru_ctloutput(so: Ptr, sopt: Ptr): Blocking<number> {
  return so_pru_domsg(pr_of(so), so, NULL, PRU_NONE, id.ctloutput, sopt, 0, 0, 0, 0);
}

/* ---- the dispatch functions: run the request on the serving port, then reply ---- */

/*
 * netmsg_pru_abort: SS_ABORTING is cleared before pru_abort runs (a new abort may be
 * asked from then on); if the protocol refuses (its pcb is already gone), the socket is
 * freed here.
 */
function netmsg_pru_abort(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  Atomics.and(k32, so + SO.so_state, ~SS_ABORTING);
  const error = pr_of(so).pr_usrreqs.pru_abort(so);
  if (error !== 0) sofree(so);
  const async = k32[msg + MSG.ms_reply_port] === lwkt_afree_rport();   // so_pru_aborta's (the reply frees it)
  lwkt_replymsg(msg, error);
  if (async) Atomics.sub(k32, H_LIVE, 1);
}

function netmsg_pru_attach(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_attach(so, k32[msg + NM_A1], k32[msg + NM_A2]));
}

function netmsg_pru_bind(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_bind(so, k32[msg + NM_A1], k32[msg + NM_A2]));
}

function netmsg_pru_connect(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_connect(so, k32[msg + NM_A1], k32[msg + NM_A2]));
}

function netmsg_pru_connect2(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_connect2(so, k32[msg + NM_A1]));
}

function netmsg_pru_detach(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_detach(so));
}

function netmsg_pru_disconnect(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_disconnect(so));
}

function netmsg_pru_listen(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_listen(so, k32[msg + NM_A1]));
}

function netmsg_pru_peeraddr(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_peeraddr(so, k32[msg + NM_A1]));
}

function netmsg_pru_rcvd(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_rcvd(so, k32[msg + NM_A1]));
}

function netmsg_pru_rcvoob(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_rcvoob(so, k32[msg + NM_A1], k32[msg + NM_A2]));
}

function netmsg_pru_send(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_send(so, k32[msg + NM_A1], k32[msg + NM_A2], k32[msg + NM_A3],
    k32[msg + NM_A4], k32[msg + NM_A5]));
}

function netmsg_pru_sense(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_sense(so, k32[msg + NM_A1]));
}

function netmsg_pru_shutdown(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_shutdown(so));
}

function netmsg_pru_sockaddr(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  lwkt_replymsg(msg, pr_of(so).pr_usrreqs.pru_sockaddr(so, k32[msg + NM_A1]));
}

function netmsg_pru_ctloutput(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  const ctl = pr_of(so).pr_ctloutput;
  KASSERT(ctl !== null, 'netmsg_pru_ctloutput: protocol has no pr_ctloutput');
  lwkt_replymsg(msg, ctl(so, k32[msg + NM_A1]));
}

/* ---- predicate notify messages ---- */

/*
 * netmsg_so_notify (dispatch, on the socket's serving port): a thread waits for an event
 * on so (accept, connect completion).  If the predicate already holds the message is
 * replied at once, with whatever ms_error the predicate stored; otherwise it is queued on
 * the sockbuf's ssb_sel.si_mlist with SSB_MEVENT set, and sowakeup replies to it when the
 * predicate holds there.
 * Here: the message is queued and SSB_MEVENT published before the predicate is first
 * evaluated (C evaluates first), all under ssb_spin: a sowakeup on another CPU after the
 * event either finds the message queued or ran before the evaluation that sees the event.
 */
function netmsg_so_notify(msg: Ptr): void {
  const so = k32[msg + NM_SO];
  const ssb = (k32[msg + NM_ETYPE] & NM_REVENT) !== 0 ? so + SO.so_rcv : so + SO.so_snd;
  const mlist = ssb + SSB.ssb_sel + SEL.si_mlist;
  const predicate = kfunc_get(k32[msg + NM_PREDICATE]) as (m: Ptr) => boolean;
  spin_lock(ssb + SSB.ssb_spin);
  TAILQ_INSERT_TAIL(mlist, msg, NM_LIST);
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_MEVENT);
  if (predicate(msg)) {
    TAILQ_REMOVE(mlist, msg, NM_LIST);
    if (TAILQ_EMPTY(mlist)) Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_MEVENT);
    spin_unlock(ssb + SSB.ssb_spin);
    lwkt_replymsg(msg, k32[msg + MSG.ms_error]);
    return;
  }
  spin_unlock(ssb + SSB.ssb_spin);
}

/*
 * so_pru_notify (the sending half of the accept/connect waits, kern_accept's and
 * kern_connect's netmsg_so_notify): initialise msg, a netmsg owned by the caller, as an
 * abortable notify for an event of type etype on so judged by predicate (a kfunc id), and
 * send it synchronously to so's serving port.  Returns the reply's ms_error once the
 * predicate held; with PCATCH in flags a signal aborts the wait
 * (netmsg_so_notify_doabort) and the reply is EINTR, unless the predicate won the race.
 * The predicate may leave a result in NM_SO (accept's dequeued connection).  Blocks.
 */
export function so_pru_notify(msg: Ptr, so: Ptr, predicate: number, fflags: number, etype: number,
    flags = 0): Blocking<number> {
  lwkt_initmsg_abortable(msg, lwkt_thread_port(curthread()), 0, id.so_notify_doabort);
  k32[msg + MSG.ms_cmd] = id.so_notify;
  k32[msg + NM_SO] = so;
  k32[msg + NM_HEAD] = so;
  k32[msg + NM_PREDICATE] = predicate;
  k32[msg + NM_FFLAGS] = fflags;
  k32[msg + NM_ETYPE] = etype;
  return netmsg_domsg(so_mport(pr_of(so), so, NULL, PRU_NONE), msg, flags);
}

/*
 * netmsg_so_notify_doabort (the notify's abort function, on the waiter's CPU, from
 * lwkt_abortmsg when a signal interrupts the wait): unless the notify is already done,
 * send a netmsg_so_notify_abort after it to the port that holds it and wait for that.
 * The abort message is C's stack message: a frame on this thread's kstack.  Blocks.
 */
function netmsg_so_notify_doabort(msg: Ptr): Blocking<unknown> {
  if ((k32[msg + MSG.ms_flags] & (MSGF_DONE | MSGF_REPLY)) !== 0) return DONE_VOID;
  const amsg = netmsg_stack_get();
  if (amsg === NULL) panic('netmsg_so_notify_doabort: no message for the abort');
  k32[amsg + MSG.ms_cmd] = id.so_notify_abort;
  k32[amsg + NM_SO] = k32[msg + NM_HEAD];
  k32[amsg + NM_ETYPE] = k32[msg + NM_ETYPE];
  k32[amsg + NM_NOTIFYMSG] = msg;
  const r = netmsg_domsg(k32[msg + MSG.ms_target_port], amsg);
  if (!is_done(r)) return (domsg_conts.get() ?? new DomsgWait()).start(r, amsg);
  netmsg_stack_put(amsg);
  return DONE_VOID;
}

/*
 * netmsg_so_notify_abort (dispatch, on the port that holds the notify): if the notify is
 * still waiting on its sockbuf's list, take it off and reply EINTR; a notify that
 * sowakeup released in the meantime is left to its reply.  Then reply to the abort.
 * C re-tests the notify's DONE|REPLY flags here; a notify sowakeup has unlinked but not
 * yet replied (another CPU, between its unlock and its reply) shows neither, so the list
 * itself, under ssb_spin, is what is tested.
 */
function netmsg_so_notify_abort(amsg: Ptr): void {
  const msg = k32[amsg + NM_NOTIFYMSG];
  const so = k32[amsg + NM_SO];
  const ssb = (k32[amsg + NM_ETYPE] & NM_REVENT) !== 0 ? so + SO.so_rcv : so + SO.so_snd;
  const mlist = ssb + SSB.ssb_sel + SEL.si_mlist;
  spin_lock(ssb + SSB.ssb_spin);
  let queued = false;
  for (let m = TAILQ_FIRST(mlist); m !== NULL && !queued; m = TAILQ_NEXT(m, NM_LIST)) queued = m === msg;
  if (queued) {
    TAILQ_REMOVE(mlist, msg, NM_LIST);
    if (TAILQ_EMPTY(mlist)) Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_MEVENT);
  }
  spin_unlock(ssb + SSB.ssb_spin);
  if (queued) lwkt_replymsg(msg, EINTR);
  lwkt_replymsg(amsg, 0);
}

/* ---- net/netisr.c: the sync port and the netisr threads ---- */

/*
 * netmsg_sync_putport: the sync port's put: record the target (abort needs it), then run
 * the dispatcher in the sender's thread, which replies before returning.  EASYNC, so the
 * sender's lwkt_domsg finds the message done and returns its ms_error.  In the bgl model
 * the sender holds the BGL, as every 2008 socket system call did.
 */
function netmsg_sync_putport(port: Ptr, msg: Ptr): number {
  k32[msg + MSG.ms_flags] &= ~MSGF_DONE;
  k32[msg + MSG.ms_target_port] = port;
  if (so_dispatch === SO_DISPATCH_BGL) {
    KASSERT(lwkt_token_owner(bgl_token()) === curthread(), 'netmsg_sync_putport: BGL not held (bgl dispatch model)');
  }
  netmsg_dispatch(msg);
  return EASYNC;
}

/*
 * netmsg_service_loop: a netisr thread's body: take each message from the thread's port
 * and dispatch it; the dispatcher replies.  No BGL: in the netisr model the thread that
 * serves a socket is what serialises its protocol state.  Never returns (a netisr thread
 * lives as long as the machine).
 */
export function* netmsg_service_loop(): Blocking<void> {
  const port = lwkt_thread_port(curthread());
  for (;;) {
    const msg = yield* lwkt_waitport(port, 0);
    if (msg === NULL) continue;
    // A protocol whose requests reach other sockets' pcbs serializes them (pr_token).
    const so = k32[msg + NM_SO];
    const tokfn = so !== NULL ? pr_of(so).pr_token : undefined;
    const tok = tokfn !== undefined && tokfn !== null ? tokfn() : NULL;
    if (tok !== NULL) yield* lwkt_gettoken(tok);
    netmsg_dispatch(msg);
    if (tok !== NULL) lwkt_reltoken(tok);
  }
}

/*
 * netisr_init_globals (boot, on the host, after ipc_init): the sync port, and in the
 * netisr model the table of the netisr threads' ports (a kmalloc64 item: NCPU_MAX words),
 * which each CPU fills in as it comes up.
 */
export function netisr_init_globals(dispatch: number): void {
  const g = ipc_globals();
  lwkt_initport_putonly(g + IPCG.ig_sync_port, kfunc_id('netmsg_sync_putport'));
  k32[g + IPCG.ig_netisr_ports] = NULL;
  if (dispatch === SO_DISPATCH_NETISR) {
    const table = zalloc(Z_KMALLOC64);
    KASSERT(table !== NULL, 'netisr_init_globals: no kmalloc64 item for the netisr port table');
    k32[g + IPCG.ig_netisr_ports] = table;
  }
}

/*
 * netisr_cpu_init (cpu_bringup): in the netisr model, create this CPU's netisr thread
 * ("netisr_cpu N", DragonFly's netisr_cpu[N]) and publish its port before the CPU runs
 * anything.  Nothing in the other models.
 */
export function netisr_cpu_init(gd: Globaldata): void {
  if (k32[H_DISPATCH] !== SO_DISPATCH_NETISR) return;
  const td = lwkt_create(gd, 'netisr_cpu ' + gd.cpuid, TDPRI_KERN_DAEMON, netmsg_service_loop(), TDF_SYSTHREAD);
  if (td === NULL) panic('netisr_cpu_init: no thread for netisr_cpu ' + gd.cpuid);
  Atomics.store(k32, k32[ipc_globals() + IPCG.ig_netisr_ports] + gd.cpuid, lwkt_thread_port(td));
}

/* ---- kfunc ids of the dispatchers ---- */

const id = {
  abort: 0, attach: 0, bind: 0, connect: 0, connect2: 0, detach: 0, disconnect: 0, listen: 0, peeraddr: 0,
  rcvd: 0, rcvoob: 0, send: 0, sense: 0, shutdown: 0, sockaddr: 0, ctloutput: 0, so_notify: 0,
  so_notify_doabort: 0, so_notify_abort: 0,
};
type Kf = (...a: number[]) => unknown;
function register_all(): void {
  id.abort = kfunc_register('netmsg_pru_abort', netmsg_pru_abort as Kf);
  id.attach = kfunc_register('netmsg_pru_attach', netmsg_pru_attach as Kf);
  id.bind = kfunc_register('netmsg_pru_bind', netmsg_pru_bind as Kf);
  id.connect = kfunc_register('netmsg_pru_connect', netmsg_pru_connect as Kf);
  id.connect2 = kfunc_register('netmsg_pru_connect2', netmsg_pru_connect2 as Kf);
  id.detach = kfunc_register('netmsg_pru_detach', netmsg_pru_detach as Kf);
  id.disconnect = kfunc_register('netmsg_pru_disconnect', netmsg_pru_disconnect as Kf);
  id.listen = kfunc_register('netmsg_pru_listen', netmsg_pru_listen as Kf);
  id.peeraddr = kfunc_register('netmsg_pru_peeraddr', netmsg_pru_peeraddr as Kf);
  id.rcvd = kfunc_register('netmsg_pru_rcvd', netmsg_pru_rcvd as Kf);
  id.rcvoob = kfunc_register('netmsg_pru_rcvoob', netmsg_pru_rcvoob as Kf);
  id.send = kfunc_register('netmsg_pru_send', netmsg_pru_send as Kf);
  id.sense = kfunc_register('netmsg_pru_sense', netmsg_pru_sense as Kf);
  id.shutdown = kfunc_register('netmsg_pru_shutdown', netmsg_pru_shutdown as Kf);
  id.sockaddr = kfunc_register('netmsg_pru_sockaddr', netmsg_pru_sockaddr as Kf);
  id.ctloutput = kfunc_register('netmsg_pru_ctloutput', netmsg_pru_ctloutput as Kf);
  id.so_notify = kfunc_register('netmsg_so_notify', netmsg_so_notify as Kf);
  id.so_notify_doabort = kfunc_register('netmsg_so_notify_doabort', netmsg_so_notify_doabort as Kf);
  id.so_notify_abort = kfunc_register('netmsg_so_notify_abort', netmsg_so_notify_abort as Kf);
  kfunc_register('netmsg_sync_putport', netmsg_sync_putport as Kf);
}
register_all();
kfunc_on_attach(() => {
  register_all();
  so_dispatch = k32[H_DISPATCH];
});
