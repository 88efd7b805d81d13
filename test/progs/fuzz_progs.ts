/*
 * fuzz_progs.ts: a process that calls every system call of Sys thousands of times with
 * arguments drawn from plausible values (open descriptors, real flags, buffers, paths)
 * and from garbage (NaN, negative and fractional numbers, huge ones, strings, objects,
 * arrays, symbols, bigints, typed arrays of the wrong kind), for test/fuzz.test.ts.
 *
 * A call may return or throw SysError; anything else it throws is an exception from
 * inside the kernel, and is reported.  Nothing here may block for good: every descriptor
 * the process gets is made non-blocking at once, timeouts are never infinite, and the
 * calls that would end or split the process (exit, fork, kill of a real pid, a fatal
 * signal's default action) are kept out of reach.
 */

import {
  Sys, SysError, ProcessKilled, ProcessExit, AF_LOCAL, AF_INET, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOL_SOCKET,
  SO_ACCEPTCONN, SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT, SO_RCVLOWAT, SO_SNDTIMEO,
  SO_RCVTIMEO, SO_ERROR, SO_TYPE, SO_NOSIGPIPE, SO_ACCEPTFILTER, SO_OOBINLINE, SO_TIMESTAMP,
  MSG_OOB, MSG_PEEK, MSG_EOR, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_EOF, MSG_NOSIGNAL, SHUT_RD, SHUT_WR, SHUT_RDWR,
  F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_SETOWN, O_NONBLOCK, O_ASYNC, FIOASYNC, FIONREAD,
  FIOSETOWN, FIOGETOWN, SIOCATMARK, SIGPIPE, SIGUSR1, SIGUSR2, SIGIO, SIGURG, SIGHUP, SIG_IGN, SIG_DFL, SA_RESTART,
  RLIMIT_NOFILE, RLIMIT_SBSIZE, RLIMIT_CPU, POLLIN, POLLOUT, POLLPRI, EVFILT_READ, EVFILT_WRITE, EVFILT_TIMER, EV_ADD,
  EV_DELETE, EV_ONESHOT, EV_CLEAR, SCM_RIGHTS, SCM_CREDS, scm_rights, cmsg_rights, WNOHANG, WIFEXITED, WEXITSTATUS, WIFSIGNALED,
  WTERMSIG, SIGKILL, SIGTERM, type MsgIn,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';

/* xorshift32: the fuzzer's own deterministic choices. */
class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed | 0) || 0x2545f491; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number { return this.next() % n; }
  pick<T>(a: readonly T[]): T { return a[this.below(a.length)]; }
  chance(p: number): boolean { return this.next() / 0x100000000 < p; }
}

/* Garbage for any argument. */
const GARBAGE: readonly unknown[] = [
  undefined, null, NaN, Infinity, -Infinity, -1, -0, 0, 1, 2, 1.5, -7.25, 0x7fffffff, 0x80000000, -0x80000000,
  2 ** 40, 2 ** 53, 1e300, '', 'x', '3', '/fz', {}, [], [1, 2], [-1], true, false, Symbol('fz'), 1n, -3n,
  () => 1, new Uint8Array(0), new Uint8Array(3), new Int16Array(4), new Float64Array(2), new DataView(new ArrayBuffer(4)),
  new ArrayBuffer(8), { fd: 3, events: 1 }, { sec: -1, usec: 0 }, { sec: 0, nsec: 2e9 }, { onoff: 1, linger: -5 },
  { level: SOL_SOCKET, type: SCM_RIGHTS, data: new Uint8Array(3) }, new Uint8Array(70000),
];

/* Garbage that cannot be a long wait: no huge positive number, no null or undefined (forever). */
const BIG = new Set<unknown>([Infinity, 0x7fffffff, 0x80000000, 2 ** 40, 2 ** 53, 1e300, null, undefined]);
const GARBAGE_T: readonly unknown[] = GARBAGE.filter((v) => !BIG.has(v));

