/**
 * Pure unit behaviour of Connection over a fake in-memory WireSocket pair. Real sockets are
 * covered by test/bad-input.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  ConnectionClosedError,
  ErrorCode,
  NoRouteError,
  PayloadTooLargeError,
  ProtocolError,
  RemoteError,
  SerializationError,
  SlowConsumerError,
  TimeoutError,
} from '../errors.js';
import { jsonCodec, type Codec, type WirePayload } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import {
  CloseCode,
  FrameType,
  type Frame,
  type MessageFrame,
  type RequestBuilder,
} from '../protocol/frames.js';
import { Connection, SLOW_CONSUMER_GRACE_MS, type ConnectionHandler } from './connection.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

/** An in-memory WireSocket; delivers to `peer` on a microtask, like a network would (later). */
class FakeSocket implements WireSocket {
  readonly sent: WirePayload[] = [];
  bufferedAmount = 0;
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  peer: Connection | undefined;

  send(payload: WirePayload): void {
    if (this.closedWith !== undefined || this.terminated) return;
    this.sent.push(payload);
    const peer = this.peer;
    if (peer !== undefined) queueMicrotask(() => peer.receive(payload));
  }

  sendShared(frame: SharedFrame): void {
    this.send(frame.payload);
  }

  close(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = { code, reason };
    const peer = this.peer;
    if (peer !== undefined) queueMicrotask(() => peer.handleClosed(code, reason));
  }

  terminate(): void {
    this.terminated = true;
    const peer = this.peer;
    if (peer !== undefined) queueMicrotask(() => peer.handleClosed(1006, ''));
  }

  /** Sent payloads decoded with `codec`. */
  frames(codec: Codec = jsonCodec): unknown[] {
    return this.sent.map((payload) => codec.decode(payload));
  }
}

