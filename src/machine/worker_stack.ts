/*
 * worker_stack.ts: the JS stack a worker is running right now, even one that never
 * returns to its event loop.
 *
 * The host opens an inspector session, attaches to the worker through the NodeWorker
 * domain, and asks its debugger to pause: V8 takes the pause at the worker's next
 * interrupt check (any loop back edge or call), so a CPU stuck in a kernel loop still
 * answers.  The call frames come back, the worker is resumed and the session closed.
 * Used only once a machine has already failed (a soft lockup); nothing is attached
 * while a machine runs.
 */

import inspector from 'node:inspector';
import type { Worker } from 'node:worker_threads';

interface CallFrame { functionName: string; location: { scriptId: string; lineNumber: number; columnNumber: number } }

/* Resolves to the worker's stack, one `    at fn (url:line:col)` line a frame, or undefined after timeout_ms. */
export async function worker_stack(w: Worker, timeout_ms: number): Promise<string | undefined> {
  const session = new inspector.Session();
  try {
    session.connect();
  } catch {
    return undefined;
  }
  const urls = new Map<string, string>();
  let id = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeout_ms);
      session.on('NodeWorker.attachedToWorker', (m) => {
        // workerId is the inspector's own numbering; the title starts with the thread id.
        const { sessionId, workerInfo } = m.params as { sessionId: string; workerInfo: { title: string } };
        if (!workerInfo.title.startsWith(`[worker ${w.threadId}]`)) return;
        const send = (method: string): void => session.post('NodeWorker.sendMessageToWorker',
          { sessionId, message: JSON.stringify({ id: ++id, method }) });
        session.on('NodeWorker.receivedMessageFromWorker', (r) => {
          const { message } = r.params as { message: string };
          const e = JSON.parse(message) as { method?: string; params?: { scriptId?: string; url?: string; callFrames?: CallFrame[] } };
          if (e.method === 'Debugger.scriptParsed') urls.set(e.params!.scriptId!, e.params!.url!);
          else if (e.method === 'Debugger.paused') {
            send('Debugger.resume');
            send('Debugger.disable');
            resolve(e.params!.callFrames!.map((f) => `    at ${f.functionName || '<anonymous>'} ` +
              `(${urls.get(f.location.scriptId) ?? '?'}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1})`).join('\n'));
          }
        });
        send('Debugger.enable');
        send('Debugger.pause');
      });
      session.post('NodeWorker.enable', { waitForDebuggerOnStart: false }, (err) => { if (err) resolve(undefined); });
    });
  } finally {
    clearTimeout(timer);
    session.disconnect();
  }
}
