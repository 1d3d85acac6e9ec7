/**
 * wsmesh RPC server: `add(a, b)` and the async generator `items(count)` shared with
 * `server.origin` in namespace `bench`, called through `RpcProxy`.
 * @module
 */
import { runServerChild, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

async function start(): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const server = new Server({ host: '127.0.0.1', port: 0, silent: true });
  server.origin(
    function add(a: number, b: number) {
      return a + b;
    },
    { namespace: 'bench' },
  );
  server.origin(
    async function* items(count: number) {
      for (let index = 0; index < count; index++) yield index;
    },
    { namespace: 'bench' },
  );
  await server.start();
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  return { port, close: () => server.stop() };
}

runServerChild(start);
