import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Runs the compiled CLI: `npm test` builds first.
const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const RUN_TIMEOUT_MS = 15_000;

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string }

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build; npm test does it)`);
});

describe('lwkt-sim CLI', () => {
  it('demo runs on 2 CPUs, checks out and prints its tables', async () => {
    const r = await run(['demo', '--seconds', '1', '--cpus', '2']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cpu +threads +switches\/s +IPIs sent\/s +IPIs recv\/s +msgs sent\/s +msgs recv\/s +idle$/m);
    expect(r.stdout).toMatch(/token counter +[\d,]+ = [\d,]+ increments +OK/);
    expect(r.stdout).toMatch(/ping-pong replies 0 wrong in [\d,]+ round trips +OK/);
    expect(r.stdout).toMatch(/^demo_token +[\d,]+/m);
    expect(r.stdout).toMatch(/^zone +item bytes +used +hiwat +limit +failures$/m);
  }, 20_000);

  it('demo runs on the deterministic engine in virtual time', async () => {
    const r = await run(['demo', '--engine', 'deterministic', '--seconds', '0.5', '--cpus', '2', '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('per virtual second');
    expect(r.stdout).toMatch(/^cpu +threads +switches\/s/m);
    expect(r.stdout).toMatch(/token counter +[\d,]+ = [\d,]+ increments +OK/);
  }, 20_000);

  it.each([['--cpus', '0'], ['--cpus', '99'], ['--cpus', 'two']])('rejects %s %s with status 2', async (...opt) => {
    const r = await run(['demo', ...opt]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cpus/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 20_000);

  it('rejects an unknown engine with status 2', async () => {
    const r = await run(['demo', '--engine', 'foo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/engine/);
  }, 20_000);

  it('lists its subcommands and knows its version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ +demo\b/m);
    expect(help.stdout).toMatch(/^ +help\b/m);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
  }, 20_000);
});
