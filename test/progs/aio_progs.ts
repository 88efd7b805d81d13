/*
 * Programs for test/aio.test.ts: asynchronous I/O on sockets (kern/vfs_aio.ts).  A job on
 * a socket that is not ready waits on the socket (SSB_AIO) until sowakeup's aio_swake
 * hands it to the AIO daemon of the requester's CPU.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, O_NONBLOCK, F_SETFL, AIO_CANCELED, AIO_ALLDONE, EINPROGRESS, ECANCELED,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/* Read, write, errors, return, suspend with and without a timeout, cancel. */
export function* aio_basic(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const out: unknown[] = [];
  // A read with nothing to read waits on the socket.
  const rbuf = new Uint8Array(16);
  const r = yield* sys.aio_read(b, rbuf);
  out.push((yield* sys.aio_error(r)) === EINPROGRESS, yield* attempt(sys.aio_return(r)));
  out.push(yield* attempt(sys.aio_suspend([r], 20)));               // times out: EAGAIN
  yield* sys.send(a, enc.encode('hello'));
  yield* sys.aio_suspend([r]);
  out.push(yield* sys.aio_error(r), yield* sys.aio_return(r), dec.decode(rbuf.subarray(0, 5)), yield* attempt(sys.aio_return(r)));
  // A write to a socket with room goes to the daemon at once.
  const w = yield* sys.aio_write(a, enc.encode('world'));
  yield* sys.aio_suspend([w]);
  out.push(yield* sys.aio_return(w));
  const got = new Uint8Array(16);
  out.push(dec.decode(got.subarray(0, yield* sys.recv(b, got))));
  // A write to a full socket waits for room.
  yield* sys.fcntl(a, F_SETFL, O_NONBLOCK);
  let filled = 0;
  for (;;) {
    const e = yield* attempt(sys.send(a, new Uint8Array(4096)));
    if (e !== 'ok') break;
    filled += 4096;
  }
  const big = new Uint8Array(1000).fill(7);
  const w2 = yield* sys.aio_write(a, big);
  out.push((yield* sys.aio_error(w2)) === EINPROGRESS);
  const drain = new Uint8Array(65536);
  let drained = 0;
  while (drained < filled) drained += yield* sys.recv(b, drain, 0, Math.min(drain.length, filled - drained));
  yield* sys.aio_suspend([w2]);
  out.push(yield* sys.aio_return(w2));
  let tail = 0;
  while (tail < 1000) tail += yield* sys.recv(b, drain, 0, 1000 - tail);
  out.push(tail);
  // Cancel a waiting read: ECANCELED, and aio_return gives -1; then nothing is left.
  const c = yield* sys.aio_read(b, rbuf);
  out.push(yield* sys.aio_cancel(b, c), (yield* sys.aio_error(c)) === ECANCELED, yield* sys.aio_return(c));
  out.push(yield* sys.aio_cancel(b), (yield* sys.aio_cancel(b)) === AIO_ALLDONE);
  // Bad input.
  out.push(yield* attempt(sys.aio_read(99, rbuf)), yield* attempt(sys.aio_read(b, 'x' as unknown as Uint8Array)),
    yield* attempt(sys.aio_error(12345)), yield* attempt(sys.aio_suspend(new Array(17).fill(1))), yield* attempt(sys.aio_cancel(77)));
  yield* sys.close(a);
  yield* sys.close(b);
  return out;
}

/* Several reads queued on one socket complete in order as data arrives. */
export function* aio_many(sys: Sys, n: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const bufs: Uint8Array[] = [], hs: number[] = [];
  for (let i = 0; i < n; i++) {
    bufs.push(new Uint8Array(1));
    hs.push(yield* sys.aio_read(b, bufs[i]));
  }
  for (let i = 0; i < n; i++) yield* sys.send(a, new Uint8Array([i + 1]));
  const res: number[] = [];
  for (let i = 0; i < n; i++) {
    while ((yield* sys.aio_error(hs[i])) !== 0) yield* sys.aio_suspend([hs[i]]);
    res.push(yield* sys.aio_return(hs[i]));
  }
  yield* sys.close(a);
  yield* sys.close(b);
  return [res.reduce((x, y) => x + y, 0), bufs.map((u) => u[0]).sort((x, y) => x - y).join(',')];
}

/* Across CPUs: the reader's job waits on CPU readerCpu; a writer process on another CPU wakes it. */
export function* aio_cross(sys: Sys, writerCpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(32);
  const h = yield* sys.aio_read(b, buf);
  const pid = yield* sys.spawn(aio_writer, { cpu: writerCpu, args: [a] });
  yield* sys.aio_suspend([h]);
  const n = yield* sys.aio_return(h);
  const st = yield* sys.waitpid(pid);
  yield* sys.close(a);
  yield* sys.close(b);
  return [dec.decode(buf.subarray(0, n)), st.status];
}

export function* aio_writer(sys: Sys, fd: number): Blocking<number> {
  yield* sys.send(fd, enc.encode('from another cpu'));
  return 0;
}

/* A process that exits with jobs outstanding: rundown frees them (and drops their files). */
export function* aio_exit_child(sys: Sys, fd: number): Blocking<number> {
  yield* sys.aio_read(fd, new Uint8Array(8));
  yield* sys.aio_read(fd, new Uint8Array(8));
  yield* sys.aio_write(1, enc.encode('aio to the console'));
  return 0;
}

export function* aio_exit(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pid = yield* sys.spawn(aio_exit_child, { args: [b] });
  const st = yield* sys.waitpid(pid);
  // The child's jobs were cancelled with it: what is sent now stays for us.
  yield* sys.send(a, enc.encode('after'));
  const buf = new Uint8Array(8);
  const n = yield* sys.recv(b, buf);
  yield* sys.close(a);
  yield* sys.close(b);
  return [st.status, dec.decode(buf.subarray(0, n))];
}
export { SysError, AIO_CANCELED };
