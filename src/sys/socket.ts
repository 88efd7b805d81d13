/*
 * sys/socket.ts: the socket constants a program and the kernel share (DragonFly 2008
 * sys/socket.h, sys/un.h), with BSD values.
 */

export const AF_UNSPEC = 0;
export const AF_LOCAL = 1;
export const AF_UNIX = AF_LOCAL;
export const AF_INET = 2;
export const PF_UNSPEC = AF_UNSPEC;
export const PF_LOCAL = AF_LOCAL;
export const PF_UNIX = AF_LOCAL;
export const PF_INET = AF_INET;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
/* Beyond DragonFly 2008 (FreeBSD 10, DragonFly 3.x): socket type flags, and accept4's flags. */
export const SOCK_CLOEXEC = 0x10000000;
export const SOCK_NONBLOCK = 0x20000000;

export const SOL_SOCKET = 0xffff;
export const SOMAXCONN = 128;

export const SO_DEBUG = 0x0001;
export const SO_ACCEPTCONN = 0x0002;
export const SO_REUSEADDR = 0x0004;
export const SO_KEEPALIVE = 0x0008;
export const SO_DONTROUTE = 0x0010;
export const SO_BROADCAST = 0x0020;
export const SO_USELOOPBACK = 0x0040;
export const SO_LINGER = 0x0080;
export const SO_OOBINLINE = 0x0100;
export const SO_REUSEPORT = 0x0200;
export const SO_TIMESTAMP = 0x0400;
export const SO_NOSIGPIPE = 0x0800;
export const SO_ACCEPTFILTER = 0x1000;
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_SNDLOWAT = 0x1003;
export const SO_RCVLOWAT = 0x1004;
export const SO_SNDTIMEO = 0x1005;
export const SO_RCVTIMEO = 0x1006;
export const SO_ERROR = 0x1007;
export const SO_TYPE = 0x1008;

export const MSG_OOB = 0x00000001;
export const MSG_PEEK = 0x00000002;
export const MSG_DONTROUTE = 0x00000004;
export const MSG_EOR = 0x00000008;
export const MSG_TRUNC = 0x00000010;
export const MSG_CTRUNC = 0x00000020;
export const MSG_WAITALL = 0x00000040;
export const MSG_DONTWAIT = 0x00000080;
export const MSG_EOF = 0x00000100;
export const MSG_NOTIFICATION = 0x00000200;
export const MSG_NOSIGNAL = 0x00000400;
export const MSG_CMSG_CLOEXEC = 0x00001000;   // beyond DragonFly 2008 (DragonFly's later value): received rights close-on-exec
export const MSG_FBLOCKING = 0x00010000;    // kernel: the file is blocking
export const MSG_FNONBLOCKING = 0x00020000; // kernel: the file is non-blocking (FNONBLOCK)

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

export const SCM_RIGHTS = 0x01;
export const SCM_TIMESTAMP = 0x02;
export const SCM_CREDS = 0x03;

export const LOCAL_PEERCRED = 0x001;

/*
 * struct sockaddr_un: sun_len, sun_family, then sun_path's 104 bytes.  The kernel takes
 * any sockaddr up to SOCK_MAXADDRLEN (getsockaddr), and unp_bind/unp_connect use
 * sun_len - 2 bytes of path, so a caller with a bigger buffer binds a path of up to
 * SUN_NAME_MAX bytes (NetBSD's t_unix checks this "oversized" sockaddr_un).
 */
export const SUN_PATH_MAX = 104;
export const SOCK_MAXADDRLEN = 255;
export const SUN_NAME_MAX = SOCK_MAXADDRLEN - 2;

/* sys/sockio.h: at the out-of-band mark? (_IOR('s', 7, int)) */
export const SIOCATMARK = 0x40047307;
