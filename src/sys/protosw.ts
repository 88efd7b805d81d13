/*
 * sys/protosw.ts and sys/domain.h: the protocol switch and the domain (DragonFly 2008).
 *
 * Like C's statically initialised tables these are ordinary objects, built identically in
 * every CPU's isolate when the protocol modules load; a socket names its protocol by the
 * protosw's index (so_proto), which is the same everywhere because registration order is.
 */

import type { Ptr } from '../../shared/struct.js';
import type { Blocking } from '../../shared/effect.js';

/* pr_flags */
export const PR_ATOMIC = 0x01;       // exchange atomic messages only
export const PR_ADDR = 0x02;         // addresses given with messages
export const PR_CONNREQUIRED = 0x04; // connection required by protocol
export const PR_WANTRCVD = 0x08;     // want PRU_RCVD calls
export const PR_RIGHTS = 0x10;       // passes capabilities
export const PR_IMPLOPCL = 0x20;     // implied open/close
export const PR_MPSAFE = 0x100;

/* PRU_* request codes (the 4.4BSD pru_usrreq switch; FreeBSD 2.1 walkthrough). */
export const PRU_ATTACH = 0;
export const PRU_DETACH = 1;
export const PRU_BIND = 2;
export const PRU_LISTEN = 3;
export const PRU_CONNECT = 4;
export const PRU_ACCEPT = 5;
export const PRU_DISCONNECT = 6;
export const PRU_SHUTDOWN = 7;
export const PRU_RCVD = 8;
export const PRU_SEND = 9;
export const PRU_ABORT = 10;
export const PRU_CONTROL = 11;
export const PRU_SENSE = 12;
export const PRU_RCVOOB = 13;
export const PRU_SENDOOB = 14;
export const PRU_SOCKADDR = 15;
export const PRU_PEERADDR = 16;
export const PRU_CONNECT2 = 17;
export const PRU_NREQ = 18;
export const PRU_NAMES = ['ATTACH', 'DETACH', 'BIND', 'LISTEN', 'CONNECT', 'ACCEPT', 'DISCONNECT', 'SHUTDOWN', 'RCVD',
  'SEND', 'ABORT', 'CONTROL', 'SENSE', 'RCVOOB', 'SENDOOB', 'SOCKADDR', 'PEERADDR', 'CONNECT2'];

/* pru_send flags (PRUS_*). */
export const PRUS_OOB = 0x1;
export const PRUS_EOF = 0x2;
export const PRUS_MORETOCOME = 0x4;

/*
 * struct pr_usrreqs: the user-request table.  Each returns an errno (0 on success).
 * Addresses are byte ranges in kmem (a struct sockaddr), `nam` its byte offset and
 * the sockaddr carries its own length; mbuf chains are kmem pointers.
 */
export interface PrUsrreqs {
  pru_abort(so: Ptr): number;
  pru_accept(so: Ptr, nam: Ptr): number;
  pru_attach(so: Ptr, proto: number, ai: Ptr): number;
  pru_bind(so: Ptr, nam: Ptr, td: Ptr): number;
  pru_connect(so: Ptr, nam: Ptr, td: Ptr): number;
  pru_connect2(so1: Ptr, so2: Ptr): number;
  pru_control(so: Ptr, cmd: number, data: Ptr, ifp: Ptr, td: Ptr): number;
  pru_detach(so: Ptr): number;
  pru_disconnect(so: Ptr): number;
  pru_listen(so: Ptr, td: Ptr): number;
  pru_peeraddr(so: Ptr, nam: Ptr): number;
  pru_rcvd(so: Ptr, flags: number): number;
  pru_rcvoob(so: Ptr, m: Ptr, flags: number): number;
  pru_send(so: Ptr, flags: number, m: Ptr, addr: Ptr, control: Ptr, td: Ptr): number;
  pru_sense(so: Ptr, sb: Ptr): number;
  pru_shutdown(so: Ptr): number;
  pru_sockaddr(so: Ptr, nam: Ptr): number;
  /* sosend/soreceive run in the calling thread and may block. */
  pru_sosend?(...args: number[]): Blocking<number>;
  pru_soreceive?(...args: number[]): Blocking<number>;
}

/* pr_mport: which port serves a request for this socket (the dispatch model's seam). */
export type PrMport = (so: Ptr, nam: Ptr, req: number) => Ptr;

export interface Protosw {
  pr_type: number;            // SOCK_*
  pr_domain: Domain;
  pr_protocol: number;
  pr_flags: number;           // PR_*
  pr_ctloutput: ((so: Ptr, sopt: Ptr) => number) | null;
  pr_mport: PrMport | null;
  pr_usrreqs: PrUsrreqs;
  pr_index: number;           // here: index in the protocol switch table (so_proto), from 1
  /* here: a token the netisr model's threads hold around each of the protocol's requests
   * (HEAD's unp_token), for protocols whose requests reach other sockets' pcbs. */
  pr_token?: (() => Ptr) | null;
}

export interface Domain {
  dom_family: number;         // AF_*
  dom_name: string;
  dom_init: (() => void) | null;
  dom_externalize: ((m: Ptr) => number) | null;
  dom_dispose: ((m: Ptr, wait: boolean) => Blocking<void>) | null;   // wait: may sleep in closef
  dom_protosw: Protosw[];
  dom_next: Domain | null;
}
