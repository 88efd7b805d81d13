/*
 * Kernel threads for the AF_LOCAL tests (test/uipc_usrreq.test.ts): the unix-domain
 * protocol (kern/uipc_usrreq.ts) and the namespace it binds into (kern/vfs_unixsock.ts),
 * driven at the kernel level: socreate(AF_LOCAL, ...), sobind with a sockaddr_un in kmem,
 * solisten, soconnect, accept by taking the connection off so_comp and soaccept, sosend
 * and soreceive with a Uio, soconnect2 for pairs.
 *
 * Every thread makes a process for itself (and, to act as another user, more: as_uid),
 * takes the BGL in the bgl dispatch model as the 2008 system calls did, returns the
 * numbers the test asserts, and frees everything it made, namespace entries included.
 */
import {
  k32, ku8, NULL, KASSERT, curthread, tsleep, wakeup, zalloc, zfree, Z_KMALLOC16, Z_KMALLOC256, get_mplock,
  rel_mplock, SO, SSB, IPC, SSB_STOP, SSB_WAIT, SS_ISCONNECTED, SS_CANTRCVMORE, SS_CANTSENDMORE, SS_COMP,
  AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, MSG_DONTWAIT, MSG_TRUNC, SHUT_WR,
  LOCAL_PEERCRED, ipc_globals, free_sockaddr,
  soclrstate, socreate, soclose, sobind, solisten, soconnect, soconnect2, soshutdown, sosend, soreceive, soaccept,
  sogetopt, so_pru_sockaddr, so_pru_peeraddr, so_pru_sense, Uio, uio_init, UIO_READ, UIO_WRITE, SOPT, so_dispatch_model, SO_DISPATCH_BGL, proc_create, proc_exit,
  proc_attach_thread, proc_detach_thread, pffindtype, kern_mkdir, kern_rmdir, kern_unlink, kern_chmod, kern_stat,
  localsw, UNPCB, XUCRED,
  type Blocking, type Ptr,
} from '../../src/kernel.js';
import { TAILQ_FIRST, TAILQ_REMOVE } from '../../shared/tailq.js';
import { STAT } from '../../src/sys/stat.js';
import { sopoll } from '../../src/kern/uipc_socket.js';
import { POLLIN, POLLRDNORM, POLLOUT, POLLINIGNEOF } from '../../src/sys/poll.js';

/* ---- helpers ---- */

const bgl = (): boolean => so_dispatch_model() === SO_DISPATCH_BGL;
const SLOT_BYTES = 256;               // one sockaddr or path per slot of the scratch item

/*
 * A thread's context: its processes by uid (the one it acts as is attached), scratch
 * words w (kmalloc16) and sockaddr/path slots sa (a kmalloc256 item: 4 slots of 256 bytes).
 */
interface Ctx { procs: Map<number, Ptr>; p: Ptr; w: Ptr; sa: Ptr; uio: Uio }

function* begin(uid: number): Blocking<Ctx> {
  const p = proc_create(uid, uid);
  KASSERT(p !== NULL, 'begin: proc_create');
  proc_attach_thread(p, curthread());
  const w = zalloc(Z_KMALLOC16), sa = zalloc(Z_KMALLOC256);
  KASSERT(w !== NULL && sa !== NULL, 'begin: scratch');
  if (bgl()) yield* get_mplock();
  return { procs: new Map([[uid, p]]), p, w, sa, uio: new Uio() };
}

function* end(c: Ctx): Blocking<void> {
  if (bgl()) rel_mplock();
  zfree(Z_KMALLOC16, c.w);
  zfree(Z_KMALLOC256, c.sa);
  proc_detach_thread(c.p, curthread());
  for (const p of c.procs.values()) yield* proc_exit(p);
}

/* Act as uid from now on: this thread moves to that user's process. */
function as_uid(c: Ctx, uid: number): void {
  let p = c.procs.get(uid);
  if (p === undefined) {
    p = proc_create(uid, uid);
    KASSERT(p !== NULL, 'as_uid: proc_create');
    c.procs.set(uid, p);
  }
  proc_detach_thread(c.p, curthread());
  proc_attach_thread(p, curthread());
  c.p = p;
}

/* A sockaddr_un for path in scratch slot (sun_len 2 + path length unless given). */
function sun(c: Ctx, slot: number, path: string, sun_len = -1): number {
  const a = c.sa * 4 + slot * SLOT_BYTES;
  ku8.fill(0, a, a + SLOT_BYTES);
  for (let i = 0; i < path.length; i++) ku8[a + 2 + i] = path.charCodeAt(i);
  ku8[a] = sun_len >= 0 ? sun_len : 2 + path.length;
  ku8[a + 1] = AF_LOCAL;
  return a;
}

