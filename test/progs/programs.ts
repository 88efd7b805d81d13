/*
 * Programs for test/sys.test.ts: simulated processes started with Machine.spawnProcess,
 * each a generator `function* (sys: Sys, ...args)` calling the kernel through Sys.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_TYPE, SO_SNDBUF, SHUT_WR, SHUT_RD, MSG_PEEK,
  F_GETFL, F_SETFL, O_NONBLOCK, O_RDWR, FIONBIO, FIONREAD, SIGPIPE, SIGUSR1, SIG_IGN, RLIMIT_NOFILE,
  SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO, SO_RCVBUF,
  RLIMIT_SBSIZE, RLIM_INFINITY, F_GETOWN, F_SETOWN, O_ASYNC, SIGIO,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { connect_retry, read_full, recv_checksum, send_xorshift } from '../../src/libc/libsim.js';
import { attempt, wait_asleep, wait_signal_taken } from './common.js';

function code(e: unknown): string {
  if (e instanceof SysError) return e.code;
  throw e;
}


/* ---- stream server and client over AF_LOCAL ---- */

export function* server(sys: Sys, path: string): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 5);
  const c = yield* sys.accept(s);
  const peer = yield* sys.getpeername(c);
  const [total, h] = yield* recv_checksum(sys, c, new Uint8Array(3000));
  const reply = new Uint8Array(8);
  new DataView(reply.buffer).setUint32(0, total);
  new DataView(reply.buffer).setUint32(4, h);
  yield* sys.write(c, reply);
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.print(`server got ${total} bytes`);
  return [total, h, peer === '' ? 1 : 0];
}

export function* client(sys: Sys, path: string, total: number, seed: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const name = yield* sys.getpeername(s);
  const [sent, h] = yield* send_xorshift(sys, s, new Uint8Array(4096), total, seed, 1, 4096);
  yield* sys.shutdown(s, SHUT_WR);
  const reply = new Uint8Array(8);
  yield* read_full(sys, s, reply);
  const dv = new DataView(reply.buffer);
  yield* sys.close(s);
  return [sent, h, dv.getUint32(0), dv.getUint32(4), name === path ? 1 : 0];
}

/* ---- datagram socketpair: record boundaries ---- */

export function* dgram_pair(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const out: unknown[] = [a, b];
  for (const n of [5, 1, 300, 10]) yield* sys.send(a, new Uint8Array(n).fill(n & 0xff));
  out.push(yield* sys.ioctl(b, FIONREAD));
  const buf = new Uint8Array(1000);
  for (let i = 0; i < 3; i++) {
    const n = yield* sys.recv(b, buf);
    out.push(n, buf[0]);
  }
  // A short buffer takes the front of one record; the rest of it is discarded.
  out.push(yield* sys.recv(b, buf, 0, 4));
  // Non-blocking and empty: EAGAIN.
  yield* sys.fcntl(b, F_SETFL, O_NONBLOCK);
  out.push((yield* sys.fcntl(b, F_GETFL)) === (O_RDWR | O_NONBLOCK) ? 'nonblock' : 'blocking');
  out.push(yield* attempt(sys.recv(b, buf)));
  yield* sys.ioctl(b, FIONBIO, false);
  out.push((yield* sys.fcntl(b, F_GETFL)) & O_NONBLOCK);
  // The other way, with a peek first.
  yield* sys.send(b, new Uint8Array([7, 8, 9]));
  out.push(yield* sys.recv(a, buf, MSG_PEEK), yield* sys.recv(a, buf), buf[2]);
  out.push(yield* sys.getsockopt(a, SOL_SOCKET, SO_TYPE));
  yield* sys.setsockopt(a, SOL_SOCKET, SO_SNDBUF, 8192);
  out.push(yield* sys.getsockopt(a, SOL_SOCKET, SO_SNDBUF));
  // dup / dup2 share the socket.
  const d = yield* sys.dup(a);
  out.push(d, yield* sys.dup2(a, 9));
  yield* sys.send(9, new Uint8Array(2));
  out.push(yield* sys.recv(b, buf));
  yield* sys.close(a);
  yield* sys.close(d);
  return out;   // fd 9 and b are left to exit
}

