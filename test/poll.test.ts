/*
 * select, poll, kqueue and kevent (kern/sys_generic.ts, kern/kern_event.ts): readiness
 * of AF_LOCAL sockets, the console and kqueues before and after each state change; the
 * errors of bad arguments; zero, finite and infinite timeouts; kevent's data, flags and
 * changes; closing sockets with knotes and kqueues; waiters on one CPU woken by a send,
 * a connect or a close on the other, a collision of two pollers, the polled descriptor
 * closed under the poller, and EINTR (never restarted).  Both engines, both dispatch
 * models; every zone back to its starting count.
 */
import { describe, it, expect } from 'vitest';
import {
  POLLIN, POLLRDNORM, POLLOUT, POLLNVAL, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_ONESHOT, EV_CLEAR, EV_EOF, EV_ERROR,
  ECONNRESET, EBADF, ENOENT,
} from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/poll_progs.ts', import.meta.url).href;
const IN = POLLIN | POLLRDNORM, OUT = POLLOUT;
const R = EVFILT_READ, W = EVFILT_WRITE;

async function run1(engine: Engine, model: Model, name: string, args: unknown[] = []): Promise<Record<string, unknown>> {
  return (await runProgram({ engine, model, seed: 7 }, P, name, args)).r as Record<string, unknown>;
}

