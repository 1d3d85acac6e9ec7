/**
 * wsmesh server: route `add` returns `a + b`; clients subscribe to group `g` and publish to
 * it with `sendMesToGroup` (no server code needed for the fan-out). In a cluster (S3) each
 * server is a clone announcing its own `url` and is told only the first one (`addClone`):
 * the mesh links everyone else. It settles once linked to every other clone.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sumOf } from '../lib/payload.js';
import {
  extraListeners,
  runServerChild,
  type ServerArgument,
  type StartedServer,
} from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import { seesAll, startOnFreePort } from '../lib/wsmesh-node.js';

/** One server on several ports (the connections curve): its own http server, more listeners. */
async function startWide(argument: ServerArgument): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const http = createServer();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const server = new Server({ server: http, silent: true });
  server.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
  await server.start();
  const extra = await extraListeners(argument.listeners - 1, http);
  const { port } = http.address() as AddressInfo;
  return {
    port,
    extraPorts: extra.ports,
    close: async () => {
      extra.close();
      await server.stop();
      http.close();
    },
  };
}

async function start(argument: ServerArgument): Promise<StartedServer> {
  if (argument.listeners > 1) return startWide(argument);
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
