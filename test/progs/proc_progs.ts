/*
 * Kernel threads for the process, credential, resource-limit and descriptor tests
 * (test/kern_descrip.test.ts, test/kern_proc.test.ts).  Each builds processes and files
 * from the zones, returns the numbers the test asserts, and frees everything it made: the
 * test compares the zones' use before and after.
 *
 * Test files use `testfileops`: f_data points at a block of kmem words,
 *   [0] fo_close calls, [1] last FIONBIO argument, [2] last FIOASYNC argument,
 *   [3] non-zero: refuse FIOASYNC with EOPNOTSUPP.
 */
import {
  k32, kf64, NULL, KASSERT, EOPNOTSUPP, PCATCH, curthread, tsleep, tsleep_interlock, crit_enter, crit_exit,
  lwkt_sigtake, zalloc, zfree, Z_KMALLOC16, TD, type Blocking, type Ptr,
  FILE, FILEDESC, FIONBIO, FIOASYNC, FREAD, FWRITE, DTYPE_VNODE, DTYPE_SOCKET, FD_CLOEXEC, F_DUPFD, F_GETFD, F_SETFD,
  F_GETFL, F_SETFL, O_NONBLOCK, O_ASYNC, O_APPEND, O_WRONLY, NDFILE_MAX, type Fileops,
  PROC, UIDINFO, UCRED, RLIMIT, RLIMIT_NOFILE, RLIMIT_SBSIZE, RLIMIT_NPROC, RLIM_INFINITY, SIG_CATCH, SIG_IGN,
  SA_RESTART, SIGUSR1, SIGUSR2, SIGCHLD, SIGKILL,
  fileops_register, falloc, fsetfd, fdrop, fdalloc, fdavail, holdfp, holdsock, kern_close, kern_dup, dup, dup2,
  kern_closefrom, kern_fcntl, kern_set_maxfiles, kern_nfiles, kern_maxfiles, DUP_FIXED,
  proc_create, proc_exit, kern_wait, fork1, pfind, proc_attach_thread, proc_detach_thread, psignal, kern_sigaction,
  uifind, uihold, uidrop, ui_sbsize, chgsbsize, kern_getrlimit, kern_setrlimit,
  crget, crhold, crfree, crdup, getuid, geteuid, setuid, kernel_sysctl,
} from '../../src/kernel.js';
import { done_num } from '../../shared/effect.js';
import { await_word, publish } from './common.js';

/* ---- a file type of the tests' own ---- */

function* test_close(fp: Ptr): Blocking<number> {
  Atomics.add(k32, k32[fp + FILE.f_data], 1);
  return 0;
}

function* test_ioctl(fp: Ptr, com: number, data: Ptr): Blocking<number> {
  const w = k32[fp + FILE.f_data];
  if (com === FIONBIO) k32[w + 1] = k32[data];
  else if (com === FIOASYNC) {
    if (k32[w + 3] !== 0) return EOPNOTSUPP;
    k32[w + 2] = k32[data];
  }
  return 0;
}

function notsupp(): Blocking<number> { return done_num(EOPNOTSUPP); }

export const testfileops: Fileops = {
  fo_name: 'testfile', fo_id: 0,
  fo_read: notsupp, fo_write: notsupp, fo_ioctl: test_ioctl, fo_poll: notsupp, fo_stat: notsupp,
  fo_close: test_close, fo_shutdown: notsupp,
};
fileops_register(testfileops);

/* ---- helpers ---- */

function scratch(): Ptr {
  const w = zalloc(Z_KMALLOC16);
  KASSERT(w !== NULL, 'scratch: kmalloc16 empty');
  return w;
}

/*
 * Open a test file in p the way kern_socket does: falloc, set it up, fsetfd, drop the
 * falloc reference.  Returns the fd, or -errno.
 */
