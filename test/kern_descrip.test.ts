/*
 * Open files and descriptor tables (kern/kern_descrip.ts; dragonfly.md 4.14).
 * Goal: falloc reserves the lowest free fd invisibly, fsetfd publishes, kern_close only
 * drops the table's reference (fo_close runs once, at the last fdrop), EMFILE and ENFILE
 * at their exact limits, dup/dup2/F_DUPFD/closefrom/fcntl semantics and errnos, and fork
 * and exit moving references.  Method: kernel threads (test/progs/proc_progs.ts) build
 * processes and files of a test file type whose fo_close counts its calls; every test
 * then checks that the zones it used are back to their use before it.
 */
import { describe, it, expect } from 'vitest';
import {
  EBADF, EINVAL, EMFILE, EPERM, ENFILE, ENOTSOCK, EOPNOTSUPP, O_RDWR, O_NONBLOCK, O_ASYNC, NDFILE, NDFILE_MAX, FILE,
  FILEDESC, PROC,
} from '../src/kernel.js';
import { FILE_WORDS, PROC_WORDS } from '../src/machine/kmem_boot.js';
import { ENGINES, machine, down, zoneUsed, type TestMachine } from './helpers.js';

const PROC_PROGS = new URL('./progs/proc_progs.ts', import.meta.url).href;
const ZONES = ['file', 'proc', 'kmalloc16', 'kmalloc64', 'kmalloc256'];

type Engine = (typeof ENGINES)[number];

async function boot(engine: Engine, cpus = 2): Promise<TestMachine> {
  return machine({ cpus, engine, seed: 7, modules: [PROC_PROGS] });
}

function zones(m: TestMachine): number[] { return ZONES.map((z) => zoneUsed(m, z)); }

function spawn(m: TestMachine, cpu: number, name: string, ...args: unknown[]): Promise<number> {
  return m.spawn({ cpu, module: PROC_PROGS, export: name, args, name });
}

/* Boot, take the words the thread needs, run it on CPU 0, check the zones, shut down. */
async function run1(engine: Engine, words: number, name: string, ...args: unknown[]): Promise<{ r: unknown; ctr: number[] }> {
  const m = await boot(engine);
  const w = words > 0 ? m.kmalloc(words) : 0;
  const z0 = zones(m);
  const r = await m.join(await spawn(m, 0, name, ...(words > 0 ? [w, ...args] : args)));
  expect(zones(m)).toEqual(z0);
  const ctr = words > 0 ? Array.from(m.i32.subarray(w, w + words)) : [];
  await down(m);
  return { r, ctr };
}

describe('descriptor layouts', () => {
  it('struct file and struct proc fit their zone items; a table fits the kmalloc zones', () => {
    expect(FILE.SIZE).toBeLessThanOrEqual(FILE_WORDS);
    expect(PROC.SIZE).toBeLessThanOrEqual(PROC_WORDS);
    expect(FILEDESC.SIZE).toBeLessThanOrEqual(16);
    expect([NDFILE * 2, NDFILE_MAX * 2]).toEqual([64, 256]);
  });
});

