/*
 * kglobals.ts: the kernel-wide words in kmem's globals region, one layout for all of
 * them, so every CPU sees the same BGL, standard ports and tunables.  The kern layer
 * lays out its words inside g_kern (sys/proc.ts, KERN) and g_ipc (sys/socketvar.ts, IPC).
 */

import { layout } from '../../shared/struct.js';
import { PORT } from './msgport.js';

export const KG = layout('kglobals', {
  g_bgl: 4,                 // the big global lock, a token (lwkt_token.ts TOK)
  g_afree_rport: PORT.SIZE, // replyonly: the reply frees the message (netisr_afree_rport)
  g_adone_rport: PORT.SIZE, // replyonly_null: the reply marks it done (netisr_adone_rport)
  g_apanic_rport: PORT.SIZE, // panic port: messages that must never be replied
  g_kern: 64,               // the kern layer's process, file and credential words
  g_ipc: 32,                // the socket layer's tunables (kern.ipc.*, sys/socketvar.ts IPC)
  g_unp: 32,                // AF_LOCAL: the file namespace and the rights in flight (kern/vfs_unixsock.ts NSG)
});
export const GLOBALS_WORDS = KG.SIZE;
