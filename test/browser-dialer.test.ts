/**
 * The browser dialer (src/transport/browser-dialer.ts) on Node, with the `ws` package's
 * browser-compatible `WebSocket` class standing in for the platform's: message types,
 * maxPayload (close 1009), close codes a page may not send, terminate, handshake timeout,
 * and a whole client (groups, msgpack, RPC streams) over it. The same code in a real
 * browser is covered by test/browser.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { BaseClient } from '../src/client/base-client.js';
import type { ClientOptions } from '../src/client/options.js';
import { createRpcProxy } from '../src/client/rpc-proxy.js';
import { CloseCode } from '../src/protocol/frames.js';
import { Subprotocol } from '../src/protocol/codec.js';
import { NotConnectedError } from '../src/errors.js';
import {
  browserDialer,
  createBrowserDialer,
  type WebSocketConstructor,
} from '../src/transport/browser-dialer.js';
import type { DialEvents } from '../src/transport/dialer.js';
import type { WireSocket } from '../src/transport/wire-socket.js';
import { Cleanup, startServer, waitFor, within } from './helpers.js';

/** The stand-in platform sockets, in the order dialed (to wait for their own close event). */
const platformSockets: WebSocket[] = [];
class RecordedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    platformSockets.push(this);
  }
}
const dialer = createBrowserDialer(RecordedWebSocket as unknown as WebSocketConstructor);

/** Resolves once the latest platform socket has emitted its own `close` event. */
async function platformClosed(): Promise<void> {
  const socket = platformSockets.at(-1);
  await waitFor(() => socket?.readyState === WebSocket.CLOSED, 5000, 'platform close');
}

/** A client built exactly like `WebClient`, over the stand-in WebSocket. */
class StandInClient extends BaseClient {
  constructor(options: ClientOptions) {
    super({ silent: true, ...options }, dialer);
  }
}

/** What a dialed socket reported. */
interface Recorded {
  socket: WireSocket;
  opened: string[];
  messages: (string | Uint8Array)[];
  errors: Error[];
  closes: [number, string][];
}

function dial(url: string, maxPayload = 100, handshakeTimeout = 5000): Recorded {
  const recorded: Omit<Recorded, 'socket'> = { opened: [], messages: [], errors: [], closes: [] };
  const events: DialEvents = {
    open: (protocol) => recorded.opened.push(protocol),
    message: (payload) => recorded.messages.push(payload),
    // The platform WebSocket checks UTF-8 itself: the browser dialer never calls this.
    invalidText: () => recorded.errors.push(new Error('invalidText called')),
    error: (error) => recorded.errors.push(error),
    close: (code, reason) => recorded.closes.push([code, reason]),
  };
  const socket = dialer(url, [Subprotocol.json], { maxPayload, handshakeTimeout }, events);
  return { socket, ...recorded };
}

/** A plain `ws` server that accepts the json subprotocol and hands out its sockets. */
async function rawServer(cleanup: Cleanup): Promise<{
  url: string;
  next: () => Promise<WebSocket>;
  closes: [number, string][];
}> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  cleanup.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  cleanup.add(() => {
    for (const client of wss.clients) client.terminate();
  });
  const closes: [number, string][] = [];
  const waiting: ((ws: WebSocket) => void)[] = [];
  const ready: WebSocket[] = [];
  wss.on('connection', (ws) => {
    ws.on('close', (code, reason) => closes.push([code, reason.toString()]));
    const waiter = waiting.shift();
    if (waiter !== undefined) waiter(ws);
    else ready.push(ws);
  });
  const address = wss.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    closes,
    next: () => {
      const ws = ready.shift();
      if (ws !== undefined) return Promise.resolve(ws);
      return within(
        new Promise<WebSocket>((resolve) => waiting.push(resolve)),
        5000,
        'server socket',
      );
    },
  };
}

