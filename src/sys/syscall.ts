/*
 * sys/syscall.ts: the system calls by number (DragonFly's sys/syscall.h), as the trace
 * records them.  The numbers are this simulation's own: the order of Sys's methods.
 */

export const SYSCALL_NAMES: readonly string[] = [
  'socket', 'socketpair', 'bind', 'listen', 'accept', 'connect', 'send', 'sendto', 'recv', 'recvfrom', 'sendmsg',
  'recvmsg', 'shutdown', 'getsockopt', 'setsockopt', 'getpeereid', 'getsockname', 'getpeername', 'read', 'write',
  'close', 'fstat', 'closefrom', 'dup', 'dup2', 'fcntl', 'ioctl', 'select', 'poll', 'kqueue', 'kevent', 'mkdir',
  'unlink', 'rmdir', 'chmod', 'sched_yield', 'sleep', 'aio_read', 'aio_write', 'aio_error', 'aio_return',
  'aio_suspend', 'aio_cancel', 'getpid', 'getuid', 'geteuid', 'setuid', 'sysctl', 'getrlimit', 'setrlimit', 'kill',
  'sigaction', 'fork', 'spawn', 'thread', 'join', 'waitpid', 'exit', 'gettid', 'getppid',
];
