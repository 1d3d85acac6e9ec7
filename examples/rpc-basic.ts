/**
 * `npx tsx examples/rpc-basic.ts`: the RPC seed's basic example in TypeScript. A web server
 * (a plain `http` server; Express or Fastify work the same) hosts an RPC endpoint at
 * `/ws/server_a` that shares functions in the `database` namespace; a proxy calls them as if
 * they were local.
 * Everything runs in this process on a free port, prints what happens and stops by itself.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NoRouteError, RemoteError, RpcProxy, Server } from 'wsmesh';

const SECRET = 'abcd1234';

// --- the server ------------------------------------------------------------------------------
// The "database" the shared functions read.
const db = new Map<string, { name: string; color: string; count: number }>([
  ['foo', { name: 'foo', color: 'red', count: 3 }],
  ['bar', { name: 'bar', color: 'blue', count: 5 }],
]);

const web = createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.end('the web app keeps serving its own routes\n');
});
await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
const { port } = web.address() as AddressInfo;

const rpcServer = new Server({ server: web, path: '/ws/server_a', serverSecret: SECRET });

// @rpc_server.origin(namespace='database')
rpcServer.origin({ namespace: 'database' })(async function get_data_from_db(key: string) {
  console.log(`  [server] get_data_from_db(${JSON.stringify(key)})`);
  const row = db.get(key);
  if (row === undefined) throw new RangeError(`no row named ${key}`);
  return row;
});

rpcServer.origin(
  // A default value (not `color?: string`) makes the argument optional at runtime too.
  async function* get_rows(color = 'any') {
    for (const row of db.values()) {
      if (color === 'any' || row.color === color) yield row;
    }
  },
  { namespace: 'database' },
);

await rpcServer.start();
console.log(`server: RPC endpoint ws://127.0.0.1:${port}/ws/server_a (namespace "database")\n`);

// --- the client ------------------------------------------------------------------------------
type DatabaseApi = {
  get_data_from_db(key: string): Promise<{ name: string; color: string; count: number }>;
  get_rows(color?: string): AsyncGenerator<{ name: string; color: string; count: number }>;
};

const proxy = await RpcProxy.create<DatabaseApi>({
  host: '127.0.0.1',
  port,
  path: '/ws/server_a',
  serverSecret: SECRET,
  namespace: 'database',
});

try {
  console.log('client: functions the proxy knows:');
  for (const info of proxy.functions) {
    console.log(`  ${info.name}(${info.params.join(', ')})  kind=${info.kind} arity=${info.arity}`);
  }

  console.log(
    '\nclient: get_data_from_db = proxy["get_data_from_db"]; await get_data_from_db("foo")',
  );
  const get_data_from_db = proxy['get_data_from_db'];
  const result = await get_data_from_db('foo');
  console.log('  ->', result);

  console.log('\nclient: for await (const row of proxy.get_rows()) (a generator streams)');
  for await (const row of proxy.get_rows()) console.log('  ->', row);
  console.log('client: proxy.get_rows("blue")');
  for await (const row of proxy.get_rows('blue')) console.log('  ->', row);

  console.log('\nclient: a remote exception comes back as RemoteError');
  try {
    await proxy.get_data_from_db('missing');
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.log(`  -> ${error.remoteName}: ${error.message} (raised on ${String(error.origin)})`);
  }

  console.log('\nclient: an unknown function is a NoRouteError');
  try {
    await proxy.call('drop_table' as keyof DatabaseApi, 'foo');
  } catch (error) {
    if (!(error instanceof NoRouteError)) throw error;
    console.log(`  -> ${error.code}: ${error.message}`);
  }

  console.log('\nclient: a wrong secret is refused');
  try {
    await RpcProxy.create({ host: '127.0.0.1', port, path: '/ws/server_a', serverSecret: 'wrong' });
  } catch (error) {
    console.log(`  -> ${(error as Error).name}: ${(error as Error).message}`);
  }
} finally {
  await proxy.close();
  await rpcServer.stop();
  await new Promise<void>((resolve) => web.close(() => resolve()));
}
console.log('\nstopped.');
