/*
 * Accept filters (kern/uipc_accf.ts, net/accf_data.ts, net/accf_http.ts): soisconnected's
 * accept-filter branch holds a connection on the incomplete queue until its filter calls
 * soisconnected() again.  The option's errnos, dataready, httpready's stages, and a
 * blocking accept released from another CPU.  Both engines and dispatch models; every
 * zone back.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/accf_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[]): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 31, cpu: 0 }, P, name, args)).r;
}

describe.each(ENGINES)('accept filters (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('SO_ACCEPTFILTER: EINVAL off a listener, ENOENT, one at a time, removed with null', async () => {
      expect(await run1(engine, model, 'accf_option', ['/opt.sock'])).toEqual([
        'EINVAL', 'EINVAL', { name: '', arg: '' }, 'ENOENT', 'EINVAL',
        { name: 'dataready', arg: '' }, 'EINVAL', 'EAGAIN', { name: '', arg: '' }, 'number', 'number',
      ]);
    });

    it('dataready: held until data or EOF; a held connection is dropped with its listener', async () => {
      expect(await run1(engine, model, 'accf_dataready', ['/data.sock'])).toEqual([
        'EAGAIN', 'hello', 'EAGAIN', 0, 'EAGAIN', 0,
      ]);
    });

    it('httpready: a whole request head; other methods and HTTP/0.9 at once', async () => {
      expect(await run1(engine, model, 'accf_httpready', ['/http.sock'])).toEqual([
        ['get in pieces', ['EAGAIN', 'EAGAIN', 'EAGAIN', 'EAGAIN'], 'accepted', 37],
        ['head, bare newlines', ['EAGAIN', 'EAGAIN'], 'accepted', 17],
        ['post', ['EAGAIN'], 'accepted', 17],
        ['http/0.9', ['EAGAIN'], 'accepted', 10],
        ['not http/1.x', ['EAGAIN'], 'accepted', 16],
      ]);
    });

    it('a blocking accept is released by data sent from another CPU', async () => {
      expect(await run1(engine, model, 'accf_blocking', ['/blk.sock', 1])).toEqual(['late data', 0]);
    });
  });
});