function open_test(p: Ptr, ctr: Ptr, type = DTYPE_VNODE): number {
  const res = scratch();
  const error = falloc(p, res);
  const fp = k32[res], fd = k32[res + 1];
  zfree(Z_KMALLOC16, res);
  if (error !== 0) return -error;
  k32[fp + FILE.f_type] = type;
  k32[fp + FILE.f_flag] = FREAD | FWRITE;
  k32[fp + FILE.f_data] = ctr;
  k32[fp + FILE.f_ops] = testfileops.fo_id;
  fsetfd(p, fp, fd);
  const g = fdrop(fp);                 // not the last reference: completes at once
  KASSERT(g.next().done === true, 'open_test: fdrop blocked');
  return fd;
}

function fp_of(p: Ptr, fd: number): Ptr {
  const fdp = k32[p + PROC.p_fd];
  return k32[k32[fdp + FILEDESC.fd_files] + fd * 2];
}



function rlim_get(p: Ptr, which: number, rl: Ptr): number[] {
  const e = kern_getrlimit(p, which, rl);
  return [e, kf64[(rl + RLIMIT.rlim_cur_f64) >> 1], kf64[(rl + RLIMIT.rlim_max_f64) >> 1]];
}

function rlim_set(p: Ptr, which: number, rl: Ptr, cur: number, max: number): number {
  kf64[(rl + RLIMIT.rlim_cur_f64) >> 1] = cur;
  kf64[(rl + RLIMIT.rlim_max_f64) >> 1] = max;
  return kern_setrlimit(p, which, rl);
}

/* ---- descriptors ---- */

/*
 * The lowest free fd: open 0..3, close 1, the next open gets 1, then 4.  A reserved fd
 * is invisible until fsetfd.  ctr: 4 words per file, 6 files.
 */
export function* fd_lowest(ctr: number): Blocking<Record<string, unknown>> {
  const p = proc_create(1000, 1000);
  KASSERT(p !== NULL, 'fd_lowest: no proc');
  const first: number[] = [];
  for (let i = 0; i < 4; i++) first.push(open_test(p, ctr + 4 * i));
  const closed = yield* kern_close(p, 1);
  const reopened = open_test(p, ctr + 16);
  const next = open_test(p, ctr + 20);
  // A reservation: visible to nobody until published.
  const res = scratch();
  const e = falloc(p, res);
  const fp = k32[res], rfd = k32[res + 1];
  const fdp = k32[p + PROC.p_fd];
  const reservedHold = holdfp(fdp, rfd, -1);
  const reservedClose = yield* kern_close(p, rfd);
  fsetfd(p, NULL, rfd);               // released: the fd is free again
  const freedFp = yield* fdrop(fp);   // badfileops: no fo_close
  const again = open_test(p, ctr + 20);
  yield* kern_close(p, again);
  zfree(Z_KMALLOC16, res);
  const closeAgain = yield* kern_close(p, 1 + 0);
  const closeBad = [yield* kern_close(p, -1), yield* kern_close(p, 1), yield* kern_close(p, 1000)];
  yield* proc_exit(p);
  const closes: number[] = [];
  for (let i = 0; i < 6; i++) closes.push(k32[ctr + 4 * i]);
  return { first, closed, reopened, next, falloc: e, rfd, reservedHold, reservedClose, freedFp, again, closeAgain,
    closeBad, closes };
}

/* Open until EMFILE with RLIMIT_NOFILE lowered to n (n 0: leave the limit).  Returns [opened, error, fdavail...]. */
export function* fd_emfile(ctr: number, uid: number, n: number): Blocking<number[]> {
  const p = proc_create(uid, uid);
  const rl = scratch();
  if (n > 0) KASSERT(rlim_set(p, RLIMIT_NOFILE, rl, n, n) === 0, 'fd_emfile: setrlimit');
  let opened = 0, fd: number;
  while ((fd = open_test(p, ctr)) >= 0) opened++;
  const availNone = fdavail(p, 1) ? 1 : 0;
  const res = scratch();
  const fdallocErr = fdalloc(p, 0, res);
  yield* kern_close(p, 3);
  const availOne = fdavail(p, 1) ? 1 : 0, availTwo = fdavail(p, 2) ? 1 : 0;
  const reopen = open_test(p, ctr);
  zfree(Z_KMALLOC16, res);
  zfree(Z_KMALLOC16, rl);
  yield* proc_exit(p);
  return [opened, -fd, availNone, fdallocErr, availOne, availTwo, reopen, k32[ctr]];
}