describe('browser dialer', () => {
  test('text stays a string, binary arrives as Uint8Array, the subprotocol is reported', async () => {
    const cleanup = new Cleanup();
    try {
      const server = await rawServer(cleanup);
      const peer = dial(server.url);
      const ws = await server.next();
      await waitFor(() => peer.opened.length === 1, 5000, 'open');
      assert.deepEqual(peer.opened, [Subprotocol.json]);
      ws.send('["text"]');
      ws.send(Buffer.from([1, 2, 3]));
      await waitFor(() => peer.messages.length === 2, 5000, 'messages');
      assert.equal(peer.messages[0], '["text"]');
      const binary = peer.messages[1];
      assert.ok(binary instanceof Uint8Array);
      assert.deepEqual([...binary], [1, 2, 3]);
      peer.socket.send('hi');
      peer.socket.sendShared({ payload: new Uint8Array([9]), framed: undefined });
      const received: unknown[] = [];
      ws.on('message', (data, isBinary) =>
        received.push(isBinary ? [...(data as Buffer)] : String(data)),
      );
      await waitFor(() => received.length === 2, 5000, 'sent messages');
      assert.deepEqual(received, ['hi', [9]]);
      assert.equal(peer.socket.bufferedAmount, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('a message over maxPayload closes with 1009 (bytes, not characters, count)', async () => {
    const cleanup = new Cleanup();
    try {
      const server = await rawServer(cleanup);
      for (const big of ['x'.repeat(101), '€'.repeat(40), Buffer.alloc(101)]) {
        const peer = dial(server.url, 100);
        const ws = await server.next();
        await waitFor(() => peer.opened.length === 1, 5000, 'open');
        ws.send('€'.repeat(33)); // 99 bytes: fits
        ws.send(big);
        ws.send('after'); // ignored once closed
        await waitFor(() => peer.closes.length === 1, 5000, 'close');
        assert.equal(peer.messages.length, 1);
        assert.equal(peer.closes[0]?.[0], CloseCode.MESSAGE_TOO_BIG);
        // A page may not send 1009: the server sees 1000 with the code in the reason.
        await waitFor(() => server.closes.length > 0, 5000, 'server side close');
        const [code, reason] = server.closes.shift() ?? [0, ''];
        assert.equal(code, CloseCode.NORMAL);
        assert.match(reason, /^1009 message larger than maxPayload/);
        await platformClosed();
        assert.equal(peer.closes.length, 1, 'close is reported once');
      }
    } finally {
      await cleanup.run();
    }
  });

  test('close codes a page may send pass as they are; long reasons are cut to 123 bytes', async () => {
    const cleanup = new Cleanup();
    try {
      const server = await rawServer(cleanup);
      const peer = dial(server.url);
      await server.next();
      await waitFor(() => peer.opened.length === 1, 5000, 'open');
      peer.socket.close(CloseCode.SLOW_CONSUMER, 'é'.repeat(100));
      await waitFor(() => server.closes.length === 1, 5000, 'server side close');
      const [code, reason] = server.closes[0] ?? [0, ''];
      assert.equal(code, CloseCode.SLOW_CONSUMER);
      assert.equal(reason, 'é'.repeat(61));
      await waitFor(() => peer.closes.length === 1, 5000, 'close event');
      assert.equal(peer.closes[0]?.[0], CloseCode.SLOW_CONSUMER);
    } finally {
      await cleanup.run();
    }
  });

  test('terminate reports 1006 once, after the current call stack', async () => {
    const cleanup = new Cleanup();
    try {
      const server = await rawServer(cleanup);
      const peer = dial(server.url);
      await server.next();
      await waitFor(() => peer.opened.length === 1, 5000, 'open');
      peer.socket.terminate();
      peer.socket.terminate();
      assert.equal(peer.closes.length, 0, 'not reported synchronously');
      await waitFor(() => peer.closes.length === 1, 5000, 'close');
      assert.deepEqual(peer.closes, [[1006, '']]);
      await waitFor(() => server.closes.length === 1, 5000, 'server side close');
      await platformClosed();
      assert.equal(peer.closes.length, 1, 'the later platform close is ignored');
    } finally {
      await cleanup.run();
    }
  });

  test('an opening handshake that never completes times out', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const peer = dial(`ws://127.0.0.1:${port}`, 100, 100);
      await waitFor(() => peer.closes.length === 1, 5000, 'close');
      assert.deepEqual(peer.closes, [[1006, '']]);
      assert.match(peer.errors[0]?.message ?? '', /handshake timed out/);
      assert.equal(peer.opened.length, 0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('without a global WebSocket, dialing throws NotConnectedError', (t) => {
    if ('WebSocket' in globalThis) {
      t.skip('this Node has a global WebSocket');
      return;
    }
    const events: DialEvents = {
      open: () => undefined,
      message: () => undefined,
      invalidText: () => undefined,
      error: () => undefined,
      close: () => undefined,
    };
    assert.throws(
      () => browserDialer('ws://127.0.0.1:1', [], { maxPayload: 1, handshakeTimeout: 1 }, events),
      NotConnectedError,
    );
  });
});

describe('a client over the browser dialer', () => {
  for (const codec of ['json', 'msgpack'] as const) {
    test(`${codec}: requests both ways, groups, RPC with a stream`, async () => {
      const cleanup = new Cleanup();
      try {
        const { server, url } = await startServer({ silent: true }, (s) => {
          s.addRoute({
            route: 'math',
            act: 'add',
            handler: ({ data }) => {
              const { a, b } = data as { a: number; b: number };
              return a + b;
            },
          });
          s.origin(async function* countdown(from: number) {
            for (let i = from; i > 0; i--) yield i;
          });
        });
        cleanup.add(() => server.stop());
        const client = new StandInClient({ url, codec });
        cleanup.add(() => client.stop());
        const got: unknown[] = [];
        client.addRoute({ route: 'chat', handler: ({ data }) => void got.push(data) });
        client.addRoute({ route: 'whoami', handler: () => `client over ${codec}` });
        await within(client.start(), 5000, 'start');
        assert.equal(client.getInfo().codec, codec);
        assert.equal(
          await client.sendMes({ route: 'math', act: 'add', data: { a: 2, b: 3 }, awaitRes: true }),
          5,
        );
        const connection = [...server.clients.values()][0];
        assert.ok(connection !== undefined);
        assert.equal(
          await connection.sendMes({ route: 'whoami', awaitRes: true }),
          `client over ${codec}`,
        );
        await client.subscribe({ id: 'lobby' });
        server.groups.sendMes({ id: 'lobby', route: 'chat', data: 'hello' });
        await waitFor(() => got.length === 1, 5000, 'group message');
        assert.deepEqual(got, ['hello']);
        const proxy = await client.rpc<{ countdown(from: number): AsyncGenerator<number> }>();
        const items: number[] = [];
        for await (const n of proxy.countdown(3)) items.push(n);
        assert.deepEqual(items, [3, 2, 1]);
      } finally {
        await cleanup.run();
      }
    });
  }

  test('RpcProxy over the browser dialer', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ silent: true }, (s) => {
        s.origin(function add(a: number, b: number) {
          return a + b;
        });
      });
      cleanup.add(() => server.stop());
      const proxy = await createRpcProxy<{ add(a: number, b: number): number }>({ url }, dialer);
      cleanup.add(() => proxy.close());
      assert.equal(await proxy.add(20, 22), 42);
    } finally {
      await cleanup.run();
    }
  });
});
