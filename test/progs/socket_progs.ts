/*
 * Kernel threads for the socket-core tests (test/uipc_socket.test.ts), and the protocol
 * they run on.
 *
 * The test protocol (family 88, "tp") stands in for AF_LOCAL, which comes later: a stream
 * protosw (PR_CONNREQUIRED | PR_WANTRCVD) and a datagram one (PR_ATOMIC | PR_ADDR).  Its
 * pcb is a kmalloc16 item: [0] the socket, [1] the connected peer socket, [4..5] the
 * socket's own address (a sockaddr: sa_len 8, sa_family 88, then the socket pointer, so
 * that "connect to an address" is "connect to that listening socket").  Stream sends
 * append to the peer's so_rcv with sbappend and stop the sender (SSB_STOP) once the peer
 * holds the sender's hiwat, as AF_LOCAL streams do; pru_rcvd lifts the stop.  Datagram
 * sends append the sender's address and the data as one record with ssb_appendaddr
 * (ENOBUFS when the receiver has no space).  Appends and the stop decision happen under
 * the receiver's ssb_spin.  Not safe against a close racing a send in the netisr model
 * (AF_LOCAL's real locking comes with it): the tests close only after their I/O.
 *
 * Every thread makes a process for itself (proc_create + proc_attach_thread), takes the
 * BGL in the bgl dispatch model as the 2008 system calls did, returns the numbers the
 * test asserts, and frees everything it made.
 */
import {
  k32, ku8, NULL, KASSERT, curthread, tsleep, wakeup, zalloc, zfree, Z_KMALLOC16, kfunc_register, kfunc_id,
  get_mplock, rel_mplock, lwkt_sigintr, lwkt_sigtake, lwkt_msg_alloc, lwkt_msg_free, lwkt_thread_port,
  spin_lock, spin_unlock, MB, MT_DATA, M_PKTHDR, MB_DONTWAIT, m_getl, m_freem, sbappend, ssb_appendaddr,
  SO, SSB, SEL, IPC, SSB_STOP, SSB_WAIT, SSB_SEL, SSB_UPCALL, SSB_MEVENT, SS_PRIV, SS_ISCONNECTED, SS_CANTRCVMORE,
  SS_CANTSENDMORE, SS_ISDISCONNECTED, SS_INCOMP, SS_COMP, SS_NOFDREF, SS_ASYNC, SO_ACCEPTCONN, SO_ACCEPTFILTER,
  SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_SNDBUF, SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO,
  SO_LINGER, SO_TYPE, SO_ERROR, SO_REUSEADDR, SO_NOSIGPIPE, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_WAITALL,
  MSG_FNONBLOCKING, SHUT_RD, SHUT_WR, ECONNREFUSED, ENOBUFS, ENOTCONN, EISCONN, ECONNRESET, PR_CONNREQUIRED,
  PR_WANTRCVD, PR_ATOMIC, PR_ADDR, SIGIO, SIG_CATCH, PCATCH, ipc_globals, free_sockaddr,
  net_add_domain, soreserve, sonewconn, soisconnected, soisdisconnected, socantsendmore, socantrcvmore,
  sorwakeup, sowwakeup, sofree, pru_sense_null, pru_accept_notsupp, pru_control_notsupp,
  pru_rcvoob_notsupp, ai_sb_rlimit, socreate, soclose, solisten, soconnect, soconnect2, sodisconnect,
  soshutdown, sosend, soreceive, sosetopt, sogetopt, soabort, Uio, uio_init, UIO_READ, UIO_WRITE, SOPT, so_pru_notify,
  so_dispatch_model, SO_DISPATCH_BGL, NM_REVENT, NM_SO, MSG, proc_create, proc_exit, proc_attach_thread,
  proc_detach_thread, kern_sigaction, PROC,
  type Blocking, type Ptr, type Protosw, type Domain, type PrUsrreqs,
} from '../../src/kernel.js';
import { TAILQ_FIRST as TAILQ_FIRST_OF } from '../../shared/tailq.js';

export const TP_FAMILY = 88;
const TP_HIWAT = 8192;

/* ---- the test protocol ---- */

const PCB_SO = 0, PCB_CONN = 1, PCB_ADDR = 4;

function pcb_of(so: Ptr): Ptr { return k32[so + SO.so_pcb]; }
function peer_of(so: Ptr): Ptr { const pcb = pcb_of(so); return pcb === NULL ? NULL : k32[pcb + PCB_CONN]; }
/* A socket's address: the kmem byte address of the sockaddr in its pcb. */
function tp_addr(so: Ptr): number { return (pcb_of(so) + PCB_ADDR) * 4; }

function tp_attach(so: Ptr, _proto: number, ai: Ptr): number {
  if (pcb_of(so) !== NULL) return EISCONN;
  const error = soreserve(so, TP_HIWAT, TP_HIWAT, ai_sb_rlimit(ai));
  if (error !== 0) return error;
  const pcb = zalloc(Z_KMALLOC16);
  if (pcb === NULL) return ENOBUFS;
  k32[pcb + PCB_SO] = so;
  ku8[(pcb + PCB_ADDR) * 4] = 8;                  // sa_len
  ku8[(pcb + PCB_ADDR) * 4 + 1] = TP_FAMILY;       // sa_family
  k32[pcb + PCB_ADDR + 1] = so;
  k32[so + SO.so_pcb] = pcb;
  return 0;
}

/* Break the connection both ways; both ends are disconnected (unp_disconnect for streams). */
function tp_disconnect(so: Ptr): number {
  const peer = peer_of(so);
  if (peer === NULL) return ENOTCONN;
  k32[pcb_of(so) + PCB_CONN] = NULL;
  if (pcb_of(peer) !== NULL && k32[pcb_of(peer) + PCB_CONN] === so) k32[pcb_of(peer) + PCB_CONN] = NULL;
  soisdisconnected(so);
  soisdisconnected(peer);
  return 0;
}

