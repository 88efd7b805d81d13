/*
 * scenario_progs.ts: the programs of `lwkt-sim run`'s built-in scenarios (run.ts).  A
 * module of processes: each is a generator `function* (sys: Sys, ...args)` the CPUs
 * import; the host only names them in spawnProcess().
 */

import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SHUT_WR, O_NONBLOCK, F_SETFL, ECONNREFUSED, EAGAIN,
  SCM_RIGHTS, scm_rights, cmsg_rights, type Cmsg, EVFILT_READ, EV_ADD, EV_EOF,
} from '../libc/index.js';
import type { Blocking } from '../kernel.js';
import { connect_retry, fnv1a, FNV_BASIS, read_full, send_xorshift } from '../libc/libsim.js';
import { k32 } from '../../shared/kmem.js';

export const SCENARIO_PROGS = import.meta.url;


const hex = (h: number): string => `0x${(h >>> 0).toString(16).padStart(8, '0')}`;


/* ---- stream: checksummed bytes from a client to a server ---- */

/* Accept one connection on path, take everything it sends, answer [total, checksum]. */
export function* stream_server(sys: Sys, path: string, progress = 0): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 5);
  const c = yield* sys.accept(s);
  // The bytes so far go to a kmem word the host reads for its progress line (when given).
  const buf = new Uint8Array(16384);
  let total = 0, h = FNV_BASIS;
  for (let n; (n = yield* sys.recv(c, buf)) !== 0; ) {
    total += n;
    h = fnv1a(h, buf, n);
    if (progress !== 0) Atomics.store(k32, progress, Math.min(total, 0x7fffffff));
  }
  const reply = new Uint8Array(8);
  const dv = new DataView(reply.buffer);
  dv.setUint32(0, total);
  dv.setUint32(4, h);
  yield* sys.write(c, reply);
  yield* sys.close(c);
  yield* sys.close(s);
  yield* sys.unlink(path);
  yield* sys.print(`server: received ${total} bytes, checksum ${hex(h)}`);
  return [total, h];
}

/*
 * Send total bytes of xorshift data (seeded) in chunks of varying size, shut down the
 * sending side, read the server's [total, checksum].  Returns [sent, checksum, the
 * server's total, the server's checksum].
 */
export function* stream_client(sys: Sys, path: string, total: number, seed: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, s, path);
  const [sent, h] = yield* send_xorshift(sys, s, new Uint8Array(8192), total, seed, 4096, 4096);
  yield* sys.shutdown(s, SHUT_WR);
  const reply = new Uint8Array(8);
  const got = yield* read_full(sys, s, reply);
  yield* sys.close(s);
  if (got !== 8) throw new Error(`stream_client: short reply (${got} bytes)`);
  const dv = new DataView(reply.buffer);
  yield* sys.print(`client: sent ${sent} bytes, checksum ${hex(h)}`);
  return [sent, h, dv.getUint32(0), dv.getUint32(4)];
}

/* ---- socketpair: the walkthrough's path, traced ---- */

/*
 * socketpair(AF_LOCAL, SOCK_STREAM), then SOCK_DGRAM, with the kernel's steps traced
 * (sysctl kern.ktrace_steps; needs uid 0); each pair then carries a message both ways.
 * Returns the four descriptors and 1 when every message came back whole.
 */
export function* socketpair_walk(sys: Sys): Blocking<number[]> {
  const out: number[] = [];
  let ok = 1;
  for (const [type, name] of [[SOCK_STREAM, 'SOCK_STREAM'], [SOCK_DGRAM, 'SOCK_DGRAM']] as const) {
    yield* sys.print(`a ${name} pair:`);
    yield* sys.sysctl('kern.ktrace_steps', 1);
    let sv: [number, number];
    try {
      sv = yield* sys.socketpair(AF_LOCAL, type);
    } finally {
      yield* sys.sysctl('kern.ktrace_steps', 0);
    }
    const [a, b] = sv;
    out.push(a, b);
    const buf = new Uint8Array(64);
    for (const [from, to] of [[a, b], [b, a]]) {
      const msg = new TextEncoder().encode(`hello from fd ${from}`);
      yield* sys.send(from, msg);
      const n = yield* sys.recv(to, buf);
      if (n !== msg.length || new TextDecoder().decode(buf.subarray(0, n)) !== `hello from fd ${from}`) ok = 0;
    }
    yield* sys.print(`  -> [${a}, ${b}]; a message each way ${ok ? 'arrived whole' : 'was DAMAGED'}`);
    yield* sys.close(a);
    yield* sys.close(b);
  }
  out.push(ok);
  return out;
}

/* ---- accept-storm: connectors against a listener that does not accept yet ---- */

