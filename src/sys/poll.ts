/* sys/poll.ts: poll(2) event bits and struct pollfd (DragonFly sys/poll.h). */
export const POLLIN = 0x0001;         // any readable data available
export const POLLPRI = 0x0002;        // OOB/urgent readable data
export const POLLOUT = 0x0004;        // file descriptor is writeable
export const POLLERR = 0x0008;        // some poll error occurred (returned only)
export const POLLHUP = 0x0010;        // file descriptor was "hung up" (returned only)
export const POLLNVAL = 0x0020;       // requested events "invalid": the fd is not open (returned only)
export const POLLRDNORM = 0x0040;     // non-OOB/URG data available
export const POLLWRNORM = POLLOUT;    // no write type differentiation
export const POLLRDBAND = 0x0080;     // OOB/urgent readable data
export const POLLWRBAND = 0x0100;     // OOB/urgent data can be written
export const POLLINIGNEOF = 0x2000;   // like POLLIN, except ignore EOF

export const INFTIM = -1;             // poll's timeout: wait forever

/*
 * struct pollfd { int fd; short events; short revents; }, as the kernel half of poll
 * sees the caller's array: three ints an entry (sys.ts packs the program's objects).
 */
export const PFD_FD = 0;
export const PFD_EVENTS = 1;
export const PFD_REVENTS = 2;
export const POLLFD_INTS = 3;

/* FD_SETSIZE (sys/select.h): poll always allows this many entries, whatever RLIMIT_NOFILE says. */
export const FD_SETSIZE = 1024;

/* One entry of poll's array, as a program passes it: poll sets revents. */
export interface PollFd {
  fd: number;          // a descriptor; a negative one is skipped
  events: number;      // POLL* bits wanted
  revents?: number;    // POLL* bits that hold (written by poll)
}

/* What select returns: the count of ready descriptors and each set's ready ones. */
export interface SelectResult {
  n: number;
  readfds: number[];
  writefds: number[];
  exceptfds: number[];
}
