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

  it('run stream: bytes conserved, checksums match, throughput and the tables', async () => {
    const r = await run(['run', 'stream', '--cpus', '2', '--bytes', '300000']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/server on CPU 1, client on CPU 0: 300,000 bytes/);
    expect(r.stdout).toMatch(/^ +\[pid \d+\] server: received 300000 bytes, checksum 0x[0-9a-f]{8}$/m);
    expect(r.stdout).toMatch(/bytes +300,000 sent = 300,000 received +OK/);
    expect(r.stdout).toMatch(/checksum +(0x[0-9a-f]{8}) = \1 +match OK/);
    expect(r.stdout).toMatch(/^throughput +[\d.,]+ MB\/s/m);
    expect(r.stdout).toMatch(/^cpu +threads +switches\/s +IPIs sent\/s/m);
    expect(r.stdout).toMatch(/^class +acquisitions/m);
    expect(r.stdout).toMatch(/^mbuf +256 /m);
  }, 20_000);

  it('run stream in the deterministic engine with netisr dispatch', async () => {
    const r = await run(['run', 'stream', '--engine', 'deterministic', '--seed', '9', '--dispatch', 'netisr',
      '--cpus', '3', '--bytes', '100000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deterministic engine, netisr dispatch');
    expect(r.stdout).toMatch(/checksum +(0x[0-9a-f]{8}) = \1 +match OK/);
    expect(r.stdout).toMatch(/MB\/virtual s/);
  }, 20_000);

  it('run accept-storm: backlog 2 queues 4 of 12 connectors, the rest are refused, then all are accepted', async () => {
    const r = await run(['run', 'accept-storm', '--cpus', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/at most 4 complete connections are queued/);
    expect(r.stdout).toMatch(/^ +connected +4$/m);
    expect(r.stdout).toMatch(/^ +refused +8 \(ECONNREFUSED\)$/m);
    expect(r.stdout).toMatch(/^ +accepted +4, then 0 left in the queue$/m);
    expect(r.stdout).toMatch(/4 connected <= 4 +OK/);
    expect(r.stdout).not.toMatch(/MISMATCH|OVER/);
  }, 20_000);

  it.each([['parallel', 'bgl'], ['deterministic', 'netisr']])('run poll-server (%s, %s): one kevent loop serves every client', async (engine, dispatch) => {
    const r = await run(['run', 'poll-server', '--cpus', '3', '--engine', engine, '--dispatch', dispatch, '--connectors', '9',
      '--messages', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ +connections +9 accepted, 9 closed/m);
    expect(r.stdout).toMatch(/^ +echoes +36 lines \(\d+ bytes\) echoed; 36 checked by the clients$/m);
    expect(r.stdout).toMatch(/every connection accepted and closed +OK/);
    expect(r.stdout).toMatch(/every line echoed intact +OK/);
    expect(r.stdout).toMatch(/back to their starting counts +OK/);
  }, 20_000);

  it.each([['parallel', 'bgl'], ['deterministic', 'netisr']])('run pass-fd (%s, %s): sockets passed both ways across CPUs, the cycle collected', async (engine, dispatch) => {
    const r = await run(['run', 'pass-fd', '--cpus', '2', '--engine', engine, '--dispatch', dispatch]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[pid 1\] recv\(\d+\): "hello from pid 2 through fd \d+"/);
    expect(r.stdout).toMatch(/passed both ways +OK/);
    expect(r.stdout).toMatch(/inflight 2 -> 0 after [1-9]\d* unp_gc pass\(es\) +OK/);
    expect(r.stdout).toMatch(/back to their starting counts +OK/);
  }, 20_000);

  it('run accept-storm with --backlog 3 --connectors 9 (floor(9/2) + 1 = 5), deterministic', async () => {
    const r = await run(['run', 'accept-storm', '--engine', 'deterministic', '--cpus', '3', '--backlog', '3',
      '--connectors', '9']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ +connected +5$/m);
    expect(r.stdout).toMatch(/^ +refused +4 \(ECONNREFUSED\)$/m);
    expect(r.stdout).toMatch(/^ +accepted +5, then 0 left/m);
  }, 20_000);

  it.each(['parallel', 'deterministic'])('run socketpair (%s): the walkthrough\'s steps, in order', async (engine) => {
    const r = await run(['run', 'socketpair', '--cpus', '2', '--engine', engine]);
    expect(r.code, r.stderr).toBe(0);
    const steps = [...r.stdout.matchAll(/\[pid \d+\] ktrace: (\w+)\(/g)].map((x) => x[1]);
    const pair = ['socketpair', 'socreate', 'pffindtype', 'socreate', 'pffindtype', 'falloc', 'falloc', 'soconnect2'];
    expect(steps).toEqual([...pair, ...pair, 'soconnect2']);   // a datagram pair connects back too
    expect(r.stdout).toMatch(/ktrace: socketpair\(AF_LOCAL, SOCK_STREAM, 0\)/);
    expect(r.stdout).toMatch(/ktrace: socreate\(AF_LOCAL, SOCK_DGRAM, 0\)/);
    expect(r.stdout).toMatch(/ktrace: falloc\(\) -> fd 3, file 0x[0-9a-f]+\n.*ktrace: falloc\(\) -> fd 4/);
    // The datagram pair's two soconnect2 calls are the same sockets, swapped.
    const c2 = [...r.stdout.matchAll(/soconnect2\(so (0x[0-9a-f]+), so (0x[0-9a-f]+)\)/g)].slice(1);
    expect([c2[1][1], c2[1][2]]).toEqual([c2[0][2], c2[0][1]]);
    expect(r.stdout).toMatch(/messages +whole, both ways, on both pairs +OK/);
  }, 20_000);

  it('run <module path>: the program\'s console output and its return value', async () => {
    const prog = fileURLToPath(new URL('../dist/test/progs/cli_prog.js', import.meta.url));
    const r = await run(['run', prog, 'x', 'y', '--cpus', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/main\(sys, "x", "y"\) as one process on CPU 0/);
    expect(r.stdout).toMatch(/\[pid 1\] got 'hello over a socketpair'/);
    expect(r.stdout).toMatch(/^returned \[ 23, 1, 'x', 'y' \]$/m);
    const f = await run(['run', prog, '--export', 'fails', '--cpus', '1']);
    expect(f.code).toBe(1);
    expect(f.stdout).toMatch(/\[pid 1\] about to fail/);
    expect(f.stdout).toMatch(/killed: program threw SysError: close: EBADF/);
    const stuck = await run(['run', prog, '--export', 'stuck', '--cpus', '1', '--soft-lockup', '0.5']);
    expect(stuck.code).toBe(1);
    expect(stuck.stdout).toMatch(/\[pid 1\] computing/);
    expect(stuck.stderr).toMatch(/^lwkt-sim: soft lockup: cpu0 has run one step for \d\.\d s without a thread switch/m);
    expect(stuck.stderr).toMatch(/^ {4}at stuck \(.*cli_prog\.js:\d+:\d+\)$/m);
    const off = await run(['run', prog, '1', '--export', 'stuck', '--cpus', '1', '--soft-lockup', '0']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/^returned 1$/m);
    const missing = await run(['run', prog, '--export', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no function export 'nope'/);
  }, 20_000);

  it.each([[['run', 'no-such-scenario']], [['run']], [['run', 'stream', '--bytes', '0']],
    [['run', 'stream', '--dispatch', 'mpsafe']], [['run', 'stream', '--soft-lockup', '-1']], [['run', 'accept-storm', '--backlog', 'x']]])(
    'run usage errors exit 2: %j', async (args) => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }, 20_000);

  it('lists its subcommands and knows its version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ +demo\b/m);
    expect(help.stdout).toMatch(/^ +run\b/m);
    expect(help.stdout).toMatch(/^ +help\b/m);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
  }, 20_000);
});