function tp_detach(so: Ptr): number {
  const pcb = pcb_of(so);
  if (pcb === NULL) return 0;
  if (k32[pcb + PCB_CONN] !== NULL) tp_disconnect(so);
  k32[so + SO.so_pcb] = NULL;
  zfree(Z_KMALLOC16, pcb);
  return 0;
}

function tp_abort(so: Ptr): number {
  if (pcb_of(so) === NULL) return 22; // EINVAL: netmsg_pru_abort then frees the socket
  k32[so + SO.so_error] = 53;         // ECONNABORTED
  tp_detach(so);
  sofree(so);
  return 0;
}

function tp_link(so1: Ptr, so2: Ptr): void {
  k32[pcb_of(so1) + PCB_CONN] = so2;
  k32[pcb_of(so2) + PCB_CONN] = so1;
}

function tp_connect2(so1: Ptr, so2: Ptr): number {
  tp_link(so1, so2);
  soisconnected(so1);
  soisconnected(so2);
  return 0;
}

/* Connect to the listening socket named in nam's address: a new connection via sonewconn. */
function tp_connect(so: Ptr, nam: Ptr, _td: Ptr): number {
  const head = k32[(nam >> 2) + 1];
  if ((k32[head + SO.so_options] & SO_ACCEPTCONN) === 0) return ECONNREFUSED;
  const so2 = sonewconn(head, 0);
  if (so2 === NULL) return ECONNREFUSED;
  tp_link(so, so2);
  soisconnected(so2);
  soisconnected(so);
  return 0;
}

function tp_send(so: Ptr, _flags: number, m: Ptr, addr: Ptr, control: Ptr, _td: Ptr): number {
  if (control !== NULL) m_freem(control);
  const peer = addr !== NULL ? k32[(addr >> 2) + 1] : peer_of(so);
  if (peer === NULL) { m_freem(m); return ENOTCONN; }
  const rcv = peer + SO.so_rcv;
  if (k32[so + SO.so_type] === SOCK_STREAM) {
    const snd = so + SO.so_snd;
    spin_lock(rcv + SSB.ssb_spin);
    sbappend(rcv, m);
    if (k32[rcv + SSB.ssb_cc] >= k32[snd + SSB.ssb_hiwat] || k32[rcv + SSB.ssb_mbcnt] >= k32[snd + SSB.ssb_mbmax]) {
      Atomics.or(k32, snd + SSB.ssb_flags, SSB_STOP);
    }
    spin_unlock(rcv + SSB.ssb_spin);
  } else {
    spin_lock(rcv + SSB.ssb_spin);
    const ok = ssb_appendaddr(rcv, tp_addr(so), m, NULL);
    spin_unlock(rcv + SSB.ssb_spin);
    if (ok === 0) { m_freem(m); return ENOBUFS; }
  }
  sorwakeup(peer);
  return 0;
}

/* The reader drained some: lift the writer's stop once below its hiwat (uipc_rcvd). */
function tp_rcvd(so: Ptr, _flags: number): number {
  const peer = peer_of(so);
  if (peer === NULL || k32[so + SO.so_type] !== SOCK_STREAM) return 0;
  const rcv = so + SO.so_rcv, psnd = peer + SO.so_snd;
  spin_lock(rcv + SSB.ssb_spin);
  const lift = k32[rcv + SSB.ssb_cc] < k32[psnd + SSB.ssb_hiwat] && k32[rcv + SSB.ssb_mbcnt] < k32[psnd + SSB.ssb_mbmax];
  if (lift) Atomics.and(k32, psnd + SSB.ssb_flags, ~SSB_STOP);
  spin_unlock(rcv + SSB.ssb_spin);
  if (lift) sowwakeup(peer);
  return 0;
}

function tp_shutdown(so: Ptr): number {
  socantsendmore(so);
  const peer = peer_of(so);
  if (peer !== NULL) socantrcvmore(peer);
  return 0;
}

const tp_usrreqs: PrUsrreqs = {
  pru_abort: tp_abort,
  pru_accept: (_so, _nam) => 0,
  pru_attach: tp_attach,
  pru_bind: (_so, _nam, _td) => 0,
  pru_connect: tp_connect,
  pru_connect2: tp_connect2,
  pru_control: pru_control_notsupp,
  pru_detach: tp_detach,
  pru_disconnect: tp_disconnect,
  pru_listen: (_so, _td) => 0,
  pru_peeraddr: (_so, _nam) => 0,
  pru_rcvd: tp_rcvd,
  pru_rcvoob: pru_rcvoob_notsupp,
  pru_send: tp_send,
  pru_sense: pru_sense_null,
  pru_shutdown: tp_shutdown,
  pru_sockaddr: (_so, _nam) => 0,
};
void pru_accept_notsupp;

function tp_protosw(type: number, flags: number): Protosw {
  return { pr_type: type, pr_domain: null as unknown as Domain, pr_protocol: 0, pr_flags: flags, pr_ctloutput: null,
    pr_mport: null, pr_usrreqs: tp_usrreqs, pr_index: 0 };
}
net_add_domain({ dom_family: TP_FAMILY, dom_name: 'tp', dom_init: null, dom_externalize: null, dom_dispose: null,
  dom_protosw: [tp_protosw(SOCK_STREAM, PR_CONNREQUIRED | PR_WANTRCVD), tp_protosw(SOCK_DGRAM, PR_ATOMIC | PR_ADDR)],
  dom_next: null });

/* ---- kfuncs the tests install: a notify predicate and an accept-filter upcall ---- */

