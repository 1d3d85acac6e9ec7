/**
 * wsmesh server: route `add` returns `a + b`; clients subscribe to group `g` and publish to
 * it with `sendMesToGroup` (no server code needed for the fan-out).
 * @module
 */
import { sumOf } from '../lib/payload.js';
import { runServerChild, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

async function start(): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const server = new Server({ host: '127.0.0.1', port: 0, silent: true });
  server.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
  await server.start();
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  return { port, close: () => server.stop() };
}

runServerChild(start);
