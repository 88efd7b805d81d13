/*
 * lwkt-sim as a user gets it: the packed package installed in a project of its own, a
 * TypeScript program there type-checked against the package's types (strict, NodeNext)
 * and run through the CLI and through the API, in both engines.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir = '';

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd, timeout, maxBuffer: 16 << 20 }, (e, out, err) => {
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lwkt-consumer-'));
  const pack = await run('npm', ['pack', '--pack-destination', dir], ROOT);
  expect(pack.code, pack.err).toBe(0);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "version": "1.0.0", "type": "module", "private": true }\n');
  // Dependencies come from npm's cache (npm ci filled it); the registry only if it must.
  const inst = await run('npm', ['install', `./${tgz}`, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir, 240_000);
  expect(inst.code, inst.err).toBe(0);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext',
    moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] } }));
  writeFileSync(join(dir, 'prog.ts'), `import { AF_LOCAL, SOCK_STREAM, type Sys } from 'lwkt-sim';
export function* main(sys: Sys): Generator<number, number, unknown> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const n: number = yield* sys.send(a, new Uint8Array([1, 2, 3]));
  const got: number = yield* sys.recv(b, new Uint8Array(8));
  yield* sys.print(\`echo \${got}\`);
  return n;
}
`);
  writeFileSync(join(dir, 'host.ts'), `import { boot, type EngineName } from 'lwkt-sim';
import type { Workload } from 'lwkt-sim/stress';
export const none: Workload | null = null;
const engine = process.argv[2] as EngineName;
const m = await boot({ engine, cpus: 2 });
const t = await m.spawnProcess({ cpu: 1, module: new URL('./prog.ts', import.meta.url).href, export: 'main' });
console.log(\`joined \${String(await m.join(t))}\`);
await m.shutdown();
`);
}, 300_000);

describe('a project that installs the packed package', () => {
  it('type-checks a TypeScript program against the package (strict, NodeNext)', async () => {
    const r = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir);
    expect(r.code, r.out + r.err).toBe(0);
  });

  for (const engine of ['parallel', 'deterministic']) {
    it(`runs it through the CLI (${engine})`, async () => {
      const r = await run(process.execPath, [join(dir, 'node_modules/lwkt-sim/dist/src/cli/main.js'), 'run', './prog.ts', '--engine', engine], dir);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('echo 3');
      expect(r.out).toContain('returned 3');
    });

    it(`runs it through the API, from a TypeScript host (${engine})`, async () => {
      const r = await run(process.execPath, ['--import', 'tsx', 'host.ts', engine], dir);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('joined 3');
    });
  }
});
