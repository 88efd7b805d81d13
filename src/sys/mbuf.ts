/*
 * sys/mbuf.ts: struct mbuf, struct mbcluster and the mbuf macros, as kmem layouts and
 * plain functions on offsets.
 * Mirrors DragonFly sys/sys/mbuf.h (2008) with its i386 sizes: MSIZE 256, MLEN 180,
 * MHLEN 136, MINCLSIZE 137, MCLBYTES 2048 (dragonfly.md section 6).
 * Differs where kmem forces it: pointers are kmem word indexes, but m_data and ext_buf are
 * kmem BYTE addresses (indexes into ku8), because data need not start on a word; and a
 * cluster's reference count sits in the cluster's own zone item (struct mbcluster, as
 * DragonFly's mbcluster objcache object holds mcl_refs beside mcl_data).
 *
 * An mbuf is one MSIZE zone item:
 *
 *   byte   0  struct m_hdr      m_next .. m_type, then mh_netmsg (76 bytes on i386)
 *   byte  76  m_dat[MLEN]       data of a plain mbuf                  (180 bytes)
 *   byte  76  struct pkthdr     with M_PKTHDR                         (44 bytes)
 *   byte 120  m_pktdat[MHLEN]   data of a packet-header mbuf          (136 bytes)
 *   byte 120  struct m_ext      with M_EXT (the data is in a cluster)
 *   byte 256  end
 *
 * As in C, m_ext always sits after the pkthdr (m_ext is M_dat.MH.MH_dat.MH_ext), so a
 * plain mbuf with M_EXT leaves its pkthdr words unused.
 */

import { k32 } from '../../shared/kmem.js';
import { layout, flag_names, type Ptr } from '../../shared/struct.js';
import { KASSERT } from '../../shared/panic.js';

/* ---- sizes (sys/param.h, sys/mbuf.h; i386) ---- */

export const MSIZE = 256;                 // bytes per mbuf (HEAD: 512)
export const MCLSHIFT = 11;
export const MCLBYTES = 1 << MCLSHIFT;    // bytes of data per cluster: 2048

/* struct mbuf as words.  Fields of a union member are valid only with its flag. */
export const MB = layout('mbuf', {
  // struct m_hdr
  m_next: 1,              // next mbuf of this record (the chain)
  m_nextpkt: 1,           // first mbuf of the next record (the queue)
  m_data: 1,              // kmem byte address of the first data byte (mtod)
  m_len: 1,               // bytes of data in this mbuf
  m_flags: 1,             // M_*
  m_type: 1,              // MT_* (a short, with mh_pad)
  m_netmsg: 13,           // struct netmsg_packet mh_netmsg: 52 bytes, unused by AF_LOCAL
  // struct pkthdr (M_PKTHDR); only len is used here, the rest keeps i386's 44 bytes
  m_pkthdr_rcvif: 1,      // receiving interface
  m_pkthdr_len: 1,        // bytes in the whole packet (the record's data mbufs)
  m_pkthdr_tags: 1,       // packet tag list
  m_pkthdr_header: 1,     // protocol header, for reassembly
  m_pkthdr_csum_flags: 1,
  m_pkthdr_csum_data: 1,
  m_pkthdr_fw_flags: 1,
  m_pkthdr_pf: 1,         // pf_tag, pf_routed, ecn_af
  m_pkthdr_altq_qid: 1,
  m_pkthdr_altq_hash: 1,
  m_pkthdr_vlan_hash: 1,  // ether_vlantag, hash
  // struct m_ext (M_EXT).  Only clusters are external storage here, so C's ext_free and
  // ext_ref function pointers are implied (m_mclfree, m_mclref) and not stored.
  m_ext_buf: 1,           // kmem byte address of the cluster's data
  m_ext_size: 1,          // bytes of external storage: MCLBYTES
  m_ext_arg: 1,           // the struct mbcluster (cluster zone item) holding mcl_refs
});