/* The byte address of path written in scratch slot 3 (for kern_mkdir and friends). */
function pth(c: Ctx, path: string): number { return sun(c, 3, path) + 2; }
function* mkdir(c: Ctx, path: string, mode: number): Blocking<number> { return kern_mkdir(pth(c, path), path.length, mode, curthread()); }
function rmdir(c: Ctx, path: string): number { return kern_rmdir(pth(c, path), path.length, curthread()); }
function unlink(c: Ctx, path: string): number { return kern_unlink(pth(c, path), path.length, curthread()); }
function chmod(c: Ctx, path: string, mode: number): number { return kern_chmod(pth(c, path), path.length, mode, curthread()); }

/* stat(path): [errno, st_mode, st_uid, st_nlink]. */
function stat(c: Ctx, path: string): number[] {
  const sb = c.sa + 3 * SLOT_BYTES / 4 + 32;        // words past the path in slot 3
  k32.fill(0, sb, sb + STAT.SIZE);
  const e = kern_stat(pth(c, path), path.length, sb, curthread());
  return [e, k32[sb + STAT.st_mode], k32[sb + STAT.st_uid], k32[sb + STAT.st_nlink]];
}

/* The path of a dup'd sockaddr (as a string), or '' for NULL; frees it. */
function sa_take(sa: number): string {
  if (sa === NULL) return '';
  let s = '';
  for (let i = 2; i < ku8[sa] && ku8[sa + i] !== 0; i++) s += String.fromCharCode(ku8[sa + i]);
  const out = ku8[sa] === 16 && s === '' ? '<noname>' : s;
  free_sockaddr(sa);
  return out;
}

function* mk(c: Ctx, type: number): Blocking<Ptr> {
  const e = yield* socreate(AF_LOCAL, c.w, type, 0, curthread());
  KASSERT(e === 0, 'mk: socreate');
  return k32[c.w];
}

function* bind(c: Ctx, so: Ptr, path: string): Blocking<number> { return yield* sobind(so, sun(c, 0, path), curthread()); }
function* connect(c: Ctx, so: Ptr, path: string): Blocking<number> { return yield* soconnect(so, sun(c, 1, path), curthread()); }

/* A listener bound at path. */
function* listener(c: Ctx, type: number, path: string, backlog: number): Blocking<Ptr> {
  const l = yield* mk(c, type);
  KASSERT((yield* bind(c, l, path)) === 0, 'listener: bind');
  KASSERT((yield* solisten(l, backlog, curthread())) === 0, 'listener: listen');
  return l;
}

/* accept(2) at the kernel level: take the first completed connection; its peer's name in *name. */
function accept(c: Ctx, head: Ptr, name: string[] | null): Ptr {
  const so = TAILQ_FIRST(head + SO.so_comp);
  if (so === NULL) return NULL;
  TAILQ_REMOVE(head + SO.so_comp, so, SO.so_list);
  k32[head + SO.so_qlen]--;
  soclrstate(so, SS_COMP);
  k32[so + SO.so_head] = NULL;
  k32[c.w + 2] = NULL;
  KASSERT(soaccept(so, c.w + 2) === 0, 'accept: soaccept');
  const nm = sa_take(k32[c.w + 2]);
  if (name !== null) name.push(nm);
  return so;
}

/* A connected pair (socketpair): a datagram pair is connected both ways. */
function* pair(c: Ctx, type: number): Blocking<[Ptr, Ptr]> {
  const a = yield* mk(c, type), b = yield* mk(c, type);
  KASSERT((yield* soconnect2(a, b)) === 0, 'pair: soconnect2');
  if (type === SOCK_DGRAM) KASSERT((yield* soconnect2(b, a)) === 0, 'pair: soconnect2 back');
  return [a, b];
}

/* sosend of n bytes (a pattern from seed): [errno, bytes sent]. */
function* send(c: Ctx, so: Ptr, n: number, flags: number, addr = NULL, seed = 0): Blocking<[number, number]> {
  const buf = new Uint8Array(n);
  for (let i = 0; i < n; i++) buf[i] = (seed + i * 7) & 0xff;
  uio_init(c.uio, buf, 0, n, UIO_WRITE, curthread());
  const e = yield* sosend(so, addr, c.uio, NULL, NULL, flags, curthread());
  return [e, n - c.uio.resid];
}

/* soreceive into an n-byte buffer: [errno, bytes, flags out, 1 if the bytes match seed's pattern]; *from = sender. */
function* recv(c: Ctx, so: Ptr, n: number, flags: number, from: string[] | null = null, seed = 0): Blocking<number[]> {
  const buf = new Uint8Array(n);
  uio_init(c.uio, buf, 0, n, UIO_READ, curthread());
  k32[c.w + 1] = flags;
  k32[c.w + 3] = NULL;
  const e = yield* soreceive(so, from !== null ? c.w + 3 : NULL, c.uio, NULL, NULL, c.w + 1);
  const got = n - c.uio.resid;
  let ok = 1;
  for (let i = 0; i < got; i++) if (buf[i] !== ((seed + i * 7) & 0xff)) ok = 0;
  if (from !== null) from.push(sa_take(k32[c.w + 3]));
  else if (k32[c.w + 3] !== NULL) free_sockaddr(k32[c.w + 3]);
  return [e, got, k32[c.w + 1], ok];
}

