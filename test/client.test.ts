/**
 * Integration tests of the Node client (SPEC section 2, without groups) over real sockets:
 * options, events, round-robin urls, reconnect, `attempts`, `stop()`, `getInfo`, url
 * management, client routes and middlewares, `sendMes` modes and errors, the offline queue
 * and failing pending requests when the server dies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AbortError,
  CLIENT_DEFAULTS,
  Client,
  ConnectionClosedError,
  ErrorCode,
  InvalidArgumentError,
  InvalidOptionError,
  NoRouteError,
  NotConnectedError,
  QueueFullError,
  RemoteError,
  SerializationError,
  Server,
  StoppedError,
  TimeoutError,
  type ClientOptions,
  type ResponseResult,
  type ServerOptions,
} from '../src/index.js';
import {
  LIBRARY_ENTRY,
  delay,
  getFreePort,
  nextEvent,
  runScript,
  serverUrl,
  startServer,
  stopAll,
  waitFor,
} from './helpers.js';

/** A started server on 127.0.0.1 (ephemeral port unless `options.port` is given). */
async function serve(options: ServerOptions = {}): Promise<Server> {
  return (await startServer(options)).server;
}

/** Resolves with the rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** A url where nothing listens. */
async function deadUrl(): Promise<string> {
  return `ws://127.0.0.1:${await getFreePort()}/`;
}

/** Records the names of client events, in order. */
function recordEvents(client: Client): string[] {
  const names: string[] = [];
  for (const name of ['start', 'open', 'close', 'stop', 'error'] as const) {
    client.on(name, () => names.push(name));
  }
  return names;
}

describe('client options', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['url missing', {}],
    ['url not a string', { url: 42 }],
    ['url invalid', { url: 'not a url' }],
    ['url with another scheme', { url: 'ftp://127.0.0.1/' }],
    ['url empty list', { url: [] }],
    ['url list with a bad entry', { url: ['ws://127.0.0.1:1/', 'nope'] }],
    ['id empty', { url: 'ws://127.0.0.1:1/', id: '' }],
    ['codec unknown', { url: 'ws://127.0.0.1:1/', codec: 'cbor' }],
    ['reconnect not a boolean', { url: 'ws://127.0.0.1:1/', reconnect: 'yes' }],
    ['silent not a boolean', { url: 'ws://127.0.0.1:1/', silent: 0 }],
    ['attempts negative', { url: 'ws://127.0.0.1:1/', attempts: -1 }],
    ['attempts fractional', { url: 'ws://127.0.0.1:1/', attempts: 1.5 }],
    ['reconnectTimeout negative', { url: 'ws://127.0.0.1:1/', reconnectTimeout: -1 }],
    ['reconnectTimeout string', { url: 'ws://127.0.0.1:1/', reconnectTimeout: '2s' }],
    ['awaitResTimeout zero', { url: 'ws://127.0.0.1:1/', awaitResTimeout: 0 }],
    ['maxPayload zero', { url: 'ws://127.0.0.1:1/', maxPayload: 0 }],
    ['heartbeatInterval negative', { url: 'ws://127.0.0.1:1/', heartbeatInterval: -1 }],
    ['handshakeTimeout zero', { url: 'ws://127.0.0.1:1/', handshakeTimeout: 0 }],
    ['maxQueue negative', { url: 'ws://127.0.0.1:1/', maxQueue: -1 }],
    ['maxBufferedBytes zero', { url: 'ws://127.0.0.1:1/', maxBufferedBytes: 0 }],
  ];
  for (const [name, options] of bad) {
    test(`rejects ${name} with InvalidOptionError`, () => {
      assert.throws(
        () => new Client(options as unknown as ClientOptions),
        (error: unknown) =>
          error instanceof InvalidOptionError && error.code === ErrorCode.INVALID_OPTION,
      );
    });
  }

  test('rejects a non-object options argument', () => {
    assert.throws(() => new Client(null as unknown as ClientOptions), InvalidOptionError);
  });

  test('CLIENT_DEFAULTS hold the documented defaults and are applied', () => {
    assert.equal(CLIENT_DEFAULTS.reconnect, true);
    assert.equal(CLIENT_DEFAULTS.reconnectTimeout, 2000);
    assert.equal(CLIENT_DEFAULTS.awaitResTimeout, 10_000);
    assert.equal(CLIENT_DEFAULTS.attempts, 0);
    assert.equal(CLIENT_DEFAULTS.silent, true);
    assert.equal(CLIENT_DEFAULTS.codec, 'json');
    const client = new Client({ url: 'ws://127.0.0.1:1/' });
    const { options } = client;
    assert.equal(options.reconnect, true);
    assert.equal(options.reconnectTimeout, 2000);
    assert.equal(options.awaitResTimeout, 10_000);
    assert.equal(options.attempts, 0);
    assert.equal(options.silent, true);
    assert.equal(options.codec, 'json');
    assert.equal(options.maxQueue, CLIENT_DEFAULTS.maxQueue);
    assert.match(client.id, /\S/);
    assert.notEqual(new Client({ url: 'ws://127.0.0.1:1/' }).id, client.id);
    assert.equal(client.data, undefined);
    assert.equal(client.connected, false);
  });

  test('given options are kept; url lists are de-duplicated; http(s) urls are accepted', () => {
    const client = new Client({
      id: 'c-1',
      url: ['ws://127.0.0.1:1/', 'ws://127.0.0.1:1/', 'http://127.0.0.1:2/x', 'wss://example.org/'],
      data: { role: 'tester' },
      reconnect: false,
      reconnectTimeout: 0,
      awaitResTimeout: 5,
      attempts: 3,
      silent: false,
      codec: 'msgpack',
      maxQueue: 0,
    });
    assert.equal(client.id, 'c-1');
    assert.deepEqual(client.data, { role: 'tester' });
    assert.deepEqual(client.getInfo().urls, [
      'ws://127.0.0.1:1/',
      'http://127.0.0.1:2/x',
      'wss://example.org/',
    ]);
    assert.equal(client.options.reconnect, false);
    assert.equal(client.options.reconnectTimeout, 0);
    assert.equal(client.options.awaitResTimeout, 5);
    assert.equal(client.options.attempts, 3);
    assert.equal(client.options.silent, false);
    assert.equal(client.options.codec, 'msgpack');
    assert.equal(client.options.maxQueue, 0);
  });

  test('silent: false logs to the console', async () => {
    const server = await serve();
    const lines: string[] = [];
    const originalLog = console.log;
    console.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    const client = new Client({ id: 'loud-client', url: serverUrl(server), silent: false });
    try {
      await client.start();
      await client.stop();
    } finally {
      console.log = originalLog;
      await stopAll(client, server);
    }
    assert.ok(lines.some((line) => line.includes('loud-client') && line.includes('open')));
  });
});