/* Paths: real, too long, with a NUL, empty, relative, in a directory that does not exist. */
const PATHS: readonly unknown[] = [
  '/fz/a', '/fz/b', '/fz/d', '/fz/d/s', '/fz', '/', '', 'rel', '/no/such/dir/s', '/fz/' + 'n'.repeat(120),
  '/fz/' + 'm'.repeat(300), '/fz/nul\0x', '/fz/\u00e9t\u00e9', 42, null,
];

const FLAGS = [0, MSG_OOB, MSG_PEEK, MSG_EOR, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_EOF, MSG_NOSIGNAL,
  MSG_PEEK | MSG_WAITALL, MSG_DONTWAIT | MSG_PEEK, 0x40000000, -1];
const SOCKOPTS = [SO_ACCEPTCONN, SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT,
  SO_RCVLOWAT, SO_SNDTIMEO, SO_RCVTIMEO, SO_ERROR, SO_TYPE, SO_NOSIGPIPE, SO_ACCEPTFILTER, SO_OOBINLINE, SO_TIMESTAMP,
  0x9999, -1];
const OPTVALS: readonly unknown[] = [0, 1, 2, 100, 4096, 65536, 1 << 30, -1, true, false, { onoff: 1, linger: 3 },
  { onoff: 0, linger: 0 }, { sec: 0, usec: 5000 }, { sec: 1, usec: 2000000 }, { sec: -1, usec: 0 },
  { name: 'dataready' }, { name: 'httpready', arg: 'x' }, { name: 'nosuch' }, { name: 7 }, null];
/* fcntl and ioctl commands that cannot take O_NONBLOCK away (F_SETFL and FIONBIO are set below, with it kept). */
const FCNTLS = [F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_GETOWN, F_SETOWN, 99, -1];
const IOCTLS = [FIOASYNC, FIONREAD, FIOSETOWN, FIOGETOWN, SIOCATMARK, 0x12345, -1];
/* Signals whose actions may change: none that a pending event would turn fatal or stop. */
const SIGS = [SIGUSR1, SIGUSR2, SIGIO, SIGURG, SIGHUP, 0, 33, -1, 1.5];
const HANDLERS: readonly unknown[] = [SIG_IGN, SIG_DFL, () => undefined, 7, 'x', null];
const SYSCTLS = ['kern.ipc.maxsockbuf', 'kern.ipc.somaxconn', 'kern.ipc.sockbuf_waste_factor', 'kern.ipc.numopensockets',
  'kern.maxfiles', 'net.local.stream.sendspace', 'net.local.dgram.recvspace', 'kern.ipc.maxsockets', 'no.such', '',
  'kern', 'kern.ipc.maxsockbuf.x'];

/* What forked children threw from the kernel (they share their parent's isolate). */
const FUZZ_BAD: string[] = [];

/* sys_fuzz's trace (with `trace`): the last calls and their outcomes, newest last. */
export const FUZZ_TRACE: string[] = [];

export interface FuzzResult { calls: number; errors: number; ok: number; bad: string[] }

function show(v: unknown): string {
  if (typeof v === 'symbol') return 'Symbol()';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'fn';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 24 ? v.slice(0, 24) + '…' : v);
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

/*
 * The rights pair's descriptors: no pool of arguments names them.  But closefrom(0) (a
 * garbage argument) closes them, and the pool's next sockets may take the numbers; rights
 * sent on such a socket would be drained by the pool's plain reads and stay in flight for
 * good (DragonFly 2008), a leak the fuzzer made.  The sender carries a mark (SO_SNDBUF
 * RIGHTS_MARK, a size no fuzzed call sets) that sendmsg_rights checks first.
 */
const RIGHTS_TX = 60, RIGHTS_RX = 61;
const RIGHTS_MARK = 4093;

/*
 * sys_fuzz: `n` random calls, from this thread alone, or from `threads` threads of this
 * process on both CPUs, or from this process and `forks` forked children.  Returns how
 * many returned, how many threw SysError, and every other exception as "call: Name:
 * message" (at most 20).  With `trace`, each call and its outcome go to FUZZ_TRACE (to
 * find the call that broke something).
 */
