/**
 * wsmesh RPC server: `add(a, b)` and the async generator `items(count)` shared with
 * `server.origin` in namespace `bench`, called through `RpcProxy`. In a cluster (S7: RPC
 * across servers) each server is a clone (as in wsmesh.ts) and only the first one started
 * has the functions: the load calls them through the last one, one clone link away. It
 * settles once linked to every clone and, on the last server, once `add` answers there.
 * @module
 */
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import { addCallable, originBench, seesAll, startOnFreePort } from '../lib/wsmesh-node.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const { Server } = await loadWsMesh();
  const server = await startOnFreePort(Server, { id: `clone${argument.index}` }, (created) => {
    if (argument.index === 0) originBench(created);
  });
  const { port } = server;
  if (port === undefined) throw new Error('wsmesh server has no port');
  const first = argument.peerPorts[0];
  if (first !== undefined) server.addClone({ id: 'clone0', url: `ws://127.0.0.1:${first}` });
  return {
    port,
    close: () => server.stop(),
    settle: async () => {
      await seesAll(server, argument.servers - 1, true);
      if (argument.index === argument.servers - 1) await addCallable(server);
    },
  };
}

runServerChild(start);