/* ---- EPIPE and SIGPIPE ---- */

function* epipe_setup(sys: Sys): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(b);
  return a;
}

/* SIGPIPE's default action: the write kills the process. */
export function* epipe_default(sys: Sys, viaSend: boolean): Blocking<string> {
  const a = yield* epipe_setup(sys);
  if (viaSend) yield* sys.send(a, new Uint8Array(10));
  else yield* sys.write(a, new Uint8Array(10));
  return 'survived';
}

/* SIGPIPE ignored: EPIPE. */
export function* epipe_ignored(sys: Sys): Blocking<unknown[]> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);
  const a = yield* epipe_setup(sys);
  try {
    yield* sys.write(a, new Uint8Array(10));
    return ['no error'];
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    return [e.code, e.errno, e.syscall];
  }
}

/* SIGPIPE caught: the handler runs, then the call fails with EPIPE. */
export function* epipe_caught(sys: Sys): Blocking<unknown[]> {
  let caught = 0;
  yield* sys.sigaction(SIGPIPE, (sig) => { if (sig === SIGPIPE) caught++; });
  const a = yield* epipe_setup(sys);
  const c = yield* attempt(sys.send(a, new Uint8Array(10)));
  return [c, caught];
}

/* A program that catches its own SIGPIPE death and returns anyway is still killed. */
export function* epipe_swallow(sys: Sys): Blocking<string> {
  const a = yield* epipe_setup(sys);
  try { yield* sys.write(a, new Uint8Array(1)); } catch { /* ignored */ }
  return 'returned';
}

/* ---- console ---- */

export function* hello(sys: Sys, word: string, n: number): Blocking<number> {
  const pid = yield* sys.getpid();
  for (let i = 0; i < n; i++) yield* sys.print(`${word} ${i}`);
  const enc = new TextEncoder();
  yield* sys.write(2, enc.encode('part'));          // a line in two writes, on stderr
  yield* sys.write(1, enc.encode('ial\n'));
  const buf = new Uint8Array(4);
  const eof = yield* sys.read(0, buf);
  return eof === 0 ? pid : -1;
}

/* ---- a program that throws ---- */

export function* thrower(sys: Sys, kind: string): Blocking<number> {
  yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(s, `/thrower-${kind}.sock`);
  if (kind === 'error') throw new Error('boom in program');
  if (kind === 'value') throw 42;         // eslint-disable-line no-throw-literal
  if (kind === 'yield') yield 99 as never;
  return 0;
}

export function* unlinker(sys: Sys, paths: string[]): Blocking<string[]> {
  const out: string[] = [];
  for (const p of paths) out.push(yield* attempt(sys.unlink(p)));
  return out;
}

export function not_a_generator(): number { return 1; }

/* ---- bad input ---- */

