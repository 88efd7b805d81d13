/*
 * Kernel threads and programs for the WITNESS, INVARIANTS and liveness tests
 * (test/witness.test.ts, test/invariants.test.ts).  Lock words come from machine.kmalloc()
 * and are passed in; each thread publishes a word when it is done with its order.
 */
import {
  k32, NULL, KASSERT, spin_init, spin_lock, spin_unlock, sleeplock_lock, sleeplock_unlock, lwkt_token_init,
  lwkt_gettoken, lwkt_reltoken, lwkt_yield, tsleep, zalloc, zfree, Z_KMALLOC64, curthread, lwkt_thread_port,
  lwkt_waitport, lwkt_replymsg, lwkt_domsg, lwkt_msg_alloc, lwkt_msg_free, MSG, SSB, MT_DATA, MB_DONTWAIT,
  m_getl, m_append, sbappend, sbflush, get_mplock, rel_mplock, MSGF_DONE, witness_sleeplock_class, TD, PROC, FILE, FILEDESC, FDNODE, SO,
  type Blocking, type Ptr,
} from '../../src/kernel.js';
import { AF_LOCAL, SOCK_STREAM, type Sys } from '../../src/libc/index.js';
import { await_word, publish } from './common.js';

/* ---- two spinlock classes, taken in both orders by two threads ---- */

export function* wt_spin_setup(a: Ptr, b: Ptr): Blocking<number> {
  spin_init(a, 'wt_spin_a');
  spin_init(b, 'wt_spin_b');
  return 1;
}

export function* wt_spin_ab(a: Ptr, b: Ptr, done: Ptr): Blocking<number> {
  spin_lock(a);
  spin_lock(b);
  spin_unlock(b);
  spin_unlock(a);
  publish(done, 1);
  return 1;
}

export function* wt_spin_ba(a: Ptr, b: Ptr, done: Ptr): Blocking<number> {
  yield* await_word(done);        // strictly after the other order: this run cannot deadlock
  spin_lock(b);
  spin_lock(a);
  spin_unlock(a);
  spin_unlock(b);
  return 1;
}

/* ---- two sleep locks (SSB_LOCK-style words), named for WITNESS ---- */

export function* wt_sleep_setup(a: Ptr, b: Ptr): Blocking<number> {
  witness_sleeplock_class(a, 'wt_sleep_a');
  witness_sleeplock_class(b, 'wt_sleep_b');
  return 1;
}

