/*
 * validate.ts: checks of what a user's program hands boot(), spawn() and spawnProcess(),
 * made on the host before anything starts, each failing with a TypeError (a wrong type,
 * an unknown option) or a RangeError (a value out of range) that names the option.
 */

import { isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BootOptions, ProcessOptions, SpawnOptions } from './machine.js';

/* Every option of BootOptions; the type below fails to compile when one is missing. */
export const BOOT_OPTION_KEYS = [
  'cpus', 'engine', 'seed', 'ipi', 'memory', 'lockstat', 'ipiqSlots', 'maxThreads', 'modules', 'dispatch',
  'maxsockets', 'traceLog', 'stepBudget', 'stepLimit', 'timeBudgetMs', 'points', 'scheduler', 'pctDepth',
  'pctSteps', 'choices', 'recordChoices', 'witness', 'invariants', 'softLockupMs', 'faults', 'injectBug',
] as const satisfies readonly (keyof BootOptions)[];
type MissingBootKey = Exclude<keyof BootOptions, (typeof BOOT_OPTION_KEYS)[number]>;
const boot_keys_complete: [MissingBootKey] extends [never] ? true : MissingBootKey = true;
void boot_keys_complete;

export const SPAWN_OPTION_KEYS = ['cpu', 'module', 'export', 'args', 'name', 'priority'] as const satisfies readonly (keyof SpawnOptions)[];
export const PROCESS_OPTION_KEYS = ['cpu', 'module', 'export', 'args', 'uid', 'name'] as const satisfies readonly (keyof ProcessOptions)[];
type MissingSpawnKey = Exclude<keyof SpawnOptions, (typeof SPAWN_OPTION_KEYS)[number]>;
type MissingProcessKey = Exclude<keyof ProcessOptions, (typeof PROCESS_OPTION_KEYS)[number]>;
const spawn_keys_complete: [MissingSpawnKey | MissingProcessKey] extends [never] ? true : MissingSpawnKey = true;
void spawn_keys_complete;

export const SEED_MAX = 0xffff_ffff;
export const MEMORY_MAX = 1 << 30;   // 1 GiB: mbuf data's byte addresses are kept in 32-bit words

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'bigint') return `the bigint ${v}n`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'object') {
    const c = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return c !== undefined && c !== 'Object' ? `a ${c}` : 'an object';
  }
  return typeof v;
}

/* opts must be a plain object (or undefined) with only the keys given. */
function check_object(fn: string, what: string, opts: unknown, keys: readonly string[]): void {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${fn}: ${what} must be an object${fn === 'boot' ? ' or undefined' : ''}, not ${describe(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!keys.includes(k)) throw new TypeError(`${fn}: unknown option '${k}'; the options are ${keys.join(', ')}`);
  }
}

/* boot()'s options: an object of known keys; seed, memory and maxThreads typed and in range. */
export function check_boot_options(opts: unknown): BootOptions {
  if (opts === undefined) return {};
  check_object('boot', 'options', opts, BOOT_OPTION_KEYS);
  const o = opts as BootOptions;
  const num = (name: keyof BootOptions): void => {
    const v = o[name];
    if (v !== undefined && typeof v !== 'number') throw new TypeError(`boot: ${name} must be a number, not ${describe(v)}`);
  };
  num('seed');
  num('memory');
  num('maxThreads');
  num('cpus');
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > SEED_MAX)) {
    throw new RangeError(`boot: seed must be an integer 0..${SEED_MAX}, not ${o.seed}`);
  }
  if (o.memory !== undefined && (!Number.isInteger(o.memory) || o.memory <= 0 || o.memory > MEMORY_MAX)) {
    throw new RangeError(`boot: memory must be a whole number of bytes, at most ${MEMORY_MAX} (1 GiB), ` +
      `and at least what the kernel's zones need; not ${o.memory}`);
  }
  if (o.modules !== undefined) {
    if (!Array.isArray(o.modules)) throw new TypeError(`boot: modules must be an array of module URLs or paths, not ${describe(o.modules)}`);
    o.modules.forEach((m, i) => resolve_module(`boot: modules[${i}]`, m));
  }
  return o;
}

/*
 * The thread descriptors the kernel takes for itself beyond each CPU's idle thread (which
 * the zone adds): the unp_gc daemon, and a netisr thread per CPU under dispatch 'netisr'.
 * maxThreads must leave one for the user.
 */