export function* bad_input(sys: Sys): Blocking<string[]> {
  const out: string[] = [];
  const any = sys as unknown as Record<string, (...a: unknown[]) => Blocking<unknown>>;
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(a);
  out.push(yield* attempt(sys.close(a)));                              // EBADF: closed
  out.push(yield* attempt(sys.send(a, new Uint8Array(1))));            // EBADF
  out.push(yield* attempt(sys.read(17, new Uint8Array(1))));           // EBADF: never open
  out.push(yield* attempt(sys.send(1, new Uint8Array(1))));            // ENOTSOCK: the console
  out.push(yield* attempt(sys.getsockname(1)));                        // ENOTSOCK
  out.push(yield* attempt(sys.shutdown(1, SHUT_RD)));                  // EOPNOTSUPP: any file may be shut down; a device's fo_shutdown refuses
  out.push(yield* attempt(sys.accept(2)));                             // ENOTSOCK
  out.push(yield* attempt(sys.shutdown(b, 7)));                        // EINVAL: bad how
  out.push(yield* attempt(sys.fcntl(b, 99)));                          // EINVAL: bad cmd
  out.push(yield* attempt(sys.sigaction(99, SIG_IGN)));                // EINVAL: bad signal
  out.push(yield* attempt(sys.sigaction(SIGUSR1, 7 as never)));        // EINVAL: bad disposition
  out.push(yield* attempt(sys.getrlimit(99)));                         // EINVAL
  out.push(yield* attempt(sys.recv(b, new Uint8Array(1), 0x40000000)));// ok: an unknown flag is ignored (EOF: a closed)
  out.push(yield* attempt(any.send('x' as never, new Uint8Array(1))));  // EBADF: not an fd
  out.push(yield* attempt(any.send(b, 'abc')));                        // EFAULT: not a Uint8Array
  out.push(yield* attempt(any.read(0, null)));                         // EFAULT
  out.push(yield* attempt(sys.write(1, new Uint8Array(4), -1)));       // EINVAL: negative length
  out.push(yield* attempt(sys.write(1, new Uint8Array(4), 10)));       // EFAULT: past the buffer
  out.push(yield* attempt(sys.close(1.5)));                            // EBADF
  out.push(yield* attempt(any.dup('x')));                              // EBADF
  out.push(yield* attempt(sys.dup2(b, -1)));                           // EINVAL: kern_dup checks the target first
  out.push(yield* attempt(sys.ioctl(b, 12345)));                       // ENOTTY
  out.push(yield* attempt(any.bind(b, 123)));                          // EFAULT: not a path
  out.push(yield* attempt(sys.bind(b, 'x'.repeat(254))));              // ENAMETOOLONG: sun_len would be 256
  out.push(yield* attempt(sys.connect(b, '/nowhere')));                // ENOENT (b's peer closed: not connected)
  out.push(yield* attempt(any.setsockopt(b, SOL_SOCKET, SO_SNDBUF, 'big'))); // EINVAL
  out.push(yield* attempt(any.sysctl(5)));                             // EINVAL
  out.push(yield* attempt(sys.sysctl('no.such.oid')));                 // ENOENT
  out.push(yield* attempt(sys.kill(99998, 0)));                        // ESRCH
  out.push(yield* attempt(sys.kill(0, 0)));                            // EINVAL
  out.push(yield* attempt(sys.sleep(-1)));                             // EINVAL
  out.push(yield* attempt(sys.write(1, new Uint8Array(0))));           // ok: the console
  return out;
}

/* ---- process calls ---- */

export function* proc_calls(sys: Sys): Blocking<unknown[]> {
  const out: unknown[] = [];
  out.push(yield* sys.getuid(), yield* sys.geteuid());
  out.push(yield* attempt(sys.setuid(0)));                 // EPERM for uid 1000
  out.push(yield* attempt(sys.setuid(1000)));              // ok: our own
  const rl = yield* sys.getrlimit(RLIMIT_NOFILE);
  yield* sys.setrlimit(RLIMIT_NOFILE, { cur: 5, max: rl.max });
  out.push((yield* sys.getrlimit(RLIMIT_NOFILE)).cur);
  const fds: number[] = [];
  try {
    for (;;) fds.push(yield* sys.socket(AF_LOCAL, SOCK_DGRAM));
  } catch (e) {
    out.push(code(e), fds.length);                         // EMFILE after fds 3 and 4
  }
  for (const fd of fds) yield* sys.close(fd);
  out.push((yield* sys.sysctl('kern.maxfiles')) > 0 ? 'maxfiles' : 'none');
  out.push(yield* attempt(sys.sysctl('kern.maxfiles', 10)));   // EPERM: not root
  let usr1 = 0;
  yield* sys.sigaction(SIGUSR1, () => { usr1++; });
  yield* sys.kill(yield* sys.getpid(), SIGUSR1);               // delivered on the way out of kill
  out.push(usr1);
  yield* sys.mkdir('/d');
  yield* sys.chmod('/d', 0o700);
  out.push(yield* attempt(sys.mkdir('/d')));                   // EEXIST
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, '/d/s');
  out.push(yield* sys.getsockname(s));
  out.push(yield* attempt(sys.unlink('/d/s')), yield* attempt(sys.unlink('/d/s')));
  out.push(yield* attempt(sys.rmdir('/d')));
  return out;
}

/* ---- signals across processes: SA_RESTART restarts a blocked recv ---- */

/*
 * The signalled side: counts SIGUSR1 (caught with flags), accepts one connection on path
 * and sends its pid over it.  Returns the listener, the connection and the count.
 */
