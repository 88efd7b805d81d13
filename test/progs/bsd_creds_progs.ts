/*
 * Programs for test/bsd_creds.test.ts: the SCM_CREDS (struct cmsgcred) cases of FreeBSD's
 * tools/regression/sockets/unix_cmsg (unix_cmsg.c, FreeBSD 10; later split into
 * t_cmsgcred.c, t_peercred.c and uc_common.c), ported to this socket layer.  The
 * SCM_RIGHTS, cmsg_len and MSG_CTRUNC-with-rights parts are in bsd_rights_progs.ts.
 *
 * t_generic's shape is kept: the server forks a client, the two sync through a pipe (a
 * stream socketpair here), the client connects (stream) or addresses the server's bound
 * socket (dgram) and sends N = 5 messages (IPC_MSG_NUM_DEF) of 7 bytes (IPC_MSG_SIZE_DEF,
 * byte i = i) each with an SCM_CREDS cmsghdr; the server receives each with MSG_WAITALL
 * and a control buffer of CMSG_SPACE(sizeof(struct cmsgcred)) and returns what
 * check_msghdr / check_cmsghdr / check_scm_creds_cmsgcred look at: the byte count and
 * contents, MSG_TRUNC/MSG_CTRUNC, the control messages (level, type, cmsg_len), and the
 * cmsgcred: cmcred_pid compared here with the client's pid, the ids and the groups
 * returned for the test to compare with exact values.  unix_cmsg.t's -z variants are the
 * `z` argument: bit 0 no data (msg_iov NULL: the sides sync before each message), bit 1
 * no array (an SCM_CREDS cmsghdr with cmsg_len CMSG_LEN(0)).
 *
 * Translations:
 *  - The client reports each sendmsg's outcome (a byte: 0, or the errno) on the sync pair
 *    before the server reads that message, with data or without (FreeBSD syncs only
 *    without data), so a refused send ends the case at once instead of at a timeout.
 *  - accept: FreeBSD selects on the O_NONBLOCK listener with TIMEOUT, then clears
 *    O_NONBLOCK on the accepted socket; here poll with a 5 s bound, the same fcntls.
 *  - TIMEOUT (2 s of SO_RCVTIMEO/SO_SNDTIMEO) is 5 s: a lost wake-up ends in EAGAIN.
 *  - getgid()/getegid()/getgroups(): Sys has no getgid, so the server reads its own
 *    credential through the kernel (kern_prot's getgid/getegid on its proc), as a debugger
 *    would; DragonFly 2008's cr_groups[0] is the effective gid and the simulation's
 *    processes have no supplementary groups, so getgroups() is [egid].
 *  - The README's "run it set-uid nobody" becomes a root server whose client is spawned
 *    with uid 65534, or forks and calls setuid(1000) itself (both keep gid 0: setuid
 *    changes only the uids).
 *  - t_peercred's getsockopt(LOCAL_PEERCRED) is getpeereid ({ cr_uid, cr_groups[0] }).
 *
 * Held to DragonFly 2008 (SEED d6f338fca7) where it differs from FreeBSD:
 *  - Without data (-z 1) on a stream: sosend makes an empty data mbuf for a 0-byte send
 *    and sbappendcontrol queues [control, empty mbuf] as a record.  A 0-byte soreceive
 *    takes the first record's control and leaves its empty mbuf at the head of so_rcv
 *    (the copy loop needs resid > 0 to eat it), so every later 0-byte receive returns 0
 *    bytes and no control: only message 1 carries credentials (FreeBSD expects all 5).
 *  - Without data on a datagram socket the record keeps that empty mbuf after its
 *    control, so soreceive sets MSG_TRUNC (m != NULL, PR_ATOMIC) on every message.
 *  - No array (-z 2, -z 3): DragonFly 2008's unp_internalize takes an SCM_CREDS of any
 *    cmsg_len equal to msg_controllen (it writes the cmsgcred past a short one); the
 *    simulation refuses a cmsgcred of the wrong size with EINVAL on purpose
 *    (kern/uipc_cmsg.ts, "Differs"), as the brief asks; FreeBSD builds a full one.
 *  - A control buffer too small on receive: the simulation reports MSG_CTRUNC (FreeBSD
 *    does; DragonFly 2008's sys_recvmsg set it in its own msghdr copy and copied out the
 *    soreceive flags, so C never saw it: a bug the simulation does not reproduce, see
 *    bsd_atf_dgram_progs.ts).
 *
 * Left out (FreeBSD-only, or later than 2008; SEED's socket.h has SCM_RIGHTS,
 * SCM_TIMESTAMP and SCM_CREDS, and its un.h only LOCAL_PEERCRED):
 *  - t_sockcred_1, t_sockcred_2, t_cmsgcred_sockcred: LOCAL_CREDS and struct sockcred
 *    (SCM_CREDS the receiver gets without the sender sending it) are not in DragonFly 2008.
 *  - t_timeval (SCM_TIMESTAMP: DragonFly's unp_internalize refuses it with EINVAL, asserted
 *    in bsd_atf_dgram's event case), t_bintime (SCM_BINTIME), SCM_CREDS2: FreeBSD only.
 *  - t_cmsg_len: in bsd_rights (Sys writes cmsg_len itself, CMSG_LEN of the data).
 *  - t_peercred's xucred cr_version and cr_ngroups: getpeereid gives cr_uid and
 *    cr_groups[0] only.
 *  - cmcred_groups past cmcred_ngroups: DragonFly 2008 leaves what the sender wrote there,
 *    the simulation zeroes them; unix_cmsg does not look, neither does this.
 */
