/*
 * accf_data.ts: the "dataready" accept filter (DragonFly net/accf_data/accf_data.c): a
 * connection reaches accept() only once it is readable: data has arrived, the peer has
 * shut down its side, or there is an error.
 */

import { k32 } from '../../shared/kmem.js';
import type { Ptr } from '../../shared/struct.js';
import { SO, SSB, SSB_UPCALL } from '../sys/socketvar.js';
import { accept_filt_add } from '../kern/uipc_accf.js';
import { soisconnected } from '../kern/uipc_socket2.js';
import { soreadable } from '../kern/uipc_socket.js';

/* sohasdata: the connection's upcall: once readable, stop filtering and let it be accepted. */
function sohasdata(so: Ptr, _arg: number, _waitflag: number): void {
  if (!soreadable(so)) return;
  k32[so + SO.so_upcall] = 0;
  Atomics.and(k32, so + SO.so_rcv + SSB.ssb_flags, ~SSB_UPCALL);
  soisconnected(so);
}

accept_filt_add({ accf_name: 'dataready', accf_callback: sohasdata, accf_create: null, accf_destroy: null });
