/*
 * kern_whatis.ts: what is this kmem address?  (NetBSD's DDB `whatis`.)  Names the zone
 * item an address falls in and the field it points at, for the reports of WITNESS,
 * INVARIANTS and the liveness dump: "so_rcv.ssb_cc of socket 0x1a2c0 (fd 4 of pid 3)"
 * rather than a bare number.
 *
 * Reads through explicit views, so the host can describe any machine's memory without
 * attaching to it, and kernel code passes k32/ku8.  Not a hot path: a report is being
 * written.  A corrupt pointer gives a plain hex number, never an exception.
 */

import { H_NZONES, H_OFF_GLOBALS, H_OFF_ZONES, H_WORDS, kmem_getstr } from '../../shared/kmem.js';
import { kstr_read } from '../../shared/kstr.js';
import { ZD, Z_FILE, Z_PROC, Z_SOCKET, Z_THREAD, zone_item_live } from '../../shared/zone.js';
import { TD_COMM_BYTES } from '../../shared/param.js';
import { SO, SSB, SEL } from '../sys/socketvar.js';
import { FILE, DTYPE_SOCKET, FILEDESC, FDNODE } from '../sys/file.js';
import { PROC } from '../sys/proc.js';
import { TD } from '../lwkt/thread.js';
import { MSG, PORT } from '../sys/msgport.js';
import { KG } from '../sys/kglobals.js';

export function hex(p: number): string { return '0x' + (p >>> 0).toString(16); }

/* The field of layout L at word offset off ("so_state", "td_toks+3"). */
export function field_at(L: object, off: number): { name: string; rem: number } {
  let best = '';
  let at = -1;
  for (const [k, v] of Object.entries(L)) {
    if (k === 'SIZE' || k === 'NAME' || typeof v !== 'number') continue;
    if (v <= off && v > at) { best = k; at = v; }
  }
  return { name: best, rem: at < 0 ? off : off - at };
}

function field_str(L: object, off: number): string {
  const f = field_at(L, off);
  return f.rem === 0 ? f.name : `${f.name}+${f.rem}`;
}

/* A zone item containing address a: [zone, item, zone name], or null. */
export function zone_item_of(i32: Int32Array, u8: Uint8Array, a: number): { zone: number; item: number; name: string } | null {
  const zb = i32[H_OFF_ZONES];
  const nz = i32[H_NZONES];
  for (let z = 0; z < nz; z++) {
    const zd = zb + z * ZD.SIZE;
    const base = i32[zd + ZD.zd_base];
    const words = i32[zd + ZD.zd_item_words];
    const count = i32[zd + ZD.zd_count];
    if (words <= 0 || a < base || a >= base + words * count) continue;
    return { zone: z, item: base + Math.floor((a - base) / words) * words, name: kstr_read(i32, u8, i32[zd + ZD.zd_name]) };
  }
  return null;
}

/* "thread 5 'reader'" */
export function thread_label(i32: Int32Array, u8: Uint8Array, td: number): string {
  if (td <= 0 || td >= i32[H_WORDS]) return `thread ${hex(td)}`;
  return `thread ${i32[td + TD.td_id]} '${kmem_getstr(u8, (td + TD.td_comm) * 4, TD_COMM_BYTES)}'`;
}

/* The descriptors that name socket so, "fd 4 of pid 3" (every one, up to a few), or ''. */
export function socket_fds(i32: Int32Array, so: number): string {
  const zd = i32[H_OFF_ZONES] + Z_PROC * ZD.SIZE;
  const base = i32[zd + ZD.zd_base], words = i32[zd + ZD.zd_item_words], count = i32[zd + ZD.zd_count];
  const total = i32[H_WORDS];
  const out: string[] = [];
  for (let i = 0; i < count && out.length < 4; i++) {
    const p = base + i * words;
    if (!zone_item_live(i32, p)) continue;
    const fdp = i32[p + PROC.p_fd];
    if (fdp <= 0 || fdp >= total) continue;
    const files = i32[fdp + FILEDESC.fd_files];
    const last = Math.min(i32[fdp + FILEDESC.fd_lastfile], i32[fdp + FILEDESC.fd_nfiles] - 1, 4095);
    if (files <= 0 || files >= total) continue;
    for (let fd = 0; fd <= last; fd++) {
      const fp = i32[files + fd * FDNODE.SIZE + FDNODE.fdn_fp];
      if (fp <= 0 || fp >= total) continue;
      if (i32[fp + FILE.f_type] === DTYPE_SOCKET && i32[fp + FILE.f_data] === so) out.push(`fd ${fd} of pid ${i32[p + PROC.p_pid]}`);
    }
  }
  return out.join(', ');
}

