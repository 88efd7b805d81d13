/*
 * The protocol-independent socket core (kern/uipc_socket.ts, uipc_socket2.ts, uipc_msg.ts).
 * Goal: socreate/soclose, the listen queues (sonewconn's backlog rule, incomplete-queue
 * eviction, the accept-filter branch), soisdisconnected, sosend/soreceive (so_error once,
 * EMSGSIZE, EWOULDBLOCK at exactly the buffer limit, records, MSG_TRUNC, MSG_PEEK,
 * MSG_WAITALL, cross-CPU byte conservation with a blocked reader), sowakeup's notify
 * messages, upcall and SIGIO, shutdown, socket options; under the bgl and netisr dispatch
 * models, in both engines.
 * Method: kernel threads in test/progs/socket_progs.ts, on a test protocol (family 88),
 * return what they saw; every test checks that the zones are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import {
  EPROTONOSUPPORT, ECONNREFUSED, EOPNOTSUPP, EISCONN, ECONNRESET, EWOULDBLOCK, EMSGSIZE, ENOBUFS, EINVAL, EDOM,
  ENOPROTOOPT, EPIPE, ENOTCONN, EINTR, EDESTADDRREQ, ECONNABORTED, MSG_TRUNC, SSB_MEVENT, SSB_SEL, SO_LINGER, SO_REUSEADDR, SO_NOSIGPIPE,
  SO_ACCEPTCONN, SOCK_STREAM,
} from '../src/kernel.js';
import { ENGINES, MODELS, down, kthreadHarness, type Engine, type Model, type TestMachine } from './helpers.js';

const P = new URL('./progs/socket_progs.ts', import.meta.url).href;
type Dispatch = Model | 'mpsafe';
const H = kthreadHarness(P, 7);
const { boot, spawn, zones } = H;
/* Run one thread on CPU 0; the zones must come back. */
const run1 = (engine: Engine, dispatch: Dispatch, name: string, ...args: unknown[]): Promise<number[]> =>
  H.run1<number[]>(engine, dispatch, name, ...args);

