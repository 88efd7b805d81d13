/*
 * sys/stat.ts: struct stat, the fields the simulation fills (fstat on a socket or the
 * console), as a kmem layout.
 */
import { layout } from '../../shared/struct.js';

export const STAT = layout('stat', {
  st_dev: 1,
  st_ino: 1,
  st_mode: 1,         // S_IF* | permission bits
  st_nlink: 1,
  st_uid: 1,
  st_gid: 1,
  st_rdev: 1,
  st_size_f64: 2,     // bytes (a socket: bytes readable)
  st_blksize: 1,      // optimal I/O size (a socket: its send buffer's hiwat)
  st_blocks: 1,
});

export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFSOCK = 0o140000;
