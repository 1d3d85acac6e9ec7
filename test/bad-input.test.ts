/**
 * Hostile and broken peers over real sockets (issue 2, "Bad input"). Every case ends by
 * checking that well-behaved clients are still served correctly.
 */
import assert from 'node:assert/strict';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { Client } from '../src/client/client.js';
import {
  ConnectionClosedError,
  ErrorCode,
  RemoteError,
  TimeoutError,
  type WsMeshError,
} from '../src/errors.js';
import { CloseCode, FrameType } from '../src/protocol/frames.js';
import type { Server } from '../src/server/server.js';
import type { ServerConnection } from '../src/server/server-connection.js';
import { deadlines } from '../src/transport/deadline-queue.js';
import {
  Cleanup,
  connectRaw,
  delay,
  isFrame,
  startClient,
  startServer,
  upgradeStatus,
  waitFor,
  within,
  type RawFrame,
  type RawPeer,
  type StartedServer,
} from './helpers.js';

const LONG = { timeout: 30_000 };

/** What the routes of this file count: requests handled, and `count` handlers not done yet. */
interface Counters {
  handled: number;
  running: number;
}

/** Routes every server in this file offers. */
function addRoutes(server: Server, counters: Counters): void {
  server.addRoute({ route: 'echo', handler: ({ data }) => data });
  server.addRoute({
    route: 'throw',
    handler: () => {
      throw new TypeError('handler exploded');
    },
  });
  server.addRoute({
    route: 'reject',
    handler: async () => {
      await delay(1);
      throw Object.assign(new Error('async refusal'), { code: 'E_ASYNC', data: { why: 'test' } });
    },
  });
  server.addRoute({
    route: 'never',
    handler: () => {
      counters.handled++;
      return new Promise(() => undefined);
    },
  });
  server.addRoute({
    route: 'count',
    handler: async () => {
      counters.handled++;
      counters.running++;
      try {
        await delay(2);
        return counters.handled;
      } finally {
        counters.running--;
      }
    },
  });
}

/** The code of an ERROR frame, or undefined. */
function errorCode(frame: RawFrame): string | undefined {
  if (!isFrame(frame, FrameType.ERROR)) return undefined;
  const body = frame[2] as { code?: unknown } | undefined;
  return typeof body?.code === 'string' ? body.code : undefined;
}

/** Sends `value` and resolves with the next ERROR frame the peer gets. */
async function errorReplyTo(peer: RawPeer, send: () => void): Promise<unknown[]> {
  const mark = peer.frames.length;
  send();
  const frame = await peer.waitForFrame((f) => isFrame(f, FrameType.ERROR), { after: mark });
  return frame as unknown[];
}

/** Asserts that a raw peer is still served: an echo request gets the right REPLY. */
async function assertRawServed(peer: RawPeer): Promise<void> {
  const token = `still-here-${Math.random()}`;
  const reply = await peer.request('echo', null, { token });
  assert.deepEqual(reply, [FrameType.REPLY, reply[1], { token }]);
}

/** White-box view of a server's bookkeeping, to detect leaks. */
function internals(server: Server): { sockets: number; handshakes: number } {
  const view = (server as unknown as { sockets?: { all?: unknown; handshakes?: unknown } }).sockets;
  assert.ok(view?.all instanceof Set, 'white-box: ServerSockets.all is a Set');
  assert.ok(view.handshakes instanceof Map, 'white-box: ServerSockets.handshakes is a Map');
  return { sockets: view.all.size, handshakes: view.handshakes.size };
}

/**
 * A server with the test routes, plus a long-lived "bystander" client connected before any
 * hostile peer shows up. `healthy()` checks that the bystander never noticed anything and that
 * both it and a fresh client get correct replies.
 */
interface Arena extends StartedServer {
  bystander: Client;
  counters: Counters;
  errors: Error[];
  healthy(): Promise<void>;
}

