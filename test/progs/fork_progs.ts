/*
 * Programs for test/fork.test.ts: fork, spawn, thread/join, waitpid and exit, as a BSD
 * user sees them.  Every function a test names is exported, so that a CPU in another
 * isolate (the parallel engine) can find it again by module and name.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, F_SETFD, FD_CLOEXEC, SIGTERM, SIGCHLD, SA_RESTART, RLIMIT_NPROC,
  WNOHANG, WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG, P_MAXTHREADS, SIGPIPE, SIG_IGN, SOCK_SEQPACKET,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();


/* Everything readable on fd until end of file, as text. */
function* readall(sys: Sys, fd: number): Blocking<string> {
  const buf = new Uint8Array(256);
  let text = '';
  for (;;) {
    const n = yield* sys.read(fd, buf);
    if (n === 0) return text;
    text += dec.decode(buf.subarray(0, n));
  }
}

function status(st: number): string {
  if (WIFEXITED(st)) return `exit ${WEXITSTATUS(st)}`;
  if (WIFSIGNALED(st)) return `signal ${WTERMSIG(st)}`;
  return `? ${st}`;
}

/* ---- fork ---- */

export function* fork_child(sys: Sys, fd: number, text: string): Blocking<void> {
  const me = yield* sys.getpid(), parent = yield* sys.getppid();
  yield* sys.write(fd, enc.encode(`${text} from ${me}, child of ${parent}`));
  yield* sys.exit(7);
}

/* The child writes through a descriptor it inherited; the parent reads to EOF, then reaps it. */
export function* fork_parent(sys: Sys): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const me = yield* sys.getpid();
  const pid = yield* sys.fork(fork_child, b, 'hello');
  yield* sys.close(b);
  const text = yield* readall(sys, a);
  const w = yield* sys.waitpid(pid);
  const again = yield* attempt(sys.waitpid(pid));
  yield* sys.close(a);
  return [text === `hello from ${pid}, child of ${me}`, w.pid === pid, status(w.status), again];
}

/* ---- spawn ---- */

export function* spawn_child(sys: Sys, fd: number, hidden: number): Blocking<number> {
  const uid = yield* sys.getuid();
  const hiddenErr = yield* attempt(sys.write(hidden, enc.encode('x')));
  const buf = new Uint8Array(64);
  const n = yield* sys.read(fd, buf);
  yield* sys.write(fd, enc.encode(`${dec.decode(buf.subarray(0, n)).toUpperCase()} uid ${uid} ${hiddenErr}`));
  return 3;
}

/* A child on another CPU as uid 1000: inherited descriptors work, close-on-exec ones are gone. */
export function* spawn_parent(sys: Sys, cpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.fcntl(c, F_SETFD, FD_CLOEXEC);
  const pid = yield* sys.spawn(spawn_child, { cpu, uid: 1000, args: [b, c] });
  yield* sys.close(b);
  yield* sys.write(a, enc.encode('ping'));
  const reply = yield* readall(sys, a);
  const w = yield* sys.waitpid(-1);
  for (const fd of [a, c, d]) yield* sys.close(fd);
  return [reply, w.pid === pid, status(w.status)];
}

function* nothing(): Blocking<number> { return 0; }

/* spawn's and fork's bad input, as a non-root process. */
export function* spawn_errors(sys: Sys, big: number): Blocking<string[]> {
  const notProgram = (() => 0) as unknown as typeof nothing;
  return [
    yield* attempt(sys.spawn(nothing, { uid: 0 })),                       // EPERM: not root
    yield* attempt(sys.spawn(notProgram)),                                  // ENOEXEC
    yield* attempt(sys.fork(notProgram)),                                   // ENOEXEC
    yield* attempt(sys.spawn(nothing, { cpu: 99 })),                        // EINVAL
    yield* attempt(sys.spawn(nothing, { cpu: 1.5 })),                       // EINVAL
    yield* attempt(sys.spawn(nothing, { args: 'x' as unknown as unknown[] })),  // EINVAL
    yield* attempt(sys.spawn(nothing, { args: [() => 1] })),                // EINVAL: JSON cannot carry it
    yield* attempt(sys.spawn(nothing, { args: ['x'.repeat(big)] })),        // E2BIG
    yield* attempt(sys.thread(nothing, { args: [1n] as unknown as unknown[] })),  // EINVAL
    yield* attempt(sys.waitpid()),                                          // ECHILD
    yield* attempt(sys.waitpid(-1, 4)),                                     // EINVAL
    yield* attempt(sys.join(12345678)),                                     // ESRCH
    yield* attempt(sys.join(yield* sys.gettid())),                          // EDEADLK
  ];
}