/** Records everything a connection reports to its owner. */
class Recorder implements ConnectionHandler {
  readonly frames: Frame[] = [];
  readonly raws: WirePayload[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  readonly errors: Error[] = [];
  /** Optional reaction to each frame (e.g. answer requests). */
  react: ((frame: Frame) => void) | undefined;

  onFrame(frame: Frame, raw: WirePayload): void {
    this.frames.push(frame);
    this.raws.push(raw);
    this.react?.(frame);
  }
  onClose(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  onError(error: Error): void {
    this.errors.push(error);
  }
}

interface Side {
  socket: FakeSocket;
  handler: Recorder;
  connection: Connection;
}

interface PairOptions {
  codec?: Codec;
  maxBufferedBytes?: number;
  requestTimeout?: number;
}

function side(localId: string, options: PairOptions): Side {
  const socket = new FakeSocket();
  const handler = new Recorder();
  const connection = new Connection(socket, handler, {
    codec: options.codec ?? jsonCodec,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    requestTimeout: options.requestTimeout ?? 5000,
    localId,
  });
  return { socket, handler, connection };
}

/** Two connections wired to each other through fake sockets. */
function pair(options: PairOptions = {}): { a: Side; b: Side } {
  const a = side('node-a', options);
  const b = side('node-b', options);
  a.socket.peer = b.connection;
  b.socket.peer = a.connection;
  return { a, b };
}

/** A connection whose socket goes nowhere (feed it with `receive`). */
function lone(options: PairOptions = {}): Side {
  return side('lone', options);
}

/** Makes `b` answer every MESSAGE request with `answer(data)`. */
function answerWith(b: Side, answer: (data: unknown) => unknown): void {
  b.handler.react = (frame) => {
    if (frame[0] === FrameType.MESSAGE && frame[1] !== 0)
      b.connection.reply(frame[1], answer(frame[4]));
  };
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A MESSAGE request carrying `data`, built around the id the connection picks. */
function message(data: unknown, route: string | null = 'r'): RequestBuilder {
  return (id) => [FrameType.MESSAGE, id, route, null, data];
}

/** A MESSAGE that wants no reply. */
function oneWay(data: unknown): MessageFrame {
  return [FrameType.MESSAGE, 0, 'r', null, data];
}

// The deadline timer is unref'd (real sockets keep a process alive, fake ones do not): hold
// the event loop open while this file runs.
let keepAlive: ReturnType<typeof setInterval> | undefined;
before(() => {
  keepAlive = setInterval(() => undefined, 1000);
});
after(() => clearInterval(keepAlive));

describe('Connection: requests and replies', () => {
  test('a request resolves with its own reply, also when replies come out of order', async () => {
    const { a, b } = pair();
    const requests: Frame[] = [];
    b.handler.react = (frame) => requests.push(frame);
    const replies = [
      a.connection.request(message(1)),
      a.connection.request(message(2)),
      a.connection.request(message(3)),
    ];
    await tick();
    assert.equal(requests.length, 3);
    assert.equal(a.connection.pending.size, 3);
    const ids = requests.map((frame) => frame[1]);
    assert.deepEqual(ids, [1, 2, 3]);
    for (const frame of [...requests].reverse()) {
      assert.equal(frame[0], FrameType.MESSAGE);
      if (frame[0] === FrameType.MESSAGE) b.connection.reply(frame[1], { echo: frame[4] });
    }
    assert.deepEqual(await Promise.all(replies), [{ echo: 1 }, { echo: 2 }, { echo: 3 }]);
    assert.equal(a.connection.pending.size, 0);
  });

  test('fire-and-forget frames go out with id 0 and reach the handler with their raw payload', async () => {
    const { a, b } = pair();
    a.connection.send([FrameType.MESSAGE, 0, 'chat', 'say', { text: 'hi' }]);
    await tick();
    assert.deepEqual(b.handler.frames, [[FrameType.MESSAGE, 0, 'chat', 'say', { text: 'hi' }]]);
    assert.equal(b.handler.raws[0], '[2,0,"chat","say",{"text":"hi"}]');
  });

  test('works the same with the msgpack codec (binary payloads)', async () => {
    const codec = await loadCodec('msgpack');
    const { a, b } = pair({ codec });
    answerWith(b, (data) => ({ got: data }));
    assert.deepEqual(await a.connection.request(message([1, 'x'])), { got: [1, 'x'] });
    assert.ok(a.socket.sent.every((payload) => payload instanceof Uint8Array));
  });

  test('a reply of undefined arrives as null', async () => {
    const { a, b } = pair();
    answerWith(b, () => undefined);
    assert.equal(await a.connection.request(message(0)), null);
  });

  test('replies to unknown ids are ignored', async () => {
    const { a, b } = pair();
    b.connection.reply(999, 'nobody asked');
    b.connection.send([FrameType.ERROR, 998, { code: 'ERR_X', message: 'nobody asked' }]);
    await tick();
    assert.equal(a.handler.frames.length, 0);
    assert.equal(a.handler.errors.length, 0);
    assert.equal(a.connection.closed, false);
  });
});

describe('Connection: timeouts, aborts and closing', () => {
  test('a request without reply fails with TimeoutError after its timeout', async () => {
    const { a, b } = pair();
    const started = Date.now();
    await assert.rejects(a.connection.request(message(1), { timeout: 40 }), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.code, ErrorCode.TIMEOUT);
      return true;
    });
    assert.ok(Date.now() - started >= 35);
    assert.equal(a.connection.pending.size, 0);
    // A late reply is ignored.
    const request = b.handler.frames[0];
    assert.ok(request !== undefined && request[0] === FrameType.MESSAGE);
    b.connection.reply(request[1], 'too late');
    await tick();
    assert.equal(a.handler.errors.length, 0);
  });

  test('the connection default timeout applies when none is given', async () => {
    const { a } = pair({ requestTimeout: 30 });
    await assert.rejects(a.connection.request(message(1)), TimeoutError);
  });

  test('an AbortSignal cancels the wait', async () => {
    const { a } = pair();
    const controller = new AbortController();
    const reply = a.connection.request(message(1), { signal: controller.signal });
    controller.abort();
    await assert.rejects(
      reply,
      (error: unknown) => error instanceof AbortError && error.code === ErrorCode.ABORTED,
    );
    assert.equal(a.connection.pending.size, 0);
    const sentBefore = a.socket.sent.length;
    await assert.rejects(
      a.connection.request(message(2), { signal: controller.signal }),
      AbortError,
    );
    assert.equal(a.socket.sent.length, sentBefore, 'an already aborted request is not sent');
  });

  test('close() rejects pending requests at once and reports the close once', async () => {
    const { a, b } = pair();
    const first = a.connection.request(message(1), { timeout: 60_000 });
    const second = a.connection.request(message(2), { timeout: 60_000 });
    const started = Date.now();
    a.connection.close(CloseCode.NORMAL, 'bye');
    a.connection.close(CloseCode.GOING_AWAY, 'again');
    for (const reply of [first, second]) {
      await assert.rejects(reply, (error: unknown) => {
        assert.ok(error instanceof ConnectionClosedError);
        assert.equal(error.code, ErrorCode.CONNECTION_CLOSED);
        return true;
      });
    }
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(a.socket.closedWith, { code: 1000, reason: 'bye' });
    assert.deepEqual(a.handler.closes, [{ code: 1000, reason: 'bye' }]);
    assert.equal(a.connection.pending.size, 0);
    await tick();
    assert.deepEqual(b.handler.closes, [{ code: 1000, reason: 'bye' }]);
    assert.equal(b.connection.closed, true);
  });

  test('after close: send throws, request rejects, write returns false, receive is ignored', async () => {
    const { a } = pair();
    a.connection.close();
    assert.throws(() => a.connection.send(oneWay(1)), ConnectionClosedError);
    await assert.rejects(a.connection.request(message(1)), ConnectionClosedError);
    assert.equal(a.connection.write('[9]'), false);
    assert.equal(a.connection.writeShared({ payload: '[9]', framed: undefined }), false);
    a.connection.reply(1, 'x');
    a.connection.replyError(1, new Error('x'));
    a.connection.receive('[2,0,null,null,null]');
    assert.equal(a.handler.frames.length, 0);
  });

  test('the socket closing under the connection rejects pending requests', async () => {
    const { a } = pair();
    const reply = a.connection.request(message(1), { timeout: 60_000 });
    a.connection.handleClosed(1006, '');
    a.connection.handleClosed(1006, ''); // idempotent
    await assert.rejects(reply, ConnectionClosedError);
    assert.deepEqual(a.handler.closes, [{ code: 1006, reason: '' }]);
  });

  test('terminate() drops the socket and rejects pending requests', async () => {
    const { a } = pair();
    const reply = a.connection.request(message(1), { timeout: 60_000 });
    a.connection.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    await assert.rejects(reply, ConnectionClosedError);
    assert.equal(a.socket.terminated, true);
    assert.deepEqual(a.handler.closes, [{ code: 4000, reason: 'heartbeat timeout' }]);
  });
});

describe('Connection: error replies', () => {
  test('replyError turns a thrown Error into a RemoteError with name and origin', async () => {
    const { a, b } = pair();
    b.handler.react = (frame) => {
      if (frame[0] === FrameType.MESSAGE)
        b.connection.replyError(frame[1], new TypeError('bad input'));
    };
    await assert.rejects(a.connection.request(message(1)), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, ErrorCode.REMOTE);
      assert.equal(error.remoteName, 'TypeError');
      assert.equal(error.message, 'bad input');
      assert.equal(error.origin, 'node-b');
      return true;
    });
  });

