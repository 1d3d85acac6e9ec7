/**
 * Browser entry point: `import { Client, WebClient, RpcProxy } from 'wsmesh/client'`.
 *
 * Same API as the Node client (`Client` and `WebClient` are the same class here), over the
 * platform `WebSocket`. Nothing reachable from this module uses a Node built-in; MessagePack
 * (`msgpackr`) is loaded only if a client asks for `codec: 'msgpack'`.
 * @module
 */
export { WebClient, WebClient as Client, RpcProxy } from './client/web-client.js';
export * from './client/exports.js';
