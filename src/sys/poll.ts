/* sys/poll.ts: poll(2) event bits (DragonFly sys/poll.h). */
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDNORM = 0x0040;
export const POLLWRNORM = POLLOUT;
export const POLLRDBAND = 0x0080;
export const POLLWRBAND = 0x0100;
export const POLLINIGNEOF = 0x2000;   // like POLLIN, except ignore EOF
