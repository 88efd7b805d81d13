/*
 * Kernel threads for the mbuf and sockbuf tests (test/uipc_sockbuf.test.ts).  Each builds
 * what it tests from zones, checks the queue with _sbcheck after every step
 * (SOCKBUF_DEBUG), frees everything and returns the numbers the test asserts.  The test
 * compares the mbuf and cluster zones' use before and after.
 */
import {
  k32, ku8, NULL, KASSERT, zalloc, zfree, zone_desc, ZD, Z_MBUF, Z_CLUSTER, Z_KMALLOC64, tsleep, lwkt_yield, type Blocking,
  type Ptr,
} from '../../src/kernel.js';
import { SSB, SSB_STOP } from '../../src/sys/socketvar.js';
import {
  MB, MLEN, MHLEN, MCLBYTES, M_EXT, M_PKTHDR, M_EOR, MT_DATA, MT_OOBDATA,
  MB_DONTWAIT, M_COPYALL, mtod, M_TRAILINGSPACE, M_LEADINGSPACE, M_WRITABLE, MH_ALIGN, M_ALIGN,
  m_sharecount,
} from '../../src/sys/mbuf.js';
import {
  m_get, m_gethdr, m_getcl, m_getl, m_mclget, m_free, m_freem, m_copym, m_copy, m_length, m_copydata,
  m_copyback, m_append, m_pullup, m_get_wait, m_getcl_wait, m_getl_wait,
} from '../../src/kern/uipc_mbuf.js';
import {
  sbappend, sbappendstream, sbappendrecord, sbappendaddr, sbappendcontrol, sbflush, sbdrop, sbdroprecord,
  sbunlinkmbuf, sbcreatecontrol, ssb_space, ssb_appendaddr, ssb_appendcontrol, _sbcheck, sockbuf_debug_set,
} from '../../src/kern/uipc_sockbuf.js';
import { await_word, publish } from './common.js';

/* ---- helpers ---- */

let seq = 0;                               // next byte of the test pattern
const pattern = new Uint8Array(8192);

/* A signalsockbuf of its own (zeroed), with limits. */
function ssb_new(hiwat: number, mbmax: number): Ptr {
  sockbuf_debug_set(true);
  KASSERT(SSB.SIZE <= 64, 'ssb_new: SSB larger than a kmalloc64 item');
  const ssb = zalloc(Z_KMALLOC64);
  KASSERT(ssb !== NULL, 'ssb_new: no memory');
  k32[ssb + SSB.ssb_hiwat] = hiwat;
  k32[ssb + SSB.ssb_mbmax] = mbmax;
  return ssb;
}

function ssb_done(ssb: Ptr): void {
  sbflush(ssb);
  zfree(Z_KMALLOC64, ssb);
}

/* An mbuf (chosen by m_getl, as sosend does) holding len bytes of the pattern. */
function mk(len: number, flags: number): Ptr {
  const m = m_getl(len, MB_DONTWAIT, MT_DATA, flags);
  KASSERT(m !== NULL, 'mk: no mbuf');
  fill(m, len);
  return m;
}

function fill(m: Ptr, len: number): void {
  for (let i = 0; i < len; i++) pattern[i] = (seq + i) & 0xff;
  seq += len;
  KASSERT(m_append(m, len, pattern, 0) === 1, 'fill: m_append failed');
}

/* Every data byte of the queue, records in order. */
function sb_bytes(ssb: Ptr): Uint8Array {
  const out = new Uint8Array(k32[ssb + SSB.ssb_cc]);
  let off = 0;
  for (let r = k32[ssb + SSB.ssb_mb]; r !== NULL; r = k32[r + MB.m_nextpkt]) {
    const len = m_length(r);
    m_copydata(r, 0, len, out, off);
    off += len;
  }
  return out;
}

/* Bytes b[i] == (first + i) & 0xff for all i: the pattern, unbroken. */
function is_pattern(b: Uint8Array, first: number): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== ((first + i) & 0xff)) return false;
  return true;
}

function records(ssb: Ptr): number {
  let n = 0;
  for (let r = k32[ssb + SSB.ssb_mb]; r !== NULL; r = k32[r + MB.m_nextpkt]) n++;
  return n;
}

function mbufs(ssb: Ptr): number {
  let n = 0;
  for (let r = k32[ssb + SSB.ssb_mb]; r !== NULL; r = k32[r + MB.m_nextpkt]) {
    for (let m = r; m !== NULL; m = k32[m + MB.m_next]) n++;
  }
  return n;
}

function counts(ssb: Ptr): number[] {
  _sbcheck(ssb);
  return [k32[ssb + SSB.ssb_cc], k32[ssb + SSB.ssb_mbcnt], records(ssb), mbufs(ssb)];
}

