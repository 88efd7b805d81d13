/*
 * det_rng.ts: the only randomness the deterministic engine has.  xoshiro128** seeded
 * through splitmix32, so every seed (0 included) gives a well-mixed state.
 */

export class DetRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
  }

  next_u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /* Uniform in [0, n). */
  below(n: number): number { return Math.floor((this.next_u32() / 4294967296) * n); }
}

function rotl(x: number, k: number): number { return (x << k) | (x >>> (32 - k)); }
