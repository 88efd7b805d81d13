/*
 * uipc_accf.ts: accept filters (DragonFly uipc_accf.c, and uipc_socket.c's
 * do_setopt_accept_filter and the SO_ACCEPTFILTER case of sogetopt).
 *
 * A listener with an accept filter holds each new connection on its incomplete queue
 * after the handshake: soisconnected makes the filter's callback the connection's
 * so_upcall (SSB_UPCALL on its receive buffer) and calls it once; sowakeup calls it again
 * as data arrives; the filter calls soisconnected() when the connection may be accepted,
 * which moves it to so_comp and wakes accept.  Filters register by name
 * (accept_filt_add), as the accf_* modules do when they load: the registry is per
 * isolate, the same on every CPU, and a socket names its filter's callback by kfunc id.
 *
 * struct accept_filter_arg is af_name[16] and af_arg[240]: 256 bytes, NUL-terminated
 * strings.  The filter's name is kept in so_accept_filter_str (DragonFly stores the name
 * there, not af_arg, and sogetopt returns it as af_arg: kept).
 *
 * Differs: setsockopt(SO_ACCEPTFILTER) with no value (sopt_val NULL) removes the filter,
 * as FreeBSD 5 and the accept_filter(9) page have it; DragonFly 2008 removed it only when
 * the socket was freed (its setsockopt path never passed a NULL sockopt).
 */

import { k32, ku8 } from '../../shared/kmem.js';
import { NULL, layout, type Ptr } from '../../shared/struct.js';
import { EINVAL, ENOENT, ENOBUFS, EEXIST } from '../../shared/errno.js';
import { zalloc, zfree, Z_KMALLOC16 } from '../../shared/zone.js';
import { kfunc_id, kfunc_on_attach, kfunc_register } from '../lwkt/kfunc.js';
import { SO } from '../sys/socketvar.js';
import { SO_ACCEPTCONN, SO_ACCEPTFILTER } from '../sys/socket.js';
import { SO_ACCF } from './uipc_socket2.js';

export const ACCF_NAME_BYTES = 16;
export const ACCEPT_FILTER_ARG_BYTES = 256;

/* struct accept_filter. */
export interface AcceptFilter {
  accf_name: string;
  accf_callback: (so: Ptr, arg: number, waitflag: number) => void;
  /* accf_create: the filter's argument for so (non-zero), or 0 to refuse (EINVAL); null: none needed. */
  accf_create: ((so: Ptr, arg: string) => number) | null;
  accf_destroy: ((so: Ptr) => void) | null;
}

/* The registry: by name, and by the callback's kfunc id (for sogetopt and destroy). */
const filters = new Map<string, AcceptFilter>();
const by_callback = new Map<number, AcceptFilter>();

function callback_name(f: AcceptFilter): string { return `accf_${f.accf_name}`; }

function map_ids(): void {
  by_callback.clear();
  for (const f of filters.values()) by_callback.set(kfunc_id(callback_name(f)), f);
}
kfunc_on_attach(map_ids);

/* accept_filt_add: register filter (EEXIST for a name taken). */
export function accept_filt_add(filt: AcceptFilter): number {
  if (filters.has(filt.accf_name)) return EEXIST;
  filters.set(filt.accf_name, filt);
  kfunc_register(callback_name(filt), filt.accf_callback as (...a: number[]) => unknown);
  return 0;
}

/* accept_filt_get: the filter called name, or null. */
export function accept_filt_get(name: string): AcceptFilter | null { return filters.get(name) ?? null; }

/* The filter whose callback is so's listener's accept filter, or null. */
function accf_of(af: Ptr): AcceptFilter | null {
  if (by_callback.size !== filters.size) map_ids();
  return by_callback.get(k32[af + SO_ACCF.so_accept_filter]) ?? null;
}

/* A NUL-terminated string of at most max bytes at byte address at (the rest ignored). */
function cstr(at: number, max: number): string {
  let s = '';
  for (let i = 0; i < max - 1 && ku8[at + i] !== 0; i++) s += String.fromCharCode(ku8[at + i]);
  return s;
}

/*
 * Remove so's accept filter: its destroy hook, then so_accf (and the kept name) freed;
 * SO_ACCEPTFILTER off.  Used by setsockopt with no value and when the socket is freed.
 */
