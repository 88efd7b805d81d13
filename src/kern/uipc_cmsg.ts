/*
 * uipc_cmsg.ts: control messages (struct cmsghdr) between a program and the kernel:
 * sendmsg's msg_control copied into an MT_CONTROL mbuf (DragonFly 2008
 * uipc_syscalls.c sockargs), recvmsg's control mbufs copied back out (recvit), and
 * AF_LOCAL's unp_internalize for SCM_CREDS (uipc_usrreq.c).
 *
 * Layout (i386): struct cmsghdr is cmsg_len, cmsg_level, cmsg_type (three 4-byte
 * words), then the data; each message starts on a 4-byte boundary (CMSG_ALIGN).
 * struct cmsgcred is cmcred_pid, cmcred_uid (real), cmcred_euid, cmcred_gid (real),
 * cmcred_ngroups (a short, then 2 bytes of padding) and cmcred_groups[CMGROUP_MAX]: 84
 * bytes.
 *
 * SCM_RIGHTS is handed to uipc_usrreq_rights.ts (unp_internalize_rights).
 *
 * Differs: a received message that does not fit the caller's room is left out whole (C
 * copies its first bytes) and MSG_CTRUNC is set either way; the descriptors of an
 * SCM_RIGHTS message left out are closed (FreeBSD; DragonFly 2008 left them open); unp_internalize checks that an
 * SCM_CREDS message's data is exactly a struct cmsgcred (DragonFly 2008 trusted
 * cmsg_len and wrote the credentials wherever it pointed).
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, type Ptr } from '../../shared/struct.js';
import { EINVAL, ENOBUFS } from '../../shared/errno.js';
import { MB, MB_DONTWAIT, MLEN, MT_CONTROL, mtod } from '../sys/mbuf.js';
import { PROC, UCRED } from '../sys/proc.js';
import { SOL_SOCKET } from '../sys/socket.js';
import { m_getl } from './uipc_mbuf.js';
import { unp_internalize_rights } from './uipc_usrreq_rights.js';

export const SCM_RIGHTS = 0x01;      // access rights (an array of int descriptors)
export const SCM_TIMESTAMP = 0x02;   // a struct timeval
export const SCM_CREDS = 0x03;       // process credentials (struct cmsgcred)

export const CMSGHDR_BYTES = 12;
export const CMGROUP_MAX = 16;
export const CMSGCRED_BYTES = 20 + CMGROUP_MAX * 4;

export function CMSG_ALIGN(n: number): number { return (n + 3) & ~3; }
export function CMSG_LEN(n: number): number { return CMSGHDR_BYTES + n; }
export function CMSG_SPACE(n: number): number { return CMSGHDR_BYTES + CMSG_ALIGN(n); }

/* One control message as a program sees it. */
export interface Cmsg { level: number; type: number; data: Uint8Array }

/* The credentials in an SCM_CREDS message. */
export interface CmsgCred { pid: number; uid: number; euid: number; gid: number; groups: number[] }

function int_ok(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}

/*
 * cmsg_copyin: msgs as one MT_CONTROL mbuf, each message CMSG_SPACE long; NULL for
 * none.  -EINVAL for a malformed message or more than MLEN bytes in all (sys_sendmsg
 * copies msg_control into one plain mbuf and refuses a longer one), -ENOBUFS when no
 * mbuf is free.  Never blocks.
 */
export function cmsg_copyin(msgs: unknown): number {
  if (!Array.isArray(msgs)) return -EINVAL;
  let total = 0;
  for (const c of msgs as unknown[]) {
    if (typeof c !== 'object' || c === null) return -EINVAL;
    const { level, type, data } = c as Cmsg;
    if (!int_ok(level) || !int_ok(type) || !(data instanceof Uint8Array)) return -EINVAL;
    total += CMSG_SPACE(data.length);
    if (total > MLEN) return -EINVAL;
  }
  if (total === 0) return NULL;
  const m = m_getl(total, MB_DONTWAIT, MT_CONTROL, 0);
  if (m === NULL) return -ENOBUFS;
  let at = mtod(m);
  for (const c of msgs as Cmsg[]) {
    const w = at >> 2;
    k32[w] = CMSG_LEN(c.data.length);
    k32[w + 1] = c.level;
    k32[w + 2] = c.type;
    ku8.set(c.data, at + CMSGHDR_BYTES);
    ku8.fill(0, at + CMSG_LEN(c.data.length), at + CMSG_SPACE(c.data.length));
    at += CMSG_SPACE(c.data.length);
  }
  k32[m + MB.m_len] = total;
  return m;
}

