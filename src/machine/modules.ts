/*
 * modules.ts: find the generator function a thread runs, given a module URL and an
 * export name.  Modules are imported once per isolate and kept.
 */

import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';

export type ThreadFn = (...args: unknown[]) => Generator<number, unknown, unknown>;

const loaded = new Map<string, Record<string, unknown>>();

export function module_url(spec: string): string {
  if (spec.startsWith('file:') || spec.startsWith('node:') || spec.startsWith('data:')) return spec;
  if (isAbsolute(spec)) return pathToFileURL(spec).href;
  return spec;  // a package name: resolved by import()
}

export async function module_load(spec: string): Promise<Record<string, unknown>> {
  const url = module_url(spec);
  let m = loaded.get(url);
  if (m === undefined) {
    m = (await import(url)) as Record<string, unknown>;
    loaded.set(url, m);
  }
  return m;
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
