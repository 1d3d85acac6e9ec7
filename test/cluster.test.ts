/**
 * RPC clusters in one process, over real sockets on 127.0.0.1 (docs/clustering.md, SPEC
 * section 5, issue 6): the seed's patterns (chaining, forking, the ring with a namespace group,
 * the multi-group example), any topology (A -> B -> A, a triangle in one namespace, a full
 * mesh) without loops or double execution, shortest path first and local first, changes
 * pushed at once, overlapping calls, calls back over the incoming link, streams and
 * cancellation across hops, link breaks (reset and silent cut) with fast failure of calls in
 * flight, functions disappearing and coming back with redial, a wrong secret, and load
 * spreading over duplicates. Each "trap" of LESSONS.md (RPC cluster section) has a test here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortError,
  AuthError,
  ConnectionClosedError,
  ErrorCode,
  NoRouteError,
  RemoteError,
  RpcProxy,
  TimeoutError,
  WsMeshError,
  type Server,
  type ServerOptions,
} from '../src/index.js';
import type { PeerDialer } from '../src/cluster/peer-dialer.js';
import {
  elapsedMs,
  functionNames,
  hasAll,
  hasNone,
  LinkRelay,
  median,
  streamFn,
} from './cluster-helpers.js';
import { Cleanup, getFreePort, startServer, waitFor, within } from './helpers.js';
import { rejectsWith, responderSnapshot } from './rpc-helpers.js';

const SECRET = 'cluster-secret';
const HOST = '127.0.0.1';

/** Resolves after `ms` without keeping the process alive (functions left hanging at the end). */
function nap(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The seed's `x_func(x) { return {x: x} }` for server letter `letter`. */
function seedFunc(letter: string): (value: unknown) => Record<string, unknown> {
  return (value: unknown) => ({ [letter]: value });
}

/** Servers, links, relays and proxies of one test; `stop()` releases all of them. */
class Cluster {
  readonly servers = new Map<string, Server>();
  private readonly cleanup = new Cleanup();

  /** Starts a server with id `id` on 127.0.0.1 (port 0 unless given) and the shared secret. */
  async node(
    id: string,
    setup?: (server: Server) => void,
    options: ServerOptions = {},
  ): Promise<Server> {
    const { server } = await startServer({ id, serverSecret: SECRET, ...options }, setup);
    this.servers.set(id, server);
    this.cleanup.add(() => server.stop());
    return server;
  }

  /** The server with id `id`. */
  get(id: string): Server {
    const server = this.servers.get(id);
    assert.ok(server !== undefined, `no server ${id}`);
    return server;
  }

  /** `from.createServerProxy(...)` to `to` (a server or a port, e.g. a relay's). */
  async link(from: Server, to: Server | number, namespace: string): Promise<void> {
    await from.createServerProxy({
      host: HOST,
      port: typeof to === 'number' ? to : portOf(to),
      path: '/',
      serverSecret: SECRET,
      namespace,
    });
  }

  /** A client proxy to `server` for `namespace` (closed by `stop()`). */
  async proxy(server: Server, namespace: string): Promise<RpcProxy> {
    const proxy = await RpcProxy.create({
      host: HOST,
      port: portOf(server),
      serverSecret: SECRET,
      namespace,
    });
    this.cleanup.add(() => proxy.close());
    return proxy;
  }

  /** `server.rpc(namespace)`, closed by `stop()`. */
  async view(server: Server, namespace: string): Promise<RpcProxy> {
    const view = await server.rpc(namespace);
    this.cleanup.add(() => view.close());
    return view;
  }

  /** A relay in front of `to` (closed by `stop()`). */
  async relay(to: Server): Promise<LinkRelay> {
    const relay = await LinkRelay.start(portOf(to));
    this.cleanup.add(() => relay.close());
    return relay;
  }

  /** Registers a teardown step. */
  onStop(step: () => unknown): void {
    this.cleanup.add(step);
  }

  /** Stops everything (proxies first, then servers), ignoring errors. */
  stop(): Promise<void> {
    return this.cleanup.run();
  }
}

function portOf(server: Server): number {
  const { port } = server;
  assert.ok(port !== undefined, `${server.id} is not listening`);
  return port;
}

/** Waits until `view` (a proxy or `server.rpc` view) lists every name of `wanted`. */
async function seesAll(
  view: RpcProxy,
  wanted: string[],
  label: string,
  timeoutMs = 5000,
): Promise<void> {
  await waitFor(
    () => hasAll(view.functions, wanted),
    timeoutMs,
    `${label} sees ${wanted.join(', ')}`,
    2,
  );
}

/** Waits until `view` lists none of `unwanted`. */
async function seesNone(
  view: RpcProxy,
  unwanted: string[],
  label: string,
  timeoutMs = 5000,
): Promise<void> {
  await waitFor(
    () => hasNone(view.functions, unwanted),
    timeoutMs,
    `${label} lost ${unwanted.join(', ')}`,
    2,
  );
}

/** Peer ids of the live links of `server`. */
function peers(server: Server): string[] {
  return server
    .serverLinks()
    .map((link) => link.peerId)
    .sort();
}

/** Sum of the calls in flight over every link of `server`. */
function inFlight(server: Server): number {
  return server.serverLinks().reduce((total, link) => total + link.inFlight, 0);
}

/** RPC calls served by `server` so far (calls it ran or forwarded). */
function served(server: Server): number {
  return server.stats().rpc.calls;
}

/**
 * Calls `name(...args)` in `namespace` over each open link of `from` to `peerId` (not through
 * the route choice: straight over that link) and waits for every reply; returns the number of
 * calls made. A link is FIFO, so every call `from` sent over it before reached the peer first
 * and, for a synchronous function, ran there before the reply came back: a barrier after which
 * "nothing more ran" can be asserted without waiting for time to pass.
 */
async function callOverEachLink(
  from: Server,
  peerId: string,
  namespace: string,
  name: string,
  ...args: unknown[]
): Promise<number> {
  const links = [...from['linkManager']['links']].filter(
    (link) => link.peerId === peerId && link.open,
  );
  assert.ok(links.length > 0, `${from.id} has no link to ${peerId}`);
  await Promise.all(links.map((link) => link.caller.call(namespace, name, args)));
  return links.length;
}

function log(message: string): void {
  console.log(`    [cluster] ${message}`);
}

describe("the seed's patterns", () => {
  test('chaining A <- B <- C <- D: D calls a_func, A calls d_func, a proxy on B sees all four', async () => {
    const cluster = new Cluster();
    try {
      const [a, b, c, d] = await Promise.all(
        ['a', 'b', 'c', 'd'].map((letter) =>
          cluster.node(letter.toUpperCase(), (server) =>
            server.origin(seedFunc(letter), { namespace: 'public', name: `${letter}_func` }),
          ),
        ),
      );
      assert.ok(a && b && c && d);
      await cluster.link(b, a, 'public');
      await cluster.link(c, b, 'public');
      await cluster.link(d, c, 'public');
      const all = ['a_func', 'b_func', 'c_func', 'd_func'];

      const proxyB = await cluster.proxy(b, 'public');
      await seesAll(proxyB, all, 'proxy on B');
      assert.deepEqual(functionNames(proxyB.functions), all);
      assert.deepEqual(await proxyB.call('a_func', 'a'), { a: 'a' });
      assert.deepEqual(await proxyB.call('b_func', 'b'), { b: 'b' });
      assert.deepEqual(await proxyB.call('c_func', 'c'), { c: 'c' });
      assert.deepEqual(await proxyB.call('d_func', 'd'), { d: 'd' });

      // D calls a_func through C and B (each forwards it once), and A calls d_func back.
      const viewD = await cluster.view(d, 'public');
      const viewA = await cluster.view(a, 'public');
      await seesAll(viewD, all, 'D');
      await seesAll(viewA, all, 'A');
      const before = [a, b, c, d].map(served);
      assert.deepEqual(await viewD.call('a_func', 'from D'), { a: 'from D' });
      assert.deepEqual(
        [a, b, c, d].map((server, index) => served(server) - (before[index] ?? 0)),
        [1, 1, 1, 0],
        'D -> C -> B -> A: C and B forward, A runs (D calls in-process)',
      );
      assert.deepEqual(await viewA.call('d_func', 'from A'), { d: 'from A' });

      // Every server, and a proxy on each end, reaches every function.
      for (const server of [a, b, c, d]) {
        const view = await cluster.view(server, 'public');
        await seesAll(view, all, server.id);
        for (const name of all) {
          const letter = name.charAt(0);
          assert.deepEqual(await view.call(name, server.id), { [letter]: server.id });
        }
      }
      const proxyD = await cluster.proxy(d, 'public');
      assert.deepEqual(await proxyD.call('a_func', 1), { a: 1 });
      const proxyA = await cluster.proxy(a, 'public');
      assert.deepEqual(await proxyA.call('d_func', 2), { d: 2 });
    } finally {
      await cluster.stop();
    }
  });

  test('forking A <- B, A <- C, A <- D: B calls d_func through A', async () => {
    const cluster = new Cluster();
    try {
      const [a, b, c, d] = await Promise.all(
        ['a', 'b', 'c', 'd'].map((letter) =>
          cluster.node(letter.toUpperCase(), (server) =>
            server.origin(seedFunc(letter), { namespace: 'pub', name: `${letter}_func` }),
          ),
        ),
      );
      assert.ok(a && b && c && d);
      await Promise.all([
        cluster.link(b, a, 'pub'),
        cluster.link(c, a, 'pub'),
        cluster.link(d, a, 'pub'),
      ]);
      const all = ['a_func', 'b_func', 'c_func', 'd_func'];
      const proxyB = await cluster.proxy(b, 'pub');
      await seesAll(proxyB, all, 'proxy on B');
      const beforeA = served(a);
      const beforeD = served(d);
      assert.deepEqual(await proxyB.call('d_func', 'x'), { d: 'x' });
      assert.equal(served(a) - beforeA, 1, 'A forwarded the call');
      assert.equal(served(d) - beforeD, 1, 'D ran it');
      for (const server of [a, b, c, d]) {
        const view = await cluster.view(server, 'pub');
        await seesAll(view, all, server.id);
        for (const name of all) assert.deepEqual(await view.call(name, 0), { [name.charAt(0)]: 0 });
      }
    } finally {
      await cluster.stop();
    }
  });

  test("the ring (group 'ring' = left + right): every server reaches every function; a broken link fails over", async () => {
    const cluster = new Cluster();
    try {
      const make = (letter: string): Promise<Server> =>
        cluster.node(letter.toUpperCase(), (server) => {
          server.createNamespaceGroup('ring', 'left', 'right');
          server.origin(seedFunc(letter), { namespace: 'ring', name: `${letter}_func` });
        });
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(make));
      assert.ok(a && b && c);
      // A(left) <- B(left) <- C(left), A(right) -> C(right). B -> A goes through a relay so
      // that one link can be broken without stopping a server.
      const relayBA = await cluster.relay(a);
      await cluster.link(b, relayBA.port, 'left');
      await cluster.link(c, b, 'left');
      await cluster.link(a, c, 'right');
      const all = ['a_func', 'b_func', 'c_func'];
      const views = new Map<string, RpcProxy>();
      for (const server of [a, b, c]) {
        const view = await cluster.view(server, 'ring');
        views.set(server.id, view);
        await seesAll(view, all, server.id);
        for (const name of all)
          assert.deepEqual(await view.call(name, server.id), { [name.charAt(0)]: server.id });
        // A client proxy to the group sees and calls everything too.
        const proxy = await cluster.proxy(server, 'ring');
        await seesAll(proxy, all, `proxy on ${server.id}`);
        for (const name of all)
          assert.deepEqual(await proxy.call(name, 1), { [name.charAt(0)]: 1 });
      }
      const viewA = views.get('A');
      const viewB = views.get('B');
      assert.ok(viewA && viewB);
      assert.deepEqual(peers(a), ['B', 'C']);

      // Break B -> A (a reset, as a crash of the link would look): A reaches b_func via C -> B,
      // and c_func via the right path; B reaches a_func via C.
      const cutAt = performance.now();
      await relayBA.cut();
      await waitFor(
        () => !peers(a).includes('B') && !peers(b).includes('A'),
        3000,
        'A and B dropped their link',
        1,
      );
      const detected = elapsedMs(cutAt);
      assert.deepEqual(await viewA.call('b_func', 'after cut'), { b: 'after cut' });
      const failedOver = elapsedMs(cutAt);
      assert.deepEqual(await viewA.call('c_func', 'after cut'), { c: 'after cut' });
      assert.deepEqual(await viewB.call('a_func', 'after cut'), { a: 'after cut' });
      assert.deepEqual(peers(a), ['C']);
      log(
        `ring: link reset seen after ${detected} ms, A -> b_func failed over after ${failedOver} ms`,
      );

      // The link comes back by itself (B redials through the relay).
      const restoredAt = performance.now();
      await relayBA.restore();
      await waitFor(() => peers(a).includes('B'), 10_000, 'B redialed A', 5);
      log(`ring: B -> A redialed ${elapsedMs(restoredAt)} ms after the relay was back`);

      // Stop B altogether: A still reaches c_func (right path); b_func is gone everywhere.
      await b.stop();
      assert.deepEqual(await viewA.call('c_func', 'B stopped'), { c: 'B stopped' });
      const viewC = views.get('C');
      assert.ok(viewC);
      assert.deepEqual(await viewC.call('a_func', 'B stopped'), { a: 'B stopped' });
      await seesNone(viewA, ['b_func'], 'A');
      await seesNone(viewC, ['b_func'], 'C');
      await rejectsWith(viewA.call('b_func', 1), NoRouteError, ErrorCode.NO_ROUTE);
    } finally {
      await cluster.stop();
    }
  });

  test("the multi-group example: group 'all' = Public, Private, Open on A; a proxy to 'all' reaches C, F and H", async () => {
    const cluster = new Cluster();
    try {
      // Public A <- B <- C, Private A <- D <- E <- F, Open A -> G -> H.
      const a = await cluster.node('A', (server) => {
        server.createNamespaceGroup('all', 'Public', 'Private', 'Open');
        server.origin(
          function func(x: number, y: number, z = 10) {
            return [x, y, z];
          },
          { namespace: 'all' },
        );
        // Registered in one member only (not through the group).
        server.origin(
          function open_only() {
            return 'Open on A';
          },
          { namespace: 'Open' },
        );
      });
      const leaf = (id: string, namespace: string): Promise<Server> =>
        cluster.node(id, (server) => {
          server.origin(seedFunc(id.toLowerCase()), {
            namespace,
            name: `${id.toLowerCase()}_func`,
          });
        });
      const [b, c, d, e, f, g, h] = await Promise.all([
        leaf('B', 'Public'),
        leaf('C', 'Public'),
        leaf('D', 'Private'),
        leaf('E', 'Private'),
        leaf('F', 'Private'),
        leaf('G', 'Open'),
        leaf('H', 'Open'),
      ]);
      assert.ok(b && c && d && e && f && g && h);
      await cluster.link(b, a, 'Public');
      await cluster.link(c, b, 'Public');
      await cluster.link(d, a, 'Private');
      await cluster.link(e, d, 'Private');
      await cluster.link(f, e, 'Private');
      await cluster.link(a, g, 'Open');
      await cluster.link(g, h, 'Open');

      const everything = [
        'b_func',
        'c_func',
        'd_func',
        'e_func',
        'f_func',
        'func',
        'g_func',
        'h_func',
        'open_only',
      ];
      const all = await cluster.proxy(a, 'all');
      await seesAll(all, everything, "proxy on A, namespace 'all'");
      assert.deepEqual(functionNames(all.functions), everything);
      assert.deepEqual(await all.call('c_func', 'c'), { c: 'c' });
      assert.deepEqual(await all.call('f_func', 'f'), { f: 'f' });
      assert.deepEqual(await all.call('h_func', 'h'), { h: 'h' });
      assert.deepEqual(await all.call('func', 1, 2), [1, 2, 10]);
      const info = all.functions.find((entry) => entry.name === 'func');
      assert.deepEqual(info?.params, ['x', 'y', 'z']);
      assert.equal(info?.arity, 2);

      // A proxy to one member namespace on A reaches the other chains too: the group makes
      // one routing zone on A, so F (Private) reaches H (Open) and C (Public) through A.
      const publicOnA = await cluster.proxy(a, 'Public');
      await seesAll(publicOnA, ['c_func', 'f_func', 'h_func'], "proxy on A, namespace 'Public'");
      const viewF = await cluster.view(f, 'Private');
      await seesAll(viewF, ['c_func', 'h_func', 'func'], 'F');
      assert.deepEqual(await viewF.call('h_func', 'from F'), { h: 'from F' });
      assert.deepEqual(await viewF.call('c_func', 'from F'), { c: 'from F' });
      assert.deepEqual(await viewF.call('func', 3, 4, 5), [3, 4, 5]);
      assert.equal(await all.call('open_only'), 'Open on A');

      // Whatever any server or proxy lists is callable from there (nothing is advertised
      // that the next hop would refuse).
      const views = [all, publicOnA, viewF];
      for (const server of [b, c, d, e, f, g, h]) {
        views.push(await cluster.view(server, server.registry.namespaceNames()[0] ?? 'none'));
      }
      for (const view of views) {
        for (const info of view.functions) {
          const args = info.name === 'func' ? [1, 2] : info.name.endsWith('_func') ? [0] : [];
          await view.call(info.name, ...args);
        }
      }
    } finally {
      await cluster.stop();
    }
  });
});

