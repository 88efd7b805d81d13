/* comlink 4.4.2 ships its Node adapter without an exports map or ESM typings (comlink#675). */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: unknown): Endpoint;
}