describe.each(ENGINES)('select, poll, kqueue (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('select and poll: readiness through every state change; bad arguments; timeouts', async () => {
      const r = await run1(engine, model, 'states');
      expect(r.fresh).toEqual([2, OUT, OUT]);                 // a new pair: writable, not readable
      expect(r.data).toEqual([1, IN | OUT]);                  // data arrived; no out-of-band (POLLPRI/RDBAND)
      expect(r.sel).toEqual({ n: 3, readfds: [4], writefds: [3, 4], exceptfds: [] });
      expect(r.selclip).toEqual([4]);                         // nfds past the table is clipped
      expect(r.full).toEqual([[0, 0], []]);                   // the peer's buffer full: not writable
      expect(r.drainedBytes).toBe(true);
      expect(r.drained).toEqual([1, OUT, 0]);                 // drained: writable again, nothing to read
      expect(r.lowat).toEqual([[0, 0], [1, IN]]);             // SO_RCVLOWAT 8: 5 bytes are not enough
      expect(r.shut).toEqual([2, IN | OUT, OUT]);             // peer shut writing: EOF; the shut side "writable"
      expect(r.shutrd).toEqual([1, OUT]);
      expect(r.shutrd2).toEqual([1, IN]);                     // its own SHUT_RD: readable (EOF)
      expect(r.peerclose0).toEqual([0, 0]);                   // full, nothing to read
      expect(r.peerclose).toEqual([1, IN | OUT]);             // the peer closed: EOF and EPIPE at once
      expect(r.listen0).toEqual([0, 0]);                      // a listener: never writable
      expect(r.listen1).toEqual([[1, IN], [8]]);              // a connection waits for accept
      expect(r.listen2).toEqual([2, 0, OUT, OUT]);            // accepted: the listener is quiet again
      expect(r.lone).toEqual([[0, 0], { n: 0, readfds: [], writefds: [], exceptfds: [] }]);   // unconnected stream
      expect(r.soerror).toEqual([[1, IN | OUT], ECONNRESET, [1, OUT]]);   // so_error until SO_ERROR reads it
      expect(r.console).toEqual([[1, 0, OUT], { n: 2, readfds: [], writefds: [1, 2], exceptfds: [] }]);
      expect(r.nval).toEqual([3, POLLNVAL, POLLNVAL, 0, IN]); // past the table, an empty slot, negative skipped
      expect(r.errors).toEqual([
        'EBADF', 'EBADF',                                     // select of a closed descriptor (read, write set)
        'EINVAL', 'EINVAL', 'EINVAL',                         // nfds < 0, usec 1e6, sec < 0
        'EBADF', 'EFAULT', 'EINVAL',                          // a negative fd in a set, a set not an array, nfds 1.5
        'EINVAL', 'EFAULT', 'EFAULT', 'EINVAL',               // poll: timeout -2, not an array, null entry, fd 'a'
      ]);
      expect(r.nfds).toEqual(['EINVAL', 0]);                  // 1025 entries > RLIMIT_NOFILE 64 and FD_SETSIZE
      expect(r.timeouts).toEqual([[0, 0], [0, 0], 0, 0]);     // poll 0 and 30 ms, select 20 ms and 1 us
    });

    it('kqueue and kevent: data, EV_* flags, changes and their errors, closing sockets and kqueues', async () => {
      const r = await run1(engine, model, 'kq_semantics');
      const sndbuf = r.sndbuf as number;
      const wa = [4, W, EV_ADD, 0, sndbuf, 12], rb = [5, R, EV_ADD, 0, 5, 11];
      expect(sndbuf).toBeGreaterThan(0);
      expect(r.add).toEqual([wa]);                            // WRITE: the room to write; READ: nothing yet
      expect(r.level).toEqual([[wa, rb], [wa, rb]]);          // level-triggered: reported while they hold
      expect(r.room).toEqual([wa]);                           // nevents 1
      expect(r.disabled).toEqual([wa]);
      expect(r.enabled).toEqual([wa, rb]);
      expect(r.deleted).toEqual([wa]);
      expect(r.errev).toEqual([[5, R, EV_ERROR, 0, ENOENT, 5], [99, R, EV_ERROR, 0, EBADF, 0]]);
      expect(r.errno).toEqual([
        'ENOENT', 'EBADF',                                    // no such knote; ident not open (no room for EV_ERROR)
        'EINVAL', 'EINVAL', 'EINVAL',                         // EVFILT_TIMER (no subsystem), filter 3, filter -8
        'EPERM',                                              // EVFILT_VNODE on a socket: sokqfilter's 1
        'EINVAL', 'EINVAL', 'EINVAL',                         // nevents < 0, nsec < 0, sec < 0
        'EBADF', 'EBADF',                                     // a socket is no kqueue; not open
        'EFAULT', 'EINVAL',                                   // changes not an array; flags 1.5
      ]);
      expect(r.notsock).toEqual(['ENOTSOCK', 'ENOTSOCK', 'ENXIO', [1, IN]]);   // and readable while events wait
      expect(r.kqpoll0).toEqual([0, 0]);
      expect(r.kqpoll1).toEqual([1, IN]);
      expect(r.oneshot).toEqual([[[7, R, EV_ADD | EV_ONESHOT, 0, 3, 0]], [], 'ENOENT']);
      expect(r.clear).toEqual([[[7, R, EV_ADD | EV_CLEAR, 0, 3, 0]], [], [[7, R, EV_ADD | EV_CLEAR, 0, 7, 0]]]);
      expect(r.lowat).toEqual([[], [[10, R, EV_ADD, 0, 10, 0]]]);   // NOTE_LOWAT 10
      expect(r.rcvlowat).toEqual([]);                         // SO_RCVLOWAT 20 > 10 bytes
      expect(r.listen).toEqual([[], [[11, R, EV_ADD, 0, 2, 0]], [[11, R, EV_ADD, 0, 1, 0]]]);   // so_qlen
      expect(r.eof).toEqual([
        [11, R, EV_ADD, 0, 1, 0], [13, W, EV_ADD | EV_EOF, 0, sndbuf, 0], [13, R, EV_ADD | EV_EOF, 0, 0, 0],
      ]);
      const [dgBefore, dgReset, dgShut] = r.soerror as number[][][];
      expect(dgBefore).toEqual([]);
      expect(dgReset).toEqual([[15, R, EV_ADD, 0, 0, 0], [15, W, EV_ADD, 0, 2048, 0]]);
      expect(dgShut).toEqual([                                   // EV_EOF, fflags = so_error
        [15, R, EV_ADD | EV_EOF, ECONNRESET, 0, 0], [15, W, EV_ADD | EV_EOF, ECONNRESET, 2048, 0],
      ]);
      const [m, n, closed] = r.closed as [number, number, number[][]];
      expect(closed.filter((e) => e[0] === m)).toEqual([]);   // the closed socket's knotes are gone
      expect(closed.filter((e) => e[0] === n)).toEqual([[n, R, EV_ADD | EV_EOF, 0, 0, 0]]);
      expect(r.kqclosed).toEqual([[2, IN, OUT], 5, 'EBADF']);
      expect(r.console).toEqual([[1, W, EV_ADD, 0, 0, 0]]);   // console: writable, never readable
      expect(r.nested).toEqual([wa, [8, R, EV_ADD, 0, 1, 0]]);   // a kqueue with an event pending
    });

    it('waiters woken from the other CPU; two pollers collide; the polled fd closed; EINTR', async () => {
      const r = await run1(engine, model, 'wakeups', [0]);
      expect(r.poll).toEqual([1, IN]);
      expect(r.pollTimed).toEqual([1, IN]);
      expect(r.collision).toEqual([[1, IN], [1, IN], true]);
      expect(r.select).toEqual({ n: 1, readfds: [5], writefds: [], exceptfds: [] });
      expect(r.kevent).toEqual([[true, R, EV_ADD | EV_EOF, 0, 0, 3]]);
      expect(r.keventTimed).toEqual([[true, 1]]);
      expect(r.pollClosed).toEqual([1, POLLNVAL]);
      expect(r.selectClosed).toBe('EBADF');
      expect(r.eintr).toEqual(['EINTR', 'EINTR', 'EINTR']);   // poll; select and kevent under SA_RESTART too
      expect(r.handled).toBe(3);
      expect(r.seen).toEqual(Array.from({ length: 11 }, () => [true, -1]));   // each actor saw its waiter asleep
    });
  });
});
