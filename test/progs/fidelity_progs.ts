/*
 * Programs for test/fidelity.test.ts: _ssb_lock re-reads SSB_NOINTR on every pass;
 * ssb_reserve's i386 u_long arithmetic and kern.ipc.maxsockbuf's range; dup_sockaddr
 * failing in unp_connect and soreceive (ENOBUFS, nothing half done).
 */
import {
  k32, curthread, kernel_sysctl, ssb_lock, ssb_unlock, tsleep, wakeup, lwkt_signal, lwkt_sigintr, lwkt_sigtake,
  SSB, SSB_NOINTR, M_WAITOK, SO, zalloc, zfree, Z_KMALLOC16, type Blocking,
} from '../../src/kernel.js';
import { ssb_reserve, ssb_release, UCRED, RLIM_INFINITY, crget, crfree, uifind } from '../../src/kernel.js';
import { Sys, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM } from '../../src/libc/index.js';
import { attempt, await_word } from './common.js';

const SIGUSR1 = 30;

/*
 * The holder takes the lock; the waiter (SSB_NOINTR set) sleeps for it without PCATCH and
 * gets a signal, which does not wake it.  The holder then clears SSB_NOINTR and wakes the
 * lock's sleepers without unlocking: the waiter finds the lock still held and sleeps again,
 * now with PCATCH (the flag re-read), and the pending signal ends that sleep: EINTR.
 * Words: w[0] the waiter's td once it is about to lock; w[1] the waiter's result + 1;
 * w[2] the holder has the lock.
 */
export function* noint_holder(ssb: number, w: number): Blocking<number[]> {
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_NOINTR);
  const e1 = yield* ssb_lock(ssb, M_WAITOK);
  Atomics.store(k32, w + 2, 1);
  wakeup(w + 2);
  const td = yield* await_word(w);
  // Let the waiter reach its sleep (SSB_WANT set), then signal it: a non-PCATCH sleep stays.
  while ((Atomics.load(k32, ssb + SSB.ssb_flags) & 0x2) === 0) yield* tsleep(ssb, 0, 'want', 1);
  yield* tsleep(ssb, 0, 'settle', 2);
  lwkt_signal(td, SIGUSR1);
  yield* tsleep(ssb, 0, 'settle', 3);
  const stillWaiting = Atomics.load(k32, w + 1) === 0 ? 1 : 0;
  Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_NOINTR);
  wakeup(ssb + SSB.ssb_flags);                    // a spurious wakeup: the lock is still held
  const r = yield* await_word(w + 1);
  ssb_unlock(ssb);
  return [e1, stillWaiting, r - 1];
}

export function* noint_waiter(ssb: number, w: number): Blocking<number> {
  lwkt_sigintr(curthread(), SIGUSR1, true);
  yield* await_word(w + 2);                       // the holder has the lock
  Atomics.store(k32, w, curthread());
  wakeup(w);
  const e = yield* ssb_lock(ssb, M_WAITOK);
  if (e === 0) ssb_unlock(ssb);
  lwkt_sigtake(curthread(), SIGUSR1);
  Atomics.store(k32, w + 1, e + 1);
  wakeup(w + 1);
  return e;
}

/* ssb_reserve with maxsockbuf 2^31-1: the u_long product wraps; waste factors -1 and 0. */
export function* reserve_ulong(so: number): Blocking<number[]> {
  const cr = crget();
  k32[cr + UCRED.cr_uid] = 1000;
  k32[cr + UCRED.cr_uidinfo] = uifind(1000);
  k32[so + SO.so_cred] = cr;
  const snd = so + SO.so_snd;
  const out: number[] = [];
  const old = kernel_sysctl('kern.ipc.maxsockbuf', 2147483647, 0);
  out.push(old.error, kernel_sysctl('kern.ipc.maxsockbuf', undefined, 0).old);
  out.push(ssb_reserve(snd, 600000000, so, RLIM_INFINITY), k32[snd + SSB.ssb_hiwat], k32[snd + SSB.ssb_mbmax]);
  const w0 = kernel_sysctl('kern.ipc.sockbuf_waste_factor', -1, 0);
  out.push(w0.error, ssb_reserve(snd, 100000, so, RLIM_INFINITY), k32[snd + SSB.ssb_mbmax]);
  kernel_sysctl('kern.ipc.sockbuf_waste_factor', 0, 0);
  out.push(ssb_reserve(snd, 100000, so, RLIM_INFINITY), k32[snd + SSB.ssb_mbmax]);
  kernel_sysctl('kern.ipc.sockbuf_waste_factor', w0.old, 0);
  // A negative maxsockbuf (DragonFly 2008: a u_long above 2^31) is refused; the value stays.
  out.push(kernel_sysctl('kern.ipc.maxsockbuf', -1, 0).error, kernel_sysctl('kern.ipc.maxsockbuf', undefined, 0).old);
  kernel_sysctl('kern.ipc.maxsockbuf', old.old, 0);
  ssb_release(snd, so);
  crfree(cr);
  k32[so + SO.so_cred] = 0;
  return out;
}

/* Take every free kmalloc16 item; give them back with release(). */
function exhaust(): number[] {
  const got: number[] = [];
  for (let p = zalloc(Z_KMALLOC16); p !== 0; p = zalloc(Z_KMALLOC16)) got.push(p);
  return got;
}
function release(got: number[]): void { for (const p of got) zfree(Z_KMALLOC16, p); }

/* dup_sockaddr failing: unp_connect's copy of the listener's name, soreceive's sender name. */
export function* dup_enobufs(sys: Sys, dir: string): Blocking<unknown> {
  yield* sys.mkdir(dir, 0o777);
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, `${dir}/l`);
  yield* sys.listen(l, 5);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  let held = exhaust();
  const connect1 = yield* attempt(sys.connect(c, `${dir}/l`));
  release(held);
  const connect2 = yield* attempt(sys.connect(c, `${dir}/l`));
  const a = yield* sys.accept(l);
  const name = yield* sys.getsockname(a);
  const d1 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM), d2 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(d1, `${dir}/d1`);
  yield* sys.bind(d2, `${dir}/d2`);
  yield* sys.sendto(d1, new Uint8Array([7, 8]), 0, `${dir}/d2`);
  const buf = new Uint8Array(4);
  held = exhaust();
  let recv1: unknown;
  try {
    recv1 = yield* sys.recvfrom(d2, buf);
  } catch (e) {
    recv1 = (e as { code?: string }).code ?? String(e);
  }
  release(held);
  const recv2 = yield* sys.recvfrom(d2, buf);
  for (const fd of [l, c, a, d1, d2]) yield* sys.close(fd);
  for (const f of ['l', 'd1', 'd2']) yield* sys.unlink(`${dir}/${f}`);
  yield* sys.rmdir(dir);
  return { connect1, connect2, name, recv1, recv2: [recv2[0], recv2[1], buf[0], buf[1]] };
}
