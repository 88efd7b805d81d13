/*
 * sys/uio.ts: struct uio (sys/uio.h), reduced: the caller's buffer, the next byte to move
 * (uio_offset), how many are left (uio_resid), the direction and the thread.  A caller
 * keeps one and re-initialises it per call (uio_init, in kern/uipc_socket.ts, with
 * uiomove).
 */

import { NULL, type Ptr } from '../../shared/struct.js';

export const UIO_READ = 0;            // kernel to the caller's array (soreceive)
export const UIO_WRITE = 1;           // the caller's array to the kernel (sosend)

const EMPTY_BYTES = new Uint8Array(0);

export class Uio {
  buf: Uint8Array = EMPTY_BYTES;
  offset = 0;
  resid = 0;
  rw = UIO_WRITE;
  td: Ptr = NULL;
}