export function* sys_fuzz(sys: Sys, seed: number, n: number, trace = false, threads = 0, forks = 0): Blocking<FuzzResult> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);
  try { yield* sys.mkdir('/fz'); } catch { /* a second run */ }
  const fds: number[] = [];
  for (const t of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM]) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, t);
    fds.push(a, b);
  }
  for (const f of fds) yield* sys.fcntl(f, F_SETFL, O_NONBLOCK);
  fds.push(yield* sys.kqueue());                  // (a kqueue refuses FIONBIO: ENOTTY; kevent has its timeout)
  // The rights pair, on descriptors no pool names (a garbage closefrom(0) may close it: see RIGHTS_MARK).
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  yield* sys.dup2(a, RIGHTS_TX);
  yield* sys.dup2(b, RIGHTS_RX);
  yield* sys.close(a);
  yield* sys.close(b);
  yield* sys.fcntl(RIGHTS_TX, F_SETFL, O_NONBLOCK);
  yield* sys.fcntl(RIGHTS_RX, F_SETFL, O_NONBLOCK);
  yield* sys.setsockopt(RIGHTS_TX, SOL_SOCKET, SO_SNDBUF, RIGHTS_MARK);
  if (forks > 0) {
    // Child processes with copies of this table (every file shared), fuzzing at once; this
    // process signals them at random, SIGKILL included, then reaps them.
    FUZZ_BAD.length = 0;
    const kids: number[] = [];
    for (let i = 0; i < forks; i++) kids.push(yield* sys.fork(fuzz_child, seed * 17 + i, n, fds, trace));
    const res = yield* fuzz_loop(sys, seed, n, fds, true, trace, kids);
    for (const kid of kids) {
      const st = yield* sys.waitpid(kid, 0);
      if (WIFEXITED(st.status) && WEXITSTATUS(st.status) !== 0) res.bad.push(`child ${kid} exited ${WEXITSTATUS(st.status)}`);
      if (WIFSIGNALED(st.status) && ![SIGKILL, SIGUSR1, SIGUSR2, SIGTERM].includes(WTERMSIG(st.status))) {
        res.bad.push(`child ${kid} killed by signal ${WTERMSIG(st.status)}`);
      }
    }
    res.bad.push(...FUZZ_BAD.slice(0, 20));
    return res;
  }
  if (threads === 0) return yield* fuzz_loop(sys, seed, n, fds, true, trace);
  // Threads of this process on both CPUs, all on the one descriptor table.  None makes a
  // descriptor for a new file (socket, socketpair, accept): until its maker set O_NONBLOCK,
  // another thread's recv on it could wait for good.
  const tids: number[] = [];
  for (let i = 0; i < threads; i++) {
    tids.push(yield* sys.thread(fuzz_thread, { cpu: i % 2, args: [seed * 31 + i, n, fds] }));
  }
  const res: FuzzResult = { calls: 0, errors: 0, ok: 0, bad: [] };
  for (const tid of tids) {
    const t = (yield* sys.join(tid)) as FuzzResult;
    res.calls += t.calls;
    res.errors += t.errors;
    res.ok += t.ok;
    res.bad.push(...t.bad);
  }
  return res;
}

/*
 * A forked child of sys_fuzz: its exceptions from the kernel go to FUZZ_BAD (a fork runs on
 * its parent's CPU, so in its parent's isolate), and its exit status is how many there were.
 */
export function* fuzz_child(sys: Sys, seed: number, n: number, fds: number[], trace = false): Blocking<number> {
  const r = yield* fuzz_loop(sys, seed, n, fds, true, trace, [], true);
  FUZZ_BAD.push(...r.bad.map((b) => `child: ${b}`));
  return Math.min(r.bad.length, 255);
}

/* One thread of a threaded sys_fuzz. */
export function* fuzz_thread(sys: Sys, seed: number, n: number, fds: number[]): Blocking<FuzzResult> {
  return yield* fuzz_loop(sys, seed, n, fds, false, false);
}

/*
 * The calls.  `creates`: may make descriptors for new files.  `kids`: child pids this
 * process may signal.  `forked`: one of several processes, so kill() and waitpid() must
 * not reach the family at all (garbage pids are small numbers: its own).
 */