export function* wt_sleep_ab(a: Ptr, b: Ptr, done: Ptr): Blocking<number> {
  KASSERT((yield* sleeplock_lock(a, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_ab: a');
  yield* lwkt_yield();
  KASSERT((yield* sleeplock_lock(b, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_ab: b');
  sleeplock_unlock(b, 1, 2);
  sleeplock_unlock(a, 1, 2);
  publish(done, 1);
  return 1;
}

export function* wt_sleep_ba(a: Ptr, b: Ptr, done: Ptr): Blocking<number> {
  yield* await_word(done);
  KASSERT((yield* sleeplock_lock(b, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_ba: b');
  KASSERT((yield* sleeplock_lock(a, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_ba: a');
  sleeplock_unlock(a, 1, 2);
  sleeplock_unlock(b, 1, 2);
  return 1;
}

/* a, then a token, then b: the order a -> b holds through the token in the middle. */
export function* wt_sleep_tok_ab(a: Ptr, tok: Ptr, b: Ptr, done: Ptr): Blocking<number> {
  KASSERT((yield* sleeplock_lock(a, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_tok_ab: a');
  yield* lwkt_gettoken(tok);
  KASSERT((yield* sleeplock_lock(b, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_tok_ab: b');
  sleeplock_unlock(b, 1, 2);
  lwkt_reltoken(tok);
  sleeplock_unlock(a, 1, 2);
  publish(done, 1);
  return 1;
}

/* Take a sleep lock twice. */
export function* wt_sleep_recurse(a: Ptr): Blocking<number> {
  KASSERT((yield* sleeplock_lock(a, 1, 2, 0, 'wtlock')) === 0, 'wt_sleep_recurse: first');
  yield* sleeplock_lock(a, 1, 2, 0, 'wtlock');   // would sleep for itself forever
  return 1;
}

/* Take a spinlock twice. */
export function* wt_spin_recurse(a: Ptr): Blocking<number> {
  spin_lock(a);
  spin_lock(a);
  return 1;
}

/* Sleep with a spinlock held. */
export function* wt_spin_sleep(a: Ptr): Blocking<number> {
  spin_lock(a);
  yield* tsleep(a + 1, 0, 'wtspin', 1);
  spin_unlock(a);
  return 1;
}

/* ---- two token classes (and the BGL), taken in both orders ---- */

export function* wt_tok_setup(a: Ptr, b: Ptr): Blocking<number> {
  lwkt_token_init(a, 'wt_tok_a');
  lwkt_token_init(b, 'wt_tok_b');
  return 1;
}

/*
 * Both orders at once, n times, each holding the first token across a yield: the threads
 * meet in both orders, and since a token's holder gives it up whenever it waits, neither
 * ever waits for the other while holding anything.  Returns the rounds done.
 */
export function* wt_tok_order(first: Ptr, second: Ptr, n: number): Blocking<number> {
  let i = 0;
  for (; i < n; i++) {
    yield* lwkt_gettoken(first);
    yield* lwkt_yield();
    yield* lwkt_gettoken(second);
    yield* get_mplock();
    lwkt_reltoken(second);
    rel_mplock();
    lwkt_reltoken(first);
  }
  return i;
}

/* ---- a real deadlock: a sleep lock held across a synchronous message ---- */

/*
 * The server takes one request on its port and, to serve it, the sleep lock: which the
 * client holds while it waits for the reply.  Neither can go on.
 */
export function* wt_dl_server(rdv: Ptr, lock: Ptr): Blocking<number> {
  publish(rdv, lwkt_thread_port(curthread()));
  const msg = yield* lwkt_waitport(lwkt_thread_port(curthread()), 0);
  yield* sleeplock_lock(lock, 1, 2, 0, 'wtlock');
  sleeplock_unlock(lock, 1, 2);
  lwkt_replymsg(msg, 0);
  return 1;
}

export function* wt_dl_client(rdv: Ptr, lock: Ptr): Blocking<number> {
  const port = yield* await_word(rdv);
  KASSERT((yield* sleeplock_lock(lock, 1, 2, 0, 'wtlock')) === 0, 'wt_dl_client: lock');
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  yield* lwkt_domsg(port, msg, 0);
  lwkt_msg_free(msg);
  sleeplock_unlock(lock, 1, 2);
  return 1;
}

/* Take the BGL and sleep for good (with the injected bug token-held-across-block it keeps the BGL). */
export function* wt_bgl_sleeper(w: Ptr): Blocking<number> {
  yield* get_mplock();
  publish(w, 1);
  yield* tsleep(w + 1, 0, 'wtbgl', 0);
  rel_mplock();
  return 1;
}

/* Once the sleeper holds the BGL, want it. */
export function* wt_bgl_taker(w: Ptr): Blocking<number> {
  yield* await_word(w);
  yield* get_mplock();
  rel_mplock();
  return 1;
}

/* A process that reads from a socketpair nobody writes to. */
export function* wt_lonely_reader(sys: Sys): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(16);
  const n = yield* sys.recv(a, buf);
  yield* sys.close(a);
  yield* sys.close(b);
  return n;
}

/* ---- INVARIANTS: a sockbuf whose ssb_cc is corrupted between two appends ---- */

function mk(len: number): Ptr {
  const m = m_getl(len, MB_DONTWAIT, MT_DATA, 0);
  KASSERT(m !== NULL, 'mk: no mbuf');
  KASSERT(m_append(m, len, new Uint8Array(len).fill(7), 0) === 1, 'mk: m_append');
  return m;
}

export function* inv_sockbuf_corrupt(corrupt: number): Blocking<number> {
  const ssb = zalloc(Z_KMALLOC64);
  KASSERT(ssb !== NULL, 'inv_sockbuf_corrupt: no memory');
  k32[ssb + SSB.ssb_hiwat] = 8192;
  k32[ssb + SSB.ssb_mbmax] = 65536;
  sbappend(ssb, mk(100));
  k32[ssb + SSB.ssb_cc] += corrupt;             // the broken accounting
  sbappend(ssb, mk(1000));                      // INVARIANTS catches it here
  k32[ssb + SSB.ssb_cc] -= corrupt;
  sbflush(ssb);
  zfree(Z_KMALLOC64, ssb);
  return 1;
}

/* A socket of a process: corrupt its so_rcv.ssb_mbcnt, then send to it. */
export function* inv_socket_corrupt(sys: Sys): Blocking<number> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  yield* sys.send(a, new Uint8Array(10));
  const so = so_of_fd(b);
  k32[so + SO.so_rcv + SSB.ssb_mbcnt] += 4;
  yield* sys.send(a, new Uint8Array(10));
  return 0;
}

/* A listener whose so_qlen is off by one when accept takes its connection. */
export function* inv_listen_corrupt(sys: Sys): Blocking<number> {
  const s = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.bind(s, '/inv.sock');
  yield* sys.listen(s, 4);
  const c = yield* sys.socket(AF_LOCAL, SOCK_STREAM);
  yield* sys.connect(c, '/inv.sock');           // queued on so_comp: so_qlen 1
  k32[so_of_fd(s) + SO.so_qlen] += 1;           // the broken count
  yield* sys.accept(s);                         // INVARIANTS catches it as accept dequeues
  return 1;
}

/* A message replied twice: its second reply finds MSGF_DONE set. */
export function* inv_msg_double_reply(): Blocking<number> {
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);   // lwkt_initmsg: MSGF_DONE, not in flight
  lwkt_replymsg(msg, 0);
  return 1;
}

/* A message sent again while in flight (MSGF_DONE clear: as if its first send were not replied yet). */
export function* inv_msg_inflight(): Blocking<number> {
  const port = lwkt_thread_port(curthread());
  const msg = lwkt_msg_alloc(lwkt_thread_port(curthread()), 0);
  k32[msg + MSG.ms_flags] &= ~MSGF_DONE;
  yield* lwkt_domsg(port, msg, 0);
  return 1;
}

/* The BGL owned by a thread that switches out without a reference to it. */
export function* inv_bgl_unlinked(): Blocking<number> {
  const td = curthread();
  yield* get_mplock();
  k32[td + TD.td_ntoks]--;                      // the reference lost: lwkt_switch cannot release it
  yield* lwkt_yield();
  return 1;
}

function so_of_fd(fd: number): Ptr {
  const p = k32[curthread() + TD.td_proc];
  const fdp = k32[p + PROC.p_fd];
  const fp = k32[k32[fdp + FILEDESC.fd_files] + fd * FDNODE.SIZE + FDNODE.fdn_fp];
  return k32[fp + FILE.f_data];
}
