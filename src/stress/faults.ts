/*
 * faults.ts: the fault sites and rates a seed runs with: none, the ones asked for, or
 * the swarm's draw for the seed (a random subset at random rates, as VOPR randomises
 * each seed's configuration; src/stress/swarm.ts).
 */

import type { FaultSpec } from './settings.js';
import { swarm_faults } from './swarm.js';

export function resolve_faults(spec: FaultSpec, seed: number): Record<string, number> {
  if (spec === 'none') return {};
  if (spec === 'swarm') return swarm_faults(seed);
  return { ...spec };
}
