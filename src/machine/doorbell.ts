/* doorbell.ts: wake every CPU of the attached machine (halt, panic). */

import { k32, H_NCPUS } from '../../shared/kmem.js';
import { cpu_kick } from '../lwkt/lwkt_ipiq.js';

export function doorbell_all(): void {
  const n = k32[H_NCPUS];
  for (let c = 0; c < n; c++) cpu_kick(c);
}