/* A struct sockaddr of len bytes (sa_len, sa_family AF_LOCAL, then 'a'...) in kmem. */
function sockaddr_new(len: number): [Ptr, number] {
  const p = zalloc(Z_KMALLOC64);      // 256 bytes: room for any sa_len
  KASSERT(p !== NULL, 'sockaddr_new: no memory');
  const asa = p << 2;
  ku8[asa] = len;
  ku8[asa + 1] = 1;
  for (let i = 2; i < len; i++) ku8[asa + i] = 0x61 + (i % 26);
  return [p, asa];
}

/* ---- mbufs ---- */

/* What each allocator gives: data room, flags, and the MH_ALIGN/M_ALIGN placement. */
export function* mbuf_sizes(): Blocking<Record<string, number>> {
  const r: Record<string, number> = {};
  const a = m_get(MB_DONTWAIT, MT_DATA);
  const h = m_gethdr(MB_DONTWAIT, MT_DATA);
  const c = m_getcl(MB_DONTWAIT, MT_DATA, M_PKTHDR);
  r.get_space = M_TRAILINGSPACE(a);
  r.get_lead = M_LEADINGSPACE(a);
  r.gethdr_space = M_TRAILINGSPACE(h);
  r.getcl_space = M_TRAILINGSPACE(c);
  r.getcl_flags = k32[c + MB.m_flags];
  r.getcl_refs = m_sharecount(c);
  m_freem(a); m_free(h); m_free(c);
  const l136 = m_getl(136, MB_DONTWAIT, MT_DATA, M_PKTHDR);
  const l137 = m_getl(137, MB_DONTWAIT, MT_DATA, M_PKTHDR);
  const l100 = m_getl(100, MB_DONTWAIT, MT_DATA, 0);
  const l180 = m_getl(180, MB_DONTWAIT, MT_DATA, 0);
  r.getl136 = M_TRAILINGSPACE(l136);
  r.getl137 = M_TRAILINGSPACE(l137);
  r.getl100 = M_TRAILINGSPACE(l100);
  r.getl180 = M_TRAILINGSPACE(l180);
  MH_ALIGN(l136, 10);
  r.mh_align_lead = M_LEADINGSPACE(l136);
  r.mh_align_trail = M_TRAILINGSPACE(l136);
  M_ALIGN(l100, 10);
  r.m_align_lead = M_LEADINGSPACE(l100);
  r.m_align_trail = M_TRAILINGSPACE(l100);
  for (const m of [l136, l137, l100, l180]) m_free(m);
  // MCLGET on a plain mbuf.
  const p = m_get(MB_DONTWAIT, MT_DATA);
  r.mclget = m_mclget(p, MB_DONTWAIT);
  r.mclget_space = M_TRAILINGSPACE(p);
  r.mclget_ext = k32[p + MB.m_flags] & M_EXT;
  // m_free returns m_next.
  const q = m_get(MB_DONTWAIT, MT_DATA);
  k32[p + MB.m_next] = q;
  r.free_returns_next = m_free(p) === q ? 1 : 0;
  m_free(q);
  return r;
}

/*
 * m_copym of a cluster shares it: refcount 2, the copy reads the same bytes, neither mbuf
 * is writable any more; the first free leaves the cluster, the second returns it.
 * Returns [refs after copy, copy's data offset from the original's, copy bytes ok,
 * writable before, writable after, trailing space after, refs after freeing the
 * original, clusters used delta after copy (from inside), pkthdr len of copy].
 */
export function* copym_share(): Blocking<number[]> {
  const m = mk(600, M_PKTHDR);
  const first = seq - 600;
  const w0 = M_WRITABLE(m) ? 1 : 0;
  const n = m_copym(m, 100, 300, MB_DONTWAIT);
  KASSERT(n !== NULL, 'copym_share: m_copym failed');
  const refs = m_sharecount(m);
  const same = k32[n + MB.m_ext_arg] === k32[m + MB.m_ext_arg] ? 1 : 0;
  const doff = mtod(n) - mtod(m);
  const out = new Uint8Array(300);
  m_copydata(n, 0, 300, out, 0);
  const ok = is_pattern(out, first + 100) ? 1 : 0;
  const w1 = (M_WRITABLE(m) ? 1 : 0) + (M_WRITABLE(n) ? 2 : 0);
  const trail = M_TRAILINGSPACE(m) + M_LEADINGSPACE(n);
  const hdr = k32[n + MB.m_flags] & M_PKTHDR;  // off 100: no header copied
  m_free(m);
  const refs_after = m_sharecount(n);
  const w2 = M_WRITABLE(n) ? 1 : 0;
  m_free(n);
  return [refs, same, doff, ok, w0, w1, trail, hdr, refs_after, w2];
}