/* A closure is no module export: it can run only in this isolate. */
export function* spawn_closure(sys: Sys, cpu: number): Blocking<string> {
  const local = function* (): Blocking<number> { return 4; };
  let pid: number;
  try {
    pid = yield* sys.spawn(local, { cpu });
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
  const w = yield* sys.waitpid(pid);
  return status(w.status);
}

/* ---- threads ---- */

export function* worker_thread(sys: Sys, fd: number, id: number, n: number): Blocking<unknown> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i * id;
  yield* sys.write(fd, enc.encode(`t${id};`));
  return { id, sum, pid: yield* sys.getpid() };
}

/* Four threads on the CPUs in turn share a descriptor; join gives each one's result once. */
export function* threads_main(sys: Sys, ncpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tids: number[] = [];
  for (let i = 0; i < 4; i++) tids.push(yield* sys.thread(worker_thread, { cpu: i % ncpu, args: [b, i + 1, 1000] }));
  const results: unknown[] = [];
  for (const t of tids) results.push(yield* sys.join(t));
  const again = yield* attempt(sys.join(tids[0]));
  const buf = new Uint8Array(64);
  let got = '';
  while (got.length < 12) got += dec.decode(buf.subarray(0, yield* sys.read(a, buf)));
  yield* sys.close(a);
  yield* sys.close(b);
  return [results, got.split(';').filter((x) => x !== '').sort(), again, yield* sys.getpid()];
}

export function* blocked_reader(sys: Sys, fd: number): Blocking<string> {
  const buf = new Uint8Array(8);
  yield* sys.read(fd, buf);
  return 'unreachable';
}

/* exit() in the main thread ends two threads blocked in read, one on each CPU. */
export function* exit_main(sys: Sys, cpu: number): Blocking<string> {
  const [a] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.thread(blocked_reader, { args: [a] });
  yield* sys.thread(blocked_reader, { cpu, args: [a] });
  yield* sys.exit(5);
  return 'unreachable';
}

export function* exiting_thread(sys: Sys): Blocking<void> { yield* sys.exit(9); }

/* exit() in a thread on another CPU ends the main thread, blocked in read. */
export function* thread_exit_main(sys: Sys, cpu: number): Blocking<string> {
  const [a] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.thread(exiting_thread, { cpu });
  yield* blocked_reader(sys, a);
  return 'unreachable';
}

export function* throwing_thread(sys: Sys): Blocking<void> {
  yield* sys.getpid();
  throw new Error('boom');
}

/* A thread that throws kills its process (SIGABRT). */
export function* thread_throw_main(sys: Sys, cpu: number): Blocking<string> {
  const tid = yield* sys.thread(throwing_thread, { cpu });
  yield* sys.join(tid);
  return 'unreachable';
}

/* The parent's view of the three ways a process ends with threads. */
export function* exits_parent(sys: Sys, cpu: number): Blocking<string[]> {
  const out: string[] = [];
  for (const [fn, arg] of [[exit_main, cpu], [thread_exit_main, cpu], [thread_throw_main, 0]] as const) {
    const pid = yield* sys.fork(fn, arg);
    const w = yield* sys.waitpid(pid);
    out.push(status(w.status));
  }
  return out;
}

/* P_MAXTHREADS threads at most (the main one counted); each ends at EOF and is joined. */
export function* thread_limit(sys: Sys, ncpu: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const tids: number[] = [];
  let err = 'ok';
  for (;;) {
    try {
      tids.push(yield* sys.thread(eof_reader, { cpu: tids.length % ncpu, args: [b] }));
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      err = e.code;
      break;
    }
  }
  yield* sys.close(a);
  let joined = 0;
  for (const t of tids) if ((yield* sys.join(t)) === 0) joined++;
  const after = yield* sys.thread(eof_reader, { args: [b] });   // room again
  const last = yield* sys.join(after);
  yield* sys.close(b);
  return [tids.length + 1, err, joined, last, P_MAXTHREADS];
}

/* Read fd to its end (after closing `other`, the inherited end that would keep it open). */
export function* eof_reader(sys: Sys, fd: number, other = -1): Blocking<number> {
  if (other >= 0) yield* sys.close(other);
  const buf = new Uint8Array(8);
  return yield* sys.read(fd, buf);
}

/* ---- waitpid and signals ---- */

export function* sleeper(sys: Sys): Blocking<string> {
  yield* sys.sleep(1_000_000);
  return 'unreachable';
}