/* The socket containing address a, or 0. */
export function socket_of(i32: Int32Array, a: number): number {
  const zd = i32[H_OFF_ZONES] + Z_SOCKET * ZD.SIZE;
  const base = i32[zd + ZD.zd_base], words = i32[zd + ZD.zd_item_words], count = i32[zd + ZD.zd_count];
  if (words <= 0 || a < base || a >= base + words * count) return 0;
  return base + Math.floor((a - base) / words) * words;
}

/* "so_rcv of socket 0x1a2c0 (fd 3 of pid 2)" for a sockbuf, or "sockbuf 0x..." */
export function sockbuf_label(i32: Int32Array, sb: number): string {
  const so = socket_of(i32, sb);
  if (so === 0) return `sockbuf ${hex(sb)}`;
  const which = sb - so === SO.so_rcv ? 'so_rcv' : sb - so === SO.so_snd ? 'so_snd' : `sockbuf +${sb - so}`;
  const fds = socket_fds(i32, so);
  return `${which} of socket ${hex(so)}${fds !== '' ? ` (${fds})` : ''}`;
}

function socket_field(off: number): string {
  for (const [name, at] of [['so_rcv', SO.so_rcv], ['so_snd', SO.so_snd]] as const) {
    if (off >= at && off < at + SSB.SIZE) {
      const r = off - at;
      if (r >= SSB.ssb_sel && r < SSB.ssb_sel + SEL.SIZE) return `${name}.ssb_sel.${field_str(SEL, r - SSB.ssb_sel)}`;
      return `${name}.${field_str(SSB, r)}`;
    }
  }
  return field_str(SO, off);
}

/*
 * Describe kmem address a: "so_rcv.ssb_cc of socket 0x1a2c0 (fd 4 of pid 3)",
 * "td_msgport of thread 5 'reader'", "the BGL", "lwkt_msg 0x2400", ...
 */
export function whatis(i32: Int32Array, u8: Uint8Array, a: number): string {
  try {
    if (a <= 0 || a >= i32[H_WORDS]) return hex(a);
    const g = i32[H_OFF_GLOBALS];
    if (a >= g && a < g + KG.SIZE) {
      const f = field_at(KG, a - g);
      if (f.name === 'g_bgl') return 'the BGL (mplock token)';
      return `kernel global ${f.name}${f.rem !== 0 ? '+' + f.rem : ''}`;
    }
    const z = zone_item_of(i32, u8, a);
    if (z === null) return `kmem ${hex(a)}`;
    const off = a - z.item;
    const live = zone_item_live(i32, z.item) ? '' : ' (free)';
    switch (z.zone) {
      case Z_SOCKET: {
        const fds = socket_fds(i32, z.item);
        return `${off === 0 ? '' : socket_field(off) + ' of '}socket ${hex(z.item)}${live}${fds !== '' ? ` (${fds})` : ''}`;
      }
      case Z_THREAD: {
        const f = off >= TD.td_msgport && off < TD.td_msgport + PORT.SIZE ? (off === TD.td_msgport ? 'td_msgport' : `td_msgport.${field_str(PORT, off - TD.td_msgport)}`)
          : field_str(TD, off);
        return `${off === 0 ? '' : f + ' of '}${thread_label(i32, u8, z.item)}${live}`;
      }
      case Z_FILE:
        return `${off === 0 ? '' : field_str(FILE, off) + ' of '}file ${hex(z.item)}${live}`;
      case Z_PROC:
        return `${off === 0 ? '' : field_str(PROC, off) + ' of '}proc pid ${i32[z.item + PROC.p_pid]}${live}`;
      default: {
        if (z.name === 'lwkt_msg') return `${off === 0 ? '' : field_str(MSG, off) + ' of '}lwkt_msg ${hex(z.item)}${live}`;
        if (z.name === 'lwkt_port') return `${off === 0 ? '' : field_str(PORT, off) + ' of '}lwkt_port ${hex(z.item)}${live}`;
        return `${z.name} item ${hex(z.item)}${off !== 0 ? '+' + off : ''}${live}`;
      }
    }
  } catch {
    return hex(a);
  }
}