/*
 * m_copym of a chain of small mbufs copies bytes, keeps the packet header with
 * M_COPYALL, and skips whole mbufs for the offset.  Returns
 * [len of full copy, its pkthdr len, its mbufs, bytes ok, len of offset copy, bytes ok,
 *  offset copy has header, m_copy len].
 */
export function* copym_chain(): Blocking<number[]> {
  const m = mk(50, M_PKTHDR);
  const first = seq - 50;
  k32[m + MB.m_next] = mk(60, 0);
  k32[k32[m + MB.m_next] + MB.m_next] = mk(70, 0);
  k32[m + MB.m_pkthdr_len] = 180;
  const full = m_copym(m, 0, M_COPYALL, MB_DONTWAIT);
  let nm = 0;
  for (let x = full; x !== NULL; x = k32[x + MB.m_next]) nm++;
  const b1 = new Uint8Array(180);
  m_copydata(full, 0, 180, b1, 0);
  const part = m_copym(m, 55, 100, MB_DONTWAIT);
  const b2 = new Uint8Array(100);
  m_copydata(part, 0, 100, b2, 0);
  const c = m_copy(m, 0, 10);
  const r = [m_length(full), k32[full + MB.m_pkthdr_len], nm, is_pattern(b1, first) ? 1 : 0, m_length(part),
    is_pattern(b2, first + 55) ? 1 : 0, k32[part + MB.m_flags] & M_PKTHDR, m_length(c), k32[c + MB.m_pkthdr_len]];
  m_freem(full); m_freem(part); m_freem(c); m_freem(m);
  return r;
}

/*
 * m_copydata with offsets across mbufs; m_copyback over and past the end (the chain
 * grows, the packet header length follows); m_pullup making a header contiguous.
 */
export function* copy_in_out(): Blocking<number[]> {
  const r: number[] = [];
  const m = mk(10, M_PKTHDR);
  const first = seq - 10;
  k32[m + MB.m_next] = mk(20, 0);
  k32[k32[m + MB.m_next] + MB.m_next] = mk(30, 0);
  k32[m + MB.m_pkthdr_len] = 60;
  const b = new Uint8Array(40);
  m_copydata(m, 15, 40, b, 0);
  r.push(is_pattern(b, first + 15) ? 1 : 0);
  // Overwrite bytes 5..24 with 0xee, across the first two mbufs.
  const ee = new Uint8Array(20).fill(0xee);
  m_copyback(m, 5, 20, ee, 0);
  const all = new Uint8Array(60);
  m_copydata(m, 0, 60, all, 0);
  r.push(is_pattern(all.subarray(0, 5), first) && all.subarray(5, 25).every((x) => x === 0xee) &&
    is_pattern(all.subarray(25), first + 25) ? 1 : 0);
  // Write 8 bytes at 100: the chain grows (zeros between), the header says 108.
  m_copyback(m, 100, 8, ee, 0);
  r.push(m_length(m), k32[m + MB.m_pkthdr_len]);
  const tail = new Uint8Array(48);
  m_copydata(m, 60, 48, tail, 0);
  r.push(tail.subarray(0, 40).every((x) => x === 0) && tail.subarray(40).every((x) => x === 0xee) ? 1 : 0);
  // m_pullup(25): the 10-byte first mbuf has room, so the bytes move into it.
  const before = new Uint8Array(108);
  m_copydata(m, 0, 108, before, 0);
  const p = m_pullup(m, 25);
  r.push(p === m ? 1 : 0, k32[p + MB.m_len], m_length(p));
  const after = new Uint8Array(108);
  m_copydata(p, 0, 108, after, 0);
  r.push(after.every((x, i) => x === before[i]) ? 1 : 0);
  // m_pullup past MHLEN fails and frees the chain.
  r.push(m_pullup(p, MHLEN + 1) === NULL ? 1 : 0);
  return r;
}

/* ---- sockbufs ---- */

/*
 * 100 one-byte writes, as sosend hands them to a stream sockbuf (each a fresh packet-header
 * mbuf from m_getl), coalesce into the first: cc 100, mbcnt one MSIZE.  sbappendstream the
 * same.  Returns [cc, mbcnt, records, mbufs, bytes ok] for each.
 */
export function* stream_coalesce(): Blocking<number[]> {
  const r: number[] = [];
  for (const stream of [false, true]) {
    const ssb = ssb_new(57344, 8 * 57344);
    const first = seq;
    for (let i = 0; i < 100; i++) {
      const m = mk(1, M_PKTHDR);
      if (stream) sbappendstream(ssb, m);
      else sbappend(ssb, m);
    }
    r.push(...counts(ssb), is_pattern(sb_bytes(ssb), first) ? 1 : 0);
    ssb_done(ssb);
  }
  return r;
}

