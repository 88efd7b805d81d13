// A stress seed's piscina task from the TypeScript sources (tests): register tsx's loader
// (Node 20 cannot strip types), then hand over to the .ts task.
import { register } from 'tsx/esm/api';
register();
const task = await import(new URL('../src/stress/stress_task.ts', import.meta.url).href);
export default task.default;
