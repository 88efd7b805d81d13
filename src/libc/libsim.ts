/*
 * libsim.ts: userland helpers for simulated programs, built only on Sys calls (what a
 * small libc would offer beside the system calls).
 */

import type { Blocking } from '../../shared/effect.js';
import { ECONNREFUSED, ENOENT } from '../../shared/errno.js';
import type { Sys } from './sys.js';
import { SysError } from './errors.js';

/*
 * Connect fd to path, retrying (a millisecond of simulated time apart) while nobody has
 * bound the path yet (ENOENT) or nobody listens on it yet (ECONNREFUSED): what a client
 * started beside its server does.  Other errors, and the last one after `tries`
 * attempts, are thrown.
 */
export function* connect_retry(sys: Sys, fd: number, path: string, tries = 100_000): Blocking<void> {
  for (let n = 0; ; n++) {
    try {
      yield* sys.connect(fd, path);
      return;
    } catch (e) {
      if (!(e instanceof SysError) || (e.errno !== ENOENT && e.errno !== ECONNREFUSED) || n >= tries) throw e;
      yield* sys.sleep(1);
    }
  }
}

/* The FNV-1a checksum's starting value. */
export const FNV_BASIS = 0x811c9dc5;

/* An order-sensitive checksum (FNV-1a) of h continued over n bytes of b. */
export function fnv1a(h: number, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/* Read exactly buf.length bytes from fd (fewer only at end of file); the count read. */
export function* read_full(sys: Sys, fd: number, buf: Uint8Array): Blocking<number> {
  let got = 0;
  while (got < buf.length) {
    const n = yield* sys.read(fd, buf.subarray(got));
    if (n === 0) break;
    got += n;
  }
  return got;
}

/* Receive from fd into buf until end of file: [bytes received, their FNV-1a checksum]. */
export function* recv_checksum(sys: Sys, fd: number, buf: Uint8Array): Blocking<[number, number]> {
  let total = 0, h = FNV_BASIS;
  for (;;) {
    const n = yield* sys.recv(fd, buf);
    if (n === 0) return [total, h];
    total += n;
    h = fnv1a(h, buf, n);
  }
}

/*
 * Send total bytes of xorshift32 data (from seed) to fd, in sends of lo + (x % span)
 * bytes (at most buf.length) made in buf: [bytes sent, their FNV-1a checksum].
 */
export function* send_xorshift(sys: Sys, fd: number, buf: Uint8Array, total: number, seed: number, lo: number,
    span: number): Blocking<[number, number]> {
  let sent = 0, h = FNV_BASIS, x = seed >>> 0 || 1;
  while (sent < total) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const n = Math.min(total - sent, lo + (x % span));
    for (let i = 0; i < n; i++) buf[i] = (x >>> (i & 15)) + i;
    const m = yield* sys.send(fd, buf, 0, n);
    h = fnv1a(h, buf, m);
    sent += m;
  }
  return [sent, h];
}
