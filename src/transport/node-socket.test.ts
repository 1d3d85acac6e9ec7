/**
 * NodeWireSocket over a real `ws` pair on 127.0.0.1: one message per tick without batching,
 * the frames of a tick joined into one message with `startBatching`, shared (fan-out) batches
 * written as the same bytes to every socket, size limits, and the close frame after the
 * messages of its tick.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Packr } from 'msgpackr';
import WebSocket, { WebSocketServer } from 'ws';
import { jsonCodec } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import { Connection } from './connection.js';
import { NodeWireSocket } from './node-socket.js';
import { BATCH_MAX_BYTES } from './outbound.js';
import { PreparedFrame } from './prepared-frame.js';
import { TickFanout } from './tick-fanout.js';

/** A message as the far end of the pair received it. */
interface Received {
  data: Buffer;
  binary: boolean;
}

/** One connected pair: `wire` wraps one end, `received` is what the other end got. */
interface Pair {
  wire: NodeWireSocket;
  received: Received[];
  /** Buffers passed to the wrapped end's TCP `write`, in order (server-side wires only). */
  writes: Buffer[];
  /** Resolves with the far end's close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** The far end's `ws`. */
  peer: WebSocket;
}

let wss: WebSocketServer;
let url: string;
const accepted: { ws: WebSocket; request: IncomingMessage }[] = [];
const acceptWaiters: (() => void)[] = [];
const opened: WebSocket[] = [];

before(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  wss.on('connection', (ws, request) => {
    accepted.push({ ws, request });
    acceptWaiters.shift()?.();
  });
});

after(async () => {
  for (const ws of opened) ws.terminate();
  for (const { ws } of accepted) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

function record(ws: WebSocket): { received: Received[]; closed: Pair['closed'] } {
  const received: Received[] = [];
  ws.on('message', (data: Buffer, binary: boolean) => received.push({ data, binary }));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
  });
  return { received, closed };
}

/** Opens a ws pair; `side` says which end is wrapped in a NodeWireSocket. */
async function pair(side: 'server' | 'client' = 'server'): Promise<Pair> {
  const acceptedNow = new Promise<void>((resolve) => acceptWaiters.push(resolve));
  const client = new WebSocket(url, { perMessageDeflate: false });
  opened.push(client);
  let clientRaw: Socket | undefined;
  client.once('upgrade', (response) => {
    clientRaw = response.socket;
  });
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  await acceptedNow;
  const server = accepted[accepted.length - 1];
  assert.ok(server !== undefined);
  if (side === 'client') {
    const { received, closed } = record(server.ws);
    const wire = new NodeWireSocket(client, undefined, false, () => clientRaw);
    return { wire, received, writes: [], closed, peer: server.ws };
  }
  const { received, closed } = record(client);
  const raw = server.request.socket;
  const writes: Buffer[] = [];
  const write = raw.write.bind(raw) as (...args: unknown[]) => boolean;
  // Spy on the TCP writes (to see which buffers fan-out shares); the write itself is unchanged.
  (raw as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
    if (Buffer.isBuffer(args[0])) writes.push(args[0]);
    return write(...args);
  };
  return { wire: new NodeWireSocket(server.ws, raw, true), received, writes, closed, peer: client };
}

/** Resolves after the current tick's flush (a later macrotask). */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Sends 'END' in a later tick and waits for it, so every message sent before has arrived; then
 * returns the texts received before it.
 */
