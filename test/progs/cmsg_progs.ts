/*
 * Programs for test/cmsg.test.ts: sendmsg and recvmsg with control messages over
 * AF_LOCAL (SCM_CREDS filled in by the kernel; malformed or unsupported control refused).
 */
import {
  Sys, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, MSG_CTRUNC, SCM_CREDS, SCM_RIGHTS, CMSGCRED_BYTES,
  cmsgcred_parse, type Cmsg,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();


function creds(): Cmsg { return { level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(CMSGCRED_BYTES) }; }

/*
 * The receiver sees the sender's credentials, filled in by the kernel whatever the
 * sender wrote; too little room truncates (MSG_CTRUNC); bad control is refused.
 */
export function* creds_pair(sys: Sys, type: number): Blocking<unknown[]> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, type);
  const forged = creds();
  forged.data.fill(0xff);
  const sent = yield* sys.sendmsg(a, { buf: enc.encode('hi'), control: [forged] });
  const buf = new Uint8Array(16);
  const r = yield* sys.recvmsg(b, buf, { controlLen: 256 });
  const text = dec.decode(buf.subarray(0, r.bytes));
  const cred = r.control.length === 1 && r.control[0].type === SCM_CREDS ? cmsgcred_parse(r.control[0].data) : null;
  yield* sys.sendmsg(a, { buf: enc.encode('yo'), control: [creds()] });
  const t = yield* sys.recvmsg(b, buf, { controlLen: 8 });
  const bad = [
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [{ level: 1, type: SCM_CREDS, data: new Uint8Array(CMSGCRED_BYTES) }] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [{ level: SOL_SOCKET, type: 9, data: new Uint8Array(4) }] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [{ level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(8) }] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, data: new Uint8Array([99, 0, 0, 0]) }] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [creds(), creds()] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: [{ level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(4096) }] })),
    yield* attempt(sys.sendmsg(a, { buf: enc.encode('x'), control: 'no' as unknown as Cmsg[] })),
    yield* attempt(sys.sendmsg(a, { buf: 'x' as unknown as Uint8Array })),
  ];
  // Nothing of the refused sends arrived: the next read sees only what follows.
  yield* sys.sendmsg(a, { buf: enc.encode('end') });
  const last = yield* sys.recvmsg(b, buf);
  yield* sys.close(a);
  yield* sys.close(b);
  return [
    sent, r.bytes, text, r.flags & MSG_CTRUNC, cred,
    t.bytes, t.control.length, (t.flags & MSG_CTRUNC) !== 0,
    bad, dec.decode(buf.subarray(0, last.bytes)), last.control.length,
  ];
}

/* A datagram to a bound path through sendmsg; recvmsg names the sender. */
export function* dgram_named(sys: Sys, dir: string): Blocking<unknown[]> {
  yield* sys.mkdir(dir);
  const s = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  const c = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  yield* sys.bind(s, `${dir}/srv`);
  yield* sys.bind(c, `${dir}/cli`);
  yield* sys.sendmsg(c, { buf: enc.encode('ping'), path: `${dir}/srv`, control: [creds()] });
  const buf = new Uint8Array(8);
  const r = yield* sys.recvmsg(s, buf, { controlLen: 128 });
  const pid = yield* sys.getpid();
  yield* sys.close(s);
  yield* sys.close(c);
  yield* sys.unlink(`${dir}/srv`);
  yield* sys.unlink(`${dir}/cli`);
  yield* sys.rmdir(dir);
  return [r.bytes, r.path, cmsgcred_parse(r.control[0].data)?.pid === pid];
}

export { SOCK_STREAM };

/*
 * getpeereid: the peer's effective ids as they were at connect (or listen), for a
 * connection made through a listener; a socketpair has none in DragonFly 2008
 * (unp_connect2 sets no peer credentials): ENOTCONN, as before connecting; ENOPROTOOPT
 * on a datagram socket.
 */
export function* peereid(sys: Sys, path: string): Blocking<unknown[]> {
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(l, path);
  yield* sys.listen(l, 1);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const unconnected = yield* attempt(sys.getpeereid(c));
  yield* sys.connect(c, path);
  const s = yield* sys.accept(l);
  const ids = [yield* sys.getpeereid(c), yield* sys.getpeereid(s)];
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const pair = yield* attempt(sys.getpeereid(a));
  const [d, e] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const dgram = yield* attempt(sys.getpeereid(d));
  const bad = yield* attempt(sys.getpeereid(99));
  for (const fd of [l, c, s, a, b, d, e]) yield* sys.close(fd);
  yield* sys.unlink(path);
  return [ids, unconnected, pair, dgram, bad];
}