  test('replyError keeps wsmesh error classes', async () => {
    const { a, b } = pair();
    b.handler.react = (frame) => {
      if (frame[0] === FrameType.MESSAGE)
        b.connection.replyError(frame[1], new NoRouteError('no route'));
    };
    await assert.rejects(a.connection.request(message(1)), NoRouteError);
  });

  test('an error whose data cannot be serialized is sent with code and message only', async () => {
    const { a, b } = pair();
    b.handler.react = (frame) => {
      if (frame[0] !== FrameType.MESSAGE) return;
      const error = Object.assign(new Error('with bigint'), { data: { n: 1n } });
      b.connection.replyError(frame[1], error);
    };
    await assert.rejects(a.connection.request(message(1)), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.message, 'with bigint');
      assert.equal(error.data, undefined);
      return true;
    });
  });

  test('a reply that cannot be serialized becomes an ERR_SERIALIZE error reply', async () => {
    const { a, b } = pair();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    answerWith(b, () => circular);
    await assert.rejects(a.connection.request(message(1)), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.code, ErrorCode.SERIALIZE);
      return true;
    });
    assert.equal(b.connection.closed, false);
  });

  test('an ERROR frame with id 0 goes to the handler', async () => {
    const { a, b } = pair();
    b.connection.replyError(0, new ProtocolError(ErrorCode.PROTOCOL, 'not now'));
    await tick();
    assert.equal(a.handler.frames.length, 1);
    const frame = a.handler.frames[0];
    assert.ok(frame !== undefined && frame[0] === FrameType.ERROR);
    assert.equal(frame[2].code, ErrorCode.PROTOCOL);
  });
});