/*
 * ENFILE: with maxfiles m, a non-root process stops at m - m/20 open files system-wide,
 * root at m.  Returns [nonroot opened, its error, root opened, its error, nfiles then,
 * nfiles after both exit].
 */
export function* fd_enfile(ctr: number, maxfiles: number): Blocking<number[]> {
  const nfiles0 = kern_nfiles();
  kern_set_maxfiles(maxfiles, 1000);
  const user = proc_create(1000, 1000), root = proc_create(0, 0);
  let a = 0, b = 0, fd: number;
  while ((fd = open_test(user, ctr)) >= 0) a++;
  const ea = -fd;
  while ((fd = open_test(root, ctr)) >= 0) b++;
  const eb = -fd;
  const nfilesFull = kern_nfiles();
  const max = kern_maxfiles();
  const ctl = [kernel_sysctl('kern.maxfiles', undefined, 1000).old, kernel_sysctl('kern.openfiles', undefined, 1000).old - nfiles0,
    kernel_sysctl('kern.maxfilesperproc', 0, 0).error, kernel_sysctl('kern.maxfiles', 50, 1000).error,
    kernel_sysctl('kern.openfiles', 1, 0).error];
  yield* proc_exit(user);
  yield* proc_exit(root);
  kern_set_maxfiles(0, 0);
  return [a, ea, b, eb, nfilesFull - nfiles0, kern_nfiles() - nfiles0, max, k32[ctr], ...ctl];
}

/*
 * A file survives kern_close while a holdfp reference is out; fo_close runs once, at the
 * last fdrop.  One thread.  Returns [close error, closes after close, hold after close,
 * count held, closes after fdrop].
 */
export function* fd_survives(ctr: number): Blocking<number[]> {
  const p = proc_create(1000, 1000);
  const fd = open_test(p, ctr);
  const fdp = k32[p + PROC.p_fd];
  const fp = holdfp(fdp, fd, FREAD);
  const count = k32[fp + FILE.f_count];
  const e = yield* kern_close(p, fd);
  const after = k32[ctr];
  const hold2 = holdfp(fdp, fd, -1);
  const countAfter = k32[fp + FILE.f_count];
  const e2 = yield* fdrop(fp);
  const final = k32[ctr];
  yield* proc_exit(p);
  return [e, after, hold2, count, countAfter, e2, final, k32[ctr]];
}

/*
 * The same across CPUs: the closer (here) and a holder thread of the same process on
 * another CPU.  w: [0] proc, [1] holder has its reference, [2] closed, [3] holder done.
 */
export function* survive_closer(w: number, ctr: number): Blocking<number[]> {
  const p = proc_create(1000, 1000);
  KASSERT(proc_attach_thread(p, curthread()) === 0, 'survive_closer: attach');
  const fd = open_test(p, ctr);
  publish(w + 4, fd + 1);
  publish(w, p);
  yield* await_word(w + 1);
  const e = yield* kern_close(p, fd);
  const closesAfterClose = Atomics.load(k32, ctr);
  const hold = holdfp(k32[p + PROC.p_fd], fd, -1);
  publish(w + 2, 1);
  yield* await_word(w + 3);
  proc_detach_thread(p, curthread());
  yield* proc_exit(p);
  return [e, closesAfterClose, hold, Atomics.load(k32, ctr)];
}

export function* survive_holder(w: number, ctr: number): Blocking<number[]> {
  const p = yield* await_word(w);
  const fd = (yield* await_word(w + 4)) - 1;
  KASSERT(proc_attach_thread(p, curthread()) === 0, 'survive_holder: attach');
  const fp = holdfp(k32[p + PROC.p_fd], fd, -1);
  publish(w + 1, 1);
  yield* await_word(w + 2);
  const before = Atomics.load(k32, ctr);
  const count = k32[fp + FILE.f_count];
  const e = yield* fdrop(fp);
  const after = Atomics.load(k32, ctr);
  proc_detach_thread(p, curthread());
  publish(w + 3, 1);
  return [before, count, e, after];
}

