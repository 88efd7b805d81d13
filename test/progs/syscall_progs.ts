/*
 * Kernel threads for the socket system-call tests (test/uipc_syscalls.test.ts): the
 * socket fileops (kern/sys_socket.ts) and the kern_* halves (kern/uipc_syscalls.ts), on
 * the test protocol of socket_progs.ts (family 88) and on family 89 below, which is that
 * protocol with a pru_connect2 that fails (stream, protocol 1: always; datagram,
 * protocol 1: on the second, reverse call), to drive kern_socketpair's last unwinding
 * step.  Each thread makes its process (or joins one), calls the kern_* functions as a
 * process's thread would (they take the BGL themselves in the bgl model), returns what
 * it saw, and lets everything go (proc_exit closes what is left open).
 */
import {
  k32, ku8, kf64, NULL, KASSERT, curthread, tsleep, wakeup, zalloc, zfree, Z_KMALLOC16, Z_SOCKET, Z_FILE,
  Z_KMALLOC64, Z_MSG, TD, TDF_SINTR, SO, SSB, IPC, SSB_ASYNC, SS_ASYNC, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET,
  SO_NOSIGPIPE, SHUT_RD, SHUT_WR, MSG_NOSIGNAL, MSG_PEEK, FILE, FILEDESC, FDNODE, UF_RESERVED, FREAD, FWRITE,
  FNONBLOCK, FASYNC, FIONBIO, FIOASYNC, DTYPE_VNODE, PROC, RLIMIT, RLIMIT_NOFILE, SIGPIPE, SIGUSR1, SIG_CATCH,
  F_SETFL, O_NONBLOCK, O_ASYNC,  EPROTOTYPE, SOPT, ipc_globals, net_add_domain, pffindtype,
  proc_create, proc_exit, proc_attach_thread, proc_detach_thread, kern_sigaction, psignal, lwkt_sigtake,
  kern_setrlimit, kern_getrlimit, kern_close, kern_fcntl, falloc, fsetfd, fdrop, holdfp, fileops_of, kern_nfiles, free_sockaddr,
  Uio, uio_init, UIO_READ, UIO_WRITE, FIONREAD, FIOSETOWN, FIOGETOWN, SIOCATMARK,
  kern_socket, kern_socketpair, kern_bind, kern_listen, kern_accept, kern_connect, kern_sendmsg, kern_recvmsg,
  kern_shutdown, kern_setsockopt, kern_getsockopt, kern_getsockname, kern_getpeername, getsockaddr,
  type Blocking, type Ptr, type Protosw, type Domain,
} from '../../src/kernel.js';
import { zone_desc, ZD } from '../../shared/zone.js';
import { STAT } from '../../src/sys/stat.js';
import { TP_FAMILY } from './socket_progs.js';

/* ---- family 89: the test protocol with a failing pru_connect2 ---- */

export const TPF_FAMILY = 89;
const tp_stream = pffindtype(TP_FAMILY, SOCK_STREAM) as Protosw;
const tp_dgram = pffindtype(TP_FAMILY, SOCK_DGRAM) as Protosw;
KASSERT(tp_stream !== null && tp_dgram !== null, 'syscall_progs: socket_progs did not register family 88');
const tp = tp_stream.pr_usrreqs;

function connect2_fail(_so1: Ptr, _so2: Ptr): number { return EPROTOTYPE; }
/* The first call connects both ends (tp_connect2); the reverse call then fails. */
function connect2_once(so1: Ptr, so2: Ptr): number {
  if (k32[k32[so1 + SO.so_pcb] + 1] !== NULL) return EPROTOTYPE;
  return tp.pru_connect2(so1, so2);
}
function tpf_protosw(base: Protosw, connect2: (a: Ptr, b: Ptr) => number): Protosw {
  return { pr_type: base.pr_type, pr_domain: null as unknown as Domain, pr_protocol: 1, pr_flags: base.pr_flags,
    pr_ctloutput: null, pr_mport: null, pr_usrreqs: { ...tp, pru_connect2: connect2 }, pr_index: 0 };
}
net_add_domain({ dom_family: TPF_FAMILY, dom_name: 'tpf', dom_init: null, dom_externalize: null, dom_dispose: null,
  dom_protosw: [tpf_protosw(tp_stream, connect2_fail), tpf_protosw(tp_dgram, connect2_once)], dom_next: null });

/* ---- helpers ---- */

interface Ctx { p: Ptr; w: Ptr; uio: Uio }