describe('any topology: no loops, no double execution', () => {
  test('A -> B and B -> A both created (the seed forbade it): calls work and run once', async () => {
    const cluster = new Cluster();
    try {
      const runs = { a: 0, b: 0 };
      const a = await cluster.node('A', (server) =>
        server.origin(
          function a_func(x: number) {
            runs.a++;
            return x + 1;
          },
          { namespace: 'pub' },
        ),
      );
      const b = await cluster.node('B', (server) =>
        server.origin(
          function b_func(x: number) {
            runs.b++;
            return x + 2;
          },
          { namespace: 'pub' },
        ),
      );
      const c = await cluster.node('C');
      await cluster.link(a, b, 'pub');
      await cluster.link(b, a, 'pub');
      await cluster.link(c, a, 'pub');
      const proxyA = await cluster.proxy(a, 'pub');
      const proxyC = await cluster.proxy(c, 'pub');
      await seesAll(proxyA, ['a_func', 'b_func'], 'proxy on A');
      await seesAll(proxyC, ['a_func', 'b_func'], 'proxy on C');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => proxyA.call('b_func', i)),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      assert.equal(runs.b, 20, 'each call ran once on B');
      for (let i = 0; i < 10; i++) assert.equal(await proxyC.call('b_func', i), i + 2);
      for (let i = 0; i < 10; i++) assert.equal(await proxyC.call('a_func', i), i + 1);
      assert.equal(runs.b, 30);
      assert.equal(runs.a, 10);
      // Two links between A and B, both up; nothing loops (no route through A is kept on A).
      assert.equal(a.serverLinks().filter((link) => link.peerId === 'B').length, 2);
      // No stray execution: a late duplicate or a looping call would have been sent over one
      // of these links before the probes, so it runs before them (links are FIFO).
      const probes =
        (await callOverEachLink(a, 'B', 'pub', 'b_func', 0)) +
        (await callOverEachLink(b, 'A', 'pub', 'a_func', 0)) +
        (await callOverEachLink(c, 'A', 'pub', 'a_func', 0));
      assert.equal(probes, 5, 'A and B probed over both their links, C over its own');
      assert.equal(runs.a + runs.b, 40 + probes, 'no stray executions');
    } finally {
      await cluster.stop();
    }
  });

  test('a triangle A -> B -> C -> A in one namespace: a dead node vanishes everywhere; A still calls its own function', async () => {
    const cluster = new Cluster();
    try {
      const runs = new Map<string, number>();
      const make = (id: string): Promise<Server> =>
        cluster.node(id, (server) =>
          server.origin(
            () => {
              runs.set(id, (runs.get(id) ?? 0) + 1);
              return id;
            },
            { namespace: 'pub', name: `${id.toLowerCase()}_func` },
          ),
        );
      const [a, b, c] = await Promise.all(['A', 'B', 'C'].map(make));
      assert.ok(a && b && c);
      await cluster.link(a, b, 'pub');
      await cluster.link(b, c, 'pub');
      await cluster.link(c, a, 'pub');
      const all = ['a_func', 'b_func', 'c_func'];
      const views = await Promise.all([a, b, c].map((server) => cluster.view(server, 'pub')));
      for (const [index, view] of views.entries()) {
        await seesAll(view, all, `server ${index}`);
        for (const name of all) assert.equal(await view.call(name), name.charAt(0).toUpperCase());
      }
      assert.deepEqual(
        Object.fromEntries(runs),
        { A: 3, B: 3, C: 3 },
        'each call ran exactly once',
      );

      const [viewA, viewB] = views;
      assert.ok(viewA && viewB);
      const stoppedAt = performance.now();
      await c.stop();
      await seesNone(viewA, ['c_func'], 'A');
      await seesNone(viewB, ['c_func'], 'B');
      log(`triangle: c_func gone from A and B ${elapsedMs(stoppedAt)} ms after C stopped`);
      // And it stays gone (no stale path keeps it alive), while A calls its own function.
      // Each advert carries its sender's whole table and links are FIFO: once B lists a
      // function A added after this point (and A one of B's), every advert sent before has
      // been applied, and the last one from each side is its table without C.
      a.origin(() => 'probe', { namespace: 'pub', name: 'probe_a' });
      b.origin(() => 'probe', { namespace: 'pub', name: 'probe_b' });
      await seesAll(viewB, ['probe_a'], 'B');
      await seesAll(viewA, ['probe_b'], 'A');
      assert.ok(
        hasNone(viewA.functions, ['c_func']) && hasNone(viewB.functions, ['c_func']),
        'c_func stays gone',
      );
      assert.equal(await viewA.call('a_func'), 'A');
      assert.equal(await viewA.call('b_func'), 'B');
      assert.equal(await viewB.call('a_func'), 'A');
      await rejectsWith(viewA.call('c_func'), NoRouteError, ErrorCode.NO_ROUTE);
    } finally {
      await cluster.stop();
    }
  });

  test('a full mesh of 4 servers: every function runs exactly once per call, from everywhere', async () => {
    const cluster = new Cluster();
    try {
      const ids = ['M1', 'M2', 'M3', 'M4'];
      const runs = new Map<string, number>();
      const servers = await Promise.all(
        ids.map((id) =>
          cluster.node(id, (server) =>
            server.origin(
              (n: number) => {
                runs.set(id, (runs.get(id) ?? 0) + 1);
                return `${id}:${n}`;
              },
              { namespace: 'mesh', name: `f_${id}` },
            ),
          ),
        ),
      );
      for (let i = 0; i < servers.length; i++) {
        for (let j = i + 1; j < servers.length; j++) {
          const from = servers[i];
          const to = servers[j];
          assert.ok(from && to);
          await cluster.link(from, to, 'mesh');
        }
      }
      const names = ids.map((id) => `f_${id}`);
      const proxies = await Promise.all(servers.map((server) => cluster.proxy(server, 'mesh')));
      for (const proxy of proxies) await seesAll(proxy, names, 'proxy');
      for (const proxy of proxies) {
        for (const [index, name] of names.entries()) {
          assert.equal(await proxy.call(name, index), `${ids[index] ?? ''}:${index}`);
        }
      }
      assert.deepEqual(Object.fromEntries(runs), { M1: 4, M2: 4, M3: 4, M4: 4 });
      // Every remote function is one hop away in a full mesh: one forward, never more.
      const forwarded = servers.map(served);
      assert.equal(await proxies[0]?.call('f_M4', 9), 'M4:9');
      assert.deepEqual(
        servers.map((server, index) => served(server) - (forwarded[index] ?? 0)),
        [1, 0, 0, 1],
      );
      for (const server of servers) assert.equal(server.serverLinks().length, 3);
    } finally {
      await cluster.stop();
    }
  });
});