export function accept_filt_remove(so: Ptr): void {
  const af = k32[so + SO.so_accf];
  if (af !== NULL) {
    const f = accf_of(af);
    if (f !== null && f.accf_destroy !== null) f.accf_destroy(so);
    if (k32[af + SO_ACCF.so_accept_filter_str] !== NULL) zfree(Z_KMALLOC16, k32[af + SO_ACCF.so_accept_filter_str]);
    zfree(Z_KMALLOC16, af);
    k32[so + SO.so_accf] = NULL;
  }
  k32[so + SO.so_options] &= ~SO_ACCEPTFILTER;
}

/*
 * do_setopt_accept_filter: set the accept filter named by the struct accept_filter_arg at
 * byte address val (valsize bytes), or remove it when val is NULL.  Only on a listener
 * (EINVAL); one filter at a time (EINVAL: remove the old first); EINVAL when the value is
 * shorter than the struct; ENOENT for an unknown name; EINVAL when the filter's create
 * hook refuses the argument.  Never blocks.
 */
export function do_setopt_accept_filter(so: Ptr, val: number, valsize: number): number {
  if ((k32[so + SO.so_options] & SO_ACCEPTCONN) === 0) return EINVAL;
  if (val === NULL) {
    accept_filt_remove(so);
    return 0;
  }
  if (k32[so + SO.so_accf] !== NULL) return EINVAL;
  if (valsize < ACCEPT_FILTER_ARG_BYTES) return EINVAL;   // sooptcopyin's minimum
  const name = cstr(val, ACCF_NAME_BYTES);
  const arg = cstr(val + ACCF_NAME_BYTES, ACCEPT_FILTER_ARG_BYTES - ACCF_NAME_BYTES);
  const f = accept_filt_get(name);
  if (f === null) return ENOENT;
  const af = zalloc(Z_KMALLOC16);
  if (af === NULL) return ENOBUFS;
  if (f.accf_create !== null) {
    if (name !== '') {
      const str = zalloc(Z_KMALLOC16);       // 64 bytes: room for a 16-byte name
      if (str === NULL) {
        zfree(Z_KMALLOC16, af);
        return ENOBUFS;
      }
      for (let i = 0; i < name.length; i++) ku8[str * 4 + i] = name.charCodeAt(i);
      k32[af + SO_ACCF.so_accept_filter_str] = str;
    }
    const a = f.accf_create(so, arg);
    if (a === 0) {
      if (k32[af + SO_ACCF.so_accept_filter_str] !== NULL) zfree(Z_KMALLOC16, k32[af + SO_ACCF.so_accept_filter_str]);
      zfree(Z_KMALLOC16, af);
      return EINVAL;
    }
    k32[af + SO_ACCF.so_accept_filter_arg] = a;
  }
  k32[af + SO_ACCF.so_accept_filter] = kfunc_id(callback_name(f));
  k32[so + SO.so_accf] = af;
  k32[so + SO.so_options] |= SO_ACCEPTFILTER;
  return 0;
}

/*
 * sogetopt's SO_ACCEPTFILTER: EINVAL on a socket that is not listening; otherwise a struct
 * accept_filter_arg (zeroed, with the filter's name and the kept string when there is a
 * filter) written to the byte address val, at most valsize bytes; returns the bytes written
 * (negative: an errno).
 */
export function sogetopt_accept_filter(so: Ptr, val: number, valsize: number): number {
  if ((k32[so + SO.so_options] & SO_ACCEPTCONN) === 0) return -EINVAL;
  const out = new Uint8Array(ACCEPT_FILTER_ARG_BYTES);
  const af = k32[so + SO.so_accf];
  if ((k32[so + SO.so_options] & SO_ACCEPTFILTER) !== 0 && af !== NULL) {
    const f = accf_of(af);
    const name = f !== null ? f.accf_name : '';
    for (let i = 0; i < name.length; i++) out[i] = name.charCodeAt(i);
    const str = k32[af + SO_ACCF.so_accept_filter_str];
    if (str !== NULL) {
      const s = cstr(str * 4, ACCF_NAME_BYTES);
      for (let i = 0; i < s.length; i++) out[ACCF_NAME_BYTES + i] = s.charCodeAt(i);
    }
  }
  const n = Math.min(valsize, ACCEPT_FILTER_ARG_BYTES);
  ku8.set(out.subarray(0, n), val);
  return n;
}

/* The layout callers build: af_name at 0, af_arg at ACCF_NAME_BYTES. */
export const ACCEPT_FILTER_ARG = layout('accept_filter_arg', { af_name: ACCF_NAME_BYTES / 4, af_arg: (ACCEPT_FILTER_ARG_BYTES - ACCF_NAME_BYTES) / 4 });