/*
 * Listen on path with backlog, and do not accept until each of the k connectors has
 * reported on the datagram socket ctl (bound only once listening, so a connector that
 * reaches ctl knows the listener listens): 1 connected, 0 refused.  Then accept every
 * queued connection, check that none is left (a non-blocking accept gives EAGAIN), and
 * return [connected, refused, accepted, leftover].
 */
export function* storm_listener(sys: Sys, path: string, ctl: string, backlog: number, k: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, backlog);
  const d = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(d, ctl);
  const buf = new Uint8Array(4);
  let connected = 0, refused = 0;
  for (let i = 0; i < k; i++) {
    yield* sys.recv(d, buf);
    if (buf[0] === 1) connected++;
    else refused++;
  }
  yield* sys.print(`listener: all ${k} connectors reported (${connected} connected, ${refused} refused); accepting`);
  let accepted = 0;
  for (let i = 0; i < connected; i++) {
    const c = yield* sys.accept(s);
    accepted++;
    yield* sys.close(c);           // the connector sees end of file and exits
  }
  yield* sys.fcntl(s, F_SETFL, O_NONBLOCK);
  let leftover = 0;
  for (;;) {
    try {
      const c = yield* sys.accept(s);
      leftover++;
      yield* sys.close(c);
    } catch (e) {
      if (e instanceof SysError && e.errno === EAGAIN) break;
      throw e;
    }
  }
  yield* sys.print(`listener: accepted ${accepted}, ${leftover} left over`);
  yield* sys.close(d);
  yield* sys.close(s);
  yield* sys.unlink(ctl);
  yield* sys.unlink(path);
  return [connected, refused, accepted, leftover];
}

/* Wait for the listener (ctl), connect once to path, report; 1 when connected, 0 when refused. */
export function* storm_connector(sys: Sys, path: string, ctl: string): Blocking<number> {
  const d = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* connect_retry(sys, d, ctl);
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  let status = 1;
  try {
    yield* sys.connect(s, path);
  } catch (e) {
    if (!(e instanceof SysError) || e.errno !== ECONNREFUSED) throw e;
    status = 0;
  }
  yield* sys.send(d, new Uint8Array([status]));
  if (status === 1) {
    const buf = new Uint8Array(16);
    while ((yield* sys.read(s, buf)) !== 0) { /* until the listener accepts and closes */ }
  }
  yield* sys.close(s);
  yield* sys.close(d);
  return status;
}

/* ---- pass-fd: descriptors passed between processes on two CPUs, then an unp_gc cycle ---- */

function* say_fd(sys: Sys, text: string): Blocking<void> {
  yield* sys.print(text);
}

/* The first SCM_RIGHTS descriptor of a recvmsg's control, or -1. */
function first_right(control: Cmsg[]): number {
  const c = control.find((x) => x.type === SCM_RIGHTS);
  return c === undefined ? -1 : cmsg_rights(c.data)[0];
}

/*
 * The parent (CPU 0): passes one end of a fresh socketpair to a child on childCpu over an
 * inherited socketpair, reads what the child wrote through it, receives a socket the
 * child made, then builds a two-socket cycle (each socket queued in the other's receive
 * buffer), closes every descriptor of it, and waits (bounded) for unp_gc to free it.
 * Returns [child's text, text through the child's socket, child status, inflight with
 * the cycle closed, inflight after unp_gc, unp_gc passes seen].
 */
export function* passfd_parent(sys: Sys, childCpu: number): Blocking<unknown[]> {
  const enc = new TextEncoder(), dec = new TextDecoder();
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const child = yield* sys.spawn(passfd_child, { cpu: childCpu, args: [b] });
  yield* say_fd(sys, `sendmsg: fd ${x} (one end of socketpair [${x}, ${y}]) to pid ${child} over fd ${a}, SCM_RIGHTS`);
  yield* sys.sendmsg(a, { buf: enc.encode('x'), control: [scm_rights([x])] });
  yield* sys.close(x);
  yield* say_fd(sys, `close(${x}): net.local.inflight = ${yield* sys.sysctl('net.local.inflight')}, the message holds the file`);
  const buf = new Uint8Array(64);
  const got = dec.decode(buf.subarray(0, yield* sys.recv(y, buf)));
  yield* say_fd(sys, `recv(${y}): "${got}"`);
  const r = yield* sys.recvmsg(a, buf, { controlLen: 64 });
  const u = first_right(r.control);
  const back = dec.decode(buf.subarray(0, yield* sys.recv(u, buf)));
  yield* say_fd(sys, `recvmsg(${a}): fd ${u} from the child; recv(${u}): "${back}"`);
  const st = yield* sys.waitpid(child);
  for (const fd of [u, y, a, b]) yield* sys.close(fd);
  // The cycle: [c, d] and [e, f]; f queued in d's buffer, d queued in f's.
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const [e, f] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.sendmsg(c, { buf: enc.encode('f'), control: [scm_rights([f])] });
  yield* sys.sendmsg(e, { buf: enc.encode('d'), control: [scm_rights([d])] });
  const runs0 = yield* sys.sysctl('net.local.gcruns');
  for (const fd of [c, d, e, f]) yield* sys.close(fd);
  const closed = yield* sys.sysctl('net.local.inflight');
  yield* say_fd(sys, `cycle: fd ${f} queued in ${d}'s buffer and ${d} in ${f}'s; all four closed, net.local.inflight = ${closed}`);
  // One more AF_LOCAL socket detaching with rights in flight asks for a collection.
  const [g, h] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.close(g);
  yield* sys.close(h);
  let inflight = closed, runs = runs0;
  for (let i = 0; i < 5000 && inflight !== 0; i++) {
    yield* sys.sleep(1);
    inflight = yield* sys.sysctl('net.local.inflight');
    runs = yield* sys.sysctl('net.local.gcruns');
  }
  yield* say_fd(sys, `unp_gc: ${runs - runs0} pass(es), net.local.inflight = ${inflight}`);
  return [got, back, st.status, closed, inflight, runs - runs0];
}

