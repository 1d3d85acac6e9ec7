/**
 * `npx tsx examples/rpc-namespaces.ts`: easyrpc's multiple-namespace example in TypeScript.
 * One server at `/ws/easy` shares `private_function` in `private`, `public_func` in `public`,
 * and `open_function` in both; a namespace group `everything` spans the two (a function
 * registered to the group lands in each member) and a shared logger lives in `logs`. One proxy
 * per namespace shows what each one can reach. Runs on a free port and stops by itself.
 */
import { NoRouteError, RpcProxy, Server } from 'wsmesh';

const SECRET = 'abcd1234';

// --- the server ------------------------------------------------------------------------------
const easyServer = new Server({
  host: '127.0.0.1',
  port: 0,
  path: '/ws/easy',
  serverSecret: SECRET,
});

// @easy_server.origin(namespace='private')
easyServer.origin({ namespace: 'private' })(function private_function(
  a: number,
  b: number,
  c: number,
) {
  console.log(`  [server] private_function ${a} ${b} ${c}`);
  return { private_function: [a, b, c] };
});

// @easy_server.origin(namespace='public')
easyServer.origin({ namespace: 'public' })(function public_func(a: number, b: number, c: number) {
  console.log(`  [server] public_func ${a} ${b} ${c}`);
  return { public_func: [a, b, c] };
});

// @easy_server.origin(namespace='public')
// @easy_server.origin(namespace='private')
// Keyword arguments become a trailing options object.
function open_function(a: number, kw: Record<string, unknown> = {}) {
  console.log(`  [server] open_function ${a} ${JSON.stringify(kw)}`);
  return { open_function: [a, kw] };
}
easyServer.origin(open_function, { namespace: 'public' });
easyServer.origin(open_function, { namespace: 'private' });

// A namespace group: one name for both namespaces; registering to it registers in each.
easyServer.createNamespaceGroup('everything', 'public', 'private');
easyServer.origin(
  function server_time() {
    return new Date().toISOString();
  },
  { namespace: 'everything' },
);

// A shared logger (easyrpc's registerLogger): remote code logs through this server.
easyServer.registerLogger(
  {
    info: (...args: unknown[]) => console.log('  [server log] INFO', ...args),
    warn: (...args: unknown[]) => console.log('  [server log] WARNING', ...args),
    error: (...args: unknown[]) => console.log('  [server log] ERROR', ...args),
    debug: (...args: unknown[]) => console.log('  [server log] DEBUG', ...args),
  },
  { namespace: 'logs' },
);

await easyServer.start();
const port = easyServer.port;
if (port === undefined) throw new Error('the server did not report its port');
console.log(
  `server: ws://127.0.0.1:${port}/ws/easy with namespaces public, private, group everything, logs\n`,
);

// --- the client ------------------------------------------------------------------------------
type OpenFunction = (
  a: number,
  kw?: Record<string, unknown>,
) => { open_function: [number, Record<string, unknown>] };
type PrivateApi = {
  private_function(a: number, b: number, c: number): { private_function: number[] };
  open_function: OpenFunction;
  server_time(): string;
};
type PublicApi = {
  public_func(a: number, b: number, c: number): { public_func: number[] };
  open_function: OpenFunction;
  server_time(): string;
};
type EverythingApi = PrivateApi & PublicApi;
type LogsApi = Record<
  'info' | 'warning' | 'error' | 'debug' | 'exception',
  (...args: unknown[]) => void
>;

const connect = <Api>(namespace: string): Promise<RpcProxy<Api>> =>
  RpcProxy.create<Api>({
    host: '127.0.0.1',
    port,
    path: '/ws/easy',
    serverSecret: SECRET,
    namespace,
  });

const privateProxy = await connect<PrivateApi>('private');
const publicProxy = await connect<PublicApi>('public');
const everything = await connect<EverythingApi>('everything');
const logs = await connect<LogsApi>('logs');

try {
  for (const proxy of [privateProxy, publicProxy, everything, logs]) {
    const list = proxy.functions
      .map((info) => `${info.name}(${info.params.join(', ')})`)
      .join(', ');
    console.log(`client: namespace "${proxy.namespace}" has ${list}`);
  }

  console.log("\nclient: await easy_proxy['private_function'](1, 5, 7)");
  console.log('  ->', await privateProxy['private_function'](1, 5, 7));

  console.log("\nclient: await easy_proxy.open_function(1, { keyword: 'value' })");
  console.log('  ->', JSON.stringify(await privateProxy.open_function(1, { keyword: 'value' })));

  console.log('\nclient: the private proxy cannot reach public_func');
  try {
    await privateProxy.call('public_func' as keyof PrivateApi);
  } catch (error) {
    if (!(error instanceof NoRouteError)) throw error;
    console.log(`  -> ${error.code}: ${error.message}`);
  }

  console.log('\nclient: the public proxy can');
  console.log('  ->', await publicProxy.public_func(2, 4, 6));

  console.log('\nclient: the group proxy reaches both namespaces');
  console.log('  ->', await everything.private_function(7, 8, 9));
  console.log('  ->', await everything.public_func(1, 2, 3));
  console.log(
    '  -> server_time() in each member:',
    await privateProxy.server_time(),
    await publicProxy.server_time(),
  );

  console.log(
    '\nclient: a function registered later shows up in every proxy of the group, unasked',
  );
  easyServer.origin(
    function late_arrival() {
      return 'registered after the proxies connected';
    },
    { namespace: 'everything' },
  );
  const deadline = Date.now() + 5000;
  const hasLate = (proxy: { functions: { name: string }[] }): boolean =>
    proxy.functions.some((info) => info.name === 'late_arrival');
  while (
    !(hasLate(privateProxy) && hasLate(publicProxy) && hasLate(everything)) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(
    `  -> private sees it: ${hasLate(privateProxy)}, public: ${hasLate(publicProxy)}, group: ${hasLate(everything)}`,
  );
  console.log('  ->', await everything.call('late_arrival' as keyof EverythingApi));

  console.log('\nclient: logging through the shared logger');
  await logs.info('hello from a proxy', { pid: process.pid });
  await logs.warning('warning falls back to the logger’s warn');
  await logs.exception('exception falls back to error');
} finally {
  await Promise.all([privateProxy.close(), publicProxy.close(), everything.close(), logs.close()]);
  await easyServer.stop();
}
console.log('\nstopped.');