/* Predicate: so_rcv holds at least nm_arg[5] bytes; it logs its verdicts at word nm_arg[6]. */
function test_predicate(msg: Ptr): boolean {
  const so = k32[msg + NM_SO];
  const ok = k32[so + SO.so_rcv + SSB.ssb_cc] >= k32[msg + MSG.ms_arg + 6];
  if (ok) k32[msg + MSG.ms_error] = 1000 + k32[msg + MSG.ms_arg + 7];   // the reply carries its tag
  return ok;
}
/* Upcall: count the calls in the word the arg names. */
function test_upcall(_so: Ptr, arg: number, _waitf: number): void { k32[arg]++; }
kfunc_register('test_predicate', test_predicate as (...a: number[]) => unknown);
kfunc_register('test_upcall', test_upcall as (...a: number[]) => unknown);

/* ---- helpers ---- */

const bgl = (): boolean => so_dispatch_model() === SO_DISPATCH_BGL;

/* A process for the calling thread, with scratch words; the BGL in the bgl model. */
interface Ctx { p: Ptr; w: Ptr; uio: Uio }
function* begin(uid: number): Blocking<Ctx> {
  const p = proc_create(uid, uid);
  KASSERT(p !== NULL, 'begin: proc_create');
  proc_attach_thread(p, curthread());
  const w = zalloc(Z_KMALLOC16);
  KASSERT(w !== NULL, 'begin: kmalloc16');
  if (bgl()) yield* get_mplock();
  return { p, w, uio: new Uio() };
}
function* end(c: Ctx): Blocking<void> {
  if (bgl()) rel_mplock();
  zfree(Z_KMALLOC16, c.w);
  proc_detach_thread(c.p, curthread());
  yield* proc_exit(c.p);
}

function* mk(c: Ctx, type: number): Blocking<Ptr> {
  const e = yield* socreate(TP_FAMILY, c.w, type, 0, curthread());
  KASSERT(e === 0, 'mk: socreate');
  return k32[c.w];
}

function* pair(c: Ctx, type: number): Blocking<[Ptr, Ptr]> {
  const a = yield* mk(c, type), b = yield* mk(c, type);
  const e = yield* soconnect2(a, b);
  KASSERT(e === 0, 'pair: soconnect2');
  if (type === SOCK_DGRAM) tp_link(b, a);
  return [a, b];
}

function numopensockets(): number { return Atomics.load(k32, ipc_globals() + IPC.ipc_numopensockets); }

/* Wait until the asynchronous aborts (netisr model) have freed the sockets down to n. */
function* settle(n: number): Blocking<void> {
  const chan = ipc_globals() + IPC.ipc_numopensockets;    // nobody wakes it: a timed poll
  for (let i = 0; i < 10000 && numopensockets() !== n; i++) yield* tsleep(chan, 0, 'settle', 1);
  yield* tsleep(chan, 0, 'settle', 2);
}

function fill(buf: Uint8Array, seed: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = (seed + i * 7) & 0xff;
  return buf;
}

function* send(c: Ctx, so: Ptr, buf: Uint8Array, flags: number, addr = NULL): Blocking<[number, number]> {
  uio_init(c.uio, buf, 0, buf.length, UIO_WRITE, curthread());
  const e = yield* sosend(so, addr, c.uio, NULL, NULL, flags, curthread());
  return [e, buf.length - c.uio.resid];
}

/* soreceive into buf: [errno, bytes, flags out]. */
function* recv(c: Ctx, so: Ptr, buf: Uint8Array, flags: number, psa = NULL): Blocking<[number, number, number]> {
  uio_init(c.uio, buf, 0, buf.length, UIO_READ, curthread());
  k32[c.w + 1] = flags;
  const e = yield* soreceive(so, psa, c.uio, NULL, NULL, c.w + 1);
  return [e, buf.length - c.uio.resid, k32[c.w + 1]];
}

/* ---- the threads ---- */

/*
 * socreate's errors and SS_PRIV; sockets and zones back after soclose.
 * Returns [priv(uid), EPROTONOSUPPORT x3, type, state bits, numopen delta...].
 */