import {
  Sys, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO, MSG_WAITALL, MSG_TRUNC, MSG_CTRUNC, F_GETFL,
  F_SETFL, O_NONBLOCK, POLLIN, SCM_CREDS, CMSGCRED_BYTES, CMGROUP_MAX, CMSG_LEN, CMSG_SPACE, WIFEXITED, WEXITSTATUS,
  WIFSIGNALED, WTERMSIG, errno_name, errno_value, type Cmsg,
} from '../../src/libc/index.js';
import { getgid, getegid, pfind, type Blocking } from '../../src/kernel.js';
import { count_or_code } from './common.js';

const TIMEOUT = { sec: 5, usec: 0 };
const IPC_MSG_NUM = 5;
const IPC_MSG_SIZE = 7;

/* uc_init's buf_send: byte i is i. */
function ipc_message(): Uint8Array {
  const b = new Uint8Array(IPC_MSG_SIZE);
  for (let i = 0; i < b.length; i++) b[i] = i;
  return b;
}

/* struct cmsgcred as the kernel writes it (i386): pid, uid, euid, gid, short ngroups, groups[CMGROUP_MAX]. */
export interface Cred { pid: number; uid: number; euid: number; gid: number; ngroups: number; groups: number[] }

function cmsgcred_decode(data: Uint8Array): Cred | null {
  if (data.length !== CMSGCRED_BYTES) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ngroups = v.getInt16(16, true);
  const groups: number[] = [];
  for (let i = 0; i < Math.min(Math.max(ngroups, 0), CMGROUP_MAX); i++) groups.push(v.getInt32(20 + i * 4, true));
  return { pid: v.getInt32(0, true), uid: v.getInt32(4, true), euid: v.getInt32(8, true), gid: v.getInt32(12, true), ngroups, groups };
}

/* uc_msghdr_init_client's control: SCM_CREDS with an array (a cmsgcred to fill) or without. */
function scm_creds(array: boolean): Cmsg {
  return { level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(array ? CMSGCRED_BYTES : 0) };
}

function status_of(st: number): string {
  if (WIFEXITED(st)) return `exit ${WEXITSTATUS(st)}`;
  if (WIFSIGNALED(st)) return `signal ${WTERMSIG(st)}`;
  return `status ${st}`;
}

function* timeouts(sys: Sys, fd: number): Blocking<void> {
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, TIMEOUT);
  yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, TIMEOUT);
}