describe('route choice', () => {
  test('shortest path first (a shortcut wins over the chain), and a local function always wins', async () => {
    const cluster = new Cluster();
    try {
      const where = (id: string) => (server: Server) =>
        server.origin(
          function where() {
            return id;
          },
          { namespace: 'pub' },
        );
      const a = await cluster.node('A', where('A'));
      const b = await cluster.node('B', where('B'));
      const c = await cluster.node('C');
      const d = await cluster.node('D');
      // Chain A <- B <- C <- D: from D, B is 2 hops away and A 3.
      await cluster.link(b, a, 'pub');
      await cluster.link(c, b, 'pub');
      await cluster.link(d, c, 'pub');
      const viewD = await cluster.view(d, 'pub');
      const viewC = await cluster.view(c, 'pub');
      await seesAll(viewD, ['where'], 'D');
      for (let i = 0; i < 5; i++)
        assert.equal(await viewD.call('where'), 'B', 'the nearer copy answers');

      // A shortcut D -> A makes A one hop away: D uses it at once.
      const relay = await cluster.relay(a);
      await cluster.link(d, relay.port, 'pub');
      await waitFor(async () => (await viewD.call('where')) === 'A', 3000, 'D uses the shortcut');
      for (let i = 0; i < 5; i++) assert.equal(await viewD.call('where'), 'A');
      // C: B at 1 hop beats A at 2 (via B or via D).
      for (let i = 0; i < 5; i++) assert.equal(await viewC.call('where'), 'B');
      // Local first: A and B answer themselves although the other copy is one hop away.
      const viewA = await cluster.view(a, 'pub');
      const viewB = await cluster.view(b, 'pub');
      for (let i = 0; i < 5; i++) {
        assert.equal(await viewA.call('where'), 'A');
        assert.equal(await viewB.call('where'), 'B');
      }
      // Without the shortcut, D falls back to the nearest copy left. (A call sent on the
      // shortcut before D saw it break would fail with ConnectionClosedError: calls are never
      // retried, since they may have run.)
      await relay.cut();
      await waitFor(() => !peers(d).includes('A'), 3000, 'D saw the shortcut break', 1);
      await waitFor(async () => (await viewD.call('where')) === 'B', 3000, 'D back to B');
    } finally {
      await cluster.stop();
    }
  });

  test('duplicates at equal distance share the load (both served when calls overlap)', async () => {
    const cluster = new Cluster();
    try {
      const servedBy = new Map<string, number>();
      const worker = (id: string) => (server: Server) =>
        server.origin(
          async function work(ms: number) {
            servedBy.set(id, (servedBy.get(id) ?? 0) + 1);
            await nap(ms);
            return id;
          },
          { namespace: 'jobs' },
        );
      const hub = await cluster.node('HUB');
      const w1 = await cluster.node('W1', worker('W1'));
      const w2 = await cluster.node('W2', worker('W2'));
      await cluster.link(w1, hub, 'jobs');
      await cluster.link(w2, hub, 'jobs');
      const proxy = await cluster.proxy(hub, 'jobs');
      await seesAll(proxy, ['work'], 'proxy on the hub');
      await waitFor(
        () => hub.serverLinks().every((link) => link.routes === 1),
        3000,
        'both routes known',
      );
      const results = await Promise.all(Array.from({ length: 100 }, () => proxy.call('work', 5)));
      const w1Count = results.filter((id) => id === 'W1').length;
      const w2Count = results.filter((id) => id === 'W2').length;
      log(`load spreading: 100 overlapping calls served W1=${w1Count}, W2=${w2Count}`);
      assert.equal(w1Count + w2Count, 100);
      assert.ok(w1Count > 0 && w2Count > 0, `both served (W1=${w1Count}, W2=${w2Count})`);
      assert.ok(Math.min(w1Count, w2Count) >= 20, 'least in flight keeps them close');
      // One at a time, the tie goes to one link or the other, but every call runs once.
      servedBy.clear();
      for (let i = 0; i < 10; i++) await proxy.call('work', 0);
      assert.equal((servedBy.get('W1') ?? 0) + (servedBy.get('W2') ?? 0), 10);
      log(
        `load spreading: 10 sequential calls served W1=${servedBy.get('W1') ?? 0}, W2=${servedBy.get('W2') ?? 0}`,
      );
    } finally {
      await cluster.stop();
    }
  });
});

