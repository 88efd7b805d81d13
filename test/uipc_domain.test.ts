/*
 * uipc_domain: registration numbers protocols in order; pffindtype and pffindproto find
 * them as BSD does (by type; by protocol and type; an unknown family or type finds none).
 */
import { describe, it, expect } from 'vitest';
import { net_add_domain, pffindproto, pffindtype, pffinddomain, protosw_of } from '../src/kern/uipc_domain.js';
import type { Domain, Protosw, PrUsrreqs } from '../src/sys/protosw.js';
import { PR_ATOMIC, PR_ADDR, PR_CONNREQUIRED } from '../src/sys/protosw.js';
import { SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET, SOCK_RAW } from '../src/sys/socket.js';

const noreq = {} as PrUsrreqs;
function proto(type: number, protocol: number, flags: number): Protosw {
  return { pr_type: type, pr_domain: null as unknown as Domain, pr_protocol: protocol, pr_flags: flags,
    pr_ctloutput: null, pr_mport: null, pr_usrreqs: noreq, pr_index: 0 };
}

describe('uipc_domain', () => {
  const stream = proto(SOCK_STREAM, 0, PR_CONNREQUIRED);
  const dgram = proto(SOCK_DGRAM, 0, PR_ATOMIC | PR_ADDR);
  const seq = proto(SOCK_SEQPACKET, 0, PR_CONNREQUIRED | PR_ATOMIC);
  let inits = 0;
  const dom: Domain = { dom_family: 99, dom_name: 'test', dom_init: () => { inits++; }, dom_externalize: null,
    dom_dispose: null, dom_protosw: [stream, dgram, seq], dom_next: null };
  net_add_domain(dom);

  it('numbers protocols in registration order and links them to their domain', () => {
    expect([stream.pr_index, dgram.pr_index, seq.pr_index]).toEqual([1, 2, 3]);
    expect(protosw_of(2)).toBe(dgram);
    expect(dgram.pr_domain).toBe(dom);
    expect(inits).toBe(1);
    expect(pffinddomain(99)).toBe(dom);
  });

  it('pffindtype and pffindproto', () => {
    expect(pffindtype(99, SOCK_DGRAM)).toBe(dgram);
    expect(pffindtype(99, SOCK_SEQPACKET)).toBe(seq);
    expect(pffindtype(99, SOCK_RAW)).toBeNull();
    expect(pffindtype(98, SOCK_STREAM)).toBeNull();
    expect(pffindproto(99, 0, SOCK_STREAM)).toBe(stream);
    expect(pffindproto(99, 7, SOCK_STREAM)).toBeNull();
    expect(pffindproto(0, 0, SOCK_STREAM)).toBeNull();
  });

  it('a family registered twice panics', () => {
    expect(() => net_add_domain({ ...dom, dom_protosw: [], dom_next: null })).toThrow(/registered twice/);
  });
});