/* dup, dup2, F_DUPFD, closefrom, F_GETFD/F_SETFD, F_GETFL/F_SETFL.  ctrA, ctrB: 4 words each. */
export function* dup_semantics(ctrA: number, ctrB: number): Blocking<Record<string, unknown>> {
  const p = proc_create(1000, 1000);
  const res = scratch();
  const a = open_test(p, ctrA), b = open_test(p, ctrB);
  const fpA = fp_of(p, a);
  const r: Record<string, unknown> = { a, b };
  r.dup = [yield* dup(p, a, res), k32[res], k32[fpA + FILE.f_count]];
  r.dup2self = [yield* dup2(p, a, a, res), k32[res], k32[fpA + FILE.f_count]];
  r.dup2over = [yield* dup2(p, a, b, res), k32[res], k32[ctrB], fp_of(p, b) === fpA ? 1 : 0, k32[fpA + FILE.f_count]];
  r.dupBad = [yield* dup(p, 7, res), yield* dup(p, -1, res)];
  r.dup2Bad = [yield* dup2(p, 5, 3, res), yield* dup2(p, a, -1, res), yield* dup2(p, a, NDFILE_MAX, res),
    yield* dup2(p, 7, 7, res)];
  r.dup2far = [yield* dup2(p, a, 40, res), k32[res], k32[k32[p + PROC.p_fd] + FILEDESC.fd_nfiles]];
  r.dupfd = [yield* kern_fcntl(p, a, F_DUPFD, 10, res), k32[res]];
  r.dupfdBad = [yield* kern_fcntl(p, a, F_DUPFD, -1, res), yield* kern_fcntl(p, 9, F_DUPFD, 0, res),
    yield* kern_fcntl(p, a, F_DUPFD, NDFILE_MAX, res)];
  const fd = (e: number): number => (e === 0 ? k32[res] : -e);
  r.setfd = yield* kern_fcntl(p, 10, F_SETFD, FD_CLOEXEC, res);
  r.getfd10 = fd(yield* kern_fcntl(p, 10, F_GETFD, 0, res));
  r.getfd2 = fd(yield* kern_fcntl(p, 2, F_GETFD, 0, res));
  r.dup2cloexec = [yield* kern_dup(DUP_FIXED, 10, 11, p, res), fd(yield* kern_fcntl(p, 11, F_GETFD, 0, res)),
    fd(yield* kern_fcntl(p, 10, F_GETFD, 0, res))];
  r.getfl = fd(yield* kern_fcntl(p, a, F_GETFL, 0, res));
  r.setfl = yield* kern_fcntl(p, a, F_SETFL, O_NONBLOCK | O_ASYNC | O_APPEND | O_WRONLY, res);
  r.getflAfter = fd(yield* kern_fcntl(p, 2, F_GETFL, 0, res));   // fd 2 is the same file
  r.ioctls = [k32[ctrA + 1], k32[ctrA + 2]];
  k32[ctrA + 3] = 1;                  // refuse FIOASYNC from now on
  r.setflRefused = yield* kern_fcntl(p, a, F_SETFL, O_NONBLOCK | O_ASYNC, res);
  r.getflRefused = fd(yield* kern_fcntl(p, a, F_GETFL, 0, res));
  r.ioctlsRefused = [k32[ctrA + 1], k32[ctrA + 2]];
  r.fcntlBad = [yield* kern_fcntl(p, a, 99, 0, res), yield* kern_fcntl(p, 9, 99, 0, res),
    yield* kern_fcntl(p, 9, F_GETFL, 0, res), yield* kern_fcntl(p, -3, F_GETFD, 0, res)];
  r.countBeforeClosefrom = k32[fpA + FILE.f_count];
  r.closefrom2 = [yield* kern_closefrom(p, 2), k32[ctrA], k32[fpA + FILE.f_count],
    k32[k32[p + PROC.p_fd] + FILEDESC.fd_lastfile]];
  r.closefromNeg = [yield* kern_closefrom(p, -1), k32[fpA + FILE.f_count]];
  r.closefrom0 = [yield* kern_closefrom(p, 0), k32[ctrA], k32[ctrB], k32[k32[p + PROC.p_fd] + FILEDESC.fd_lastfile]];
  zfree(Z_KMALLOC16, res);
  yield* proc_exit(p);
  return r;
}

