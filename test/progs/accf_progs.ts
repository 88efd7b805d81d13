/*
 * Programs for test/accf.test.ts: accept filters (SO_ACCEPTFILTER, "dataready" and
 * "httpready"): a connection is held back from accept() until its filter lets it go.
 * Non-blocking accepts probe the listener: EAGAIN while the connection is held.
 */
import {
  Sys, SysError, AF_LOCAL, SOCK_STREAM, SOL_SOCKET, SO_ACCEPTFILTER, F_SETFL, O_NONBLOCK, SHUT_WR,
} from '../../src/libc/index.js';
import type { Blocking } from '../../src/kernel.js';
import { attempt, wait_asleep } from './common.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/* A non-blocking accept: the new fd, or the errno's name. */
function* try_accept(sys: Sys, s: number): Blocking<number | string> {
  try {
    return yield* sys.accept(s);
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

function* listener(sys: Sys, path: string, filter: string | null): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 8);
  if (filter !== null) yield* sys.setsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER, { name: filter });
  yield* sys.fcntl(s, F_SETFL, O_NONBLOCK);
  return s;
}

function* client(sys: Sys, path: string): Blocking<number> {
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, path);
  return c;
}

/*
 * The option itself: EINVAL before listen; ENOENT for an unknown filter; set, read back
 * (DragonFly keeps the name as af_arg too), EINVAL to set a second; removed with null,
 * after which a connection is accepted at once.  getsockopt on a non-listener: EINVAL.
 */
export function* accf_option(sys: Sys, path: string): Blocking<unknown[]> {
  const t = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  const before = yield* attempt(sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'dataready' }));
  const getBefore = yield* attempt(sys.getsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER));
  yield* sys.bind(t, path);
  yield* sys.listen(t, 4);
  const none = yield* sys.getsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER);
  const unknown = yield* attempt(sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'nosuch' }));
  const bad = yield* attempt(sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, 5 as unknown as null));
  yield* sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'dataready', arg: 'ignored' });
  const got = yield* sys.getsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER);
  const twice = yield* attempt(sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'httpready' }));
  yield* sys.fcntl(t, F_SETFL, O_NONBLOCK);
  const c1 = yield* client(sys, path);
  const held = yield* try_accept(sys, t);
  yield* sys.setsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER, null);
  const removed = yield* sys.getsockopt(t, SOL_SOCKET, SO_ACCEPTFILTER);
  const c2 = yield* client(sys, path);
  const a2 = yield* try_accept(sys, t);
  // c1 is still held by the filter that was removed: its data lets it through.
  yield* sys.send(c1, enc.encode('x'));
  const a1 = yield* try_accept(sys, t);
  for (const fd of [c1, c2, a1 as number, a2 as number, t]) yield* sys.close(fd);
  yield* sys.unlink(path);
  return [before, getBefore, none, unknown, bad, got, twice, held, removed, typeof a2, typeof a1];
}

/*
 * dataready: held until data arrives (then the data is there to read), or until the
 * peer shuts down its side.  A held connection is dropped with the listener.
 */
export function* accf_dataready(sys: Sys, path: string): Blocking<unknown[]> {
  const s = yield* listener(sys, path, 'dataready');
  const c = yield* client(sys, path);
  const r0 = yield* try_accept(sys, s);
  yield* sys.send(c, enc.encode('hello'));
  const a = (yield* try_accept(sys, s)) as number;
  const buf = new Uint8Array(16);
  const text = dec.decode(buf.subarray(0, yield* sys.recv(a, buf)));
  // EOF also lets a connection through.
  const d = yield* client(sys, path);
  const r1 = yield* try_accept(sys, s);
  yield* sys.shutdown(d, SHUT_WR);
  const b = (yield* try_accept(sys, s)) as number;
  const eof = yield* sys.recv(b, buf);
  // One more left held: closing the listener drops it.
  const e = yield* client(sys, path);
  const r2 = yield* try_accept(sys, s);
  for (const fd of [c, a, d, b, s]) yield* sys.close(fd);
  const reset = yield* sys.recv(e, buf);       // its peer was aborted with the listener: EOF
  yield* sys.close(e);
  yield* sys.unlink(path);
  return [r0, text, r1, eof, r2, reset];
}

/*
 * httpready: held until a whole request head; a request that is not GET or HEAD, or an
 * HTTP/0.9 request line, goes through at once; a head arriving in pieces is held until
 * its empty line.
 */
export function* accf_httpready(sys: Sys, path: string): Blocking<unknown[]> {
  const s = yield* listener(sys, path, 'httpready');
  const out: unknown[] = [];
  const buf = new Uint8Array(256);
  const pieces: [string, string[]][] = [
    ['get in pieces', ['GE', 'T /index.html HTT', 'P/1.1\r\nHost: a\r\n', '\r\n']],
    ['head, bare newlines', ['HEAD / HTTP/1.0\n', '\n']],
    ['post', ['POST / HTTP/1.1\r\n']],
    ['http/0.9', ['GET /old\r\n']],
    ['not http/1.x', ['GET / HTTP/2.0\r\n']],
  ];
  for (const [what, parts] of pieces) {
    const c = yield* client(sys, path);
    const states: (number | string)[] = [];
    let a: number | string = 'EAGAIN';
    for (const p of parts) {
      states.push(typeof a === 'number' ? 'accepted' : a);
      yield* sys.send(c, enc.encode(p));
      a = yield* try_accept(sys, s);
    }
    const got = typeof a === 'number' ? dec.decode(buf.subarray(0, yield* sys.recv(a, buf))) : '';
    out.push([what, states, typeof a === 'number' ? 'accepted' : a, got.length]);
    if (typeof a === 'number') yield* sys.close(a);
    yield* sys.close(c);
  }
  yield* sys.close(s);
  yield* sys.unlink(path);
  return out;
}

/* Across CPUs: a blocking accept on one CPU completes when a connector on another sends data. */
export function* accf_blocking(sys: Sys, path: string, otherCpu: number): Blocking<unknown[]> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, path);
  yield* sys.listen(s, 4);
  yield* sys.setsockopt(s, SOL_SOCKET, SO_ACCEPTFILTER, { name: 'dataready' });
  const pid = yield* sys.spawn(accf_sender, { cpu: otherCpu, args: [path] });
  const a = yield* sys.accept(s);
  const buf = new Uint8Array(16);
  const text = dec.decode(buf.subarray(0, yield* sys.recv(a, buf)));
  yield* sys.close(a);                         // the sender waits for this EOF
  const st = yield* sys.waitpid(pid);
  yield* sys.close(s);
  yield* sys.unlink(path);
  return [text, st.status];
}

export function* accf_sender(sys: Sys, path: string): Blocking<number> {
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  for (;;) {
    const e = yield* attempt(sys.connect(c, path));
    if (e === 'ok') break;
    yield* sys.sleep(1);
  }
  // Connected, and held by the filter: send only once the parent waits in accept.
  if (!(yield* wait_asleep(sys, yield* sys.getppid(), 0, 'waitmsg'))) throw new Error('accf_sender: the accept never blocked');
  yield* sys.send(c, enc.encode('late data'));
  const buf = new Uint8Array(4);
  yield* sys.recv(c, buf);                     // EOF once the acceptor closes
  yield* sys.close(c);
  return 0;
}