/*
 * Coalescing limits, step by step.  After each append: [cc, mbcnt, records, mbufs].
 *   600 bytes: a cluster;  +1 byte: copied into it;  +513: too big to copy (a cluster);
 *   +512: copied into the second cluster;  +100 x 12: ten copied while they fit, then two
 *   mbufs of their own; finally the pattern of all bytes.
 */
export function* cluster_coalesce(): Blocking<number[]> {
  const r: number[] = [];
  const ssb = ssb_new(57344, 8 * 57344);
  const first = seq;
  sbappend(ssb, mk(600, M_PKTHDR)); r.push(...counts(ssb));
  sbappend(ssb, mk(1, M_PKTHDR)); r.push(...counts(ssb));
  sbappend(ssb, mk(513, M_PKTHDR)); r.push(...counts(ssb));
  sbappend(ssb, mk(512, M_PKTHDR)); r.push(...counts(ssb));
  for (let i = 0; i < 12; i++) sbappend(ssb, mk(100, M_PKTHDR));
  r.push(...counts(ssb));
  r.push(is_pattern(sb_bytes(ssb), first) ? 1 : 0);
  ssb_done(ssb);
  return r;
}

/*
 * A tail whose cluster is shared (a copy is held, as for retransmission) is not written:
 * the next small append gets an mbuf of its own.  Returns [cc, mbcnt, mbufs] before
 * and after, then the copy's bytes unchanged.
 */
export function* shared_tail(): Blocking<number[]> {
  const ssb = ssb_new(57344, 8 * 57344);
  const first = seq;
  sbappend(ssb, mk(600, M_PKTHDR));
  const copy = m_copym(k32[ssb + SSB.ssb_mb], 0, M_COPYALL, MB_DONTWAIT);
  const r = [k32[ssb + SSB.ssb_cc], k32[ssb + SSB.ssb_mbcnt], mbufs(ssb), m_sharecount(copy)];
  sbappend(ssb, mk(10, M_PKTHDR));
  r.push(...counts(ssb));
  const b = new Uint8Array(600);
  m_copydata(copy, 0, 600, b, 0);
  r.push(m_length(copy), is_pattern(b, first) ? 1 : 0, is_pattern(sb_bytes(ssb), first) ? 1 : 0);
  m_freem(copy);
  ssb_done(ssb);
  return r;
}

/*
 * sbappendaddr: a 16-byte address and 1 byte of data are one record of two mbufs,
 * cc 17, mbcnt 512.  With a 12-byte control mbuf: three mbufs, cc 29, mbcnt 768.  An
 * address of MLEN bytes fits; MLEN + 1 gives 0 and takes nothing.  Returns, per case,
 * [ret, cc, mbcnt, records, mbufs], then the first record's mbuf types and EOR layout.
 */
export function* appendaddr(): Blocking<number[]> {
  const r: number[] = [];
  const [sap, asa] = sockaddr_new(16);
  let ssb = ssb_new(4096, 32768);
  const d = mk(1, M_PKTHDR);
  k32[d + MB.m_flags] |= M_EOR;
  r.push(sbappendaddr(ssb, asa, d, NULL), ...counts(ssb));
  const rec = k32[ssb + SSB.ssb_mb];
  const name = new Uint8Array(16);
  m_copydata(rec, 0, 16, name, 0);
  r.push(k32[rec + MB.m_type], k32[rec + MB.m_len], name[0], name[1], name[15],
    k32[k32[rec + MB.m_next] + MB.m_type], k32[ssb + SSB.ssb_lastmbuf] === k32[rec + MB.m_next] ? 1 : 0,
    k32[k32[rec + MB.m_next] + MB.m_flags] & M_EOR);
  // A second datagram with control: its own record after the first.
  const ctl = sbcreatecontrol(null, 0, 2, 0xffff);
  r.push(k32[ctl + MB.m_len]);
  r.push(sbappendaddr(ssb, asa, mk(1, M_PKTHDR), ctl), ...counts(ssb));
  const rec2 = k32[k32[ssb + SSB.ssb_mb] + MB.m_nextpkt];
  r.push(rec2 === k32[ssb + SSB.ssb_lastrecord] ? 1 : 0, k32[k32[rec2 + MB.m_next] + MB.m_type]);
  ssb_done(ssb);
  // Address length limits.
  ssb = ssb_new(4096, 32768);
  const [bigp, big] = sockaddr_new(MLEN);
  const d2 = mk(1, M_PKTHDR);
  r.push(sbappendaddr(ssb, big, d2, NULL), ...counts(ssb));
  sbdroprecord(ssb);
  r.push(...counts(ssb));
  ku8[big] = MLEN + 1;
  const d3 = mk(1, M_PKTHDR);
  r.push(sbappendaddr(ssb, big, d3, NULL), ...counts(ssb));
  m_freem(d3);
  // No data at all: the record is the address alone.
  r.push(sbappendaddr(ssb, asa, NULL, NULL), ...counts(ssb));
  ssb_done(ssb);
  zfree(Z_KMALLOC64, sap);
  zfree(Z_KMALLOC64, bigp);
  return r;
}