/* holdsock: EBADF, ENOTSOCK, and a reference for a socket-typed file. */
export function* holdsock_errors(ctr: number): Blocking<number[]> {
  const p = proc_create(1000, 1000);
  const fdp = k32[p + PROC.p_fd];
  const vn = open_test(p, ctr), so = open_test(p, ctr + 4, DTYPE_SOCKET);
  const fpp = scratch();
  const eBad = holdsock(fdp, 9, fpp), fpBad = k32[fpp];
  const eNotSock = holdsock(fdp, vn, fpp), fpNotSock = k32[fpp];
  const eSock = holdsock(fdp, so, fpp), fp = k32[fpp];
  const count = k32[fp + FILE.f_count];
  yield* fdrop(fp);
  const wrongFlag = holdfp(fdp, vn, 0x4000);   // a flag the file lacks
  zfree(Z_KMALLOC16, fpp);
  yield* proc_exit(p);
  return [eBad, fpBad, eNotSock, fpNotSock, eSock, fp !== NULL ? 1 : 0, count, wrongFlag, k32[ctr], k32[ctr + 4]];
}

/* fork: the child's table holds a reference to every published file; exits release them. */
export function* fork_refs(ctr: number): Blocking<Record<string, unknown>> {
  const p1 = proc_create(1000, 1000);
  const fds = [open_test(p1, ctr), open_test(p1, ctr + 4), open_test(p1, ctr + 8)];
  const fps = fds.map((fd) => fp_of(p1, fd));
  const res = scratch();
  KASSERT(falloc(p1, res) === 0, 'fork_refs: falloc');   // fd 3 reserved across the fork
  const rfp = k32[res], rfd = k32[res + 1];
  const before = fps.map((fp) => k32[fp + FILE.f_count]);
  const e = fork1(p1, res);
  const p2 = k32[res];
  const counts = fps.map((fp) => k32[fp + FILE.f_count]);
  const same = fds.map((fd) => (fp_of(p2, fd) === fp_of(p1, fd) ? 1 : 0));
  const pids = [k32[p1 + PROC.p_pid], k32[p2 + PROC.p_pid]];
  const found = pfind(pids[1]) === p2 ? 1 : 0;
  const parent = k32[p2 + PROC.p_pptr] === p1 ? 1 : 0;
  const credShared = k32[p2 + PROC.p_ucred] === k32[p1 + PROC.p_ucred] ? 1 : 0;
  const childReserved = fp_of(p2, rfd);
  KASSERT(fdalloc(p2, 0, res) === 0, 'fork_refs: fdalloc in child');
  const childLowest = k32[res];
  fsetfd(p2, NULL, childLowest);
  yield* proc_exit(p2);
  const afterChild = fps.map((fp) => k32[fp + FILE.f_count]);
  const closesAfterChild = [k32[ctr], k32[ctr + 4], k32[ctr + 8]];
  fsetfd(p1, NULL, rfd);
  yield* fdrop(rfp);
  yield* proc_exit(p1);
  zfree(Z_KMALLOC16, res);
  return { e, before, counts, same, pids, found, parent, credShared, rfd, childReserved, childLowest, afterChild,
    closesAfterChild, closes: [k32[ctr], k32[ctr + 4], k32[ctr + 8]], gone: [pfind(pids[0]), pfind(pids[1])] };
}