async function textsBeforeEnd(pairs: Pair | Pair[]): Promise<string[][]> {
  const list = Array.isArray(pairs) ? pairs : [pairs];
  await nextMacrotask();
  for (const p of list) p.wire.send('END');
  const started = Date.now();
  while (!list.every((p) => p.received.some((r) => r.data.toString() === 'END'))) {
    if (Date.now() - started > 5000) throw new Error('END did not arrive');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return list.map((p) => {
    const texts = p.received.map((r) => r.data.toString());
    assert.equal(texts.at(-1), 'END', 'END is alone and last');
    return texts.slice(0, -1);
  });
}

const LIMIT = 64 * 1024;

describe('NodeWireSocket', () => {
  test('without startBatching, every send is its own message', async () => {
    const p = await pair();
    p.wire.send('a');
    p.wire.send('b');
    p.wire.send('c');
    assert.deepEqual(await textsBeforeEnd(p), [['a', 'b', 'c']]);
    assert.ok(p.received.every((r) => !r.binary));
  });

  test('with startBatching, the sends of one tick are one message joined by line feeds', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.send('a');
    p.wire.send('b');
    p.wire.send('c');
    assert.deepEqual(await textsBeforeEnd(p), [['a\nb\nc']]);
    assert.equal(p.received[0]?.binary, false, 'a JSON batch is a text message');
  });

  test('a single send of a tick is sent as is', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.send('alone');
    assert.deepEqual(await textsBeforeEnd(p), [['alone']]);
  });

  test('sends in two ticks are two messages', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.send('a');
    p.wire.send('b');
    await nextMacrotask();
    p.wire.send('c');
    p.wire.send('d');
    assert.deepEqual(await textsBeforeEnd(p), [['a\nb', 'c\nd']]);
  });

  test('a client-side socket batches too', async () => {
    const p = await pair('client');
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.send('x');
    p.wire.send('y');
    await nextMacrotask();
    p.wire.send('END');
    const started = Date.now();
    while (p.received.length < 2 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.deepEqual(
      p.received.map((r) => r.data.toString()),
      ['x\ny', 'END'],
    );
  });

  test('MessagePack batches are values back to back in one binary message', async () => {
    const msgpack = await loadCodec('msgpack');
    const p = await pair();
    p.wire.startBatching(LIMIT, msgpack);
    const frames = [
      [8, 'g', 'r', null, 1],
      [8, 'g', 'r', null, 'two'],
      [3, 7, { three: 3 }],
    ];
    for (const frame of frames) p.wire.send(msgpack.encode(frame));
    // 'END' goes in a later tick and arrives after whatever the batch became.
    await nextMacrotask();
    p.wire.send('END');
    const started = Date.now();
    while (!p.received.some((r) => r.data.toString() === 'END')) {
      if (Date.now() - started > 5000) throw new Error('END did not arrive');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.equal(p.received.length, 2, 'one message, then END');
    const [message] = p.received;
    assert.ok(message !== undefined);
    assert.equal(message.binary, true);
    const decoder = new Packr({ useRecords: false, mapsAsObjects: true });
    assert.deepEqual(decoder.unpackMultiple(message.data), frames);
  });

  test('shared frames queued in the same order on two sockets are the same bytes', async () => {
    const p1 = await pair();
    const p2 = await pair();
    for (const p of [p1, p2]) p.wire.startBatching(LIMIT, jsonCodec);
    const a = PreparedFrame.of('A');
    const b = PreparedFrame.of('B');
    const writesBefore = [p1.writes.length, p2.writes.length];
    p1.wire.sendShared(a);
    p1.wire.sendShared(b);
    p2.wire.sendShared(a);
    p2.wire.sendShared(b);
    assert.deepEqual(await textsBeforeEnd([p1, p2]), [['A\nB'], ['A\nB']]);
    // White-box: the batch is framed once and the very same buffer goes to both TCP sockets.
    const batchWrite = (p: Pair, from: number): Buffer | undefined =>
      p.writes.slice(from).find((buffer) => buffer.includes('A\nB'));
    const first = batchWrite(p1, writesBefore[0] ?? 0);
    const second = batchWrite(p2, writesBefore[1] ?? 0);
    assert.ok(first !== undefined && second !== undefined, 'both sockets wrote the batch');
    assert.equal(first, second, 'one framing of the batch is shared by both sockets');
  });

  test('shared frames queued in different orders make different batches', async () => {
    const p1 = await pair();
    const p2 = await pair();
    for (const p of [p1, p2]) p.wire.startBatching(LIMIT, jsonCodec);
    const a = PreparedFrame.of('A');
    const b = PreparedFrame.of('B');
    p1.wire.sendShared(a);
    p1.wire.sendShared(b);
    p2.wire.sendShared(b);
    p2.wire.sendShared(a);
    assert.deepEqual(await textsBeforeEnd([p1, p2]), [['A\nB'], ['B\nA']]);
  });

  test('own sends and shared frames of one tick share a batch, in send order', async () => {
    const p1 = await pair();
    const p2 = await pair();
    const p3 = await pair();
    for (const p of [p1, p2, p3]) p.wire.startBatching(LIMIT, jsonCodec);
    const a = PreparedFrame.of('A');
    const b = PreparedFrame.of('B');
    // Shared first, then the socket's own message, then shared again.
    p1.wire.sendShared(a);
    p1.wire.send('own1');
    p1.wire.sendShared(b);
    // Own first.
    p2.wire.send('own2');
    p2.wire.sendShared(a);
    p2.wire.sendShared(b);
    // Only shared: the others' own messages must not leak into this batch.
    p3.wire.sendShared(a);
    p3.wire.sendShared(b);
    assert.deepEqual(await textsBeforeEnd([p1, p2, p3]), [
      ['A\nown1\nB'],
      ['own2\nA\nB'],
      ['A\nB'],
    ]);
  });

  test('batches never exceed the limit and keep the order', async () => {
    const p = await pair();
    const limit = 100;
    p.wire.startBatching(limit, jsonCodec);
    const sent = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}-abcdef`);
    for (const [i, text] of sent.entries()) {
      if (i % 3 === 0) p.wire.sendShared(PreparedFrame.of(text));
      else p.wire.send(text);
    }
    const [texts = []] = await textsBeforeEnd(p);
    assert.ok(texts.length > 1, 'the limit split the tick into several messages');
    assert.ok(texts.length < sent.length, 'frames were still batched');
    for (const text of texts) assert.ok(Buffer.byteLength(text) <= limit, `${text.length} bytes`);
    assert.deepEqual(texts.join('\n').split('\n'), sent);
  });

  test('buffered bytes follow every write of a tick, read once or many times', async () => {
    const p = await pair();
    const raw = accepted[accepted.length - 1]?.request.socket;
    assert.ok(raw !== undefined);
    p.wire.startBatching(100, jsonCodec);
    // Corked, the TCP socket keeps what it is given, so its buffered bytes only grow.
    raw.cork();
    p.wire.send('a');
    assert.equal(p.wire.bufferedAmount, 0, 'a queued batch is not written yet');
    assert.equal(p.wire.bufferedAmount, 0);
    p.wire.send('y'.repeat(300));
    const afterBig = p.wire.bufferedAmount;
    assert.ok(afterBig >= 300, `a payload over the limit is written at once (${afterBig})`);
    p.wire.send('x'.repeat(300));
    const afterSecond = p.wire.bufferedAmount;
    assert.ok(afterSecond >= afterBig + 300, 'and the next one, with nothing queued before it');
    p.wire.sendShared(PreparedFrame.of('z'.repeat(300)));
    assert.ok(p.wire.bufferedAmount >= afterSecond + 300, 'and a shared one');
    raw.uncork();
    await textsBeforeEnd(p);
  });

  test('a payload bigger than the limit goes alone, after the batch before it', async () => {
    const p = await pair();
    p.wire.startBatching(100, jsonCodec);
    const big = 'y'.repeat(300);
    p.wire.send('a');
    p.wire.send('b');
    p.wire.send(big);
    p.wire.send('c');
    p.wire.send('d');
    assert.deepEqual(await textsBeforeEnd(p), [['a\nb', big, 'c\nd']]);
  });

  test('a shared payload bigger than the limit goes alone, after the batch before it', async () => {
    const p = await pair();
    p.wire.startBatching(100, jsonCodec);
    const big = 'z'.repeat(300);
    p.wire.sendShared(PreparedFrame.of('a'));
    p.wire.sendShared(PreparedFrame.of('b'));
    p.wire.sendShared(PreparedFrame.of(big));
    p.wire.sendShared(PreparedFrame.of('c'));
    p.wire.send('d');
    assert.deepEqual(await textsBeforeEnd(p), [['a\nb', big, 'c\nd']]);
  });

  test('close() after send() in the same tick delivers the messages before the close', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.send('last-words');
    p.wire.sendShared(PreparedFrame.of('shared-words'));
    p.wire.close(4000, 'bye');
    const closed = await p.closed;
    assert.deepEqual(closed, { code: 4000, reason: 'bye' });
    assert.deepEqual(
      p.received.map((r) => r.data.toString()),
      ['last-words\nshared-words'],
    );
  });

  test('close() after a shared-only batch in the same tick delivers it first', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.sendShared(PreparedFrame.of('s1'));
    p.wire.sendShared(PreparedFrame.of('s2'));
    p.wire.close(4001, 'done');
    assert.deepEqual(await p.closed, { code: 4001, reason: 'done' });
    assert.deepEqual(
      p.received.map((r) => r.data.toString()),
      ['s1\ns2'],
    );
  });

  test('close() without batching still sends the earlier messages first', async () => {
    const p = await pair();
    p.wire.send('one');
    p.wire.send('two');
    p.wire.close(4002, 'plain');
    assert.deepEqual(await p.closed, { code: 4002, reason: 'plain' });
    assert.deepEqual(
      p.received.map((r) => r.data.toString()),
      ['one', 'two'],
    );
  });

  test('sends after close are dropped', async () => {
    const p = await pair();
    p.wire.startBatching(LIMIT, jsonCodec);
    p.wire.close(4003, 'gone');
    p.wire.send('late');
    p.wire.sendShared(PreparedFrame.of('late-shared'));
    assert.deepEqual(await p.closed, { code: 4003, reason: 'gone' });
    await nextMacrotask();
    assert.deepEqual(p.received, []);
  });
});

describe('NodeWireSocket tick fan-outs', () => {
  test('only a socket that batches whole batches takes a tick', async () => {
    const plain = await pair();
    const small = await pair();
    small.wire.startBatching(BATCH_MAX_BYTES - 1, jsonCodec);
    const whole = await pair();
    whole.wire.startBatching(BATCH_MAX_BYTES, jsonCodec);
    const fanout = new TickFanout();
    assert.equal(plain.wire.joinTick(fanout), undefined);
    assert.equal(small.wire.joinTick(fanout), undefined);
    const registration = whole.wire.joinTick(fanout);
    assert.equal(registration?.codec, jsonCodec);
    assert.equal(registration.from, 0);
    for (const p of [plain, small, whole]) p.wire.terminate();
  });

  test('a closed socket takes no tick: after close(), terminate(), or its peer closing', async () => {
    const closing = await pair();
    const terminated = await pair();
    const peerClosed = await pair();
    const peerClose = new Promise<void>((resolve) => peerClosed.wire.ws.once('close', resolve));
    for (const p of [closing, terminated, peerClosed]) {
      p.wire.startBatching(BATCH_MAX_BYTES, jsonCodec);
      const handler = { onFrame() {}, onClose() {}, onError() {} };
      const options = {
        codec: jsonCodec,
        maxBufferedBytes: 1 << 20,
        requestTimeout: 5000,
        localId: 's',
      };
      p.wire.attach(new Connection(p.wire, handler, options));
    }
    closing.wire.close(1000, '');
    terminated.wire.terminate();
    peerClosed.peer.close(1000);
    await peerClose;
    const fanout = new TickFanout();
    for (const p of [closing, terminated, peerClosed]) {
      assert.equal(p.wire.joinTick(fanout), undefined);
    }
  });
});