function numopensockets(): number { return Atomics.load(k32, ipc_globals() + IPC.ipc_numopensockets); }

/* Wait until the asynchronous aborts (netisr model) have freed the sockets down to n. */
function* settle(n: number): Blocking<void> {
  const chan = ipc_globals() + IPC.ipc_numopensockets;    // nobody wakes it: a timed poll
  for (let i = 0; i < 10000 && numopensockets() !== n; i++) yield* tsleep(chan, 0, 'settle', 1);
}

/* Wait (a timed poll, bounded) until word w is non-zero; returns it. */
function* await_word(w: Ptr, what: string): Blocking<number> {
  let v = 0;
  for (let i = 0; i < 200000 && (v = Atomics.load(k32, w)) === 0; i++) yield* tsleep(w, 0, what, 1);
  KASSERT(v !== 0, 'await_word: gave up');
  return v;
}

function post(w: Ptr, v: number): void {
  Atomics.store(k32, w, v);
  wakeup(w);
}

/* getsockname / getpeername at the kernel level: [errno, path ('' for none, '<noname>')]. */
function* sockname(c: Ctx, so: Ptr): Blocking<(number | string)[]> {
  k32[c.w + 2] = NULL;
  const e = yield* so_pru_sockaddr(so, c.w + 2);
  return [e, sa_take(k32[c.w + 2])];
}
function* peername(c: Ctx, so: Ptr): Blocking<(number | string)[]> {
  k32[c.w + 2] = NULL;
  const e = yield* so_pru_peeraddr(so, c.w + 2);
  return [e, sa_take(k32[c.w + 2])];
}

/* LOCAL_PEERCRED: [errno, cr_uid]. */
function* peercred(c: Ctx, so: Ptr): Blocking<number[]> {
  const sopt = c.sa + 2 * SLOT_BYTES / 4;               // slot 2 as words: the sockopt, then its value
  const val = sopt + 16;
  k32.fill(0, sopt, sopt + 32);
  k32[sopt + SOPT.sopt_level] = 0;
  k32[sopt + SOPT.sopt_name] = LOCAL_PEERCRED;
  k32[sopt + SOPT.sopt_val] = val * 4;
  k32[sopt + SOPT.sopt_valsize] = XUCRED.SIZE * 4;
  k32[sopt + SOPT.sopt_td] = curthread();
  const e = yield* sogetopt(so, sopt);
  return [e, e === 0 ? k32[val + XUCRED.cr_uid] : -1];
}

/* A deterministic generator for sizes and data (the threads' own; the kernel has karc4random). */
function lcg(s: number): number { return (Math.imul(s, 1103515245) + 12345) >>> 0; }

/* ---- the threads ---- */

/*
 * The protocol table and attach: pr_flags, socreate's errors, the default buffer sizes
 * per type (hiwat, mbmax, lowat of so_snd and so_rcv); uipc_sense.
 */
export function* attach(): Blocking<number[]> {
  const c = yield* begin(1000);
  const out: number[] = [];
  for (const t of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) out.push(pffindtype(AF_LOCAL, t)!.pr_flags);
  out.push(localsw.length, pffindtype(AF_LOCAL, SOCK_RAW) === null ? 1 : 0);
  out.push(yield* socreate(AF_LOCAL, c.w, SOCK_RAW, 0, curthread()));
  out.push(yield* socreate(AF_LOCAL, c.w, SOCK_STREAM, 6, curthread()));
  for (const t of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
    const so = yield* mk(c, t);
    const snd = so + SO.so_snd, rcv = so + SO.so_rcv;
    out.push(k32[snd + SSB.ssb_hiwat], k32[snd + SSB.ssb_mbmax], k32[snd + SSB.ssb_lowat],
      k32[rcv + SSB.ssb_hiwat], k32[rcv + SSB.ssb_mbmax], k32[rcv + SSB.ssb_lowat]);
    out.push(k32[so + SO.so_pcb] !== NULL && k32[k32[so + SO.so_pcb] + UNPCB.unp_socket] === so ? 1 : 0);
    // uipc_sense: st_blksize the send hiwat, st_dev NOUDEV, a non-zero inode number that stays.
    const sb = c.sa + 2 * SLOT_BYTES / 4;
    k32.fill(0, sb, sb + STAT.SIZE);
    out.push(yield* so_pru_sense(so, sb), k32[sb + STAT.st_blksize], k32[sb + STAT.st_dev]);
    const ino = k32[sb + STAT.st_ino];
    yield* so_pru_sense(so, sb);
    out.push(ino !== 0 && k32[sb + STAT.st_ino] === ino ? 1 : 0);
    out.push(yield* soclose(so, 0));
  }
  yield* end(c);
  return out;
}

