/* Kernel threads for the uipc_socket2 tests: sysctls and the signalsockbuf procedures. */
import {
  k32, curthread, kernel_sysctl, sb_max, sb_max_adj, ssb_lock, ssb_unlock, ssb_wait, tsleep, wakeup,
  lwkt_signal, lwkt_sigintr, lwkt_sigtake, SSB, SSB_LOCK, SSB_WANT, SSB_NOINTR, M_WAITOK, M_NOWAIT,
  ku8, SO, XSOCKBUF, dup_sockaddr, free_sockaddr, pru_accept_notsupp, pru_connect_notsupp, pru_connect2_notsupp,
  pru_control_notsupp, pru_listen_notsupp, pru_rcvd_notsupp, pru_rcvoob_notsupp, pru_sense_null, ssbtoxsockbuf,
  type Blocking,
} from '../../src/kernel.js';
import { STAT } from '../../src/sys/stat.js';
import { soreserve, ssb_reserve, ssb_release, sotoxsocket, XSOCKET, UCRED, RLIM_INFINITY, crget, crfree, uifind,
  ui_sbsize, net_add_domain, pffindtype, SOCK_STREAM, type Protosw, type Domain, type PrUsrreqs } from '../../src/kernel.js';
import { await_word } from './common.js';

/* sotoxsocket needs so_proto: a one-protocol test domain (family 77), registered once per isolate. */
const testproto: Protosw = { pr_type: SOCK_STREAM, pr_domain: null as unknown as Domain, pr_protocol: 0, pr_flags: 0,
  pr_ctloutput: null, pr_mport: null, pr_usrreqs: {} as PrUsrreqs, pr_index: 0 };
function so_setproto_for_test(so: number): void {
  if (pffindtype(77, SOCK_STREAM) === null) {
    net_add_domain({ dom_family: 77, dom_name: 'test', dom_init: null, dom_externalize: null, dom_dispose: null,
      dom_protosw: [testproto], dom_next: null });
  }
  k32[so + SO.so_proto] = testproto.pr_index;
}

const SIGUSR1 = 30;


/* Read, set and re-read kern.ipc.maxsockbuf; returns every figure the test checks. */
export function* maxsockbuf(): Blocking<number[]> {
  const r0 = kernel_sysctl('kern.ipc.maxsockbuf', undefined, 0);
  const adj0 = sb_max_adj();
  const bad = kernel_sysctl('kern.ipc.maxsockbuf', 256 + 2048 - 1, 0);
  const afterBad = sb_max();
  const ok = kernel_sysctl('kern.ipc.maxsockbuf', 524288, 0);
  const adj1 = sb_max_adj();
  const edge = kernel_sysctl('kern.ipc.maxsockbuf', 256 + 2048, 0);
  const adj2 = sb_max_adj();
  const notRoot = kernel_sysctl('kern.ipc.maxsockbuf', 1 << 20, 1000);
  const ro = kernel_sysctl('kern.ipc.numopensockets', 5, 0);
  const unknown = kernel_sysctl('kern.ipc.nonesuch', undefined, 0);
  return [r0.error, r0.old, adj0, bad.error, afterBad, ok.error, ok.old, adj1, edge.error, adj2,
    notRoot.error, ro.error, unknown.error];
}

/*
 * ssb_lock: take it, try again with M_NOWAIT (EWOULDBLOCK), let a waiter on another CPU
 * queue behind us with M_WAITOK (SSB_WANT set), then unlock: the waiter gets it.
 * Words: w[0] holder has it, w[1] waiter done.
 */
export function* ssb_holder(ssb: number, w: number): Blocking<number[]> {
  const e1 = yield* ssb_lock(ssb, M_WAITOK);
  const e2 = yield* ssb_lock(ssb, M_NOWAIT);
  Atomics.store(k32, w, 1);
  wakeup(w);
  while ((Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_WANT) === 0) yield* tsleep(ssb, 0, 'want', 1);
  const flagsHeld = Atomics.load(k32, ssb + SSB.ssb_flags) & (SSB_LOCK | SSB_WANT);
  ssb_unlock(ssb);
  yield* await_word(w + 1);
  return [e1, e2, flagsHeld];
}

export function* ssb_waiter(ssb: number, w: number): Blocking<number[]> {
  yield* await_word(w);
  const e = yield* ssb_lock(ssb, M_WAITOK);
  const held = (Atomics.load(k32, ssb + SSB.ssb_flags) & SSB_LOCK) !== 0 ? 1 : 0;
  ssb_unlock(ssb);
  Atomics.store(k32, w + 1, 1);
  wakeup(w + 1);
  return [e, held, Atomics.load(k32, ssb + SSB.ssb_flags)];
}