/* kill a child: it dies of SIGTERM; SIGCHLD's handler runs; WNOHANG sees a live child first. */
export function* kill_child(sys: Sys): Blocking<unknown[]> {
  let chld = 0;
  yield* sys.sigaction(SIGCHLD, () => { chld++; }, SA_RESTART);
  const pid = yield* sys.fork(sleeper);
  const early = yield* sys.waitpid(pid, WNOHANG);
  const group = yield* sys.waitpid(0, WNOHANG);
  yield* sys.kill(pid, SIGTERM);
  const w = yield* sys.waitpid(0);
  yield* sys.getpid();   // a return to user mode: SIGCHLD's handler has run by now
  return [early.pid, group.pid, w.pid === pid, status(w.status), chld];
}

/* RLIMIT_NPROC bounds fork for a non-root uid. */
export function* nproc_limit(sys: Sys): Blocking<unknown[]> {
  yield* sys.setrlimit(RLIMIT_NPROC, { cur: 3, max: 3 });
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pids: number[] = [];
  let err = 'ok';
  for (let i = 0; i < 5 && err === 'ok'; i++) {
    try {
      pids.push(yield* sys.fork(eof_reader, b, a));
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      err = e.code;
    }
  }
  yield* sys.close(a);
  const st: string[] = [];
  for (let i = 0; i < pids.length; i++) st.push(status((yield* sys.waitpid(-1)).status));
  yield* sys.close(b);
  return [pids.length, err, st];
}

/* ---- orphans and zombies ---- */

export function* orphan_child(sys: Sys, a: number, b: number, report: number): Blocking<void> {
  yield* sys.close(a);
  const before = yield* sys.getppid();
  yield* sys.write(b, enc.encode('r')); // the parent waits for this before it exits
  const buf = new Uint8Array(8);
  yield* sys.read(b, buf);            // EOF: the parent has exited
  const after = yield* sys.getppid();
  yield* sys.write(report, enc.encode(`before ${before !== 0} after ${after}`));
}

export function* orphan_parent(sys: Sys, report: number): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.fork(orphan_child, a, b, report);
  yield* sys.close(b);
  yield* sys.read(a, new Uint8Array(1));
  return 0;                           // exits without waiting: the child is orphaned
}

export function* quick_child(): Blocking<number> { return 1; }

/* A parent that never reaps: its zombie children are freed when it exits. */
export function* zombie_parent(sys: Sys): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  for (let i = 0; i < 3; i++) yield* sys.fork(eof_reader, b, a);
  yield* sys.close(a);                // the children read EOF and exit
  yield* sys.close(b);
  return 0;
}

/* The grandparent: an orphan reports through a descriptor it inherited; no wait finds it. */
export function* orphans(sys: Sys): Blocking<unknown[]> {
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const p = yield* sys.fork(orphan_parent, y);
  const z = yield* sys.fork(zombie_parent);
  yield* sys.close(y);
  const w1 = yield* sys.waitpid(p);
  const w2 = yield* sys.waitpid(z);
  const text = yield* readall(sys, x);  // EOF once the orphan has exited
  const none = yield* attempt(sys.waitpid(-1));
  yield* sys.close(x);
  return [status(w1.status), status(w2.status), text, none];
}

/* ---- a close racing the peer's sends, across CPUs ---- */

export function* racing_closer(sys: Sys, fd: number, after: number): Blocking<number> {
  const buf = new Uint8Array(256);
  let got = 0;
  while (got < after) {
    const n = yield* sys.read(fd, buf);
    if (n === 0) break;
    got += n;
  }
  yield* sys.close(fd);
  return got;
}

/*
 * `rounds` times: a socketpair, a thread on the other CPU that reads a little then closes
 * its end, while this thread keeps sending until a send fails (SIGPIPE ignored); stream
 * and seqpacket pairs in turn.  Returns [rounds ended by EPIPE, rounds ended by ENOTCONN].
 * ENOTCONN is uipc_send's answer when the peer disconnects after sosend checked the
 * socket and before the request reached the protocol: possible only where the two are
 * apart (the netisr model's message hop), as in DragonFly's uipc_send.
 */
export function* close_race(sys: Sys, cpu: number, rounds: number): Blocking<number[]> {
  yield* sys.sigaction(SIGPIPE, SIG_IGN);
  const buf = new Uint8Array(512);
  let epipes = 0, enotconns = 0;
  for (let r = 0; r < rounds; r++) {
    const [a, b] = yield* sys.socketpair(AF_LOCAL, (r & 1) === 0 ? SOCK_STREAM : SOCK_SEQPACKET);
    const tid = yield* sys.thread(racing_closer, { cpu, args: [b, (r % 7) * 100] });
    for (;;) {
      try {
        yield* sys.send(a, buf, 0, 112 + (r % 5) * 100);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        if (e.code === 'EPIPE') { epipes++; break; }
        if (e.code === 'ENOTCONN') { enotconns++; break; }
        throw e;
      }
    }
    yield* sys.join(tid);
    yield* sys.close(a);
  }
  return [epipes, enotconns];
}