/*
 * dragonfly.md 5.6: rcv hiwat 4096, mbmax 32768, 1-byte datagrams from an unbound sender
 * (16-byte address): 64 fit (mbcnt 64 * 512 = 32768), the 65th gets 0.  Then 2048-byte
 * datagrams: the first fits (cc 2064), the second too since space 2032 > 0 (cc 4128,
 * space -32), the third gets 0.  Returns [accepted small, cc, mbcnt, space, then for the
 * large: ret1, cc, mbcnt, space, ret2, cc, mbcnt, space, ret3].
 */
export function* dgram_65th(): Blocking<number[]> {
  const r: number[] = [];
  const [sap, asa] = sockaddr_new(16);
  let ssb = ssb_new(4096, 32768);
  let accepted = 0;
  for (let i = 0; i < 100; i++) {
    const m = mk(1, M_PKTHDR);
    if (ssb_appendaddr(ssb, asa, m, NULL) === 0) {
      m_freem(m);            // refused: still ours (uipc_send frees it and returns ENOBUFS)
      break;
    }
    accepted++;
  }
  r.push(accepted, k32[ssb + SSB.ssb_cc], k32[ssb + SSB.ssb_mbcnt], ssb_space(ssb));
  ssb_done(ssb);
  ssb = ssb_new(4096, 32768);
  for (let i = 0; i < 3; i++) {
    const m = mk(2048, M_PKTHDR);
    const ret = ssb_appendaddr(ssb, asa, m, NULL);
    r.push(ret);
    if (ret === 0) { m_freem(m); break; }
    r.push(k32[ssb + SSB.ssb_cc], k32[ssb + SSB.ssb_mbcnt], ssb_space(ssb));
  }
  ssb_done(ssb);
  zfree(Z_KMALLOC64, sap);
  return r;
}

/*
 * Records: sbappendrecord keeps each send apart (seqpacket); a two-mbuf record is
 * compressed into its first mbuf; a zero-length record is allowed; sbappend joins the
 * last record unless it ends with M_EOR.  Returns counts after each step and the
 * lastrecord / lastmbuf checks.
 */
export function* record_layout(): Blocking<number[]> {
  const r: number[] = [];
  const ssb = ssb_new(57344, 8 * 57344);
  sbappendrecord(ssb, mk(10, M_PKTHDR)); r.push(...counts(ssb));
  sbappendrecord(ssb, mk(20, M_PKTHDR)); r.push(...counts(ssb));
  const two = mk(30, M_PKTHDR);
  k32[two + MB.m_next] = mk(40, 0);
  sbappendrecord(ssb, two); r.push(...counts(ssb));         // 40 bytes copied into the 30
  r.push(k32[two + MB.m_len]);
  const empty = m_gethdr(MB_DONTWAIT, MT_DATA);
  sbappendrecord(ssb, empty); r.push(...counts(ssb));       // zero-length record
  r.push(k32[ssb + SSB.ssb_lastrecord] === empty ? 1 : 0, k32[ssb + SSB.ssb_lastmbuf] === empty ? 1 : 0);
  // sbappend onto a record without EOR: joins it (copied into the empty mbuf).
  sbappend(ssb, mk(5, M_PKTHDR)); r.push(...counts(ssb));
  // A record that ends with EOR: the next sbappend starts a record.
  const e = mk(7, M_PKTHDR);
  k32[e + MB.m_flags] |= M_EOR;
  sbappendrecord(ssb, e); r.push(...counts(ssb));
  sbappend(ssb, mk(8, M_PKTHDR)); r.push(...counts(ssb));
  // EOR on the first mbuf of a two-mbuf record moves to its last.
  const f = mk(3, M_PKTHDR);
  k32[f + MB.m_flags] |= M_EOR;
  k32[f + MB.m_next] = m_getcl(MB_DONTWAIT, MT_OOBDATA, 0);   // different type: not copied
  fill(k32[f + MB.m_next], 4);
  sbappendrecord(ssb, f); r.push(...counts(ssb));
  r.push(k32[f + MB.m_flags] & M_EOR, k32[k32[f + MB.m_next] + MB.m_flags] & M_EOR,
    k32[ssb + SSB.ssb_lastmbuf] === k32[f + MB.m_next] ? 1 : 0);
  ssb_done(ssb);
  return r;
}