async function arena(
  cleanup: Cleanup,
  options: Parameters<typeof startServer>[0] = {},
): Promise<Arena> {
  const counters = { handled: 0, running: 0 };
  const errors: Error[] = [];
  const started = await startServer(options, (server) => {
    addRoutes(server, counters);
    server.on('error', ({ error }) => errors.push(error));
  });
  cleanup.add(() => started.server.stop());
  const bystander = await startClient(started.url);
  cleanup.add(() => bystander.stop());
  const bystanderEvents: string[] = [];
  bystander.on('close', ({ code }) => bystanderEvents.push(`close ${code}`));
  bystander.on('error', ({ error }) => bystanderEvents.push(`error ${error.message}`));
  const healthy = async (): Promise<void> => {
    const token = { n: Math.random(), text: 'ünïcødé' };
    assert.deepEqual(
      await bystander.sendMes({ route: 'echo', data: token, awaitRes: true }),
      token,
    );
    const fresh = await startClient(started.url);
    try {
      assert.deepEqual(await fresh.sendMes({ route: 'echo', data: [token], awaitRes: true }), [
        token,
      ]);
    } finally {
      await fresh.stop();
    }
    assert.deepEqual(bystanderEvents, [], 'the bystander client noticed nothing');
    assert.equal(bystander.connected, true);
    assert.equal(started.server.active, true);
  };
  return { ...started, bystander, counters, errors, healthy };
}

