/*
 * Programs for the exploration tests: the README's server/client, a two-sender race and a
 * busy-polling receiver.
 */
import { AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, MSG_DONTWAIT, connect_retry, SysError, type Sys } from '../../src/index.js';

export function* server(sys: Sys, path: string) {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 5);
  const c = yield* sys.accept(s);
  const buf = new Uint8Array(4096);
  let total = 0;
  for (let n; (n = yield* sys.recv(c, buf)) !== 0; ) total += n;
  yield* sys.unlink(path);
  return total;
}

export function* client(sys: Sys, path: string, bytes = 100_000) {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  yield* sys.send(s, new Uint8Array(bytes));
  return 0;
}

/* A thread on CPU 1 sends 'B' while the main thread sends 'A': which arrives first? */
export function* send_b(sys: Sys, fd: number) {
  yield* sys.send(fd, new Uint8Array([0x42]));
  return 0;
}
export function* two_senders(sys: Sys, cpu: number) {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const t = yield* sys.thread(send_b, { cpu, args: [a] });
  yield* sys.send(a, new Uint8Array([0x41]));
  const buf = new Uint8Array(1);
  yield* sys.recv(b, buf);
  const first = String.fromCharCode(buf[0]);
  yield* sys.recv(b, buf);
  yield* sys.join(t);
  return first;
}

/* Busy-poll recv(MSG_DONTWAIT) until a sender on another CPU delivers. */
export function* late_sender(sys: Sys, fd: number) {
  for (let i = 0; i < 50; i++) yield* sys.getpid();
  yield* sys.send(fd, new Uint8Array([7]));
  return 0;
}
export function* busy_poll(sys: Sys, cpu: number) {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const t = yield* sys.thread(late_sender, cpu < 0 ? { args: [a] } : { cpu, args: [a] });
  const buf = new Uint8Array(1);
  let polls = 0;
  for (;;) {
    try {
      yield* sys.recv(b, buf, MSG_DONTWAIT);
      break;
    } catch (e) {
      if (!(e instanceof SysError) || e.code !== 'EAGAIN') throw e;
      polls++;
    }
  }
  yield* sys.join(t);
  return buf[0] === 7 ? 'ok' : 'bad';
}

/* A process that never blocks: a loop of system calls with no end. */
export function* spin_forever(sys: Sys) {
  for (;;) yield* sys.getpid();
}

/* Busy-poll with the sender on the same CPU: only the quantum at system-call return lets it run. */
export function* busy_poll_same_cpu(sys: Sys) {
  return yield* busy_poll(sys, -1);
}

/* A stream of n bytes through a socketpair between CPUs 0 and 1; the bytes received. */
export function* stream_writer(sys: Sys, fd: number, n: number) {
  const buf = new Uint8Array(4096);
  for (let left = n; left > 0; ) left -= yield* sys.write(fd, buf, Math.min(left, buf.length));
  yield* sys.close(fd);
  return 0;
}
export function* stream_pair(sys: Sys, n: number) {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const t = yield* sys.thread(stream_writer, { cpu: 1, args: [a, n] });
  const buf = new Uint8Array(4096);
  let got = 0;
  for (let k; (k = yield* sys.read(b, buf)) !== 0; ) got += k;
  yield* sys.join(t);
  return got;
}

/* two_senders, failing when the main thread's 'A' arrives first (a race machineTest must find). */
export function* two_senders_b_first(sys: Sys, cpu: number) {
  const first = yield* two_senders(sys, cpu);
  if (first !== 'B') throw new Error(`A arrived before B`);
  return first;
}