function* usr1_server(sys: Sys, path: string, flags: number): Blocking<[number, number, { n: number }]> {
  const usr1 = { n: 0 };
  yield* sys.sigaction(SIGUSR1, () => { usr1.n++; }, flags);
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s);
  const c = yield* sys.accept(s);
  const pid = new Uint8Array(4);
  new DataView(pid.buffer).setUint32(0, yield* sys.getpid());
  yield* sys.send(c, pid);
  return [s, c, usr1];
}

export function* restart_server(sys: Sys, path: string, flags: number): Blocking<unknown[]> {
  const [, c, usr1] = yield* usr1_server(sys, path, flags);
  const buf = new Uint8Array(16);
  let r: unknown;
  try {
    r = yield* sys.recv(c, buf);
  } catch (e) {
    r = code(e);
  }
  yield* sys.unlink(path);
  return [usr1.n, r];
}

export function* restart_client(sys: Sys, path: string, restart: boolean): Blocking<string> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);      // without SA_RESTART the server is gone by the send
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const pid = new Uint8Array(4);
  yield* sys.recv(s, pid, 0x40);
  const spid = new DataView(pid.buffer).getUint32(0);
  // Signal only once the server is blocked in its recv, and send once it has taken the
  // signal: with SA_RESTART, when it is blocked in the restarted recv; without, when its
  // close has reached us (EOF), so the send meets a closed peer.
  if (!(yield* wait_asleep(sys, spid, 0, 'sbwait'))) throw new Error('restart_client: the server never blocked in recv');
  yield* sys.kill(spid, SIGUSR1);
  if (!(yield* wait_signal_taken(sys, spid, SIGUSR1))) throw new Error('restart_client: the server never took SIGUSR1');
  if (restart) {
    if (!(yield* wait_asleep(sys, spid, 0, 'sbwait'))) throw new Error('restart_client: the recv did not restart');
  } else {
    yield* sys.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, { sec: 10, usec: 0 });
    if ((yield* attempt(sys.recv(s, new Uint8Array(1)))) !== 'ok') throw new Error('restart_client: no EOF from the server');
  }
  const r = yield* attempt(sys.send(s, new Uint8Array(5)));
  yield* sys.close(s);
  return r;
}


/*
 * The same across read, write and send, each blocked before it moved a byte: read on an
 * empty socket, write and send to a peer whose buffer is full.  The sleeper reports
 * [signals caught, the call's count or errno, the bytes that filled the buffer]; the
 * kicker, the bytes it drained.  With SA_RESTART the call sleeps again
 * and completes when the kicker sends (read) or drains (write, send); without it, EINTR.
 */
export function* io_sleeper(sys: Sys, path: string, op: string, flags: number): Blocking<unknown[]> {
  const [s, c, usr1] = yield* usr1_server(sys, path, flags);
  let filled = 0;
  if (op !== 'read') {
    // The peer's buffer full, without blocking; the call below then must sleep.
    yield* sys.fcntl(c, F_SETFL, O_NONBLOCK);
    const chunk = new Uint8Array(4096);
    for (;;) {
      try {
        filled += yield* sys.write(c, chunk);
      } catch (e) {
        if (code(e) !== 'EAGAIN') throw e;
        break;
      }
    }
    yield* sys.fcntl(c, F_SETFL, 0);
  }
  const buf = new Uint8Array(16);
  let r: unknown;
  try {
    if (op === 'read') r = yield* sys.read(c, buf);
    else if (op === 'write') r = yield* sys.write(c, buf, 5);
    else r = yield* sys.send(c, buf, 0, 5);
  } catch (e) {
    r = code(e);
  }
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [usr1.n, r, filled];
}

