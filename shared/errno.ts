/*
 * errno.ts: BSD errno values (DragonFly sys/errno.h) and their names.  Kernel functions
 * return these numbers, as the C code does; the system-call layer turns a non-zero one
 * into a SysError with the name as its `code`, as Node does.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const ECHILD = 10;
export const EDEADLK = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTBLK = 15;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const EPIPE = 32;
export const EDOM = 33;
export const ERANGE = 34;
export const EAGAIN = 35;
export const EWOULDBLOCK = EAGAIN;
export const EINPROGRESS = 36;
export const EALREADY = 37;
export const ENOTSOCK = 38;
export const EDESTADDRREQ = 39;
export const EMSGSIZE = 40;
export const EPROTOTYPE = 41;
export const ENOPROTOOPT = 42;
export const EPROTONOSUPPORT = 43;
export const ESOCKTNOSUPPORT = 44;
export const EOPNOTSUPP = 45;
export const ENOTSUP = EOPNOTSUPP;
export const EPFNOSUPPORT = 46;
export const EAFNOSUPPORT = 47;
export const EADDRINUSE = 48;
export const EADDRNOTAVAIL = 49;
export const ENETDOWN = 50;
export const ENETUNREACH = 51;
export const ENETRESET = 52;
export const ECONNABORTED = 53;
export const ECONNRESET = 54;
export const ENOBUFS = 55;
export const EISCONN = 56;
export const ENOTCONN = 57;
export const ESHUTDOWN = 58;
export const ETOOMANYREFS = 59;
export const ETIMEDOUT = 60;
export const ECONNREFUSED = 61;
export const ELOOP = 62;
export const ENAMETOOLONG = 63;
export const EHOSTDOWN = 64;
export const EHOSTUNREACH = 65;
export const ENOTEMPTY = 66;
export const EPROCLIM = 67;
export const EUSERS = 68;
export const EDQUOT = 69;
export const ENOSYS = 78;
export const EFTYPE = 79;
export const EAUTH = 80;
export const ENEEDAUTH = 81;
export const EIDRM = 82;
export const ENOMSG = 83;
export const EOVERFLOW = 84;
export const ECANCELED = 85;
export const EILSEQ = 86;
export const ENOATTR = 87;
export const EDOOFUS = 88;
export const EBADMSG = 89;
export const EMULTIHOP = 90;
export const ENOLINK = 91;
export const EPROTO = 92;
/* Kernel-internal, never seen by a program. */
export const ERESTART = -1;       // restart the system call
export const EJUSTRETURN = -2;
export const ENOIOCTL = -3;

const NAMES: Record<number, string> = {};
const here: Record<string, number> = {
  EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EDEADLK, ENOMEM, EACCES, EFAULT,
  ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG,
  ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EAGAIN, EINPROGRESS, EALREADY, ENOTSOCK, EDESTADDRREQ,
  EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT,
  EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN,
  ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, ELOOP, ENAMETOOLONG, EHOSTDOWN, EHOSTUNREACH,
  ENOTEMPTY, EPROCLIM, EUSERS, EDQUOT, ENOSYS, EFTYPE, EAUTH, ENEEDAUTH, EIDRM, ENOMSG, EOVERFLOW, ECANCELED,
  EILSEQ, ENOATTR, EDOOFUS, EBADMSG, EMULTIHOP, ENOLINK, EPROTO, ERESTART, EJUSTRETURN, ENOIOCTL,
};
for (const [n, v] of Object.entries(here)) NAMES[v] = n;
NAMES[EAGAIN] = 'EAGAIN';

export function errno_name(e: number): string { return NAMES[e] ?? `errno ${e}`; }
export function errno_value(name: string): number | undefined { return here[name]; }