/*
 * cmsg_copyin_raw: a program's msg_control bytes (i386 layout: cmsg_build) as one
 * MT_CONTROL mbuf, copied as DragonFly 2008's sys_sendmsg copies them: msg_controllen
 * under sizeof(struct cmsghdr) or over MLEN is -EINVAL; nothing in them is checked here
 * (unp_internalize does).  -ENOBUFS when no mbuf is free.  Never blocks.
 */
export function cmsg_copyin_raw(bytes: Uint8Array): number {
  if (bytes.length < CMSGHDR_BYTES || bytes.length > MLEN) return -EINVAL;
  const m = m_getl(bytes.length, MB_DONTWAIT, MT_CONTROL, 0);
  if (m === NULL) return -ENOBUFS;
  ku8.set(bytes, mtod(m));
  k32[m + MB.m_len] = bytes.length;
  return m;
}

/*
 * cmsg_build: control messages in the i386 layout a C program puts in msg_control: each
 * a struct cmsghdr (cmsg_len = CMSG_LEN(data), cmsg_level, cmsg_type: little-endian
 * 32-bit words), its data, then zero padding to CMSG_SPACE.  An explicit len replaces
 * cmsg_len (to build a malformed message).
 */
export function cmsg_build(msgs: Array<{ level: number; type: number; data?: Uint8Array; len?: number }>): Uint8Array {
  let total = 0;
  for (const c of msgs) total += CMSG_SPACE(c.data?.length ?? 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const c of msgs) {
    const n = c.data?.length ?? 0;
    v.setUint32(at, (c.len ?? CMSG_LEN(n)) >>> 0, true);
    v.setInt32(at + 4, c.level, true);
    v.setInt32(at + 8, c.type, true);
    if (c.data !== undefined) out.set(c.data, at + CMSGHDR_BYTES);
    at += CMSG_SPACE(n);
  }
  return out;
}

/*
 * cmsg_copyout_raw: the control chain's bytes as DragonFly 2008's recvit copies them to
 * msg_control: each mbuf in order, the last one cut at room (MSG_CTRUNC: trunc true).
 * The descriptors of SCM_RIGHTS messages whose int did not arrive whole are appended to
 * lost (the caller closes them, as cmsg_copyout's caller does).  Never blocks.
 */
export function cmsg_copyout_raw(control: Ptr, room: number, lost: number[]): { bytes: Uint8Array; trunc: boolean } {
  let total = 0;
  for (let m = control; m !== NULL; m = k32[m + MB.m_next]) total += k32[m + MB.m_len];
  const out = new Uint8Array(Math.min(total, room));
  let trunc = false, off = 0, left = room;
  for (let m = control; m !== NULL && left > 0; m = k32[m + MB.m_next]) {
    const at = mtod(m), len = k32[m + MB.m_len];
    let tocopy = len;
    if (left < len) { trunc = true; tocopy = left; }
    out.set(ku8.subarray(at, at + tocopy), off);
    off += tocopy;
    left -= tocopy;
  }
  // Descriptors the program cannot read back.
  let base = 0;
  for (let m = control; m !== NULL; m = k32[m + MB.m_next]) {
    let at = mtod(m);
    const end = at + k32[m + MB.m_len];
    while (at + CMSGHDR_BYTES <= end) {
      const len = k32[at >> 2];
      if (len < CMSGHDR_BYTES || at + len > end) break;
      if (k32[(at >> 2) + 1] === SOL_SOCKET && k32[(at >> 2) + 2] === SCM_RIGHTS) {
        for (let i = 0; i < ((len - CMSGHDR_BYTES) >> 2); i++) {
          if (base + (at - mtod(m)) + CMSGHDR_BYTES + 4 * i + 4 > off) lost.push(k32[(at >> 2) + 3 + i]);
        }
      }
      at += CMSG_ALIGN(len);
    }
    base += k32[m + MB.m_len];
  }
  return { bytes: out, trunc };
}

/*
 * cmsg_copyout: the messages of the control chain (the chain stays the caller's) that
 * fit in room bytes, appended to out.  Returns true when some did not fit (MSG_CTRUNC).
 * The descriptors of an SCM_RIGHTS message that did not fit (already installed in the
 * receiver's table by unp_externalize) are appended to lost: the caller closes them, as
 * FreeBSD does, since the program never learns their numbers.  Never blocks.
 */
