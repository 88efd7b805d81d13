/*
 * sys/index.ts: what a simulated program needs: the Sys interface (its methods are the
 * system calls), SysError, and the constants of the calls' arguments and errors.
 * Re-exported by the package's main entry (src/index.ts).
 */

export { Sys, PATH_ROOM, type SigHandler, type Stat, type Rlimit, type Linger, type Timeval, type AcceptFilterArg, type OptValue, type MsgOut, type MsgIn, type RecvmsgOptions, type SpawnOptions, type ThreadOptions, type Program } from './sys.js';
export { SysError, ProcessKilled, ProcessExit, SIGNAMES } from './errors.js';
export { S_IFMT, S_IFIFO, S_IFCHR, S_IFDIR, S_IFREG, S_IFSOCK } from '../sys/stat.js';
export * from '../../shared/errno.js';
export {
  AF_UNSPEC, AF_LOCAL, AF_UNIX, AF_INET, PF_UNSPEC, PF_LOCAL, PF_UNIX, PF_INET,
  SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOL_SOCKET, SOMAXCONN,
  SO_DEBUG, SO_ACCEPTCONN, SO_REUSEADDR, SO_KEEPALIVE, SO_DONTROUTE, SO_BROADCAST, SO_USELOOPBACK, SO_LINGER,
  SO_OOBINLINE, SO_REUSEPORT, SO_TIMESTAMP, SO_NOSIGPIPE, SO_ACCEPTFILTER, SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT, SO_RCVLOWAT,
  SO_SNDTIMEO, SO_RCVTIMEO, SO_ERROR, SO_TYPE,
  MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_EOR, MSG_TRUNC, MSG_CTRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_EOF,
  MSG_NOSIGNAL, MSG_CMSG_CLOEXEC, SOCK_CLOEXEC, SOCK_NONBLOCK, SHUT_RD, SHUT_WR, SHUT_RDWR, SUN_PATH_MAX, SUN_NAME_MAX, SOCK_MAXADDRLEN,
} from '../sys/socket.js';
export {
  F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_SETOWN, FD_CLOEXEC, O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_NONBLOCK,
  O_APPEND, O_ASYNC, FIONBIO, FIOASYNC,
} from '../sys/file.js';
export { FIONREAD, FIOSETOWN, FIOGETOWN } from '../sys/file.js';
export { SIOCATMARK } from '../sys/socket.js';
export {
  NSIG, SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGCONT, SIGCHLD, SIGIO,
  SIGWINCH, SIGINFO, SIGUSR1, SIGUSR2, SIG_DFL, SIG_IGN, SIG_CATCH, SA_RESTART,
  RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_MEMLOCK, RLIMIT_NPROC,
  RLIMIT_NOFILE, RLIMIT_SBSIZE, RLIMIT_VMEM, RLIMIT_AS, RLIM_INFINITY,
  WNOHANG, W_EXITCODE, WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG, P_MAXTHREADS,
} from '../sys/proc.js';
export { ARG_MAX } from '../sys/syslimits.js';
export { AIO_CANCELED, AIO_NOTCANCELED, AIO_ALLDONE, AIO_LISTIO_MAX } from '../sys/aio.js';
export {
  SCM_RIGHTS, SCM_TIMESTAMP, SCM_CREDS, CMSGCRED_BYTES, CMGROUP_MAX, CMSG_LEN, CMSG_SPACE, cmsgcred_parse,
  scm_rights, cmsg_rights, cmsg_build, type Cmsg, type CmsgCred,
} from '../kern/uipc_cmsg.js';
export { connect_retry, fnv1a, FNV_BASIS, read_full, recv_checksum, send_xorshift } from './libsim.js';
export {
  POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLWRNORM, POLLRDBAND, POLLWRBAND, INFTIM,
  FD_SETSIZE, type PollFd, type SelectResult,
} from '../sys/poll.js';
export {
  EVFILT_READ, EVFILT_WRITE, EVFILT_AIO, EVFILT_VNODE, EVFILT_PROC, EVFILT_SIGNAL, EVFILT_TIMER, EV_ADD, EV_DELETE,
  EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_EOF, EV_ERROR, NOTE_LOWAT, type Kevent, type Timespec,
} from '../sys/event.js';