export const MAX_THREADS_MAX = 1_000_000;
export function check_max_threads(v: number | undefined, cpus: number, dispatch: string): number {
  if (v === undefined) return 1024;
  const min = 1 + (dispatch === 'netisr' ? cpus : 0) + 1;
  if (!Number.isInteger(v) || v < min || v > MAX_THREADS_MAX) {
    throw new RangeError(`boot: maxThreads must be an integer ${min}..${MAX_THREADS_MAX}, not ${v} (the kernel's own ` +
      `threads take ${min - 1} with ${cpus} CPU${cpus === 1 ? '' : 's'} and dispatch '${dispatch}'; at least one is left for yours)`);
  }
  return v;
}

/*
 * What an argument of spawn or spawnProcess may be: plain data, which crosses to another
 * CPU's isolate (structured clone) and back the same in both engines: undefined, null,
 * booleans, numbers, strings, arrays and plain objects of those, typed arrays, ArrayBuffers
 * and SharedArrayBuffers.  The path to the first thing that is not, or null.
 */
function not_plain(v: unknown, path: string, seen: Set<object>): string | null {
  switch (typeof v) {
    case 'undefined': case 'boolean': case 'number': case 'string': return null;
    case 'bigint': case 'symbol': case 'function': return `${describe(v)} at ${path}`;
  }
  if (v === null) return null;
  const o = v as object;
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof SharedArrayBuffer || o instanceof Date) return null;
  if (seen.has(o)) return null;
  seen.add(o);
  if (o instanceof Map || o instanceof Set) {
    let i = 0;
    for (const x of o instanceof Map ? [...o].flat() : o) {
      const bad = not_plain(x, `${path} (entry ${i++})`, seen);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const bad = not_plain(o[i], `${path}[${i}]`, seen);
      if (bad !== null) return bad;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) return `${describe(o)} at ${path}`;
  for (const [k, x] of Object.entries(o)) {
    const bad = not_plain(x, `${path}.${k}`, seen);
    if (bad !== null) return bad;
  }
  return null;
}

/*
 * A module given as a relative path (./x.js, ../x.js) is resolved against process.cwd();
 * an absolute path or a file: URL must name a file that exists.  Returns the module as
 * given, or the absolute path a relative one stands for.
 */
export function resolve_module(fn: string, spec: unknown): string {
  if (typeof spec !== 'string' || spec === '') {
    throw new TypeError(`${fn}: module must be a module URL or a file path (absolute, or ./ ../ relative to the ` +
      `current directory), not ${spec === undefined ? 'missing' : describe(spec)}`);
  }
  let path: string | null = null;
  let out = spec;
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
    path = resolve(process.cwd(), spec);
    out = path;
  } else if (isAbsolute(spec)) {
    path = spec;
  } else if (spec.startsWith('file:')) {
    try { path = fileURLToPath(spec); } catch { throw new TypeError(`${fn}: module ${spec} is not a valid file: URL`); }
  }
  // tsx (running TypeScript sources) takes x.js for x.ts when only that exists.
  const ts = path?.replace(/\.([mc]?)js$/, '.$1ts');
  if (path !== null && !existsSync(path) && !(ts !== undefined && ts !== path && existsSync(ts))) {
    throw new TypeError(`${fn}: module ${spec}${path !== spec ? ` (${path})` : ''} does not exist`);
  }
  return out;
}

/* spawn's and spawnProcess's options: known keys, a module, args an array of plain data. Returns the module to load. */
export function check_spawn_options(fn: 'spawn' | 'spawnProcess', opts: unknown): string {
  check_object(fn, 'its argument', opts, fn === 'spawn' ? SPAWN_OPTION_KEYS : PROCESS_OPTION_KEYS);
  const o = opts as SpawnOptions;
  const module = resolve_module(fn, o.module);
  if (o.export !== undefined && typeof o.export !== 'string') throw new TypeError(`${fn}: export must be a string, not ${describe(o.export)}`);
  if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError(`${fn}: name must be a string, not ${describe(o.name)}`);
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) {
      throw new TypeError(`${fn}: args must be an array of the arguments, not ${describe(o.args)}`);
    }
    const bad = not_plain(o.args, 'args', new Set());
    if (bad !== null) {
      throw new TypeError(`${fn}: args must be plain data that can cross to another CPU (undefined, null, booleans, ` +
        `numbers, strings, dates, typed arrays, ArrayBuffers, and arrays, plain objects, Maps and Sets of them); found ${bad}`);
    }
  }
  return module;
}