/* A process of its own for this thread, and 16 scratch words. */
function begin(uid = 1000): Ctx {
  const p = proc_create(uid, uid);
  KASSERT(p !== NULL, 'begin: proc_create');
  KASSERT(proc_attach_thread(p, curthread()) === 0, 'begin: attach');
  return { p, w: scratch(), uio: new Uio() };
}
/* Join process p (a second thread of it). */
function join(p: Ptr): Ctx {
  KASSERT(proc_attach_thread(p, curthread()) === 0, 'join: attach');
  return { p, w: scratch(), uio: new Uio() };
}
function leave(c: Ctx): void {
  zfree(Z_KMALLOC16, c.w);
  proc_detach_thread(c.p, curthread());
}
function* end(c: Ctx): Blocking<void> {
  leave(c);
  yield* proc_exit(c.p);
}
function scratch(): Ptr {
  const w = zalloc(Z_KMALLOC16);
  KASSERT(w !== NULL, 'scratch: kmalloc16');
  return w;
}

function* await_word(w: Ptr): Blocking<number> {
  let v: number;
  while ((v = Atomics.load(k32, w)) === 0) yield* tsleep(w, 0, 'await', 1);
  return v;
}
function publish(w: Ptr, v: number): void {
  Atomics.store(k32, w, v);
  wakeup(w);
}

function numopensockets(): number { return Atomics.load(k32, ipc_globals() + IPC.ipc_numopensockets); }
function inuse(z: number): number { return k32[zone_desc(z) + ZD.zd_inuse]; }

function* pair(c: Ctx, type = SOCK_STREAM): Blocking<[number, number]> {
  const e = yield* kern_socketpair(TP_FAMILY, type, 0, c.w);
  KASSERT(e === 0, 'pair: kern_socketpair');
  return [k32[c.w], k32[c.w + 1]];
}

function* send(c: Ctx, fd: number, buf: Uint8Array, flags = 0): Blocking<[number, number]> {
  k32[c.w + 15] = -1;
  const e = yield* kern_sendmsg(fd, NULL, buf, 0, buf.length, NULL, flags, c.w + 15);
  return [e, k32[c.w + 15]];
}
function* recv(c: Ctx, fd: number, buf: Uint8Array, flags = 0): Blocking<[number, number]> {
  k32[c.w + 15] = -1;
  k32[c.w + 14] = flags;
  const e = yield* kern_recvmsg(fd, NULL, buf, 0, buf.length, NULL, c.w + 14, c.w + 15);
  return [e, k32[c.w + 15]];
}

function fp_of(p: Ptr, fd: number): Ptr {
  const fdp = k32[p + PROC.p_fd];
  return k32[k32[fdp + FILEDESC.fd_files] + fd * FDNODE.SIZE];
}
function so_of(p: Ptr, fd: number): Ptr { return k32[fp_of(p, fd) + FILE.f_data]; }

/* The descriptor table's state: [lastfile, freefile, slots in use or reserved]. */
function fdstate(p: Ptr): number[] {
  const fdp = k32[p + PROC.p_fd];
  let used = 0;
  for (let fd = 0; fd < k32[fdp + FILEDESC.fd_nfiles]; fd++) {
    const n = k32[fdp + FILEDESC.fd_files] + fd * FDNODE.SIZE;
    if (k32[n] !== NULL || (k32[n + 1] & UF_RESERVED) !== 0) used++;
  }
  return [k32[fdp + FILEDESC.fd_lastfile], k32[fdp + FILEDESC.fd_freefile], used];
}

/* Everything kern_socketpair may touch, for "unwound exactly". */
function snapshot(p: Ptr): string {
  return JSON.stringify([inuse(Z_SOCKET), inuse(Z_FILE), inuse(Z_KMALLOC16), inuse(Z_KMALLOC64), inuse(Z_MSG),
    kern_nfiles(), numopensockets(), fdstate(p)]);
}

/* fo_read / fo_write on fd, as read(2) and write(2) reach them: [errno, bytes moved]. */
function* fo_rw(c: Ctx, fd: number, buf: Uint8Array, off: number, len: number, write: boolean): Blocking<[number, number]> {
  const fp = holdfp(k32[c.p + PROC.p_fd], fd, write ? FWRITE : FREAD);
  if (fp === NULL) return [9, 0];
  uio_init(c.uio, buf, off, len, write ? UIO_WRITE : UIO_READ, curthread());
  const ops = fileops_of(fp);
  const e = write ? yield* ops.fo_write(fp, c.uio, k32[fp + FILE.f_cred], 0) : yield* ops.fo_read(fp, c.uio, k32[fp + FILE.f_cred], 0);
  yield* fdrop(fp);
  return [e, len - c.uio.resid];
}