export const M_DAT_OFF = MB.m_pkthdr_rcvif * 4;     // byte offset of m_dat in an mbuf: 76
export const M_PKTDAT_OFF = MB.m_ext_buf * 4;       // byte offset of m_pktdat: 120
export const MLEN = MSIZE - M_DAT_OFF;              // data bytes of a plain mbuf: 180
export const MHLEN = MSIZE - M_PKTDAT_OFF;          // data bytes of a packet-header mbuf: 136
export const MINCLSIZE = MHLEN + 1;                 // smallest length m_getl puts in a cluster: 137
export const M_MAXCOMPRESS = MHLEN / 2;             // largest data worth copying to compress: 68
export const M_COPYALL = 1000000000;                // m_copym length: to the end of the chain
export const PKTHDR_WORDS = MB.m_ext_buf - MB.m_pkthdr_rcvif;  // 11 words, 44 bytes

/*
 * struct mbcluster: a cluster zone item.  DragonFly 2008 keeps the reference count in an
 * mbcluster object beside its data; here both share one zone item, the count first.
 * mcl_refs changes only by Atomics: copies of one cluster may be freed on several CPUs.
 */
export const CL = layout('mbcluster', {
  mcl_refs: 1,            // mbufs referring to this cluster (m_copym shares, m_free drops)
  mcl_data: 1,            // kmem byte address of mcl_buf (never ZFREE_MAGIC: a multiple of 4)
  mcl_buf: MCLBYTES / 4,  // the data
});

/* The zone sizes in src/machine/kmem_boot.ts must be these (checked at attach). */
export const MBUF_ZONE_WORDS = MSIZE / 4;
export const CLUSTER_ZONE_WORDS = CL.SIZE;

if (MLEN !== 180 || MHLEN !== 136 || PKTHDR_WORDS !== 11 || MB.m_ext_arg >= MSIZE / 4) {
  throw new Error('sys/mbuf.ts: struct mbuf is out of step with DragonFly i386 sizes');
}

/* ---- m_flags ---- */

export const M_EXT = 0x0001;        // data is in a cluster (m_ext valid)
export const M_PKTHDR = 0x0002;     // first mbuf of a packet: m_pkthdr valid
export const M_EOR = 0x0004;        // end of record
export const M_PROTO1 = 0x0008;     // protocol-specific
export const M_PROTO2 = 0x0010;
export const M_PROTO3 = 0x0020;
export const M_PROTO4 = 0x0040;
export const M_PROTO5 = 0x0080;
export const M_BCAST = 0x0100;      // sent/received as link-level broadcast
export const M_MCAST = 0x0200;      // sent/received as link-level multicast
export const M_FRAG = 0x0400;       // a fragment of a larger packet
/* Flags m_dup_pkthdr copies to the new packet header. */
export const M_COPYFLAGS = M_PKTHDR | M_EOR | M_PROTO1 | M_PROTO2 | M_PROTO3 | M_PROTO4 | M_PROTO5 |
  M_BCAST | M_MCAST | M_FRAG;
export const M_NAMES = flag_names({ M_EXT, M_PKTHDR, M_EOR, M_PROTO1, M_PROTO2, M_PROTO3, M_PROTO4, M_PROTO5,
  M_BCAST, M_MCAST, M_FRAG });

/* ---- m_type ---- */

export const MT_FREE = 0;           // on a free list (a zone item reads 0 here once freed)
export const MT_DATA = 1;           // dynamic data
export const MT_HEADER = 2;         // packet header
export const MT_SONAME = 3;         // socket name (the sender's address of a datagram)
/* 4 was MT_TAG. */
export const MT_CONTROL = 5;        // ancillary data: cmsghdrs (SCM_RIGHTS, SCM_CREDS, ...)
export const MT_OOBDATA = 6;        // expedited data
/*
 * Not a DragonFly type.  4.4BSD and FreeBSD 2.x headers kept MT_RIGHTS (12) from 4.3BSD's
 * msg_accrights; DragonFly and FreeBSD 4 pass rights as SCM_RIGHTS inside MT_CONTROL.
 * Kept only so a "classic" mode can name the old value; no DragonFly path uses it.
 */
