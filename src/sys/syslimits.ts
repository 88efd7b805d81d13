/*
 * sys/syslimits.ts: the limits a program can know (sys/syslimits.h).
 */

/* Bytes of arguments a new program or thread can be given (DragonFly: 256 KB; here 64 KB,
   because the kmalloc256 zone that carries them holds 512 KB in all: kern_exec_args.ts). */
export const ARG_MAX = 65536;