function* ioctl(c: Ctx, fd: number, cmd: number, arg: number): Blocking<[number, number]> {
  const fp = holdfp(k32[c.p + PROC.p_fd], fd, -1);
  k32[c.w + 13] = arg;
  const e = yield* fileops_of(fp).fo_ioctl(fp, cmd, c.w + 13, k32[fp + FILE.f_cred]);
  yield* fdrop(fp);
  return [e, k32[c.w + 13]];
}

function set_nofile(c: Ctx, n: number): void {
  const rl = c.w + 8;                               // two doubles on an even word
  KASSERT(kern_getrlimit(c.p, RLIMIT_NOFILE, rl) === 0, 'set_nofile: get');
  kf64[(rl + RLIMIT.rlim_cur_f64) >> 1] = n;         // the hard limit stays
  KASSERT(kern_setrlimit(c.p, RLIMIT_NOFILE, rl) === 0, 'set_nofile');
}

/* A file that is not a socket (a vnode with no operations), on the lowest free fd. */
function open_nonsock(c: Ptr): number {
  const res = scratch();
  KASSERT(falloc(c, res) === 0, 'open_nonsock: falloc');
  const fp = k32[res], fd = k32[res + 1];
  zfree(Z_KMALLOC16, res);
  k32[fp + FILE.f_type] = DTYPE_VNODE;
  k32[fp + FILE.f_flag] = FREAD | FWRITE;
  fsetfd(c, fp, fd);
  KASSERT(fdrop(fp).next().done === true, 'open_nonsock: fdrop blocked');
  return fd;
}

/* A kmem sockaddr of the test protocol naming listener so (its connect target). */
function tp_sockaddr(w: Ptr, so: Ptr): number {
  const sa = w * 4;
  ku8[sa] = 8;
  ku8[sa + 1] = TP_FAMILY;
  k32[w + 1] = so;
  return sa;
}

/* ---- the threads ---- */

/*
 * socketpair succeeds on the lowest free fds (stream and datagram; a datagram pair
 * talks both ways), and kern_socket too.  Returns the fds and round trips.
 */
export function* pair_basic(): Blocking<number[]> {
  const c = begin();
  const out: number[] = [];
  const n0 = numopensockets();
  out.push(...(yield* pair(c)));                                    // 0, 1
  out.push(...(yield* pair(c, SOCK_DGRAM)));                        // 2, 3
  out.push(yield* kern_close(c.p, 1));
  out.push(...(yield* pair(c)));                                    // 1, 4
  out.push(yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, c.w + 2), k32[c.w + 2]);   // 5
  out.push(numopensockets() - n0);                                  // 7 sockets
  const so2 = so_of(c.p, 2), so3 = so_of(c.p, 3);
  out.push(k32[fp_of(c.p, 2) + FILE.f_flag], k32[k32[so2 + SO.so_pcb] + 1] === so3 ? 1 : 0,
    k32[k32[so3 + SO.so_pcb] + 1] === so2 ? 1 : 0);
  const b = new Uint8Array(10);
  out.push(...(yield* send(c, 2, new Uint8Array([1, 2, 3]))), ...(yield* recv(c, 3, b)), b[2]);
  out.push(...(yield* send(c, 3, new Uint8Array([4, 5]))), ...(yield* recv(c, 2, b)), b[1]);
  yield* end(c);
  out.push(numopensockets() - n0);
  return out;
}

/*
 * Every failure point of kern_socketpair unwinds exactly: socket zone empty (first
 * socreate), one socket left (second), file zone empty (first falloc), one file left
 * (second), the fd limit at 0 and 1 free, connect2 failing (stream), the reverse connect2
 * failing (datagram).  Returns, per case, [errno, 1 if everything is as before].
 */
