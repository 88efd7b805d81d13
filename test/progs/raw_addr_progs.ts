/*
 * Programs for test/raw_addr.test.ts: raw sockaddrs (Uint8Array, as a C program passes
 * them) to bind, connect, sendto and sendmsg, and raw addresses back from getsockname,
 * getpeername, recvfrom and recvmsg.  What DragonFly 2008 gives (dragonfly.md 4.15 and
 * the unp_bind/unp_connect rules): getsockaddr refuses a namelen over SOCK_MAXADDRLEN
 * (ENAMETOOLONG) or under the 2-byte header (EDOM), forces sa_len to namelen and never
 * looks at the family; unp_bind and unp_connect take sun_len - 2 path bytes (to a NUL) and
 * refuse none (EINVAL).  A wrong family is accepted.
 */
import { Sys, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM } from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();

/* A struct sockaddr_un's bytes: sun_len, sun_family, the path, then pad zero bytes. */
function sun(path: string, family = AF_LOCAL, sunLen?: number, pad = 0): Uint8Array {
  const p = enc.encode(path);
  const b = new Uint8Array(2 + p.length + pad);
  b[0] = sunLen ?? 2 + p.length;
  b[1] = family;
  b.set(p, 2);
  return b;
}

function* dgram(sys: Sys): Blocking<number> { return yield* sys.socket(AF_LOCAL, SOCK_DGRAM); }

/* bind with raw sockaddrs of every shape; each result, and the name it gave. */
export function* raw_bind(sys: Sys, dir: string): Blocking<unknown> {
  yield* sys.mkdir(dir, 0o777);
  const out: Record<string, unknown> = {};
  const tryBind = function* (key: string, sa: Uint8Array): Blocking<void> {
    const s = yield* dgram(sys);
    const r = yield* attempt(sys.bind(s, sa));
    const name = r === 'ok' ? yield* sys.getsockname(s) : '';
    out[key] = r === 'ok' ? [r, name, Array.from(yield* sys.getsockname(s, { raw: true }))] : r;
    yield* sys.close(s);
    if (name !== '') yield* sys.unlink(name);
  };
  yield* tryBind('plain', sun(`${dir}/a`));
  yield* tryBind('inet', sun(`${dir}/b`, 2));                 // AF_INET: no family check anywhere
  yield* tryBind('unspec', sun(`${dir}/c`, 0));               // family 0: the COMPAT_43 fix-up (family = sun_len)
  yield* tryBind('family255', sun(`${dir}/d`, 255));
  yield* tryBind('sunlen0', sun(`${dir}/e`, AF_LOCAL, 0));    // sun_len is forced to namelen
  yield* tryBind('sunlen200', sun(`${dir}/f`, AF_LOCAL, 200));
  yield* tryBind('nulpad', sun(`${dir}/g`, AF_LOCAL, undefined, 10));   // namelen past the path: the NUL ends it
  yield* tryBind('empty', new Uint8Array(0));                 // EDOM
  yield* tryBind('one', new Uint8Array([1]));                 // EDOM
  yield* tryBind('header', new Uint8Array([2, AF_LOCAL]));    // namelen 2: path length 0, EINVAL
  yield* tryBind('nulfirst', new Uint8Array([16, AF_LOCAL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // sun_noname's shape: empty path
  const big = new Uint8Array(256); big[0] = 0; big[1] = AF_LOCAL; big.fill(0x61, 2);
  yield* tryBind('len256', big);                              // ENAMETOOLONG
  const max = sun(`${dir}/` + 'm'.repeat(253 - dir.length - 1));
  yield* tryBind('len255', max);
  out.len255n = max.length;
  yield* sys.rmdir(dir);
  return out;
}

/* connect, sendto and sendmsg with raw sockaddrs; raw names back from recvfrom, recvmsg, getpeername. */
export function* raw_connect(sys: Sys, dir: string): Blocking<unknown> {
  yield* sys.mkdir(dir, 0o777);
  const out: Record<string, unknown> = {};
  const srv = yield* dgram(sys);
  yield* sys.bind(srv, sun(`${dir}/srv`, 2));
  const cli = yield* dgram(sys);
  yield* sys.bind(cli, sun(`${dir}/cli`, 0));
  out.sendto = yield* attempt(sys.sendto(cli, enc.encode('x'), 0, sun(`${dir}/srv`, 77)));
  const buf = new Uint8Array(8);
  const [n, from] = yield* sys.recvfrom(srv, buf, 0, undefined, { raw: true });
  out.recvfrom = [n, from === null ? null : Array.from(from)];
  out.sendmsg = yield* attempt(sys.sendmsg(cli, { buf: enc.encode('yz'), path: sun(`${dir}/srv`, AF_LOCAL, 3, 4) }));
  const m = yield* sys.recvmsg(srv, buf, { rawAddr: true });
  out.recvmsg = [m.bytes, m.path, m.addr === null || m.addr === undefined ? m.addr : Array.from(m.addr)];
  out.sendtoErr = [
    yield* attempt(sys.sendto(cli, enc.encode('x'), 0, new Uint8Array([1]))),
    yield* attempt(sys.sendto(cli, enc.encode('x'), 0, new Uint8Array([2, 1]))),
    yield* attempt(sys.sendto(cli, enc.encode('x'), 0, new Uint8Array(256))),
    yield* attempt(sys.sendto(cli, enc.encode('x'), 0, sun(`${dir}/none`))),
  ];
  out.connectErr = [
    yield* attempt(sys.connect(cli, new Uint8Array(0))),
    yield* attempt(sys.connect(cli, new Uint8Array([9, 1]))),
    yield* attempt(sys.connect(cli, new Uint8Array(300))),
  ];
  out.connect = yield* attempt(sys.connect(cli, sun(`${dir}/srv`, 0, 0)));
  out.peer = Array.from(yield* sys.getpeername(cli, { raw: true }));
  out.peerStr = yield* sys.getpeername(cli);
  // Stream: connect by raw name, accepted; the unnamed client's raw name.
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, sun(`${dir}/l`, 99));
  yield* sys.listen(l, 5);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  out.streamConnect = yield* attempt(sys.connect(c, sun(`${dir}/l`, AF_LOCAL, 1)));
  const [a, araw] = yield* sys.accept(l, { raw: true });
  out.acceptRaw = Array.from(araw);
  out.acceptedPeer = Array.from(yield* sys.getpeername(a, { raw: true }));
  const c2 = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(c2, sun(`${dir}/c2`, 0));
  yield* sys.connect(c2, `${dir}/l`);
  const [a2, aname] = yield* sys.accept(l, { name: true });
  out.acceptName = aname;
  out.reconnect = yield* attempt(sys.connect(c, sun(`${dir}/l`)));   // already connected
  for (const fd of [c2, a2]) yield* sys.close(fd);
  yield* sys.unlink(`${dir}/c2`);
  out.clientName = Array.from(yield* sys.getsockname(c, { raw: true }));
  out.rawOfStream = Array.from(yield* sys.getpeername(c, { raw: true })).length;
  for (const fd of [srv, cli, l, c, a]) yield* sys.close(fd);
  for (const f of ['srv', 'cli', 'l']) yield* sys.unlink(`${dir}/${f}`);
  yield* sys.rmdir(dir);
  return out;
}