describe.each(ENGINES)('socket core (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('socreate: SS_PRIV for uid 0 only; EPROTONOSUPPORT; soclose frees', async () => {
      expect(await run1(engine, model, 'lifecycle', 0)).toEqual([1, 1, 8192, 1, 2048,
        EPROTONOSUPPORT, EPROTONOSUPPORT, EPROTONOSUPPORT, 2, 0, 0, 0]);
      expect(await run1(engine, model, 'lifecycle', 1000)).toEqual([0, 0, 8192, 1, 2048,
        EPROTONOSUPPORT, EPROTONOSUPPORT, EPROTONOSUPPORT, 2, 0, 0, 0]);
    });

    it('sonewconn: backlog 0, 1, 2, 128 (and -1, 1000 -> somaxconn) admit 1, 2, 4, 193 completed connections', async () => {
      const r = await run1(engine, model, 'backlog', [0, 1, 2, 128, -1, 1000]);
      expect(r.slice(0, 18)).toEqual([
        1, 1, 0, 0, 2, 2, 1, 0, 4, 4, 2, 0, 193, 193, 128, 0, 193, 193,
      ]);
      expect(r.slice(18, 24)).toEqual([128, 0, 193, 193, 128, 0]);
      // Through pru_connect: backlog 0 takes one connection, refuses the second;
      // connect on a listener is EOPNOTSUPP, on a connected stream EISCONN.
      expect(r.slice(24)).toEqual([0, 1, ECONNREFUSED, 1, EOPNOTSUPP, EISCONN, 1, 0]);
    });

    it('sonewconn: the incomplete queue evicts its oldest entry once so_incqlen > so_qlimit', async () => {
      expect(await run1(engine, model, 'incomplete')).toEqual([
        1, 2, 3, 3, 3,     // backlog 2: at most 3 incomplete
        1, 1, 4, 1,        // the survivors are the last three, in order; 2 aborted; still SS_INCOMP
        2, 1, 1,           // soisconnected moves one to so_comp
        0,                 // soclose aborts the rest
      ]);
    });

    it('soisconnected with SO_ACCEPTFILTER: upcall installed and called once, left on so_incomp', async () => {
      expect(await run1(engine, model, 'accept_filter')).toEqual([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 2, 0]);
    });

    it('soisdisconnected drops the send buffer, keeps received data (then EOF)', async () => {
      expect(await run1(engine, model, 'disconnected')).toEqual([
        0, 300, 100, 300,      // sent 300; b has 100 unsent, 300 received
        0, 0, 300, 1, 0,       // snd emptied (cc and mbcnt), rcv kept, CANT*|ISDISCONNECTED
        0, 300, 1, 0, 0,       // the 300 bytes, intact; then EOF
        0, 0,
      ]);
    });

    it('so_error is returned once by sosend and by soreceive, then cleared', async () => {
      expect(await run1(engine, model, 'soerror')).toEqual([
        ECONNRESET, 0, 0, 10,      // send: the error (nothing sent); then the 10 bytes
        0, 10, 0,                  // receive the 10 bytes
        ECONNRESET,                // PEEK: returned, kept
        ECONNRESET, EWOULDBLOCK,   // returned and cleared
        0, 0,
      ]);
    });

    it('flow control: EWOULDBLOCK at exactly the buffer limit; EMSGSIZE; ENOBUFS on a full receiver', async () => {
      expect(await run1(engine, model, 'limits')).toEqual([
        0, 8191, 0, 1, 8192,                    // 8191 + 1 fit: the peer holds exactly 8192
        EWOULDBLOCK, 0, EWOULDBLOCK, 0, 8192,   // MSG_DONTWAIT and a non-blocking file
        100, 0, 1,                              // after reading 100 the byte goes
        EWOULDBLOCK, 8192, 8192,                // 10000 non-blocking: 8192 moved, then EWOULDBLOCK
        EMSGSIZE, 0, 8192, ENOBUFS,             // datagrams: hiwat + 1, hiwat, then a full receiver
      ]);
    });

    it('records: MSG_TRUNC drops the rest of a datagram; addresses; MSG_PEEK; MSG_WAITALL', async () => {
      expect(await run1(engine, model, 'records')).toEqual([
        0, 0, 0, 374,            // 3 datagrams: 350 bytes + 3 addresses of 8
        0, 64, 1, 1, 1,          // 64 of 100, MSG_TRUNC, data right, psa = the sender
        200, 0, 1,               // the next record whole
        50, 58,                  // PEEK leaves it
        50, 0, 0, EWOULDBLOCK,   // read: buffer empty, nothing charged
        200, 500, 500, 0,        // stream PEEK, then WAITALL
      ]);
      expect(MSG_TRUNC).toBe(0x10);
    });

    it('sowakeup: a satisfied notify message is replied at once; the upcall needs SSB_UPCALL; SSB_SEL cleared', async () => {
      expect(await run1(engine, model, 'notify')).toEqual([1000, 0, 0, 0, 2]);
      expect(SSB_SEL).toBe(0x08);
    });

    it('sowakeup replies waiting notify messages in list order as their predicates come true', async () => {
      const m = await boot(engine, model, 2);
      const w = m.kmalloc(8);
      const z0 = zones(m);
      const d = await spawn(m, 0, 'notify_driver', w);
      const w1 = await spawn(m, 1, 'notify_waiter', w, 10, 1);
      const w2 = await spawn(m, 1, 'notify_waiter', w, 20, 2);
      expect(await m.join(d)).toEqual([SSB_MEVENT, 1, 1, SSB_MEVENT, 2, 2, 0]);
      expect(await m.join(w1)).toBe(1001);
      expect(await m.join(w2)).toBe(1002);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });

    it('SIGIO from sowakeup to the owner process and to a process group (pgsigio)', async () => {
      for (const group of [0, 1]) {
        const m = await boot(engine, model, 2);
        const w = m.kmalloc(4);
        const z0 = zones(m);
        const s = await spawn(m, 1, 'sigio_sleeper', w);
        const t = await spawn(m, 0, 'sigio_sender', w, group);
        expect(await m.join(s)).toBe(EINTR);
        expect(await m.join(t)).toBe(0);
        expect(zones(m)).toEqual(z0);
        await down(m);
      }
    });

    it('a stream across CPUs: a reader blocked on one CPU is woken by a writer on another; every byte arrives in order', async () => {
      const m = await boot(engine, model, 2);
      const w = m.kmalloc(4);
      const z0 = zones(m);
      const total = engine === 'deterministic' ? 60_000 : 200_000;
      const r = await spawn(m, 1, 'stream_reader', w, total);
      const wr = await spawn(m, 0, 'stream_writer', w, total, 3000);
      expect(await m.join(wr)).toEqual([total, 0, 1]);   // the reader was asleep first
      expect(await m.join(r)).toEqual([total, total, 1]);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });

    it('soshutdown: EINVAL; SHUT_RD empties so_rcv; SHUT_WR gives the peer EOF and the sender EPIPE', async () => {
      expect(await run1(engine, model, 'shutdown')).toEqual([
        EINVAL, 100, 0, 0, 0, 0, 1, 0, 0, 0, 0, EPIPE, 0, ENOTCONN, 0, 0,
      ]);
    });

    it('sosend/soreceive argument and state errors; a synchronous soabort', async () => {
      expect(await run1(engine, model, 'misc')).toEqual([
        EINVAL, ENOTCONN, EDESTADDRREQ,     // MSG_EOR on a stream; unconnected stream and datagram
        ENOTCONN, EOPNOTSUPP,               // receive on a never-connected stream; MSG_OOB
        1, ECONNABORTED, 0, 1,              // soabort: pcb gone, error set, SS_ABORTING cleared; peer disconnected
        0, 0, 0, 0, 0,
      ]);
    });

    it('sosetopt/sogetopt', async () => {
      expect(await run1(engine, model, 'options')).toEqual([
        EINVAL,
        0, 0, 4, 20000, -1,              // SO_RCVBUF 20000 (an int; the second word untouched)
        EINVAL,                          // value too short
        0, 20000,                        // SO_RCVLOWAT clamped to hiwat
        0, 150, 0, 8, 1, 500000,         // SO_RCVTIMEO 1.5 s = 150 ticks, and back
        0, 1,                            // 1 ms rounds up to a tick
        EDOM, EDOM,
        0, 0, 8, SO_LINGER, 7,           // SO_LINGER on, 7 s
        0, 4, SOCK_STREAM, -1,           // SO_TYPE
        0, 4, ECONNRESET, -1, 0,         // SO_ERROR reads and clears
        0, SO_REUSEADDR, 0, 0,
        0, SO_NOSIGPIPE,
        0, SO_ACCEPTCONN,                // before and after solisten
        ENOPROTOOPT, ENOPROTOOPT, ENOPROTOOPT, ENOPROTOOPT,
        EINVAL,                          // SO_ACCEPTFILTER with 4 bytes: shorter than struct accept_filter_arg
      ]);
    });
  });

  it('mpsafe dispatch routes requests in the caller (sync port, no BGL)', async () => {
    expect(await run1(engine, 'mpsafe', 'smoke')).toEqual([0, 5000, 0, 5000, 0, 0]);
  });

  it('netisr dispatch: one netisr thread per CPU', async () => {
    const m = await boot(engine, 'netisr', 3);
    const names = m.threads().map((t) => t.name).filter((n) => n.startsWith('netisr_cpu')).sort();
    expect(names).toEqual(['netisr_cpu 0', 'netisr_cpu 1', 'netisr_cpu 2']);
    await down(m);
  });
});