/*
 * bind and the namespace: EINVAL (double bind, empty path), EADDRINUSE, ENOENT; a
 * 253-byte name; the socket file's mode and owner; sockaddr; listen unbound; after close
 * the file stays (connect: ECONNREFUSED) until unlinked (then ENOENT).
 */
export function* bind_errors(): Blocking<(number | string)[]> {
  const c = yield* begin(1000);
  const out: (number | string)[] = [];
  const a = yield* mk(c, SOCK_STREAM), b = yield* mk(c, SOCK_STREAM);
  out.push(yield* solisten(a, 5, curthread()));              // EINVAL: not bound
  out.push(yield* bind(c, a, '/a.sock'));
  out.push(yield* bind(c, a, '/b.sock'));                     // EINVAL: already bound
  out.push(yield* bind(c, b, '/a.sock'));                     // EADDRINUSE
  out.push(yield* bind(c, b, '//a.sock/'));                   // EADDRINUSE: the same file
  out.push(yield* sobind(b, sun(c, 0, '', 2), curthread()));  // EINVAL: sun_len - 2 <= 0
  out.push(yield* sobind(b, sun(c, 0, '', 106), curthread())); // EINVAL: empty path
  out.push(yield* bind(c, b, '/nodir/x'));                    // ENOENT
  // A 253-byte path (sun_len 255: SOCK_MAXADDRLEN) binds: unp_bind takes sun_len - 2
  // bytes, and one component may have NAME_MAX (255).  The name comes back whole.
  const e = yield* mk(c, SOCK_STREAM), longp = '/' + 'x'.repeat(252);
  out.push(yield* bind(c, e, longp));                         // 0
  const [ne, np] = yield* sockname(c, e);
  out.push(ne, np === longp ? 253 : np);                      // 0, 253
  out.push(yield* soclose(e, 0), unlink(c, longp));          // 0, 0
  out.push(...stat(c, '/a.sock'));                            // S_IFSOCK | 0755 (umask 022), uid 1000
  out.push(...(yield* sockname(c, a)), ...(yield* sockname(c, b)));   // '/a.sock'; unbound: none
  out.push(yield* solisten(a, 5, curthread()));
  out.push(yield* connect(c, b, '/a.sock'), (k32[b + SO.so_state] & SS_ISCONNECTED) !== 0 ? 1 : 0);
  const s = accept(c, a, null);
  out.push(s !== NULL ? 1 : 0);
  out.push(yield* soclose(a, 0));
  out.push(...stat(c, '/a.sock'));                            // the file stays
  const d = yield* mk(c, SOCK_STREAM);
  out.push(yield* connect(c, d, '/a.sock'));                  // ECONNREFUSED: nobody bound
  out.push(unlink(c, '/a.sock'), unlink(c, '/a.sock'));      // 0, ENOENT
  out.push(yield* connect(c, d, '/a.sock'));                  // ENOENT
  out.push(yield* bind(c, d, '/a.sock'));                     // free again
  out.push(unlink(c, '/a.sock'));
  for (const so of [b, s, d]) out.push(yield* soclose(so, 0));
  yield* end(c);
  return out;
}

/*
 * connect's errors and permissions, as three users (1000 owns /d and the listener, 2000
 * is another user, 0 is root): backlog full -> ECONNREFUSED at once; EPROTOTYPE between
 * types; EACCES for a directory without search permission and a socket file without
 * write permission (root passes); ENOTDIR, ENOTSOCK; mkdir/rmdir/unlink/chmod errors;
 * LOCAL_PEERCRED both ways; accept's and getpeername's names.
 */
