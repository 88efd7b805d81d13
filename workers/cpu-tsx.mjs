// Starts a CPU worker from the TypeScript sources (tests run the sources without building):
// Node 20 cannot strip types, so register tsx's loader first, then import the .ts entry.
import { register } from 'tsx/esm/api';
register();
await import(new URL('./cpu.ts', import.meta.url).href);
