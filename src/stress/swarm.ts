/* swarm.ts: placeholder until kern_fail's swarm draw lands: no faults. */
export function swarm_faults(_seed: number): Record<string, number> { return {}; }