export const MT_RIGHTS = 12;
export const MT_NTYPES = 7;
export const MT_NAMES: readonly string[] = ['MT_FREE', 'MT_DATA', 'MT_HEADER', 'MT_SONAME', 'MT_TAG', 'MT_CONTROL',
  'MT_OOBDATA'];

/* ---- allocation flags ---- */

export const MB_DONTWAIT = 0x4;     // return NULL when no mbuf or cluster is free
export const MB_WAIT = 0x8;         // sleep until one is: the *_wait allocators (Blocking)
export const MB_TRYWAIT = MB_WAIT;

/* ---- the macros (plain functions on offsets) ---- */

/* mtod: the kmem byte address of m's data. */
export function mtod(m: Ptr): number { return k32[m + MB.m_data]; }

/* Address of m_dat / m_pktdat of mbuf m, in kmem bytes. */
export function m_dat(m: Ptr): number { return (m << 2) + M_DAT_OFF; }
export function m_pktdat(m: Ptr): number { return (m << 2) + M_PKTDAT_OFF; }

/*
 * m_sharecount: how many mbufs refer to m's data: the cluster's reference count, or 1.
 * A plain read: the count can rise only through an mbuf that refers to the cluster, and
 * whoever calls this holds one, so a 1 it reads cannot be stale.
 */
export function m_sharecount(m: Ptr): number {
  return (k32[m + MB.m_flags] & M_EXT) !== 0 ? k32[k32[m + MB.m_ext_arg] + CL.mcl_refs] : 1;
}

/* M_EXT_WRITABLE / M_WRITABLE: no other mbuf shares the data. */
export function M_WRITABLE(m: Ptr): boolean {
  return (k32[m + MB.m_flags] & M_EXT) === 0 || k32[k32[m + MB.m_ext_arg] + CL.mcl_refs] === 1;
}

/* M_LEADINGSPACE: bytes free before the data (0 in a shared cluster). */
export function M_LEADINGSPACE(m: Ptr): number {
  const flags = k32[m + MB.m_flags];
  const data = k32[m + MB.m_data];
  if ((flags & M_EXT) !== 0) return M_WRITABLE(m) ? data - k32[m + MB.m_ext_buf] : 0;
  return data - ((flags & M_PKTHDR) !== 0 ? m_pktdat(m) : m_dat(m));
}

/* M_TRAILINGSPACE: bytes free after the data (0 in a shared cluster). */
export function M_TRAILINGSPACE(m: Ptr): number {
  const end = k32[m + MB.m_data] + k32[m + MB.m_len];
  if ((k32[m + MB.m_flags] & M_EXT) !== 0) {
    return M_WRITABLE(m) ? k32[m + MB.m_ext_buf] + k32[m + MB.m_ext_size] - end : 0;
  }
  return (m << 2) + MSIZE - end;
}

/*
 * M_ALIGN: place an object of len bytes at the end of a fresh plain mbuf, longword (4 byte)
 * aligned.  MH_ALIGN: the same for a fresh packet-header mbuf.
 */
export function M_ALIGN(m: Ptr, len: number): void {
  KASSERT((k32[m + MB.m_flags] & (M_PKTHDR | M_EXT)) === 0, 'M_ALIGN: not a plain mbuf');
  KASSERT(k32[m + MB.m_data] === m_dat(m) && k32[m + MB.m_len] === 0, 'M_ALIGN: mbuf not fresh');
  KASSERT(len >= 0 && len <= MLEN, 'M_ALIGN: len out of range');
  k32[m + MB.m_data] += (MLEN - len) & ~3;
}

export function MH_ALIGN(m: Ptr, len: number): void {
  KASSERT((k32[m + MB.m_flags] & (M_PKTHDR | M_EXT)) === M_PKTHDR, 'MH_ALIGN: not a packet-header mbuf');
  KASSERT(k32[m + MB.m_data] === m_pktdat(m) && k32[m + MB.m_len] === 0, 'MH_ALIGN: mbuf not fresh');
  KASSERT(len >= 0 && len <= MHLEN, 'MH_ALIGN: len out of range');
  k32[m + MB.m_data] += (MHLEN - len) & ~3;
}
