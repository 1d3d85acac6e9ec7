/**
 * wsmesh server: route `add` returns `a + b`; clients subscribe to group `g` and publish to
 * it with `sendMesToGroup` (no server code needed for the fan-out). Told of peers (S3), it
 * joins them as a clone (`addClone`) and reports ready once linked to all of them.
 * @module
 */
import { sumOf } from '../lib/payload.js';
import { setTimeout as delay } from 'node:timers/promises';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const server = new Server({
    id: `clone${argument.index}`,
    host: '127.0.0.1',
    port: 0,
    silent: true,
  });
  server.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
  await server.start();
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  argument.peerPorts.forEach((peerPort, index) => {
    server.addClone({ id: `clone${index}`, url: `ws://127.0.0.1:${peerPort}` });
  });
  for (let waited = 0; server.clones.linkedIds().length < argument.peerPorts.length; waited += 10) {
    if (waited > 10_000) throw new Error('wsmesh clones not linked within 10 s');
    await delay(10);
  }
  return { port, close: () => server.stop() };
}

runServerChild(start);
