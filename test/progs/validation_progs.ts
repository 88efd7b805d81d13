/* Programs and kernel threads for validation.test.ts. */
import { AF_LOCAL, SOCK_STREAM, type Sys } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';

/* A kernel thread: x + 1. */
export function* plus_one(x: number): Blocking<number> {
  return x + 1;
}

/* A program: how many arguments it got, and their types. */
export function* count_args(_sys: Sys, ...args: unknown[]): Blocking<string> {
  return `${args.length}:${args.map((a) => typeof a).join(',')}`;
}

/* A program that waits for data nobody sends: the machine deadlocks. */
export function* wait_forever(sys: Sys): Blocking<number> {
  const [a] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  return yield* sys.recv(a, new Uint8Array(1));
}