describe('bad input: malformed frames', LONG, () => {
  const cleanup = new Cleanup();
  let main: Arena;
  before(async () => {
    main = await arena(cleanup);
  });
  after(() => cleanup.run());

  test('malformed JSON closes that connection with 1007', async () => {
    for (const text of ['{"not json', '[2, 1, "echo"', 'NaN', "['single quotes']", '']) {
      const peer = await connectRaw(main.url);
      peer.sendText(text);
      assert.equal((await peer.waitClose()).code, CloseCode.INVALID_PAYLOAD, JSON.stringify(text));
    }
    await main.healthy();
  });

  test('invalid UTF-8 in a text message closes with 1007', async () => {
    const peer = await connectRaw(main.url);
    peer.ws.send(Buffer.from([0x5b, 0x32, 0xff, 0xfe, 0x5d]), { binary: false });
    assert.equal((await peer.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    await main.healthy();
  });

  test('binary junk on a JSON connection closes it with 1003', async () => {
    const peer = await connectRaw(main.url);
    peer.sendBinary(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]));
    assert.equal((await peer.waitClose()).code, CloseCode.UNSUPPORTED_DATA);
    // Even a well-formed frame is refused in binary on a JSON connection.
    const other = await connectRaw(main.url);
    other.sendBinary(Buffer.from('[2,0,"echo",null,1]'));
    assert.equal((await other.waitClose()).code, CloseCode.UNSUPPORTED_DATA);
    await main.healthy();
  });

  test('msgpack junk: undecodable closes 1007, text closes 1003, non-frames get ERR_BAD_FRAME', async () => {
    for (const junk of [
      [0x92, 0x01],
      [0x01, 0x02],
      [0xdd, 0xff, 0xff, 0xff, 0xff],
      [0xa5, 0x61],
      [0xc1],
    ]) {
      const peer = await connectRaw(main.url, { codec: 'msgpack' });
      peer.sendBinary(new Uint8Array(junk));
      assert.equal(
        (await peer.waitClose()).code,
        CloseCode.INVALID_PAYLOAD,
        `bytes ${junk.join(',')}`,
      );
    }
    const deep = await connectRaw(main.url, { codec: 'msgpack' });
    const nested = new Uint8Array(100_001).fill(0x91);
    nested[100_000] = 0xc0;
    deep.sendBinary(nested);
    assert.equal((await deep.waitClose()).code, CloseCode.INVALID_PAYLOAD, 'deeply nested msgpack');
    const text = await connectRaw(main.url, { codec: 'msgpack' });
    text.sendText('[2,0,"echo",null,1]');
    assert.equal((await text.waitClose()).code, CloseCode.UNSUPPORTED_DATA);
    const survivor = await connectRaw(main.url, { codec: 'msgpack' });
    for (const bytes of [[0x2a], [0xc0], [0xa3, 0x61, 0x62, 0x63], [0x80], [0x90]]) {
      const frame = await errorReplyTo(survivor, () => survivor.sendBinary(new Uint8Array(bytes)));
      assert.equal(frame[1], 0);
      assert.equal(errorCode(frame), ErrorCode.BAD_FRAME, `bytes ${bytes.join(',')}`);
    }
    await assertRawServed(survivor);
    const msgpackClient = await startClient(main.url, { codec: 'msgpack' });
    try {
      assert.deepEqual(
        await msgpackClient.sendMes({ route: 'echo', data: { m: [1, 'p'] }, awaitRes: true }),
        {
          m: [1, 'p'],
        },
      );
    } finally {
      await msgpackClient.stop();
    }
    await main.healthy();
  });

  test('a frame of an unknown type gets ERR_UNKNOWN_FRAME and the connection stays open', async () => {
    for (const codec of ['json', 'msgpack'] as const) {
      const peer = await connectRaw(main.url, { codec });
      for (const frame of [[999, 1, 2], [-3], ['MESSAGE', 1], [2.5, 1]]) {
        const reply = await errorReplyTo(peer, () => peer.send(frame));
        assert.equal(reply[1], 0);
        assert.equal(
          errorCode(reply),
          ErrorCode.UNKNOWN_FRAME,
          `${codec} ${JSON.stringify(frame)}`,
        );
      }
      assert.equal(peer.open, true);
      await assertRawServed(peer);
    }
    await main.healthy();
  });

  test('a bare string, null, {}, [] and other non-frames get ERR_BAD_FRAME', async () => {
    const peer = await connectRaw(main.url);
    for (const text of ['"just a string"', 'null', '{}', '[]', '42', 'true', '{"0": 2}']) {
      const reply = await errorReplyTo(peer, () => peer.sendText(text));
      assert.deepEqual(
        [reply[0], reply[1], errorCode(reply)],
        [FrameType.ERROR, 0, ErrorCode.BAD_FRAME],
        text,
      );
    }
    // When the request id can be read, the error answers that request.
    const reply = await errorReplyTo(peer, () =>
      peer.send([FrameType.MESSAGE, 77, 123, null, null]),
    );
    assert.deepEqual([reply[1], errorCode(reply)], [77, ErrorCode.BAD_FRAME]);
    const longRoute = await errorReplyTo(peer, () =>
      peer.send([FrameType.MESSAGE, 78, 'r'.repeat(300), null, 1]),
    );
    assert.deepEqual([longRoute[1], errorCode(longRoute)], [78, ErrorCode.BAD_FRAME]);
    assert.equal(peer.open, true);
    await assertRawServed(peer);
    await main.healthy();
  });

  test('frames a server does not accept, odd route names and stray replies are answered, not fatal', async () => {
    const peer = await connectRaw(main.url);
    const welcome = await errorReplyTo(peer, () =>
      peer.send([FrameType.WELCOME, { v: 1, serverId: 's', connectionId: 'c', maxPayload: 1 }]),
    );
    assert.equal(errorCode(welcome), ErrorCode.PROTOCOL);
    const hello = await errorReplyTo(peer, () =>
      peer.send([FrameType.HELLO, { v: 1, id: 'again' }]),
    );
    assert.equal(errorCode(hello), ErrorCode.PROTOCOL);
    for (const route of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const reply = await peer.request(route, '__proto__', { __proto__: { polluted: true } });
      assert.equal(errorCode(reply), ErrorCode.NO_ROUTE, route);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const mark = peer.frames.length;
    peer.send([FrameType.REPLY, 424242, 'nobody asked']);
    peer.send([FrameType.ERROR, 424243, { code: 'ERR_X', message: 'nobody asked' }]);
    peer.send([FrameType.PONG]);
    await assertRawServed(peer);
    assert.equal(peer.frames.slice(mark).filter((f) => isFrame(f, FrameType.ERROR)).length, 0);
    await main.healthy();
  });

  test('deeply nested JSON: the server survives and answers', async () => {
    const depth = 100_000;
    const peer = await connectRaw(main.url);
    // 100k levels as the frame type: a well-formed but unknown frame.
    const nestedType = `[${'['.repeat(depth)}0${']'.repeat(depth)}]`;
    const unknown = await errorReplyTo(peer, () => peer.sendText(nestedType));
    assert.equal(errorCode(unknown), ErrorCode.UNKNOWN_FRAME);
    // 100k levels of data echoed back: the reply cannot be encoded, the request gets an error.
    const nestedData = `[2,5,"echo",null,${'['.repeat(depth)}${']'.repeat(depth)}]`;
    const serialize = await errorReplyTo(peer, () => peer.sendText(nestedData));
    assert.deepEqual([serialize[1], errorCode(serialize)], [5, ErrorCode.SERIALIZE]);
    const nestedObject = `[2,6,"nowhere",null,${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]`;
    const noRoute = await errorReplyTo(peer, () => peer.sendText(nestedObject));
    assert.deepEqual([noRoute[1], errorCode(noRoute)], [6, ErrorCode.NO_ROUTE]);
    assert.equal(peer.open, true);
    await assertRawServed(peer);
    // Unclosed nesting is malformed JSON.
    const unclosed = await connectRaw(main.url);
    unclosed.sendText('['.repeat(depth));
    assert.equal((await unclosed.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    await main.healthy();
  });

  test('unsupported subprotocols are refused with HTTP 400 at the upgrade', async () => {
    assert.equal(await upgradeStatus(main.url, 'wsmesh.v2.json'), 400);
    assert.equal(await upgradeStatus(main.url, ['graphql-ws', 'mqtt']), 400);
    assert.equal(await upgradeStatus(main.url, 'WSMESH.V1.JSON'), 400);
    assert.equal(await upgradeStatus(main.url, ['foo', 'wsmesh.v1.msgpack']), 101);
    assert.equal(await upgradeStatus(main.url), 101, 'no subprotocol means JSON');
    const plain = await connectRaw(main.url, { protocols: null });
    assert.equal(plain.ws.protocol, '');
    await assertRawServed(plain);
    await main.healthy();
  });

  test('a handler that throws becomes a RemoteError with ERR_REMOTE and remoteName', async () => {
    const client = await startClient(main.url);
    try {
      await assert.rejects(client.sendMes({ route: 'throw', awaitRes: true }), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.equal(error.code, ErrorCode.REMOTE);
        assert.equal(error.remoteName, 'TypeError');
        assert.equal(error.message, 'handler exploded');
        assert.equal(error.origin, main.server.id);
        return true;
      });
      await assert.rejects(
        client.sendMes({ route: 'reject', awaitRes: true }),
        (error: unknown) => {
          assert.ok(error instanceof RemoteError);
          assert.equal(error.remoteName, 'Error');
          assert.equal(error.remoteCode, 'E_ASYNC');
          assert.deepEqual(error.data, { why: 'test' });
          return true;
        },
      );
      const viaCallback = await new Promise<WsMeshError | undefined>((resolve) => {
        void client.sendMes({ route: 'throw', cbAfterRes: ({ error }) => resolve(error) });
      });
      assert.ok(viaCallback instanceof RemoteError);
      // Fire-and-forget: nobody to answer, the server reports it and carries on.
      const errorsBefore = main.errors.length;
      await client.sendMes({ route: 'throw' });
      await waitFor(() => main.errors.length > errorsBefore, 3000, 'server error event');
      assert.equal(client.connected, true);
      assert.equal(await client.sendMes({ route: 'echo', data: 'after', awaitRes: true }), 'after');
    } finally {
      await client.stop();
    }
    const raw = await connectRaw(main.url);
    const reply = await raw.request('throw', null, null);
    assert.equal(reply[0], FrameType.ERROR);
    const body = reply[2] as Record<string, unknown>;
    assert.equal(body.code, ErrorCode.REMOTE);
    assert.equal(body.name, 'TypeError');
    assert.equal('stack' in body, false, 'stacks never cross the wire');
    await main.healthy();
  });

  test('a reply that never comes rejects with TimeoutError after the timeout', async () => {
    const client = await startClient(main.url);
    try {
      const started = Date.now();
      await assert.rejects(
        client.sendMes({ route: 'never', awaitRes: true, timeout: 150 }),
        (error: unknown) => {
          assert.ok(error instanceof TimeoutError);
          assert.equal(error.code, ErrorCode.TIMEOUT);
          return true;
        },
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 140 && elapsed < 5000, `timed out after ${elapsed} ms`);
      const viaCallback = await new Promise<WsMeshError | undefined>((resolve) => {
        void client.sendMes({
          route: 'never',
          timeout: 50,
          cbAfterRes: ({ error }) => resolve(error),
        });
      });
      assert.ok(viaCallback instanceof TimeoutError);
      assert.equal(client.getInfo().pending, 0, 'timed-out requests leave no pending entry');
      assert.equal(
        await client.sendMes({ route: 'echo', data: 'same client', awaitRes: true }),
        'same client',
      );
    } finally {
      await client.stop();
    }
    await main.healthy();
  });

  test('a flood of 10k requests then an abrupt terminate(): server stays healthy, clients return to baseline', async () => {
    const baseline = main.server.clients.size;
    const peer = await connectRaw(main.url);
    assert.equal(main.server.clients.size, baseline + 1);
    const handledBefore = main.counters.handled;
    for (let id = 1; id <= 10_000; id++) peer.send([FrameType.MESSAGE, id, 'count', null, { id }]);
    await waitFor(
      () => main.counters.handled - handledBefore >= 500,
      10_000,
      'server busy with the flood',
    );
    peer.terminate();
    await waitFor(() => main.server.clients.size === baseline, 5000, 'clients back to baseline');
    // Handlers still running reply into a closed connection: nothing must break.
    await waitFor(() => main.counters.running === 0, 5000, 'running handlers replied');
    await main.healthy();
    await waitFor(
      () => internals(main.server).sockets === baseline,
      5000,
      'socket entries released',
    );
  });

  test('hundreds of sockets opened and dropped abruptly leave no entries behind', async () => {
    const baseline = main.server.clients.size;
    const baseSockets = internals(main.server).sockets;
    const deadlinesBefore = deadlines.size;
    const opened: Promise<unknown>[] = [];
    for (let index = 0; index < 100; index++) {
      // Open, then drop before HELLO.
      opened.push(connectRaw(main.url, { hello: false }).then((peer) => peer.terminate()));
      // Open, handshake, drop.
      opened.push(connectRaw(main.url).then((peer) => peer.terminate()));
      // Open, handshake, leave a request in flight, drop.
      opened.push(
        connectRaw(main.url).then((peer) => {
          peer.send([FrameType.MESSAGE, 1, 'never', null, null]);
          peer.send([FrameType.MESSAGE, 2, 'count', null, null]);
          peer.terminate();
        }),
      );
    }
    for (let index = 0; index < 50; index++) {
      // Dropped in the middle of the HTTP upgrade.
      opened.push(
        new Promise<void>((resolve) => {
          const socket: Socket = connectTcp(main.port, '127.0.0.1', () => {
            socket.write(
              'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n',
            );
            setTimeout(() => {
              socket.destroy();
              resolve();
            }, 5);
          });
          socket.on('error', () => resolve());
        }),
      );
      // Dropped before the WebSocket handshake completed.
      opened.push(
        new Promise<void>((resolve) => {
          const ws = new WebSocket(main.url, 'wsmesh.v1.json');
          ws.on('error', () => resolve());
          ws.on('close', () => resolve());
          setImmediate(() => ws.terminate());
        }),
      );
    }
    await within(Promise.all(opened), 15_000, 'opening and dropping sockets');
    await waitFor(() => main.server.clients.size === baseline, 5000, 'no leaked clients');
    await waitFor(
      () => internals(main.server).sockets === baseSockets,
      5000,
      'no leaked socket entries',
    );
    assert.equal(internals(main.server).handshakes, 0, 'no handshake deadline left');
    await waitFor(() => deadlines.size <= deadlinesBefore, 5000, 'no deadline left in the queue');
    await main.healthy();
  });
});

describe('bad input: payload limit', LONG, () => {
  const cleanup = new Cleanup();
  const maxPayload = 16 * 1024;
  let small: Arena;
  before(async () => {
    small = await arena(cleanup, { maxPayload });
  });
  after(() => cleanup.run());

  test('a frame over maxPayload closes that connection with 1009; others never notice', async () => {
    const near = await connectRaw(small.url);
    const fits = 'f'.repeat(maxPayload - 100);
    assert.deepEqual(await near.request('echo', null, fits), [FrameType.REPLY, 1, fits]);
    for (const codec of ['json', 'msgpack'] as const) {
      const peer = await connectRaw(small.url, { codec });
      const closeSeen = waitFor(() => small.server.clients.size === 2, 5000, 'server dropped it');
      peer.send([FrameType.MESSAGE, 1, 'echo', null, 'x'.repeat(maxPayload + 1)]);
      assert.equal((await peer.waitClose()).code, CloseCode.MESSAGE_TOO_BIG, codec);
      await closeSeen;
    }
    assert.equal(near.open, true);
    await assertRawServed(near);
    await small.healthy();
  });

  test('the WELCOME tells clients the limit, and the Client refuses to send over it', async () => {
    const peer = await connectRaw(small.url);
    assert.equal(peer.welcome?.maxPayload, maxPayload);
    const client = await startClient(small.url);
    try {
      await assert.rejects(
        client.sendMes({ route: 'echo', data: 'y'.repeat(maxPayload * 2), awaitRes: true }),
        (error: unknown) => (error as WsMeshError).code === ErrorCode.PAYLOAD_TOO_LARGE,
      );
      assert.equal(client.connected, true);
      assert.equal(await client.sendMes({ route: 'echo', data: 'ok', awaitRes: true }), 'ok');
    } finally {
      await client.stop();
    }
    await small.healthy();
  });
});

describe('bad input: handshake', LONG, () => {
  const cleanup = new Cleanup();
  let strict: Arena;
  const closes: number[] = [];
  before(async () => {
    strict = await arena(cleanup, { handshakeTimeout: 300 });
    strict.server.on('closeClient', ({ code }) => closes.push(code));
  });
  after(() => cleanup.run());

  test('no HELLO within handshakeTimeout: closed with 4001', async () => {
    const started = Date.now();
    const peer = await connectRaw(strict.url, { hello: false });
    assert.equal(strict.server.clients.size, 1, 'not a client before HELLO');
    const info = await peer.waitClose(5000);
    assert.equal(info.code, CloseCode.HANDSHAKE_FAILED);
    assert.ok(Date.now() - started >= 250, 'not before the timeout');
    assert.equal(strict.server.clients.size, 1);
    await strict.healthy();
  });

  test('a first frame that is not HELLO: error frame, then closed with 4001', async () => {
    const peer = await connectRaw(strict.url, { hello: false });
    peer.send([FrameType.MESSAGE, 1, 'echo', null, 'sneaky']);
    const info = await peer.waitClose();
    assert.equal(info.code, CloseCode.HANDSHAKE_FAILED);
    assert.ok(peer.frames.some((f) => errorCode(f) === ErrorCode.PROTOCOL));
    assert.ok(!peer.frames.some((f) => isFrame(f, FrameType.REPLY)), 'the message was not handled');
    await strict.healthy();
  });

  test('a wrong protocol version: error frame, then closed with 4001', async () => {
    for (const v of [1, 3, 99]) {
      const peer = await connectRaw(strict.url, { hello: false });
      peer.send([FrameType.HELLO, { v, id: 'future-client' }]);
      const info = await peer.waitClose();
      assert.equal(info.code, CloseCode.HANDSHAKE_FAILED, `v ${v}`);
      assert.ok(peer.frames.some((f) => errorCode(f) === ErrorCode.PROTOCOL));
      assert.ok(!peer.frames.some((f) => isFrame(f, FrameType.WELCOME)));
    }
    await strict.healthy();
  });

  test('a malformed first frame gets ERR_PROTOCOL or ERR_BAD_FRAME and is closed with 4001 at once', async () => {
    // A long handshake timeout, so closing by timeout cannot pass for closing at once.
    const patient = await arena(cleanup, { handshakeTimeout: 20_000 });
    const firstFrames: unknown[] = [
      [FrameType.HELLO, { v: 0, id: 'x' }],
      [FrameType.HELLO, { v: 1 }],
      [FrameType.HELLO, { v: 1, id: '' }],
      [FrameType.HELLO, 'hello'],
      [FrameType.HELLO, null],
      null,
      'hello',
      {},
      [],
      [999],
      [FrameType.PING],
      [FrameType.REPLY, 1, null],
      [FrameType.AUTH, {}],
    ];
    for (const first of firstFrames) {
      const peer = await connectRaw(patient.url, { hello: false });
      peer.send(first);
      const info = await peer.waitClose(3000);
      assert.equal(info.code, CloseCode.HANDSHAKE_FAILED, JSON.stringify(first));
      assert.ok(
        peer.frames.some((f) =>
          [ErrorCode.PROTOCOL, ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_FRAME].some(
            (code) => code === errorCode(f),
          ),
        ),
        `error frame for ${JSON.stringify(first)}`,
      );
      assert.ok(!peer.frames.some((f) => isFrame(f, FrameType.WELCOME)));
      assert.ok(!peer.frames.some((f) => isFrame(f, FrameType.PONG)), 'no PONG before HELLO');
    }
    // Junk that cannot even be decoded keeps its own close codes before the handshake too.
    const junk = await connectRaw(patient.url, { hello: false });
    junk.sendText('{');
    assert.equal((await junk.waitClose(3000)).code, CloseCode.INVALID_PAYLOAD);
    const binary = await connectRaw(patient.url, { hello: false });
    binary.sendBinary(new Uint8Array([1, 2, 3]));
    assert.equal((await binary.waitClose(3000)).code, CloseCode.UNSUPPORTED_DATA);
    assert.equal(patient.server.clients.size, 1);
    assert.equal(internals(patient.server).handshakes, 0);
    await patient.healthy();
  });
});

describe('bad input: slow consumer', LONG, () => {
  const cleanup = new Cleanup();
  const maxBufferedBytes = 64 * 1024;
  const chunk = 'z'.repeat(16 * 1024);
  let slow: Arena;
  const closes = new Map<string, number>();
  const pumps = new Map<
    string,
    { maxBuffered: number; sentBytes: number; stop: boolean; stopped: boolean }
  >();
  before(async () => {
    slow = await arena(cleanup, { maxBufferedBytes });
    slow.server.on('closeClient', ({ ws, code }) => closes.set(ws.id, code));
    // `flood`: the server pushes 16 KiB messages to the asking connection, one per macrotask,
    // until that connection is closed or the pump is stopped.
    slow.server.addRoute({
      route: 'flood',
      handler: ({ ws }) => {
        const pump = { maxBuffered: 0, sentBytes: 0, stop: false, stopped: false };
        pumps.set(ws.id, pump);
        const step = (target: ServerConnection): void => {
          if (!target.open || pump.stop) {
            pump.stopped = true;
            return;
          }
          target.sendMes({ route: 'flood', data: chunk }).then(
            () => {
              pump.sentBytes += chunk.length;
              pump.maxBuffered = Math.max(pump.maxBuffered, target.bufferedAmount);
            },
            () => undefined,
          );
          setImmediate(() => step(target));
        };
        setImmediate(() => step(ws));
        return ws.id;
      },
    });
  });
  after(async () => {
    for (const pump of pumps.values()) pump.stop = true;
    await cleanup.run();
  });

  test('a client that stops reading is closed with 4008; buffered bytes stay bounded', async () => {
    const reader = await connectRaw(slow.url);
    const stalled = await connectRaw(slow.url);
    // The reader keeps only a count, not the payloads.
    let readerFrames = 0;
    reader.ws.on('message', () => readerFrames++);
    const stalledId = (await stalled.request('flood', null, null))[2];
    assert.equal(typeof stalledId, 'string');
    (stalled.ws as unknown as { _socket: Socket })._socket.pause();
    const readerId = (await reader.request('flood', null, null))[2];
    assert.equal(typeof readerId, 'string');
    const memoryBefore = process.memoryUsage().rss;
    await waitFor(() => closes.has(String(stalledId)), 15_000, 'stalled client closed');
    assert.equal(closes.get(String(stalledId)), CloseCode.SLOW_CONSUMER);
    const stalledPump = pumps.get(String(stalledId));
    assert.ok(stalledPump !== undefined);
    // The check happens before each write, so the buffer never exceeds the cap by more than
    // one frame.
    assert.ok(
      stalledPump.maxBuffered <= maxBufferedBytes + 2 * chunk.length,
      `buffered up to ${stalledPump.maxBuffered} bytes`,
    );
    // The reader kept up and is still connected and served.
    assert.equal(reader.open, true);
    assert.ok(readerFrames > 10);
    assert.equal(closes.has(String(readerId)), false);
    const readerPump = pumps.get(String(readerId));
    assert.ok(readerPump !== undefined);
    readerPump.stop = true;
    await waitFor(() => readerPump.stopped, 5000, 'the reader pump stopped');
    await assertRawServed(reader);
    const growth = process.memoryUsage().rss - memoryBefore;
    assert.ok(growth < 200 * 1024 * 1024, `rss grew by ${growth} bytes`);
    // The stalled peer is torn down after the grace period even though it never reads.
    await waitFor(() => internals(slow.server).sockets === 2, 5000, 'stalled socket released');
    assert.equal(slow.server.clients.size, 2);
    await slow.healthy();
    stalled.terminate();
  });
});

describe('bad input: the server goes away', LONG, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test('pending requests are rejected at once with ERR_CONNECTION_CLOSED when the server stops', async () => {
    const counters = { handled: 0, running: 0 };
    const { server, url } = await startServer({}, (s) => addRoutes(s, counters));
    cleanup.add(() => server.stop());
    const client = await startClient(url, { awaitResTimeout: 60_000 });
    cleanup.add(() => client.stop());
    // Settled into a value at once, so the rejection during stop() is not "unhandled".
    const awaited = client.sendMes({ route: 'never', awaitRes: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const viaCallback = new Promise<WsMeshError | undefined>((resolve) => {
      void client.sendMes({ route: 'never', cbAfterRes: ({ error }) => resolve(error) });
    });
    await waitFor(() => counters.handled === 2, 5000, 'requests reached the server');
    const started = Date.now();
    await server.stop();
    const error = await within(awaited, 5000, 'pending request');
    assert.ok(error instanceof ConnectionClosedError, `got ${String(error)}`);
    assert.equal(error.code, ErrorCode.CONNECTION_CLOSED);
    const callbackError = await within(viaCallback, 5000, 'cbAfterRes');
    assert.ok(callbackError instanceof ConnectionClosedError);
    assert.ok(Date.now() - started < 5000, 'rejected long before the 60 s timeout');
  });

  test('pending requests are rejected at once when the server connection drops abruptly', async () => {
    // A bare-bones wsmesh server that accepts the handshake, then kills the TCP connection as
    // soon as a request arrives.
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => [...protocols][0] ?? false,
    });
    cleanup.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws) => {
      let first = true;
      ws.on('message', () => {
        if (first) {
          first = false;
          ws.send(
            JSON.stringify([
              FrameType.WELCOME,
              { v: 1, serverId: 'fragile', connectionId: 'c', maxPayload: 1 << 20 },
            ]),
          );
          return;
        }
        ws.terminate();
      });
    });
    const address = wss.address();
    assert.ok(typeof address === 'object' && address !== null);
    const client = await startClient(`ws://127.0.0.1:${address.port}`, { awaitResTimeout: 60_000 });
    cleanup.add(() => client.stop());
    const started = Date.now();
    await assert.rejects(
      within(client.sendMes({ route: 'anything', awaitRes: true }), 5000, 'pending request'),
      (error: unknown) => (error as WsMeshError).code === ErrorCode.CONNECTION_CLOSED,
    );
    assert.ok(Date.now() - started < 5000);
  });
});

describe('start({ skipUTF8Validation: true })', () => {
  test('trusted peers: invalid UTF-8 is decoded leniently instead of closing with 1007', async () => {
    const { Server: ServerClass } = await import('../src/server/server.js');
    const server = new ServerClass({ port: 0, host: '127.0.0.1', silent: true });
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    await server.start({ skipUTF8Validation: true });
    const peer = await connectRaw(`ws://127.0.0.1:${String(server.port)}`);
    try {
      const id = peer.allocateId();
      const bytes = Buffer.concat([
        Buffer.from(`[2,${id},"echo",null,"a`),
        Buffer.from([0xff]),
        Buffer.from('b"]'),
      ]);
      peer.ws.send(bytes, { binary: false });
      const reply = await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, id));
      assert.equal((reply as unknown[])[2], 'a\uFFFDb', 'the bad byte became U+FFFD');
      assert.ok(peer.open, 'the connection stays open');
    } finally {
      peer.ws.terminate();
      await server.stop();
    }
  });
});
