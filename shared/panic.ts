/*
 * panic.ts: a broken kernel invariant stops the machine.  panic() throws KernelPanic;
 * the CPU loop catches it (or any other exception escaping a kernel thread), records it
 * in the kmem header and halts every CPU.  KASSERT formats nothing unless it fails.
 */

export class KernelPanic extends Error {
  override name = 'KernelPanic';
}

/* Thrown inside a CPU that must stop because another CPU panicked. */
export class KernelHalt extends Error {
  override name = 'KernelHalt';
}

export function panic(msg: string): never {
  throw new KernelPanic(msg);
}

export function KASSERT(cond: boolean, msg: string): asserts cond {
  if (!cond) panic(msg);
}