describe.each(ENGINES)('descriptors (%s engine)', (engine) => {
  it('fdalloc gives the lowest free fd; a reserved fd is invisible until fsetfd', async () => {
    const { r } = await run1(engine, 24, 'fd_lowest');
    expect(r).toEqual({
      first: [0, 1, 2, 3], closed: 0, reopened: 1, next: 4,
      falloc: 0, rfd: 5, reservedHold: 0, reservedClose: EBADF, freedFp: 0, again: 5,
      closeAgain: 0, closeBad: [EBADF, EBADF, EBADF],
      closes: [1, 1, 1, 1, 1, 2],   // the sixth counter served two files (fds 4 and 5)
    });
  });

  it('EMFILE at RLIMIT_NOFILE exactly; fdavail counts what is left', async () => {
    const { r } = await run1(engine, 4, 'fd_emfile', 1000, 5);
    // [opened, error, fdavail(1) when full, fdalloc when full, fdavail(1), fdavail(2) after a close,
    //  the fd reopened, fo_close calls]
    expect(r).toEqual([5, EMFILE, 0, EMFILE, 1, 0, 3, 6]);
  });

  it('a table grows from NDFILE to NDFILE_MAX slots, then EMFILE', async () => {
    const { r } = await run1(engine, 4, 'fd_capacity');
    expect(r).toEqual([NDFILE, NDFILE_MAX, NDFILE_MAX, EMFILE, NDFILE_MAX - 1, NDFILE_MAX]);
  });

  it('ENFILE at maxfiles - maxfiles/20 for a user and at maxfiles for root; the count comes back', async () => {
    const { r } = await run1(engine, 4, 'fd_enfile', 40);
    // [user opened, error, root opened, error, open files when full, after both exit, maxfiles, closes,
    //  sysctl kern.maxfiles and kern.openfiles, kern.maxfilesperproc = 0 (EINVAL), a user's set (EPERM),
    //  setting the read-only kern.openfiles (EPERM)]
    expect(r).toEqual([38, ENFILE, 2, ENFILE, 40, 0, 40, 40, 40, 40, EINVAL, EPERM, EPERM]);
  });

  it('a file survives kern_close while a reference is held; fo_close runs once, at the last fdrop', async () => {
    const { r } = await run1(engine, 4, 'fd_survives');
    // [close, closes after close, holdfp after close, count held, count after close, fdrop, closes, closes at end]
    expect(r).toEqual([0, 0, 0, 2, 1, 0, 1, 1]);
  });

  it('the same across CPUs: a holder on another CPU keeps the file open past the close', async () => {
    const m = await boot(engine);
    const w = m.kmalloc(5), ctr = m.kmalloc(4);
    const z0 = zones(m);
    const holder = await spawn(m, 1, 'survive_holder', w, ctr);
    const closer = await spawn(m, 0, 'survive_closer', w, ctr);
    // closer: [close error, closes after close, holdfp after close, closes at end]
    expect(await m.join(closer)).toEqual([0, 0, 0, 1]);
    // holder: [closes before its fdrop, f_count then, fdrop error, closes after]
    expect(await m.join(holder)).toEqual([0, 1, 0, 1]);
    expect(zones(m)).toEqual(z0);
    await down(m);
  });

  it('dup, dup2, F_DUPFD, closefrom and fcntl: semantics and errnos', async () => {
    const m = await boot(engine);
    const a = m.kmalloc(4), b = m.kmalloc(4);
    const z0 = zones(m);
    const r = await m.join(await spawn(m, 0, 'dup_semantics', a, b));
    expect(zones(m)).toEqual(z0);
    await down(m);
    expect(r).toEqual({
      a: 0, b: 1,
      dup: [0, 2, 2],                         // lowest free fd; one more reference
      dup2self: [0, 0, 2],                    // onto itself: nothing happens
      dup2over: [0, 1, 1, 1, 3],              // fd 1's file closed (once), fd 1 is now a's
      dupBad: [EBADF, EBADF],
      // bad old; new < 0; new at the table's last slot; closed old onto itself.  kern_dup
      // tests new's range (EINVAL) before old (EBADF), as DragonFly 2008 does.
      dup2Bad: [EBADF, EINVAL, EINVAL, EBADF],
      dup2far: [0, 40, NDFILE_MAX],           // beyond NDFILE: the table grows
      dupfd: [0, 10],
      dupfdBad: [EINVAL, EBADF, EINVAL],
      setfd: 0, getfd10: 1, getfd2: 0,
      dup2cloexec: [0, 0, 1],                 // the new fd does not inherit close-on-exec
      getfl: O_RDWR,
      setfl: 0,
      getflAfter: O_RDWR | O_NONBLOCK | O_ASYNC,   // O_APPEND and the access mode did not change
      ioctls: [1, 1],                          // FIONBIO 1, FIOASYNC 1 pushed to the file
      setflRefused: EOPNOTSUPP,
      getflRefused: O_RDWR | O_ASYNC,          // FNONBLOCK undone, FASYNC left set (as DragonFly)
      ioctlsRefused: [0, 1],
      fcntlBad: [EINVAL, EBADF, EBADF, EBADF],
      countBeforeClosefrom: 6,
      closefrom2: [0, 0, 2, 1],
      closefromNeg: [EINVAL, 2],              // SEED's kern_closefrom: fd < 0 is EINVAL, nothing closed
      closefrom0: [0, 1, 1, -1],
    });
  });

  it('holdsock: EBADF for a bad fd, ENOTSOCK for a non-socket, a reference for a socket', async () => {
    const { r } = await run1(engine, 8, 'holdsock_errors');
    expect(r).toEqual([EBADF, 0, ENOTSOCK, 0, 0, 1, 2, 0, 1, 1]);
  });

  it('fork: the child holds a reference to every published file, not the reservations; exit releases them', async () => {
    const { r } = await run1(engine, 12, 'fork_refs');
    expect(r).toMatchObject({
      e: 0, before: [1, 1, 1], counts: [2, 2, 2], same: [1, 1, 1], found: 1, parent: 1, credShared: 1,
      rfd: 3, childReserved: 0, childLowest: 3, afterChild: [1, 1, 1], closesAfterChild: [0, 0, 0],
      closes: [1, 1, 1], gone: [0, 0],
    });
    const pids = (r as { pids: number[] }).pids;
    expect(pids[1]).toBeGreaterThan(pids[0]);
  });
});
