/*
 * validation.test.ts runs this as a child process: it boots a parallel machine, joins a
 * thread and never shuts the machine down.  Node must still exit by itself.
 */
import { boot } from '../../src/index.js';

const m = await boot({ engine: 'parallel', cpus: 2, memory: 32 << 20 });
const id = await m.spawn({ module: new URL('./validation_progs.ts', import.meta.url).href, export: 'plus_one', args: [41] });
console.log(`joined ${String(await m.join(id))}`);