export function* lifecycle(uid: number): Blocking<number[]> {
  const c = yield* begin(uid);
  const n0 = numopensockets();
  const out: number[] = [];
  const s = yield* mk(c, SOCK_STREAM);
  const d = yield* mk(c, SOCK_DGRAM);
  out.push((k32[s + SO.so_state] & SS_PRIV) !== 0 ? 1 : 0, (k32[d + SO.so_state] & SS_PRIV) !== 0 ? 1 : 0);
  out.push(k32[s + SO.so_snd + SSB.ssb_hiwat], k32[s + SO.so_rcv + SSB.ssb_lowat], k32[s + SO.so_snd + SSB.ssb_lowat]);
  out.push(yield* socreate(99, c.w, SOCK_STREAM, 0, curthread()));       // unknown domain
  out.push(yield* socreate(TP_FAMILY, c.w, SOCK_RAW, 0, curthread()));   // no such type
  out.push(yield* socreate(TP_FAMILY, c.w, SOCK_STREAM, 6, curthread())); // no such protocol
  out.push(numopensockets() - n0);
  out.push(yield* soclose(s, 0), yield* soclose(d, 0));
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

/*
 * Fill a listener's completed queue with sonewconn(head, SS_ISCONNECTED) until it refuses;
 * returns how many it took for each backlog, then closes (aborting them all).
 */
export function* backlog(backlogs: number[]): Blocking<number[]> {
  const c = yield* begin(1000);
  const n0 = numopensockets();
  const out: number[] = [];
  for (const b of backlogs) {
    const head = yield* mk(c, SOCK_STREAM);
    const e = yield* solisten(head, b, curthread());
    KASSERT(e === 0, 'backlog: solisten');
    let n = 0;
    while (sonewconn(head, SS_ISCONNECTED) !== NULL) n++;
    out.push(n, k32[head + SO.so_qlen], k32[head + SO.so_qlimit]);
    yield* soclose(head, 0);
    yield* settle(n0);
    out.push(numopensockets() - n0);
  }
  // Through the protocol: a connect makes the connection with sonewconn; a full queue refuses.
  const head = yield* mk(c, SOCK_STREAM);
  yield* solisten(head, 0, curthread());
  const addr = (c.w + 4) * 4;
  ku8[addr] = 8; ku8[addr + 1] = TP_FAMILY; k32[c.w + 5] = head;
  const c1 = yield* mk(c, SOCK_STREAM), c2 = yield* mk(c, SOCK_STREAM);
  out.push(yield* soconnect(c1, addr, curthread()), k32[head + SO.so_qlen]);
  out.push(yield* soconnect(c2, addr, curthread()), k32[head + SO.so_qlen]);
  out.push(yield* soconnect(head, addr, curthread()));                       // EOPNOTSUPP: a listener
  out.push(yield* soconnect(c1, addr, curthread()));                         // EISCONN
  const q = TAILQ_FIRST_OF(head + SO.so_comp);
  out.push((k32[q + SO.so_state] & (SS_COMP | SS_NOFDREF | SS_ISCONNECTED)) === (SS_COMP | SS_NOFDREF | SS_ISCONNECTED) ? 1 : 0);
  yield* soclose(c1, 0);
  yield* soclose(c2, 0);
  yield* soclose(head, 0);
  yield* settle(n0);
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

/*
 * The incomplete queue: with backlog 2 it holds at most 3; each further sonewconn(head, 0)
 * evicts the oldest with an abort.  Returns incqlen after each of 5, whether the survivors
 * are the last three in order, and the open-socket count.
 */
export function* incomplete(): Blocking<number[]> {
  const c = yield* begin(1000);
  const n0 = numopensockets();
  const head = yield* mk(c, SOCK_STREAM);
  yield* solisten(head, 2, curthread());
  const out: number[] = [];
  const made: Ptr[] = [];
  for (let i = 0; i < 5; i++) {
    made.push(sonewconn(head, 0));
    out.push(k32[head + SO.so_incqlen]);
  }
  yield* settle(n0 + 4);
  let q = TAILQ_FIRST_OF(head + SO.so_incomp);
  let inorder = 1;
  for (let i = 2; i < 5; i++, q = k32[q + SO.so_list]) if (q !== made[i]) inorder = 0;
  out.push(inorder, q === NULL ? 1 : 0, numopensockets() - n0, (k32[made[4] + SO.so_state] & SS_INCOMP) !== 0 ? 1 : 0);
  // An incomplete connection that completes moves to so_comp.
  soisconnected(made[2]);
  out.push(k32[head + SO.so_incqlen], k32[head + SO.so_qlen], (k32[made[2] + SO.so_state] & SS_COMP) !== 0 ? 1 : 0);
  yield* soclose(head, 0);
  yield* settle(n0);
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

/*
 * soisdisconnected drops unsent data but keeps received data: b has 300 bytes received
 * from a and 100 bytes of its own queued to send; after soisdisconnected(b) the send
 * buffer is empty, the 300 bytes read back, then EOF.
 */
export function* disconnected(): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  const data = fill(new Uint8Array(300), 3);
  out.push(...(yield* send(c, a, data, 0)));
  const m = m_getl(100, MB_DONTWAIT, MT_DATA, M_PKTHDR);
  k32[m + MB.m_len] = 100;
  const snd = b + SO.so_snd;
  spin_lock(snd + SSB.ssb_spin);
  sbappend(snd, m);
  spin_unlock(snd + SSB.ssb_spin);
  out.push(k32[snd + SSB.ssb_cc], k32[b + SO.so_rcv + SSB.ssb_cc]);
  soisdisconnected(b);
  const st = k32[b + SO.so_state];
  out.push(k32[snd + SSB.ssb_cc], k32[snd + SSB.ssb_mbcnt], k32[b + SO.so_rcv + SSB.ssb_cc],
    (st & (SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED)) === (SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED) ? 1 : 0,
    (st & SS_ISCONNECTED) !== 0 ? 1 : 0);
  const buf = new Uint8Array(1000);
  const r = yield* recv(c, b, buf, 0);
  let same = 1;
  for (let i = 0; i < 300; i++) if (buf[i] !== data[i]) same = 0;
  out.push(r[0], r[1], same);
  const r2 = yield* recv(c, b, buf, 0);               // EOF
  out.push(r2[0], r2[1]);
  out.push(yield* soclose(a, 0), yield* soclose(b, 0));
  yield* end(c);
  return out;
}

/* so_error is returned once by sosend and once by soreceive (no data), then cleared. */
export function* soerror(): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  const buf = new Uint8Array(10);
  k32[a + SO.so_error] = ECONNRESET;
  out.push(...(yield* send(c, a, buf, 0)), ...(yield* send(c, a, buf, 0)));
  out.push(...(yield* recv(c, b, buf, 0)));           // the 10 bytes
  k32[b + SO.so_error] = ECONNRESET;
  out.push((yield* recv(c, b, buf, MSG_PEEK))[0]);    // PEEK: returned, not cleared
  out.push((yield* recv(c, b, buf, 0))[0], (yield* recv(c, b, buf, MSG_DONTWAIT))[0]);
  out.push(yield* soclose(a, 0), yield* soclose(b, 0));
  yield* end(c);
  return out;
}

/*
 * Flow control at the buffer limit with MSG_DONTWAIT: 8191 + 1 bytes fit (the peer then
 * holds exactly its 8192), the next byte is EWOULDBLOCK, as is MSG_FNONBLOCKING; after a
 * read the byte goes.  A single 10000-byte non-blocking send moves 8192, then
 * EWOULDBLOCK.  A datagram of hiwat + 1 is EMSGSIZE, of hiwat fits.
 */
export function* limits(): Blocking<number[]> {
  const c = yield* begin(1000);
  const out: number[] = [];
  let [a, b] = yield* pair(c, SOCK_STREAM);
  out.push(...(yield* send(c, a, new Uint8Array(8191), MSG_DONTWAIT)));
  out.push(...(yield* send(c, a, new Uint8Array(1), MSG_DONTWAIT)));
  out.push(k32[b + SO.so_rcv + SSB.ssb_cc]);
  out.push(...(yield* send(c, a, new Uint8Array(1), MSG_DONTWAIT)));
  out.push(...(yield* send(c, a, new Uint8Array(1), MSG_FNONBLOCKING)));
  out.push(k32[b + SO.so_rcv + SSB.ssb_cc]);
  const r = yield* recv(c, b, new Uint8Array(100), 0);
  out.push(r[1], ...(yield* send(c, a, new Uint8Array(1), MSG_DONTWAIT)));
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  [a, b] = yield* pair(c, SOCK_STREAM);
  out.push(...(yield* send(c, a, new Uint8Array(10000), MSG_DONTWAIT)), k32[b + SO.so_rcv + SSB.ssb_cc]);
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  [a, b] = yield* pair(c, SOCK_DGRAM);
  out.push((yield* send(c, a, new Uint8Array(TP_HIWAT + 1), 0))[0]);
  out.push(...(yield* send(c, a, new Uint8Array(TP_HIWAT), 0)));
  // The receiver is now full: the next datagram is refused by the protocol (ENOBUFS).
  out.push((yield* send(c, a, new Uint8Array(1), 0))[0]);
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  yield* end(c);
  return out;
}

/*
 * Datagram records: MSG_TRUNC drops the rest of a record; the next read gets the next
 * record whole, with the sender's address; MSG_PEEK leaves a record queued.  Stream
 * MSG_PEEK and MSG_WAITALL too.
 */
export function* records(): Blocking<number[]> {
  const c = yield* begin(1000);
  const out: number[] = [];
  const [a, b] = yield* pair(c, SOCK_DGRAM);
  const d1 = fill(new Uint8Array(100), 1), d2 = fill(new Uint8Array(200), 2), d3 = fill(new Uint8Array(50), 3);
  for (const d of [d1, d2, d3]) out.push((yield* send(c, a, d, 0))[0]);
  const rcv = b + SO.so_rcv;
  out.push(k32[rcv + SSB.ssb_cc]);                       // 350 + 3 addresses of 8
  const small = new Uint8Array(64);
  let r = yield* recv(c, b, small, 0, c.w + 2);
  out.push(r[0], r[1], (r[2] & MSG_TRUNC) !== 0 ? 1 : 0, small[63] === d1[63] ? 1 : 0);
  out.push(k32[(k32[c.w + 2] >> 2) + 1] === a ? 1 : 0);   // psa: a's address
  free_sa(k32[c.w + 2]);
  const big = new Uint8Array(300);
  r = yield* recv(c, b, big, 0, c.w + 2);
  out.push(r[1], (r[2] & MSG_TRUNC) !== 0 ? 1 : 0, big[199] === d2[199] ? 1 : 0);
  free_sa(k32[c.w + 2]);
  r = yield* recv(c, b, big, MSG_PEEK);
  out.push(r[1], k32[rcv + SSB.ssb_cc]);
  r = yield* recv(c, b, big, 0);
  out.push(r[1], k32[rcv + SSB.ssb_cc], k32[rcv + SSB.ssb_mbcnt]);
  out.push((yield* recv(c, b, big, MSG_DONTWAIT))[0]);
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  // Stream: PEEK then read; MSG_WAITALL of what is there returns at once.
  const [s, t] = yield* pair(c, SOCK_STREAM);
  yield* send(c, s, fill(new Uint8Array(500), 9), 0);
  const pk = new Uint8Array(200);
  r = yield* recv(c, t, pk, MSG_PEEK);
  out.push(r[1], k32[t + SO.so_rcv + SSB.ssb_cc]);
  r = yield* recv(c, t, new Uint8Array(500), MSG_WAITALL);
  out.push(r[1], k32[t + SO.so_rcv + SSB.ssb_cc]);
  yield* soclose(s, 0);
  yield* soclose(t, 0);
  yield* end(c);
  return out;
}

function free_sa(sa: number): void { free_sockaddr(sa); }

/*
 * Cross-CPU stream: the reader (this thread) makes the pair, publishes the writer's end in
 * w[0] and blocks in soreceive on an empty buffer; the writer (stream_writer, another CPU)
 * waits for the reader's SSB_WAIT (the reader asleep in ssb_wait on the empty buffer),
 * then writes total bytes in chunks, blocking whenever the reader falls a buffer behind.
 * The reader returns [bytes read, bytes that matched the pattern, 1 if its buffer was
 * empty when it first read]; the writer [bytes sent, shutdown's errno, 1 if it saw the
 * reader asleep before writing].
 */
export function* stream_reader(w: Ptr, total: number): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  Atomics.store(k32, w, a);
  wakeup(w);
  const buf = new Uint8Array(3000);
  let got = 0, match = 0;
  const sawwait = (Atomics.load(k32, b + SO.so_rcv + SSB.ssb_cc) === 0) ? 1 : 0;
  while (got < total) {
    const r = yield* recv(c, b, buf, 0);
    KASSERT(r[0] === 0 && r[1] > 0, 'stream_reader: read failed');
    for (let i = 0; i < r[1]; i++) if (buf[i] === ((got + i) * 13 & 0xff)) match++;
    got += r[1];
  }
  // The writer closes its end after writing: then EOF.
  while ((yield* recv(c, b, buf, 0))[1] !== 0);
  Atomics.store(k32, w + 1, 1);
  wakeup(w + 1);
  while (Atomics.load(k32, w + 2) === 0) yield* tsleep(w + 2, 0, 'wdone', 1);
  yield* soclose(b, 0);
  yield* end(c);
  return [got, match, sawwait];
}