export function* connect_errors(): Blocking<(number | string)[]> {
  const c = yield* begin(1000);
  const out: (number | string)[] = [];
  out.push(yield* mkdir(c, '/d', 0o700), yield* mkdir(c, '/d', 0o700));   // 0, EEXIST
  const l = yield* listener(c, SOCK_STREAM, '/d/s', 0);
  const c1 = yield* mk(c, SOCK_STREAM), c2 = yield* mk(c, SOCK_STREAM);
  out.push(...(yield* peercred(c, c1)));                                    // ENOTCONN
  out.push(yield* connect(c, c1, '/d/s'), k32[l + SO.so_qlen]);            // 0, 1
  out.push(yield* connect(c, c2, '/d/s'), k32[l + SO.so_qlen]);            // ECONNREFUSED: backlog 0 is full
  out.push(yield* connect(c, c1, '/d/s'));                                  // EISCONN
  const names: string[] = [];
  const s1 = accept(c, l, names);
  out.push(names[0], ...(yield* peername(c, c1)), ...(yield* peername(c, s1)));   // <noname>, /d/s, <noname>
  const g = yield* mk(c, SOCK_DGRAM), q = yield* mk(c, SOCK_SEQPACKET);
  out.push(yield* connect(c, g, '/d/s'), yield* connect(c, q, '/d/s'));    // EPROTOTYPE x2
  out.push(yield* soconnect2(g, c2));                                       // EPROTOTYPE
  out.push(yield* connect(c, c2, '/d/s/x'), yield* connect(c, c2, '/d'));   // ENOTDIR, ENOTSOCK
  as_uid(c, 2000);
  out.push(yield* connect(c, c2, '/d/s'), yield* bind(c, c2, '/d/t'));      // EACCES: no search on /d
  out.push(chmod(c, '/d', 0o755));                                          // EPERM: not the owner
  as_uid(c, 1000);
  out.push(chmod(c, '/d', 0o755));
  as_uid(c, 2000);
  out.push(yield* connect(c, c2, '/d/s'), yield* bind(c, c2, '/d/t'));      // EACCES: 0755 file; no write on /d
  as_uid(c, 1000);
  out.push(chmod(c, '/d/s', 0o777));
  as_uid(c, 2000);
  out.push(yield* connect(c, c2, '/d/s'));                                  // 0
  out.push(...(yield* peercred(c, c2)));                                    // the listener's uid: 1000
  const s2 = accept(c, l, null);
  out.push(...(yield* peercred(c, s2)));                                    // the connector's: 2000
  out.push(unlink(c, '/d/s'));                                              // EACCES: /d not writable
  as_uid(c, 1000);
  out.push(chmod(c, '/d/s', 0));
  as_uid(c, 0);
  const c3 = yield* mk(c, SOCK_STREAM);
  out.push(yield* connect(c, c3, '/d/s'));                                  // root: 0
  const s3 = accept(c, l, null);
  as_uid(c, 1000);
  out.push(rmdir(c, '/d'), unlink(c, '/d'), rmdir(c, '/d/s'));             // ENOTEMPTY, EPERM, ENOTDIR
  const nl = yield* mk(c, SOCK_STREAM);
  out.push(yield* bind(c, nl, '/d/n'));
  const c4 = yield* mk(c, SOCK_STREAM);
  out.push(yield* connect(c, c4, '/d/n'));                                  // ECONNREFUSED: not listening
  const extra = TAILQ_FIRST(l + SO.so_comp);
  out.push(extra === NULL ? 1 : 0);
  for (const so of [l, c1, c2, g, q, s1, s2, c3, s3, nl, c4]) out.push(yield* soclose(so, 0));
  out.push(unlink(c, '/d/s'), unlink(c, '/d/n'), rmdir(c, '/d'), rmdir(c, '/'));   // 0, 0, 0, EBUSY
  out.push(...stat(c, '/d'));                                               // ENOENT
  yield* end(c);
  return out;
}

/*
 * Datagrams: record boundaries and the sender's address (sun_noname when unbound);
 * EDESTADDRREQ, EISCONN; the 65th unread one-byte datagram ENOBUFS (mbcnt); 2048-byte
 * datagrams: the second overshoots hiwat, the third ENOBUFS; 2049 bytes EMSGSIZE; closing
 * the receiver gives a connected sender ECONNRESET once, then EDESTADDRREQ.
 */
