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
function* send_b(sys: Sys, fd: number) {
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
function* late_sender(sys: Sys, fd: number) {
  for (let i = 0; i < 50; i++) yield* sys.getpid();
  yield* sys.send(fd, new Uint8Array([7]));
  return 0;
}
export function* busy_poll(sys: Sys, cpu: number) {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const t = yield* sys.thread(late_sender, { cpu, args: [a] });
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
