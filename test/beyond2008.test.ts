/*
 * Later DragonFly/FreeBSD additions (docs/departures.md, beyond DragonFly 2008):
 * SOCK_NONBLOCK and SOCK_CLOEXEC on socket/socketpair, accept4 (no inheritance of the
 * listener's O_NONBLOCK), MSG_CMSG_CLOEXEC, MSG_NOSIGNAL (test/progs/beyond2008_progs.ts).
 * Both engines, both dispatch models.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram } from './helpers.js';

const P = new URL('./progs/beyond2008_progs.ts', import.meta.url).href;

describe.each(ENGINES)('beyond DragonFly 2008 (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('SOCK_NONBLOCK, SOCK_CLOEXEC, accept4, MSG_CMSG_CLOEXEC, MSG_NOSIGNAL', async () => {
      const r = (await runProgram({ engine, model, seed: 43, cpus: 2 }, P, 'beyond', ['/b4'])).r;
      expect(r).toEqual({
        socket: [[1, 4], [1, 0], [0, 0]],
        socketBad: 'EPROTONOSUPPORT',
        pair: [[0, 4], [0, 4], 'EAGAIN'],
        accept4Empty: 'EAGAIN',
        accept4Bad: 'EINVAL',
        accept4: [[0, 0], [1, 4], [0, 4]],
        cmsgCloexec: [[0, 1], [0, 0]],
        nosignal: 'EPIPE',
      });
    });
  });
});