describe('Connection: outbound limits', () => {
  test('a frame over the peer maxPayload is refused and nothing is sent', async () => {
    const { a } = pair();
    assert.equal(a.connection.peerMaxPayload, Infinity, 'no limit before the handshake');
    a.connection.send(oneWay('x'.repeat(100)));
    a.socket.sent.length = 0;
    a.connection.negotiated({ peerMaxPayload: 64, peerReadsBatches: false });
    assert.equal(a.connection.peerMaxPayload, 64);
    assert.throws(() => a.connection.send(oneWay('x'.repeat(100))), PayloadTooLargeError);
    assert.equal(a.socket.sent.length, 0);
    await assert.rejects(a.connection.request(message('y'.repeat(100))), PayloadTooLargeError);
    assert.equal(a.connection.pending.size, 0);
    a.connection.send(oneWay('small'));
    assert.equal(a.socket.sent.length, 1);
    // Multi-byte characters count in UTF-8 bytes.
    assert.throws(() => a.connection.send(oneWay('€'.repeat(20))), PayloadTooLargeError);
  });

  test('an unserializable frame throws SerializationError and leaves no pending entry', async () => {
    const { a } = pair();
    assert.throws(() => a.connection.send(oneWay(10n)), SerializationError);
    await assert.rejects(a.connection.request(message(10n)), SerializationError);
    assert.equal(a.connection.pending.size, 0);
    assert.equal(a.socket.sent.length, 0);
    assert.equal(a.connection.closed, false);
  });

  test('below the cap, writes go through', () => {
    const { a } = pair({ maxBufferedBytes: 1000 });
    a.socket.bufferedAmount = 1000;
    a.connection.send(oneWay(1));
    assert.equal(a.connection.write('[9]'), true);
    assert.equal(a.connection.writeShared({ payload: '[10]', framed: undefined }), true);
    assert.equal(a.socket.sent.length, 3);
    assert.equal(a.connection.bufferedAmount, 1000);
  });

  test('over the buffered-bytes cap the peer is closed as a slow consumer (4008)', async (t) => {
    // The grace period runs on a mock clock: the teardown is checked just before and at it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { a } = pair({ maxBufferedBytes: 1000 });
    const pending = a.connection.request(message(1), { timeout: 60_000 });
    a.socket.bufferedAmount = 1001;
    assert.throws(
      () => a.connection.send(oneWay(2)),
      (error: unknown) => {
        assert.ok(error instanceof SlowConsumerError);
        assert.equal(error.code, ErrorCode.SLOW_CONSUMER);
        return true;
      },
    );
    assert.equal(a.socket.sent.length, 1, 'the frame over the cap is not written');
    assert.equal(a.connection.closed, true);
    assert.deepEqual(a.socket.closedWith, {
      code: CloseCode.SLOW_CONSUMER,
      reason: 'slow consumer',
    });
    assert.deepEqual(a.handler.closes, [
      { code: CloseCode.SLOW_CONSUMER, reason: 'slow consumer' },
    ]);
    assert.ok(a.handler.errors.some((error) => error instanceof SlowConsumerError));
    await assert.rejects(pending, ConnectionClosedError);
    // The socket is torn down after a grace period even if the close never completes.
    assert.equal(a.socket.terminated, false);
    t.mock.timers.tick(SLOW_CONSUMER_GRACE_MS - 1);
    assert.equal(a.socket.terminated, false, 'not before the grace period');
    t.mock.timers.tick(1);
    assert.equal(a.socket.terminated, true);
  });

  test('write() and writeShared() report a slow consumer by returning false', () => {
    for (const write of [
      (connection: Connection) => connection.write('[9]'),
      (connection: Connection) => connection.writeShared({ payload: '[9]', framed: undefined }),
    ]) {
      const { a } = pair({ maxBufferedBytes: 10 });
      a.socket.bufferedAmount = 11;
      assert.equal(write(a.connection), false);
      assert.equal(a.connection.closed, true);
      assert.equal(a.socket.closedWith?.code, CloseCode.SLOW_CONSUMER);
      assert.equal(a.socket.sent.length, 0);
    }
  });

  test('reply() to a slow consumer does not throw', () => {
    const { a } = pair({ maxBufferedBytes: 10 });
    a.socket.bufferedAmount = 11;
    assert.doesNotThrow(() => a.connection.reply(1, 'x'));
    assert.equal(a.connection.closed, true);
  });
});

