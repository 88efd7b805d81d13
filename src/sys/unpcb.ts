/*
 * sys/unpcb.ts: the unix-domain protocol control block (DragonFly 2008 sys/sys/unpcb.h)
 * and struct sockaddr_un (sys/un.h), as kmem layouts, with their flag values.
 *
 * A unpcb is a kmalloc16 item (16 words), so_pcb of an AF_LOCAL socket.  A socket bound
 * to a path names its node in the simulated file namespace (kern/vfs_unixsock.ts) by
 * unp_vnode, and the node names the socket back (vn_socket, C's v_socket).
 * Differs from C: no unp_link (the unp_shead/unp_dhead lists serve only the pcblist
 * sysctl and unp_gc, which come later) and no unp_rvnode or unp_gencnt; unp_peercred is
 * struct xucred cut to its first group.  unp_cc and unp_mbcnt are PRE-STOP's copies of
 * the peer's so_rcv counts (dragonfly.md 5.5): SEED keeps the fields and never uses them.
 */

import { layout, flag_names } from '../../shared/struct.js';

/* struct xucred (sys/ucred.h), reduced: the peer's credentials as LOCAL_PEERCRED returns them. */
export const XUCRED_VERSION = 0;
export const XUCRED = layout('xucred', {
  cr_version: 1,     // XUCRED_VERSION
  cr_uid: 1,         // effective user id
  cr_ngroups: 1,     // groups in cr_groups (here always 1)
  cr_groups: 1,      // here: cr_groups[0] only, the effective group id
});

/* struct unpcb. */
export const UNPCB = layout('unpcb', {
  // Guarded by the dispatch model (BGL, or the socket's serving netisr thread):
  unp_socket: 1,     // the socket this pcb belongs to
  unp_vnode: 1,      // the name node the socket is bound to (vfs_unixsock VN), or 0
  unp_ino: 1,        // fake inode number for stat (uipc_sense), 0 until asked
  unp_conn: 1,       // the pcb this one is connected to, or 0
  unp_refs: 2,       // TAILQ head: datagram pcbs connected to this one (their unp_conn is us)
  unp_reflink: 2,    // link on the unp_refs of the pcb we (a datagram socket) are connected to
  unp_addr: 1,       // bound address: byte address of a dup_sockaddr copy of the sockaddr_un, or 0
  unp_cc: 1,         // PRE-STOP: copy of the peer's so_rcv cc (unused in SEED)
  unp_mbcnt: 1,      // PRE-STOP: copy of the peer's so_rcv mbcnt (unused in SEED)
  unp_flags: 1,      // UNP_*
  unp_peercred: XUCRED.SIZE, // the peer's credentials (UNP_HAVEPC) or our listener's (UNP_HAVEPCCACHED)
});
export const UNPCB_ZONE_WORDS = 16;  // a kmalloc16 item
if (UNPCB.SIZE > UNPCB_ZONE_WORDS) throw new Error('sys/unpcb: struct unpcb does not fit a kmalloc16 item');

export const UNP_HAVEPC = 0x001;        // unp_peercred holds the peer's credentials
export const UNP_HAVEPCCACHED = 0x002;  // unp_peercred holds the listener's credentials (unp_listen)
export const UNP_NAMES = flag_names({ UNP_HAVEPC, UNP_HAVEPCCACHED });

/*
 * struct sockaddr_un: sun_len (byte 0), sun_family (byte 1), sun_path (bytes 2..105).
 * A sockaddr here is its bytes in kmem, named by the byte address of sun_len.
 */
export const SUN_LEN_OFF = 0;
export const SUN_FAMILY_OFF = 1;
export const SUN_PATH_OFF = 2;             // offsetof(struct sockaddr_un, sun_path)
export const SOCKADDR_UN_BYTES = 106;      // sizeof(struct sockaddr_un)
export const SOCKADDR_BYTES = 16;          // sizeof(struct sockaddr): sun_noname's sa_len