/*
 * sbcompress and empty mbufs: an empty mbuf inside a chain is dropped; an empty one
 * carrying M_EOR is dropped when the mbuf before it is of its type (the EOR moves there)
 * and kept when it is not.  Returns counts after each step, the bytes check, the EOR and
 * length of the last mbuf.
 */
export function* compress_empties(): Blocking<number[]> {
  const r: number[] = [];
  const ssb = ssb_new(57344, 8 * 57344);
  const first = seq;
  const a = mk(5, M_PKTHDR);
  k32[a + MB.m_next] = m_get(MB_DONTWAIT, MT_DATA);
  k32[k32[a + MB.m_next] + MB.m_next] = mk(7, 0);
  sbappend(ssb, a); r.push(...counts(ssb), is_pattern(sb_bytes(ssb), first) ? 1 : 0);
  const b = mk(3, M_PKTHDR);
  const be = m_get(MB_DONTWAIT, MT_DATA);
  k32[be + MB.m_flags] |= M_EOR;
  k32[b + MB.m_next] = be;
  sbappendrecord(ssb, b); r.push(...counts(ssb));
  const last = k32[ssb + SSB.ssb_lastmbuf];
  r.push(last === b ? 1 : 0, k32[last + MB.m_flags] & M_EOR);
  const c = mk(4, M_PKTHDR);
  const ce = m_get(MB_DONTWAIT, MT_OOBDATA);
  k32[ce + MB.m_flags] |= M_EOR;
  k32[c + MB.m_next] = ce;
  sbappendrecord(ssb, c); r.push(...counts(ssb));
  const last2 = k32[ssb + SSB.ssb_lastmbuf];
  r.push(last2 === ce ? 1 : 0, k32[last2 + MB.m_flags] & M_EOR, k32[last2 + MB.m_len]);
  sbappend(ssb, mk(6, M_PKTHDR)); r.push(...counts(ssb));
  r.push(is_pattern(sb_bytes(ssb), first) ? 1 : 0);
  ssb_done(ssb);
  return r;
}

/*
 * sbdrop across records: records of 10, 20, 70 bytes; drop 25 (the first whole, 15 of
 * the second), then 5 (the rest of the second: the record goes), then 30 of the third;
 * sbdroprecord the rest.  Returns counts after each step, the bytes left, and what
 * sbunlinkmbuf returns at a record's end.
 */
export function* drop_records(): Blocking<number[]> {
  const r: number[] = [];
  const ssb = ssb_new(57344, 8 * 57344);
  const first = seq;
  sbappendrecord(ssb, mk(10, M_PKTHDR));
  sbappendrecord(ssb, mk(20, M_PKTHDR));
  const t = mk(30, M_PKTHDR);
  k32[t + MB.m_next] = mk(40, 0);
  k32[k32[t + MB.m_next] + MB.m_type] = MT_OOBDATA;          // keep two mbufs
  sbappendrecord(ssb, t);
  r.push(...counts(ssb));
  sbdrop(ssb, 25); r.push(...counts(ssb));
  r.push(is_pattern(sb_bytes(ssb), first + 25) ? 1 : 0);
  sbdrop(ssb, 5); r.push(...counts(ssb));
  sbdrop(ssb, 30); r.push(...counts(ssb));                   // the whole first mbuf of the third
  r.push(k32[ssb + SSB.ssb_lastrecord] === k32[ssb + SSB.ssb_mb] ? 1 : 0);
  r.push(is_pattern(sb_bytes(ssb), first + 60) ? 1 : 0);
  sbappendrecord(ssb, mk(9, M_PKTHDR));
  sbdroprecord(ssb); r.push(...counts(ssb));                 // the 40 bytes left of the third
  // sbunlinkmbuf on a one-mbuf record returns NULL; the next record becomes first.
  sbappendrecord(ssb, mk(11, M_PKTHDR));
  const head = k32[ssb + SSB.ssb_mb];
  const n = sbunlinkmbuf(ssb, head, NULL);
  r.push(n === NULL ? 1 : 0, k32[head + MB.m_next] === NULL ? 1 : 0, ...counts(ssb));
  m_freem(head);
  sbdroprecord(ssb); r.push(...counts(ssb));
  sbdroprecord(ssb); r.push(...counts(ssb));                 // empty: nothing happens
  ssb_done(ssb);
  return r;
}

/*
 * sbdrop leaves no empty mbuf at the front of the record it stopped in: a datagram
 * record [SONAME 16][data 1][data 0] dropped by 17 goes entirely.  A zero-length record
 * after a dropped one stays until sbflush.  Returns counts after each step.
 */
