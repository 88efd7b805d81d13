/*
 * Programs for test/cli.test.ts's `lwkt-sim run <path>`: process mains run from the
 * compiled module (dist/test/progs/cli_prog.js).
 */
import { Sys, AF_LOCAL, SOCK_STREAM } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';

/* The default export name: a message over a socketpair; returns [bytes, pid, ...args]. */
export function* main(sys: Sys, ...args: string[]): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const msg = new TextEncoder().encode('hello over a socketpair');
  yield* sys.send(a, msg);
  const buf = new Uint8Array(64);
  const n = yield* sys.recv(b, buf);
  yield* sys.print(`got '${new TextDecoder().decode(buf.subarray(0, n))}'`);
  return [n, yield* sys.getpid(), ...args];
}

/* A program that fails: the run exits with status 1. */
export function* fails(sys: Sys): Blocking<number> {
  yield* sys.print('about to fail');
  yield* sys.close(99);          // EBADF
  return 0;
}

/* A program that computes without a system call for `seconds` (default 60): its CPU is stuck. */
export function* stuck(sys: Sys, seconds = '60'): Blocking<number> {
  yield* sys.print('computing');
  const end = Date.now() + Number(seconds) * 1000;
  let x = 1;
  while (Date.now() < end) x = (x * 31 + 7) | 0;
  return x === 0 ? 0 : 1;
}