export function* io_kicker(sys: Sys, path: string, op: string, restart: boolean): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const pid = new Uint8Array(4);
  yield* sys.recv(s, pid, 0x40);
  const spid = new DataView(pid.buffer).getUint32(0);
  if (!(yield* wait_asleep(sys, spid, 0, 'sbwait'))) throw new Error(`io_kicker: the ${op} never blocked`);
  yield* sys.kill(spid, SIGUSR1);
  if (!(yield* wait_signal_taken(sys, spid, SIGUSR1))) throw new Error('io_kicker: SIGUSR1 never taken');
  if (restart && !(yield* wait_asleep(sys, spid, 0, 'sbwait'))) throw new Error(`io_kicker: the ${op} did not restart`);
  // read: five bytes for it; write, send: everything to EOF (the sleeper closes after its call).
  if (op === 'read') {
    if (restart) yield* sys.send(s, new Uint8Array(5));
    const rest = new Uint8Array(16);
    while ((yield* sys.recv(s, rest)) !== 0) { /* the sleeper's close */ }
    yield* sys.close(s);
    return 0;
  }
  const big = new Uint8Array(65536);
  let got = 0;
  for (let n; (n = yield* sys.recv(s, big)) !== 0; ) got += n;
  yield* sys.close(s);
  return got;
}

/* ---- socket options with struct values ---- */

/*
 * SO_LINGER and the timeouts as structs: values kept as given (the timeouts through
 * ticks at HZ), EDOM out of range, EINVAL for the wrong shape; SO_RCVTIMEO ends a recv
 * on an empty socket with EAGAIN; SO_SNDTIMEO ends a write to a full peer with a short
 * count, then EAGAIN.
 */
export function* sockopt_structs(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const lingerOff = yield* sys.getsockopt(a, SOL_SOCKET, SO_LINGER);
  yield* sys.setsockopt(a, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 5 });
  const linger = yield* sys.getsockopt(a, SOL_SOCKET, SO_LINGER);
  yield* sys.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 50_000 });
  yield* sys.setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, { sec: 0, usec: 20_000 });
  const rcvtimeo = yield* sys.getsockopt(a, SOL_SOCKET, SO_RCVTIMEO);
  const bad = [
    yield* attempt(sys.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 1_000_000 })),
    yield* attempt(sys.setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, { sec: -1, usec: 0 })),
    yield* attempt(sys.setsockopt(a, SOL_SOCKET, SO_LINGER, 5)),
    yield* attempt(sys.setsockopt(a, SOL_SOCKET, SO_RCVBUF, { sec: 1, usec: 0 } as unknown as number)),
    yield* attempt(sys.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { sec: 0.5, usec: 0 })),
  ];
  const buf = new Uint8Array(1 << 20);
  const recvTimeout = yield* attempt(sys.recv(a, buf));
  const short = yield* sys.write(a, buf);
  const full = yield* attempt(sys.write(a, buf));
  yield* sys.close(a);
  yield* sys.close(b);
  return [lingerOff, linger, rcvtimeo, bad, recvTimeout, short > 0 && short < buf.length, full];
}

/* ---- per-uid socket buffer limits and the system-wide file limit ---- */

/*
 * RLIMIT_SBSIZE as a non-root uid: a stream pair charges 4 x 8192 bytes to the uid
 * (chgsbsize); past the limit socket creation and SO_RCVBUF fail with ENOBUFS; closing
 * gives the charge back.  A non-root uid cannot raise its hard limit (EPERM).
 */
export function* sbsize_limit(sys: Sys): Blocking<unknown[]> {
  const inf = (yield* sys.getrlimit(RLIMIT_SBSIZE)).cur;
  yield* sys.setrlimit(RLIMIT_SBSIZE, { cur: 40_000, max: 40_000 });
  const raise = yield* attempt(sys.setrlimit(RLIMIT_SBSIZE, { cur: 80_000, max: 80_000 }));
  const marks: number[] = [];
  const fds: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
    fds.push(a, b);
    for (const fd of [a, b]) {
      marks.push(yield* sys.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), yield* sys.getsockopt(fd, SOL_SOCKET, SO_RCVBUF));
    }
  }
  yield* sys.setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, 65_536);
  marks.push(yield* sys.getsockopt(fds[0], SOL_SOCKET, SO_RCVBUF));
  yield* sys.setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, 4096);           // shrinking is never scaled
  marks.push(yield* sys.getsockopt(fds[0], SOL_SOCKET, SO_RCVBUF));
  for (const fd of fds) yield* sys.close(fd);
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);           // the charge came back: full size
  marks.push(yield* sys.getsockopt(c, SOL_SOCKET, SO_SNDBUF));
  yield* sys.close(c);
  yield* sys.close(d);
  return [inf === RLIM_INFINITY, raise, marks];
}