describe('Connection: bad input', () => {
  test('a binary message on a JSON connection closes it with 1003', () => {
    const { socket, handler, connection } = lone();
    connection.receive(new TextEncoder().encode('[2,0,null,null,null]'));
    assert.equal(socket.closedWith?.code, CloseCode.UNSUPPORTED_DATA);
    assert.equal(connection.closed, true);
    assert.equal(handler.frames.length, 0);
    assert.ok(handler.errors[0] instanceof ProtocolError);
    assert.deepEqual(
      handler.closes.map((close) => close.code),
      [1003],
    );
  });

  test('a text message on a msgpack connection closes it with 1003', async () => {
    const codec = await loadCodec('msgpack');
    const { socket, connection } = lone({ codec });
    connection.receive('[2,0,null,null,null]');
    assert.equal(socket.closedWith?.code, CloseCode.UNSUPPORTED_DATA);
  });

  test('undecodable payloads close with 1007 and reject pending requests', async () => {
    const json = lone();
    const pending = json.connection.request(message(1), { timeout: 60_000 });
    json.connection.receive('{"not": "closed"');
    assert.equal(json.socket.closedWith?.code, CloseCode.INVALID_PAYLOAD);
    await assert.rejects(pending, ConnectionClosedError);
    const deep = lone();
    deep.connection.receive('['.repeat(100_000));
    assert.equal(deep.socket.closedWith?.code, CloseCode.INVALID_PAYLOAD);
    const codec = await loadCodec('msgpack');
    for (const junk of [
      [0x92, 0x01],
      [0x01, 0x02],
      [0xdd, 0xff, 0xff, 0xff, 0xff],
    ]) {
      const msgpack = lone({ codec });
      msgpack.connection.receive(new Uint8Array(junk));
      assert.equal(
        msgpack.socket.closedWith?.code,
        CloseCode.INVALID_PAYLOAD,
        `bytes ${junk.join(',')}`,
      );
      assert.equal(msgpack.handler.frames.length, 0);
    }
  });

  test('an invalid frame gets ERR_BAD_FRAME with the request id when readable, and the connection stays', () => {
    const { socket, handler, connection } = lone();
    connection.receive('[2, 7, 123, null, null]');
    const [reply] = socket.frames();
    assert.ok(Array.isArray(reply));
    assert.equal(reply[0], FrameType.ERROR);
    assert.equal(reply[1], 7);
    assert.equal((reply[2] as { code: string }).code, ErrorCode.BAD_FRAME);
    assert.equal((reply[2] as { origin?: string }).origin, 'lone');
    assert.equal(connection.closed, false);
    assert.equal(handler.frames.length, 0);
    assert.ok(handler.errors[0] instanceof ProtocolError);
    connection.receive('[2, 8, "r", null, 1]');
    assert.equal(handler.frames.length, 1);
  });

  test('bare values and empty containers get ERR_BAD_FRAME with id 0', () => {
    const { socket, connection } = lone();
    for (const text of [
      '"just a string"',
      'null',
      '{}',
      '[]',
      '42',
      'true',
      '[2, -1, null, null]',
    ]) {
      const before = socket.sent.length;
      connection.receive(text);
      assert.equal(socket.sent.length, before + 1, text);
      const reply = socket.frames()[before] as [number, number, { code: string }];
      assert.deepEqual(
        [reply[0], reply[1], reply[2].code],
        [FrameType.ERROR, 0, ErrorCode.BAD_FRAME],
        text,
      );
    }
    assert.equal(connection.closed, false);
  });

  test('an unknown frame type gets ERR_UNKNOWN_FRAME and the connection stays', () => {
    const { socket, handler, connection } = lone();
    connection.receive('[999, 1, 2]');
    const reply = socket.frames()[0] as [number, number, { code: string }];
    assert.deepEqual(
      [reply[0], reply[1], reply[2].code],
      [FrameType.ERROR, 0, ErrorCode.UNKNOWN_FRAME],
    );
    assert.equal(connection.closed, false);
    assert.equal(handler.frames.length, 0);
  });

  test('PING is answered with PONG by the transport; PONG is swallowed', () => {
    const { socket, handler, connection } = lone();
    connection.receive('[9]');
    connection.receive('[10]');
    assert.deepEqual(socket.frames(), [[FrameType.PONG]]);
    assert.equal(handler.frames.length, 0);
  });

  test('every incoming message counts as a sign of life', () => {
    const { connection } = lone();
    connection.heartbeatStart();
    assert.equal(connection.heartbeatTick(), 0, 'counts as heard at the start of a watch');
    assert.equal(connection.heartbeatTick(), 1, 'a tick with nothing received');
    connection.receive('[10]');
    assert.equal(connection.heartbeatTick(), 0, 'a message resets the silent ticks');
    assert.equal(connection.heartbeatTick(), 1);
    assert.equal(connection.heartbeatTick(), 2);
  });

  test('a timed PING measures the round trip; an untimed one keeps nothing', () => {
    const { socket, connection } = lone();
    connection.ping(false);
    connection.receive('[10]');
    assert.equal(connection.rttMs, undefined, 'untimed');
    connection.ping();
    connection.ping();
    connection.receive('[10]');
    const first = connection.rttMs;
    assert.equal(typeof first, 'number');
    assert.ok(first !== undefined && first >= 0);
    connection.receive('[10]');
    assert.equal(connection.rttMs, first, 'a PONG with no timed PING in flight measures nothing');
    assert.deepEqual(socket.frames(), [[FrameType.PING], [FrameType.PING], [FrameType.PING]]);
  });

  test('a throwing handler is reported, never thrown out of receive()', () => {
    const { handler, connection } = lone();
    handler.react = () => {
      throw new Error('handler bug');
    };
    assert.doesNotThrow(() => connection.receive('[2, 0, null, null, null]'));
    assert.equal(handler.errors.length, 1);
    assert.equal(handler.errors[0]?.message, 'handler bug');
    assert.equal(connection.closed, false);
  });
});