export function* drop_empties(): Blocking<number[]> {
  const r: number[] = [];
  const [sap, asa] = sockaddr_new(16);
  const ssb = ssb_new(4096, 32768);
  const d = mk(1, M_PKTHDR);
  k32[d + MB.m_next] = m_get(MB_DONTWAIT, MT_DATA);         // an empty trailing mbuf
  sbappendaddr(ssb, asa, d, NULL); r.push(...counts(ssb));
  sbdrop(ssb, 17); r.push(...counts(ssb));
  sbappendrecord(ssb, mk(5, M_PKTHDR));
  const e = m_gethdr(MB_DONTWAIT, MT_DATA);
  k32[e + MB.m_flags] |= M_EOR;
  sbappendrecord(ssb, e); r.push(...counts(ssb));
  sbdrop(ssb, 5); r.push(...counts(ssb));                    // the empty record stays
  sbflush(ssb); r.push(...counts(ssb));
  ssb_done(ssb);
  zfree(Z_KMALLOC64, sap);
  return r;
}

/*
 * sbappendcontrol: control then data as one record, charged uncompressed; the last data
 * mbuf is ssb_lastmbuf.  ssb_appendcontrol refuses (0) with no space.  SSB_STOP makes
 * ssb_space 0.  Returns [ret, counts, lastmbuf ok, cmsg words, ...].
 */
export function* appendcontrol(): Blocking<number[]> {
  const r: number[] = [];
  const ssb = ssb_new(1000, 8000);
  const cred = new Uint8Array([1, 2, 3, 4, 5]);
  const ctl = sbcreatecontrol(cred, 5, 3, 0xffff);           // SCM_CREDS-like, 5 bytes
  const cp = mtod(ctl) >> 2;
  r.push(k32[ctl + MB.m_len], k32[ctl + MB.m_type], k32[cp], k32[cp + 1], k32[cp + 2], ku8[(cp << 2) + 12],
    ku8[(cp << 2) + 16]);
  const data = mk(600, M_PKTHDR);
  k32[data + MB.m_next] = mk(20, 0);
  r.push(sbappendcontrol(ssb, data, ctl), ...counts(ssb));
  r.push(k32[ssb + SSB.ssb_lastmbuf] === k32[data + MB.m_next] ? 1 : 0, k32[ssb + SSB.ssb_mb] === ctl ? 1 : 0);
  r.push(ssb_space(ssb));                                    // min(1000 - 640, 8000 - 2816)
  const big = mk(500, M_PKTHDR);
  const c2 = sbcreatecontrol(null, 0, 1, 0xffff);
  r.push(ssb_appendcontrol(ssb, big, c2), ...counts(ssb));    // space 360 > 0: whole record in
  r.push(ssb_space(ssb));
  const m3 = mk(1, M_PKTHDR);
  const c3 = sbcreatecontrol(null, 4, 1, 0xffff);
  r.push(ssb_appendcontrol(ssb, m3, c3), ...counts(ssb));     // space < 0: refused
  m_freem(m3); m_freem(c3);
  sbdrop(ssb, 100);
  Atomics.or(k32, ssb + SSB.ssb_flags, SSB_STOP);
  r.push(ssb_space(ssb));
  Atomics.and(k32, ssb + SSB.ssb_flags, ~SSB_STOP);
  r.push(ssb_space(ssb));
  // A control message too big for a cluster.
  r.push(sbcreatecontrol(null, MCLBYTES, 1, 0xffff) === NULL ? 1 : 0);
  ssb_done(ssb);
  return r;
}

/* ---- waiting for mbufs ---- */



/*
 * Take every free mbuf (clusters too when `clusters`), leaving `leave` of each, and
 * keep them on a chain at w[0] (mbufs) and w[1] (clusters, as m_getcl mbufs, which
 * also takes mbufs).  Returns [mbufs held, clusters held, MB_DONTWAIT gave NULL].
 */
export function* drain(w: number, leave: number, clusters: number): Blocking<number[]> {
  let held = 0, cheld = 0;
  let chain = NULL, cchain = NULL;
  if (clusters !== 0) {
    for (;;) {
      const c = m_getcl(MB_DONTWAIT, MT_DATA, 0);
      if (c === NULL) break;
      k32[c + MB.m_next] = cchain;
      cchain = c;
      cheld++;
    }
  }
  for (;;) {
    const m = m_get(MB_DONTWAIT, MT_DATA);
    if (m === NULL) break;
    k32[m + MB.m_next] = chain;
    chain = m;
    held++;
  }
  const empty = m_get(MB_DONTWAIT, MT_DATA) === NULL && m_getl(MLEN, MB_DONTWAIT, MT_DATA, 0) === NULL ? 1 : 0;
  // Give back `leave` plain mbufs, and `leave` clusters (each with its mbuf).
  for (let i = 0; i < leave && chain !== NULL; i++, held--) chain = m_free(chain);
  for (let i = 0; i < leave && cchain !== NULL; i++, cheld--) cchain = m_free(cchain);
  k32[w] = chain;
  k32[w + 1] = cchain;
  return [held, cheld, empty];
}