export function* pair_unwind(): Blocking<number[]> {
  const c = begin();
  const out: number[] = [];
  yield* pair(c);                                   // fds 0, 1 in use: a non-empty table
  const sv = c.w + 4;
  const hoard = (z: number, leave: number): Ptr[] => {
    const got: Ptr[] = [];
    for (let p = zalloc(z); p !== NULL; p = zalloc(z)) got.push(p);
    for (let i = 0; i < leave; i++) zfree(z, got.pop() as Ptr);
    return got;
  };
  const free = (z: number, got: Ptr[]): void => { for (const p of got) zfree(z, p); };
  const attempt = function* (domain: number, type: number, proto: number): Blocking<void> {
    const before = snapshot(c.p);
    k32[sv] = -7; k32[sv + 1] = -7;
    const e = yield* kern_socketpair(domain, type, proto, sv);
    out.push(e, snapshot(c.p) === before && k32[sv] === -7 && k32[sv + 1] === -7 ? 1 : 0);
  };
  for (const leave of [0, 1]) {
    const got = hoard(Z_SOCKET, leave);
    yield* attempt(TP_FAMILY, SOCK_STREAM, 0);
    free(Z_SOCKET, got);
  }
  for (const leave of [0, 1]) {
    const got = hoard(Z_FILE, leave);
    yield* attempt(TP_FAMILY, SOCK_STREAM, 0);
    free(Z_FILE, got);
  }
  for (const room of [0, 1]) {
    set_nofile(c, 2 + room);
    yield* attempt(TP_FAMILY, SOCK_STREAM, 0);
  }
  set_nofile(c, 1000);
  yield* attempt(TPF_FAMILY, SOCK_STREAM, 1);
  yield* attempt(TPF_FAMILY, SOCK_DGRAM, 1);
  // And after all that, a pair still comes on fds 2 and 3.
  out.push(...(yield* pair(c)));
  yield* end(c);
  return out;
}

/*
 * Byte conservation through the fileops between two threads of one process on two CPUs:
 * rw_writer (here) makes the pair and writes total bytes in chunks with fo_write, then
 * shuts down writing; rw_reader (another CPU, same process) reads with fo_read to EOF.
 * w: [0] proc, [1] reader done.
 */
export function* rw_writer(w: Ptr, total: number, chunk: number): Blocking<number[]> {
  const c = begin();
  const [a, b] = yield* pair(c);
  publish(w + 2, b + 1);
  publish(w, c.p);
  const buf = new Uint8Array(chunk);
  let sent = 0, e = 0;
  while (sent < total && e === 0) {
    const n = Math.min(chunk, total - sent);
    for (let i = 0; i < n; i++) buf[i] = (sent + i) * 31 & 0xff;
    let off = 0;
    while (off < n && e === 0) {
      const r = yield* fo_rw(c, a, buf, off, n - off, true);
      e = r[0];
      off += r[1];
    }
    sent += off;
  }
  const es = yield* kern_shutdown(a, SHUT_WR);
  yield* await_word(w + 1);
  yield* end(c);
  return [sent, e, es];
}

export function* rw_reader(w: Ptr, total: number): Blocking<number[]> {
  const p = yield* await_word(w);
  const fd = (yield* await_word(w + 2)) - 1;
  const c = join(p);
  const buf = new Uint8Array(5000);
  let got = 0, match = 0, reads = 0;
  for (;;) {
    const [e, n] = yield* fo_rw(c, fd, buf, 0, buf.length, false);
    KASSERT(e === 0, 'rw_reader: read failed');
    if (n === 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === ((got + i) * 31 & 0xff)) match++;
    got += n;
    reads++;
  }
  leave(c);
  publish(w + 1, 1);
  return [got, match, got === total ? 1 : 0, reads > 1 ? 1 : 0];
}

/*
 * FIONBIO then EWOULDBLOCK at exactly the buffer limit; FIONREAD; fo_stat; FIOASYNC;
 * FIOSETOWN/FIOGETOWN; SIOCATMARK; an unknown ioctl goes to the protocol.
 */
