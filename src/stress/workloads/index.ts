/*
 * The stress workloads, by name.  Each is a Workload (../workload.ts): a seeded plan of
 * simulated processes and a check of what they returned.  run_workloads.ts runs any
 * selection of them side by side on one machine.
 */

import type { Workload } from '../workload.js';
import { stream } from './stream.js';
import { dgram, seqpacket } from './records.js';
import { accept } from './accept.js';
import { shutdown } from './shutdown.js';
import { rights } from './rights.js';
import { signals } from './signals.js';
import { sockbuf } from './sockbuf.js';
import { readiness } from './readiness.js';

export const WORKLOADS: Record<string, Workload> = {
  stream,
  dgram,
  seqpacket,
  accept,
  shutdown,
  rights,
  signals,
  sockbuf,
  readiness,
};

export { stream, dgram, seqpacket, accept, shutdown, rights, signals, sockbuf, readiness };