describe('client events', () => {
  test('start, open {client, url, serverId}, close {client, url, code, reason}, stop {client}', async () => {
    const server = await serve({ id: 'events-server' });
    const url = serverUrl(server);
    const client = new Client({ url, reconnect: false });
    const names = recordEvents(client);
    try {
      const started = nextEvent(client, 'start');
      const opened = nextEvent(client, 'open');
      await client.start();
      assert.equal((await started).client, client);
      const open = await opened;
      assert.equal(open.client, client);
      assert.equal(open.url, url);
      assert.equal(open.serverId, 'events-server');
      assert.equal(client.connected, true);

      const closed = nextEvent(client, 'close');
      const stopped = nextEvent(client, 'stop');
      // `stop` comes while the client is still connected (as in the clone library).
      let connectedAtStop: boolean | undefined;
      client.once('stop', () => (connectedAtStop = client.connected));
      await client.stop();
      const close = await closed;
      assert.equal(close.client, client);
      assert.equal(close.url, url);
      assert.equal(close.code, 1000);
      assert.equal(typeof close.reason, 'string');
      assert.equal((await stopped).client, client);
      assert.equal(connectedAtStop, true);
      assert.deepEqual(names, ['start', 'open', 'stop', 'close']);
      assert.equal(client.connected, false);
      assert.equal(client.getInfo().state, 'stopped');
      await client.stop(); // idempotent
      assert.deepEqual(names, ['start', 'open', 'stop', 'close']);
    } finally {
      await stopAll(client, server);
    }
  });

  test('error {client, error} on a failed connection attempt', async () => {
    const client = new Client({ url: await deadUrl(), reconnectTimeout: 5000 });
    try {
      const failed = nextEvent(client, 'error');
      const starting = client.start().catch((error: unknown) => error);
      const { client: emitter, error } = await failed;
      assert.equal(emitter, client);
      assert.ok(error instanceof Error);
      assert.match(error.message, /ECONNREFUSED|connect/i);
      await client.stop();
      assert.ok((await starting) instanceof StoppedError, 'stop() rejects a pending start()');
    } finally {
      await client.stop();
    }
  });

  test('a throwing listener is reported as an error event', async () => {
    const server = await serve();
    const client = new Client({ url: serverUrl(server) });
    const errors: Error[] = [];
    client.on('error', ({ error }) => errors.push(error));
    client.on('open', () => {
      throw new Error('listener bug');
    });
    try {
      await client.start();
      assert.ok(errors.some((error) => error.message === 'listener bug'));
      assert.equal(client.connected, true);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('urls and reconnect', () => {
  test('several urls are tried round-robin: first dead, connects to the second', async () => {
    const server = await serve({ id: 'second' });
    const dead = await deadUrl();
    const good = serverUrl(server);
    const client = new Client({ url: [dead, good], reconnectTimeout: 20 });
    const errors: Error[] = [];
    client.on('error', ({ error }) => errors.push(error));
    try {
      await client.start();
      const info = client.getInfo();
      assert.equal(info.url, good);
      assert.equal(info.serverId, 'second');
      assert.equal(info.failedAttempts, 0);
      assert.ok(errors.length >= 1, 'the failed attempt on the dead url was reported');
    } finally {
      await stopAll(client, server);
    }
  });

  test('a dropped connection moves on to the next url at once', async () => {
    const first = await serve({ id: 'first' });
    const second = await serve({ id: 'second' });
    const client = new Client({
      url: [serverUrl(first), serverUrl(second)],
      reconnectTimeout: 5000,
    });
    try {
      await client.start();
      assert.equal(client.getInfo().serverId, 'first');
      const reopened = nextEvent(client, 'open');
      await first.stop();
      const open = await reopened;
      assert.equal(open.serverId, 'second');
      assert.equal(open.url, serverUrl(second));
    } finally {
      await stopAll(client, first, second);
    }
  });

  test('reconnects after the server restarts on the same port', async () => {
    const port = await getFreePort();
    let server = await serve({ port, id: 'before' });
    const client = new Client({ url: `ws://127.0.0.1:${port}/`, reconnectTimeout: 50 });
    const names = recordEvents(client);
    try {
      await client.start();
      assert.equal(client.getInfo().serverId, 'before');
      const closed = nextEvent(client, 'close');
      await server.stop();
      assert.equal((await closed).code, 1001);
      await waitFor(() => client.getInfo().failedAttempts >= 1, 5000, 'failed attempts counted');
      assert.equal(client.connected, false);
      assert.notEqual(client.getInfo().state, 'stopped');

      const reopened = nextEvent(client, 'open');
      server = await serve({ port, id: 'after' });
      const open = await reopened;
      assert.equal(open.serverId, 'after');
      assert.equal(client.getInfo().failedAttempts, 0);
      assert.equal(server.clients.size, 1);
      assert.equal(names.filter((name) => name === 'open').length, 2);
      assert.equal(names.includes('stop'), false);
    } finally {
      await stopAll(client, server);
    }
  });

  test('start() waits while the server is down and resolves once it comes up', async () => {
    const port = await getFreePort();
    const client = new Client({ url: `ws://127.0.0.1:${port}/`, reconnectTimeout: 30 });
    let server: Server | undefined;
    try {
      let resolved = false;
      const starting = client.start().then(() => {
        resolved = true;
      });
      await waitFor(() => client.getInfo().failedAttempts >= 2);
      assert.equal(resolved, false);
      server = await serve({ port });
      await starting;
      assert.equal(client.connected, true);
    } finally {
      await stopAll(client, server);
    }
  });

  test('attempts: gives up after that many failures; start() rejects with NotConnectedError; stop event', async () => {
    const client = new Client({ url: await deadUrl(), attempts: 3, reconnectTimeout: 20 });
    const names = recordEvents(client);
    try {
      const stopped = nextEvent(client, 'stop');
      const error = await rejection(client.start());
      assert.ok(error instanceof NotConnectedError);
      assert.equal(error.code, ErrorCode.NOT_CONNECTED);
      await stopped;
      const info = client.getInfo();
      assert.equal(info.state, 'stopped');
      assert.equal(info.failedAttempts, 3);
      assert.equal(names[0], 'start');
      assert.equal(names[names.length - 1], 'stop');
      assert.ok(names.filter((name) => name === 'error').length >= 3);
      await assert.rejects(client.sendMes({ route: 'x' }), NotConnectedError);
    } finally {
      await client.stop();
    }
  });

  test('attempts: messages queued while trying are rejected when the client gives up', async () => {
    const client = new Client({ url: await deadUrl(), attempts: 2, reconnectTimeout: 30 });
    try {
      const starting = rejection(client.start());
      const queued = rejection(client.sendMes({ route: 'x', data: 1 }));
      const request = rejection(client.sendMes({ route: 'x', awaitRes: true }));
      assert.ok((await starting) instanceof NotConnectedError);
      assert.ok((await queued) instanceof NotConnectedError);
      assert.ok((await request) instanceof NotConnectedError);
      assert.equal(client.getInfo().queued, 0);
    } finally {
      await client.stop();
    }
  });

  test('reconnect: false gives up on the first failure and after the connection drops', async () => {
    const dead = new Client({ url: await deadUrl(), reconnect: false });
    const server = await serve();
    const client = new Client({ id: 'no-reconnect', url: serverUrl(server), reconnect: false });
    // Kicked after `client`, reconnects at once: by then `client` would have redialed too.
    const control = new Client({ id: 'control', url: serverUrl(server), silent: true });
    const connected: string[] = [];
    server.on('connection', ({ ws }) => connected.push(ws.clientId ?? '?'));
    server.addRoute({
      route: 'kick',
      handler: ({ ws }) => {
        setTimeout(() => ws.close(4000, 'go away'), 5);
        return true;
      },
    });
    try {
      assert.ok((await rejection(dead.start())) instanceof NotConnectedError);
      assert.equal(dead.getInfo().failedAttempts, 1);

      await client.start();
      const stopped = nextEvent(client, 'stop');
      const closed = nextEvent(client, 'close');
      await client.sendMes({ route: 'kick', awaitRes: true });
      assert.equal((await closed).code, 4000);
      await stopped;
      assert.equal(client.getInfo().state, 'stopped');
      await assert.rejects(client.sendMes({ route: 'x' }), NotConnectedError);
      await control.start();
      const back = waitFor(() => connected.filter((id) => id === 'control').length >= 2);
      await control.sendMes({ route: 'kick', awaitRes: true });
      await back;
      assert.deepEqual(
        connected.filter((id) => id === 'no-reconnect'),
        ['no-reconnect'],
        'no reconnection',
      );
    } finally {
      await stopAll(dead, client, control, server);
    }
  });

  test('stop() stops reconnecting for good', async () => {
    const port = await getFreePort();
    let server = await serve({ port });
    const url = `ws://127.0.0.1:${port}/`;
    const client = new Client({ id: 'stopped', url, reconnectTimeout: 30 });
    // Keeps redialing with the same period: its failures and its connection are the clock.
    const control = new Client({ id: 'control', url, reconnectTimeout: 30, silent: true });
    try {
      await client.start();
      await control.start();
      await server.stop();
      await waitFor(() => client.getInfo().failedAttempts >= 1);
      const stopped = nextEvent(client, 'stop');
      await client.stop();
      await stopped;
      assert.equal(client.getInfo().state, 'stopped');
      const failed = client.getInfo().failedAttempts;
      const controlFailed = control.getInfo().failedAttempts;
      // Two more failures of the control span a whole reconnect period.
      await waitFor(() => control.getInfo().failedAttempts >= controlFailed + 2);
      assert.equal(client.getInfo().failedAttempts, failed, 'a stopped client must not redial');
      const connected: string[] = [];
      server = new Server({ port, host: '127.0.0.1' });
      server.on('connection', ({ ws }) => connected.push(ws.clientId ?? '?'));
      await server.start();
      await waitFor(() => control.connected, 5000, 'the control reconnected');
      assert.deepEqual(connected, ['control'], 'a stopped client must not reconnect');
      assert.equal(client.connected, false);
    } finally {
      await stopAll(client, control, server);
    }
  });

  test('stop() during a connection attempt stops dialing; the client can be started again', async () => {
    const port = await getFreePort();
    const url = `ws://127.0.0.1:${port}/`;
    const client = new Client({ url, reconnectTimeout: 20 });
    // Keeps dialing with the same period: its failures are the clock.
    const control = new Client({ url, reconnectTimeout: 20, silent: true });
    let server: Server | undefined;
    try {
      const starting = rejection(client.start());
      const controlStarting = control.start();
      await waitFor(() => client.getInfo().failedAttempts >= 1);
      await client.stop();
      assert.ok((await starting) instanceof StoppedError);
      const failed = client.getInfo().failedAttempts;
      const controlFailed = control.getInfo().failedAttempts;
      await waitFor(() => control.getInfo().failedAttempts >= controlFailed + 2);
      assert.equal(client.getInfo().failedAttempts, failed, 'a stopped client must not redial');
      server = await serve({ port });
      let connections = 0;
      server.on('connection', () => connections++);
      await controlStarting;
      assert.equal(connections, 1, 'only the control connected');
      await client.start();
      assert.equal(client.connected, true);
      assert.equal(connections, 2);
    } finally {
      await stopAll(client, control, server);
    }
  });
});

/**
 * A bare `ws` server that accepts the wsmesh JSON subprotocol and hands every socket to
 * `onSocket`, so a test can play a misbehaving wsmesh server.
 */
async function fakeServer(
  onSocket: (ws: WebSocket) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => (protocols.has('wsmesh.v1.json') ? 'wsmesh.v1.json' : false),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onSocket);
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Answers HELLO with WELCOME, then ignores everything (PINGs included). */
function welcomeThenIgnore(ws: WebSocket): void {
  ws.once('message', () => {
    ws.send(
      JSON.stringify([
        1,
        { v: 1, serverId: 'fake', connectionId: 'fake-1', maxPayload: 1024 * 1024 },
      ]),
    );
  });
}

describe('client handshake and heartbeats', () => {
  test('handshakeTimeout: a server that never sends WELCOME fails the attempt', async () => {
    const fake = await fakeServer(() => undefined);
    const client = new Client({ url: fake.url, handshakeTimeout: 150, attempts: 1 });
    try {
      const started = Date.now();
      assert.ok((await rejection(client.start())) instanceof NotConnectedError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 140 && elapsed < 3000, `gave up after ${elapsed} ms`);
    } finally {
      await client.stop();
      await fake.close();
    }
  });

  test('heartbeatInterval: a server that stops answering is dropped and redialed', async () => {
    let connections = 0;
    const fake = await fakeServer((ws) => {
      connections++;
      welcomeThenIgnore(ws);
    });
    const client = new Client({ url: fake.url, heartbeatInterval: 100, reconnectTimeout: 5000 });
    try {
      await client.start();
      assert.equal(client.getInfo().serverId, 'fake');
      const started = Date.now();
      const closed = await nextEvent(client, 'close', 5000);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 2000, `dropped after ${elapsed} ms`);
      assert.notEqual(closed.code, 1000);
      await waitFor(() => connections === 2, 5000, 'redialed');
    } finally {
      await client.stop();
      await fake.close();
    }
  });
});

describe('getInfo, addUrl, deleteUrl, nextUrl', () => {
  test('getInfo reports the state of the client', async () => {
    const server = await serve({ id: 'info-server' });
    const url = serverUrl(server);
    const client = new Client({ id: 'info-client', url, codec: 'msgpack' });
    try {
      const idle = client.getInfo();
      assert.equal(idle.id, 'info-client');
      assert.equal(idle.state, 'idle');
      assert.equal(idle.connected, false);
      assert.equal(idle.url, url);
      assert.deepEqual(idle.urls, [url]);
      assert.equal(idle.serverId, undefined);
      assert.equal(idle.connectionId, undefined);
      assert.equal(idle.codec, undefined);

      server.addRoute({ route: 'slow', handler: () => delay(200).then(() => 'done') });
      const connected = nextEvent(server, 'connection');
      await client.start();
      const { ws } = await connected;
      const slow = client.sendMes({ route: 'slow', awaitRes: true });
      const info = client.getInfo();
      assert.equal(info.state, 'open');
      assert.equal(info.connected, true);
      assert.equal(info.serverId, 'info-server');
      assert.equal(info.connectionId, ws.id);
      assert.equal(info.codec, 'msgpack');
      assert.deepEqual(info.groups, []);
      assert.equal(info.queued, 0);
      assert.equal(info.pending, 1);
      assert.equal(info.failedAttempts, 0);
      assert.equal(await slow, 'done');
      assert.equal(client.getInfo().pending, 0);
    } finally {
      await stopAll(client, server);
    }
  });

  test('addUrl adds a server for the next attempts; duplicates and bad urls are refused', async () => {
    const server = await serve({ id: 'added' });
    const dead = await deadUrl();
    const client = new Client({ url: dead, reconnectTimeout: 20 });
    try {
      assert.throws(() => client.addUrl('nope'), InvalidOptionError);
      assert.equal(client.addUrl(dead), false);
      const starting = client.start();
      await waitFor(() => client.getInfo().failedAttempts >= 1);
      assert.equal(client.addUrl(serverUrl(server)), true);
      assert.deepEqual(client.getInfo().urls, [dead, serverUrl(server)]);
      await starting;
      assert.equal(client.getInfo().serverId, 'added');
    } finally {
      await stopAll(client, server);
    }
  });

  test('deleteUrl removes a url (default: the current one) without closing the connection', async () => {
    const a = await serve({ id: 'a' });
    const b = await serve({ id: 'b' });
    const client = new Client({ url: [serverUrl(a), serverUrl(b)], reconnectTimeout: 20 });
    try {
      await client.start();
      assert.equal(client.deleteUrl('ws://127.0.0.1:1/unknown'), false);
      assert.equal(client.deleteUrl(), true, 'deletes the current url');
      assert.deepEqual(client.getInfo().urls, [serverUrl(b)]);
      assert.equal(client.connected, true);
      assert.equal(client.getInfo().serverId, 'a');
      // When the connection drops, the deleted url is not used again.
      const reopened = nextEvent(client, 'open');
      await a.stop();
      assert.equal((await reopened).serverId, 'b');
      assert.equal(client.deleteUrl(serverUrl(b)), true);
      assert.deepEqual(client.getInfo().urls, []);
      // No url left: after the next drop the client gives up.
      const stopped = nextEvent(client, 'stop');
      await b.stop();
      await stopped;
      assert.equal(client.getInfo().state, 'stopped');
    } finally {
      await stopAll(client, a, b);
    }
  });

  test('nextUrl switches to the next server now', async () => {
    const a = await serve({ id: 'a' });
    const b = await serve({ id: 'b' });
    const client = new Client({ url: [serverUrl(a), serverUrl(b)] });
    try {
      await client.start();
      assert.equal(client.getInfo().serverId, 'a');
      const leftA = nextEvent(a, 'closeClient');
      const reopened = nextEvent(client, 'open');
      assert.equal(client.nextUrl(), serverUrl(b));
      assert.equal((await reopened).serverId, 'b');
      await leftA;
      assert.equal(a.clients.size, 0);
      assert.equal(b.clients.size, 1);
      assert.equal(client.getInfo().failedAttempts, 0);
      const back = nextEvent(client, 'open');
      assert.equal(client.nextUrl(), serverUrl(a));
      assert.equal((await back).serverId, 'a');
      // On a stopped client nextUrl only moves the cursor.
      await client.stop();
      assert.equal(client.nextUrl(), serverUrl(b));
      assert.equal(client.getInfo().url, serverUrl(b));
    } finally {
      await stopAll(client, a, b);
    }
  });
});

describe('client routes and middlewares (answering the server)', () => {
  test('middlewares run in order; stop() replies; routes answer; errors go back as RemoteError', async () => {
    const server = await serve();
    const client = new Client({ id: 'responder', url: serverUrl(server) });
    const order: string[] = [];
    client.use((context) => {
      assert.equal(context.client, client);
      assert.equal(typeof context.stop, 'function');
      assert.equal(typeof context.raw, 'string');
      order.push(`mw1:${String(context.mes.route)}`);
    });
    client.use(async ({ mes, stop }) => {
      await delay(1);
      order.push('mw2');
      if (mes.route === 'cached') {
        stop();
        return 'from middleware';
      }
      if (mes.route === 'refused') throw new RangeError('refused by middleware');
      return undefined;
    });
    client.addRoute({ route: 'math', act: 'add', handler: ({ data }) => sum(data) });
    client.addRoute({ route: 'math', handler: ({ mes }) => `math ${String(mes.act)}` });
    client.addRoute({
      route: 'async',
      handler: async ({ data }) => {
        await delay(5);
        return { got: data };
      },
    });
    client.addRoute({
      route: 'throws',
      handler: () => {
        throw Object.assign(new Error('client failure'), { code: 'E_CLIENT' });
      },
    });
    try {
      const connected = nextEvent(server, 'connection');
      await client.start();
      const { ws } = await connected;
      assert.equal(
        await ws.sendMes({ route: 'math', act: 'add', data: [1, 2, 3], awaitRes: true }),
        6,
      );
      assert.deepEqual(order, ['mw1:math', 'mw2']);
      assert.equal(await ws.sendMes({ route: 'math', act: 'mul', awaitRes: true }), 'math mul');
      assert.deepEqual(await ws.sendMes({ route: 'async', data: 'x', awaitRes: true }), {
        got: 'x',
      });
      assert.equal(await ws.sendMes({ route: 'cached', awaitRes: true }), 'from middleware');

      const refused = await rejection(ws.sendMes({ route: 'refused', awaitRes: true }));
      assert.ok(refused instanceof RemoteError);
      assert.equal(refused.remoteName, 'RangeError');
      assert.equal(refused.origin, 'responder');

      const thrown = await rejection(ws.sendMes({ route: 'throws', awaitRes: true }));
      assert.ok(thrown instanceof RemoteError);
      assert.equal(thrown.remoteCode, 'E_CLIENT');
      assert.equal(thrown.message, 'client failure');

      await assert.rejects(ws.sendMes({ route: 'nothing', awaitRes: true }), NoRouteError);

      // A fire-and-forget message whose handler throws is reported on the client.
      const failed = nextEvent(client, 'error');
      await ws.sendMes({ route: 'throws' });
      assert.equal((await failed).error.message, 'client failure');
      assert.equal(client.connected, true);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('client sendMes', () => {
  async function rpcServer(options: ServerOptions = {}): Promise<Server> {
    const server = await serve({ id: 'rpc-server', ...options });
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    server.addRoute({ route: 'hang', handler: () => new Promise(() => undefined) });
    server.addRoute({
      route: 'fail',
      handler: () => {
        throw new TypeError('server failure');
      },
    });
    return server;
  }

  test('fire-and-forget resolves once sent; cbAfterRes; awaitRes', async () => {
    const server = await rpcServer();
    const seen: unknown[] = [];
    server.addRoute({ route: 'note', handler: ({ data }) => void seen.push(data) });
    const client = new Client({ url: serverUrl(server) });
    try {
      await client.start();
      assert.equal(await client.sendMes({ route: 'note', data: 1 }), undefined);
      await waitFor(() => seen.length === 1);

      const cb = await new Promise<ResponseResult>((resolve) => {
        void client.sendMes({ route: 'echo', data: 'cb', cbAfterRes: resolve }).then((value) => {
          assert.equal(value, undefined, 'with cbAfterRes only, the promise resolves at once');
        });
      });
      assert.deepEqual(cb, { res: 'cb' });

      assert.deepEqual(await client.sendMes({ route: 'echo', data: { a: [1] }, awaitRes: true }), {
        a: [1],
      });
      const typed = await client.sendMes<string>({ route: 'echo', data: 'typed', awaitRes: true });
      assert.equal(typed.toUpperCase(), 'TYPED');
    } finally {
      await stopAll(client, server);
    }
  });

  test('TimeoutError after timeout or awaitResTimeout; RemoteError; NoRouteError', async () => {
    const server = await rpcServer();
    const client = new Client({ url: serverUrl(server), awaitResTimeout: 150 });
    try {
      await client.start();
      let started = Date.now();
      const timeout = await rejection(
        client.sendMes({ route: 'hang', awaitRes: true, timeout: 80 }),
      );
      assert.ok(timeout instanceof TimeoutError);
      assert.equal(timeout.code, ErrorCode.TIMEOUT);
      assert.ok(Date.now() - started >= 70);

      started = Date.now();
      await assert.rejects(client.sendMes({ route: 'hang', awaitRes: true }), TimeoutError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 140 && elapsed < 3000, `awaitResTimeout took ${elapsed} ms`);

      const cb = await new Promise<ResponseResult>((resolve) => {
        void client.sendMes({ route: 'hang', timeout: 50, cbAfterRes: resolve });
      });
      assert.ok(cb.error instanceof TimeoutError);

      const remote = await rejection(client.sendMes({ route: 'fail', awaitRes: true }));
      assert.ok(remote instanceof RemoteError);
      assert.equal(remote.remoteName, 'TypeError');
      assert.equal(remote.message, 'server failure');
      assert.equal(remote.origin, 'rpc-server');

      await assert.rejects(client.sendMes({ route: 'missing', awaitRes: true }), NoRouteError);
      // Timed-out requests leave nothing behind.
      assert.equal(client.getInfo().pending, 0);
      assert.equal(await client.sendMes({ route: 'echo', data: 'alive', awaitRes: true }), 'alive');
    } finally {
      await stopAll(client, server);
    }
  });

  test('invalid arguments, a client not started, an aborted signal', async () => {
    const server = await rpcServer();
    const client = new Client({ url: serverUrl(server) });
    try {
      await assert.rejects(client.sendMes({ route: 'echo' }), NotConnectedError);
      await client.start();
      await assert.rejects(client.sendMes({ route: '' }), InvalidArgumentError);
      await assert.rejects(client.sendMes({ act: 'x'.repeat(300) }), InvalidArgumentError);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await assert.rejects(
        client.sendMes({ route: 'echo', data: circular, awaitRes: true }),
        SerializationError,
      );
      await assert.rejects(client.sendMes({ route: 'echo', data: 1n }), SerializationError);
      assert.equal(client.connected, true);
      assert.equal(client.getInfo().pending, 0);
      await assert.rejects(
        client.sendMes({ route: 'echo', timeout: 0, awaitRes: true }),
        InvalidArgumentError,
      );
      await assert.rejects(
        client.sendMes({ route: 'echo', cbAfterRes: 'no' as unknown as () => void }),
        InvalidArgumentError,
      );
      const controller = new AbortController();
      const aborted = rejection(
        client.sendMes({ route: 'hang', awaitRes: true, signal: controller.signal }),
      );
      controller.abort();
      assert.ok((await aborted) instanceof AbortError);
      assert.equal(client.getInfo().pending, 0);
    } finally {
      await stopAll(client, server);
    }
  });

  test('messages sent while reconnecting are queued and delivered, in order, after reconnect', async () => {
    const port = await getFreePort();
    let server = await serve({ port });
    const client = new Client({ url: `ws://127.0.0.1:${port}/`, reconnectTimeout: 30 });
    try {
      await client.start();
      await server.stop();
      await waitFor(() => !client.connected);

      const received: unknown[] = [];
      const sent = [
        client.sendMes({ route: 'log', data: 1 }),
        client.sendMes({ route: 'log', data: 2 }),
        client.sendMes({ route: 'echo', data: 3, awaitRes: true }),
        client.sendMes({ route: 'log', data: 4 }),
      ];
      let cbResult: ResponseResult | undefined;
      void client.sendMes({
        route: 'echo',
        data: 5,
        cbAfterRes: (result) => {
          cbResult = result;
        },
      });
      assert.equal(client.getInfo().queued, 5);

      server = new Server({ port, host: '127.0.0.1' });
      server.addRoute({ route: 'log', handler: ({ data }) => void received.push(data) });
      server.addRoute({
        route: 'echo',
        handler: ({ data }) => {
          received.push(data);
          return data;
        },
      });
      await server.start();
      const results = await Promise.all(sent);
      assert.deepEqual(results, [undefined, undefined, 3, undefined]);
      await waitFor(() => received.length === 5 && cbResult !== undefined);
      assert.deepEqual(received, [1, 2, 3, 4, 5]);
      assert.deepEqual(cbResult, { res: 5 });
      assert.equal(client.getInfo().queued, 0);
    } finally {
      await stopAll(client, server);
    }
  });

  test('messages sent before the first connection is up are queued too', async () => {
    const server = await rpcServer();
    const client = new Client({ url: serverUrl(server) });
    try {
      const starting = client.start();
      const reply = client.sendMes({ route: 'echo', data: 'early', awaitRes: true });
      await starting;
      assert.equal(await reply, 'early');
    } finally {
      await stopAll(client, server);
    }
  });

  test('a queued request keeps its deadline while offline (TimeoutError)', async () => {
    const client = new Client({ url: await deadUrl(), reconnectTimeout: 50 });
    try {
      void client.start().catch(() => undefined);
      const started = Date.now();
      const error = await rejection(client.sendMes({ route: 'x', awaitRes: true, timeout: 100 }));
      assert.ok(error instanceof TimeoutError);
      assert.ok(Date.now() - started >= 90);
      assert.equal(client.getInfo().queued, 0);
    } finally {
      await client.stop();
    }
  });

  test('the offline queue is bounded by maxQueue (QueueFullError)', async () => {
    const client = new Client({ url: await deadUrl(), reconnectTimeout: 1000, maxQueue: 2 });
    try {
      void client.start().catch(() => undefined);
      const first = rejection(client.sendMes({ route: 'x', data: 1 }));
      const second = rejection(client.sendMes({ route: 'x', data: 2 }));
      const third = await rejection(client.sendMes({ route: 'x', data: 3 }));
      assert.ok(third instanceof QueueFullError);
      assert.equal(third.code, ErrorCode.QUEUE_FULL);
      assert.equal(client.getInfo().queued, 2);
      await client.stop();
      assert.ok((await first) instanceof StoppedError, 'stop() rejects queued messages');
      assert.ok((await second) instanceof StoppedError);
      assert.equal(client.getInfo().queued, 0);
    } finally {
      await client.stop();
    }
  });

  test('pending requests fail with ERR_CONNECTION_CLOSED at once when the server stops', async () => {
    const server = await rpcServer();
    const client = new Client({ url: serverUrl(server), reconnect: false });
    try {
      await client.start();
      const pending = [1, 2, 3].map((n) =>
        rejection(client.sendMes({ route: 'hang', data: n, awaitRes: true, timeout: 20_000 })),
      );
      await waitFor(() => client.getInfo().pending === 3);
      const started = Date.now();
      await server.stop();
      for (const error of await Promise.all(pending)) {
        assert.ok(error instanceof ConnectionClosedError);
        assert.equal(error.code, ErrorCode.CONNECTION_CLOSED);
      }
      assert.ok(Date.now() - started < 2000);
    } finally {
      await stopAll(client, server);
    }
  });

  test('pending requests fail with ERR_CONNECTION_CLOSED at once when the server process dies', async () => {
    let portLine = '';
    const script = runScript(
      `
      import { Server } from ${JSON.stringify(LIBRARY_ENTRY)};
      const server = new Server({ host: '127.0.0.1', port: 0 });
      server.addRoute({ route: 'hang', handler: () => new Promise(() => undefined) });
      await server.start();
      console.log('PORT ' + server.port);
      `,
      {
        timeoutMs: 20_000,
        onStdout: (chunk) => {
          portLine += chunk;
        },
      },
    );
    let client: Client | undefined;
    try {
      await waitFor(() => /PORT \d+/.test(portLine), 10_000, 'child server port');
      const port = /PORT (\d+)/.exec(portLine)?.[1] ?? '0';
      client = new Client({ url: `ws://127.0.0.1:${port}/`, reconnectTimeout: 5000 });
      await client.start();
      const pending = rejection(client.sendMes({ route: 'hang', awaitRes: true, timeout: 20_000 }));
      await waitFor(() => client?.getInfo().pending === 1);
      const closed = nextEvent(client, 'close');
      const started = Date.now();
      script.child.kill('SIGKILL');
      const error = await pending;
      const elapsed = Date.now() - started;
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.ok(elapsed < 2000, `rejected after ${elapsed} ms`);
      assert.equal((await closed).code, 1006);
    } finally {
      script.child.kill('SIGKILL');
      await script;
      await stopAll(client);
    }
  });
});

function sum(data: unknown): number {
  return (data as number[]).reduce((total, value) => total + value, 0);
}