export function* stream_writer(w: Ptr, total: number, chunk: number): Blocking<number[]> {
  const c = yield* begin(1000);
  let a: Ptr;
  while ((a = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'wait a', 1);
  const peer = peer_of(a);
  // Let the reader reach its sleep on the empty buffer first.
  let waits = 0;
  while ((Atomics.load(k32, peer + SO.so_rcv + SSB.ssb_flags) & SSB_WAIT) === 0 && waits++ < 100000) {
    yield* tsleep(w, 0, 'rdwait', 1);
  }
  const buf = new Uint8Array(chunk);
  let sent = 0;
  while (sent < total) {
    const n = Math.min(chunk, total - sent);
    for (let i = 0; i < n; i++) buf[i] = (sent + i) * 13 & 0xff;
    uio_init(c.uio, buf, 0, n, UIO_WRITE, curthread());
    const e = yield* sosend(a, NULL, c.uio, NULL, NULL, 0, curthread());
    KASSERT(e === 0, 'stream_writer: sosend failed');
    sent += n;
  }
  const e = yield* soshutdown(a, SHUT_WR);
  while (Atomics.load(k32, w + 1) === 0) yield* tsleep(w + 1, 0, 'rdone', 1);
  yield* soclose(a, 0);
  Atomics.store(k32, w + 2, 1);
  yield* end(c);
  return [sent, e, waits < 100000 ? 1 : 0];
}

/*
 * sowakeup's notify messages, first part: a message whose predicate holds at once is
 * replied inside the send (no MEVENT left).  Also: an upcall runs only with SSB_UPCALL;
 * sowakeup clears SSB_SEL.  (Waiting messages: notify_driver and notify_waiter.)
 */
export function* notify(): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  const pred = kfunc_id('test_predicate');
  const port = lwkt_thread_port(curthread());
  // Already true (0 bytes needed): replied inside the send.
  const m0 = lwkt_msg_alloc(port, 0);
  k32[m0 + MSG.ms_arg + 6] = 0; k32[m0 + MSG.ms_arg + 7] = 0;
  out.push(yield* so_pru_notify(m0, b, pred, 0, NM_REVENT));
  lwkt_msg_free(m0);
  out.push(Atomics.load(k32, b + SO.so_rcv + SSB.ssb_flags) & SSB_MEVENT);
  // Upcall only with SSB_UPCALL; SSB_SEL cleared.
  k32[b + SO.so_upcall] = kfunc_id('test_upcall');
  k32[b + SO.so_upcallarg] = c.w + 8;
  k32[c.w + 8] = 0;
  Atomics.or(k32, b + SO.so_rcv + SSB.ssb_flags, SSB_SEL);
  sorwakeup(b);
  out.push(k32[c.w + 8], Atomics.load(k32, b + SO.so_rcv + SSB.ssb_flags) & SSB_SEL);
  Atomics.or(k32, b + SO.so_rcv + SSB.ssb_flags, SSB_UPCALL);
  sorwakeup(b);
  sorwakeup(b);
  out.push(k32[c.w + 8]);
  Atomics.and(k32, b + SO.so_rcv + SSB.ssb_flags, ~SSB_UPCALL);
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  yield* end(c);
  return out;
}

