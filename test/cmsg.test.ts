/*
 * sendmsg and recvmsg with control messages (kern/uipc_cmsg.ts, uipc_usrreq's
 * unp_internalize): SCM_CREDS arrives with the sender's credentials whatever it wrote;
 * control that does not fit is dropped with MSG_CTRUNC; malformed control gives EINVAL
 * and SCM_RIGHTS of a closed descriptor EBADF (descriptor passing: test/rights.test.ts), and a
 * refused send delivers nothing; getpeereid reads LOCAL_PEERCRED.  Both engines, both dispatch models; every zone back.
 */
import { describe, it, expect } from 'vitest';
import { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/cmsg_progs.ts', import.meta.url).href;

async function run1(engine: Engine, model: Model, name: string, args: unknown[], uid = 1000): Promise<unknown> {
  return (await runProgram({ engine, model, seed: 5, uid }, P, name, args)).r;
}

describe.each(ENGINES)('control messages (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each([['stream', SOCK_STREAM], ['seqpacket', SOCK_SEQPACKET], ['dgram', SOCK_DGRAM]])(
      'SCM_CREDS over a %s pair; truncation; bad control refused', async (_n, type) => {
        const [sent, got, text, ctrunc, cred, tBytes, tCount, tTrunc, bad, last, lastCtl] =
          (await run1(engine, model, 'creds_pair', [type])) as unknown[];
        expect([sent, got, text, ctrunc]).toEqual([2, 2, 'hi', 0]);
        expect(cred).toMatchObject({ uid: 1000, euid: 1000, gid: 1000, groups: [1000] });
        expect((cred as { pid: number }).pid).toBeGreaterThan(0);
        expect([tBytes, tCount, tTrunc]).toEqual([2, 0, true]);
        expect(bad).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EBADF', 'EINVAL', 'EINVAL', 'EINVAL', 'EFAULT']);
        expect([last, lastCtl]).toEqual(['end', 0]);
      });

    it('getpeereid gives the peer\'s uid and gid (LOCAL_PEERCRED)', async () => {
      expect(await run1(engine, model, 'peereid', ['/peer.sock'], 1000)).toEqual([
        [{ uid: 1000, gid: 1000 }, { uid: 1000, gid: 1000 }], 'ENOTCONN', 'ENOTCONN', 'ENOPROTOOPT', 'EBADF',
      ]);
    });

    it('sendmsg to a bound path; recvmsg names the sender and carries its credentials', async () => {
      expect(await run1(engine, model, 'dgram_named', ['/cm'], 0)).toEqual([4, '/cm/cli', true]);
    });
  });
});
