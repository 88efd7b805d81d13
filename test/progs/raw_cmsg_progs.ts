/*
 * Programs for test/raw_cmsg.test.ts: sendmsg with raw msg_control bytes (cmsg_build, or
 * hand-made), so malformed control reaches sys_sendmsg's length check and
 * unp_internalize; recvmsg's rawControl bytes as recvit copies them out.
 */
import {
  Sys, AF_LOCAL, SOCK_DGRAM, SOL_SOCKET, MSG_CTRUNC, MSG_DONTWAIT, SCM_CREDS, SCM_RIGHTS, SCM_TIMESTAMP, CMSGCRED_BYTES,
  CMSG_LEN, CMSG_SPACE, cmsg_build, F_GETFD,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

function words(b: Uint8Array, n: number): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i < n && i * 4 + 4 <= b.length; i++) out.push(v.getInt32(i * 4, true));
  return out;
}

export function* raw_control(sys: Sys): Blocking<unknown> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  const x = new Uint8Array([0x78]);
  const cred = new Uint8Array(CMSGCRED_BYTES);
  const out: Record<string, unknown> = {};
  const send = (control: Uint8Array): Blocking<string> => attempt(sys.sendmsg(a, { buf: x, control }));
  const good = cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: cred }]);
  out.layout = [good.length, ...words(good, 3)];
  const padded = new Uint8Array(good.length + 4); padded.set(good);
  const fdb = (fd: number): Uint8Array => new Uint8Array(new Int32Array([fd]).buffer);
  const odd = cmsg_build([{ level: SOL_SOCKET, type: SCM_RIGHTS, data: new Uint8Array([...fdb(a), 0]) }]);
  out.bad = [
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: cred, len: 1 }])),                   // cmsg_len 1
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: cred, len: 11 }])),                  // under the header
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: cred, len: CMSG_LEN(CMSGCRED_BYTES) + 4 }])), // past the buffer
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: cred }, { level: SOL_SOCKET, type: SCM_CREDS, data: cred }])),
    yield* send(padded),                                                                                    // trailing padding
    yield* send(odd),                                                                                       // cmsg_len 17 in 20 bytes
    yield* send(new Uint8Array(8)),                                                                         // msg_controllen < 12
    yield* send(new Uint8Array(0)),
    yield* send(new Uint8Array(4096)),                                                                      // > MLEN
    yield* send(cmsg_build([{ level: 0, type: SCM_CREDS, data: cred }])),
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_TIMESTAMP, data: new Uint8Array(8) }])),
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_CREDS, data: new Uint8Array(8) }])),               // short cmsgcred
    yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_RIGHTS, data: fdb(99) }])),                        // EBADF
  ];
  out.nothingQueued = yield* attempt(sys.recv(b, new Uint8Array(4), MSG_DONTWAIT));
  // Good credentials, read raw.
  out.creds = yield* send(good);
  const buf = new Uint8Array(4);
  const m = yield* sys.recvmsg(b, buf, { controlLen: 200, rawControl: true });
  const cb = m.controlBytes ?? new Uint8Array(0);
  out.credsIn = [m.bytes, m.flags & MSG_CTRUNC, m.control.length, cb.length, ...words(cb, 3), words(cb, 4)[3] > 0];
  // Rights, read raw: whole, then cut short (the descriptor that did not arrive is closed).
  const [c, d] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM);
  out.rights = yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_RIGHTS, data: fdb(c) }]));
  const r1 = yield* sys.recvmsg(b, buf, { controlLen: CMSG_SPACE(4), rawControl: true });
  const w1 = words(r1.controlBytes ?? new Uint8Array(0), 4);
  out.rightsIn = [r1.flags & MSG_CTRUNC, r1.controlBytes?.length, w1.slice(0, 3), yield* attempt(sys.fcntl(w1[3], F_GETFD, 0))];
  yield* sys.close(w1[3]);
  out.rights2 = yield* send(cmsg_build([{ level: SOL_SOCKET, type: SCM_RIGHTS, data: fdb(c) }]));
  const r2 = yield* sys.recvmsg(b, buf, { controlLen: 14, rawControl: true });
  out.rightsCut = [r2.flags & MSG_CTRUNC, r2.controlBytes?.length, yield* attempt(sys.fcntl(w1[3], F_GETFD, 0))];
  for (const fd of [a, b, c, d]) yield* sys.close(fd);
  return out;
}
