/*
 * kernel_knobs.ts: the names the stress command line checks before it boots anything:
 * the kernel's fault sites (kern_fail.ts) and its injectable bugs.
 */

export const FAULT_SITES: readonly string[] = ['mbuf', 'cluster', 'zone', 'ipi_delay', 'spurious_wakeup', 'yield', 'signal', 'kill'];
export const INJECTABLE_BUGS: readonly string[] = [
  'ssb-unlock-no-wakeup', 'sonewconn-wrong-queue', 'soisdisconnected-keeps-snd', 'token-held-across-block',
  'wakeup-no-interlock', 'sowakeup-skips-notify',
];