export function* dgram(): Blocking<(number | string)[]> {
  const c = yield* begin(1000);
  const out: (number | string)[] = [];
  const r = yield* mk(c, SOCK_DGRAM), s = yield* mk(c, SOCK_DGRAM), t = yield* mk(c, SOCK_DGRAM);
  out.push(yield* bind(c, r, '/dg'), yield* bind(c, t, '/dg2'));
  const to = sun(c, 1, '/dg');
  for (const n of [10, 20, 30]) out.push((yield* send(c, s, n, 0, to, n))[0]);
  out.push((yield* send(c, t, 40, 0, to, 40))[0]);
  const rcv = r + SO.so_rcv;
  out.push(k32[rcv + SSB.ssb_cc]);                                  // 100 + 4 addresses: 3 * 16 + 6
  for (const n of [10, 20, 30, 40]) {
    const from: string[] = [];
    const x = yield* recv(c, r, 100, 0, from, n);
    out.push(x[0], x[1], x[3], from[0]);
  }
  out.push((yield* send(c, s, 5, 0))[0]);                           // EDESTADDRREQ
  out.push(yield* connect(c, s, '/dg'));
  out.push((yield* send(c, s, 5, 0, sun(c, 1, '/dg')))[0]);         // EISCONN
  // 64 one-byte datagrams fit (17 cc, 512 mbcnt each: mbmax 32768), the 65th is ENOBUFS.
  let ok = 0;
  for (let i = 0; i < 64; i++) if ((yield* send(c, s, 1, 0))[0] === 0) ok++;
  out.push(ok, (yield* send(c, s, 1, 0))[0], k32[rcv + SSB.ssb_cc], k32[rcv + SSB.ssb_mbcnt]);
  for (let i = 0; i < 64; i++) yield* recv(c, r, 10, 0);
  out.push(k32[rcv + SSB.ssb_cc], k32[rcv + SSB.ssb_mbcnt]);
  // 2048 bytes: 2064 cc; the second still goes in (space 2032 > 0), the third does not.
  out.push((yield* send(c, s, 2048, 0))[0], k32[rcv + SSB.ssb_cc]);
  out.push((yield* send(c, s, 2048, 0))[0], k32[rcv + SSB.ssb_cc]);
  out.push((yield* send(c, s, 2048, 0))[0], (yield* send(c, s, 2049, 0))[0]);   // ENOBUFS, EMSGSIZE
  const x = yield* recv(c, r, 4096, 0);
  out.push(x[1], k32[rcv + SSB.ssb_cc]);                            // one datagram per read
  // The receiver closes: its connected sender gets ECONNRESET once, then EDESTADDRREQ.
  out.push(yield* soclose(r, 0));
  out.push(k32[s + SO.so_error], (k32[s + SO.so_state] & SS_ISCONNECTED) !== 0 ? 1 : 0);
  out.push((yield* send(c, s, 5, 0))[0], (yield* send(c, s, 5, 0))[0]);
  out.push((yield* send(c, s, 5, 0, sun(c, 1, '/dg')))[0]);         // ECONNREFUSED: the file stays
  out.push(unlink(c, '/dg'), unlink(c, '/dg2'));
  out.push(yield* soclose(s, 0), yield* soclose(t, 0));
  yield* end(c);
  return out;
}

/*
 * A datagram pair (socketpair: connected both ways) loses one end: the survivor's queued
 * datagram is still read, then ECONNRESET once, then nothing (EWOULDBLOCK); a send gives
 * ECONNRESET once, then EDESTADDRREQ.
 */
export function* dgram_pair_close(): Blocking<number[]> {
  const c = yield* begin(1000);
  const out: number[] = [];
  let [a, b] = yield* pair(c, SOCK_DGRAM);
  out.push((yield* send(c, a, 5, 0))[0], (yield* send(c, b, 7, 0))[0]);
  out.push(yield* soclose(a, 0));
  out.push(k32[b + SO.so_error], (k32[b + SO.so_state] & SS_ISCONNECTED) !== 0 ? 1 : 0);
  out.push(...(yield* recv(c, b, 100, MSG_DONTWAIT)).slice(0, 2));  // 0, 5
  out.push((yield* recv(c, b, 100, MSG_DONTWAIT))[0]);             // ECONNRESET
  out.push((yield* recv(c, b, 100, MSG_DONTWAIT))[0]);             // EWOULDBLOCK
  out.push((yield* send(c, b, 5, 0))[0]);                          // EDESTADDRREQ
  out.push(yield* soclose(b, 0));
  [a, b] = yield* pair(c, SOCK_DGRAM);
  out.push(yield* soclose(b, 0));
  out.push((yield* send(c, a, 5, 0))[0], (yield* send(c, a, 5, 0))[0]);   // ECONNRESET, EDESTADDRREQ
  out.push(yield* soclose(a, 0));
  yield* end(c);
  return out;
}

/*
 * SOCK_SEQPACKET through a name: each send is one record; a short read returns part of
 * one record with MSG_TRUNC and drops the rest; EMSGSIZE above the send hiwat.
 */
export function* seqpacket(): Blocking<number[]> {
  const c = yield* begin(1000);
  const out: number[] = [];
  const l = yield* listener(c, SOCK_SEQPACKET, '/sq', 5);
  const a = yield* mk(c, SOCK_SEQPACKET);
  out.push(yield* connect(c, a, '/sq'));
  const b = accept(c, l, null);
  for (const n of [100, 50, 30]) out.push((yield* send(c, a, n, 0, NULL, n))[0]);
  out.push(k32[b + SO.so_rcv + SSB.ssb_cc]);
  let x = yield* recv(c, b, 64, 0, null, 100);
  out.push(x[0], x[1], (x[2] & MSG_TRUNC) !== 0 ? 1 : 0, x[3], k32[b + SO.so_rcv + SSB.ssb_cc]);
  x = yield* recv(c, b, 1000, 0, null, 50);
  out.push(x[1], (x[2] & MSG_TRUNC) !== 0 ? 1 : 0, x[3]);
  x = yield* recv(c, b, 30, 0, null, 30);
  out.push(x[1], (x[2] & MSG_TRUNC) !== 0 ? 1 : 0, x[3]);
  out.push((yield* send(c, a, 57345, 0))[0]);                      // EMSGSIZE
  out.push((yield* send(c, b, 10, 0))[0], (yield* recv(c, a, 100, 0))[1]);   // the other way
  for (const so of [l, a, b]) out.push(yield* soclose(so, 0));
  out.push(unlink(c, '/sq'));
  yield* end(c);
  return out;
}

