/*
 * Helpers the descriptor-passing test programs share: the in-flight and open-file
 * counters, the descriptors a process has, waiting (bounded) for unp_gc, and fstat's
 * "same file".
 */
import { Sys, AF_LOCAL, SOCK_STREAM, F_GETFD } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

/* How long (in 1-tick sleeps) we wait for unp_gc or another process before giving up. */
export const SETTLE_TICKS = 1500;

export function* inflight(sys: Sys): Blocking<number> { return yield* sys.sysctl('net.local.inflight'); }
export function* openfiles(sys: Sys): Blocking<number> { return yield* sys.sysctl('kern.openfiles'); }

/* getnfds: the descriptors open in this process (they are all below 128 in these programs). */
export function* nfds(sys: Sys): Blocking<number> {
  let n = 0;
  for (let fd = 0; fd < 128; fd++) if ((yield* attempt(sys.fcntl(fd, F_GETFD))) === 'ok') n++;
  return n;
}

/*
 * unix_gc's trigger_gc and test_sysctls: close one more AF_LOCAL socket (its detach asks
 * for a collection while anything is in flight), then wait, bounded, until inflight and
 * openfiles are back at in0 and of0.  Returns how far off they stayed.
 */
export function* gc_settle(sys: Sys, in0: number, of0: number): Blocking<[number, number]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(s);
  let din = 0, dof = 0;
  for (let i = 0; i < SETTLE_TICKS; i++) {
    din = (yield* inflight(sys)) - in0;
    dof = (yield* openfiles(sys)) - of0;
    if (din === 0 && dof === 0) break;
    if (i % 50 === 49) {              // a pass may have started before the last close: ask again
      const t = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
      yield* sys.close(t);
    }
    yield* sys.sleep(1);
  }
  return [din, dof];
}

/* samefile: fstat's st_dev and st_ino agree (a socket's inode number is made up once, by uipc_sense). */
export function* samefile(sys: Sys, fd1: number, fd2: number): Blocking<boolean> {
  const s1 = yield* sys.fstat(fd1), s2 = yield* sys.fstat(fd2);
  return s1.dev === s2.dev && s1.ino === s2.ino && s1.ino !== 0;
}
