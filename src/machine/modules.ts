/*
 * modules.ts: find the generator function a thread runs, given a module URL and an
 * export name.  Modules are imported once per isolate and kept.
 */

import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';

export type ThreadFn = (...args: unknown[]) => Generator<number, unknown, unknown>;

const loaded = new Map<string, Record<string, unknown>>();

export function module_url(spec: string): string {
  if (spec.startsWith('file:') || spec.startsWith('node:') || spec.startsWith('data:')) return spec;
  if (isAbsolute(spec)) return pathToFileURL(spec).href;
  // A relative path (./x.js, ../x.js) is the user's, relative to the current directory.
  if (spec.startsWith('./') || spec.startsWith('../')) return pathToFileURL(resolve(process.cwd(), spec)).href;
  return spec;  // a package name: resolved by import()
}

export async function module_load(spec: string): Promise<Record<string, unknown>> {
  const url = module_url(spec);
  let m = loaded.get(url);
  if (m === undefined) {
    m = await import_module(url);
    loaded.set(url, m);
  }
  return m;
}

/*
 * Import a module; a TypeScript one too.  Node 20 cannot strip types, so the first .ts
 * module an isolate meets (on the host, in a CPU worker, in a pool task alike) registers
 * tsx's loader there and is imported again.  An isolate that already has a loader for .ts
 * (vitest, a tsx-run host) imports it at the first try.
 */
let ts_loader: Promise<void> | null = null;

/*
 * A syntax error in an imported module: Node's message has no file or line.  `node
 * --check` on the file says where (this is the error path only).
 */
function syntax_error_at(url: string, e: SyntaxError): SyntaxError {
  if (!url.startsWith('file:')) return e;
  const path = fileURLToPath(url.replace(/\?.*$/, ''));
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const at = /^(\/[^\n]*:\d+)\n/.exec(r.stderr ?? '');
  const err = new SyntaxError(`${at !== null ? at[1] : path}: ${e.message}`);
  err.stack = `SyntaxError: ${err.message}`;
  return err;
}
export async function import_module(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof SyntaxError) throw syntax_error_at(url, e);
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && !url.startsWith('file:') && !url.startsWith('node:')) {
      // Node names the importer (this file); name what the user gave instead.
      throw new TypeError(`module '${url}' not found: a package name resolves from lwkt-sim's own folder; ` +
        `give a file path (absolute, or ./relative to the working directory) or a file: URL`);
    }
    if ((e as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?tsx?$/.test(new URL(url, 'file:///').pathname)) throw e;
    ts_loader ??= import('tsx/esm/api').then((t) => { t.register(); });
    await ts_loader;
    // Node keeps the failed load under the URL: a query makes it a new one for the loader.
    return (await import(`${url}${url.includes('?') ? '&' : '?'}lwkt-ts`)) as Record<string, unknown>;
  }
}

/* The export as a thread function, or a readable error. */
export async function thread_fn(spec: string, name: string): Promise<ThreadFn> {
  const m = await module_load(spec);
  const fn = m[name];
  if (typeof fn !== 'function') throw new TypeError(`spawn: ${spec} has no function export '${name}'`);
  return fn as ThreadFn;
}

export function is_generator(g: unknown): g is Generator<number, unknown, unknown> {
  return typeof g === 'object' && g !== null && typeof (g as Generator).next === 'function' &&
    typeof (g as Generator).throw === 'function';
}

/*
 * Where fn is exported from, among the modules this isolate has loaded: its module URL
 * and export name, or null.  A program started on another CPU is found again there by
 * these two names (each CPU of the parallel engine is its own isolate).
 */
export function module_export_of(fn: unknown): { url: string; name: string } | null {
  for (const [url, m] of loaded) {
    for (const name of Object.keys(m)) if (m[name] === fn) return { url, name };
  }
  return null;
}

/* The export `name` of an already loaded module, or undefined when it is not loaded here. */
export function module_export_loaded(url: string, name: string): unknown {
  return loaded.get(url)?.[name];
}
