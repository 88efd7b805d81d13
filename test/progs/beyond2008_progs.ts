/*
 * Programs for test/beyond2008.test.ts: the later DragonFly/FreeBSD additions this
 * simulation takes (docs/departures.md, "beyond DragonFly 2008"): SOCK_NONBLOCK and
 * SOCK_CLOEXEC on socket/socketpair, accept4, MSG_CMSG_CLOEXEC, MSG_NOSIGNAL.
 */
import {
  Sys, AF_LOCAL, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_CMSG_CLOEXEC, MSG_NOSIGNAL, F_GETFD, F_GETFL,
  F_SETFL, O_NONBLOCK, CMSG_SPACE, scm_rights, cmsg_rights,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt } from './common.js';

function* fl(sys: Sys, fd: number): Blocking<[number, number]> {
  return [yield* sys.fcntl(fd, F_GETFD), (yield* sys.fcntl(fd, F_GETFL)) & O_NONBLOCK];
}

export function* beyond(sys: Sys, dir: string): Blocking<unknown> {
  const out: Record<string, unknown> = {};
  const s1 = yield* sys.socket(AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  const s2 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC);
  const s3 = yield* sys.socket(AF_LOCAL, SOCK_DGRAM);
  out.socket = [yield* fl(sys, s1), yield* fl(sys, s2), yield* fl(sys, s3)];
  out.socketBad = yield* attempt(sys.socket(AF_LOCAL, SOCK_STREAM | 0x40000000));
  const [p0, p1] = yield* sys.socketpair(AF_LOCAL, SOCK_DGRAM | SOCK_NONBLOCK);
  out.pair = [yield* fl(sys, p0), yield* fl(sys, p1), yield* attempt(sys.recv(p1, new Uint8Array(4)))];
  for (const fd of [s1, s2, s3]) yield* sys.close(fd);
  // accept4 on a non-blocking listener.
  yield* sys.mkdir(dir, 0o777);
  const l = yield* sys.socket(AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK);
  yield* sys.bind(l, `${dir}/l`);
  yield* sys.listen(l, 5);
  out.accept4Empty = yield* attempt(sys.accept4(l, 0));
  out.accept4Bad = yield* attempt(sys.accept4(l, O_NONBLOCK));
  const cs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
    yield* sys.connect(c, `${dir}/l`);
    cs.push(c);
  }
  const a0 = yield* sys.accept4(l, 0);
  const a1 = yield* sys.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  const a2 = yield* sys.accept(l);
  out.accept4 = [yield* fl(sys, a0), yield* fl(sys, a1), yield* fl(sys, a2)];
  for (const fd of [l, a0, a1, a2, ...cs]) yield* sys.close(fd);
  yield* sys.unlink(`${dir}/l`);
  yield* sys.rmdir(dir);
  // MSG_CMSG_CLOEXEC: the received descriptors close-on-exec.
  const [x, y] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const got: unknown[] = [];
  for (const f of [MSG_CMSG_CLOEXEC, 0]) {
    yield* sys.sendmsg(p0, { buf: new Uint8Array([1]), control: [scm_rights([x])] });
    const m = yield* sys.recvmsg(p1, new Uint8Array(4), { flags: f, controlLen: CMSG_SPACE(4) });
    const rfd = cmsg_rights(m.control[0].data)[0];
    got.push([m.flags, yield* sys.fcntl(rfd, F_GETFD)]);
    yield* sys.close(rfd);
  }
  out.cmsgCloexec = got;
  // MSG_NOSIGNAL: EPIPE without SIGPIPE (whose default action would end the process).
  yield* sys.close(y);
  out.nosignal = yield* attempt(sys.send(x, new Uint8Array([1]), MSG_NOSIGNAL));
  yield* sys.fcntl(p0, F_SETFL, 0);
  for (const fd of [x, p0, p1]) yield* sys.close(fd);
  return out;
}
