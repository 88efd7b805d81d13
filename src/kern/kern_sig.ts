/*
 * kern_sig.ts: signals to a SIGIO owner (DragonFly 2008 sys/kern/kern_sig.c pgsigio).
 * The rest of kern_sig.c that the simulation has (psignal, sigaction) is in kern_proc.ts.
 *
 * Differs: DragonFly's so_sigio is a struct sigio (fsetown) holding the owner's pid or
 * -pgid and the credentials of whoever set it, and pgsigio signals only processes that
 * pass CANSIGIO against those credentials.  Here so_sigio is the owner id itself (pid > 0,
 * process group < 0, 0 for none: sys/socketvar.ts), with no setter's credentials, so the
 * CANSIGIO test has nothing to compare and every process named is signalled; fsetown,
 * which will record them, comes with the ioctl/fcntl system calls.  checkctty has no
 * effect: there are no terminals.
 */

import { k32 } from '../../shared/kmem.js';
import { NULL } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';
import { spin_lock, spin_unlock } from '../../shared/spinlock.js';
import { KERN, NSIG, PIDHASH_SIZE, PROC, kern_globals } from '../sys/proc.js';
import { pfind, psignal } from './kern_proc.js';

/*
 * pgsigio: send sig to the SIGIO owner sigio: the process with that pid (sigio > 0) or
 * every process of process group -sigio (sigio < 0).  Nothing for 0 or an owner that is
 * gone.  Never blocks.  Locks: kg_proc_spin while walking the pid hash, then each
 * process's p_spin inside psignal (kern_proc.ts's order).
 */
export function pgsigio(sigio: number, sig: number, _checkctty: number): void {
  KASSERT(sig >= 1 && sig <= NSIG, 'pgsigio: bad signal');
  if (sigio === 0) return;
  if (sigio > 0) {
    const p = pfind(sigio);
    if (p !== NULL) psignal(p, sig);
    return;
  }
  const pgid = -sigio;
  const kg = kern_globals();
  spin_lock(kg + KERN.kg_proc_spin);
  for (let b = 0; b < PIDHASH_SIZE; b++) {
    for (let p = k32[kg + KERN.kg_pidhash + b]; p !== NULL; p = k32[p + PROC.p_hash]) {
      if (k32[p + PROC.p_pgid] === pgid) psignal(p, sig);
    }
  }
  spin_unlock(kg + KERN.kg_proc_spin);
}