export function* nbio(): Blocking<number[]> {
  const c = begin();
  const [a, b] = yield* pair(c);
  const out: number[] = [];
  out.push(...(yield* ioctl(c, a, FIONBIO, 1)), k32[fp_of(c.p, a) + FILE.f_flag] & FNONBLOCK);
  out.push(...(yield* send(c, a, new Uint8Array(8191))), ...(yield* send(c, a, new Uint8Array(1))));
  out.push(...(yield* send(c, a, new Uint8Array(1))));             // EWOULDBLOCK, exactly full
  out.push(...(yield* ioctl(c, b, FIONREAD, 0)));                  // 8192
  // fo_stat on the full side.
  const sb = scratch();
  const fp = holdfp(k32[c.p + PROC.p_fd], b, -1);
  out.push(yield* fileops_of(fp).fo_stat(fp, sb, 0), k32[sb + STAT.st_mode] & 0o170000, kf64[(sb + STAT.st_size_f64) >> 1],
    k32[sb + STAT.st_blksize], k32[sb + STAT.st_uid], k32[sb + STAT.st_mode] & 0o777);
  yield* fdrop(fp);
  zfree(Z_KMALLOC16, sb);
  out.push(...(yield* recv(c, b, new Uint8Array(100))));
  out.push(...(yield* send(c, a, new Uint8Array(10000))));         // a short count, no error
  out.push(...(yield* ioctl(c, a, FIONBIO, 0)), k32[fp_of(c.p, a) + FILE.f_flag] & FNONBLOCK);
  // Reading an empty non-blocking socket.
  const [d1, d2] = yield* pair(c);
  yield* ioctl(c, d2, FIONBIO, 1);
  out.push(...(yield* recv(c, d2, new Uint8Array(4))));
  const so = so_of(c.p, b);
  out.push(...(yield* ioctl(c, b, FIOASYNC, 1)));
  out.push(k32[so + SO.so_state] & SS_ASYNC, k32[so + SO.so_rcv + SSB.ssb_flags] & SSB_ASYNC,
    k32[so + SO.so_snd + SSB.ssb_flags] & SSB_ASYNC);
  yield* ioctl(c, b, FIOASYNC, 0);
  out.push(k32[so + SO.so_state] & SS_ASYNC, k32[so + SO.so_rcv + SSB.ssb_flags] & SSB_ASYNC,
    k32[so + SO.so_snd + SSB.ssb_flags] & SSB_ASYNC);
  const pid = k32[c.p + PROC.p_pid];
  out.push((yield* ioctl(c, b, FIOSETOWN, pid))[0], (yield* ioctl(c, b, FIOGETOWN, 0))[1] === pid ? 1 : 0);
  out.push((yield* ioctl(c, b, FIOSETOWN, 99998))[0], (yield* ioctl(c, b, FIOSETOWN, 0))[0], (yield* ioctl(c, b, FIOGETOWN, 5))[1]);
  out.push(...(yield* ioctl(c, b, SIOCATMARK, 7)), (yield* ioctl(c, b, 0x20006601, 0))[0]);
  void d1;
  yield* end(c);
  return out;
}

/*
 * Argument and descriptor errors: EBADF, ENOTSOCK, EINVAL for bad enums and ranges
 * (unknown MSG_ flags are ignored, as DragonFly's kern_sendmsg/kern_recvmsg do), EFAULT for bad kmem pointers, ENAMETOOLONG/EDOM from getsockaddr, ENOTCONN
 * from getpeername; none changes the table.
 */