/*
 * kern.maxfiles lowered by root: socket() fails with ENFILE once the machine's open
 * files reach it (root may use all of them); the old limit comes back.
 */
export function* enfile(sys: Sys, room: number): Blocking<unknown[]> {
  const old = yield* sys.sysctl('kern.maxfiles');
  const oldPerProc = yield* sys.sysctl('kern.maxfilesperproc', 1000);   // the per-process bound out of the way
  const open = yield* sys.sysctl('kern.openfiles');
  yield* sys.sysctl('kern.maxfiles', open + room);
  const fds: number[] = [];
  let err = 'ok';
  for (;;) {
    try {
      fds.push(yield* sys.socket(AF_LOCAL, SOCK_DGRAM));
    } catch (e) {
      err = code(e);
      break;
    }
  }
  const pairErr = yield* attempt(sys.socketpair(AF_LOCAL, SOCK_STREAM));
  for (const fd of fds) yield* sys.close(fd);
  yield* sys.sysctl('kern.maxfiles', old);
  yield* sys.sysctl('kern.maxfilesperproc', oldPerProc);
  const again = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.close(again);
  return [fds.length, err, pairErr, (yield* sys.sysctl('kern.openfiles')) === open];
}

/* The value of a sysctl. */
export function* sysctl_get(sys: Sys, name: string): Blocking<number> { return yield* sys.sysctl(name); }

/* closefrom: every descriptor from fd up is closed, those below stay. */
export function* closefrom_prog(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.closefrom(b);
  const after: string[] = [];
  for (const fd of [a, b, c, d]) after.push(yield* attempt(sys.fcntl(fd, F_GETFL)));
  const bad = yield* attempt(sys.closefrom(-1));
  const far = yield* attempt(sys.closefrom(1000));
  yield* sys.close(a);
  return [[a, b, c, d], after, bad, far];
}

/* F_SETOWN/F_GETOWN name the SIGIO owner; with O_ASYNC, data arriving raises SIGIO there. */
export function* fsetown_prog(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const me = yield* sys.getpid();
  let sigio = 0;
  yield* sys.sigaction(SIGIO, () => { sigio++; });
  const none = yield* sys.fcntl(a, F_GETOWN);
  yield* sys.fcntl(a, F_SETOWN, me);
  const owner = yield* sys.fcntl(a, F_GETOWN);
  const nobody = yield* attempt(sys.fcntl(a, F_SETOWN, 99_999));
  yield* sys.fcntl(a, F_SETFL, O_ASYNC);
  yield* sys.write(b, new Uint8Array(3));
  yield* sys.getpid();                 // a return to user mode: the handler has run
  yield* sys.close(a);
  yield* sys.close(b);
  return [none, owner === me, nobody, sigio];
}

/* The kern.ipc counters while a pair holds data: sockets, mbufs and clusters in use, and the zones' sizes. */
export function* ipc_counters(sys: Sys): Blocking<number[]> {
  const base = [yield* sys.sysctl('kern.ipc.numopensockets'), yield* sys.sysctl('kern.ipc.mbstat.m_mbufs'),
    yield* sys.sysctl('kern.ipc.mbstat.m_clusters')];
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.write(a, new Uint8Array(5000));       // 5000 bytes: three clusters' worth on the peer's so_rcv
  const held = [yield* sys.sysctl('kern.ipc.numopensockets'), yield* sys.sysctl('kern.ipc.mbstat.m_mbufs'),
    yield* sys.sysctl('kern.ipc.mbstat.m_clusters')];
  const ro = yield* attempt(sys.sysctl('kern.ipc.nmbclusters', 5));
  const limits = [yield* sys.sysctl('kern.ipc.nmbufs'), yield* sys.sysctl('kern.ipc.nmbclusters')];
  yield* sys.close(a);
  yield* sys.close(b);
  const after = yield* sys.sysctl('kern.ipc.mbstat.m_clusters');
  return [held[0] - base[0], held[1] - base[1], held[2] - base[2], after - base[2], limits[0] > 0 ? 1 : 0,
    limits[1] > 0 ? 1 : 0, ro === 'ok' ? 0 : 1];
}