/* A table grows from NDFILE to NDFILE_MAX slots, then EMFILE (root: RLIMIT_NOFILE is no bound here). */
export function* fd_capacity(ctr: number): Blocking<number[]> {
  const p = proc_create(0, 0);
  const fdp = k32[p + PROC.p_fd];
  const cap0 = k32[fdp + FILEDESC.fd_nfiles];
  let opened = 0, fd: number;
  while ((fd = open_test(p, ctr)) >= 0) opened++;
  const cap1 = k32[fdp + FILEDESC.fd_nfiles];
  const last = k32[fdp + FILEDESC.fd_lastfile];
  yield* proc_exit(p);
  return [cap0, cap1, opened, -fd, last, k32[ctr]];
}

/* ---- processes ---- */

/* Create procs on several CPUs at once: pids are unique.  Returns the pids. */
export function* pid_alloc(n: number, go: number): Blocking<number[]> {
  yield* await_word(go);
  const procs: Ptr[] = [], pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = proc_create(1000 + (i & 3), 1000);
    KASSERT(p !== NULL, 'pid_alloc: no proc');
    procs.push(p);
    pids.push(k32[p + PROC.p_pid]);
    if ((i & 7) === 7) yield* tsleep(go, 0, 'pidpace', 1);   // let other CPUs interleave
  }
  let found = 0;
  for (let i = 0; i < n; i++) if (pfind(pids[i]) === procs[i]) found++;
  for (const p of procs) yield* proc_exit(p);
  pids.push(found);
  return pids;
}

/* fork1 against RLIMIT_NPROC (lowered to 2 for a non-root uid). */
export function* fork_nproc(): Blocking<number[]> {
  const p1 = proc_create(3000, 3000);
  const rl = scratch(), res = scratch();
  const lowered = rlim_set(p1, RLIMIT_NPROC, rl, 2, 2);
  const e1 = fork1(p1, res);
  const p2 = k32[res];
  const uip = uifind(3000);
  const cnt = k32[uip + UIDINFO.ui_proccnt];
  const e2 = fork1(p1, res);
  const pid2 = k32[p2 + PROC.p_pid];
  yield* proc_exit(p2);
  const zombieCnt = k32[uip + UIDINFO.ui_proccnt];   // a zombie still counts until it is reaped
  const reaped = (yield* kern_wait(p1, -1, 0, res)) === 0 && k32[res] === pid2 ? 1 : 0;
  const cnt2 = k32[uip + UIDINFO.ui_proccnt];
  const e3 = fork1(p1, res);
  yield* proc_exit(k32[res]);
  yield* proc_exit(p1);
  uidrop(uip);
  zfree(Z_KMALLOC16, rl);
  zfree(Z_KMALLOC16, res);
  return [lowered, e1, cnt, e2, zombieCnt, reaped, cnt2, e3];
}

/*
 * psignal: w [0] proc, [1] the sleeper's thread (published just before it sleeps), [2]
 * sleeper done.  The sender sets SIGUSR1's disposition (restart 1: SA_RESTART), posts an
 * ignored SIGUSR2 and a default-ignored SIGCHLD (both dropped), then SIGUSR1.
 */
export function* psig_sender(w: number, restart: number): Blocking<number[]> {
  const p = proc_create(1000, 1000);
  const einval = [kern_sigaction(p, SIGKILL, SIG_CATCH, 0), kern_sigaction(p, 0, SIG_CATCH, 0),
    kern_sigaction(p, 33, SIG_CATCH, 0), kern_sigaction(p, SIGUSR1, 7, 0)];
  KASSERT(kern_sigaction(p, SIGUSR1, SIG_CATCH, restart !== 0 ? SA_RESTART : 0) === 0, 'psig_sender: sigaction');
  KASSERT(kern_sigaction(p, SIGUSR2, SIG_IGN, 0) === 0, 'psig_sender: sigaction SIG_IGN');
  publish(w, p);
  const td = yield* await_word(w + 1);
  psignal(p, SIGUSR2);
  psignal(p, SIGCHLD);
  psignal(p, SIGUSR1);
  yield* await_word(w + 2);
  void td;
  yield* proc_exit(p);
  return einval;
}

