/*
 * msg.ts: struct lwkt_msg and struct lwkt_port (DragonFly sys/msgport.h), in kmem.
 *
 * Ownership rule (msgport.h): only the current owner touches a message.  Before it is
 * sent and after it is replied the originator owns it; in flight the target does.  A
 * reply sets MSGF_REPLY on the replier's CPU and MSGF_DONE later on the owner's, with the
 * IPI that carries it in between (lwkt_msgport.ts).
 */

import { layout, flag_names } from '../../shared/struct.js';
import { SPINLOCK_WORDS } from '../../shared/spinlock.js';

export const MSG = layout('lwkt_msg', {
  ms_next: 1,          // ms_node: queue links while on a port
  ms_prev: 1,
  ms_target_port: 1,   // set by putport; abort and drop use it
  ms_reply_port: 1,    // set by lwkt_initmsg
  ms_abortfn: 1,       // kfunc id, valid with MSGF_ABORTABLE
  ms_flags: 1,         // MSGF_*
  ms_error: 1,         // errno, or 0
  ms_cmd: 1,           // kfunc id of the handler (netmsg nm_dispatch), or a user command
  ms_result: 1,        // the result union: ms_result / ms_fds[0]
  ms_result2: 1,       // ms_fds[1]
  ms_owner: 1,         // here: thread that last initialised it (dumps)
  ms_zone: 1,          // here: 1 if it came from the msg zone (lwkt_msg_alloc)
  ms_arg: 20,          // payload words for the handler (netmsg fields)
});
export const MSG_ARGS = 20;

/* ms_flags: DragonFly SEED values. */
export const MSGF_DONE = 0x0001;
export const MSGF_REPLY = 0x0002;
export const MSGF_QUEUED = 0x0004;
export const MSGF_SYNC = 0x0008;
export const MSGF_INTRANSIT = 0x0010;
export const MSGF_NORESCHED = 0x0020;
export const MSGF_DROPABLE = 0x0040;
export const MSGF_ABORTABLE = 0x0080;
export const MSGF_PRIORITY = 0x0100;
export const MSGF_USER0 = 0x00010000;  // handler-owned bits
export const MSGF_USER1 = 0x00020000;
export const MSGF_USER2 = 0x00040000;
export const MSGF_USER3 = 0x00080000;
export const MSGF_NAMES = flag_names({ MSGF_DONE, MSGF_REPLY, MSGF_QUEUED, MSGF_SYNC, MSGF_INTRANSIT,
  MSGF_NORESCHED, MSGF_DROPABLE, MSGF_ABORTABLE, MSGF_PRIORITY });

export const EASYNC = 99;   // putport: queued, the reply comes later

export const PORT = layout('lwkt_port', {
  mp_type: 1,          // MPT_*: which backend (DragonFly's function vectors)
  mp_flags: 1,         // MSGPORTF_WAITING
  mp_td: 1,            // owner thread (thread ports)
  mp_fn: 1,            // kfunc id: putonly put function / replyonly reply function
  mp_msgq_head: 1,
  mp_msgq_tail: 1,
  mp_prioq_head: 1,    // mp_msgq_prio: drained first
  mp_prioq_tail: 1,
  mp_spin: SPINLOCK_WORDS, // spin and serializer ports
  mp_serialize: 1,     // serializer ports: the lwkt_serialize word the caller must hold
  mp_pad: 1,
});

export const MSGPORTF_WAITING = 0x0001;

export const MPT_THREAD = 1;
export const MPT_SPIN = 2;
export const MPT_SERIALIZE = 3;
export const MPT_PUTONLY = 4;
export const MPT_REPLYONLY = 5;
export const MPT_REPLYONLY_NULL = 6;
export const MPT_PANIC = 7;
export const MPT_NAMES = ['?', 'thread', 'spin', 'serialize', 'putonly', 'replyonly', 'replyonly_null', 'panic'];