/*
 * A notify waiter: so_pru_notify on socket w[0] for at least `need` bytes, tag `tag`;
 * appends its tag to the log at w[1] (log[0] is the count) when replied.  Returns the
 * reply's error (1000 + tag).
 */
export function* notify_waiter(w: Ptr, need: number, tag: number): Blocking<number> {
  const c = yield* begin(1000);
  let so: Ptr;
  while ((so = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'nw', 1);
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  k32[msg + MSG.ms_arg + 6] = need; k32[msg + MSG.ms_arg + 7] = tag;
  Atomics.add(k32, w + 2, 1);                       // queued (about to be)
  const e = yield* so_pru_notify(msg, so, kfunc_id('test_predicate'), 0, NM_REVENT);
  lwkt_msg_free(msg);
  const n = Atomics.add(k32, w + 3, 1);
  k32[w + 4 + n] = tag;
  yield* end(c);
  return e;
}

/*
 * The notify driver: make a pair, publish the receiving socket in w[0], wait until both
 * waiters are queued (SSB_MEVENT, two messages), then send 15 bytes (wakes tag 1 only),
 * then 10 more (wakes tag 2).  Returns the MEVENT flag and the order seen at each step.
 */
export function* notify_driver(w: Ptr): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  Atomics.store(k32, w, b);
  const mlist = b + SO.so_rcv + SSB.ssb_sel + SEL.si_mlist;
  for (let i = 0; i < 100000; i++) {
    let n = 0;
    for (let m = k32[mlist]; m !== NULL; m = k32[m + MSG.ms_arg + 4]) n++;
    if (n === 2) break;
    yield* tsleep(w, 0, 'nq', 1);
  }
  out.push(Atomics.load(k32, b + SO.so_rcv + SSB.ssb_flags) & SSB_MEVENT);
  yield* send(c, a, new Uint8Array(15), 0);
  for (let i = 0; i < 100000 && Atomics.load(k32, w + 3) < 1; i++) yield* tsleep(w, 0, 'n1', 1);
  yield* tsleep(w, 0, 'n1b', 3);
  out.push(Atomics.load(k32, w + 3), k32[w + 4], Atomics.load(k32, b + SO.so_rcv + SSB.ssb_flags) & SSB_MEVENT);
  yield* send(c, a, new Uint8Array(10), 0);
  for (let i = 0; i < 100000 && Atomics.load(k32, w + 3) < 2; i++) yield* tsleep(w, 0, 'n2', 1);
  out.push(Atomics.load(k32, w + 3), k32[w + 5], Atomics.load(k32, b + SO.so_rcv + SSB.ssb_flags) & SSB_MEVENT);
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  yield* end(c);
  return out;
}

