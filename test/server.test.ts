/**
 * Integration tests of the server (SPEC section 1) over real sockets: options, events,
 * middlewares, routes, replies and errors, `clients`, `ws.sendMes`, `ws.close`, `stop()`,
 * attaching to http/https servers, codec negotiation and `maxPayload`.
 */
import assert from 'node:assert/strict';
import type { HeartbeatMonitor } from '../src/transport/heartbeat.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  Client,
  ConnectionClosedError,
  ErrorCode,
  InvalidArgumentError,
  InvalidOptionError,
  NoRouteError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteError,
  SERVER_DEFAULTS,
  Server,
  SerializationError,
  ServerConnection,
  TimeoutError,
  type ClientOptions,
  type ResponseResult,
  type ServerEvents,
  type ServerOptions,
} from '../src/index.js';
import { Subprotocol } from '../src/protocol/codec.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import {
  LIBRARY_ENTRY,
  connectRaw,
  delay,
  nextEvent,
  runScript,
  sendHello,
  serverUrl,
  startClient,
  startServer,
  stopAll,
  upgradeStatus,
  waitFor,
  RawPeer,
} from './helpers.js';

/** A started server on 127.0.0.1, ephemeral port. */
async function serve(options: ServerOptions = {}): Promise<Server> {
  return (await startServer(options)).server;
}

/** A started client of `server` (or of `options.url`); reconnect is off unless given. */
function connect(
  server: Server | undefined,
  options: Partial<ClientOptions> = {},
): Promise<Client> {
  const { url, ...rest } = options;
  const target = url ?? (server === undefined ? undefined : serverUrl(server));
  if (target === undefined) throw new Error('connect: give a server or a url');
  return startClient(target, rest);
}

/** A raw WebSocket (no wsmesh handshake yet) offering `protocols`. */
function rawSocket(url: string, protocols: string[] | null = ['wsmesh.v1.json']): Promise<RawPeer> {
  return connectRaw(url, { hello: false, protocols });
}

/** Counts the ticks of `monitor` from now on (wraps its private tick method). */
function countTicks(monitor: HeartbeatMonitor): () => number {
  let ticks = 0;
  const view = monitor as unknown as { tick: () => void };
  const tick = view.tick.bind(monitor);
  view.tick = () => {
    tick();
    ticks++;
  };
  return () => ticks;
}

