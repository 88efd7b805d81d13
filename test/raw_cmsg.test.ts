/*
 * Raw control messages (sendmsg's control as msg_control bytes; recvmsg's rawControl):
 * sys_sendmsg's msg_controllen bounds and unp_internalize's checks (one message per
 * send, cmsg_len the mbuf's length) as DragonFly 2008 (SEED) gives them
 * (test/progs/raw_cmsg_progs.ts).  Both engines, both dispatch models; every zone back.
 */
import { describe, it, expect } from 'vitest';
import { ENGINES, MODELS, runProgram } from './helpers.js';

const P = new URL('./progs/raw_cmsg_progs.ts', import.meta.url).href;

describe.each(ENGINES)('raw control messages (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it('malformed control reaches the kernel\'s checks; raw control comes back as recvit copies it', async () => {
      const r = (await runProgram({ engine, model, seed: 37, cpus: 2 }, P, 'raw_control', [])).r as Record<string, unknown>;
      expect(r.layout).toEqual([96, 96, 0xffff, 3]);
      expect(r.bad).toEqual([
        'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EBADF',
      ]);
      expect(r.nothingQueued).toBe('EAGAIN');
      expect(r.creds).toBe('ok');
      expect(r.credsIn).toEqual([1, 0, 0, 96, 96, 0xffff, 3, true]);
      expect(r.rights).toBe('ok');
      expect((r.rightsIn as unknown[]).slice(0, 3)).toEqual([0, 16, [16, 0xffff, 1]]);
      expect((r.rightsIn as unknown[])[3]).toBe('ok');
      expect(r.rights2).toBe('ok');
      expect(r.rightsCut).toEqual([MSG_CTRUNC_V, 14, 'EBADF']);
    });
  });
});
const MSG_CTRUNC_V = 0x20;
