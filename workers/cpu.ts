/*
 * workers/cpu.ts: a Node worker thread becomes one simulated CPU.  Everything it needs
 * (kmem, its CPU number, its IPI ports) comes in workerData, and for each later machine
 * in a boot message; see src/machine/cpu_worker.ts.
 */
import { cpu_worker_serve } from '../src/machine/cpu_worker.js';

await cpu_worker_serve();
