/*
 * Raw sockaddrs (Sys.bind/connect/sendto/sendmsg with a Uint8Array; raw names back with
 * { raw: true } / rawAddr): getsockaddr's and unp_bind/unp_connect's errnos as DragonFly
 * 2008 gives them (test/progs/raw_addr_progs.ts).  Both engines, both dispatch models.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/raw_addr_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[]): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 31, cpus: 2 }, P, name, args)).r;
}

const bytes = (s: string): number[] => Array.from(new TextEncoder().encode(s));

describe.each(ENGINES)('raw sockaddrs (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('bind: any family, sun_len forced to namelen, EDOM under the header, ENAMETOOLONG over 255, EINVAL for no path', async () => {
      const r = (await run1(engine, model, 'raw_bind', ['/rb'])) as Record<string, unknown>;
      expect(r.plain).toEqual(['ok', '/rb/a', [7, 1, ...bytes('/rb/a')]]);
      expect(r.inet).toEqual(['ok', '/rb/b', [7, 2, ...bytes('/rb/b')]]);
      expect(r.unspec).toEqual(['ok', '/rb/c', [7, 7, ...bytes('/rb/c')]]);
      expect(r.family255).toEqual(['ok', '/rb/d', [7, 255, ...bytes('/rb/d')]]);
      expect(r.sunlen0).toEqual(['ok', '/rb/e', [7, 1, ...bytes('/rb/e')]]);
      expect(r.sunlen200).toEqual(['ok', '/rb/f', [7, 1, ...bytes('/rb/f')]]);
      expect(r.nulpad).toEqual(['ok', '/rb/g', [17, 1, ...bytes('/rb/g'), ...new Array(10).fill(0)]]);
      expect([r.empty, r.one, r.header, r.nulfirst, r.len256]).toEqual(['EDOM', 'EDOM', 'EINVAL', 'EINVAL', 'ENAMETOOLONG']);
      expect(r.len255n).toBe(255);
      expect((r.len255 as unknown[])[0]).toBe('ok');
      expect(((r.len255 as unknown[])[2] as number[])[0]).toBe(255);
    });

    it('connect, sendto, sendmsg by raw name; recvfrom, recvmsg, getpeername give the raw bytes', async () => {
      const r = (await run1(engine, model, 'raw_connect', ['/rc'])) as Record<string, unknown>;
      const cli = [9, 9, ...bytes('/rc/cli')];     // bound with family 0: the fix-up made it sun_len
      expect(r.sendto).toBe('ok');
      expect(r.recvfrom).toEqual([1, cli]);
      expect(r.sendmsg).toBe('ok');
      expect(r.recvmsg).toEqual([2, '/rc/cli', cli]);
      expect(r.sendtoErr).toEqual(['EDOM', 'EINVAL', 'ENAMETOOLONG', 'ENOENT']);
      expect(r.connectErr).toEqual(['EDOM', 'EINVAL', 'ENAMETOOLONG']);
      expect(r.connect).toBe('ok');
      expect(r.peer).toEqual([9, 2, ...bytes('/rc/srv')]);
      expect(r.peerStr).toBe('/rc/srv');
      expect(r.streamConnect).toBe('ok');
      expect(r.acceptRaw).toEqual([16, 1, ...new Array(14).fill(0)]);      // accept's name: sun_noname
      expect(r.acceptedPeer).toEqual([16, 1, ...new Array(14).fill(0)]);   // sun_noname
      expect(r.acceptName).toBe('/rc/c2');
      expect(r.reconnect).toBe('EISCONN');
      expect(r.clientName).toEqual([]);   // uipc_sockaddr gives no name for an unbound socket: namelen 0
      expect(r.rawOfStream).toBe(7);
    });
  });
});