/* ssb_wait: a timeout (ssb_timeo ticks) gives EWOULDBLOCK; a signal EINTR unless NOINTR. */
export function* ssb_waits(ssb: number, w: number): Blocking<number[]> {
  k32[ssb + SSB.ssb_timeo] = 2;
  const e1 = yield* ssb_wait(ssb);
  k32[ssb + SSB.ssb_timeo] = 0;
  lwkt_sigintr(curthread(), SIGUSR1, true);
  Atomics.store(k32, w, curthread());
  wakeup(w);
  const e2 = yield* ssb_wait(ssb);           // the signaller interrupts this one
  lwkt_sigtake(curthread(), SIGUSR1);
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_NOINTR);
  k32[ssb + SSB.ssb_timeo] = 3;
  lwkt_signal(curthread(), SIGUSR1);         // pending, but NOINTR: the sleep runs to its timeout
  const e3 = yield* ssb_wait(ssb);
  lwkt_sigtake(curthread(), SIGUSR1);
  return [e1, e2, e3];
}

export function* signaller(w: number): Blocking<number> {
  const td = yield* await_word(w);
  lwkt_signal(td, SIGUSR1);
  return 0;
}

/* dup_sockaddr, the notsupp defaults, pru_sense_null and ssbtoxsockbuf. */
export function* socket2_misc(so: number, sb: number, xsb: number, sa: number): Blocking<number[]> {
  const out: number[] = [];
  // A 20-byte sockaddr (sa_len 20, family 1, then a path) copied and freed.
  ku8[sa * 4] = 20; ku8[sa * 4 + 1] = 1;
  for (let i = 2; i < 20; i++) ku8[sa * 4 + i] = 0x40 + i;
  const copy = dup_sockaddr(sa * 4);
  let same = 1;
  for (let i = 0; i < 20; i++) if (ku8[copy + i] !== ku8[sa * 4 + i]) same = 0;
  out.push(same, copy !== sa * 4 ? 1 : 0);
  free_sockaddr(copy);
  out.push(pru_accept_notsupp(so, 0), pru_connect_notsupp(so, 0, 0), pru_connect2_notsupp(so, so),
    pru_control_notsupp(so, 0, 0, 0, 0), pru_listen_notsupp(so, 0), pru_rcvd_notsupp(so, 0), pru_rcvoob_notsupp(so, 0, 0));
  k32[so + SO.so_snd + SSB.ssb_hiwat] = 8192;
  out.push(pru_sense_null(so, sb), k32[sb + STAT.st_blksize]);
  const r = so + SO.so_rcv;
  k32[r + SSB.ssb_cc] = 10; k32[r + SSB.ssb_hiwat] = 4096; k32[r + SSB.ssb_mbcnt] = 256; k32[r + SSB.ssb_mbmax] = 32768;
  k32[r + SSB.ssb_lowat] = 1; k32[r + SSB.ssb_flags] = 0x44; k32[r + SSB.ssb_timeo] = 7;
  ssbtoxsockbuf(r, xsb);
  for (let i = 0; i < XSOCKBUF.SIZE - 1; i++) out.push(k32[xsb + i]);
  return out;
}

/*
 * soreserve/ssb_reserve/ssb_release on a bare socket whose cred is uid 1000.
 * Returns the figures the test checks, then undoes everything (zones back to start).
 */
export function* reserve(so: number, xso: number): Blocking<number[]> {
  const cr = crget();
  k32[cr + UCRED.cr_uid] = 1000;
  k32[cr + UCRED.cr_uidinfo] = uifind(1000);
  k32[so + SO.so_cred] = cr;
  const uip = k32[cr + UCRED.cr_uidinfo];
  const out: number[] = [];
  const snd = so + SO.so_snd, rcv = so + SO.so_rcv;
  // The AF_LOCAL stream defaults: 8192 each way.
  out.push(soreserve(so, 8192, 8192, RLIM_INFINITY));
  out.push(k32[snd + SSB.ssb_hiwat], k32[snd + SSB.ssb_mbmax], k32[snd + SSB.ssb_lowat],
    k32[rcv + SSB.ssb_hiwat], k32[rcv + SSB.ssb_mbmax], k32[rcv + SSB.ssb_lowat], ui_sbsize(uip));
  // Far above sb_max_adj: clamped to 233016; mbmax min(233016 * 8, 262144).
  out.push(ssb_reserve(rcv, 1 << 20, so, RLIM_INFINITY), k32[rcv + SSB.ssb_hiwat], k32[rcv + SSB.ssb_mbmax], ui_sbsize(uip));
  // A small send buffer pulls the send low-water down with it.
  out.push(ssb_reserve(snd, 1000, so, RLIM_INFINITY), k32[snd + SSB.ssb_hiwat], k32[snd + SSB.ssb_lowat], k32[snd + SSB.ssb_mbmax]);
  // SEED's chgsbsize scales a growth past the rlimit but never refuses.
  out.push(ssb_reserve(snd, 100000, so, 50000), k32[snd + SSB.ssb_hiwat]);
  so_setproto_for_test(so);
  sotoxsocket(so, xso);
  out.push(k32[xso + XSOCKET.so_uid], k32[xso + XSOCKET.so_rcv + XSOCKBUF.sb_hiwat], k32[xso + XSOCKET.xso_len]);
  ssb_release(snd, so);
  ssb_release(rcv, so);
  out.push(k32[snd + SSB.ssb_hiwat], k32[rcv + SSB.ssb_mbmax], ui_sbsize(uip));
  crfree(cr);
  k32[so + SO.so_cred] = 0;
  return out;
}