/* uc_sync_send: one byte (v) on the sync pair. */
function* sync_send(sys: Sys, fd: number, v = 0): Blocking<void> {
  yield* sys.send(fd, new Uint8Array([v]));
}

/* uc_sync_recv: the byte, 'eof' when the other side is gone, or the errno name (EAGAIN: timed out). */
function* sync_recv(sys: Sys, fd: number): Blocking<number | string> {
  const b = new Uint8Array(1);
  const n = yield* count_or_code(sys.recv(fd, b));
  if (typeof n === 'string') return n;
  return n === 1 ? b[0] : 'eof';
}

/* uc_socket_accept: wait (bounded) for the O_NONBLOCK listener, accept, clear O_NONBLOCK. */
function* socket_accept(sys: Sys, l: number): Blocking<number | string> {
  const fds = [{ fd: l, events: POLLIN }];
  if ((yield* sys.poll(fds, 5000)) === 0) return 'select timeout';
  const fd = yield* count_or_code(sys.accept(l));
  if (typeof fd === 'string') return fd;
  yield* sys.fcntl(fd, F_SETFL, (yield* sys.fcntl(fd, F_GETFL)) & ~O_NONBLOCK);
  return fd;
}

/*
 * uc_socket_create for the server: timeouts, bind, and for a stream listen(LISTENQ 1) with
 * O_NONBLOCK.  A client of another uid needs write permission on the socket file
 * (unp_connect's VOP_ACCESS(VWRITE)): open it to everyone then.
 */
function* server_socket(sys: Sys, type: number, path: string, open = false): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, type);
  yield* timeouts(sys, s);
  yield* sys.bind(s, path);
  if (open) yield* sys.chmod(path, 0o777);
  if (type === SOCK_STREAM) {
    yield* sys.listen(s, 1);
    yield* sys.fcntl(s, F_SETFL, (yield* sys.fcntl(s, F_GETFL)) | O_NONBLOCK);
  }
  return s;
}

/* The server's own ids: uc_init's proc_cred (getuid, geteuid, getgid, getegid). */
function* own_ids(sys: Sys): Blocking<{ uid: number; euid: number; gid: number; egid: number }> {
  const p = pfind(yield* sys.getpid());
  return { uid: yield* sys.getuid(), euid: yield* sys.geteuid(), gid: getgid(p), egid: getegid(p) };
}

/*
 * t_cmsgcred_client: wait for the server, connect, send IPC_MSG_NUM messages each with
 * SCM_CREDS, reporting each outcome on the sync pair; stop at the first refusal.  Exits 0
 * when every send went whole, 1 otherwise.
 */
export function* cmsgcred_client(sys: Sys, path: string, type: number, z: number, sync: number, other: number): Blocking<number> {
  yield* sys.close(other);                                   // the server's end of the pipe
  const sendData = (z & 1) === 0, sendArray = (z & 2) === 0;
  if ((yield* sync_recv(sys, sync)) !== 0) return 2;
  const s = yield* sys.socket(AF_LOCAL, type);
  yield* timeouts(sys, s);
  yield* sys.connect(s, path);
  let rv = 0;
  for (let i = 1; i <= IPC_MSG_NUM; i++) {
    const n = yield* count_or_code(sys.sendmsg(s, { buf: sendData ? ipc_message() : undefined, control: [scm_creds(sendArray)] }));
    const code = typeof n === 'string' ? errno_value(n) ?? 254 : n === (sendData ? IPC_MSG_SIZE : 0) ? 0 : 255;
    yield* sync_send(sys, sync, code);
    if (code !== 0) {
      rv = 1;
      break;
    }
  }
  yield* sys.close(s);
  yield* sys.close(sync);
  return rv;
}

/* The client after fork, made non-root first (the README's set-uid run). */
export function* cmsgcred_client_setuid(sys: Sys, uid: number, path: string, type: number, z: number, sync: number, other: number): Blocking<number> {
  yield* sys.setuid(uid);
  return yield* cmsgcred_client(sys, path, type, z, sync, other);
}