/* The child (childCpu): answers through the socket it is given, and passes one back. */
export function* passfd_child(sys: Sys, fd: number): Blocking<number> {
  const enc = new TextEncoder();
  const buf = new Uint8Array(16);
  const r = yield* sys.recvmsg(fd, buf, { controlLen: 64 });
  const x = first_right(r.control);
  const pid = yield* sys.getpid();
  yield* say_fd(sys, `recvmsg(${fd}): fd ${x}`);
  yield* sys.send(x, enc.encode(`hello from pid ${pid} through fd ${x}`));
  yield* sys.close(x);
  const [u, v] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.send(v, enc.encode(`written to fd ${v} in pid ${pid}`));
  yield* sys.sendmsg(fd, { buf: enc.encode('u'), control: [scm_rights([u])] });
  for (const d of [u, v, fd]) yield* sys.close(d);
  return 0;
}

/* ---- poll-server: one process multiplexing many connections with kevent ---- */

/*
 * The server: a listener and a kqueue; every ready descriptor is served as kevent reports
 * it: the listener's pending connections (data) are accepted and registered, a
 * connection's bytes (data) are read and echoed back, its EOF closes it.  Ends when
 * `clients` connections have come and gone.  Returns [accepted, closed, messages echoed,
 * bytes echoed, kevent calls, most events one call returned, most connections open at
 * once].
 */
export function* pollsrv_server(sys: Sys, path: string, clients: number): Blocking<number[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 64);
  const kq = yield* sys.kqueue();
  yield* sys.kevent(kq, [{ ident: s, filter: EVFILT_READ, flags: EV_ADD }]);
  const buf = new Uint8Array(4096);
  let accepted = 0, closed = 0, msgs = 0, bytes = 0, calls = 0, maxev = 0, open = 0, maxopen = 0;
  while (closed < clients) {
    const evs = yield* sys.kevent(kq, null, 32);
    calls++;
    maxev = Math.max(maxev, evs.length);
    for (const ev of evs) {
      if (ev.ident === s) {
        for (let i = 0; i < (ev.data ?? 0); i++) {
          const c = yield* sys.accept(s);
          yield* sys.kevent(kq, [{ ident: c, filter: EVFILT_READ, flags: EV_ADD }]);
          accepted++;
          maxopen = Math.max(maxopen, ++open);
        }
        continue;
      }
      if ((ev.data ?? 0) > 0) {
        const n = yield* sys.recv(ev.ident, buf, 0, Math.min(buf.length, ev.data ?? 0));
        let sent = 0;
        while (sent < n) sent += yield* sys.send(ev.ident, buf, 0, n - sent);
        bytes += n;
        for (let i = 0; i < n; i++) if (buf[i] === 0x0a) msgs++;
      } else if ((ev.flags & EV_EOF) !== 0) {
        yield* sys.close(ev.ident);             // its knote goes with it
        closed++;
        open--;
      }
    }
  }
  yield* sys.close(kq);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [accepted, closed, msgs, bytes, calls, maxev, maxopen];
}

/* A client: connect, send `msgs` newline-ended lines, read each echo back, check it, close. */
export function* pollsrv_client(sys: Sys, path: string, id: number, msgs: number): Blocking<number> {
  const enc = new TextEncoder(), dec = new TextDecoder();
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* connect_retry(sys, c, path);
  const buf = new Uint8Array(256);
  let good = 0;
  for (let j = 0; j < msgs; j++) {
    const line = `client ${id} message ${j}\n`;
    yield* sys.send(c, enc.encode(line));
    let got = '';
    while (!got.endsWith('\n')) {
      const n = yield* sys.recv(c, buf);
      if (n === 0) break;
      got += dec.decode(buf.subarray(0, n));
    }
    if (got === line) good++;
  }
  yield* sys.close(c);
  return good;
}
