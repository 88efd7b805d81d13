/*
 * Processes and system calls (kern/kern_exec.ts, kern/sys_console.ts, sys/sys.ts):
 * programs started with Machine.spawnProcess calling the kernel through Sys.
 * Goal: bytes conserved between a server and a client process on two CPUs over an
 * AF_LOCAL stream; datagram record boundaries; EPIPE with SIGPIPE's default action,
 * ignored and caught; SA_RESTART against EINTR across processes; console output
 * labelled by pid; a program that throws is killed without a panic and its descriptors
 * closed; bad input gives BSD errnos.  Both engines, the bgl and netisr dispatch models
 * where the socket layer runs; every zone back to its starting use after each test.
 */
import { describe, it, expect } from 'vitest';
import { PanicError, type Machine } from '../src/index.js';
import { SA_RESTART, SOCK_DGRAM } from '../src/libc/index.js';
import { ENGINES, machine, down, zoneUsed, type TestMachine } from './helpers.js';

const P = new URL('./progs/programs.ts', import.meta.url).href;
const ZONES = ['socket', 'mbuf', 'mbuf_cluster', 'kmalloc16', 'kmalloc64', 'kmalloc256', 'lwkt_msg', 'proc', 'file',
  'thread'];
const MODELS = ['bgl', 'netisr'] as const;
type Engine = (typeof ENGINES)[number];
type Model = (typeof MODELS)[number];

async function boot(engine: Engine, dispatch: Model = 'bgl', cpus = 2): Promise<TestMachine> {
  return machine({ cpus, engine, seed: 7, dispatch });
}
function zones(m: Machine): number[] { return ZONES.map((z) => zoneUsed(m, z)); }
function proc(m: Machine, cpu: number, name: string, args: unknown[] = [], uid = 1000): Promise<number> {
  return m.spawnProcess({ cpu, module: P, export: name, args, uid });
}
async function run1(engine: Engine, model: Model, name: string, args: unknown[] = [], uid = 1000): Promise<unknown> {
  const m = await boot(engine, model);
  const z0 = zones(m);
  const r = await m.join(await proc(m, 0, name, args, uid));
  expect(zones(m)).toEqual(z0);
  await down(m);
  return r;
}

