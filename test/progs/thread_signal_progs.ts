/*
 * Programs for test/thread_signal.test.ts: a signal to one thread (pthread_kill /
 * lwp_kill).  The main thread blocks in a datagram recv and is interrupted (EINTR: the
 * handler is caught without SA_RESTART) while another thread of the process, also
 * blocked in a recv, goes on and receives its datagram.
 */
import { Sys, AF_LOCAL, SOCK_DGRAM, SOL_SOCKET, SO_RCVTIMEO, SIGUSR1 } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, count_or_code, wait_asleep, wait_signal_taken } from './common.js';

let caught = 0;

/* The other receiver: its recv's result. */
export function* ts_receiver(sys: Sys, fd: number): Blocking<unknown> {
  const buf = new Uint8Array(8);
  const n = yield* count_or_code(sys.recv(fd, buf));
  return [n, buf[0]];
}

/* The kicker: waits until both receivers sleep, signals the main thread only, then feeds the other. */
export function* ts_kicker(sys: Sys, pid: number, main: number, other: number, feed: number): Blocking<unknown> {
  const a1 = yield* wait_asleep(sys, pid, main, 'sbwait');
  const a2 = yield* wait_asleep(sys, pid, other, 'sbwait');
  yield* sys.pthread_kill(main, SIGUSR1);
  const taken = yield* wait_signal_taken(sys, pid, SIGUSR1);
  yield* sys.sleep(20);
  const stillAsleep = yield* wait_asleep(sys, pid, other, 'sbwait');
  yield* sys.send(feed, new Uint8Array([42]));
  return [a1, a2, taken, stillAsleep];
}

export function* thread_signal(sys: Sys, other: number, useLwp: boolean): Blocking<unknown> {
  caught = 0;
  yield* sys.sigaction(SIGUSR1, () => { caught++; });
  const [a1, b1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const [a2, b2] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  for (const fd of [b1, b2]) yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 10, usec: 0 });
  const pid = yield* sys.getpid(), me = yield* sys.gettid();
  const errs = [
    yield* attempt(sys.pthread_kill(9999, SIGUSR1)),
    yield* attempt(sys.pthread_kill(me, 99)),
    yield* attempt(sys.pthread_kill(me, 0)),
    yield* attempt(sys.lwp_kill(pid, 9999, 0)),
    yield* attempt(sys.lwp_kill(999999, me, 0)),
    yield* attempt(sys.lwp_kill(-1, -2, 0)),
  ];
  const t2 = yield* sys.thread(ts_receiver, { cpu: other, args: [b2] });
  const t3 = yield* sys.thread(useLwp ? ts_kicker_lwp : ts_kicker, { cpu: other, args: [pid, me, t2, a2] });
  const r = yield* count_or_code(sys.recv(b1, new Uint8Array(8)));
  const got = [r, caught];
  const o = yield* sys.join(t2);
  const k = yield* sys.join(t3);
  for (const fd of [a1, b1, a2, b2]) yield* sys.close(fd);
  return { errs, main: got, other: o, kicker: k };
}

/* As ts_kicker, by lwp_kill(pid, tid, sig). */
export function* ts_kicker_lwp(sys: Sys, pid: number, main: number, other: number, feed: number): Blocking<unknown> {
  const a1 = yield* wait_asleep(sys, pid, main, 'sbwait');
  const a2 = yield* wait_asleep(sys, pid, other, 'sbwait');
  yield* sys.lwp_kill(pid, main, SIGUSR1);
  const taken = yield* wait_signal_taken(sys, pid, SIGUSR1);
  yield* sys.sleep(20);
  const stillAsleep = yield* wait_asleep(sys, pid, other, 'sbwait');
  yield* sys.send(feed, new Uint8Array([42]));
  return [a1, a2, taken, stillAsleep];
}