function* fuzz_loop(sys: Sys, seed: number, n: number, fds: number[], creates: boolean, trace: boolean,
    kids: number[] = [], forked = false): Blocking<FuzzResult> {
  const r = new Rng(seed);
  const res: FuzzResult = { calls: 0, errors: 0, ok: 0, bad: [] };
  const aios: number[] = [];
  const buf = new Uint8Array(64);
  const me = yield* sys.getpid();
  const family = forked || kids.length > 0;
  const NOT_ME = GARBAGE.filter((v) => v !== me && !(family && typeof v === 'number' && v >= 0 && v < 1000));

  // Every new descriptor non-blocking at once, so that no call can wait for good.
  function* keep(fd: unknown): Blocking<void> {
    if (typeof fd !== 'number') return;
    try {
      yield* sys.fcntl(fd, F_SETFL, O_NONBLOCK | (r.chance(0.2) ? O_ASYNC : 0));
      fds.push(fd);
    } catch { /* a descriptor that is not a socket's may refuse: fine, it cannot block */ }
  }
  function* setup(): Blocking<void> {
    for (const t of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
      try {
        const [a, b] = yield* sys.socketpair(AF_LOCAL, t);
        yield* keep(a);
        yield* keep(b);
      } catch { /* out of descriptors */ }
    }
    try { yield* keep(yield* sys.kqueue()); } catch { /* ditto */ }
  }

  const fd = (): unknown => (r.chance(0.75) && fds.length > 0 ? r.pick(fds) : r.chance(0.5) ? r.pick([0, 1, 2, 64, 1023, 1024]) : r.pick(GARBAGE));
  const any = (plausible: readonly unknown[]): unknown => (r.chance(0.7) ? r.pick(plausible) : r.pick(GARBAGE));
  const anyt = (plausible: readonly unknown[]): unknown => (r.chance(0.7) ? r.pick(plausible) : r.pick(GARBAGE_T));
  const ubuf = (): unknown => (r.chance(0.8) ? r.pick([buf, new Uint8Array(1), new Uint8Array(4096), buf.subarray(5, 9)]) : r.pick(GARBAGE));
  const len = (): unknown => (r.chance(0.5) ? undefined : any([0, 1, 5, 64, 65, 4096, -1, 1.5]));
  const path = (): unknown => (r.chance(0.85) ? r.pick(PATHS) : r.pick(GARBAGE));
  // Receive flags without MSG_WAITALL: DragonFly 2008's soreceive, having copied part of
  // the request, waits for the rest in its MSG_WAITALL loop even on a non-blocking socket.
  const rflags = (): unknown => ((f) => (Number.isInteger(f) ? (f as number) & ~MSG_WAITALL : f))(any(FLAGS));
  // Short timeouts only.
  const tv = (): unknown => anyt([{ sec: 0, usec: 0 }, { sec: 0, usec: 1000 }, { sec: 0, usec: -1 }, { sec: 0, usec: 1e6 }]);
  const ts = (): unknown => anyt([{ sec: 0, nsec: 0 }, { sec: 0, nsec: 1e6 }, { sec: -1, nsec: 0 }, { sec: 0, nsec: 1e9 }]);

  // The trace is kept in this module (the calls may close every descriptor, the console's
  // too): on the deterministic engine the host imports the module and reads FUZZ_TRACE.
  function* tell(text: string): Blocking<void> {
    FUZZ_TRACE.push(text);
    if (FUZZ_TRACE.length > 4000) FUZZ_TRACE.splice(0, 2000);
  }
  const payloads = (): number[][] => (creates ? [fds.slice(0, 2), [RIGHTS_TX], [RIGHTS_RX], [99]] : [fds.slice(0, 2), [99]]);
  type Call = [string, () => Blocking<unknown>, boolean?];   // name, call, returns new descriptors
  // Rights go out only on the rights pair's sender: when RIGHTS_TX is no longer it (see
  // RIGHTS_MARK), the call is a getpid.
  function* sendmsg_rights(control: unknown, flags: unknown): Blocking<unknown> {
    let mark: unknown = 0;
    try { mark = yield* sys.getsockopt(RIGHTS_TX, SOL_SOCKET, SO_SNDBUF); } catch { /* closed */ }
    if (mark !== RIGHTS_MARK) return yield* s.getpid();
    return yield* s.sendmsg(RIGHTS_TX, { buf, control: [control] }, flags);
  }
  const s0 = sys as unknown as Record<string, (...a: unknown[]) => Blocking<unknown>>;
  let last = '';
  const s = trace ? new Proxy(s0, { get: (t, k) => (...a: unknown[]) => { last = `${String(k)}(${a.map(show).join(', ')})`; return (t[k as string] as (...x: unknown[]) => Blocking<unknown>).apply(sys, a); } }) : s0;
  const calls: Call[] = [
    ['socket', () => s.socket(any([AF_LOCAL, AF_INET, 0, 99]), any([SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 9]), any([0, 1, 6])), true],
    ['socketpair', () => s.socketpair(any([AF_LOCAL, AF_INET]), any([SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW]), any([0, 17])), true],
    ['bind', () => s.bind(fd(), path())],
    ['listen', () => s.listen(fd(), any([0, 1, 5, 128, -1, 1 << 20]))],
    ['accept', () => s.accept(fd()), true],
    ['connect', () => s.connect(fd(), path())],
    ['send', () => s.send(fd(), ubuf(), any(FLAGS), len())],
    ['sendto', () => s.sendto(fd(), ubuf(), any(FLAGS), r.chance(0.3) ? null : path(), len())],
    ['recv', () => s.recv(fd(), ubuf(), rflags(), len())],
    ['recvfrom', () => s.recvfrom(fd(), ubuf(), rflags(), len())],
    ['sendmsg', () => s.sendmsg(fd(), any([{ buf }, { buf, len: 3 }, { buf, path: '/fz/a' },
      { control: [{ level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(0) }] },
      { buf, control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, data: new Uint8Array(5) }] }, { control: 'x' }, { buf: 'x' }, {}]), any(FLAGS))],
    ['recvmsg', () => s.recvmsg(fd(), ubuf(), any([{}, { flags: MSG_PEEK }, { controlLen: 0 }, { controlLen: 64 }, { len: 2 },
      { controlLen: -1 }, { flags: 'x' }, null]))],
    // Rights travel only over their own datagram pair, read only with room for them: rights
    // that a plain recv drops, or that a full stream receiver refuses, stay in flight for
    // good, as in DragonFly 2008 (uipc_usrreq_rights.ts), and would read as a leak here.
    // The pair may pass itself (a cycle for unp_gc) only with one thread: another thread
    // could read its received descriptor, a reused number, with a plain read.
    ['sendmsg rights', () => sendmsg_rights(scm_rights(r.pick(payloads())), any([0, MSG_DONTWAIT, MSG_OOB, MSG_EOR, -1]))],
    ['recvmsg rights', () => s.recvmsg(RIGHTS_RX, new Uint8Array(64), r.pick([{ controlLen: 64 }, { controlLen: 64, flags: MSG_PEEK }])), true],
    ['shutdown', () => s.shutdown(fd(), any([SHUT_RD, SHUT_WR, SHUT_RDWR, 3]))],
    ['setsockopt', () => s.setsockopt(fd(), any([SOL_SOCKET, 0, 6, -1]), any(SOCKOPTS), any(OPTVALS))],
    ['getsockopt', () => s.getsockopt(fd(), any([SOL_SOCKET, 0, 6]), any(SOCKOPTS))],
    ['getpeereid', () => s.getpeereid(fd())],
    ['getsockname', () => s.getsockname(fd())],
    ['getpeername', () => s.getpeername(fd())],
    ['read', () => s.read(fd(), ubuf(), len())],
    ['write', () => s.write(fd(), ubuf(), len())],
    ['print', () => s.print(any(['fuzz\n', '', 'é']))],
    ['close', () => s.close(fd())],
    ['fstat', () => s.fstat(fd())],
    ['closefrom', () => s.closefrom(any([64, 1000, 1 << 20, -1]))],
    ['dup', () => s.dup(fd()), true],
    ['dup2', () => s.dup2(fd(), any([3, 9, 40, 200, -1, 1 << 20])), true],
    ['fcntl', () => s.fcntl(fd(), any(FCNTLS), any([0, 1, 5, 1 << 20, -1, 99999]))],
    ['fcntl F_SETFL', () => s.fcntl(fd(), F_SETFL, O_NONBLOCK | (r.chance(0.5) ? O_ASYNC : 0))],
    ['ioctl', () => s.ioctl(fd(), any(IOCTLS), any([0, 1, true, false, 99999, -1]))],
    ['select', () => s.select(any([0, 5, 64, 1024, 2000, -1]), any([fds, [], [1, 2], [99], null]),
      any([fds, null]), any([fds, null]), tv())],
    ['poll', () => s.poll(any([fds.map((f) => ({ fd: f, events: POLLIN | POLLOUT | POLLPRI })), [], [{ fd: -1, events: POLLIN }],
      [{ fd: 999, events: POLLIN }], [{ fd: 'x', events: 1 }], 'x']), ((t) => (t === -1 ? 0 : t))(anyt([0, 1, 5, -2, 1.5])))],
    ['kqueue', () => s.kqueue(), true],
    ['kevent', () => s.kevent(fd(), any([[], null, fds.map((f) => ({ ident: f, filter: EVFILT_READ, flags: EV_ADD | EV_CLEAR })),
      [{ ident: 3, filter: EVFILT_WRITE, flags: EV_ADD | EV_ONESHOT }], [{ ident: 5, filter: EVFILT_READ, flags: EV_DELETE }],
      [{ ident: 1, filter: EVFILT_TIMER, flags: EV_ADD, data: 1 }], [{ ident: 'x', filter: 1, flags: 1 }], [null]]),
    any([0, 1, 8, -1, 1e6]), ts())],
    ['mkdir', () => s.mkdir(path(), any([0o777, 0o700, 0, -1, 0o10000]))],
    ['unlink', () => s.unlink(path())],
    ['rmdir', () => s.rmdir(path())],
    ['chmod', () => s.chmod(path(), any([0o777, 0o700, 0, -1, 0o10000]))],
    ['sched_yield', () => s.sched_yield()],
    ['sleep', () => s.sleep(anyt([0, 1, 5, -1, 1.5]))],
    ['aio_read', () => s.aio_read(fd(), ubuf(), len())],
    ['aio_write', () => s.aio_write(fd(), ubuf(), len())],
    ['aio_error', () => s.aio_error(r.chance(0.7) && aios.length > 0 ? r.pick(aios) : r.pick(GARBAGE))],
    ['aio_return', () => s.aio_return(r.chance(0.7) && aios.length > 0 ? r.pick(aios) : r.pick(GARBAGE))],
    ['aio_suspend', () => s.aio_suspend(any([aios.slice(0, 3), [], [12345], 'x']), anyt([0, 1, -1, 1.5]))],
    ['aio_cancel', () => s.aio_cancel(fd(), r.chance(0.5) ? 0 : r.chance(0.7) && aios.length > 0 ? r.pick(aios) : r.pick(GARBAGE))],
    ['getpid', () => s.getpid()],
    ['getuid', () => s.getuid()],
    ['geteuid', () => s.geteuid()],
    ['gettid', () => s.gettid()],
    ['getppid', () => s.getppid()],
    ['setuid', () => s.setuid(any([0, 1000, 1001, -1, 1 << 31]))],
    // kern.maxfiles only raised: lowered, it would keep the next process from opening its console.
    ['sysctl', () => ((name) => s.sysctl(name, r.chance(0.5) ? undefined : name === 'kern.maxfiles' ? 1 << 16 :
      any([0, 1, 4096, 1 << 20, -1, 1 << 30])))(any(SYSCTLS))],
    ['getrlimit', () => s.getrlimit(any([RLIMIT_NOFILE, RLIMIT_SBSIZE, RLIMIT_CPU, 99, -1]))],
    ['setrlimit', () => s.setrlimit(any([RLIMIT_NOFILE, RLIMIT_SBSIZE, RLIMIT_CPU, 99]),
      any([{ cur: 64, max: 64 }, { cur: 1 << 20, max: 1 << 20 }, { cur: 5, max: 1 }, { cur: -1, max: -1 }, { cur: 'x' }, null]))],
    // kill: only at pids no process has, or with no signal (0: an existence check).
    ['kill', () => s.kill(r.chance(0.7) ? r.pick([99999, -99999, 1 << 30]) : r.pick(NOT_ME), any([0, SIGUSR1, 99, -1]))],
    ['kill 0', () => s.kill(any([1, 2, 3, 1.5, 'x']), 0)],
    ['sigaction', () => s.sigaction(any(SIGS), any(HANDLERS), any([0, SA_RESTART, -1]))],
    ['waitpid', () => s.waitpid(family ? r.pick([99999, 1.5, 'x']) : any([-1, 0, 99999, 1.5]), WNOHANG)],
    ...(kids.length > 0 ? [['kill child', () => s.kill(r.pick(kids), r.pick([0, 0, 0, SIGUSR2, SIGKILL, SIGUSR1, SIGTERM]))] as Call] : []),
  ];

  const usable = creates ? calls : calls.filter(([name]) => !NEW_FILES.has(name));
  for (let i = 0; i < n; i++) {
    if (creates && i % 97 === 0 && fds.length < 6) yield* setup();
    const [name, call, makes] = usable[r.below(usable.length)];
    res.calls++;
    let v: unknown;
    try {
      const b = call();
      if (trace) yield* tell(`[${me}] ${i} ${last}\n`);
      v = yield* b;
      if (trace) yield* tell(`[${me}]    -> ${show(v)}\n`);
      res.ok++;
    } catch (e) {
      // A signal's default action or another thread's exit ends this process: not a call's answer.
      if (e instanceof ProcessKilled || e instanceof ProcessExit) throw e;
      if (e instanceof SysError && typeof e.errno === 'number' && e.errno > 0 && e.code.startsWith('E')) {
        if (trace) yield* tell(`[${me}]    -> ${e.code}\n`);
        res.errors++;
        continue;
      }
      const err = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : `non-Error ${show(e)}`;
      if (res.bad.length < 20) res.bad.push(`${name}: ${err}`);
      continue;
    }
    if (makes === true) {
      if (Array.isArray(v)) for (const f of v) yield* keep(f);
      else if (typeof v === 'object' && v !== null && 'control' in v) {
        // Closed at once: one may be the rights pair itself, which no plain read may drain.
        for (const c of (v as MsgIn).control) {
          if (c.type !== SCM_RIGHTS) continue;
          for (const f of cmsg_rights(c.data)) {
            try { yield* sys.close(f); } catch { /* a peek: the message keeps the files, no descriptor was made */ }
          }
        }
      } else yield* keep(v);
    }
    if ((name === 'aio_read' || name === 'aio_write') && typeof v === 'number') aios.push(v);
  }
  return res;
}

/* The calls that make a descriptor for a new file, which starts out blocking. */
const NEW_FILES = new Set(['socket', 'socketpair', 'accept']);

/* Every path a fuzz run may have made (bound or mkdir'd), deepest first. */
function fuzz_paths(): string[] {
  const all = new Set<string>();
  for (const v of [...PATHS, ...GARBAGE]) {
    if (typeof v !== 'string' || v === '') continue;
    all.add(v.startsWith('/') ? v : '/' + v);
  }
  return [...all].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

/*
 * Remove what sys_fuzz left in the file namespace (run as root), and let unp_gc run once
 * more.  SEED runs unp_gc only from unp_detach while rights are in flight, so a cycle whose
 * last outside descriptor was closed after the last detach (one process closes the
 * rights pair's receiver after another closed the sender) waits for the next detach:
 * closing a socketpair here is that detach.  Returns the paths removed.
 */
export function* fuzz_cleanup(sys: Sys): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(a);
  yield* sys.close(b);
  let removed = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (const p of fuzz_paths()) {
      for (const op of [sys.unlink, sys.rmdir]) {
        try { yield* op.call(sys, p); removed++; } catch { /* not there, or not that kind */ }
      }
    }
  }
  return removed;
}
