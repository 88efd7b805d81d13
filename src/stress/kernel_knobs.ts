/*
 * kernel_knobs.ts: the names the stress command line checks before it boots anything:
 * the kernel's fault sites and its injectable bugs (kern_fail.ts).
 */

export { FAULT_SITES, INJECT_BUGS as INJECTABLE_BUGS } from '../kern/kern_fail.js';