export function cmsg_copyout(control: Ptr, room: number, out: Cmsg[], lost: number[]): boolean {
  let trunc = false;
  for (let m = control; m !== NULL; m = k32[m + MB.m_next]) {
    let at = mtod(m);
    const end = at + k32[m + MB.m_len];
    while (at + CMSGHDR_BYTES <= end) {
      const len = k32[at >> 2];
      if (len < CMSGHDR_BYTES || at + len > end) break;   // malformed: the rest is dropped
      const space = CMSG_ALIGN(len);
      if (len > room) {
        trunc = true;
        if (k32[(at >> 2) + 1] === SOL_SOCKET && k32[(at >> 2) + 2] === SCM_RIGHTS) {
          for (let i = 0; i < ((len - CMSGHDR_BYTES) >> 2); i++) lost.push(k32[(at >> 2) + 3 + i]);
        }
      } else {
        out.push({ level: k32[(at >> 2) + 1], type: k32[(at >> 2) + 2], data: ku8.slice(at + CMSGHDR_BYTES, at + len) });
        room -= Math.min(space, room);
      }
      at += space;
    }
  }
  return trunc;
}

/*
 * unp_internalize: check a send's control data before AF_LOCAL queues it: one message
 * per mbuf, at SOL_SOCKET, SCM_RIGHTS or SCM_CREDS, its cmsg_len the mbuf's length
 * (EINVAL otherwise).  SCM_CREDS gets the sender's credentials written into it (which
 * it must be sized for: EINVAL).  SCM_RIGHTS is EOPNOTSUPP until descriptor passing.
 * Never blocks.
 */
export function unp_internalize(control: Ptr, p: Ptr): number {
  const at = mtod(control);
  const len = k32[control + MB.m_len];
  if (len < CMSGHDR_BYTES) return EINVAL;
  const w = at >> 2;
  const type = k32[w + 2];
  if ((type !== SCM_RIGHTS && type !== SCM_CREDS) || k32[w + 1] !== SOL_SOCKET || k32[w] !== len) return EINVAL;
  if (type === SCM_RIGHTS) return unp_internalize_rights(control, p);
  if (len !== CMSG_LEN(CMSGCRED_BYTES)) return EINVAL;
  const cr = k32[p + PROC.p_ucred];
  const d = w + 3;
  k32[d] = k32[p + PROC.p_pid];
  k32[d + 1] = k32[cr + UCRED.cr_ruid];
  k32[d + 2] = k32[cr + UCRED.cr_uid];
  k32[d + 3] = k32[cr + UCRED.cr_rgid];
  k32[d + 4] = 1;                      // cmcred_ngroups (a short; its padding zeroed with it)
  k32[d + 5] = k32[cr + UCRED.cr_gid]; // cmcred_groups[0]: the effective gid
  for (let i = 1; i < CMGROUP_MAX; i++) k32[d + 5 + i] = 0;
  return 0;
}

/* An SCM_RIGHTS message passing the descriptors fds (sendmsg's control). */
export function scm_rights(fds: number[]): Cmsg {
  const data = new Uint8Array(fds.length * 4);
  const v = new DataView(data.buffer);
  fds.forEach((fd, i) => v.setInt32(i * 4, fd, true));
  return { level: SOL_SOCKET, type: SCM_RIGHTS, data };
}

/* The descriptors of a received SCM_RIGHTS message's data. */
export function cmsg_rights(data: Uint8Array): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fds: number[] = [];
  for (let i = 0; i + 4 <= data.length; i += 4) fds.push(v.getInt32(i, true));
  return fds;
}

/* The credentials of a received SCM_CREDS message's data, or null when it is not one. */
export function cmsgcred_parse(data: Uint8Array): CmsgCred | null {
  if (data.length !== CMSGCRED_BYTES) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ngroups = Math.min(v.getInt16(16, true), CMGROUP_MAX);
  const groups: number[] = [];
  for (let i = 0; i < ngroups; i++) groups.push(v.getInt32(20 + i * 4, true));
  return { pid: v.getInt32(0, true), uid: v.getInt32(4, true), euid: v.getInt32(8, true), gid: v.getInt32(12, true), groups };
}