export function* bad_args(): Blocking<number[]> {
  const c = begin();
  const [a, b] = yield* pair(c);
  const ns = open_nonsock(c.p);                                     // fd 2
  const before = JSON.stringify(fdstate(c.p));
  const n0 = numopensockets();
  const out: number[] = [];
  const buf = new Uint8Array(8);
  const r = c.w + 15;
  out.push(yield* kern_sendmsg(99, NULL, buf, 0, 8, NULL, 0, r), yield* kern_sendmsg(-1, NULL, buf, 0, 8, NULL, 0, r),
    yield* kern_sendmsg(1.5, NULL, buf, 0, 8, NULL, 0, r), yield* kern_sendmsg(ns, NULL, buf, 0, 8, NULL, 0, r));
  out.push(yield* kern_recvmsg(ns, NULL, buf, 0, 8, NULL, NULL, r), yield* kern_listen(ns, 1), yield* kern_shutdown(99, SHUT_RD));
  out.push(yield* kern_sendmsg(a, NULL, buf, 4, 8, NULL, 0, r), yield* kern_sendmsg(a, NULL, buf, -1, 2, NULL, 0, r),
    yield* kern_sendmsg(a, NULL, buf, 0, 8, NULL, 0x40000000, r), yield* kern_sendmsg(a, NULL, buf, 0, 8, NULL, 0, 0),
    yield* kern_sendmsg(a, 6, buf, 0, 8, NULL, 0, r));
  k32[c.w + 14] = MSG_PEEK | 0x100000;
  out.push(yield* kern_recvmsg(b, NULL, buf, 0, 8, NULL, c.w + 14, r));
  out.push(yield* kern_socket(TP_FAMILY, 77, 0, r), yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0.5, r),
    yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, -4), yield* kern_socketpair(99, SOCK_STREAM, 0, r));
  out.push(yield* kern_shutdown(a, 7), yield* kern_shutdown(a, NaN), yield* kern_listen(a, NaN));
  k32[c.w + 10] = -1;
  out.push(yield* kern_accept(a, 0, c.w + 9, c.w + 10, r), yield* kern_accept(a, 0, NULL, NULL, r),
    yield* kern_accept(a, 0x1234, NULL, NULL, r));
  out.push(yield* kern_bind(a, (c.w * 4) + 1), yield* kern_connect(a, 0, 0), yield* kern_connect(a, 0x99, c.w * 4));
  out.push(getsockaddr(c.w + 9, new Uint8Array(300), 300), getsockaddr(c.w + 9, new Uint8Array(4), 1),
    getsockaddr(c.w + 9, new Uint8Array(4), 8));
  const s = yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, r);
  const lone = k32[r];
  k32[c.w + 10] = 16;
  out.push(s, yield* kern_getpeername(lone, c.w + 9, c.w + 10), yield* kern_getsockname(lone, c.w + 9, c.w + 10), k32[c.w + 10]);
  // setsockopt with a NULL value and a size; a negative size; a good one.
  const sopt = scratch();
  k32[sopt + SOPT.sopt_level] = SOL_SOCKET; k32[sopt + SOPT.sopt_name] = SO_NOSIGPIPE;
  k32[sopt + SOPT.sopt_val] = 0; k32[sopt + SOPT.sopt_valsize] = 4;
  out.push(yield* kern_setsockopt(a, sopt));
  k32[sopt + SOPT.sopt_val] = (c.w + 12) * 4; k32[sopt + SOPT.sopt_valsize] = -4;
  out.push(yield* kern_setsockopt(a, sopt), yield* kern_getsockopt(a, 0));
  k32[c.w + 12] = 1; k32[sopt + SOPT.sopt_valsize] = 4;
  out.push(yield* kern_setsockopt(a, sopt), (k32[so_of(c.p, a) + SO.so_options] & SO_NOSIGPIPE) !== 0 ? 1 : 0);
  k32[c.w + 12] = 0; k32[sopt + SOPT.sopt_valsize] = 4;
  out.push(yield* kern_getsockopt(a, sopt), k32[c.w + 12] !== 0 ? 1 : 0);
  zfree(Z_KMALLOC16, sopt);
  yield* kern_close(c.p, lone);
  out.push(JSON.stringify(fdstate(c.p)) === before ? 1 : 0, numopensockets() - n0);
  yield* end(c);
  return out;
}

/*
 * EPIPE raises SIGPIPE in the process; MSG_NOSIGNAL and SO_NOSIGPIPE suppress it.
 * Returns [errno, signal pending] x3.
 */
export function* epipe(): Blocking<number[]> {
  const c = begin();
  KASSERT(kern_sigaction(c.p, SIGPIPE, SIG_CATCH, 0) === 0, 'epipe: sigaction');
  const [a] = yield* pair(c);
  const out: number[] = [];
  yield* kern_shutdown(a, SHUT_WR);
  const td = curthread();
  const pending = (): number => (Atomics.load(k32, td + TD.td_sigpend) & (1 << (SIGPIPE - 1))) !== 0 ? 1 : 0;
  out.push((yield* send(c, a, new Uint8Array(3)))[0], pending());
  lwkt_sigtake(td, SIGPIPE);
  out.push((yield* send(c, a, new Uint8Array(3), MSG_NOSIGNAL))[0], pending());
  const sopt = scratch();
  k32[sopt + SOPT.sopt_level] = SOL_SOCKET; k32[sopt + SOPT.sopt_name] = SO_NOSIGPIPE;
  k32[sopt + SOPT.sopt_val] = (c.w + 12) * 4; k32[sopt + SOPT.sopt_valsize] = 4; k32[c.w + 12] = 1;
  KASSERT((yield* kern_setsockopt(a, sopt)) === 0, 'epipe: SO_NOSIGPIPE');
  zfree(Z_KMALLOC16, sopt);
  out.push((yield* send(c, a, new Uint8Array(3)))[0], pending());
  yield* end(c);
  return out;
}

/*
 * A short count on an interrupted partial write: partial_writer sends 20000 bytes on a
 * blocking stream; 8192 fit, then it sleeps; partial_signaller (another thread of the
 * process, another CPU) posts SIGUSR1 (caught, no SA_RESTART).  The write returns 0
 * with 8192.  w: [0] proc, [1] the writer's end fd + 1, [2] done.
 */