/*
 * Once the mbuf zones have refused more allocations than failed0 (someone found them empty
 * and waits), give back n plain mbufs and n clusters (each with its mbuf) of what drain
 * holds.  Returns the ticks it waited.
 */
export function* release_some(w: number, n: number, failed0: number): Blocking<number> {
  const fails = (): number => k32[zone_desc(Z_MBUF) + ZD.zd_fail] + k32[zone_desc(Z_CLUSTER) + ZD.zd_fail];
  let ticks = 0;
  while (fails() === failed0 && ticks < 100_000) {
    yield* tsleep(w + 7, 0, 'relwt', 1);
    ticks++;
  }
  for (let i = 0; i < n && k32[w] !== NULL; i++) k32[w] = m_free(k32[w]);
  for (let i = 0; i < n && k32[w + 1] !== NULL; i++) k32[w + 1] = m_free(k32[w + 1]);
  return ticks;
}

export function* undrain(w: number): Blocking<number> {
  m_freem(k32[w]);
  m_freem(k32[w + 1]);
  k32[w] = NULL;
  k32[w + 1] = NULL;
  return 0;
}

/*
 * With the mbuf zone empty (cluster: mbufs to spare, no cluster), a thread on another
 * CPU says it is about to wait (w[2]) and calls m_get_wait (m_getcl_wait); this thread
 * sees that, sleeps `ticks`, then frees one mbuf (one mbuf with its cluster).  The waiter
 * must get it.  Returns what drain returned.  Words: [0..1] drained chains, [2] waiter
 * about to wait, [3] drained, [4] a sleep channel nobody wakes, [5] waiter done.
 */
export function* wait_freer(w: number, ticks: number, cluster: number): Blocking<number[]> {
  const d = yield* drain(w, 0, cluster);
  if (cluster !== 0) {                     // one mbuf to spare: the wait is for the cluster
    const m = k32[w];
    k32[w] = k32[m + MB.m_next];
    k32[m + MB.m_next] = NULL;
    m_free(m);
  }
  publish(w + 3, 1);                       // drained
  yield* await_word(w + 2);                // the waiter is about to wait
  yield* tsleep(w + 4, 0, 'pause', ticks); // let it sleep
  const chain = cluster !== 0 ? w + 1 : w;
  const m = k32[chain];
  k32[chain] = k32[m + MB.m_next];
  k32[m + MB.m_next] = NULL;
  m_free(m);                               // wakes the waiter
  yield* await_word(w + 5);                // the waiter has had its mbuf
  yield* undrain(w);
  return d;
}

export function* wait_waiter(w: number, cluster: number): Blocking<number[]> {
  yield* await_word(w + 3);
  publish(w + 2, 1);
  const m = cluster !== 0 ? yield* m_getcl_wait(MT_DATA, M_PKTHDR) : yield* m_get_wait(MT_DATA);
  const r = [m !== NULL ? 1 : 0, k32[m + MB.m_type], k32[m + MB.m_flags], M_TRAILINGSPACE(m)];
  m_free(m);
  publish(w + 5, 1);
  return r;
}

/*
 * Pressure: once the word at go is set, `iters` times take an mbuf (cluster: an mbuf and a cluster) with MB_WAIT,
 * hold it over a yield, free it.  With a few items left and many such threads on
 * several CPUs they keep waiting for each other; a lost wakeup leaves one asleep for
 * good.  Returns iterations done and a checksum of the data written through each mbuf.
 */
export function* wait_pressure(go: number, iters: number, cluster: number, id: number): Blocking<number[]> {
  let done = 0, bad = 0;
  yield* await_word(go);                   // all start together, or the first may finish alone
  for (let i = 0; i < iters; i++) {
    const m = cluster !== 0 ? yield* m_getl_wait(MCLBYTES, MT_DATA, M_PKTHDR) : yield* m_get_wait(MT_DATA);
    const p = mtod(m);
    ku8[p] = id; ku8[p + 1] = i & 0xff;
    k32[m + MB.m_len] = 2;
    yield* lwkt_yield();
    if (ku8[p] !== id || ku8[p + 1] !== (i & 0xff)) bad++;
    m_free(m);
    done++;
  }
  return [done, bad];
}