/*
 * Stream teardown: (1) the peer closes: the reader drains, then EOF; its writes EPIPE;
 * no so_error.  (2) shutdown(SHUT_WR): the peer reads the data, then EOF, and can still
 * write back; the shut side gets EPIPE.  (3) a listener closes with a connection still
 * queued: the client reads EOF and gets EPIPE.
 */
export function* stream_close(): Blocking<number[]> {
  const c = yield* begin(1000);
  const n0 = numopensockets();
  const out: number[] = [];
  let [a, b] = yield* pair(c, SOCK_STREAM);
  out.push((yield* send(c, a, 300, 0))[0]);
  out.push(yield* soclose(a, 0));
  out.push((k32[b + SO.so_state] & (SS_CANTRCVMORE | SS_CANTSENDMORE)) === (SS_CANTRCVMORE | SS_CANTSENDMORE) ? 1 : 0);
  let x = yield* recv(c, b, 200, 0);
  out.push(x[0], x[1], x[3]);
  x = yield* recv(c, b, 200, 0, null, 200 * 7);
  out.push(x[0], x[1], x[3]);
  x = yield* recv(c, b, 200, 0);
  out.push(x[0], x[1]);                                            // EOF
  out.push((yield* send(c, b, 10, 0))[0], k32[b + SO.so_error]);   // EPIPE, 0
  out.push(yield* soclose(b, 0));
  [a, b] = yield* pair(c, SOCK_STREAM);
  out.push((yield* send(c, a, 100, 0))[0], yield* soshutdown(a, SHUT_WR));
  x = yield* recv(c, b, 1000, 0);
  out.push(x[1], x[3], (yield* recv(c, b, 1000, 0))[1]);           // 100, then EOF
  out.push((yield* send(c, a, 1, 0))[0]);                          // EPIPE
  out.push((yield* send(c, b, 50, 0))[0], (yield* recv(c, a, 1000, 0))[1]);   // b -> a still works
  out.push(yield* soclose(a, 0), yield* soclose(b, 0));
  const l = yield* listener(c, SOCK_STREAM, '/lc', 5);
  const cl = yield* mk(c, SOCK_STREAM);
  out.push(yield* connect(c, cl, '/lc'), k32[l + SO.so_qlen]);
  out.push(yield* soclose(l, 0));
  yield* settle(n0 + 1);
  out.push(numopensockets() - n0);                                  // the queued one is gone
  x = yield* recv(c, cl, 10, 0);
  out.push(x[0], x[1], (yield* send(c, cl, 1, 0))[0]);              // EOF, EPIPE
  out.push(yield* soclose(cl, 0), unlink(c, '/lc'));
  out.push(numopensockets() - n0);
  yield* end(c);
  return out;
}

/*
 * Stream byte conservation across CPUs: stream_server (one CPU) listens at w[3]'s path
 * number, accepts, and reads with random sizes until EOF; stream_client (another CPU)
 * connects and writes total bytes of generated data with random sizes, then shuts down
 * its send side.  Both return [bytes, checksum]: the server's over what it read, the
 * client's over what it wrote.  w: [0] listening, [1] connected, [2] server done.
 */
function fnv(h: number, b: number): number { return Math.imul(h ^ b, 0x01000193) >>> 0; }

export function* stream_server(w: Ptr, seed: number): Blocking<number[]> {
  const c = yield* begin(1000);
  const l = yield* listener(c, SOCK_STREAM, '/srv', 5);
  KASSERT(chmod(c, '/srv', 0o777) === 0, 'stream_server: chmod');
  post(w, 1);
  yield* await_word(w + 1, 'conn');
  const s = accept(c, l, null);
  KASSERT(s !== NULL, 'stream_server: nothing to accept');
  const buf = new Uint8Array(9000);
  let got = 0, h = 0x811c9dc5, reads = 0, r = seed;
  for (;;) {
    r = lcg(r);
    const n = 1 + (r >>> 8) % buf.length;
    uio_init(c.uio, buf, 0, n, UIO_READ, curthread());
    k32[c.w + 1] = 0;
    const e = yield* soreceive(s, NULL, c.uio, NULL, NULL, c.w + 1);
    KASSERT(e === 0, 'stream_server: soreceive failed');
    const m = n - c.uio.resid;
    if (m === 0) break;                                    // EOF
    for (let i = 0; i < m; i++) h = fnv(h, buf[i]);
    got += m;
    reads++;
  }
  post(w + 2, 1);
  yield* soclose(s, 0);
  yield* soclose(l, 0);
  const e = unlink(c, '/srv');
  yield* end(c);
  return [got, h, e, reads > 1 ? 1 : 0];
}

