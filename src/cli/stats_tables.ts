/*
 * stats_tables.ts: the report tables built from machine.stats(): per-CPU rates over a
 * run (from two snapshots), lock classes and zones.
 */

import type { MachineStats } from '../machine/machine.js';
import type { LockClassStats } from '../../shared/lockstat.js';
import type { ZoneStats } from '../../shared/zone.js';
import { formatTable } from './table.js';
import { fmtCount, fmtNs, fmtPct, fmtRate } from './format.js';

export interface CpuTableOptions {
  peakThreads?: number[];     // threads per CPU at the busiest sample (default: the last snapshot)
}

/*
 * Per-CPU rates between two snapshots; elapsed is after.uptimeNs - before.uptimeNs.
 * Messages sent are puts to ports (replies are not puts); received, taken off a port.
 */
export function cpuTable(before: MachineStats, after: MachineStats, o: CpuTableOptions): string {
  const secs = (after.uptimeNs - before.uptimeNs) / 1e9;
  const rows = after.cpus.map((c, i) => {
    const b = before.cpus[i];
    const rate = (x: number, y: number): string => fmtRate((x - y) / secs);
    const idle = fmtPct((c.idleNs - b.idleNs) / (secs * 1e9));
    return [String(c.cpu), String(o.peakThreads?.[i] ?? c.threads), rate(c.switches, b.switches),
      rate(c.ipisSent, b.ipisSent), rate(c.ipisReceived, b.ipisReceived), rate(c.msgsSent, b.msgsSent),
      rate(c.msgsReceived, b.msgsReceived), idle];
  });
  return formatTable([{ header: 'cpu' }, { header: 'threads' }, { header: 'switches/s' }, { header: 'IPIs sent/s' },
    { header: 'IPIs recv/s' }, { header: 'msgs sent/s' }, { header: 'msgs recv/s' }, { header: 'idle' }], rows);
}

/* Lock classes with any acquisitions, busiest first.  Hold times are over the sampled acquisitions. */
export function lockTable(locks: LockClassStats[]): string {
  const used = locks.filter((l) => l.acquisitions > 0).sort((a, b) => b.acquisitions - a.acquisitions);
  const rows = used.map((l) => [l.name, fmtCount(l.acquisitions), fmtCount(l.contended), fmtPct(l.contended / l.acquisitions),
    fmtCount(l.spins), fmtNs(l.waitTotalNs), fmtNs(l.waitMaxNs),
    l.holdSamples > 0 ? fmtNs(l.holdTotalNs / l.holdSamples) : '-', l.holdSamples > 0 ? fmtNs(l.holdMaxNs) : '-',
    fmtCount(l.holdSamples)]);
  return formatTable([{ header: 'class', align: 'left' }, { header: 'acquisitions' }, { header: 'contended' },
    { header: 'contended %' }, { header: 'spins' }, { header: 'wait total' }, { header: 'wait max' },
    { header: 'hold avg' }, { header: 'hold max' }, { header: 'hold samples' }], rows);
}

/* Zones that were used at all. */
export function zoneTable(zones: ZoneStats[]): string {
  const used = zones.filter((z) => z.allocs > 0 || z.used > 0 || z.hiwat > 0 || z.failures > 0);
  const rows = used.map((z) => [z.name, fmtCount(z.itemBytes), fmtCount(z.used), fmtCount(z.hiwat), fmtCount(z.limit),
    fmtCount(z.failures)]);
  return formatTable([{ header: 'zone', align: 'left' }, { header: 'item bytes' }, { header: 'used' }, { header: 'hiwat' },
    { header: 'limit' }, { header: 'failures' }], rows);
}

/* The per-CPU, lock-class and zone tables of a run, as the demo and `run` print them. */
export function machineTables(say: (s?: string) => void, before: MachineStats, after: MachineStats, virtual: boolean,
    peak: number[]): void {
  say(`per CPU (rates ${virtual ? 'per virtual second' : 'per second'}; threads: the most seen at once)`);
  say(cpuTable(before, after, { peakThreads: peak }));
  say();
  say('lock classes (hold times over the sampled acquisitions)');
  say(lockTable(after.locks));
  say();
  say('zones');
  say(zoneTable(after.zones));
}