/** Sends an awaited request and returns the rejection (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('server options', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['id empty', { id: '' }],
    ['id not a string', { id: 5 }],
    ['port negative', { port: -1 }],
    ['port too large', { port: 70000 }],
    ['port fractional', { port: 1.5 }],
    ['port string', { port: '3000' }],
    ['host not a string', { host: 127 }],
    ['server not a server', { server: {} }],
    ['path without slash', { path: 'ws' }],
    ['path not a string', { path: 1 }],
    ['url invalid', { url: 'not a url' }],
    ['url http', { url: 'http://127.0.0.1:3000' }],
    ['authFnIn not a function', { authFnIn: true }],
    ['authFnOut not a function', { authFnOut: 'token' }],
    ['serverSecret empty', { serverSecret: '' }],
    ['serverSecret not a string', { serverSecret: 42 }],
    ['cloneInterval zero', { cloneInterval: 0 }],
    ['cloneInterval negative', { cloneInterval: -5 }],
    ['proxyInterval NaN', { proxyInterval: Number.NaN }],
    ['maxPayload zero', { maxPayload: 0 }],
    ['maxPayload string', { maxPayload: '1mb' }],
    ['codec unknown', { codec: 'xml' }],
    ['heartbeatInterval negative', { heartbeatInterval: -1 }],
    ['handshakeTimeout zero', { handshakeTimeout: 0 }],
    ['awaitResTimeout infinite', { awaitResTimeout: Number.POSITIVE_INFINITY }],
    ['maxBufferedBytes zero', { maxBufferedBytes: 0 }],
    ['silent not a boolean', { silent: 'yes' }],
  ];
  for (const [name, options] of bad) {
    test(`rejects ${name} with InvalidOptionError`, () => {
      assert.throws(
        () => new Server(options as ServerOptions),
        (error: unknown) =>
          error instanceof InvalidOptionError && error.code === ErrorCode.INVALID_OPTION,
      );
    });
  }

  test('rejects a non-object options argument', () => {
    assert.throws(() => new Server(null as unknown as ServerOptions), InvalidOptionError);
  });

  test('SERVER_DEFAULTS hold the documented defaults', () => {
    assert.equal(SERVER_DEFAULTS.port, 3000);
    assert.equal(SERVER_DEFAULTS.path, '/');
    assert.equal(SERVER_DEFAULTS.cloneInterval, 2000);
    assert.equal(SERVER_DEFAULTS.proxyInterval, 15000);
    assert.equal(SERVER_DEFAULTS.maxPayload, 1024 * 1024);
    assert.equal(SERVER_DEFAULTS.codec, 'json');
    assert.equal(SERVER_DEFAULTS.silent, true);
  });

  test('defaults are applied to a server without options', () => {
    const server = new Server();
    assert.match(server.id, /\S/);
    assert.notEqual(new Server().id, server.id, 'generated ids are unique');
    assert.equal(server.path, '/');
    assert.equal(server.url, undefined);
    assert.equal(server.data, undefined);
    assert.equal(server.active, false);
    assert.equal(server.port, undefined);
    assert.equal(server.clients.size, 0);
    assert.equal(server.options.port, SERVER_DEFAULTS.port);
    assert.equal(server.options.host, undefined);
    assert.equal(server.options.maxPayload, SERVER_DEFAULTS.maxPayload);
    assert.equal(server.options.codec, 'json');
    assert.equal(server.options.cloneInterval, SERVER_DEFAULTS.cloneInterval);
    assert.equal(server.options.proxyInterval, SERVER_DEFAULTS.proxyInterval);
    assert.equal(server.options.silent, true);
  });

  test('given options are kept: id, url, data, path, intervals', () => {
    const authFnIn = (): boolean => true;
    const server = new Server({
      id: 'srv-1',
      url: 'ws://example.org:4000/mesh',
      data: { region: 'eu' },
      path: '/mesh',
      port: 0,
      authFnIn,
      serverSecret: 's3cret',
      cloneInterval: 500,
      proxyInterval: 1000,
      maxPayload: 4096,
      codec: 'msgpack',
      heartbeatInterval: 0,
    });
    assert.equal(server.id, 'srv-1');
    assert.equal(server.url, 'ws://example.org:4000/mesh');
    assert.deepEqual(server.data, { region: 'eu' });
    assert.equal(server.path, '/mesh');
    assert.equal(server.options.authFnIn, authFnIn);
    assert.equal(server.options.cloneInterval, 500);
    assert.equal(server.options.proxyInterval, 1000);
    assert.equal(server.options.maxPayload, 4096);
    assert.equal(server.options.codec, 'msgpack');
    assert.equal(server.options.heartbeatInterval, 0, 'heartbeatInterval 0 turns heartbeats off');
  });

  test('start() rejects bad start options', async () => {
    const server = new Server({ host: '127.0.0.1', port: 0 });
    await assert.rejects(
      server.start({ perMessageDeflate: true } as unknown as Parameters<Server['start']>[0]),
      InvalidOptionError,
    );
    await assert.rejects(
      server.start(null as unknown as Parameters<Server['start']>[0]),
      InvalidOptionError,
    );
    assert.equal(server.active, false);
  });

  test('start() rejects when the port is taken and the server stays inactive', async () => {
    const first = await serve();
    const second = new Server({ host: '127.0.0.1', port: first.port });
    try {
      await assert.rejects(second.start(), /EADDRINUSE/);
      assert.equal(second.active, false);
      assert.equal(second.port, undefined);
    } finally {
      await stopAll(first, second);
    }
  });

  test('silent: false logs to the console, silent (default) does not', async () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    try {
      const quiet = await serve();
      await quiet.stop();
      assert.equal(lines.length, 0);
      const loud = await serve({ silent: false, id: 'loud-server' });
      await loud.stop();
    } finally {
      console.log = original;
    }
    assert.ok(lines.some((line) => line.includes('loud-server') && line.includes('started')));
    assert.ok(lines.some((line) => line.includes('loud-server') && line.includes('stopped')));
  });
});

describe('server lifecycle and events', () => {
  test('start and stop events carry {server}; port, active; start/stop are idempotent', async () => {
    const server = new Server({ host: '127.0.0.1', port: 0 });
    const events: string[] = [];
    server.on('start', (payload) => {
      assert.equal(payload.server, server);
      events.push('start');
    });
    server.on('stop', (payload) => {
      assert.equal(payload.server, server);
      events.push('stop');
    });
    try {
      await Promise.all([server.start(), server.start()]);
      await server.start();
      assert.equal(server.active, true);
      assert.equal(typeof server.port, 'number');
      assert.ok((server.port ?? 0) > 0);
      await server.stop();
      await server.stop();
      assert.equal(server.active, false);
      assert.deepEqual(events, ['start', 'stop']);
      // A stopped server can be started again.
      await server.start();
      assert.equal(server.active, true);
      const client = await connect(server);
      await client.stop();
    } finally {
      await server.stop();
    }
    assert.deepEqual(events, ['start', 'stop', 'start', 'stop']);
  });

  test('connection event: {server, ws} with id, clientId, codec, request; ws is in clients', async () => {
    const server = await serve({ id: 'srv-conn' });
    let client: Client | undefined;
    try {
      const connected = nextEvent(server, 'connection');
      client = new Client({ id: 'alice', url: `${serverUrl(server)}?token=abc` });
      await client.start();
      const { server: emitter, ws } = await connected;
      assert.equal(emitter, server);
      assert.ok(ws instanceof ServerConnection);
      assert.equal(ws.clientId, 'alice');
      assert.equal(ws.kind, 'client');
      assert.equal(ws.codec, 'json');
      assert.equal(ws.open, true);
      assert.equal(ws.state, 'open');
      assert.equal(ws.remoteAddress, '127.0.0.1');
      assert.equal(ws.request.url, '/?token=abc');
      assert.equal(server.clients.get(ws.id), ws);
      const info = client.getInfo();
      assert.equal(info.connectionId, ws.id);
      assert.equal(info.serverId, 'srv-conn');
    } finally {
      await stopAll(client, server);
    }
  });

  test('ws.request.headers: the upgrade request headers less those of the handshake', async () => {
    const server = await serve();
    const sockets: WebSocket[] = [];
    try {
      // Two connections with the same host and origin, different user agents.
      const open = async (agent: string): Promise<ServerConnection> => {
        const connected = nextEvent(server, 'connection');
        const ws = new WebSocket(serverUrl(server), Subprotocol.json, {
          headers: { origin: 'https://app.example', 'user-agent': agent, 'x-custom': 'a' },
          perMessageDeflate: false,
        });
        sockets.push(ws);
        ws.once('open', () =>
          ws.send(JSON.stringify([FrameType.HELLO, { v: PROTOCOL_VERSION, id: agent }])),
        );
        return (await connected).ws;
      };
      const first = await open('agent-1');
      const second = await open('agent-2');
      const host = `127.0.0.1:${server.port}`;
      for (const [ws, agent] of [
        [first, 'agent-1'],
        [second, 'agent-2'],
      ] as const) {
        assert.deepEqual(ws.request.headers, {
          host,
          origin: 'https://app.example',
          'user-agent': agent,
          'x-custom': 'a',
        });
        assert.equal(ws.request.url, '/');
      }
      assert.notEqual(first.request.headers, second.request.headers, 'each its own object');
    } finally {
      for (const ws of sockets) ws.terminate();
      await server.stop();
    }
  });

  test('closeClient event: {server, ws, code, reason} and the entry leaves clients', async () => {
    const server = await serve();
    try {
      const client = await connect(server);
      await waitFor(() => server.clients.size === 1);
      const closed = nextEvent(server, 'closeClient');
      await client.stop();
      const payload = await closed;
      assert.equal(payload.server, server);
      assert.ok(payload.ws instanceof ServerConnection);
      assert.equal(payload.code, 1000);
      assert.equal(payload.reason, 'client stopped');
      assert.equal(payload.ws.open, false);
      assert.equal(server.clients.size, 0);
      assert.equal(server.clients.has(payload.ws.id), false);
    } finally {
      await server.stop();
    }
  });

  test('error event: a throwing handler of a fire-and-forget message, with {server, error, ws}', async () => {
    const server = await serve();
    server.addRoute({
      route: 'boom',
      handler: () => {
        throw new Error('kaboom');
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const failed = nextEvent(server, 'error');
      await client.sendMes({ route: 'boom', data: 1 });
      const payload = await failed;
      assert.equal(payload.server, server);
      assert.equal(payload.error.message, 'kaboom');
      assert.ok(payload.ws instanceof ServerConnection);
      assert.equal(payload.ws.clientId, client.id);
      // The server keeps serving the connection.
      server.addRoute({ route: 'ok', handler: () => 'still here' });
      assert.equal(await client.sendMes({ route: 'ok', awaitRes: true }), 'still here');
    } finally {
      await stopAll(client, server);
    }
  });

  test('error event: a throwing event listener is reported and does not break the server', async () => {
    const server = await serve();
    const errors: Error[] = [];
    server.on('error', ({ error }) => errors.push(error));
    server.on('connection', () => {
      throw new Error('listener bug');
    });
    server.addRoute({ route: 'ping', handler: () => 'pong' });
    let client: Client | undefined;
    try {
      client = await connect(server);
      assert.equal(await client.sendMes({ route: 'ping', awaitRes: true }), 'pong');
      await waitFor(() => errors.some((error) => error.message === 'listener bug'));
    } finally {
      await stopAll(client, server);
    }
  });

  test('noRouting event: {server, ws, groups, data, mes, raw}; an awaited message gets NoRouteError', async () => {
    const server = await serve();
    server.addRoute({ route: 'known', handler: () => 'ok' });
    const seen: ServerEvents['noRouting'][] = [];
    server.on('noRouting', (payload) => seen.push(payload));
    let client: Client | undefined;
    try {
      client = await connect(server);
      await client.sendMes({ route: 'unknown', act: 'x', data: { n: 1 } });
      await waitFor(() => seen.length === 1);
      const first = seen[0];
      assert.ok(first !== undefined);
      assert.equal(first.server, server);
      assert.ok(first.ws instanceof ServerConnection);
      assert.equal(first.groups, server.groups);
      assert.deepEqual(first.data, { n: 1 });
      assert.equal(first.mes.route, 'unknown');
      assert.equal(first.mes.act, 'x');
      assert.equal(first.mes.kind, 'message');
      assert.equal(first.mes.awaitRes, false);
      assert.equal(typeof first.raw, 'string');
      assert.ok(String(first.raw).includes('unknown'));

      const error = await rejection(client.sendMes({ route: 'unknown', awaitRes: true }));
      assert.ok(error instanceof NoRouteError);
      assert.equal(error.code, ErrorCode.NO_ROUTE);
      assert.equal(seen.length, 2);
      assert.equal(seen[1]?.mes.awaitRes, true);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('middlewares (use)', () => {
  test('run in order before routes, with {ws, groups, mes, stop, raw, data}', async () => {
    const server = await serve();
    const order: string[] = [];
    server.use((context) => {
      assert.ok(context.ws instanceof ServerConnection);
      assert.equal(context.groups, server.groups);
      assert.equal(typeof context.stop, 'function');
      assert.equal(typeof context.raw, 'string');
      assert.equal(context.mes.kind, 'message');
      assert.deepEqual(context.data, { x: 1 });
      order.push('first');
    });
    server.use(async () => {
      await delay(5);
      order.push('second');
    });
    server.use(() => {
      order.push('third');
    });
    server.addRoute({
      route: 'r',
      handler: () => {
        order.push('handler');
        return order.join(',');
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const reply = await client.sendMes({ route: 'r', data: { x: 1 }, awaitRes: true });
      assert.equal(reply, 'first,second,third,handler');
    } finally {
      await stopAll(client, server);
    }
  });

  test('stop() ends processing and the middleware return value is the reply (sync and async)', async () => {
    const server = await serve();
    let laterRan = false;
    server.use(({ mes, stop }) => {
      if (mes.route === 'cached') {
        stop();
        return { cached: true };
      }
      return undefined;
    });
    server.use(async ({ mes, stop }) => {
      await delay(1);
      if (mes.route === 'async-cached') {
        stop();
        return 'from async middleware';
      }
      return undefined;
    });
    server.use(() => {
      laterRan = true;
    });
    server.addRoute({ handler: () => 'from handler' });
    let client: Client | undefined;
    try {
      client = await connect(server);
      assert.deepEqual(await client.sendMes({ route: 'cached', awaitRes: true }), {
        cached: true,
      });
      assert.equal(laterRan, false, 'later middlewares do not run after stop()');
      assert.equal(
        await client.sendMes({ route: 'async-cached', awaitRes: true }),
        'from async middleware',
      );
      assert.equal(laterRan, false);
      assert.equal(await client.sendMes({ route: 'other', awaitRes: true }), 'from handler');
      assert.equal(laterRan, true);
    } finally {
      await stopAll(client, server);
    }
  });

  test('a throwing (or rejecting) middleware becomes an error reply and routes do not run', async () => {
    const server = await serve({ id: 'mw-server' });
    let handlerRan = false;
    server.use(({ mes }) => {
      if (mes.route === 'forbidden') {
        throw Object.assign(new Error('not allowed'), { code: 'E_FORBIDDEN' });
      }
    });
    server.use(async ({ mes }) => {
      if (mes.route === 'async-forbidden') throw new RangeError('async no');
    });
    server.addRoute({
      handler: () => {
        handlerRan = true;
        return 'ok';
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const error = await rejection(client.sendMes({ route: 'forbidden', awaitRes: true }));
      assert.ok(error instanceof RemoteError);
      assert.equal(error.message, 'not allowed');
      assert.equal(error.remoteCode, 'E_FORBIDDEN');
      assert.equal(error.origin, 'mw-server');
      const asyncError = await rejection(
        client.sendMes({ route: 'async-forbidden', awaitRes: true }),
      );
      assert.ok(asyncError instanceof RemoteError);
      assert.equal(asyncError.remoteName, 'RangeError');
      assert.equal(handlerRan, false);
      assert.equal(await client.sendMes({ route: 'fine', awaitRes: true }), 'ok');
    } finally {
      await stopAll(client, server);
    }
  });

  test('ws.data is per-connection user data shared by middlewares and handlers', async () => {
    const server = await serve();
    server.use(({ ws, mes }) => {
      if (mes.route === 'login') ws.data.user = mes.data;
    });
    server.addRoute({ route: 'login', handler: () => true });
    server.addRoute({ route: 'whoami', handler: ({ ws }) => ws.data.user ?? null });
    const clients: Client[] = [];
    try {
      const alice = await connect(server);
      const bob = await connect(server);
      clients.push(alice, bob);
      assert.deepEqual(server.clients.values().next().value?.data, {});
      await alice.sendMes({ route: 'login', data: 'alice', awaitRes: true });
      assert.equal(await alice.sendMes({ route: 'whoami', awaitRes: true }), 'alice');
      assert.equal(await bob.sendMes({ route: 'whoami', awaitRes: true }), null);
      await bob.sendMes({ route: 'login', data: 'bob', awaitRes: true });
      assert.equal(await bob.sendMes({ route: 'whoami', awaitRes: true }), 'bob');
      assert.equal(await alice.sendMes({ route: 'whoami', awaitRes: true }), 'alice');
    } finally {
      await stopAll(...clients, server);
    }
  });

  test('use() and addRoute() validate their arguments', () => {
    const server = new Server();
    assert.throws(() => server.use('nope' as unknown as () => void), InvalidArgumentError);
    assert.throws(
      () => server.addRoute({ route: 'x' } as unknown as Parameters<Server['addRoute']>[0]),
      InvalidArgumentError,
    );
    assert.throws(() => server.addRoute({ route: '', handler: () => 1 }), InvalidArgumentError);
    assert.throws(
      () => server.addRoute({ act: 'a'.repeat(300), handler: () => 1 }),
      InvalidArgumentError,
    );
    assert.equal(
      server.use(() => undefined),
      server,
      'use() chains',
    );
    assert.equal(server.addRoute({ handler: () => 1 }), server, 'addRoute() chains');
  });
});

describe('routes (addRoute)', () => {
  test('matching: route+act exact, route alone any act, act alone any route, no route = all', async () => {
    const server = await serve();
    server.addRoute({ route: 'a', act: 'x', handler: () => 'a.x' });
    server.addRoute({ route: 'a', handler: ({ mes }) => `a.* (${String(mes.act)})` });
    server.addRoute({ act: 'x', handler: ({ mes }) => `*.x (${String(mes.route)})` });
    server.addRoute({ handler: ({ mes }) => `all (${String(mes.route)}/${String(mes.act)})` });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const ask = (route?: string, act?: string): Promise<unknown> =>
        client?.sendMes({ route, act, awaitRes: true }) ?? Promise.reject(new Error('no client'));
      assert.equal(await ask('a', 'x'), 'a.x');
      assert.equal(await ask('a', 'y'), 'a.* (y)');
      assert.equal(await ask('a'), 'a.* (null)');
      assert.equal(await ask('b', 'x'), '*.x (b)');
      assert.equal(await ask('b', 'y'), 'all (b/y)');
      assert.equal(await ask(undefined, undefined), 'all (null/null)');
      assert.equal(await ask(undefined, 'x'), '*.x (null)');
    } finally {
      await stopAll(client, server);
    }
  });

  test('without a catch-all, unmatched route or act is not routed', async () => {
    const server = await serve();
    server.addRoute({ route: 'math', act: 'add', handler: () => 3 });
    const unrouted: string[] = [];
    server.on('noRouting', ({ mes }) => unrouted.push(`${String(mes.route)}/${String(mes.act)}`));
    let client: Client | undefined;
    try {
      client = await connect(server);
      assert.equal(await client.sendMes({ route: 'math', act: 'add', awaitRes: true }), 3);
      await assert.rejects(
        client.sendMes({ route: 'math', act: 'sub', awaitRes: true }),
        NoRouteError,
      );
      await assert.rejects(
        client.sendMes({ route: 'other', act: 'add', awaitRes: true }),
        NoRouteError,
      );
      await assert.rejects(client.sendMes({ awaitRes: true }), NoRouteError);
      assert.deepEqual(unrouted, ['math/sub', 'other/add', 'null/null']);
    } finally {
      await stopAll(client, server);
    }
  });

  test('routes run in order until one returns a value; a handler context has data and mes', async () => {
    const server = await serve();
    const calls: string[] = [];
    server.addRoute({
      route: 'chain',
      handler: ({ data, mes }) => {
        calls.push('logger');
        assert.deepEqual(data, [1, 2]);
        assert.deepEqual(mes.data, [1, 2]);
        return undefined;
      },
    });
    server.addRoute({
      route: 'chain',
      handler: async ({ data }) => {
        calls.push('sum');
        await delay(1);
        return (data as number[]).reduce((a, b) => a + b, 0);
      },
    });
    server.addRoute({
      route: 'chain',
      handler: () => {
        calls.push('never');
        return 'never';
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server);
      assert.equal(await client.sendMes({ route: 'chain', data: [1, 2], awaitRes: true }), 3);
      assert.deepEqual(calls, ['logger', 'sum']);
    } finally {
      await stopAll(client, server);
    }
  });

  test('handler return values: sync, async, undefined -> null, falsy values, objects', async () => {
    const server = await serve();
    server.addRoute({ route: 'sync', handler: ({ data }) => ({ echo: data }) });
    server.addRoute({
      route: 'async',
      handler: async ({ data }) => {
        await delay(5);
        return `async ${String(data)}`;
      },
    });
    server.addRoute({ route: 'undefined', handler: () => undefined });
    server.addRoute({ route: 'async-undefined', handler: async () => undefined });
    server.addRoute({ route: 'zero', handler: () => 0 });
    server.addRoute({ route: 'false', handler: () => false });
    server.addRoute({ route: 'empty', handler: () => '' });
    server.addRoute({ route: 'null', handler: () => null });
    server.addRoute({ route: 'bigint', handler: () => 10n });
    server.addRoute({
      route: 'stop-undefined',
      handler: ({ stop }) => {
        stop();
        return undefined;
      },
    });
    server.addRoute({ route: 'stop-undefined', handler: () => 'must not run' });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const ask = (route: string, data?: unknown): Promise<unknown> =>
        client?.sendMes({ route, data, awaitRes: true }) ?? Promise.reject(new Error('no client'));
      assert.deepEqual(await ask('sync', { a: [1, 'b', null, true] }), {
        echo: { a: [1, 'b', null, true] },
      });
      assert.equal(await ask('async', 7), 'async 7');
      assert.equal(await ask('undefined'), null);
      assert.equal(await ask('async-undefined'), null);
      assert.equal(await ask('zero'), 0);
      assert.equal(await ask('false'), false);
      assert.equal(await ask('empty'), '');
      assert.equal(await ask('null'), null);
      assert.equal(await ask('stop-undefined'), null);
      // A reply the codec cannot carry becomes an error reply; the connection stays up.
      const unserializable = await rejection(ask('bigint'));
      assert.ok(unserializable instanceof SerializationError);
      assert.equal(unserializable.code, ErrorCode.SERIALIZE);
      assert.equal(await ask('zero'), 0);
    } finally {
      await stopAll(client, server);
    }
  });

  test('thrown errors become RemoteError with remoteName, remoteCode, data and origin server id', async () => {
    const server = await serve({ id: 'origin-server' });
    server.addRoute({
      route: 'sync-throw',
      handler: () => {
        throw new TypeError('bad input');
      },
    });
    server.addRoute({
      route: 'async-throw',
      handler: async () => {
        await delay(1);
        throw Object.assign(new Error('with details'), { code: 'E_DETAIL', data: { field: 'x' } });
      },
    });
    server.addRoute({
      route: 'throw-string',
      handler: () => {
        throw 'plain string';
      },
    });
    server.addRoute({
      route: 'throw-wsmesh',
      handler: () => {
        throw new NoRouteError('nothing here');
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const syncError = await rejection(client.sendMes({ route: 'sync-throw', awaitRes: true }));
      assert.ok(syncError instanceof RemoteError);
      assert.equal(syncError.code, ErrorCode.REMOTE);
      assert.equal(syncError.remoteName, 'TypeError');
      assert.equal(syncError.message, 'bad input');
      assert.equal(syncError.origin, 'origin-server');
      assert.equal(syncError.stack?.includes('server.ts'), false, 'no remote stack crosses');

      const asyncError = await rejection(client.sendMes({ route: 'async-throw', awaitRes: true }));
      assert.ok(asyncError instanceof RemoteError);
      assert.equal(asyncError.remoteName, 'Error');
      assert.equal(asyncError.remoteCode, 'E_DETAIL');
      assert.deepEqual(asyncError.data, { field: 'x' });
      assert.equal(asyncError.origin, 'origin-server');

      const stringError = await rejection(
        client.sendMes({ route: 'throw-string', awaitRes: true }),
      );
      assert.ok(stringError instanceof RemoteError);
      assert.equal(stringError.message, 'plain string');

      const wsmeshError = await rejection(
        client.sendMes({ route: 'throw-wsmesh', awaitRes: true }),
      );
      assert.ok(wsmeshError instanceof NoRouteError, 'wsmesh errors keep their class and code');
      assert.equal(wsmeshError.message, 'nothing here');

      // cbAfterRes gets the same error.
      const result = await new Promise<ResponseResult>((resolve) => {
        void client?.sendMes({ route: 'sync-throw', cbAfterRes: resolve });
      });
      assert.ok(result.error instanceof RemoteError);
      assert.equal(result.res, null);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('clients map', () => {
  test('holds one ServerConnection per handshaken peer and forgets closed ones', async () => {
    const server = await serve();
    const clients: Client[] = [];
    try {
      for (let index = 0; index < 5; index++) clients.push(await connect(server));
      await waitFor(() => server.clients.size === 5);
      for (const [id, ws] of server.clients) {
        assert.ok(ws instanceof ServerConnection);
        assert.equal(ws.id, id);
      }
      const connectionIds = clients.map((client) => client.getInfo().connectionId);
      assert.deepEqual(new Set(connectionIds), new Set(server.clients.keys()));

      // A raw socket that has not sent HELLO yet is not a client.
      const raw = await rawSocket(serverUrl(server));
      // Once the server holds the socket, it has seen everything it will see before HELLO.
      const sockets = server['sockets'].all;
      await waitFor(() => sockets.size === 6, 5000, 'the raw socket is accepted');
      assert.equal(server.clients.size, 5);
      await sendHello(raw, 'raw-peer');
      await waitFor(() => server.clients.size === 6);
      assert.ok([...server.clients.values()].some((ws) => ws.clientId === 'raw-peer'));
      // Abrupt disconnect (no close frame).
      raw.ws.terminate();
      await waitFor(() => server.clients.size === 5);

      const first = clients.shift();
      await first?.stop();
      await waitFor(() => server.clients.size === 4);
      await stopAll(...clients);
      await waitFor(() => server.clients.size === 0);
    } finally {
      await stopAll(...clients, server);
    }
  });
});

describe('ws.sendMes (server asks the client)', () => {
  test('fire-and-forget, cbAfterRes and awaitRes', async () => {
    const server = await serve();
    let client: Client | undefined;
    try {
      client = new Client({ url: serverUrl(server) });
      const notes: unknown[] = [];
      client.addRoute({ route: 'note', handler: ({ data }) => void notes.push(data) });
      client.addRoute({
        route: 'ask',
        act: 'double',
        handler: async ({ data }) => {
          await delay(2);
          return (data as number) * 2;
        },
      });
      const connected = nextEvent(server, 'connection');
      await client.start();
      const { ws } = await connected;

      assert.equal(await ws.sendMes({ route: 'note', data: 'hello' }), undefined);
      await waitFor(() => notes.length === 1);
      assert.deepEqual(notes, ['hello']);

      const result = await new Promise<ResponseResult>((resolve) => {
        void ws.sendMes({ route: 'ask', act: 'double', data: 4, cbAfterRes: resolve });
      });
      assert.deepEqual(result, { res: 8 });

      assert.equal(await ws.sendMes({ route: 'ask', act: 'double', data: 21, awaitRes: true }), 42);
      // Both at once: the promise resolves with the reply and the callback gets it too.
      let callback: ResponseResult | undefined;
      const both = await ws.sendMes({
        route: 'ask',
        act: 'double',
        data: 5,
        awaitRes: true,
        cbAfterRes: (res) => {
          callback = res;
        },
      });
      assert.equal(both, 10);
      await waitFor(() => callback !== undefined);
      assert.deepEqual(callback, { res: 10 });
    } finally {
      await stopAll(client, server);
    }
  });

  test('errors: RemoteError from the client (origin = client id), NoRouteError, TimeoutError', async () => {
    const server = await serve({ awaitResTimeout: 150 });
    let client: Client | undefined;
    try {
      client = new Client({ id: 'answering-client', url: serverUrl(server) });
      client.addRoute({
        route: 'fail',
        handler: () => {
          throw new SyntaxError('client says no');
        },
      });
      client.addRoute({ route: 'hang', handler: () => new Promise(() => undefined) });
      const connected = nextEvent(server, 'connection');
      await client.start();
      const { ws } = await connected;

      const remote = await rejection(ws.sendMes({ route: 'fail', awaitRes: true }));
      assert.ok(remote instanceof RemoteError);
      assert.equal(remote.remoteName, 'SyntaxError');
      assert.equal(remote.message, 'client says no');
      assert.equal(remote.origin, 'answering-client');

      await assert.rejects(ws.sendMes({ route: 'missing', awaitRes: true }), NoRouteError);

      let started = Date.now();
      const timeout = await rejection(ws.sendMes({ route: 'hang', awaitRes: true, timeout: 100 }));
      assert.ok(timeout instanceof TimeoutError);
      assert.equal(timeout.code, ErrorCode.TIMEOUT);
      assert.ok(Date.now() - started >= 90);

      // Without `timeout`, the server's awaitResTimeout applies.
      started = Date.now();
      await assert.rejects(ws.sendMes({ route: 'hang', awaitRes: true }), TimeoutError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 140 && elapsed < 3000, `awaitResTimeout took ${elapsed} ms`);

      const cb = await new Promise<ResponseResult>((resolve) => {
        void ws.sendMes({ route: 'hang', timeout: 50, cbAfterRes: resolve });
      });
      assert.ok(cb.error instanceof TimeoutError);
    } finally {
      await stopAll(client, server);
    }
  });

  test('invalid options reject; a closed connection rejects; pending requests fail on close', async () => {
    const server = await serve();
    let client: Client | undefined;
    try {
      client = new Client({ url: serverUrl(server), reconnect: false });
      client.addRoute({ route: 'hang', handler: () => new Promise(() => undefined) });
      const connected = nextEvent(server, 'connection');
      await client.start();
      const { ws } = await connected;
      await assert.rejects(ws.sendMes({ route: '' }), InvalidArgumentError);
      await assert.rejects(
        ws.sendMes({ route: 'x', timeout: -1, awaitRes: true }),
        InvalidArgumentError,
      );
      await assert.rejects(
        ws.sendMes(null as unknown as Parameters<ServerConnection['sendMes']>[0]),
        InvalidArgumentError,
      );

      const pending = rejection(ws.sendMes({ route: 'hang', awaitRes: true, timeout: 10_000 }));
      const started = Date.now();
      await client.stop();
      const error = await pending;
      assert.ok(error instanceof ConnectionClosedError);
      assert.equal(error.code, ErrorCode.CONNECTION_CLOSED);
      assert.ok(Date.now() - started < 2000);
      await assert.rejects(ws.sendMes({ route: 'x' }), ConnectionClosedError);
      await assert.rejects(ws.sendMes({ route: 'x', awaitRes: true }), ConnectionClosedError);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('ws.close', () => {
  test('closes with the given code and reason; the client sees them', async () => {
    const server = await serve();
    server.addRoute({
      route: 'kick',
      handler: ({ ws }) => {
        setTimeout(() => ws.close(4321, 'kicked'), 10);
        return 'bye';
      },
    });
    let client: Client | undefined;
    try {
      client = await connect(server, { reconnect: false });
      const clientClosed = nextEvent(client, 'close');
      const serverClosed = nextEvent(server, 'closeClient');
      assert.equal(await client.sendMes({ route: 'kick', awaitRes: true }), 'bye');
      const seenByClient = await clientClosed;
      assert.equal(seenByClient.code, 4321);
      assert.equal(seenByClient.reason, 'kicked');
      const seenByServer = await serverClosed;
      assert.equal(seenByServer.code, 4321);
      assert.equal(seenByServer.reason, 'kicked');
      await waitFor(() => server.clients.size === 0);
    } finally {
      await stopAll(client, server);
    }
  });

  test('defaults to 1000 and refuses reserved codes', async () => {
    const server = await serve();
    let client: Client | undefined;
    try {
      const connected = nextEvent(server, 'connection');
      client = await connect(server, { reconnect: false });
      const { ws } = await connected;
      assert.throws(() => ws.close(1001), InvalidArgumentError);
      assert.throws(() => ws.close(2000), InvalidArgumentError);
      assert.throws(() => ws.close(5000), InvalidArgumentError);
      const closed = nextEvent(client, 'close');
      ws.close();
      assert.equal((await closed).code, 1000);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('server.stop()', () => {
  test('closes every client with 1001, empties clients, emits stop', async () => {
    const server = await serve();
    const clients: Client[] = [];
    try {
      for (let index = 0; index < 3; index++) {
        clients.push(await connect(server, { reconnectTimeout: 5000 }));
      }
      await waitFor(() => server.clients.size === 3);
      const codes = clients.map((client) => nextEvent(client, 'close'));
      const closeClients: number[] = [];
      server.on('closeClient', ({ code }) => closeClients.push(code));
      const stopped = nextEvent(server, 'stop');
      await server.stop();
      await stopped;
      for (const close of await Promise.all(codes)) assert.equal(close.code, 1001);
      assert.deepEqual(closeClients, [1001, 1001, 1001]);
      assert.equal(server.clients.size, 0);
      assert.equal(server.active, false);
    } finally {
      await stopAll(...clients, server);
    }
  });

  test('the process exits by itself after stop() (no leftover timers)', async () => {
    const result = await runScript(
      `
      import { Client, Server } from ${JSON.stringify(LIBRARY_ENTRY)};
      const server = new Server({ host: '127.0.0.1', port: 0, heartbeatInterval: 50 });
      server.addRoute({ route: 'ping', handler: () => 'pong' });
      await server.start();
      const url = 'ws://127.0.0.1:' + server.port;
      const client = new Client({ url, heartbeatInterval: 50 });
      await client.start();
      const reply = await client.sendMes({ route: 'ping', awaitRes: true });
      // A request that times out later and a client that the server closes.
      const other = new Client({ url, reconnect: false });
      await other.start();
      void other.sendMes({ route: 'ping', awaitRes: true, timeout: 60000 }).catch(() => undefined);
      await server.stop();
      await client.stop();
      await other.stop();
      console.log('done', reply);
      `,
      { timeoutMs: 10_000 },
    );
    assert.equal(result.timedOut, false, `the process did not exit: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /done pong/);
    // tsx start-up included; a leftover timer would keep the process up until the kill.
    assert.ok(result.elapsedMs < 8000, `exited after ${result.elapsedMs} ms`);
  });
});

describe('handshake and heartbeats', () => {
  test('a socket that never sends HELLO is closed after handshakeTimeout (4001)', async () => {
    const server = await serve({ handshakeTimeout: 150 });
    try {
      const raw = await rawSocket(serverUrl(server));
      const { code } = await raw.closed;
      assert.equal(code, 4001);
      assert.equal(server.clients.size, 0);
    } finally {
      await server.stop();
    }
  });

  test('a peer that stops answering PINGs is dropped (heartbeatInterval); live clients stay', async () => {
    const server = await serve({ heartbeatInterval: 100 });
    let client: Client | undefined;
    try {
      client = await connect(server, { heartbeatInterval: 100 });
      const raw = await rawSocket(serverUrl(server));
      // Answer nothing: the ws library still answers WebSocket pings, but wsmesh PINGs are frames.
      await sendHello(raw, 'silent-peer');
      const closed = nextEvent(server, 'closeClient', 5000);
      const { ws, code } = await closed;
      assert.equal(ws.clientId, 'silent-peer');
      assert.equal(code, 4000);
      assert.ok(
        raw.frames.some((frame) => Array.isArray(frame) && frame[0] === 9),
        'got a PING',
      );
      // Three more heartbeat ticks on both sides: more than the two silent ticks that drop a peer.
      const serverTicks = countTicks(server['sockets']['heartbeat']);
      const clientTicks = countTicks(client['connector']['heartbeat']);
      await waitFor(
        () => serverTicks() >= 3 && clientTicks() >= 3,
        5000,
        'three heartbeat ticks on both sides',
      );
      assert.equal(client.connected, true, 'a client that answers PINGs stays connected');
      assert.equal(server.clients.size, 1);
      raw.ws.terminate();
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('attaching to an existing http server', () => {
  test('two endpoints on one http.Server at different paths; http routes still served; 404 otherwise', async () => {
    const http = createHttpServer((request, response) => {
      if (request.url === '/health') {
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        response.end('healthy');
        return;
      }
      response.writeHead(404);
      response.end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const alpha = new Server({ id: 'alpha', server: http, path: '/alpha' });
    const beta = new Server({ id: 'beta', server: http, path: '/beta', codec: 'msgpack' });
    alpha.addRoute({ route: 'who', handler: ({ ws }) => `alpha via ${ws.request.url ?? ''}` });
    beta.addRoute({ route: 'who', handler: () => 'beta' });
    const clients: Client[] = [];
    try {
      await alpha.start();
      await beta.start();
      assert.equal(alpha.port, port);
      assert.equal(beta.port, port);
      const a = await connect(undefined, { url: `ws://127.0.0.1:${port}/alpha?x=1` });
      const b = await connect(undefined, {
        url: `ws://127.0.0.1:${port}/beta`,
        codec: 'msgpack',
      });
      clients.push(a, b);
      assert.equal(a.getInfo().serverId, 'alpha');
      assert.equal(b.getInfo().serverId, 'beta');
      assert.equal(await a.sendMes({ route: 'who', awaitRes: true }), 'alpha via /alpha?x=1');
      assert.equal(await b.sendMes({ route: 'who', awaitRes: true }), 'beta');
      assert.equal(alpha.clients.size, 1);
      assert.equal(beta.clients.size, 1);

      assert.equal(await httpText(`http://127.0.0.1:${port}/health`), '200 healthy');

      const notFound = await upgradeStatus(`ws://127.0.0.1:${port}/gamma`);
      assert.equal(notFound, 404);

      // A second endpoint on a taken path is refused.
      const clash = new Server({ server: http, path: '/alpha' });
      await assert.rejects(clash.start(), InvalidOptionError);

      // Stopping one endpoint leaves the other endpoint and the http server running.
      const aClosed = nextEvent(a, 'close');
      await alpha.stop();
      assert.equal((await aClosed).code, 1001);
      assert.equal(http.listening, true);
      assert.equal(await b.sendMes({ route: 'who', awaitRes: true }), 'beta');
      assert.equal(await httpText(`http://127.0.0.1:${port}/health`), '200 healthy');
      assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/alpha`), 404);
    } finally {
      await stopAll(...clients, alpha, beta);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  test('an own-port server answers plain HTTP with 426 and unknown upgrade paths with 404', async () => {
    const server = await serve({ path: '/ws' });
    try {
      assert.match(await httpText(`http://127.0.0.1:${server.port ?? 0}/ws`), /^426 /);
      assert.equal(await upgradeStatus(`ws://127.0.0.1:${server.port ?? 0}/other`), 404);
      assert.equal(
        await upgradeStatus(`ws://127.0.0.1:${server.port ?? 0}/ws`, ['some-other-protocol']),
        400,
      );
    } finally {
      await server.stop();
    }
  });

  test('attached to an https server: wss with a self-signed certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsmesh-tls-'));
    const https = createHttpsServer();
    const server = new Server({ id: 'tls-server', server: https, path: '/secure' });
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'));
      https.setSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert });
      await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
      const port = (https.address() as AddressInfo).port;
      await server.start();
      assert.equal(server.port, port);
      const url = `wss://127.0.0.1:${port}/secure`;

      // A raw `ws` peer that trusts the certificate completes the wsmesh handshake.
      const tlsSocket = new WebSocket(url, ['wsmesh.v1.json'], { ca: cert });
      const raw = new RawPeer(tlsSocket, 'json');
      await new Promise((resolve, reject) => {
        tlsSocket.once('open', resolve);
        tlsSocket.once('error', reject);
      });
      const welcome = await sendHello(raw, 'tls-raw');
      assert.equal(welcome.serverId, 'tls-server');
      raw.ws.close();

      // The Client has no TLS option: it trusts only the default CAs of the process.
      const untrusted = new Client({ url, attempts: 1, reconnectTimeout: 10 });
      const errors: Error[] = [];
      untrusted.on('error', ({ error }) => errors.push(error));
      await assert.rejects(untrusted.start(), NotConnectedError);
      assert.ok(
        errors.some((error) => /self[- ]signed|certificate/i.test(error.message)),
        errors.map((error) => error.message).join('; '),
      );

      // A Client in a process that trusts the certificate (NODE_EXTRA_CA_CERTS) talks over wss.
      const result = await runScript(
        `
        import { Client } from ${JSON.stringify(LIBRARY_ENTRY)};
        const client = new Client({ url: ${JSON.stringify(url)}, attempts: 1 });
        await client.start();
        const reply = await client.sendMes({ route: 'echo', data: 'over tls', awaitRes: true });
        // Group fan-out writes pre-framed bytes: check them over TLS too.
        const group = new Promise((resolve) => {
          client.addRoute({ route: 'tls-group', handler: ({ data }) => resolve(data) });
        });
        await client.subscribe({ id: 'tls-group' });
        await client.sendMesToGroup({ id: 'tls-group', route: 'tls-group', data: 'fan-out' });
        const groupData = await group;
        console.log(JSON.stringify({ reply, groupData, serverId: client.getInfo().serverId }));
        await client.stop();
        `,
        { env: { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeoutMs: 15_000 },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout.trim()), {
        reply: 'over tls',
        groupData: 'fan-out',
        serverId: 'tls-server',
      });
    } finally {
      await server.stop();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('codecs', () => {
  test('a msgpack client and a json client on one server; binary data survives msgpack', async () => {
    const server = await serve();
    server.addRoute({ route: 'echo', handler: ({ data, ws }) => ({ data, codec: ws.codec }) });
    const clients: Client[] = [];
    try {
      const packed = await connect(server, { codec: 'msgpack' });
      const plain = await connect(server);
      clients.push(packed, plain);
      assert.equal(packed.getInfo().codec, 'msgpack');
      assert.equal(plain.getInfo().codec, 'json');
      const codecs = [...server.clients.values()].map((ws) => ws.codec).sort();
      assert.deepEqual(codecs, ['json', 'msgpack']);

      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const reply = (await packed.sendMes({
        route: 'echo',
        data: { bytes, n: 1.5, nested: { list: [1, 'two', null] } },
        awaitRes: true,
      })) as { data: { bytes: Uint8Array; n: number; nested: unknown }; codec: string };
      assert.equal(reply.codec, 'msgpack');
      assert.deepEqual([...reply.data.bytes], [...bytes]);
      assert.equal(reply.data.n, 1.5);
      assert.deepEqual(reply.data.nested, { list: [1, 'two', null] });

      assert.deepEqual(await plain.sendMes({ route: 'echo', data: { a: 1 }, awaitRes: true }), {
        data: { a: 1 },
        codec: 'json',
      });
    } finally {
      await stopAll(...clients, server);
    }
  });

  test('the codec option picks the subprotocol when a peer offers both', async () => {
    const jsonServer = await serve();
    const msgpackServer = await serve({ codec: 'msgpack' });
    try {
      const both = ['wsmesh.v1.json', 'wsmesh.v1.msgpack'];
      const toJson = await rawSocket(serverUrl(jsonServer), both);
      const toMsgpack = await rawSocket(serverUrl(msgpackServer), both);
      assert.equal(toJson.ws.protocol, 'wsmesh.v1.json');
      assert.equal(toMsgpack.ws.protocol, 'wsmesh.v1.msgpack');
      // A peer offering only the other codec still gets it.
      const onlyJson = await rawSocket(serverUrl(msgpackServer), ['wsmesh.v1.json']);
      assert.equal(onlyJson.ws.protocol, 'wsmesh.v1.json');
      // No subprotocol at all means JSON.
      const none = await rawSocket(serverUrl(msgpackServer), null);
      await sendHello(none, 'no-subprotocol');
      for (const peer of [toJson, toMsgpack, onlyJson, none]) peer.ws.terminate();
    } finally {
      await stopAll(jsonServer, msgpackServer);
    }
  });
});

describe('maxPayload', () => {
  test('a frame over the server maxPayload closes that connection with 1009; others continue', async () => {
    const server = await serve({ maxPayload: 1024 });
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    let client: Client | undefined;
    try {
      client = await connect(server);
      const raw = await rawSocket(serverUrl(server));
      await sendHello(raw, 'big-sender');
      raw.send([2, 1, 'echo', null, 'x'.repeat(2000)]);
      const { code } = await raw.closed;
      assert.equal(code, 1009);
      assert.equal(await client.sendMes({ route: 'echo', data: 'small', awaitRes: true }), 'small');
      await waitFor(() => server.clients.size === 1);
    } finally {
      await stopAll(client, server);
    }
  });

  test('the client learns the server maxPayload and refuses oversized messages locally', async () => {
    const server = await serve({ maxPayload: 1024 });
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    let client: Client | undefined;
    try {
      client = await connect(server);
      await assert.rejects(
        client.sendMes({ route: 'echo', data: 'x'.repeat(2000), awaitRes: true }),
        PayloadTooLargeError,
      );
      await assert.rejects(
        client.sendMes({ route: 'echo', data: 'x'.repeat(2000) }),
        PayloadTooLargeError,
      );
      assert.equal(client.connected, true);
      assert.equal(await client.sendMes({ route: 'echo', data: 'fits', awaitRes: true }), 'fits');
    } finally {
      await stopAll(client, server);
    }
  });

  test('the server learns the client maxPayload (ws.sendMes rejects oversized messages)', async () => {
    const server = await serve();
    let client: Client | undefined;
    try {
      const connected = nextEvent(server, 'connection');
      client = new Client({ url: serverUrl(server), maxPayload: 1024 });
      client.addRoute({ route: 'take', handler: ({ data }) => String(data).length });
      await client.start();
      const { ws } = await connected;
      await assert.rejects(
        ws.sendMes({ route: 'take', data: 'y'.repeat(5000), awaitRes: true }),
        PayloadTooLargeError,
      );
      assert.equal(await ws.sendMes({ route: 'take', data: 'y'.repeat(100), awaitRes: true }), 100);
    } finally {
      await stopAll(client, server);
    }
  });
});

/** GETs `url` and resolves with "status body". */
function httpText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(`${response.statusCode ?? 0} ${body.trim()}`));
    }).on('error', reject);
  });
}
