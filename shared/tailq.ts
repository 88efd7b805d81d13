/*
 * tailq.ts: BSD TAILQ on kmem words.  A head is two words (first, last); an element's
 * link is two adjacent words (next, prev) at offset `link` in its struct.  Run queues,
 * sleep queues and port message queues are all built on these.  The caller holds
 * whatever guards the queue (its CPU, a spinlock, a serializer).
 */

import { k32 } from './kmem.js';
import { NULL, type Ptr } from './struct.js';

export function TAILQ_INSERT_TAIL(head: Ptr, elm: Ptr, link: number): void {
  const last = k32[head + 1];
  k32[elm + link] = NULL;
  k32[elm + link + 1] = last;
  if (last !== NULL) k32[last + link] = elm;
  else k32[head] = elm;
  k32[head + 1] = elm;
}

export function TAILQ_REMOVE(head: Ptr, elm: Ptr, link: number): void {
  const next = k32[elm + link];
  const prev = k32[elm + link + 1];
  if (prev !== NULL) k32[prev + link] = next;
  else k32[head] = next;
  if (next !== NULL) k32[next + link + 1] = prev;
  else k32[head + 1] = prev;
}

export function TAILQ_FIRST(head: Ptr): Ptr { return k32[head]; }
export function TAILQ_LAST(head: Ptr): Ptr { return k32[head + 1]; }
export function TAILQ_NEXT(elm: Ptr, link: number): Ptr { return k32[elm + link]; }
export function TAILQ_EMPTY(head: Ptr): boolean { return k32[head] === NULL; }
