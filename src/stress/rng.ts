/*
 * rng.ts: the stress workloads' only source of randomness.  A splitmix32 generator:
 * small, fast, and the same sequence in every isolate (hosts plan with it, programs draw
 * their write sizes and flags from it), so a run is a function of its seed.  Never
 * Math.random.
 */

/* A 32-bit finaliser (murmur3's fmix32): spreads every input bit over the output. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/* A seed made of several parts (numbers, or strings such as a workload's name). */
export function seedOf(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    if (typeof p === 'number') {
      h = mix32(h ^ (p >>> 0));
      h = mix32(h ^ Math.floor(p / 0x100000000));
    } else {
      for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
      h = mix32(h);
    }
  }
  return h >>> 0;
}

export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /* The next 32-bit value (splitmix32). */
  next(): number {
    this.s = (this.s + 0x9e3779b9) | 0;
    return mix32(this.s);
  }

  /* An integer in 0..n-1 (0 when n <= 1). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 0x100000000) * n);
  }

  /* An integer in lo..hi, both included. */
  range(lo: number, hi: number): number {
    return hi <= lo ? lo : lo + this.below(hi - lo + 1);
  }

  /* true with probability p. */
  chance(p: number): boolean {
    return this.next() < p * 0x100000000;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }

  /* A seed for something else (a process, a direction of a stream) drawn from this one. */
  seed(): number {
    return this.next();
  }

  /* The Fisher-Yates shuffle of a copy of a. */
  shuffle<T>(a: readonly T[]): T[] {
    const out = a.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
