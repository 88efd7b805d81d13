/*
 * lwkt_msgport as DragonFly has it: lwkt_domsg asserts the message is DONE and has a reply
 * port; waitmsg on a port that cannot be waited on panics even when the message is done;
 * only thread ports drop messages; a spin port's abort stores the sleep's error in
 * ms_error (ERESTART for a restarting signal over the target's EINTR).  Both engines.
 */
import { describe, expect, it } from 'vitest';
import { ERESTART, PanicError } from '../src/index.js';
import { ENGINES, machine, down, downFailed } from './helpers.js';

const P = new URL('./progs/msgport_fidelity_progs.ts', import.meta.url).href;

describe.each(ENGINES)('lwkt_msgport fidelity (%s engine)', (engine) => {
  async function panics(exp: string): Promise<PanicError> {
    const m = await machine({ engine, cpus: 1 });
    const mem = m.kmalloc(64);
    const t = await m.spawn({ cpu: 0, module: P, export: exp, args: [mem], name: exp });
    const e = await m.join(t).then(() => null, (x: unknown) => x);
    await downFailed(m);
    expect(e).toBeInstanceOf(PanicError);
    return e as PanicError;
  }

  it('lwkt_domsg of a message still in flight panics', async () => {
    expect((await panics('domsg_in_use')).panicMessage).toContain('lwkt_domsg: the message has no reply port, or is still in use');
  });

  it('waitmsg on a replyonly port panics, done or not', async () => {
    expect((await panics('waitmsg_replyonly')).panicMessage).toMatch(/lwkt_waitmsg: port \d+ \(replyonly_null\) msg \d+ cannot be waited on/);
  });

  it('dropmsg on a spin port panics', async () => {
    expect((await panics('dropmsg_spin')).panicMessage).toMatch(/lwkt_dropmsg: illegal on port \d+ \(spin\)/);
  });

  it("a spin port's aborted wait stores the sleep's error in ms_error", async () => {
    const m = await machine({ engine, cpus: 2 });
    const mem = m.kmalloc(64), w = m.kmalloc(4);
    const t = await m.spawn({ cpu: 0, module: P, export: 'spin_waitmsg_abort', args: [mem, w] });
    const s = await m.spawn({ cpu: 1, module: P, export: 'signal_after', args: [w] });
    expect(await m.join(t)).toEqual([ERESTART, ERESTART]);
    await m.join(s);
    await down(m);
  });
});
