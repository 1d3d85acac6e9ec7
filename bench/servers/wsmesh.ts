/**
 * wsmesh server: route `add` returns `a + b`; clients subscribe to group `g` and publish to
 * it with `sendMesToGroup` (no server code needed for the fan-out). In a cluster (S3) each
 * server is a clone announcing its own `url` and is told only the first one (`addClone`):
 * the mesh links everyone else. It settles once linked to every other clone.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../lib/free-port.js';
import { sumOf } from '../lib/payload.js';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh, type WsMeshModule } from '../lib/wsmesh-module.js';

type MeshServer = InstanceType<WsMeshModule['Server']>;

const SETTLE_LIMIT_MS = 15_000;
/** `WSMESH_BENCH_HISTORY=<size>` turns group history on (the cost of positions and history). */
const HISTORY_SIZE = Number(process.env.WSMESH_BENCH_HISTORY ?? '0');
const START_ATTEMPTS = 3;

/**
 * Starts a server (route `add`) on a port picked beforehand, so its `url` is known to
 * announce (another process may take the port in between: then it tries another).
 */
async function startOnFreePort(Server: WsMeshModule['Server'], id: string): Promise<MeshServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new Server({
      id,
      url: `ws://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      silent: true,
      ...(HISTORY_SIZE > 0 ? { history: { size: HISTORY_SIZE } } : {}),
    });
    server.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
    try {
      await server.start();
      return server;
    } catch (error) {
      await server.stop().catch(() => undefined);
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Resolves once `server` is linked to (and knows) every other clone of the cluster. */
async function linkedToAll(server: MeshServer, id: string, others: number): Promise<void> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const linked = server.clones.linkedIds().length;
    const known = server.clones.clones.size;
    if (linked === others && known === others) return;
    if (performance.now() > deadline) {
      throw new Error(
        `wsmesh ${id}: linked to ${linked} and knows ${known} of ${others} clones after ${SETTLE_LIMIT_MS} ms`,
      );
    }
    await delay(10);
  }
}

async function start(argument: ServerArgument): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const id = `clone${argument.index}`;
  const server = await startOnFreePort(Server, id);
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  const first = argument.peerPorts[0];
  if (first !== undefined) server.addClone({ id: 'clone0', url: `ws://127.0.0.1:${first}` });
  return {
    port,
    close: () => server.stop(),
    settle: () => linkedToAll(server, id, argument.servers - 1),
  };
}

runServerChild(start);
