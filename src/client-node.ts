/**
 * `wsmesh/client` on Node (the `node` export condition): the same names as the browser entry
 * (src/browser.ts), over `ws`, since Node 20 has no global `WebSocket`.
 * @module
 */
export { Client, Client as WebClient } from './client/client.js';
export { RpcProxy } from './client/node-rpc-proxy.js';
export * from './client/exports.js';
