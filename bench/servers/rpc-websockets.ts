/**
 * rpc-websockets server: method `add` returns `a + b`; event `m` is the fan-out, fed by the
 * notification `pub` (a client publishes, the server emits to every subscriber of `m`).
 * @module
 */
import type { AddressInfo } from 'node:net';
import { Server } from 'rpc-websockets';
import { sumOf } from '../lib/payload.js';
import { runServerChild, type StartedServer } from '../lib/server-child.js';

async function start(): Promise<StartedServer> {
  const server = new Server({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.register('add', (params) => sumOf(params) ?? null);
  server.event('m');
  server.register('pub', (params) => {
    server.emit('m', params);
  });
  const { port } = server.wss.address() as AddressInfo;
  return { port, close: () => server.close() };
}

runServerChild(start);
