/*
 * kern_exec_args.ts: values copied into kmem and out again, the way execve copies argv
 * into kernel buffers (exec_copyin_args) before the new image copies them back out.
 * spawn's and fork's arguments and a thread's arguments and result travel this way:
 * they may cross to a CPU in another isolate, where no JS object of this one exists.
 *
 * A value is encoded as JSON (so: numbers, strings, booleans, null, and arrays and plain
 * objects of them; undefined stands alone or becomes null inside an array, as JSON has
 * it) and its UTF-8 bytes are kept in a chain of kmalloc256 items: word 0 the next
 * item, word 1 the bytes in this item, then the bytes.  The chain's head is the blob.
 *
 * Differs: C copies strings, not structured values; the limit ARG_MAX is 64 KB here
 * (DragonFly: 256 KB), because the kmalloc256 zone holds 512 KB in all.
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { E2BIG, EINVAL, ENOMEM } from '../../shared/errno.js';
import { zalloc, zfree, Z_KMALLOC256 } from '../../shared/zone.js';

import { ARG_MAX } from '../sys/syslimits.js';
export { ARG_MAX };
const ITEM_BYTES = (256 - 2) * 4;
const UNDEFINED = 0xff;         // a one-byte blob that is not JSON: the value undefined

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let scratch = new Uint8Array(4096);

/* JSON.stringify would quietly turn these into null or drop them: refuse them instead. */
function strict(_key: string, v: unknown): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError('exec_args: not representable');
  return v;
}

/*
 * exec_args_copyin: the blob holding v, or -errno: EINVAL when JSON cannot carry it (a
 * function or a symbol anywhere in it, a bigint, a cycle), E2BIG beyond ARG_MAX bytes, ENOMEM when the
 * zone is short.  Never blocks.
 */
export function exec_args_copyin(v: unknown): number {
  let n: number;
  if (v === undefined) {
    scratch[0] = UNDEFINED;
    n = 1;
  } else {
    let text: string | undefined;
    try {
      text = JSON.stringify(v, strict);
    } catch {
      return -EINVAL;
    }
    if (typeof text !== 'string') return -EINVAL;
    if (text.length * 3 > scratch.length) scratch = new Uint8Array(Math.min(ARG_MAX + 4, text.length * 3));
    const r = encoder.encodeInto(text, scratch);
    if (r.read !== text.length) return -E2BIG;
    n = r.written;
  }
  if (n > ARG_MAX) return -E2BIG;
  let head = NULL, tail = NULL;
  for (let at = 0; at < n || head === NULL; at += ITEM_BYTES) {
    const w = zalloc(Z_KMALLOC256);
    if (w === NULL) {
      exec_args_free(head);
      return -ENOMEM;
    }
    const len = Math.min(ITEM_BYTES, n - at);
    k32[w + 1] = len;
    ku8.set(scratch.subarray(at, at + len), (w + 2) * 4);
    if (tail === NULL) head = w;
    else k32[tail] = w;
    tail = w;
  }
  return head;
}

/* exec_args_copyout: the value in blob (which stays allocated).  Never blocks. */
export function exec_args_copyout(blob: Ptr): unknown {
  let n = 0;
  for (let w = blob; w !== NULL; w = k32[w]) n += k32[w + 1];
  if (n > scratch.length) scratch = new Uint8Array(n);
  let at = 0;
  for (let w = blob; w !== NULL; w = k32[w]) {
    const len = k32[w + 1];
    scratch.set(ku8.subarray((w + 2) * 4, (w + 2) * 4 + len), at);
    at += len;
  }
  if (n === 1 && scratch[0] === UNDEFINED) return undefined;
  return JSON.parse(decoder.decode(scratch.subarray(0, n)));
}

/* exec_args_free: give back a blob's items (NULL is allowed).  Never blocks. */
export function exec_args_free(blob: Ptr): void {
  while (blob !== NULL) {
    const next = k32[blob];
    zfree(Z_KMALLOC256, blob);
    blob = next;
  }
}
