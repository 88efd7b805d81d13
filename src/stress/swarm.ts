/*
 * swarm.ts: swarm testing of the fault sites (Groce et al., "Swarm Testing", ISSTA 2012;
 * TigerBeetle's VOPR): each seed arms a random subset of the kernel's fault sites at
 * random rates, so that across seeds some runs hammer one site and leave the rest quiet,
 * which finds bugs a uniform mix hides.  Deterministic in the seed; host side only.
 *
 *   const faults = swarm_faults(seed);        // { mbuf: 0.021, spurious_wakeup: 0.004 }
 *   const m = await boot({ engine: 'deterministic', seed, faults });
 *   console.log(format_faults(faults));       // faults: mbuf=2.1% spurious_wakeup=0.4%
 *
 * `kill` is left out unless asked for: a workload must expect its processes to die.
 */

import { DetRng } from '../machine/det_rng.js';
import { FAULT_SITES } from '../kern/kern_fail.js';

/* Each site's range of rates, drawn log-uniformly: rare failures and frequent hiccups. */
const RANGES: Record<string, [number, number]> = {
  mbuf: [0.001, 0.05],
  cluster: [0.001, 0.05],
  zone: [0.001, 0.02],
  ipi_delay: [0.01, 0.3],
  spurious_wakeup: [0.005, 0.1],
  yield: [0.01, 0.2],
  signal: [0.001, 0.05],
  kill: [0.0001, 0.005],
};
for (const s of FAULT_SITES) if (RANGES[s] === undefined) throw new Error(`swarm: no rate range for fault site ${s}`);

export interface SwarmOptions {
  kill?: boolean;        // may the kill site be drawn (default false)
  sites?: readonly string[]; // draw from these sites only (default every site)
}

/*
 * The fault sites and rates for this seed: each eligible site armed with probability
 * 1/2, at a rate drawn log-uniformly from its range, rounded to 3 significant digits.
 * The same seed always gives the same result.
 */
export function swarm_faults(seed: number, opts: SwarmOptions = {}): Record<string, number> {
  if (!Number.isInteger(seed)) throw new RangeError('swarm_faults: seed must be an integer');
  const sites = opts.sites ?? FAULT_SITES;
  for (const s of sites) {
    if (!FAULT_SITES.includes(s)) throw new RangeError(`swarm_faults: unknown fault site '${s}' (valid: ${FAULT_SITES.join(', ')})`);
  }
  // Mixed so that seed n and seed n+1 give unrelated draws (the machine's PRNG has the seed too).
  const rng = new DetRng((Math.imul(seed ^ 0x73776172, 0x9e3779b1) ^ (seed >>> 16)) >>> 0);
  const out: Record<string, number> = {};
  for (const site of FAULT_SITES) {
    // Every site takes its two draws, eligible or not: one site's eligibility leaves the others' rates alone.
    const on = rng.next_u32() < 0x80000000;
    const u = rng.next_u32() / 4294967296;
    if (!on || !sites.includes(site) || (site === 'kill' && opts.kill !== true)) continue;
    const [lo, hi] = RANGES[site];
    out[site] = Number((lo * Math.pow(hi / lo, u)).toPrecision(3));
  }
  return out;
}

/* One line naming the armed sites and their rates: "faults: mbuf=2.1% spurious_wakeup=0.4%" ("faults: none"). */
export function format_faults(faults: Record<string, number>): string {
  const parts = Object.entries(faults).filter(([, r]) => r > 0).map(([s, r]) => `${s}=${pct(r)}`);
  return `faults: ${parts.length === 0 ? 'none' : parts.join(' ')}`;
}

function pct(r: number): string {
  const p = r * 100;
  return `${p >= 10 ? Math.round(p) : Number(p.toPrecision(2))}%`;
}
