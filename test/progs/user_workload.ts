/*
 * A user's own stress workloads, as the README shows them: a module exporting Workload
 * objects.  `pingpong` is correct; the others are broken on purpose, to show how the tool
 * reports a workload that throws, never yields, or checks wrongly.
 */
import { AF_LOCAL, SOCK_STREAM, type Sys } from '../../src/index.js';
import type { Workload, WorkloadContext, ProcessOutcome } from '../../src/stress/index.js';

const HERE = import.meta.url;

export function* pingpong(sys: Sys, rounds: number) {
  const [a, b] = yield* sys.socketpair(AF_LOCAL, SOCK_STREAM);
  const buf = new Uint8Array(1);
  for (let i = 0; i < rounds; i++) {
    buf[0] = i & 0xff;
    yield* sys.send(a, buf);
    if ((yield* sys.recv(b, buf)) !== 1 || buf[0] !== (i & 0xff)) throw new Error(`round ${i}: wrong byte`);
  }
  return rounds;
}

export function* spins(_sys: Sys) {
  for (;;) { /* never yields: a program computing without system calls */ }
}

const ok = (ctx: WorkloadContext) => ({ failures: [] as string[], ops: 2 * ctx.ops, bytes: 0, checks: 1 });

const workload: Workload = {
  name: 'pingpong',
  description: 'a socketpair ping-pong in one process per CPU',
  plan: (ctx) => Array.from({ length: ctx.cpus }, (_, cpu) => ({ cpu, module: HERE, export: 'pingpong', args: [ctx.ops] })),
  check(outcomes: ProcessOutcome[], ctx) {
    const r = ok(ctx);
    for (const o of outcomes) if (!o.ok || o.value !== ctx.ops) r.failures.push(`pingpong: ${o.ok ? String(o.value) : o.error}`);
    return r;
  },
};
export default workload;

export const planThrows: Workload = {
  name: 'plan-throws', description: 'its plan throws',
  plan: () => { throw new Error('plan: no such socket family'); },
  check: (_o, ctx) => ok(ctx),
};

export const neverYields: Workload = {
  name: 'never-yields', description: 'its program never makes a system call',
  plan: () => [{ cpu: 0, module: HERE, export: 'spins', args: [] }],
  check: (_o, ctx) => ok(ctx),
};

export const wrongCheck: Workload = {
  name: 'wrong-check', description: 'its check finds a wrong value',
  plan: (ctx) => [{ cpu: 0, module: HERE, export: 'pingpong', args: [ctx.ops] }],
  check: (outcomes, ctx) => ({ ...ok(ctx), failures: outcomes.map((o) => `expected ${ctx.ops + 1}, got ${o.ok ? String(o.value) : o.error}`) }),
};
