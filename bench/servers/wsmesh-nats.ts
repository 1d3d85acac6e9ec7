/**
 * wsmesh on the NATS backplane (`natsBackplane` from `wsmesh/nats`): every server of the
 * cluster connects to the one nats-server the orchestrator started for the trial (the broker,
 * like Socket.IO's redis-server); nodes find each other through it (no `addClone`). Group
 * fan-out as in wsmesh.ts; `add` and `items` of namespace `bench` on the first server only
 * (S7: the load calls them through the last). Settles once it sees every other node and, on
 * the last server, once `add` answers there.
 * @module
 */
import { sumOf } from '../lib/payload.js';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh, loadWsMeshNats } from '../lib/wsmesh-module.js';
import { addCallable, originBench, seesAll } from '../lib/wsmesh-node.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const [{ Server }, { natsBackplane }] = await Promise.all([loadWsMesh(), loadWsMeshNats()]);
  const natsPort = argument.natsPorts[0];
  if (natsPort === undefined) throw new Error('no nats-server for wsmesh-nats');
  const server = new Server({
    id: `node${argument.index}`,
    host: '127.0.0.1',
    port: 0,
    silent: true,
    backplane: natsBackplane({ servers: `nats://127.0.0.1:${natsPort}` }),
  });
  server.addRoute({ route: 'add', handler: ({ data }) => sumOf(data) ?? null });
  if (argument.index === 0) originBench(server);
  await server.start();
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  return {
    port,
    close: () => server.stop(),
    settle: async () => {
      await seesAll(server, argument.servers - 1, false);
      if (argument.index === argument.servers - 1) await addCallable(server);
    },
  };
}

runServerChild(start);