/* One received message as unix_cmsg's checks see it. */
export interface Seen {
  bytes: number;
  data: boolean;                          // memcmp(buf_recv, buf_send, size) == 0
  flags: number;                          // msg_flags & (MSG_TRUNC | MSG_CTRUNC)
  cmsgs: [number, number, number][];      // [cmsg_level, cmsg_type, cmsg_len] of each
  pid?: boolean;                          // cmcred_pid == the client's pid
  cred?: Omit<Cred, 'pid'> | null;        // the rest of the cmsgcred (null: the data is not one)
}

function seen(bytes: number, buf: Uint8Array, flags: number, control: Cmsg[], clientPid: number): Seen {
  const want = ipc_message();
  const s: Seen = {
    bytes,
    data: buf.length === 0 || buf.every((b, i) => b === want[i]),
    flags: flags & (MSG_TRUNC | MSG_CTRUNC),
    cmsgs: control.map((c) => [c.level, c.type, CMSG_LEN(c.data.length)]),
  };
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SCM_CREDS);
  if (c !== undefined) {
    const cr = cmsgcred_decode(c.data);
    s.pid = cr !== null && cr.pid === clientPid;
    s.cred = cr === null ? null : { uid: cr.uid, euid: cr.euid, gid: cr.gid, ngroups: cr.ngroups, groups: cr.groups };
  }
  return s;
}

/*
 * t_cmsgcred over `type` with unix_cmsg.t's -z value z.  how: 'spawn' (the client on CPU
 * clientCpu, as uid when uid >= 0) or 'fork' (same CPU; the child calls setuid(uid) when
 * uid >= 0).  Returns { self: the server's ids, msgs: what each receive saw (or { send:
 * errno } where the client's send was refused), client: its exit status }.
 */
export function* t_cmsgcred(sys: Sys, type: number, z: number, how: string, uid: number, clientCpu: number): Blocking<Record<string, unknown>> {
  const path = `/unix_cmsg.${type}.${z}.${how}`;
  const sendData = (z & 1) === 0;
  const [ss, cs] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);       // uc_client_fork's pipes
  yield* timeouts(sys, ss);
  yield* timeouts(sys, cs);
  const pid = how === 'fork'
    ? uid >= 0
      ? yield* sys.fork(cmsgcred_client_setuid, uid, path, type, z, cs, ss)
      : yield* sys.fork(cmsgcred_client, path, type, z, cs, ss)
    : yield* sys.spawn(cmsgcred_client, { cpu: clientCpu, uid: uid >= 0 ? uid : undefined, args: [path, type, z, cs, ss] });
  yield* sys.close(cs);
  const s = yield* server_socket(sys, type, path, uid >= 0);
  yield* sync_send(sys, ss);                                           // t_cmsgcred_server: bound, go
  const c = type === SOCK_STREAM ? yield* socket_accept(sys, s) : s;
  const msgs: unknown[] = [];
  if (typeof c === 'string') msgs.push({ accept: c });
  else {
    for (let i = 1; i <= IPC_MSG_NUM; i++) {
      const st = yield* sync_recv(sys, ss);
      if (st !== 0) {
        msgs.push({ send: typeof st === 'number' ? errno_name(st) : st });
        break;
      }
      const buf = new Uint8Array(sendData ? IPC_MSG_SIZE : 0);
      const r = yield* count_or_code(sys.recvmsg(c, buf, { flags: MSG_WAITALL, controlLen: CMSG_SPACE(CMSGCRED_BYTES) }));
      if (typeof r === 'string') {
        msgs.push({ recv: r });
        break;
      }
      msgs.push(seen(r.bytes, buf, r.flags, r.control, pid));
    }
  }
  const self = yield* own_ids(sys);
  const st = yield* sys.waitpid(pid);
  if (typeof c === 'number' && c !== s) yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.close(ss);
  return { self, msgs, client: status_of(st.status) };
}

