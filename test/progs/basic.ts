/* Small kernel threads for smoke tests. */
import { k32, lwkt_domsg, lwkt_waitport, lwkt_replymsg, lwkt_msg_alloc, lwkt_msg_free, lwkt_thread_port,
  curthread, MSG, tsleep, wakeup, type Blocking } from '../../src/kernel.js';

export function* hello(x: number): Blocking<number> {
  return x + 1;
}

/* Serve n requests on this thread's port: reply with arg + 1. */
export function* server(rdv: number, n: number): Blocking<number> {
  const port = lwkt_thread_port(curthread());
  Atomics.store(k32, rdv, port);
  wakeup(rdv);
  for (let i = 0; i < n; i++) {
    const msg = yield* lwkt_waitport(port, 0);
    k32[msg + MSG.ms_result] = k32[msg + MSG.ms_arg] + 1;
    lwkt_replymsg(msg, 0);
  }
  return n;
}

export function* client(rdv: number, n: number): Blocking<number> {
  while (Atomics.load(k32, rdv) === 0) yield* tsleep(rdv, 0, 'rdv', 1);
  const port = Atomics.load(k32, rdv);
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    k32[msg + MSG.ms_arg] = i;
    const e = yield* lwkt_domsg(port, msg, 0);
    if (e === 0 && k32[msg + MSG.ms_result] === i + 1) ok++;
  }
  lwkt_msg_free(msg);
  return ok;
}
