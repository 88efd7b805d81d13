/*
 * lwkt_kstack.ts: the kmem part of a thread's kernel stack.
 *
 * A C kernel keeps a system call's locals, and the netmsg that so_pru_send hands to
 * lwkt_domsg, on the calling thread's kernel stack: no allocator is involved, and the
 * frame is gone when the function returns.  Here the JS stack cannot be addressed from
 * kmem, so each thread carries TD_KSTACK_WORDS words of kmem (td_kstack) used the same
 * way: kstack_alloc pushes a zeroed frame, kstack_free pops it, strictly last in first
 * out.  A frame lives as long as the call that pushed it, including while that call
 * sleeps (the thread cannot run anything else meanwhile: it makes one call at a time).
 *
 * When the stack is full kstack_alloc returns NULL and the caller takes its object from
 * a zone instead, as C code falls back to kmalloc for what does not fit on the stack.
 */

import { k32 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { TD_KSTACK_WORDS } from '../../shared/param.js';
import { KASSERT } from '../../shared/panic.js';
import { zalloc, zfree } from '../../shared/zone.js';
import { mycpu } from './globaldata.js';
import { TD } from './thread.js';

/*
 * A frame of `words` words on the current thread's kstack, or NULL when it is full.
 * Zeroed when asked; otherwise it holds whatever the last frame there left, as a C
 * local does, and the caller sets every word it reads.
 */
export function kstack_alloc(words: number, zero: boolean): Ptr {
  words = (words + 1) & ~1;            // frames keep even alignment (doubles sit on even words)
  const td = mycpu.curtd;
  const sp = k32[td + TD.td_ksp];
  if (sp + words > TD_KSTACK_WORDS) return NULL;
  k32[td + TD.td_ksp] = sp + words;
  const p = td + TD.td_kstack + sp;
  if (zero) k32.fill(0, p, p + words);
  return p;
}

/* Pop the frame p of `words` words if it is on this thread's kstack (true); false for any other address. */
export function kstack_free(p: Ptr, words: number): boolean {
  words = (words + 1) & ~1;
  const td = mycpu.curtd;
  const base = td + TD.td_kstack;
  if (p < base || p >= base + TD_KSTACK_WORDS) return false;
  const sp = k32[td + TD.td_ksp] - words;
  KASSERT(p === base + sp, 'kstack_free: frames popped out of order');
  k32[td + TD.td_ksp] = sp;
  return true;
}

/* A zeroed frame on the kstack, else an item of zone z (whose items hold at least `words` words); NULL when neither has room. */
export function kstack_get(words: number, z: number): Ptr {
  const p = kstack_alloc(words, true);
  return p !== NULL ? p : zalloc(z);
}

/* Give back what kstack_get(words, z) returned. */
export function kstack_put(p: Ptr, words: number, z: number): void {
  if (!kstack_free(p, words)) zfree(z, p);
}

/* Words of the current thread's kstack in use (a thread ending its last call has 0). */
export function kstack_depth(td: Ptr): number { return k32[td + TD.td_ksp]; }