/*
 * A control buffer too small on receive: over a `type` pair (the client a forked child),
 * one message with SCM_CREDS received with room for all but the last 4 bytes of the
 * cmsgcred, then one with room for all of it.  [first: bytes, data intact, MSG_CTRUNC
 * seen, whole cmsgs; second: seen()].
 */
export function* t_cmsgcred_ctrunc(sys: Sys, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  yield* timeouts(sys, b);
  const pid = yield* sys.fork(ctrunc_sender, a, b);
  yield* sys.close(a);
  const buf = new Uint8Array(IPC_MSG_SIZE);
  const r1 = yield* sys.recvmsg(b, buf, { flags: MSG_WAITALL, controlLen: CMSG_SPACE(CMSGCRED_BYTES) - 4 });
  const first = [r1.bytes, buf.every((x, i) => x === i), (r1.flags & MSG_CTRUNC) !== 0, r1.control.length];
  buf.fill(0xee);
  const r2 = yield* sys.recvmsg(b, buf, { flags: MSG_WAITALL, controlLen: CMSG_SPACE(CMSGCRED_BYTES) });
  const second = seen(r2.bytes, buf, r2.flags, r2.control, pid);
  const st = yield* sys.waitpid(pid);
  yield* sys.close(b);
  return [first, second, status_of(st.status)];
}

export function* ctrunc_sender(sys: Sys, a: number, b: number): Blocking<number> {
  yield* sys.close(b);
  for (let i = 0; i < 2; i++) {
    if ((yield* sys.sendmsg(a, { buf: ipc_message(), control: [scm_creds(true)] })) !== IPC_MSG_SIZE) return 1;
  }
  yield* sys.close(a);
  return 0;
}

/*
 * t_peercred: the client (spawned on clientCpu, as uid when uid >= 0) connects and reads
 * LOCAL_PEERCRED; the server accepts and reads it too.  { server: the ids it sees,
 * client: the ids the client saw (sent back over the connection), self, status }.
 */
export function* t_peercred(sys: Sys, uid: number, clientCpu: number): Blocking<Record<string, unknown>> {
  const path = `/unix_cmsg.peercred.${uid}`;
  const [ss, cs] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* timeouts(sys, ss);
  yield* timeouts(sys, cs);
  const pid = yield* sys.spawn(peercred_client, { cpu: clientCpu, uid: uid >= 0 ? uid : undefined, args: [path, cs, ss] });
  yield* sys.close(cs);
  const s = yield* server_socket(sys, SOCK_STREAM, path, uid >= 0);
  yield* sync_send(sys, ss);
  const c = yield* socket_accept(sys, s);
  let server: unknown = c;
  let client: unknown = null;
  if (typeof c === 'number') {
    server = yield* count_or_code(sys.getpeereid(c));
    const b = new Uint8Array(64);
    const n = yield* count_or_code(sys.recv(c, b, MSG_WAITALL, 8));
    if (typeof n === 'number' && n === 8) {
      const v = new DataView(b.buffer);
      client = { uid: v.getInt32(0, true), gid: v.getInt32(4, true) };
    } else client = n;
    yield* sys.close(c);
  }
  const self = yield* own_ids(sys);
  const st = yield* sys.waitpid(pid);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.close(ss);
  return { self, server, client, status: status_of(st.status) };
}

export function* peercred_client(sys: Sys, path: string, sync: number, other: number): Blocking<number> {
  yield* sys.close(other);
  if ((yield* sync_recv(sys, sync)) !== 0) return 2;
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* timeouts(sys, s);
  yield* sys.connect(s, path);
  const ids = yield* count_or_code(sys.getpeereid(s));
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  if (typeof ids === 'string') v.setInt32(0, -1, true);
  else {
    v.setInt32(0, ids.uid, true);
    v.setInt32(4, ids.gid, true);
  }
  yield* sys.send(s, out);
  yield* sys.close(s);
  yield* sys.close(sync);
  return typeof ids === 'string' ? 1 : 0;
}