describe('changes are pushed', () => {
  test('a function registered after the links are up is callable at the far end of a chain of 5 within a fraction of a second', async () => {
    const cluster = new Cluster();
    try {
      const servers: Server[] = [];
      for (const id of ['P1', 'P2', 'P3', 'P4', 'P5']) servers.push(await cluster.node(id));
      for (let i = 1; i < servers.length; i++) {
        const from = servers[i];
        const to = servers[i - 1];
        assert.ok(from && to);
        await cluster.link(from, to, 'pub');
      }
      const first = servers[0];
      const last = servers[4];
      assert.ok(first && last);
      assert.equal(first.options.proxyInterval, 15_000, 'the periodic re-sync is far away');
      const viewLast = await cluster.view(last, 'pub');
      const viewFirst = await cluster.view(first, 'pub');
      const proxyLast = await cluster.proxy(last, 'pub');
      const times: number[] = [];
      for (let round = 0; round < 6; round++) {
        // Alternate directions: P1 -> P5, then P5 -> P1.
        const origin: Server = round % 2 === 0 ? first : last;
        const view: RpcProxy = round % 2 === 0 ? viewLast : viewFirst;
        const name = `late_${round}`;
        const started = performance.now();
        origin.origin(() => `${origin.id}:${round}`, { namespace: 'pub', name });
        await waitFor(() => hasAll(view.functions, [name]), 1000, `${name} propagated`, 1);
        times.push(elapsedMs(started));
        assert.equal(await view.call(name), `${origin.id}:${round}`);
      }
      // A client proxy on P5 got every function from P1 pushed too.
      await seesAll(proxyLast, ['late_0', 'late_2', 'late_4'], 'proxy on P5', 1000);
      log(
        `propagation over 4 hops (chain of 5): median ${median(times)} ms, max ${Math.max(...times)} ms`,
      );
      assert.ok(
        Math.max(...times) < 1000,
        `every change arrived in < 1 s (${times.join(', ')} ms)`,
      );

      // Latency added per forwarding hop (printed, not asserted: one event loop runs all five
      // servers here; test/cluster-process.test.ts measures it across processes).
      const sequential = async (name: string): Promise<number> => {
        for (let i = 0; i < 100; i++) await proxyLast.call(name);
        const samples: number[] = [];
        for (let i = 0; i < 1000; i++) {
          const started = performance.now();
          await proxyLast.call(name);
          samples.push(performance.now() - started);
        }
        return median(samples);
      };
      const local = await sequential('late_1');
      const far = await sequential('late_0');
      log(
        `in-process latency from a proxy on P5: local ${local.toFixed(3)} ms, 4 hops ${far.toFixed(3)} ms ` +
          `=> ${((far - local) / 4).toFixed(3)} ms per hop`,
      );
    } finally {
      await cluster.stop();
    }
  });
});

