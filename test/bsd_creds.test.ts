/*
 * FreeBSD's socket regression test unix_cmsg (tools/regression/sockets/unix_cmsg), its
 * SCM_CREDS (struct cmsgcred) and LOCAL_PEERCRED cases, ported to this socket layer and
 * held to DragonFly 2008: t_cmsgcred over SOCK_STREAM and SOCK_DGRAM with each of
 * unix_cmsg.t's -z variants (data or none, a cmsgcred array or none), the credentials of a
 * non-root sender (spawned with a uid, or forked and setuid), a control buffer too small
 * on receive, and t_peercred.  The SCM_RIGHTS, cmsg_len and MSG_CTRUNC-with-rights parts
 * are in bsd_rights.test.ts.  What differs from FreeBSD and why, and what is left out
 * (LOCAL_CREDS/sockcred, SCM_TIMESTAMP, SCM_BINTIME, SCM_CREDS2, xucred's other fields),
 * is in test/progs/bsd_creds_progs.ts.  Both engines, both dispatch models; every zone
 * back to its starting count after each program (runProgram).
 */
import { describe, it, expect } from 'vitest';
import { SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SCM_CREDS, CMSG_LEN, CMSGCRED_BYTES, MSG_TRUNC } from '../src/libc/index.js';
import { ENGINES, MODELS, runProgram, type Engine, type Model } from './helpers.js';

const P = new URL('./progs/bsd_creds_progs.ts', import.meta.url).href;

/* The server on CPU 1; a spawned client goes to CPU 0. */
async function run1(engine: Engine, model: Model, name: string, args: unknown[], uid = 1000): Promise<Record<string, unknown>> {
  return (await runProgram({ engine, model, seed: 31, cpu: 1, uid }, P, name, args)).r as Record<string, unknown>;
}

const TYPES = [['SOCK_STREAM', SOCK_STREAM], ['SOCK_DGRAM', SOCK_DGRAM]] as const;
const N = 5;                                        // IPC_MSG_NUM_DEF
const CREDS_LEN = CMSG_LEN(CMSGCRED_BYTES);         // 12 + 84 on i386

/* A cmsgcred of a process with real = effective uid `uid` and gid `gid` (cr_groups[0] = egid, no others). */
const cred = (uid: number, gid: number) => ({ uid, euid: uid, gid, ngroups: 1, groups: [gid] });
/* One received message carrying that cmsgcred, cmcred_pid the client's. */
const withCreds = (bytes: number, flags: number, c: ReturnType<typeof cred>) =>
  ({ bytes, data: true, flags, cmsgs: [[SOL_SOCKET, SCM_CREDS, CREDS_LEN]], pid: true, cred: c });
const ME = { uid: 1000, euid: 1000, gid: 1000, egid: 1000 };
const ROOT = { uid: 0, euid: 0, gid: 0, egid: 0 };

describe.each(ENGINES)('FreeBSD unix_cmsg, SCM_CREDS and LOCAL_PEERCRED (%s engine)', (engine) => {
  describe.each(MODELS)('%s dispatch', (model) => {
    it.each(TYPES)('t_cmsgcred over %s: every message has data and one SCM_CREDS with the sender\'s cmsgcred', async (_n, type) => {
      expect(await run1(engine, model, 't_cmsgcred', [type, 0, 'spawn', -1, 0])).toEqual({
        self: ME,
        msgs: Array.from({ length: N }, () => withCreds(7, 0, cred(1000, 1000))),
        client: 'exit 0',
      });
    });

    it('t_cmsgcred over SOCK_STREAM, no data (-z 1): only the first receive gets the credentials', async () => {
      // DragonFly 2008: a 0-byte send queues [control, empty mbuf]; a 0-byte soreceive takes
      // the control and leaves the empty mbuf at so_rcv's head, hiding the later records' control.
      const none = { bytes: 0, data: true, flags: 0, cmsgs: [] };
      expect(await run1(engine, model, 't_cmsgcred', [SOCK_STREAM, 1, 'spawn', -1, 0])).toEqual({
        self: ME,
        msgs: [withCreds(0, 0, cred(1000, 1000)), none, none, none, none],
        client: 'exit 0',
      });
    });

    it('t_cmsgcred over SOCK_DGRAM, no data (-z 1): each datagram\'s cmsgcred, with MSG_TRUNC', async () => {
      // DragonFly 2008: the empty data mbuf after the control is left unread, so the atomic
      // receive sets MSG_TRUNC (FreeBSD's check_msghdr wants none).
      expect(await run1(engine, model, 't_cmsgcred', [SOCK_DGRAM, 1, 'spawn', -1, 0])).toEqual({
        self: ME,
        msgs: Array.from({ length: N }, () => withCreds(0, MSG_TRUNC, cred(1000, 1000))),
        client: 'exit 0',
      });
    });

    it.each(TYPES)('t_cmsgcred over %s, no array (-z 2, -z 3): an SCM_CREDS of cmsg_len CMSG_LEN(0) is EINVAL', async (_n, type) => {
      // The simulation refuses a cmsgcred of the wrong size on purpose (uipc_cmsg.ts); DragonFly
      // 2008 C took it (cmsg_len == m_len) and FreeBSD fills in a whole cmsgcred.
      for (const z of [2, 3]) {
        expect(await run1(engine, model, 't_cmsgcred', [type, z, 'spawn', -1, 0])).toEqual({
          self: ME, msgs: [{ send: 'EINVAL' }], client: 'exit 1',
        });
      }
    });

    it.each(TYPES)('t_cmsgcred over %s from a non-root sender: spawned as uid 65534, forked and setuid(1000)', async (_n, type) => {
      // setuid changes the uids only: the root server's gid 0 stays the client's real and effective gid.
      expect(await run1(engine, model, 't_cmsgcred', [type, 0, 'spawn', 65534, 0], 0)).toEqual({
        self: ROOT,
        msgs: Array.from({ length: N }, () => withCreds(7, 0, cred(65534, 0))),
        client: 'exit 0',
      });
      expect(await run1(engine, model, 't_cmsgcred', [type, 0, 'fork', 1000, 0], 0)).toEqual({
        self: ROOT,
        msgs: Array.from({ length: N }, () => withCreds(7, 0, cred(1000, 0))),
        client: 'exit 0',
      });
    });

    it.each(TYPES)('SCM_CREDS over %s into a control buffer 4 bytes short: MSG_CTRUNC, the data whole, the next message intact', async (_n, type) => {
      // [bytes, data intact, MSG_CTRUNC, whole control messages]: the simulation reports
      // MSG_CTRUNC as FreeBSD does (DragonFly 2008's sys_recvmsg set it in its own msghdr copy only).
      expect(await run1(engine, model, 't_cmsgcred_ctrunc', [type])).toEqual([
        [7, true, true, 0],
        withCreds(7, 0, cred(1000, 1000)),
        'exit 0',
      ]);
    });

    it('t_peercred: each side of a connection reads the other\'s euid and egid (LOCAL_PEERCRED)', async () => {
      expect(await run1(engine, model, 't_peercred', [-1, 0])).toEqual({
        self: ME, server: { uid: 1000, gid: 1000 }, client: { uid: 1000, gid: 1000 }, status: 'exit 0',
      });
      // A root listener and a uid-65534 client: the accepted socket has the client's ids as at
      // connect, the client's socket the listener's as at listen (unp_connect, unp_listen).
      expect(await run1(engine, model, 't_peercred', [65534, 0], 0)).toEqual({
        self: ROOT, server: { uid: 65534, gid: 0 }, client: { uid: 0, gid: 0 }, status: 'exit 0',
      });
    });
  });
});
