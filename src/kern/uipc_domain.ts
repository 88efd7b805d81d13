/*
 * uipc_domain.ts: the domain list and protocol lookups (DragonFly 2008
 * kern/uipc_domain.c).  A domain registers itself with net_add_domain() when its module
 * loads, the way DragonFly's DOMAIN_SET linker set did at boot; every CPU's isolate
 * loads the same modules in the same order, so protocol indexes agree everywhere.
 */

import { panic } from '../../shared/panic.js';
import type { Domain, Protosw } from '../sys/protosw.js';
import { ktrace_step } from './kern_ktrace.js';

let domains: Domain | null = null;

/* The protocol switch table: so_proto indexes it (1-based; 0 is no protocol). */
const protosw_table: Protosw[] = [];

/* Link a domain in and number its protocols. */
export function net_add_domain(dp: Domain): void {
  for (let d = domains; d !== null; d = d.dom_next) {
    if (!(d.dom_family !== dp.dom_family)) panic(`net_add_domain: family ${dp.dom_family} registered twice`);
  }
  for (const pr of dp.dom_protosw) {
    pr.pr_domain = dp;
    protosw_table.push(pr);
    pr.pr_index = protosw_table.length;
  }
  dp.dom_next = domains;
  domains = dp;
  if (dp.dom_init !== null) dp.dom_init();
}

/* The first protocol of the family with this socket type, or null. */
export function pffindtype(family: number, type: number): Protosw | null {
  ktrace_step('pffindtype', family, type);
  for (let dp = domains; dp !== null; dp = dp.dom_next) {
    if (dp.dom_family !== family) continue;
    for (const pr of dp.dom_protosw) if (pr.pr_type !== 0 && pr.pr_type === type) return pr;
    return null;
  }
  return null;
}

/*
 * The protocol of the family with this protocol number and type, or null.  A raw
 * protocol (pr_type SOCK_RAW, protocol 0) matches any protocol number of a raw socket,
 * as in BSD.
 */
export function pffindproto(family: number, protocol: number, type: number): Protosw | null {
  ktrace_step('pffindproto', family, protocol, type);
  if (family === 0) return null;
  let maybe: Protosw | null = null;
  for (let dp = domains; dp !== null; dp = dp.dom_next) {
    if (dp.dom_family !== family) continue;
    for (const pr of dp.dom_protosw) {
      if (pr.pr_protocol === protocol && pr.pr_type === type) return pr;
      if (type === 3 /* SOCK_RAW */ && pr.pr_type === 3 && pr.pr_protocol === 0 && maybe === null) maybe = pr;
    }
    return maybe;
  }
  return null;
}

export function pffinddomain(family: number): Domain | null {
  for (let dp = domains; dp !== null; dp = dp.dom_next) if (dp.dom_family === family) return dp;
  return null;
}

/* The protosw a socket's so_proto names. */
export function protosw_of(index: number): Protosw {
  const pr = protosw_table[index - 1];
  if (!(pr !== undefined)) panic(`protosw_of: no protocol ${index}`);
  return pr;
}
