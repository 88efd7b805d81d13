/*
 * AF_LOCAL: the unix-domain protocol (kern/uipc_usrreq.ts) and the namespace it binds into
 * (kern/vfs_unixsock.ts), at the kernel level.
 * Goal: DragonFly 2008's observable behaviour (dragonfly.md 5.1-5.6, 5.8): the protocol
 * table and default buffer sizes; bind/connect/namespace errors and permissions; accept's
 * queue rule (a full backlog refuses at once); datagram records, addresses, the mbcnt and
 * cc limits (the 65th one-byte datagram, the 2048-byte case), ECONNRESET through
 * unp_refs; seqpacket records and MSG_TRUNC; stream teardown (EOF, EPIPE, shutdown);
 * stream byte conservation and SSB_STOP back-pressure between threads on different CPUs.
 * Method: kernel threads in test/progs/usrreq_progs.ts, in both engines and the bgl and
 * netisr dispatch models; every test checks the zones are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import {
  EINVAL, EADDRINUSE, ENOENT, ECONNREFUSED, EPROTONOSUPPORT, EPROTOTYPE, EACCES, ENOTDIR, ENOTSOCK,
  EEXIST, EPERM, ENOTEMPTY, EBUSY, EISCONN, ENOTCONN, EDESTADDRREQ, ENOBUFS, EMSGSIZE, ECONNRESET, EWOULDBLOCK,
  EPIPE, SSB_STOP, SSB_WAIT,
} from '../src/kernel.js';
import { S_IFSOCK } from '../src/sys/stat.js';
import { ENGINES, MODELS, down, kthreadHarness, type Engine, type Model, type TestMachine } from './helpers.js';

const P = new URL('./progs/usrreq_progs.ts', import.meta.url).href;
const H = kthreadHarness(P, 11);
const { boot, spawn, zones } = H;
/* Run one thread on CPU 0; the zones must come back. */
const run1 = (engine: Engine, dispatch: Model, name: string, ...args: unknown[]): Promise<unknown[]> =>
  H.run1<unknown[]>(engine, dispatch, name, ...args);

const SOCKMODE = S_IFSOCK | 0o755;    // ACCESSPERMS less the default umask 022

