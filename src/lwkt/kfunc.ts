/*
 * kfunc.ts: kernel functions that travel by number.
 *
 * An IPI carries a function, a message carries its abort function, a port its put or
 * reply function, a callout its handler.  In C these are pointers; here every CPU is a
 * separate JS isolate, so a function travels as the kstr id of its registered name,
 * which is the same on every CPU because the string table is in kmem.  Each isolate maps
 * ids back to its own copy of the function.
 *
 * Kernel modules register their functions when they load.  A user module that registers
 * functions (port handlers, callouts, IPIs) must be loaded on every CPU that may run
 * them: list it in boot({ modules }), or spawn a thread from it on that CPU first.
 */

import { kstr_intern, kstr_get } from '../../shared/kstr.js';
import { k32 } from '../../shared/kmem.js';
import { panic } from '../../shared/panic.js';

export type KFunc = (...args: number[]) => unknown;

const registered = new Map<string, KFunc>();
let table: (KFunc | undefined)[] = [];
let table_of: Int32Array | null = null;     // the k32 of the attach the table was built under
let attached = false;

/* Register fn under name; returns its id once a machine is attached, else 0. */
export function kfunc_register(name: string, fn: KFunc): number {
  const prev = registered.get(name);
  if (prev !== undefined && prev !== fn) throw new Error(`kfunc_register: '${name}' registered twice`);
  registered.set(name, fn);
  if (!attached) return 0;
  const id = kstr_intern(name);
  table[id] = fn;
  return id;
}

/* Map every registered name to this machine's ids.  Called after kmem_attach. */
export function kfunc_attach(): void {
  if (table_of === k32) return;
  table_of = k32;
  attached = true;
  table = [];
  for (const [name, fn] of registered) table[kstr_intern(name)] = fn;
  for (const hook of attach_hooks) hook();
}

/* Modules that cache ids in globals re-resolve them here on every attach. */
const attach_hooks: (() => void)[] = [];
export function kfunc_on_attach(hook: () => void): void {
  attach_hooks.push(hook);
  if (attached) hook();
}

export function kfunc_id(name: string): number {
  if (!registered.has(name)) throw new Error(`kfunc_id: '${name}' is not registered`);
  return kstr_intern(name);
}

export function kfunc_get(id: number): KFunc {
  const fn = table[id];
  if (fn === undefined) {
    panic(`kfunc: function '${kstr_get(id)}' (id ${id}) is not loaded on this CPU; ` +
      `list its module in boot({ modules })`);
  }
  return fn;
}

export function kfunc_name(id: number): string { return kstr_get(id); }