describe.each(ENGINES)('processes and system calls (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('server and client processes on two CPUs stream checksummed data over AF_LOCAL', async () => {
      const m = await boot(engine, model);
      const z0 = zones(m);
      const total = 200_003;
      const srv = await proc(m, 1, 'server', ['/srv.sock']);
      const cli = await proc(m, 0, 'client', ['/srv.sock', total, 12345]);
      const [sent, h, rtotal, rh, named] = (await m.join(cli)) as number[];
      const [stotal, sh, unnamed] = (await m.join(srv)) as number[];
      expect(sent).toBe(total);
      expect(stotal).toBe(total);
      expect(sh).toBe(h);
      expect([rtotal, rh]).toEqual([total, h]);
      expect([named, unnamed]).toEqual([1, 1]);
      expect(m.console()).toMatch(/^\[pid \d+\] server got 200003 bytes\n$/);
      expect(zones(m)).toEqual(z0);
      await down(m);
    });

    it('a datagram socketpair keeps record boundaries; O_NONBLOCK, FIONREAD, options, dup', async () => {
      expect(await run1(engine, model, 'dgram_pair')).toEqual([
        3, 4,                  // after the console's 0, 1, 2
        380,                   // FIONREAD: so_rcv's cc, four records with their 16-byte sender names
        5, 5, 1, 1, 300, 44,   // three records, whole
        4,                     // a short buffer: the front of the fourth
        'nonblock', 'EAGAIN', 0,
        3, 3, 9,               // peek, then read
        SOCK_DGRAM, 8192,
        5, 9,                  // dup, dup2
        2,
      ]);
    });

    it('SO_LINGER and the timeouts take structs; SO_RCVTIMEO and SO_SNDTIMEO end blocked calls', async () => {
      expect(await run1(engine, model, 'sockopt_structs')).toEqual([
        { onoff: 0, linger: 0 }, { onoff: 0x80, linger: 5 }, { sec: 0, usec: 50_000 },
        ['EDOM', 'EDOM', 'EINVAL', 'EINVAL', 'EINVAL'],
        'EAGAIN', true, 'EAGAIN',
      ]);
    });

    it('RLIMIT_SBSIZE scales a uid\'s socket buffers (SEED chgsbsize); kern.maxfiles gives ENFILE', async () => {
      // Each stream socket asks for 57344-byte buffers.  Past the uid's 40000, SEED's chgsbsize scales the k-th
      // reservation to 57344 * 40000 / (k * 57344) but charges the unscaled amount; SO_RCVBUF 65536 then gets
      // 65536 * 40000 / (8 * 57344 + 65536 - 20000); shrinking is never scaled; and because each release gives
      // back only the scaled mark, the uid's charge drifts up, so a new pair after closing everything is smaller.
      expect(await run1(engine, model, 'sbsize_limit')).toEqual([
        true, 'EPERM',
        [40000, 20000, 13333, 10000, 8000, 6666, 5714, 5000, 5198, 4096, 4904],
      ]);
      expect(await run1(engine, model, 'enfile', [10], 0)).toEqual([10, 'ENFILE', 'ENFILE', true]);
    });

    it('F_SETOWN/F_GETOWN: the SIGIO owner; O_ASYNC raises SIGIO when data arrives', async () => {
      expect(await run1(engine, model, 'fsetown_prog')).toEqual([0, true, 'ESRCH', 1]);
    });

    it('kern.ipc counters: open sockets, mbufs and clusters in use, read-only zone sizes', async () => {
      expect(await run1(engine, model, 'ipc_counters')).toEqual([2, 3, 3, 0, 1, 1, 1]);
    });

    it('closefrom closes from a descriptor up', async () => {
      // closefrom(-1): EINVAL (DragonFly 2008's kern_closefrom)
      expect(await run1(engine, model, 'closefrom_prog')).toEqual([[3, 4, 5, 6], ['ok', 'EBADF', 'EBADF', 'EBADF'], 'EINVAL', 'ok']);
    });

    it('a write to a closed peer: SIGPIPE kills by default; ignored gives EPIPE; caught runs the handler', async () => {
      const m = await boot(engine, model);
      const z0 = zones(m);
      for (const viaSend of [false, true]) {
        const err = await m.join(await proc(m, 0, 'epipe_default', [viaSend])).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(PanicError);
        expect(String((err as Error).message)).toMatch(/process \d+ \(epipe_default\) killed by signal 13 \(SIGPIPE\)/);
      }
      expect(await m.join(await proc(m, 1, 'epipe_ignored'))).toEqual(['EPIPE', 32, 'write']);
      expect(await m.join(await proc(m, 1, 'epipe_caught'))).toEqual(['EPIPE', 1]);
      await expect(m.join(await proc(m, 0, 'epipe_swallow'))).rejects.toThrow(/SIGPIPE/);
      expect(zones(m)).toEqual(z0);
      expect(m.panicked).toBeNull();
      await down(m);
    });

    it('a signal from another process: SA_RESTART restarts the blocked recv, without it EINTR', async () => {
      const m = await boot(engine, model);
      const z0 = zones(m);
      for (const [flags, want] of [[SA_RESTART, [1, 5]], [0, [1, 'EINTR']]] as const) {
        const s = await proc(m, 1, 'restart_server', [`/r${flags}`, flags]);
        const c = await proc(m, 0, 'restart_client', [`/r${flags}`, flags === SA_RESTART]);
        expect(await m.join(c)).toBe(flags === 0 ? 'EPIPE' : 'ok');
        expect(await m.join(s)).toEqual(want);
      }
      expect(zones(m)).toEqual(z0);
      await down(m);
    });

    it('read, write and send blocked before moving a byte: SA_RESTART sleeps again and completes, without it EINTR', async () => {
      const m = await boot(engine, model);
      const z0 = zones(m);
      for (const op of ['read', 'write', 'send']) {
        for (const flags of [SA_RESTART, 0]) {
          const path = `/io-${op}-${flags}`;
          const s = await proc(m, 1, 'io_sleeper', [path, op, flags]);
          const c = await proc(m, 0, 'io_kicker', [path, op, flags === SA_RESTART]);
          const drained = await m.join(c);
          const [caught, r, filled] = (await m.join(s)) as [number, unknown, number];
          expect([op, flags, caught, r]).toEqual([op, flags, 1, flags === SA_RESTART ? 5 : 'EINTR']);
          if (op === 'read') expect(filled).toBe(0);
          else {
            expect(filled).toBeGreaterThan(0);
            expect(drained).toBe(filled + (flags === SA_RESTART ? 5 : 0));
          }
        }
      }
      expect(zones(m)).toEqual(z0);
      await down(m);
    });
  });

  it('console output of two processes on two CPUs, labelled by pid; fd 0 reads EOF', async () => {
    const m = await boot(engine);
    const z0 = zones(m);
    const a = await proc(m, 0, 'hello', ['alpha', 3]);
    const b = await proc(m, 1, 'hello', ['beta', 2]);
    const pa = (await m.join(a)) as number, pb = (await m.join(b)) as number;
    expect(pa).toBeGreaterThan(0);
    expect(pb).not.toBe(pa);
    const lines = m.console().split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.startsWith(`[pid ${pa}] `))).toEqual(
      ['alpha 0', 'alpha 1', 'alpha 2', 'partial'].map((t) => `[pid ${pa}] ${t}`));
    expect(lines.filter((l) => l.startsWith(`[pid ${pb}] `))).toEqual(
      ['beta 0', 'beta 1', 'partial'].map((t) => `[pid ${pb}] ${t}`));
    expect(lines.length).toBe(7);
    expect(zones(m)).toEqual(z0);
    await down(m);
  });

  it('a program that throws is killed, not the machine: its descriptors are closed, the machine runs on', async () => {
    const m = await boot(engine);
    const z0 = zones(m);
    const e1 = await m.join(await proc(m, 0, 'thrower', ['error'])).then(() => null, (e: unknown) => e);
    expect(e1).toBeInstanceOf(Error);
    expect(e1).not.toBeInstanceOf(PanicError);
    expect((e1 as Error).message).toMatch(/process \d+ \(thrower\) killed: program threw Error: boom in program/);
    await expect(m.join(await proc(m, 1, 'thrower', ['value']))).rejects.toThrow(/program threw a number: 42/);
    await expect(m.join(await proc(m, 1, 'thrower', ['yield']))).rejects.toThrow(/program yielded 99/);
    // The names the killed programs bound stay until unlinked, as in BSD.
    expect(await m.join(await proc(m, 0, 'unlinker', [['/thrower-error.sock', '/thrower-value.sock',
      '/thrower-yield.sock']]))).toEqual(['ok', 'ok', 'ok']);
    expect(zones(m)).toEqual(z0);
    // The machine still serves new processes.
    expect(await m.join(await proc(m, 0, 'thrower', ['none']))).toBe(0);
    expect(await m.join(await proc(m, 0, 'unlinker', [['/thrower-none.sock']]))).toEqual(['ok']);
    expect(zones(m)).toEqual(z0);
    await expect(proc(m, 0, 'not_a_generator')).rejects.toThrow(/not a generator function/);
    await expect(m.spawnProcess({ module: P, export: 'hello', uid: -1 })).rejects.toThrow(/uid/);
    expect(m.panicked).toBeNull();
    await down(m);
  });

  it('bad input gives the errno a BSD kernel gives, never a JS exception from the kernel', async () => {
    expect(await run1(engine, 'bgl', 'bad_input')).toEqual([
      'EBADF', 'EBADF', 'EBADF',
      'ENOTSOCK', 'ENOTSOCK', 'EOPNOTSUPP', 'ENOTSOCK',
      'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ok',      // an unknown MSG_ flag is ignored (kern_recvmsg)
      'EBADF', 'EFAULT', 'EFAULT', 'EINVAL', 'EFAULT', 'EBADF', 'EBADF', 'EINVAL', 'ENOTTY',
      'EFAULT', 'ENAMETOOLONG', 'ENOENT', 'EINVAL', 'EINVAL', 'ENOENT', 'ESRCH', 'EINVAL', 'EINVAL', 'ok',
    ]);
  });

  it('uids, limits, sysctl, kill to self with a handler, the file namespace', async () => {
    expect(await run1(engine, 'bgl', 'proc_calls')).toEqual([
      1000, 1000, 'EPERM', 'ok',
      5, 'EMFILE', 2,
      'maxfiles', 'EPERM',
      1,
      'EEXIST', '/d/s', 'ok', 'ENOENT', 'ok',
    ]);
  });

  it('fstat: a socket as soo_stat and uipc_sense describe it; the console; a kqueue; EBADF', async () => {
    expect(await run1(engine, 'bgl', 'fstat_prog')).toEqual([
      ['140666', 0, 57344, true, true, -1, 0],    // S_IFSOCK, rw for all; blksize the send hiwat; NOUDEV
      ['140444', 5],                              // send side shut: no write bits; 5 bytes readable
      ['140000', 0, true],                        // receive side shut and drained; the same made-up inode
      ['20620'],                                  // the console: S_IFCHR | 0620
      ['10000', 0],                               // a kqueue: S_IFIFO, no events pending
      'EBADF', 'EBADF',
    ]);
  });

  it('net.local.stream.* and net.local.dgram.*: the sizes the next AF_LOCAL socket reserves', async () => {
    const dflt = [57344, 57344, 2048, 4096];
    expect(await run1(engine, 'bgl', 'unp_space_prog', [], 0)).toEqual([
      dflt, [8192, 16384], [100, 1000],
      'EMSGSIZE', 100,                    // sosend: an atomic send larger than so_snd's hiwat
      'EINVAL', 8192,
      true,                               // ssb_reserve: clamped to sb_max_adj
      dflt, 'EPERM',
    ]);
  });
});

describe('kern.ipc.maxsockets', () => {
  it('is a boot tunable raised to at least max(maxfiles, nmbclusters), as SEED\'s init_maxsockets does', async () => {
    const get = async (maxsockets?: number): Promise<number[]> => {
      const m = await machine({ cpus: 1, engine: 'deterministic', maxsockets });
      const pid = await m.spawnProcess({ module: P, export: 'sysctl_get', args: ['kern.ipc.maxsockets'] });
      const v = (await m.join(pid)) as number;
      const files = m.stats().zones.find((z) => z.name === 'file')!.limit;
      const clusters = m.stats().zones.find((z) => z.name === 'mbuf_cluster')!.limit;
      await down(m);
      return [v, Math.max(files, clusters)];
    };
    const [dflt, floor] = await get();
    expect(dflt).toBe(floor);
    expect((await get(1))[0]).toBe(floor);
    expect((await get(floor + 12345))[0]).toBe(floor + 12345);
    await expect(machine({ cpus: 1, engine: 'deterministic', maxsockets: -1 })).rejects.toThrow(/maxsockets/);
  });
});