export function* partial_writer(w: Ptr): Blocking<number[]> {
  const c = begin();
  KASSERT(kern_sigaction(c.p, SIGUSR1, SIG_CATCH, 0) === 0, 'partial_writer: sigaction');
  const [a, b] = yield* pair(c);
  publish(w + 1, b + 1);
  publish(w, c.p);
  const r = yield* send(c, a, new Uint8Array(20000));
  const taken = lwkt_sigtake(curthread(), SIGUSR1) ? 1 : 0;
  const [e2, n2] = yield* ioctl(c, b, FIONREAD, 0);
  yield* await_word(w + 2);
  yield* end(c);
  return [...r, taken, e2, n2];
}

export function* partial_signaller(w: Ptr): Blocking<number> {
  const p = yield* await_word(w);
  const b = (yield* await_word(w + 1)) - 1;
  const c = join(p);
  const so = so_of(p, b);
  const writer = k32[p + PROC.p_threads];
  // Wait for the peer to hold the 8192 and the writer to be asleep interruptibly.
  for (let i = 0; i < 100000; i++) {
    if (k32[so + SO.so_rcv + SSB.ssb_cc] === 8192 && (Atomics.load(k32, writer + TD.td_flags) & TDF_SINTR) !== 0) break;
    yield* tsleep(w + 3, 0, 'pwait', 1);
  }
  yield* tsleep(w + 3, 0, 'pwait', 2);
  psignal(p, SIGUSR1);
  leave(c);
  publish(w + 2, 1);
  return 0;
}

/*
 * accept: EMFILE at once when the table is full (no connection needed); a non-blocking
 * listener's EWOULDBLOCK leaves the table as it was; the accepted socket inherits
 * FNONBLOCK|FASYNC (set on the listener with fcntl) and is connected; after
 * shutdown(SHUT_RD) ECONNABORTED.  All in one thread.
 */
export function* accept_local(): Blocking<number[]> {
  const c = begin();
  const out: number[] = [];
  const r = c.w + 15;
  KASSERT((yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, r)) === 0, 'accept_local: socket');
  const l = k32[r];
  out.push(yield* kern_listen(l, 5));
  set_nofile(c, 1);
  const t0 = JSON.stringify(fdstate(c.p));
  out.push(yield* kern_accept(l, 0, NULL, NULL, r), JSON.stringify(fdstate(c.p)) === t0 ? 1 : 0);   // EMFILE
  set_nofile(c, 1000);
  out.push(yield* kern_fcntl(c.p, l, F_SETFL, O_NONBLOCK | O_ASYNC, r));
  out.push(yield* kern_accept(l, 0, NULL, NULL, r), JSON.stringify(fdstate(c.p)) === t0 ? 1 : 0);   // EWOULDBLOCK
  KASSERT((yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, r)) === 0, 'accept_local: socket 2');
  const s = k32[r];                                                   // fd 1
  const sa = tp_sockaddr(c.w + 4, so_of(c.p, l));
  out.push(yield* kern_connect(s, 0, sa));
  k32[c.w + 10] = 16; k32[c.w + 9] = -1;
  out.push(yield* kern_accept(l, 0, c.w + 9, c.w + 10, r), k32[r], k32[c.w + 9], k32[c.w + 10]);   // fd 2, no name
  const nfd = k32[r];
  out.push(k32[fp_of(c.p, nfd) + FILE.f_flag] & (FNONBLOCK | FASYNC | FREAD | FWRITE),
    k32[so_of(c.p, nfd) + SO.so_state] & SS_ASYNC ? 1 : 0);
  const b = new Uint8Array(8);
  out.push(...(yield* send(c, s, new Uint8Array([9, 8, 7]))), ...(yield* recv(c, nfd, b)), b[0]);
  out.push(yield* kern_connect(s, 0, sa));                           // EISCONN
  out.push(yield* kern_shutdown(l, SHUT_RD), yield* kern_accept(l, 0, NULL, NULL, r));   // ECONNABORTED
  out.push(yield* kern_accept(l, 1 << 18 /* O_FBLOCKING */, NULL, NULL, r));            // still ECONNABORTED
  yield* end(c);
  return out;
}

/*
 * accept across CPUs, threads of one process: acceptor (here) blocks in kern_accept with
 * its new fd already reserved; connector (another CPU) checks the reservation, connects,
 * then after the first accept shuts the listener down while the acceptor waits again,
 * which ends that wait with ECONNABORTED.  w: [0] proc, [1] listener fd + 1,
 * [2] first accept done, [3] connector done.
 */