describe.each(ENGINES)('AF_LOCAL (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('sopoll: readable with data or EOF, writable when connected with room', async () => {
      const IN = 0x0001 | 0x0040, OUT = 0x0004, IGN = 0x2000;
      expect(await run1(engine, model, 'poll_states')).toEqual([
        0,                // an unconnected stream socket: nothing (not writable, PR_CONNREQUIRED)
        OUT, OUT,         // a fresh pair: writable, not readable
        IN | OUT | IGN,   // 10 bytes arrived: readable (and ready ignoring EOF)
        IN | OUT,         // drained, then the peer shut writing: EOF reads, POLLINIGNEOF does not hold
        OUT,              // the side that shut writing: still "writable" (CANTSENDMORE: the write fails at once)
      ]);
    });

    it('localsw: pr_flags, EPROTONOSUPPORT, default buffer sizes per type, uipc_sense', async () => {
      expect(await run1(engine, model, 'attach')).toEqual([
        28, 19, 29,                             // stream, dgram, seqpacket pr_flags
        4, 1, EPROTONOSUPPORT, EPROTONOSUPPORT, // raw entry has pr_type 0; SOCK_RAW; protocol 6
        57344, 262144, 2048, 57344, 262144, 1, 1, 0, 57344, -1, 1, 0,   // stream; sense
        2048, 16384, 2048, 4096, 32768, 1, 1, 0, 2048, -1, 1, 0,        // dgram
        57344, 262144, 2048, 57344, 262144, 1, 1, 0, 57344, -1, 1, 0,   // seqpacket
      ]);
    });

    it('bind: EINVAL, EADDRINUSE, ENOENT, a 253-byte name; the file outlives the socket until unlinked', async () => {
      expect(await run1(engine, model, 'bind_errors')).toEqual([
        EINVAL, 0, EINVAL, EADDRINUSE, EADDRINUSE, EINVAL, EINVAL, ENOENT,
        0, 0, 253, 0, 0,                        // a 253-byte name binds, comes back whole; close, unlink
        0, SOCKMODE, 1000, 1,                   // stat: a socket file, mode 0755, owner 1000
        0, '/a.sock', 0, '',                    // getsockname: bound; unbound has none
        0, 0, 1, 1,                             // listen, connect, accept
        0, 0, SOCKMODE, 1000, 1,                // close the listener: the file stays
        ECONNREFUSED, 0, ENOENT, ENOENT,        // nobody bound; unlink; then gone
        0, 0,                                   // bind again, unlink while bound
        0, 0, 0,
      ]);
    });

    it('connect: backlog full ECONNREFUSED, EPROTOTYPE, EACCES, ENOTDIR, ENOTSOCK; peer credentials and names', async () => {
      expect(await run1(engine, model, 'connect_errors')).toEqual([
        0, EEXIST,
        ENOTCONN, -1,                           // LOCAL_PEERCRED before connecting
        0, 1, ECONNREFUSED, 1, EISCONN,         // backlog 0: one connection, the next refused at once
        '<noname>', 0, '/d/s', 0, '<noname>',   // accept's name, getpeername both ways
        EPROTOTYPE, EPROTOTYPE, EPROTOTYPE,     // dgram, seqpacket to a stream; soconnect2 across types
        ENOTDIR, ENOTSOCK,
        EACCES, EACCES,                         // uid 2000: no search permission on /d (0700)
        EPERM, 0,                               // chmod by another user; by the owner
        EACCES, EACCES,                         // socket file 0755: no write; /d 0755: no write
        0, 0,                                   // file 0777: connect
        0, 1000, 0, 2000,                       // the client sees the listener's uid, the server the client's
        EACCES,                                 // unlink without write permission on /d
        0, 0,                                   // chmod 0; root connects anyway
        ENOTEMPTY, EPERM, ENOTDIR,              // rmdir non-empty, unlink a directory, rmdir a socket file
        0, ECONNREFUSED, 1,                     // a bound stream socket that does not listen
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, EBUSY,
        ENOENT, 0, 0, 0,
      ]);
    });

    it('SOCK_DGRAM: records and senders, EDESTADDRREQ/EISCONN, 65th one-byte ENOBUFS, 2048-byte overshoot, ECONNRESET', async () => {
      expect(await run1(engine, model, 'dgram')).toEqual([
        0, 0,
        0, 0, 0, 0,
        154,                                    // 100 bytes + 3 noname (16) + one '/dg2' (6)
        0, 10, 1, '<noname>', 0, 20, 1, '<noname>', 0, 30, 1, '<noname>', 0, 40, 1, '/dg2',
        EDESTADDRREQ, 0, EISCONN,
        64, ENOBUFS, 64 * 17, 32768,            // mbmax reached before hiwat
        0, 0,
        0, 2064, 0, 4128, ENOBUFS, EMSGSIZE,    // the second 2048 goes in past hiwat
        2048, 2064,
        0, ECONNRESET, 0,                       // the receiver closed: unp_drop through unp_refs
        ECONNRESET, EDESTADDRREQ, ECONNREFUSED,
        0, 0, 0, 0,
      ]);
    });

    it('SOCK_DGRAM pair: the survivor reads its data, then ECONNRESET once; sends ECONNRESET then EDESTADDRREQ', async () => {
      expect(await run1(engine, model, 'dgram_pair_close')).toEqual([
        0, 0, 0, ECONNRESET, 0, 0, 5, ECONNRESET, EWOULDBLOCK, EDESTADDRREQ, 0,
        0, ECONNRESET, EDESTADDRREQ, 0,
      ]);
    });

    it('SOCK_SEQPACKET: one record per send, MSG_TRUNC drops the rest, EMSGSIZE', async () => {
      expect(await run1(engine, model, 'seqpacket')).toEqual([
        0, 0, 0, 0, 180,
        0, 64, 1, 1, 80,
        50, 0, 1,
        30, 0, 1,
        EMSGSIZE, 0, 10,
        0, 0, 0, 0,
      ]);
    });

    it('SOCK_STREAM teardown: peer close (drain, EOF, EPIPE), shutdown(SHUT_WR), listener close', async () => {
      expect(await run1(engine, model, 'stream_close')).toEqual([
        0, 0, 1,
        0, 200, 1, 0, 100, 1, 0, 0,             // the data, then EOF
        EPIPE, 0, 0,                            // EPIPE, no so_error
        0, 0, 100, 1, 0, EPIPE, 0, 50, 0, 0,    // SHUT_WR: EOF for the peer, EPIPE for us; b -> a works
        0, 1, 0, 1, 0, 0, EPIPE, 0, 0, 0,       // listener closed with a queued connection
      ]);
    });

    it('SOCK_STREAM across CPUs: random sizes, every byte arrives in order (checksum)', async () => {
      const m = await boot(engine, model, 2);
      const w = m.kmalloc(8);
      const z0 = zones(m);
      const total = engine === 'deterministic' ? 150_000 : 600_000;
      const s = await spawn(m, 1, 'stream_server', w, 99);
      const c = await spawn(m, 0, 'stream_client', w, total, 12345);
      const cr = (await m.join(c)) as number[];
      const sr = (await m.join(s)) as number[];
      expect(cr[0]).toBe(0);
      expect(cr[1]).toBe(total);
      expect(cr[3]).toBe(0);
      expect(sr).toEqual([total, cr[2], 0, 1]);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });

    it('SOCK_STREAM back-pressure: SSB_STOP stops the writer at the reader holding its hiwat; a read resumes it', async () => {
      const m = await boot(engine, model, 2);
      const w = m.kmalloc(8);
      const z0 = zones(m);
      const total = 100_000;
      const r = await spawn(m, 1, 'bp_reader', w, total);
      const wr = await spawn(m, 0, 'bp_writer', w, total);
      expect(await m.join(wr)).toEqual([0, total]);
      expect(await m.join(r)).toEqual([
        SSB_STOP | SSB_WAIT, 57344, 57344, 0, 0,  // stopped and asleep; one hiwat queued; sender's cc 0; not returned
        1000, 1,                                  // a read lifts the stop, the writer goes on
        total, total,
      ]);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });
  });
});
