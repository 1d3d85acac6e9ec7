/**
 * wsmesh server: route `add` returns `a + b`; clients subscribe to group `g` and publish to
 * it with `sendMesToGroup` (no server code needed for the fan-out). In a cluster (S3) each
 * server is a clone announcing its own `url` and is told only the first one (`addClone`):
 * the mesh links everyone else. It settles once linked to every other clone.
 * @module
 */
import { sumOf } from '../lib/payload.js';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import { seesAll, startOnFreePort } from '../lib/wsmesh-node.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const server = await startOnFreePort(Server, { id: `clone${argument.index}` }, (created) => {
    created.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
  });
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  const first = argument.peerPorts[0];
  if (first !== undefined) server.addClone({ id: 'clone0', url: `ws://127.0.0.1:${first}` });
  return {
    port,
    close: () => server.stop(),
    settle: () => seesAll(server, argument.servers - 1, true),
  };
}

runServerChild(start);
