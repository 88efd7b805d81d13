/*
 * panic.ts: a broken kernel invariant stops the machine.  panic() records the panic
 * (panic_set_recorder) and throws KernelPanic; the CPU loop catches it (or any other
 * exception escaping a kernel thread, which it records then), and every CPU halts.
 * KASSERT formats nothing unless it fails.
 */

export class KernelPanic extends Error {
  override name = 'KernelPanic';
}

/* Thrown inside a CPU that must stop because another CPU panicked. */
export class KernelHalt extends Error {
  override name = 'KernelHalt';
}

/*
 * Where a panic is recorded the moment it is raised: set by the engine that runs this
 * isolate's CPUs.  The KernelPanic still unwinds the thread, but a program's own
 * try/catch around a system call could catch it on the way up and run on past the broken
 * invariant; recorded in the kmem header at once, it stops every CPU and fails the
 * machine whatever the program does with the exception.
 */
let recorder: ((e: KernelPanic) => void) | null = null;
export function panic_set_recorder(f: ((e: KernelPanic) => void) | null): void { recorder = f; }

export function panic(msg: string): never {
  const e = new KernelPanic(msg);
  if (recorder !== null) recorder(e);
  throw e;
}

export function KASSERT(cond: boolean, msg: string): asserts cond {
  if (!cond) panic(msg);
}