/*
 * SIGIO: an SS_ASYNC socket whose owner is a process (so_sigio > 0) or a process group
 * (< 0) signals it on sorwakeup: the owner's thread, asleep with PCATCH, gets EINTR.
 * sigio_sleeper publishes its pid in w[0] and sleeps; sigio_sender does the rest.
 */
export function* sigio_sleeper(w: Ptr): Blocking<number> {
  const c = yield* begin(1000);
  kern_sigaction(c.p, SIGIO, SIG_CATCH, 0);
  lwkt_sigintr(curthread(), SIGIO, true);
  Atomics.store(k32, w, k32[c.p + PROC.p_pid]);
  wakeup(w);
  const e = yield* tsleep(w + 1, PCATCH, 'sigio', 1000);
  lwkt_sigtake(curthread(), SIGIO);
  yield* end(c);
  return e;
}

export function* sigio_sender(w: Ptr, group: number): Blocking<number> {
  const c = yield* begin(1000);
  let pid: number;
  while ((pid = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'pid', 1);
  yield* tsleep(w, 0, 'settle', 3);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  k32[b + SO.so_sigio] = group !== 0 ? -pid : pid;   // the sleeper is its own group's leader
  Atomics.or(k32, b + SO.so_state, SS_ASYNC);
  Atomics.or(k32, b + SO.so_rcv + SSB.ssb_flags, 0x10 /* SSB_ASYNC */);
  yield* send(c, a, new Uint8Array(5), 0);
  k32[b + SO.so_sigio] = 0;
  yield* soclose(a, 0);
  yield* soclose(b, 0);
  yield* end(c);
  return 0;
}

/*
 * soisconnected's accept-filter branch: a connection made on a listener with
 * SO_ACCEPTFILTER stays on so_incomp; soisconnected installs the head's filter as its
 * upcall (SSB_UPCALL), clears SO_ACCEPTFILTER and calls it once.
 */
export function* accept_filter(): Blocking<number[]> {
  const c = yield* begin(1000);
  const n0 = numopensockets();
  const head = yield* mk(c, SOCK_STREAM);
  yield* solisten(head, 5, curthread());
  const af = zalloc(Z_KMALLOC16);
  k32[af] = kfunc_id('test_upcall');
  k32[af + 1] = c.w + 8;
  k32[c.w + 8] = 0;
  k32[head + SO.so_accf] = af;
  k32[head + SO.so_options] |= SO_ACCEPTFILTER;
  const so = sonewconn(head, SS_ISCONNECTED);          // forced to so_incomp
  const out: number[] = [k32[head + SO.so_incqlen], k32[head + SO.so_qlen], (k32[so + SO.so_options] & SO_ACCEPTFILTER) !== 0 ? 1 : 0];
  soisconnected(so);
  out.push(k32[c.w + 8], (k32[so + SO.so_options] & SO_ACCEPTFILTER) !== 0 ? 1 : 0,
    (Atomics.load(k32, so + SO.so_rcv + SSB.ssb_flags) & SSB_UPCALL) !== 0 ? 1 : 0,
    k32[so + SO.so_upcallarg] === c.w + 8 ? 1 : 0, k32[head + SO.so_incqlen], k32[head + SO.so_qlen],
    (k32[so + SO.so_state] & SS_ISCONNECTED) !== 0 ? 1 : 0);
  sorwakeup(so);                                         // data arrival: the filter runs again
  out.push(k32[c.w + 8]);
  yield* soclose(head, 0);                               // frees the filter state too
  yield* settle(n0);
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

/* sosetopt / sogetopt. */
export function* options(): Blocking<number[]> {
  const c = yield* begin(1000);
  const so = yield* mk(c, SOCK_STREAM);
  const sopt = zalloc(Z_KMALLOC16);
  const val = c.w + 8;                                   // 2 value words
  const out: number[] = [];
  const set = function* (level: number, name: number, v0: number, v1: number, size: number): Blocking<number> {
    k32[sopt + SOPT.sopt_level] = level; k32[sopt + SOPT.sopt_name] = name;
    k32[sopt + SOPT.sopt_val] = val * 4; k32[sopt + SOPT.sopt_valsize] = size; k32[sopt + SOPT.sopt_td] = curthread();
    k32[val] = v0; k32[val + 1] = v1;
    return yield* sosetopt(so, sopt);
  };
  const get = function* (level: number, name: number, size: number): Blocking<number[]> {
    k32[sopt + SOPT.sopt_level] = level; k32[sopt + SOPT.sopt_name] = name;
    k32[sopt + SOPT.sopt_val] = val * 4; k32[sopt + SOPT.sopt_valsize] = size; k32[sopt + SOPT.sopt_td] = curthread();
    k32[val] = -1; k32[val + 1] = -1;
    const e = yield* sogetopt(so, sopt);
    return [e, k32[sopt + SOPT.sopt_valsize], k32[val], k32[val + 1]];
  };
  out.push(yield* set(SOL_SOCKET, SO_SNDBUF, 0, 0, 4));           // EINVAL
  out.push(yield* set(SOL_SOCKET, SO_RCVBUF, 20000, 0, 4), ...(yield* get(SOL_SOCKET, SO_RCVBUF, 4)));
  out.push(yield* set(SOL_SOCKET, SO_RCVBUF, 20000, 0, 2));       // EINVAL: too short
  out.push(yield* set(SOL_SOCKET, SO_RCVLOWAT, 50000, 0, 4), k32[so + SO.so_rcv + SSB.ssb_lowat]);   // clamped to hiwat
  out.push(yield* set(SOL_SOCKET, SO_RCVTIMEO, 1, 500000, 8), k32[so + SO.so_rcv + SSB.ssb_timeo]);  // 150 ticks
  out.push(...(yield* get(SOL_SOCKET, SO_RCVTIMEO, 8)));
  out.push(yield* set(SOL_SOCKET, SO_SNDTIMEO, 0, 1000, 8), k32[so + SO.so_snd + SSB.ssb_timeo]);     // rounds up to 1
  out.push(yield* set(SOL_SOCKET, SO_SNDTIMEO, 328, 0, 8), yield* set(SOL_SOCKET, SO_SNDTIMEO, 0, 1000000, 8)); // EDOM x2
  out.push(yield* set(SOL_SOCKET, SO_LINGER, 1, 7, 8), ...(yield* get(SOL_SOCKET, SO_LINGER, 8)));
  out.push(...(yield* get(SOL_SOCKET, SO_TYPE, 4)));
  k32[so + SO.so_error] = ECONNRESET;
  out.push(...(yield* get(SOL_SOCKET, SO_ERROR, 4)), k32[so + SO.so_error]);
  out.push(yield* set(SOL_SOCKET, SO_REUSEADDR, 5, 0, 4), (yield* get(SOL_SOCKET, SO_REUSEADDR, 4))[2]);
  out.push(yield* set(SOL_SOCKET, SO_REUSEADDR, 0, 0, 4), (yield* get(SOL_SOCKET, SO_REUSEADDR, 4))[2]);
  out.push(yield* set(SOL_SOCKET, SO_NOSIGPIPE, 1, 0, 4), (yield* get(SOL_SOCKET, SO_NOSIGPIPE, 4))[2]);
  out.push((yield* get(SOL_SOCKET, SO_ACCEPTCONN, 4))[2]);
  yield* solisten(so, 3, curthread());
  out.push((yield* get(SOL_SOCKET, SO_ACCEPTCONN, 4))[2]);
  out.push(yield* set(SOL_SOCKET, 0x7777, 1, 0, 4), (yield* get(SOL_SOCKET, 0x7777, 4))[0]);  // ENOPROTOOPT
  out.push(yield* set(6, 1, 1, 0, 4), (yield* get(6, 1, 4))[0]);                              // no ctloutput
  out.push(yield* set(SOL_SOCKET, SO_ACCEPTFILTER, 0, 0, 4));                                 // EINVAL: shorter than struct accept_filter_arg
  zfree(Z_KMALLOC16, sopt);
  yield* soclose(so, 0);
  yield* end(c);
  return out;
}

/* soshutdown: EINVAL; SHUT_RD empties so_rcv; SHUT_WR gives the peer EOF and us EPIPE. */
export function* shutdown(): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  out.push(yield* soshutdown(a, 3));
  yield* send(c, a, new Uint8Array(100), 0);
  out.push(k32[b + SO.so_rcv + SSB.ssb_cc]);
  out.push(yield* soshutdown(b, SHUT_RD));
  out.push(k32[b + SO.so_rcv + SSB.ssb_cc], k32[b + SO.so_rcv + SSB.ssb_hiwat], k32[b + SO.so_rcv + SSB.ssb_mbcnt],
    (k32[b + SO.so_state] & SS_CANTRCVMORE) !== 0 ? 1 : 0);
  out.push(...(yield* recv(c, b, new Uint8Array(10), 0)));   // EOF
  out.push(yield* soshutdown(a, SHUT_WR));
  out.push((yield* send(c, a, new Uint8Array(1), 0))[0]);    // EPIPE
  out.push(yield* sodisconnect(a), yield* sodisconnect(a));  // 0, then ENOTCONN
  out.push(yield* soclose(a, 0), yield* soclose(b, 0));
  yield* end(c);
  return out;
}

/* mpsafe (and any model): one thread, a round trip through a stream pair. */
export function* smoke(): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [];
  out.push(...(yield* send(c, a, fill(new Uint8Array(5000), 5), 0)));
  const buf = new Uint8Array(5000);
  const r = yield* recv(c, b, buf, MSG_WAITALL);
  out.push(r[0], r[1]);
  out.push(yield* soclose(a, 0), yield* soclose(b, 0));
  yield* end(c);
  return out;
}

