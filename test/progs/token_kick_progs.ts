/*
 * Kernel threads for test/token_kick.test.ts: a token holder that runs on (never blocks)
 * until told to release, and a waiter for the same token.
 */
import { k32, curthread, lwkt_gettoken, lwkt_reltoken, lwkt_step, lwkt_token_init, type Blocking } from '../../src/kernel.js';

export function* tk_setup(tok: number): Blocking<void> { lwkt_token_init(tok, 'kick_tok'); }

/* Words at w: [0] set once the token is held, [1] set by the host: release it. */
export function* tk_holder(tok: number, w: number): Blocking<number> {
  yield* lwkt_gettoken(tok);
  Atomics.store(k32, w, 1);
  // Interrupt windows only: the thread stays current, so it keeps the token (and its CPU runs).
  while (Atomics.load(k32, w + 1) === 0) yield* lwkt_step();
  lwkt_reltoken(tok);
  return 1;
}

/* Take the token (waiting in tokwait while the holder has it); 1 if it was ours. */
export function* tk_waiter(tok: number): Blocking<number> {
  yield* lwkt_gettoken(tok);
  const mine = k32[tok] === curthread() ? 1 : 0;
  lwkt_reltoken(tok);
  return mine;
}