/*
 * net.local.stream.sendspace/recvspace and net.local.dgram.maxdgram/recvspace: read at
 * each AF_LOCAL attach.  Returns [defaults, stream SO_SNDBUF/SO_RCVBUF after setting them,
 * dgram SO_SNDBUF/SO_RCVBUF, a datagram one byte over maxdgram, one at it, a negative
 * value, the value after it, whether a size past sb_max_adj is clamped to it, the values once
 * restored, a non-root write].
 */
export function* unp_space_prog(sys: Sys): Blocking<unknown[]> {
  const names = ['net.local.stream.sendspace', 'net.local.stream.recvspace', 'net.local.dgram.maxdgram', 'net.local.dgram.recvspace'];
  const dflt: number[] = [];
  for (const n of names) dflt.push(yield* sys.sysctl(n));
  const set = [8192, 16384, 100, 1000];
  for (let i = 0; i < 4; i++) yield* sys.sysctl(names[i], set[i]);
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const st = [yield* sys.getsockopt(a, SOL_SOCKET, SO_SNDBUF), yield* sys.getsockopt(a, SOL_SOCKET, SO_RCVBUF)];
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const dg = [yield* sys.getsockopt(c, SOL_SOCKET, SO_SNDBUF), yield* sys.getsockopt(c, SOL_SOCKET, SO_RCVBUF)];
  const over = yield* attempt(sys.send(c, new Uint8Array(101)));
  const at = yield* sys.send(c, new Uint8Array(100));
  const neg = yield* attempt(sys.sysctl(names[0], -1));
  const still = yield* sys.sysctl(names[0]);
  yield* sys.sysctl(names[0], 1 << 30);
  const hs = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const maxsockbuf = yield* sys.sysctl('kern.ipc.maxsockbuf');
  const huge = (yield* sys.getsockopt(hs, SOL_SOCKET, SO_SNDBUF)) === Math.floor(maxsockbuf * 2048 / (256 + 2048));
  yield* sys.close(hs);
  for (let i = 0; i < 4; i++) yield* sys.sysctl(names[i], dflt[i]);
  const back: number[] = [];
  for (const n of names) back.push(yield* sys.sysctl(n));
  for (const fd of [a, b, c, d]) yield* sys.close(fd);
  yield* sys.setuid(1000);
  const eperm = yield* attempt(sys.sysctl(names[0], 4096));   // only root sets a sysctl
  return [dflt, st, dg, over, at, neg, still, huge, back, eperm];
}

/*
 * fstat (kern_fstat -> fo_stat): a fresh stream socket, the same with 5 bytes queued and
 * its send side shut, its peer after SHUT_RD with data left and then drained, the console,
 * a kqueue, a closed descriptor.
 */
export function* fstat_prog(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const s0 = yield* sys.fstat(a);
  yield* sys.send(b, new Uint8Array(5));
  yield* sys.shutdown(a, SHUT_WR);
  const s1 = yield* sys.fstat(a);
  yield* sys.shutdown(a, SHUT_RD);          // sorflush: the 5 bytes go
  const s2 = yield* sys.fstat(a);
  const again = yield* sys.fstat(a);
  const cons = yield* sys.fstat(1);
  const kq = yield* sys.kqueue();
  const k = yield* sys.fstat(kq);
  yield* sys.close(kq);
  const bad = yield* attempt(sys.fstat(kq));
  const neg = yield* attempt(sys.fstat(-1));
  yield* sys.close(a);
  yield* sys.close(b);
  const uid = yield* sys.getuid();
  return [
    [s0.mode.toString(8), s0.size, s0.blksize, s0.uid === uid, s0.ino > 0, s0.dev, s0.nlink],
    [s1.mode.toString(8), s1.size],
    [s2.mode.toString(8), s2.size, again.ino === s0.ino],
    [cons.mode.toString(8)],
    [k.mode.toString(8), k.size],
    bad, neg,
  ];
}