/*
 * Odds and ends: sosend's EINVAL (MSG_EOR on a stream), ENOTCONN and EDESTADDRREQ;
 * soreceive's ENOTCONN on a never-connected stream and EOPNOTSUPP for MSG_OOB; a
 * synchronous soabort (the protocol detaches and reports ECONNABORTED; soclose then frees).
 */
export function* misc(): Blocking<number[]> {
  const c = yield* begin(1000);
  const n0 = numopensockets();
  const out: number[] = [];
  const s = yield* mk(c, SOCK_STREAM), d = yield* mk(c, SOCK_DGRAM);
  out.push((yield* send(c, s, new Uint8Array(4), 0x8 /* MSG_EOR */))[0]);
  out.push((yield* send(c, s, new Uint8Array(4), 0))[0], (yield* send(c, d, new Uint8Array(4), 0))[0]);
  out.push((yield* recv(c, s, new Uint8Array(4), MSG_DONTWAIT))[0], (yield* recv(c, s, new Uint8Array(4), 0x1 /* MSG_OOB */))[0]);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  yield* soabort(a);
  out.push(k32[a + SO.so_pcb] === NULL ? 1 : 0, k32[a + SO.so_error], (k32[a + SO.so_state] & 0x0100) !== 0 ? 1 : 0,
    (k32[b + SO.so_state] & SS_ISDISCONNECTED) !== 0 ? 1 : 0);
  for (const so of [s, d, a, b]) out.push(yield* soclose(so, 0));
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}