describe('calls across hops', () => {
  /** Chain A <- B <- C (B -> A through a relay), a `probe` on A, a proxy on C. */
  async function chain(
    cluster: Cluster,
    setupA: (server: Server) => void,
  ): Promise<{
    a: Server;
    b: Server;
    c: Server;
    relayBA: LinkRelay;
    proxyC: RpcProxy;
  }> {
    const a = await cluster.node('A', setupA);
    const b = await cluster.node('B', (server) =>
      server.origin(
        function b_func(x: unknown) {
          return { b: x };
        },
        { namespace: 'pub' },
      ),
    );
    const c = await cluster.node('C');
    const relayBA = await cluster.relay(a);
    await cluster.link(b, relayBA.port, 'pub');
    await cluster.link(c, b, 'pub');
    const proxyC = await cluster.proxy(c, 'pub');
    return { a, b, c, relayBA, proxyC };
  }

  test('many calls overlap on a link: 5 calls of 300 ms through 2 hops take about 300 ms', async () => {
    const cluster = new Cluster();
    try {
      const { proxyC } = await chain(cluster, (server) =>
        server.origin(
          async function sleep(ms: number) {
            await nap(ms);
            return ms;
          },
          { namespace: 'pub' },
        ),
      );
      await seesAll(proxyC, ['sleep'], 'proxy on C');
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 5 }, () => proxyC.call('sleep', 300)));
      const took = elapsedMs(started);
      log(`5 overlapping 300 ms calls through 2 hops took ${took} ms`);
      assert.deepEqual(results, [300, 300, 300, 300, 300]);
      assert.ok(took < 1200, `took ${took} ms`);
    } finally {
      await cluster.stop();
    }
  });

  test('a function calls back over the link its own call came in on (no deadlock)', async () => {
    const cluster = new Cluster();
    try {
      const a = await cluster.node('A', (server) =>
        server.origin(
          function a_func(x: unknown) {
            return { a: x };
          },
          { namespace: 'pub' },
        ),
      );
      const b = await cluster.node('B', (server) =>
        server.origin(
          function b_func(x: unknown) {
            return { b: x };
          },
          { namespace: 'pub' },
        ),
      );
      let viewC: RpcProxy | undefined;
      let viewA: RpcProxy | undefined;
      const c = await cluster.node('C', (server) => {
        // Called from A (A -> B -> C), it calls B and A back over the links the call came in on.
        server.origin(
          async function c_calls_back(x: number) {
            viewC ??= await server.rpc('pub');
            const [fromB, fromA] = await Promise.all([
              viewC.call('b_func', x),
              viewC.call('a_func', x),
            ]);
            return { c: x, fromB, fromA };
          },
          { namespace: 'pub' },
        );
        // Ping-pong between C and A, nested n levels deep, over the same two links.
        server.origin(
          async function bounce_c(n: number): Promise<string> {
            viewC ??= await server.rpc('pub');
            return n <= 0 ? 'C' : `C${String(await viewC.call('bounce_a', n - 1))}`;
          },
          { namespace: 'pub' },
        );
      });
      a.origin(
        async function bounce_a(n: number): Promise<string> {
          viewA ??= await a.rpc('pub');
          return n <= 0 ? 'A' : `A${String(await viewA.call('bounce_c', n - 1))}`;
        },
        { namespace: 'pub' },
      );
      cluster.onStop(() => viewC?.close());
      cluster.onStop(() => viewA?.close());
      await cluster.link(b, a, 'pub');
      await cluster.link(c, b, 'pub');
      const proxyA = await cluster.proxy(a, 'pub');
      await seesAll(proxyA, ['c_calls_back', 'bounce_c'], 'proxy on A');
      const viewOfC = await cluster.view(c, 'pub');
      await seesAll(viewOfC, ['a_func', 'b_func', 'bounce_a'], 'C');
      const results = await within(
        Promise.all(Array.from({ length: 10 }, (_, i) => proxyA.call('c_calls_back', i))),
        5000,
        'calls back over the incoming link',
      );
      assert.deepEqual(
        results,
        Array.from({ length: 10 }, (_, i) => ({ c: i, fromB: { b: i }, fromA: { a: i } })),
      );
      assert.equal(await within(proxyA.call('bounce_a', 7), 5000, 'bounce'), 'ACACACAC');
    } finally {
      await cluster.stop();
    }
  });

  test('results, errors and falsy values cross hops intact; nothing stays pending', async () => {
    const cluster = new Cluster();
    try {
      const { a, b, c, proxyC } = await chain(cluster, (server) => {
        server.origin((value: unknown) => value, { namespace: 'pub', name: 'echo' });
        server.origin(
          function fail() {
            const error = new RangeError('out of range') as RangeError & { code: string };
            error.code = 'E_RANGE';
            throw error;
          },
          { namespace: 'pub' },
        );
        server.origin(
          function big() {
            return 'x'.repeat(5 * 1024 * 1024);
          },
          { namespace: 'pub' },
        );
      });
      await seesAll(proxyC, ['echo', 'fail', 'big', 'b_func'], 'proxy on C');
      for (const value of [0, '', false, null, { nested: [1, 'two', { three: 3 }] }]) {
        assert.deepEqual(await proxyC.call('echo', value), value);
      }
      const error = await rejectsWith(proxyC.call('fail'), RemoteError, ErrorCode.REMOTE);
      assert.equal(error.remoteName, 'RangeError');
      assert.equal(error.remoteCode, 'E_RANGE');
      assert.equal(error.message, 'out of range');
      assert.equal(error.origin, 'A', 'the error names the server where it was thrown');
      await rejectsWith(proxyC.call('nowhere'), NoRouteError, ErrorCode.NO_ROUTE);
      // A 5 MiB result is over the links' 1 MiB frame limit: the call fails, the links stay.
      const linksBefore = [a, b, c].map((server) => server.serverLinks().length);
      const tooBig = await within(
        proxyC.call('big').then(
          () => undefined,
          (reason: unknown) => reason,
        ),
        5000,
        '5 MiB result',
      );
      assert.ok(tooBig instanceof WsMeshError, `a clear error, got ${String(tooBig)}`);
      assert.equal(await proxyC.call('echo', 'still up'), 'still up');
      assert.deepEqual(
        [a, b, c].map((server) => server.serverLinks().length),
        linksBefore,
      );
      for (const server of [a, b, c]) {
        assert.equal(inFlight(server), 0, `${server.id}: no call in flight`);
        assert.equal(responderSnapshot(server).calls, 0, `${server.id}: no forwarded call held`);
      }
    } finally {
      await cluster.stop();
    }
  });

  test('streams cross 2 hops: 100,000 items in order; break at the consumer stops the generator on the origin', async () => {
    const cluster = new Cluster();
    try {
      let finallyRan = false;
      let produced = 0;
      let starts = 0;
      const { a, b, proxyC } = await chain(cluster, (server) => {
        server.origin(
          function* count(n: number) {
            for (let i = 0; i < n; i++) yield i;
          },
          { namespace: 'pub' },
        );
        server.origin(
          async function* endless() {
            starts++;
            try {
              for (let i = 0; ; i++) {
                produced++;
                yield i;
                if (i % 100 === 0) await nap(1);
              }
            } finally {
              finallyRan = true;
            }
          },
          { namespace: 'pub' },
        );
      });
      await seesAll(proxyC, ['count', 'endless'], 'proxy on C');
      const started = performance.now();
      let expected = 0;
      let inOrder = true;
      for await (const item of streamFn(proxyC, 'count')(100_000)) {
        if (item !== expected) inOrder = false;
        expected++;
      }
      log(`stream of 100,000 items over 2 hops: ${elapsedMs(started)} ms`);
      assert.ok(inOrder, 'items arrive in order');
      assert.equal(expected, 100_000);

      const seen: unknown[] = [];
      for await (const item of streamFn(proxyC, 'endless')()) {
        seen.push(item);
        if (seen.length === 10) break;
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await waitFor(() => finallyRan, 3000, "the generator's finally ran on A");
      await waitFor(
        () => responderSnapshot(a).producers === 0 && responderSnapshot(b).producers === 0,
        3000,
        'no producer left on A or B',
      );
      const after = produced;
      // A generator whose finally ran yields nothing more; only a second start of it (a stream
      // retried or duplicated on the way) could produce again. A stream over the same hops
      // after the cancel reaches A behind anything the cancel caused there (links are FIFO).
      const probe: unknown[] = [];
      for await (const item of streamFn(proxyC, 'count')(1)) probe.push(item);
      assert.deepEqual(probe, [0]);
      assert.equal(starts, 1, 'the endless generator started once');
      assert.equal(produced, after, 'the origin produces nothing more');
      // The credit window bounds what the origin produced ahead of the consumer.
      assert.ok(after < 10 + 3 * 1024, `produced ${after}`);
    } finally {
      await cluster.stop();
    }
  });

  test('cancellation and timeouts cross hops: the caller is released and so is every forwarded call', async () => {
    const cluster = new Cluster();
    try {
      let started = 0;
      let streamFinally = 0;
      const { a, b, c, proxyC } = await chain(cluster, (server) => {
        server.origin(
          async function hold(ms: number) {
            started++;
            await nap(ms);
            return 'held';
          },
          { namespace: 'pub' },
        );
        server.origin(
          async function* ticker() {
            try {
              for (let i = 0; ; i++) {
                yield i;
                await nap(5);
              }
            } finally {
              streamFinally++;
            }
          },
          { namespace: 'pub' },
        );
      });
      await seesAll(proxyC, ['hold', 'ticker'], 'proxy on C');
      const released = async (label: string): Promise<void> => {
        await waitFor(
          () =>
            [b, c].every(
              (server) => inFlight(server) === 0 && responderSnapshot(server).calls === 0,
            ),
          3000,
          `${label}: forwarded calls released on B and C`,
        );
      };

      // Abort at the caller.
      const controller = new AbortController();
      const call = proxyC.with({ signal: controller.signal }).call('hold', 5000);
      await waitFor(() => started === 1, 3000, 'hold started on A');
      assert.equal(inFlight(b), 1);
      const abortAt = performance.now();
      controller.abort();
      await rejectsWith(call, AbortError, ErrorCode.ABORTED);
      assert.ok(elapsedMs(abortAt) < 500);
      await released('abort');

      // A timeout at the caller.
      const timedAt = performance.now();
      await rejectsWith(
        proxyC.with({ timeout: 200 }).call('hold', 5000),
        TimeoutError,
        ErrorCode.TIMEOUT,
      );
      assert.ok(elapsedMs(timedAt) < 1500);
      await released('timeout');
      // The same from inside C: server.rpc(namespace).with({timeout}) gives up and cancels.
      const viewC = await cluster.view(c, 'pub');
      const viewTimedAt = performance.now();
      await rejectsWith(
        viewC.with({ timeout: 200 }).call('hold', 5000),
        TimeoutError,
        ErrorCode.TIMEOUT,
      );
      assert.ok(elapsedMs(viewTimedAt) < 1500, 'server.rpc honours with({timeout})');
      await released('server.rpc timeout');

      // An aborted stream stops the generator on the origin.
      const streamController = new AbortController();
      const items: unknown[] = [];
      const ticker = streamFn(proxyC.with({ signal: streamController.signal }), 'ticker')();
      const reading = (async () => {
        for await (const item of ticker) {
          items.push(item);
          if (items.length === 5) streamController.abort();
        }
      })();
      await rejectsWith(reading, AbortError, ErrorCode.ABORTED);
      await waitFor(() => streamFinally === 1, 3000, "ticker's finally ran on A");
      await waitFor(
        () => [a, b].every((server) => responderSnapshot(server).producers === 0),
        3000,
        'no producer left',
      );
      // The links are unharmed.
      assert.deepEqual(await proxyC.call('b_func', 'after'), { b: 'after' });
      assert.equal(await proxyC.call('hold', 0), 'held');
    } finally {
      await cluster.stop();
    }
  });
});