export function* psig_sleeper(w: number): Blocking<number[]> {
  const p = yield* await_word(w);
  const td = curthread();
  KASSERT(proc_attach_thread(p, td) === 0, 'psig_sleeper: attach');
  const chan = w + 3;
  crit_enter();
  tsleep_interlock(chan);
  publish(w + 1, td);
  const e = yield* tsleep(chan, PCATCH, 'psig', 0);
  crit_exit();
  const pending = Atomics.load(k32, td + TD.td_sigpend);
  lwkt_sigtake(td, SIGUSR1);
  const nthreads = k32[p + PROC.p_nthreads];
  proc_detach_thread(p, td);
  publish(w + 2, 1);
  return [e, pending, nthreads, k32[td + TD.td_proc]];
}

/* ---- resources and credentials ---- */

/* chgsbsize: the SEED arithmetic (dragonfly.md 4.10).  Returns the marks and totals after each step. */
export function* sbsize_arith(): Blocking<number[][]> {
  const uip = uifind(5000);
  const hw = scratch();
  const out: number[][] = [];
  const step = (i: number, to: number, max: number): void => {
    const r = chgsbsize(uip, hw + i, to, max);
    out.push([r, k32[hw + i], ui_sbsize(uip)]);
  };
  step(0, 8192, RLIM_INFINITY);   // no limit: 8192 charged, 8192 mark
  step(1, 8192, 10000);           // total 16384 > 10000: mark scaled to 8192*10000/16384
  step(2, 4096, 10000);           // total 20480: 4096*10000/20480 = 2000, floored to MCLBYTES
  step(3, 2048, 10000);           // to == MCLBYTES: never scaled, although over max
  step(0, 4096, 10000);           // shrinking: never scaled
  step(0, 0, 10000);              // released: the 4096 mark comes back
  step(1, 0, RLIM_INFINITY);      // the scaled 5000 comes back, not the 8192 charged
  step(2, 0, RLIM_INFINITY);
  step(3, 0, RLIM_INFINITY);      // what remains is the drift
  step(0, 2049, 0);               // grows past max 0 with to > MCLBYTES: floored
  step(0, 0, 0);
  zfree(Z_KMALLOC16, hw);
  uidrop(uip);
  return out;
}

/* uidinfo lookups share one entry per uid; the last drop frees it. */
export function* uidinfo_refs(): Blocking<number[]> {
  const a = uifind(7), b = uifind(7), c = uifind(8 + 16);   // 8 + 16 shares 8's hash chain
  const d = uifind(8);
  const same = a === b ? 1 : 0, distinct = a !== c && c !== d ? 1 : 0;
  uihold(a);
  const ref = k32[a + UIDINFO.ui_ref];
  uidrop(a); uidrop(b);
  const refAfter = k32[a + UIDINFO.ui_ref];
  uidrop(a);
  uidrop(c); uidrop(d);
  const e = uifind(7);
  const fresh = [k32[e + UIDINFO.ui_ref], k32[e + UIDINFO.ui_uid], ui_sbsize(e)];
  uidrop(e);
  // Creds: crdup holds the uidinfo, crfree of the last reference drops it.
  const cr = crget();
  k32[cr + UCRED.cr_uid] = 9;
  k32[cr + UCRED.cr_uidinfo] = uifind(9);
  const cr2 = crdup(cr);
  crhold(cr2);
  const crRefs = [k32[cr + UCRED.cr_ref], k32[cr2 + UCRED.cr_ref], k32[k32[cr + UCRED.cr_uidinfo] + UIDINFO.ui_ref],
    k32[cr2 + UCRED.cr_uid]];
  crfree(cr); crfree(cr2); crfree(cr2);
  return [same, distinct, ref, refAfter, ...fresh, ...crRefs];
}