export function* acceptor(w: Ptr): Blocking<number[]> {
  const c = begin();
  const r = c.w + 15;
  KASSERT((yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, r)) === 0, 'acceptor: socket');
  const l = k32[r];
  KASSERT((yield* kern_listen(l, 5)) === 0, 'acceptor: listen');
  publish(w + 1, l + 1);
  publish(w, c.p);
  const out: number[] = [];
  out.push(yield* kern_accept(l, 0, NULL, NULL, r), k32[r]);
  const nfd = k32[r];
  const b = new Uint8Array(16);
  out.push(...(yield* recv(c, nfd, b)), b[4]);
  publish(w + 2, 1);
  out.push(yield* kern_accept(l, 0, NULL, NULL, r));                // blocks; ECONNABORTED
  yield* await_word(w + 3);
  out.push(...fdstate(c.p));
  yield* end(c);
  return out;
}

export function* connector(w: Ptr): Blocking<number[]> {
  const p = yield* await_word(w);
  const l = (yield* await_word(w + 1)) - 1;
  const c = join(p);
  const out: number[] = [];
  const fdp = k32[p + PROC.p_fd];
  // The acceptor is asleep with fd 1 reserved (not yet visible).
  const node1 = k32[fdp + FILEDESC.fd_files] + 1 * FDNODE.SIZE;
  for (let i = 0; i < 100000 && (k32[node1 + 1] & UF_RESERVED) === 0; i++) yield* tsleep(w + 4, 0, 'rsv', 1);
  yield* tsleep(w + 4, 0, 'rsv2', 2);
  out.push((k32[node1 + 1] & UF_RESERVED) !== 0 ? 1 : 0, k32[node1]);
  const r = c.w + 15;
  KASSERT((yield* kern_socket(TP_FAMILY, SOCK_STREAM, 0, r)) === 0, 'connector: socket');
  const s = k32[r];                                                  // fd 2
  out.push(s, yield* kern_connect(s, 0, tp_sockaddr(c.w + 4, so_of(p, l))));
  out.push(...(yield* send(c, s, new Uint8Array([1, 2, 3, 4, 5]))));
  yield* await_word(w + 2);
  // The acceptor waits again; let it sleep, then shut the listener down.
  const so = so_of(p, l);
  for (let i = 0; i < 100000 && (Atomics.load(k32, k32[p + PROC.p_threads] + TD.td_flags) & TDF_SINTR) === 0; i++) {
    yield* tsleep(w + 4, 0, 'slp', 1);
  }
  yield* tsleep(w + 4, 0, 'slp2', 2);
  out.push(yield* kern_shutdown(l, SHUT_RD), (k32[so + SO.so_state] & 0x20) !== 0 ? 1 : 0);
  yield* kern_close(p, s);
  leave(c);
  publish(w + 3, 1);
  return out;
}

/*
 * close while another thread of the process is blocked reading: blocked_reader (another
 * CPU) sleeps in kern_recvmsg on fd b; closer (here) closes b: the socket lives (the
 * reader's reference), a write on a reaches the reader, and the socket is freed only
 * when the reader lets go.  w: [0] proc, [1] b + 1, [2] reader done.
 */
export function* closer(w: Ptr): Blocking<number[]> {
  const c = begin();
  const [a, b] = yield* pair(c);
  const so = so_of(c.p, b);
  const n0 = numopensockets();
  publish(w + 1, b + 1);
  publish(w, c.p);
  const out: number[] = [];
  // Wait until the reader sleeps on so_rcv.
  for (let i = 0; i < 100000 && (Atomics.load(k32, so + SO.so_rcv + SSB.ssb_flags) & 0x04) === 0; i++) {
    yield* tsleep(w + 3, 0, 'rd', 1);
  }
  yield* tsleep(w + 3, 0, 'rd2', 2);
  out.push(yield* kern_close(c.p, b), numopensockets() - n0, k32[so + SO.so_pcb] !== NULL ? 1 : 0);
  out.push(...(yield* send(c, a, new Uint8Array([42, 43]))));
  yield* await_word(w + 2);
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

export function* blocked_reader(w: Ptr): Blocking<number[]> {
  const p = yield* await_word(w);
  const b = (yield* await_word(w + 1)) - 1;
  const c = join(p);
  const buf = new Uint8Array(8);
  const r = yield* recv(c, b, buf);
  leave(c);
  publish(w + 2, 1);
  return [...r, buf[0], buf[1]];
}

void free_sockaddr; void FIONREAD; void SHUT_RD;
