/*
 * The socket file type and the socket system calls' kernel halves (kern/sys_socket.ts,
 * kern/uipc_syscalls.ts; dragonfly.md 4.14, 4.15, 9.2; the FreeBSD 2.1 socketpair
 * walkthrough).
 * Goal: socketpair on the lowest fds and every failure point unwound exactly; reads and
 * writes through the fileops conserving bytes between two threads of one process on two
 * CPUs; FIONBIO/EWOULDBLOCK at exactly the buffer limit, FIONREAD, fo_stat and the other
 * ioctls; accept reserving its fd before waiting; EPIPE with SIGPIPE (and without);
 * short counts on interrupted writes; argument errors; close while a reader is blocked.
 * Method: kernel threads in test/progs/syscall_progs.ts on the family-88 test protocol,
 * under the bgl and netisr dispatch models, in both engines; every test checks that the
 * zones are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import {
  EBADF, EFAULT, EINVAL, EMFILE, ENOBUFS, ENFILE, ENOTSOCK, EPROTONOSUPPORT, EPROTOTYPE, EWOULDBLOCK, EPIPE,
  ECONNABORTED, EISCONN, ENOTCONN, ENAMETOOLONG, EDOM, ESRCH, EOPNOTSUPP, FREAD, FWRITE, FNONBLOCK, FASYNC, SS_ASYNC, SSB_ASYNC,
} from '../src/kernel.js';
import { ENGINES, MODELS, down, kthreadHarness, type Engine, type Model, type TestMachine } from './helpers.js';

const P = new URL('./progs/syscall_progs.ts', import.meta.url).href;
const H = kthreadHarness(P, 11);
const { boot, spawn, zones } = H;
/* Run one thread on CPU 0; the zones must come back. */
const run1 = (engine: Engine, dispatch: Model, name: string, ...args: unknown[]): Promise<unknown> =>
  H.run1<unknown>(engine, dispatch, name, ...args);

/* Two threads of one process on CPUs 0 and 1, sharing w; the zones must come back. */
async function run2(engine: Engine, dispatch: Model, words: number, first: [string, ...unknown[]],
    second: [string, ...unknown[]]): Promise<[unknown, unknown]> {
  const m = await boot(engine, dispatch);
  const w = m.kmalloc(words);
  const z0 = zones(m);
  const a = await spawn(m, 0, first[0], w, ...first.slice(1));
  const b = await spawn(m, 1, second[0], w, ...second.slice(1));
  const ra = await m.join(a), rb = await m.join(b);
  expect(zones(m)).toEqual(z0);
  await down(m);
  return [ra, rb];
}

