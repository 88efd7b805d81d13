/*
 * kmem_pool.ts: the kmem of machines that were shut down, kept for the next boot of the
 * same size, as a kernel hands freed pages to the next allocation.
 *
 * A SharedArrayBuffer is freed only when V8 collects it, and a loop that boots and shuts
 * down machines (a test file, a seed scan) makes almost no JS garbage, so full
 * collections are rare and each boot's buffer stays: 64 MiB a boot, until the process
 * is killed for memory (a scan of 750 boots of 32 MiB reached 24 GB).  Handing the buffer
 * to the next boot bounds that at the pool.  A pooled buffer is zeroed before it is used
 * again, and its boot gets a new boot id (H_BOOTID), so isolates that had attached the
 * old machine attach the new one afresh (shared/kmem.ts).
 */

/* Buffers kept at most; past that the oldest is left to the collector. */
const POOL_MAX = 4;

const pool: SharedArrayBuffer[] = [];

/* Boot ids: distinct for every boot of this isolate (and, by the random start, across isolates). */
let next_bootid = (Math.random() * 0x3fffffff) | 0;

export function kmem_bootid_next(): number {
  next_bootid = (next_bootid + 1) & 0x7fffffff || 1;
  return next_bootid;
}

/* A zeroed buffer of `bytes`: a pooled one of that size, or a new one. */
export function kmem_sab_get(bytes: number): SharedArrayBuffer {
  for (let i = pool.length - 1; i >= 0; i--) {
    if (pool[i].byteLength !== bytes) continue;
    const sab = pool[i];
    pool.splice(i, 1);
    new Int32Array(sab).fill(0);
    return sab;
  }
  return new SharedArrayBuffer(bytes);
}

/*
 * Give back the kmem of a machine that no CPU runs any more (every worker halted or
 * terminated, the deterministic engine stopped).  Nothing may read it afterwards.
 */
export function kmem_sab_put(sab: SharedArrayBuffer): void {
  if (pool.includes(sab)) return;
  pool.push(sab);
  if (pool.length > POOL_MAX) pool.shift();
}
