/*
 * Programs for test/kern_fail.test.ts: socket traffic that meets every fault site
 * (kern/kern_fail.ts) and copes with what DragonFly lets a call fail with: a stream that
 * must deliver every byte, datagrams that may meet ENOBUFS, a program that catches a
 * signal, one that sleeps until it is killed.
 */
import {
  AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SHUT_WR, SIGUSR1, SA_RESTART, FNV_BASIS, fnv1a, type Sys, SysError,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';

/* The errnos a setup call may fail with under the fault sites (DragonFly's, for these calls). */
const SETUP_ERRNOS: Record<string, string[]> = {
  socket: ['ENOBUFS', 'ENFILE'],        // soalloc, unp_attach; falloc
  bind: ['ENOBUFS'],                    // getsockaddr
  connect: ['ENOBUFS', 'ECONNREFUSED', 'EINTR'],   // getsockaddr; sonewconn; an interrupted predicate wait
  accept: ['ENFILE', 'EINTR'],          // falloc; an interrupted predicate wait
};

/* A record of what a call failed with, for the test to check against DragonFly's list. */
export interface Failure { call: string; code: string }

/* Retry a setup call while it fails with an errno it may fail with (a transient shortage, a signal). */
function* retry<T>(call: string, make: () => Blocking<T>, failures: Failure[], tries = 50): Blocking<T> {
  for (let n = 0; ; n++) {
    try {
      return yield* make();
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      failures.push({ call, code: e.code });
      if (!(SETUP_ERRNOS[call] ?? []).includes(e.code) || n >= tries) throw e;
    }
  }
}

/* Bytes of the pattern: position i of a stream of seed s. */
function fill(buf: Uint8Array, off: number, n: number, s: number): void {
  for (let i = 0; i < n; i++) buf[i] = ((off + i) * 2654435761 + s) >>> 24;
}

/* The server thread: accept one connection, read to EOF: [bytes, FNV-1a checksum, EINTRs seen, failures]. */
export function* stream_server(sys: Sys, s: number): Blocking<unknown[]> {
  const failures: Failure[] = [];
  const c = yield* retry('accept', () => sys.accept(s), failures);
  const buf = new Uint8Array(3000);
  let total = 0, h = FNV_BASIS, eintr = 0;
  for (;;) {
    let n: number;
    try {
      n = yield* sys.recv(c, buf);
    } catch (e) {
      // Without SA_RESTART an interrupted receive that moved nothing is EINTR: try again.
      if (e instanceof SysError && e.code === 'EINTR') { eintr++; continue; }
      throw e;
    }
    if (n === 0) break;
    h = fnv1a(h, buf, n);
    total += n;
  }
  yield* sys.close(c);
  return [total, h, eintr, failures];
}

/*
 * A stream of `total` bytes from this thread to a server thread on CPU `other`, in sends
 * of 1..6000 bytes (plain mbufs, clusters, several mbufs a send), then EOF.  With
 * `catchSig` the process catches SIGUSR1 (with SA_RESTART when catchSig is 2), so the
 * signal site has something to deliver.  Returns what both sides counted and every setup
 * failure met on the way; each must be one DragonFly allows.
 */
export function* fault_stream(sys: Sys, path: string, total: number, other: number, catchSig: number): Blocking<Record<string, unknown>> {
  let handled = 0;
  if (catchSig !== 0) yield* sys.sigaction(SIGUSR1, () => { handled++; }, catchSig === 2 ? SA_RESTART : 0);
  const failures: Failure[] = [];
  const s = yield* retry('socket', () => sys.socket(AF_LOCAL, SOCK_STREAM), failures);
  yield* retry('bind', () => sys.bind(s, path), failures);
  yield* sys.listen(s, 4);
  const t = yield* sys.thread(stream_server, { cpu: other, args: [s] });
  const c = yield* retry('socket', () => sys.socket(AF_LOCAL, SOCK_STREAM), failures);
  yield* retry('connect', () => sys.connect(c, path), failures);
  const buf = new Uint8Array(6000);
  let sent = 0, h = FNV_BASIS, eintr = 0, x = 12345;
  while (sent < total) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const n = Math.min(total - sent, 1 + (x % 6000));
    fill(buf, sent, n, 99);
    let m: number;
    try {
      m = yield* sys.send(c, buf, 0, n);   // a short count after a signal: the rest goes next time
    } catch (e) {
      if (e instanceof SysError && e.code === 'EINTR') { eintr++; continue; }
      throw e;
    }
    h = fnv1a(h, buf, m);
    sent += m;
  }
  yield* sys.shutdown(c, SHUT_WR);
  const [got, gotHash, srvEintr, srvFailures] = (yield* sys.join(t)) as [number, number, number, Failure[]];
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return { sent, h, got, gotHash, eintr: eintr + srvEintr, handled, failures: [...failures, ...srvFailures] };
}

/*
 * n datagrams of 1..300 bytes on a socketpair, each read back at once: an mbuf for the
 * sender's name (sbappendaddr, MB_DONTWAIT) and one for the data may fail: ENOBUFS, and
 * the datagram is lost.  Returns [delivered, ENOBUFS, other failures].
 */
export function* fault_dgrams(sys: Sys, n: number): Blocking<unknown[]> {
  const [a, b] = yield* retry('socket', () => sys.socketpair(AF_LOCAL, SOCK_DGRAM), []);
  const buf = new Uint8Array(300), rbuf = new Uint8Array(300);
  let delivered = 0, nobufs = 0;
  const other: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + ((i * 37) % 300);
    fill(buf, 0, len, i);
    try {
      yield* sys.send(a, buf, 0, len);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      if (e.code === 'ENOBUFS') nobufs++;
      else other.push(e.code);
      continue;
    }
    const k = yield* sys.recv(b, rbuf);
    let same = k === len;
    for (let j = 0; j < k && same; j++) same = rbuf[j] === buf[j];
    if (same) delivered++;
    else other.push('corrupt');
  }
  yield* sys.close(a);
  yield* sys.close(b);
  return [delivered, nobufs, other];
}

/* Sleep (a PCATCH tsleep each time) `n` times; the count of sleeps, or of the loop if killed first. */
export function* sleeper(sys: Sys, n: number): Blocking<number> {
  let i = 0;
  for (; i < n; i++) yield* sys.sleep(5);
  return i;
}
