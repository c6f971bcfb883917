// What of this package runs in a browser: the PDU classes and command ids.
// Bundlers pick this file instead of index.ts (package.json "browser"); the gRPC
// definitions and the node:crypto content cipher stay out of browser bundles.
export { IM } from './gen/pb';
export * from './commands';
export * from './wire-time';
