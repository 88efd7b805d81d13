/*
 * A user's own programs: TypeScript runs directly (the CLI and spawnProcess, in every
 * engine), and a program's error shows its own file and line, with the likely mistake
 * named (an unknown Sys method, a call without yield*), and a syntax error names its file.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINES, machine, down, downFailed } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const API = join(ROOT, 'dist/src/index.js');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lwkt-user-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'prog.ts'), `import { AF_LOCAL, SOCK_STREAM, type Sys } from ${JSON.stringify(API)};
export function* main(sys: Sys): Generator<number, number, unknown> {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const n: number = yield* sys.send(a, new Uint8Array([1, 2, 3]));
  yield* sys.print(\`sent \${n}\`);
  return n;
}
export function* boom(sys: Sys): Generator<number, number, unknown> {
  yield* sys.getpid();
  throw new Error('boom');
}
export function* typo(sys: any): Generator<number, number, unknown> {
  const s = yield* sys.sokcet(1, 1);
  return s;
}
export function* noyield(sys: Sys) {
  return sys.socket(1, 1);
}
`);
  writeFileSync(join(dir, 'bad.mjs'), 'export function* main(sys) {\n  yield* sys.getpid();\n  const x = ;\n}\n');
});

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir, timeout: 60_000 }, (e, out, err) => {
      res({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

describe('TypeScript programs run directly', () => {
  for (const engine of ENGINES) {
    it(`lwkt-sim run ./prog.ts (${engine})`, async () => {
      const r = await cli(['run', './prog.ts', '--engine', engine]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('[pid 1] sent 3');
      expect(r.out).toContain('returned 3');
    });

    it(`spawnProcess of a .ts module, by path (${engine})`, async () => {
      const m = await machine({ engine, cpus: 2 });
      const t = await m.spawnProcess({ cpu: 1, module: join(dir, 'prog.ts'), export: 'main' });
      expect(await m.join(t)).toBe(3);
      await down(m);
    });
  }
});

describe("a program's errors show where", () => {
  for (const engine of ENGINES) {
    it(`a throw names the program's file and line, without the simulator's frames (${engine})`, async () => {
      const r = await cli(['run', './prog.ts', '--export', 'boom', '--engine', engine]);
      expect(r.code).toBe(1);
      expect(r.out + r.err).toMatch(/program threw Error: boom\n\s+at boom \(.*prog\.ts:10:9\)/);
      expect(r.out + r.err).not.toMatch(/kern_exec|lwkt_thread/);
    });

    it(`an unknown Sys method is named, with the one meant (${engine})`, async () => {
      const r = await cli(['run', './prog.ts', '--export', 'typo', '--engine', engine]);
      expect(r.out + r.err).toContain("Sys has no method 'sokcet': did you mean 'socket'?");
      expect(r.out + r.err).toMatch(/at typo \(.*prog\.ts:13:\d+\)/);
    });

    it(`a system call made without yield* is named (${engine})`, async () => {
      const r = await cli(['run', './prog.ts', '--export', 'noyield', '--engine', engine]);
      expect(r.out + r.err).toContain('a system call needs yield*');
    });
  }

  it('a syntax error names its file and line (status 2)', async () => {
    const r = await cli(['run', './bad.mjs']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/bad\.mjs:3: Unexpected token ';'/);
  });
});

describe('the command line says what applies, and how to rerun', () => {
  it('options the run would ignore are refused with one line (status 2)', async () => {
    const bad: [string[], RegExp][] = [
      [['run', 'socketpair', '--seed', '3'], /--seed applies to the deterministic engine/],
      [['demo', '--engine', 'deterministic', '--soft-lockup', '3'], /--soft-lockup applies to the parallel engine/],
      [['run', 'socketpair', '--engine', 'deterministic', '--bytes', '10'], /--bytes applies to stream, not to socketpair/],
      [['run', 'stream', '--engine', 'deterministic', '--messages', '3'], /--messages applies to poll-server, not to stream/],
    ];
    for (const [args, re] of bad) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    }
  });

  it('a deterministic run prints its seed, trace hash and a rerun command that gives the same hash', async () => {
    const r = await cli(['run', 'stream', '--engine', 'deterministic', '--bytes', '50000', '--seed', '5']);
    expect(r.code, r.err).toBe(0);
    const m = /deterministic run: seed 5, trace hash (\S+); rerun: npx lwkt-sim (.*)/.exec(r.out);
    expect(m).not.toBeNull();
    const again = await cli(m![2].split(' '));
    expect(again.out).toContain(`trace hash ${m![1]};`);
  });
});

describe('Ctrl-C', () => {
  function interrupted(args: string[], ready: RegExp): Promise<{ code: number | null; out: string; signal: string | null }> {
    return new Promise((res, rej) => {
      const p = execFile(process.execPath, [CLI, ...args], { cwd: dir, timeout: 60_000 });
      let out = '', err = '';
      let sent = false;
      const check = (): void => {
        if (!sent && ready.test(out + err)) { sent = true; p.kill('SIGINT'); }
      };
      p.stdout!.on('data', (d: Buffer) => { out += d.toString(); check(); });
      p.stderr!.on('data', (d: Buffer) => { err += d.toString(); check(); });
      p.on('exit', (code, signal) => res({ code, out, signal }));
      p.on('error', rej);
    });
  }

  it('run: prints what was measured so far and exits 130', async () => {
    const r = await interrupted(['run', 'stream', '--engine', 'deterministic', '--bytes', '2000000000'], /bytes of checksummed data/);
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/interrupted after [\d.]+ s; what was measured so far:/);
    expect(r.out).toContain('lock classes');
  });

  it('stress: prints the summary of the seeds that finished and exits 130', async () => {
    const r = await interrupted(['stress', '--seeds', '100000', '--ops', '20', '--workload', 'stream', '--jobs', '1'], /seeds \d+\/100000/);
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/interrupted; the seeds that finished:\n[\s\S]*seeds: \d+ run, \d+ passed, 0 failed/);
  });
});

describe('a program started with spawn instead of spawnProcess', () => {
  for (const engine of ENGINES) {
    it(`is named as the likely mistake (${engine})`, async () => {
      const m = await machine({ engine, cpus: 1 });
      const t = await m.spawn({ cpu: 0, module: join(dir, 'prog.ts'), export: 'main' });
      const e = (await m.join(t).then(() => null, (x: unknown) => x)) as Error;
      expect(e.message).toContain("reading 'socketpair'");
      expect(e.message).toContain('start it with spawnProcess');
      await downFailed(m);
    });
  }
});
