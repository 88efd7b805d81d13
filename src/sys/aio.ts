/*
 * sys/aio.ts: the constants of the asynchronous I/O calls (sys/aio.h).
 */

/* aio_lio_opcode. */
export const LIO_NOP = 0;
export const LIO_WRITE = 1;
export const LIO_READ = 2;
/* aio_cancel's results. */
export const AIO_CANCELED = 1;
export const AIO_NOTCANCELED = 2;
export const AIO_ALLDONE = 3;
export const AIO_LISTIO_MAX = 16;