describe('timeouts across hops', () => {
  test("a caller's timeout longer than a forwarding server's awaitResTimeout is carried across hops", async () => {
    const cluster = new Cluster();
    try {
      const a = await cluster.node('A', (server) =>
        server.origin(
          async function slow(ms: number) {
            await nap(ms);
            return 'done';
          },
          { namespace: 'pub' },
        ),
      );
      const b = await cluster.node('B', undefined, { awaitResTimeout: 300 });
      const c = await cluster.node('C');
      await cluster.link(b, a, 'pub');
      await cluster.link(c, b, 'pub');
      const proxyC = await cluster.proxy(c, 'pub');
      await seesAll(proxyC, ['slow'], 'proxy on C');
      assert.equal(await proxyC.with({ timeout: 5000 }).call('slow', 700), 'done');
    } finally {
      await cluster.stop();
    }
  });
});

describe('breaks, redial and security', () => {
  test('calls in flight through a link that resets fail at once with ConnectionClosedError', async () => {
    const cluster = new Cluster();
    try {
      let started = 0;
      const ran: string[] = [];
      let streamFinally = false;
      const a = await cluster.node('A', (server) => {
        server.origin(
          async function hold(ms: number, tag = '') {
            started++;
            ran.push(tag);
            await nap(ms);
            return 'held';
          },
          { namespace: 'pub' },
        );
        server.origin(
          async function* drip() {
            try {
              for (let i = 0; ; i++) {
                yield i;
                await nap(10);
              }
            } finally {
              streamFinally = true;
            }
          },
          { namespace: 'pub' },
        );
      });
      const b = await cluster.node('B');
      const c = await cluster.node('C');
      const relay = await cluster.relay(a);
      await cluster.link(b, relay.port, 'pub');
      await cluster.link(c, b, 'pub');
      const proxyC = await cluster.proxy(c, 'pub');
      await seesAll(proxyC, ['hold', 'drip'], 'proxy on C');
      // A stream through the link, read slowly, and five calls in flight.
      const items: unknown[] = [];
      const streaming = (async () => {
        for await (const item of streamFn(proxyC, 'drip')()) items.push(item);
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitFor(() => items.length >= 3, 3000, 'stream flowing');
      const calls = Array.from({ length: 5 }, (_, i) =>
        proxyC.call('hold', 8000, `call-${i}`).then(
          () => undefined,
          (error: unknown) => ({ error, at: performance.now() }),
        ),
      );
      await waitFor(() => started === 5, 3000, 'five calls running on A');
      const cutAt = performance.now();
      await relay.cut();
      const outcomes = await within(Promise.all(calls), 3000, 'calls in flight settle');
      for (const outcome of outcomes) {
        assert.ok(outcome !== undefined, 'the call failed');
        assert.ok(
          outcome.error instanceof ConnectionClosedError,
          `ConnectionClosedError, got ${String(outcome.error)}`,
        );
      }
      const slowest = Math.max(
        ...outcomes.map((outcome) => (outcome === undefined ? Infinity : outcome.at - cutAt)),
      );
      log(`link reset: 5 calls in flight failed within ${Math.round(slowest * 100) / 100} ms`);
      assert.ok(slowest < 1000, `failed fast (${slowest} ms), far before the 10 s timeout`);
      const streamError = await within(streaming, 3000, 'stream in flight settles');
      assert.ok(
        streamError instanceof ConnectionClosedError,
        `the stream ends with ConnectionClosedError, got ${String(streamError)}`,
      );
      await waitFor(() => streamFinally, 3000, "the generator's finally ran on A");
      await seesNone(proxyC, ['hold', 'drip'], 'proxy on C');
      await rejectsWith(proxyC.call('hold', 1), NoRouteError, ErrorCode.NO_ROUTE);
      assert.equal(inFlight(b) + inFlight(c), 0);
      assert.equal(responderSnapshot(b).producers + responderSnapshot(c).producers, 0);
      // B redials A once the relay is back: nothing that was in flight is sent again. A call
      // made after the redial comes after any replay on the same link.
      await relay.restore();
      await seesAll(proxyC, ['hold', 'drip'], 'proxy on C after the redial', 15_000);
      assert.equal(await proxyC.call('hold', 0, 'after-redial'), 'held');
      assert.deepEqual(
        [...ran].sort(),
        ['after-redial', 'call-0', 'call-1', 'call-2', 'call-3', 'call-4'],
        'each call ran exactly once',
      );
    } finally {
      await cluster.stop();
    }
  });

  test('a silent network cut is detected by heartbeats within seconds; calls in flight fail, routes vanish', async () => {
    const cluster = new Cluster();
    try {
      let started = 0;
      const a = await cluster.node('A', (server) =>
        server.origin(
          async function hold(ms: number) {
            started++;
            await nap(ms);
            return 'held';
          },
          { namespace: 'pub' },
        ),
      );
      const b = await cluster.node('B');
      const c = await cluster.node('C');
      const relay = await cluster.relay(a);
      await cluster.link(b, relay.port, 'pub');
      await cluster.link(c, b, 'pub');
      const proxyC = await cluster.proxy(c, 'pub');
      await seesAll(proxyC, ['hold'], 'proxy on C');
      const call = proxyC.call('hold', 9000).then(
        () => undefined,
        (error: unknown) => ({ error, at: performance.now() }),
      );
      await waitFor(() => started === 1, 3000, 'call running on A');
      const cutAt = performance.now();
      relay.blackhole();
      const outcome = await within(call, 6000, 'call in flight through a silent cut');
      assert.ok(
        outcome !== undefined && outcome.error instanceof ConnectionClosedError,
        `ConnectionClosedError, got ${String(outcome?.error)}`,
      );
      const failedAfter = Math.round((outcome.at - cutAt) * 100) / 100;
      await seesNone(proxyC, ['hold'], 'proxy on C', 6000);
      const goneAfter = elapsedMs(cutAt);
      log(
        `silent cut: call in flight failed after ${failedAfter} ms, functions gone after ${goneAfter} ms`,
      );
      assert.ok(goneAfter < 5000, `detected within 5 s (${goneAfter} ms)`);
      // The cut heals: B redials through the relay and the function comes back.
      const restoredAt = performance.now();
      await relay.restore();
      await seesAll(proxyC, ['hold'], 'proxy on C after the cut healed', 15_000);
      log(
        `silent cut healed: hold callable again ${elapsedMs(restoredAt)} ms after the relay was back`,
      );
      assert.equal(await proxyC.call('hold', 0), 'held');
      assert.ok(b.serverLinks().length === 2);
    } finally {
      await cluster.stop();
    }
  });

  test('functions behind a dead peer disappear everywhere within seconds and come back when it returns (redial)', async () => {
    const cluster = new Cluster();
    try {
      const fn = (letter: string) => (server: Server) =>
        server.origin(seedFunc(letter), { namespace: 'pub', name: `${letter}_func` });
      const portB = await getFreePort();
      const a = await cluster.node('A', fn('a'));
      let b = await cluster.node('B', fn('b'), { port: portB });
      const c = await cluster.node('C', fn('c'));
      const d = await cluster.node('D', fn('d'));
      // A <- B <- C <- D: C dials B, so C redials when B comes back.
      await cluster.link(b, a, 'pub');
      await cluster.link(c, b, 'pub');
      await cluster.link(d, c, 'pub');
      const all = ['a_func', 'b_func', 'c_func', 'd_func'];
      const proxyA = await cluster.proxy(a, 'pub');
      const proxyD = await cluster.proxy(d, 'pub');
      const viewC = await cluster.view(c, 'pub');
      await seesAll(proxyA, all, 'proxy on A');
      await seesAll(proxyD, all, 'proxy on D');

      const stoppedAt = performance.now();
      await b.stop();
      await Promise.all([
        seesNone(proxyA, ['b_func', 'c_func', 'd_func'], 'proxy on A'),
        seesNone(proxyD, ['a_func', 'b_func'], 'proxy on D'),
        seesNone(viewC, ['a_func', 'b_func'], 'C'),
      ]);
      const gone = elapsedMs(stoppedAt);
      log(`peer stopped: its functions and those behind it gone everywhere after ${gone} ms`);
      assert.deepEqual(functionNames(proxyA.functions), ['a_func']);
      assert.deepEqual(functionNames(proxyD.functions), ['c_func', 'd_func']);
      // Calling a function behind the dead link fails cleanly and breaks nothing else.
      await rejectsWith(proxyD.call('a_func', 1), NoRouteError, ErrorCode.NO_ROUTE);
      assert.deepEqual(await proxyD.call('c_func', 1), { c: 1 });

      // B comes back on the same port (a restarted process links itself to A again);
      // C redials B by itself.
      const restartAt = performance.now();
      b = await cluster.node('B', fn('b'), { port: portB });
      await cluster.link(b, a, 'pub');
      await Promise.all([
        seesAll(proxyA, all, 'proxy on A', 15_000),
        seesAll(proxyD, all, 'proxy on D', 15_000),
      ]);
      log(`peer restarted: every function back everywhere after ${elapsedMs(restartAt)} ms`);
      assert.deepEqual(await proxyD.call('a_func', 'back'), { a: 'back' });
      assert.deepEqual(await proxyA.call('d_func', 'back'), { d: 'back' });
    } finally {
      await cluster.stop();
    }
  });

  test('a wrong serverSecret rejects createServerProxy with AuthError (ERR_AUTH) and stops dialing', async () => {
    const cluster = new Cluster();
    try {
      const a = await cluster.node('A', (server) =>
        server.origin(seedFunc('a'), { namespace: 'pub', name: 'a_func' }),
      );
      const b = await cluster.node('B');
      // B proves the secret it was given and checks A's proof: the wrong secret fails on B's
      // side, which reports each refused attempt.
      let refusals = 0;
      b.on('error', ({ error }) => {
        if (error instanceof AuthError) refusals++;
      });
      // Keep hold of the dialer B makes for the link, to see its state once it gave up.
      const dialers: PeerDialer[] = [];
      const dialerSet = b['linkManager']['dialers'];
      const add = dialerSet.add.bind(dialerSet);
      dialerSet.add = (dialer: PeerDialer) => {
        dialers.push(dialer);
        return add(dialer);
      };
      const started = performance.now();
      const error = await rejectsWith(
        within(
          b.createServerProxy({
            host: HOST,
            port: portOf(a),
            serverSecret: 'wrong',
            namespace: 'pub',
          }),
          5000,
          'createServerProxy with a wrong secret',
        ),
        AuthError,
        ErrorCode.AUTH,
      );
      assert.ok(!error.message.includes(SECRET), 'the secret is not in the message');
      assert.ok(elapsedMs(started) < 3000, 'rejected promptly');
      assert.deepEqual(b.serverLinks(), []);
      // The dialer is gone (not merely backing off): stopped, with no attempt under way and
      // none scheduled, so A sees no further attempt (a stopped dialer never dials again).
      assert.equal(b['linkManager']['dialers'].size, 0, 'B stopped dialing A');
      assert.equal(dialers.length, 1, 'one dialer for the link');
      const [dialer] = dialers;
      assert.ok(dialer !== undefined);
      assert.equal(dialer['stopped'], true, 'the dialer is stopped');
      assert.equal(dialer['timer'], undefined, 'no further attempt scheduled');
      assert.equal(dialer.busy, false, 'no attempt under way');
      assert.equal(refusals, 1, 'one attempt, refused');
      assert.deepEqual(b.serverLinks(), []);

      // A server without the secret cannot pass for A: B, which has it, refuses the link.
      const impostor = await cluster.node('X', undefined, { serverSecret: undefined });
      const c = await cluster.node('C');
      await rejectsWith(
        within(
          c.createServerProxy({
            host: HOST,
            port: portOf(impostor),
            serverSecret: SECRET,
            namespace: 'pub',
          }),
          5000,
          'createServerProxy to a server without the secret',
        ),
        AuthError,
        ErrorCode.AUTH,
      );
      assert.deepEqual(c.serverLinks(), []);
      // The right secret links.
      await cluster.link(b, a, 'pub');
      const viewB = await cluster.view(b, 'pub');
      await seesAll(viewB, ['a_func'], 'B');
    } finally {
      await cluster.stop();
    }
  });
});
