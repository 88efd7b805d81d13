/*
 * Asynchronous I/O on sockets (kern/vfs_aio.ts): aio_read/aio_write, aio_error,
 * aio_return, aio_suspend (with a timeout), aio_cancel, jobs waiting on a socket until
 * sowakeup's aio_swake, completion from another CPU, and a process exiting with jobs
 * outstanding.  Both engines and dispatch models; every zone back.
 */
import { describe, it, expect } from 'vitest';
import { AIO_CANCELED, AIO_ALLDONE } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/aio_progs.ts', import.meta.url).href;

function run1(engine: Engine, model: Model, name: string, args: unknown[]): Promise<{ r: unknown; con: string }> {
  return runProgram({ engine, model, seed: 41 }, P, name, args);
}

describe.each(ENGINES)('aio (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('read, write, a full socket, suspend with a timeout, cancel, bad input', async () => {
      expect((await run1(engine, model, 'aio_basic', [])).r).toEqual([
        true, 'EINVAL', 'EAGAIN',
        0, 5, 'hello', 'EINVAL',
        5, 'world',
        true, 1000, 1000,
        AIO_CANCELED, true, -1, AIO_ALLDONE, true,
        'EBADF', 'EFAULT', 'EINVAL', 'EINVAL', 'EBADF',
      ]);
    });

    it('many reads queued on one socket all complete', async () => {
      expect((await run1(engine, model, 'aio_many', [12])).r).toEqual([12, '1,2,3,4,5,6,7,8,9,10,11,12']);
    });

    it('a job waiting on one CPU completed by a send from another', async () => {
      expect((await run1(engine, model, 'aio_cross', [0])).r).toEqual(['from another cpu', 0]);
    });

    it('exit with jobs outstanding: they are run down, their files dropped', async () => {
      const { r } = await run1(engine, model, 'aio_exit', []);
      expect(r).toEqual([0, 'after']);
    });
  });
});
