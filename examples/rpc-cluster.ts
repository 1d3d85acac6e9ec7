/**
 * RPC clusters on one machine (docs/clustering.md): a chain A <- B <- C and a ring of three
 * servers joined by the namespace group `ring` = left + right. Functions registered anywhere
 * are callable everywhere, changes are pushed at once, and the ring keeps working when one of
 * its servers stops.
 *
 * Run: `npx tsx examples/rpc-cluster.ts` (listens on free ports of 127.0.0.1, exits by itself).
 */
import { RpcProxy, Server } from 'wsmesh';

const secret = process.env.CLUSTER_SECRET ?? 'abcd1234';
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 5 ms, for at most `ms`. */
async function until(condition: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await wait(5)) if (condition()) return true;
  return condition();
}

/** A server on a free port of 127.0.0.1. */
async function startServer(id: string, setup: (server: Server) => void): Promise<Server> {
  const server = new Server({ id, port: 0, host: '127.0.0.1', serverSecret: secret });
  setup(server);
  await server.start();
  return server;
}

/** Links `from` to `to` for `namespace`: `from` dials, the link then works both ways. */
function link(from: Server, to: Server, namespace: string): Promise<void> {
  return from.createServerProxy({
    host: '127.0.0.1',
    port: to.port,
    serverSecret: secret,
    namespace,
  });
}

const names = (proxy: RpcProxy): string =>
  proxy.functions
    .map((info) => info.name)
    .sort()
    .join(', ');

const servers: Server[] = [];
const proxies: RpcProxy[] = [];
try {
  // ---------------------------------------------------------------------------------------
  console.log('--- chain: A(public) <- B(public) <- C(public)');
  for (const letter of ['a', 'b', 'c']) {
    servers.push(
      await startServer(letter.toUpperCase(), (server) => {
        // The seed's functions: a_func(a) returns {a: a}, and so on.
        server.origin((value: unknown) => ({ [letter]: value }), {
          namespace: 'public',
          name: `${letter}_func`,
        });
      }),
    );
  }
  const [a, b, c] = servers;
  if (a === undefined || b === undefined || c === undefined) throw new Error('chain did not start');
  await link(b, a, 'public');
  await link(c, b, 'public');

  // A client proxy on B, as in the seed: it sees the functions of A, B and C.
  const onB = await RpcProxy.create({
    host: '127.0.0.1',
    port: b.port,
    serverSecret: secret,
    namespace: 'public',
  });
  proxies.push(onB);
  await until(() => onB.functions.length === 3);
  console.log(`proxy on B sees: ${names(onB)}`);
  console.log('a_func("a") =', await onB.call('a_func', 'a'));
  console.log('b_func("b") =', await onB.call('b_func', 'b'));
  console.log('c_func("c") =', await onB.call('c_func', 'c'));

  // C calls a_func from inside: the call goes C -> B -> A and the reply comes back.
  const fromC = await c.rpc('public');
  proxies.push(fromC);
  console.log('C calls a_func(42) through B:', await fromC.call('a_func', 42));

  // A function registered later on A is pushed along the chain at once.
  const registered = performance.now();
  a.origin(() => 'registered late on A', { namespace: 'public', name: 'late' });
  await until(() => fromC.functions.some((info) => info.name === 'late'));
  console.log(
    `"late" registered on A, callable on C after ${(performance.now() - registered).toFixed(1)} ms:`,
    await fromC.call('late'),
  );

  // ---------------------------------------------------------------------------------------
  console.log(
    '\n--- ring: A(left) <- B(left) <- C(left), A(right) -> C(right); group ring = left + right',
  );
  const ring: Server[] = [];
  for (const letter of ['a', 'b', 'c']) {
    const server = await startServer(`ring-${letter.toUpperCase()}`, (s) => {
      s.createNamespaceGroup('ring', 'left', 'right');
      s.origin((value: unknown) => ({ [letter]: value }), {
        namespace: 'ring',
        name: `${letter}_func`,
      });
    });
    ring.push(server);
    servers.push(server);
  }
  const [ra, rb, rc] = ring;
  if (ra === undefined || rb === undefined || rc === undefined)
    throw new Error('ring did not start');
  await link(rb, ra, 'left');
  await link(rc, rb, 'left');
  await link(ra, rc, 'right');

  const onA = await RpcProxy.create({
    host: '127.0.0.1',
    port: ra.port,
    serverSecret: secret,
    namespace: 'ring',
  });
  proxies.push(onA);
  await until(() => onA.functions.length === 3);
  console.log(`proxy on ring-A sees: ${names(onA)}`);
  for (const server of ring) {
    const links = server
      .serverLinks()
      .map((entry) => `${entry.peerId} (${entry.namespace}, ${entry.direction})`)
      .join(', ');
    console.log(`${server.id} links: ${links}`);
  }
  console.log('b_func("via ring") =', await onA.call('b_func', 'via ring'));
  console.log('c_func("via ring") =', await onA.call('c_func', 'via ring'));

  console.log('stopping ring-B ...');
  const stopped = performance.now();
  await rb.stop();
  await until(() => !onA.functions.some((info) => info.name === 'b_func'));
  console.log(
    `b_func gone from the proxy on ring-A after ${(performance.now() - stopped).toFixed(1)} ms; it now sees: ${names(onA)}`,
  );
  console.log(
    'ring-A still reaches C over the right link: c_func("after") =',
    await onA.call('c_func', 'after'),
  );
  const fromRingC = await rc.rpc('ring');
  proxies.push(fromRingC);
  console.log('ring-C still reaches A: a_func("after") =', await fromRingC.call('a_func', 'after'));
  try {
    await onA.call('b_func', 'gone');
  } catch (error) {
    console.log(
      `calling b_func now: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  }
} finally {
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await Promise.all(servers.map((server) => server.stop()));
  console.log('\nall servers stopped');
}