export function* stream_client(w: Ptr, total: number, seed: number): Blocking<number[]> {
  const c = yield* begin(2000);
  yield* await_word(w, 'listen');   // the server made /srv writable by others (0777)
  const so = yield* mk(c, SOCK_STREAM);
  const e = yield* connect(c, so, '/srv');
  post(w + 1, 1);
  const buf = new Uint8Array(12000);
  let sent = 0, h = 0x811c9dc5, r = seed;
  while (sent < total) {
    r = lcg(r);
    const n = Math.min(total - sent, 1 + (r >>> 8) % buf.length);
    for (let i = 0; i < n; i++) {
      r = lcg(r);
      buf[i] = r >>> 24;
      h = fnv(h, buf[i]);
    }
    uio_init(c.uio, buf, 0, n, UIO_WRITE, curthread());
    const es = yield* sosend(so, NULL, c.uio, NULL, NULL, 0, curthread());
    KASSERT(es === 0 && c.uio.resid === 0, 'stream_client: sosend failed');
    sent += n;
  }
  const es = yield* soshutdown(so, SHUT_WR);
  yield* await_word(w + 2, 'sdone');
  yield* soclose(so, 0);
  yield* end(c);
  return [e, sent, h, es];
}

/*
 * SSB_STOP back-pressure across CPUs: bp_writer sends total bytes in one sosend to a
 * socketpair end; bp_reader (the other end, another CPU) waits until the writer is
 * asleep with SSB_STOP on its so_snd and its reader's buffer holding exactly the writer's
 * hiwat (one pass of 28 clusters), checks the writer has not returned, reads 1000 bytes
 * (uipc_rcvd lifts the stop), then reads the rest.  w: [0] the writer's socket, [1] the
 * writer returned, [2] the reader is done.
 */
export function* bp_reader(w: Ptr, total: number): Blocking<number[]> {
  const c = yield* begin(1000);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  post(w, a);
  const snd = a + SO.so_snd, rcv = b + SO.so_rcv;
  const both = SSB_STOP | SSB_WAIT;
  for (let i = 0; i < 200000 && (Atomics.load(k32, snd + SSB.ssb_flags) & both) !== both; i++) {
    yield* tsleep(w + 4, 0, 'bpwait', 1);
  }
  const out: number[] = [];
  out.push(Atomics.load(k32, snd + SSB.ssb_flags) & both, k32[rcv + SSB.ssb_cc], k32[snd + SSB.ssb_hiwat],
    k32[snd + SSB.ssb_cc], Atomics.load(k32, w + 1));
  let x = yield* recv(c, b, 1000, 0);
  let got = x[1], match = x[3] === 1 ? x[1] : 0;
  // The stop is lifted (uipc_rcvd) and the writer wakes: the buffer grows past what is left.
  let resumed = 0;
  for (let i = 0; i < 200000 && resumed === 0; i++) {
    if (k32[rcv + SSB.ssb_cc] > 57344 - 1000) resumed = 1;
    else yield* tsleep(w + 4, 0, 'bpresume', 1);
  }
  out.push(x[1], resumed);
  while (got < total) {
    x = yield* recv(c, b, 7000, 0, null, got * 7);
    KASSERT(x[0] === 0 && x[1] > 0, 'bp_reader: read failed');
    if (x[3] === 1) match += x[1];
    got += x[1];
  }
  yield* await_word(w + 1, 'wdone');
  out.push(got, match);
  yield* soclose(b, 0);
  post(w + 2, 1);
  yield* end(c);
  return out;
}

export function* bp_writer(w: Ptr, total: number): Blocking<number[]> {
  const c = yield* begin(1000);
  const a = yield* await_word(w, 'wa');
  const x = yield* send(c, a, total, 0);
  post(w + 1, 1);
  yield* await_word(w + 2, 'rdone');
  yield* soclose(a, 0);
  yield* end(c);
  return x;
}

/*
 * sopoll on an AF_LOCAL stream pair and an unconnected stream socket: readable only with
 * data or EOF, writable only when connected with room, POLLINIGNEOF ignoring EOF.
 */
export function* poll_states(): Blocking<number[]> {
  const c = yield* begin(1000);
  const IN = POLLIN | POLLRDNORM, OUT = POLLOUT, ALL = IN | OUT | POLLINIGNEOF;
  const lone = yield* mk(c, SOCK_STREAM);
  const [a, b] = yield* pair(c, SOCK_STREAM);
  const out: number[] = [sopoll(lone, ALL), sopoll(a, ALL), sopoll(b, ALL)];
  yield* send(c, a, 10, 0);
  out.push(sopoll(b, ALL));
  yield* recv(c, b, 10, 0);
  yield* soshutdown(a, SHUT_WR);
  out.push(sopoll(b, ALL), sopoll(a, ALL));
  for (const so of [lone, a, b]) yield* soclose(so, 0);
  yield* end(c);
  return out;
}
