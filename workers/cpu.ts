/*
 * workers/cpu.ts: a Node worker thread becomes one simulated CPU.  Everything it needs
 * (kmem, its CPU number, its IPI ports) comes in workerData; see src/machine/cpu_worker.ts.
 */
import { cpu_worker_main } from '../src/machine/cpu_worker.js';

await cpu_worker_main();