/* getrlimit/setrlimit rules.  Returns a record of errnos and values. */
export function* rlimit_rules(): Blocking<Record<string, unknown>> {
  const user = proc_create(1000, 1000), root = proc_create(0, 0);
  const rl = scratch();
  const r: Record<string, unknown> = {};
  r.nofile = rlim_get(user, RLIMIT_NOFILE, rl);
  r.sbsize = rlim_get(user, RLIMIT_SBSIZE, rl);
  r.badGet = [kern_getrlimit(user, 12, rl), kern_getrlimit(user, -1, rl)];
  r.badSet = [rlim_set(user, 12, rl, 1, 1), rlim_set(user, -1, rl, 1, 1)];
  r.lower = [rlim_set(user, RLIMIT_NOFILE, rl, 10, 20), ...rlim_get(user, RLIMIT_NOFILE, rl)];
  r.raiseMax = rlim_set(user, RLIMIT_NOFILE, rl, 10, 30);
  r.raiseCur = [rlim_set(user, RLIMIT_NOFILE, rl, 20, 20), ...rlim_get(user, RLIMIT_NOFILE, rl)];
  r.curOverMax = rlim_set(user, RLIMIT_NOFILE, rl, 25, 20);
  r.bothOverHard = rlim_set(user, RLIMIT_NOFILE, rl, 25, 25);
  r.lowerAgain = rlim_set(user, RLIMIT_NOFILE, rl, 10, 15);
  r.backUp = rlim_set(user, RLIMIT_NOFILE, rl, 10, 20);
  r.clamp = [rlim_set(user, RLIMIT_NOFILE, rl, 12, 11), ...rlim_get(user, RLIMIT_NOFILE, rl)];
  r.sbLower = rlim_set(user, RLIMIT_SBSIZE, rl, 1000, 1000);
  r.sbInfinity = [rlim_set(user, RLIMIT_SBSIZE, rl, -1, -1), ...rlim_get(user, RLIMIT_SBSIZE, rl)];
  r.rootRaise = [rlim_set(root, RLIMIT_NOFILE, rl, 1e9, 1e9), ...rlim_get(root, RLIMIT_NOFILE, rl)];
  r.rootSb = [rlim_set(root, RLIMIT_SBSIZE, rl, 1000, 1000), rlim_set(root, RLIMIT_SBSIZE, rl, -1, -1),
    ...rlim_get(root, RLIMIT_SBSIZE, rl)];
  zfree(Z_KMALLOC16, rl);
  yield* proc_exit(user);
  yield* proc_exit(root);
  return r;
}

/* setuid: root becomes anyone, others only their real uid; open files keep their creds. */
export function* setuid_rules(ctr: number): Blocking<Record<string, unknown>> {
  const user = proc_create(1000, 1000), root = proc_create(0, 0);
  const r: Record<string, unknown> = {};
  r.userOther = setuid(user, 1001);
  r.userSelf = [setuid(user, 1000), getuid(user), geteuid(user)];
  r.bad = [setuid(user, -5), setuid(user, 1.5)];
  const fd = open_test(root, ctr);
  const fp = fp_of(root, fd);
  const ui0 = uifind(0);
  const proccnt0 = k32[ui0 + UIDINFO.ui_proccnt];
  r.rootTo2000 = [setuid(root, 2000), getuid(root), geteuid(root)];
  const ui2000 = uifind(2000);
  r.proccnt = [k32[ui0 + UIDINFO.ui_proccnt] - proccnt0, k32[ui2000 + UIDINFO.ui_proccnt]];
  r.fileCredUid = k32[k32[fp + FILE.f_cred] + UCRED.cr_uid];
  r.procCred = [k32[k32[root + PROC.p_ucred] + UCRED.cr_uid], k32[k32[root + PROC.p_ucred] + UCRED.cr_svuid],
    k32[root + PROC.p_ucred] === k32[fp + FILE.f_cred] ? 1 : 0];
  r.backToRoot = setuid(root, 0);
  uidrop(ui0);
  uidrop(ui2000);
  yield* proc_exit(user);
  yield* proc_exit(root);
  r.closes = k32[ctr];
  return r;
}