describe.each(ENGINES)('socket system calls (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('socketpair: two fds, lowest free; datagram pairs connected both ways; socket()', async () => {
      expect(await run1(engine, model, 'pair_basic')).toEqual([
        0, 1, 2, 3,                 // stream, then datagram
        0, 1, 4,                    // close 1: the next pair takes 1 and 4
        0, 5,                       // kern_socket
        6,                          // sockets open (one closed with fd 1)
        FREAD | FWRITE, 1, 1,       // file flags; the datagram ends name each other
        0, 3, 0, 3, 3,              // 2 -> 3
        0, 2, 0, 2, 5,              // 3 -> 2
        0,                          // proc_exit closed them all
      ]);
    });

    it('socketpair: every failure point unwinds exactly what was done', async () => {
      expect(await run1(engine, model, 'pair_unwind')).toEqual([
        ENOBUFS, 1,     // first socreate: socket zone empty
        ENOBUFS, 1,     // second socreate: so1 closed
        ENFILE, 1,      // first falloc: both sockets closed
        ENFILE, 1,      // second falloc: fd1 released, fp1 freed
        EMFILE, 1,      // fd limit: first falloc
        EMFILE, 1,      // fd limit: second falloc
        EPROTOTYPE, 1,  // soconnect2 fails
        EPROTOTYPE, 1,  // the datagram's reverse soconnect2 fails after the first connected both
        2, 3,           // and a pair still comes on the lowest fds
      ]);
    });

    it('fo_read/fo_write: bytes conserved between two threads of one process on two CPUs', async () => {
      const total = engine === 'deterministic' ? 50_000 : 200_000;
      const [wr, rd] = await run2(engine, model, 4, ['rw_writer', total, 3000], ['rw_reader', total]);
      expect(wr).toEqual([total, 0, 0]);
      expect(rd).toEqual([total, total, 1, 1]);
    });

    it('FIONBIO then EWOULDBLOCK at exactly the buffer limit; FIONREAD; fo_stat; FIOASYNC; FIOSETOWN', async () => {
      expect(await run1(engine, model, 'nbio')).toEqual([
        0, 1, FNONBLOCK,
        0, 8191, 0, 1,              // exactly the peer's 8192
        EWOULDBLOCK, -1,            // nothing moved: an error, no count
        0, 8192,                    // FIONREAD
        0, 0o140000, 8192, 8192, 1000, 0o666,   // fo_stat: S_IFSOCK, rw-rw-rw-
        0, 100,
        0, 8192,                    // 10000 non-blocking: a short count, no error
        0, 0, 0,                    // FIONBIO 0 clears FNONBLOCK
        EWOULDBLOCK, -1,            // an empty non-blocking read
        0, 1, SS_ASYNC, SSB_ASYNC, SSB_ASYNC,   // FIOASYNC 1: SS_ASYNC, SSB_ASYNC on both buffers
        0, 0, 0,                    // FIOASYNC 0
        0, 1,                       // FIOSETOWN our pid, FIOGETOWN reads it
        ESRCH, 0, 0,                // no such process; 0 clears
        0, 0, EOPNOTSUPP,           // SIOCATMARK; an unknown ioctl goes to the protocol
      ]);
    });

    it('argument errors: EBADF, ENOTSOCK, EINVAL, EFAULT, ENOTCONN; nothing changes', async () => {
      expect(await run1(engine, model, 'bad_args')).toEqual([
        EBADF, EBADF, EBADF, ENOTSOCK,
        ENOTSOCK, ENOTSOCK, EBADF,
        EINVAL, EINVAL, 0, EFAULT, EFAULT,     // an unknown flag is ignored: the 8 bytes go
        0,                                     // ... and MSG_PEEK with an unknown flag sees them
        EPROTONOSUPPORT, EINVAL, EFAULT, EPROTONOSUPPORT,
        EINVAL, EINVAL, EINVAL,
        EINVAL, EINVAL, EINVAL,
        EFAULT, EFAULT, EINVAL,
        ENAMETOOLONG, EDOM, EINVAL,   // getsockaddr: too long, too short, buffer shorter than len
        0, ENOTCONN, 0, 0,
        EFAULT, EINVAL, EFAULT, 0, 1, 0, 1,
        1, 0,
      ]);
    });

    it('EPIPE raises SIGPIPE in the process; MSG_NOSIGNAL and SO_NOSIGPIPE suppress it', async () => {
      expect(await run1(engine, model, 'epipe')).toEqual([EPIPE, 1, EPIPE, 0, EPIPE, 0]);
    });

    it('an interrupted partial write returns the short count, no error', async () => {
      const [wr, sig] = await run2(engine, model, 4, ['partial_writer'], ['partial_signaller']);
      expect(wr).toEqual([0, 8192, 1, 0, 8192]);
      expect(sig).toBe(0);
    });

    it('accept: EMFILE before any connection; EWOULDBLOCK; inherits FNONBLOCK|FASYNC; ECONNABORTED after SHUT_RD', async () => {
      expect(await run1(engine, model, 'accept_local')).toEqual([
        0,
        EMFILE, 1,                  // the table is full: at once, and nothing left reserved
        0,
        EWOULDBLOCK, 1,
        0,                          // connect
        0, 2, 0, 0,                 // accepted on fd 2; the protocol has no name: 0, 0
        FREAD | FWRITE | FNONBLOCK | FASYNC, 1,
        0, 3, 0, 3, 9,
        EISCONN,
        0, ECONNABORTED, ECONNABORTED,
      ]);
    });

    it('accept across CPUs: the fd is reserved before waiting; a shutdown ends a blocked accept', async () => {
      const [acc, con] = await run2(engine, model, 8, ['acceptor'], ['connector']);
      expect(con).toEqual([1, 0, 2, 0, 0, 5, 0, 1]);
      expect(acc).toEqual([0, 1, 0, 5, 5, ECONNABORTED, 1, 2, 2]);
    });

    it('close while another thread is blocked reading: the socket survives until the reader lets go', async () => {
      const [cl, rd] = await run2(engine, model, 4, ['closer'], ['blocked_reader']);
      expect(cl).toEqual([0, 0, 1, 0, 2, -1]);
      expect(rd).toEqual([0, 2, 42, 43]);
    });
  });
});

void ENOTCONN;
