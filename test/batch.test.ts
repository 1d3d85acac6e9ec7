/**
 * Batches over real sockets (PROTOCOL.md, "Batches"): a peer that announces `batch` in HELLO
 * gets WELCOME `batch` and receives the frames of one tick as one WebSocket message (JSON
 * lines, MessagePack values back to back), never above its maxPayload; it may send batches
 * too. Peers that did not negotiate keep one frame per message. Fan-out batches are shared,
 * the order of frames of all kinds is kept, encrypted connections do not batch, a close comes
 * after the messages of its tick, and invalid UTF-8 fails a connection with 1007.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, connect as connectTcp, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { Client, ErrorCode, ProtocolError, type Server } from '../src/index.js';
import { CloseCode, FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { rawHandshake } from './trust-helpers.js';
import { nodeCipherFactory } from '../src/transport/node-cipher.js';
import {
  Cleanup,
  connectRaw,
  isFrame,
  rawPackr,
  startClient,
  startServer,
  stopAll,
  waitFor,
  within,
  type RawCodec,
  type RawPeer,
  type StartedServer,
} from './helpers.js';

const LONG = { timeout: 60_000 };

// ---------------------------------------------------------------------------------------------
// A raw peer that reads batches
// ---------------------------------------------------------------------------------------------

/** One WebSocket message as a batch-reading raw peer received it, split into its frames. */
interface BatchMessage {
  data: Buffer;
  binary: boolean;
  frames: unknown[];
}

/** Splits a received message into frames: JSON lines, or MessagePack values back to back. */
function splitBatch(codec: RawCodec, data: Buffer): unknown[] {
  if (codec === 'json')
    return data
      .toString('utf8')
      .split('\n')
      .map((line) => JSON.parse(line));
  return rawPackr.unpackMultiple(data) as unknown[];
}

/**
 * A raw ws peer that records every WebSocket message and the frames in it (so it can tell how
 * many messages carried how many frames).
 */
class BatchPeer {
  readonly messages: BatchMessage[] = [];
  welcome: Record<string, unknown> | undefined;
  private nextId = 1;

  constructor(
    readonly raw: RawPeer,
    readonly codec: RawCodec,
  ) {
    raw.ws.on('message', (data: Buffer, binary: boolean) => {
      let frames: unknown[];
      try {
        frames = splitBatch(codec, data);
      } catch {
        frames = [{ undecodable: data }];
      }
      this.messages.push({ data, binary, frames });
      for (const frame of frames) {
        if (isFrame(frame, FrameType.WELCOME)) this.welcome = frame[1] as Record<string, unknown>;
      }
    });
  }

  /** Every frame received, in order. */
  get frames(): unknown[] {
    return this.messages.flatMap((message) => message.frames);
  }

  /** Frames received in messages at index `from` or later. */
  framesFrom(from: number): unknown[] {
    return this.messages.slice(from).flatMap((message) => message.frames);
  }

  send(value: unknown): void {
    this.raw.send(value);
  }

  /** Sends frames joined into one message (JSON: lines as text; MessagePack: back to back). */
  sendBatch(frames: unknown[]): void {
    if (this.codec === 'json') this.raw.sendText(frames.map((f) => JSON.stringify(f)).join('\n'));
    else this.raw.sendBinary(Buffer.concat(frames.map((f) => rawPackr.pack(f))));
  }

  allocateId(): number {
    return this.nextId++;
  }

  /** Waits until a frame matching `predicate` arrived in a message at `from` or later. */
  async waitFrame(predicate: (frame: unknown) => boolean, from = 0): Promise<unknown> {
    return waitFor(
      () => {
        const found = this.framesFrom(from).find(predicate);
        if (found === undefined && this.raw.closeInfo !== undefined) {
          throw new Error(`closed (${this.raw.closeInfo.code}) before the expected frame`);
        }
        return found;
      },
      5000,
      'expected frame',
    );
  }

  /** Waits until `count` frames matching `predicate` arrived in messages at `from` or later. */
  async waitCount(predicate: (frame: unknown) => boolean, count: number, from = 0): Promise<void> {
    await waitFor(
      () => this.framesFrom(from).filter(predicate).length >= count,
      10_000,
      `${count} frames`,
    );
  }

  /**
   * Asks the server to echo a marker and waits for the reply: everything the server sent
   * before is in the messages before the returned index (the reply's message). The server
   * must have the `echo` route.
   */
  async sync(): Promise<number> {
    const id = this.allocateId();
    const from = this.messages.length;
    this.send([FrameType.MESSAGE, id, 'echo', null, 'sync']);
    await this.waitFrame((f) => isFrame(f, FrameType.REPLY, id), from);
    return this.messages.findIndex(
      (message, index) =>
        index >= from && message.frames.some((f) => isFrame(f, FrameType.REPLY, id)),
    );
  }

  /** Frames received in messages from index `from` up to, not including, `end`. */
  framesBetween(from: number, end: number): unknown[] {
    return this.messages.slice(from, end).flatMap((message) => message.frames);
  }

  /** SUBSCRIBE and wait for the REPLY. */
  async subscribe(groupId: string): Promise<void> {
    const id = this.allocateId();
    const from = this.messages.length;
    this.send([FrameType.SUBSCRIBE, id, groupId]);
    const reply = await this.waitFrame((f) => isFrame(f, FrameType.REPLY, id), from);
    assert.deepEqual(reply, [FrameType.REPLY, id, true]);
    // MEMBERSHIP too, so that nothing of the subscription arrives after this resolved.
    await this.waitFrame((f) => isDeep(f, [FrameType.MEMBERSHIP, groupId, true]), from);
  }
}

let peerCounter = 0;

/**
 * Connects a {@link BatchPeer}: HELLO with `batch` unless `batch: false`, `maxPayload` both in
 * HELLO and as the ws limit (so the socket fails if the server ever sends more).
 */
async function batchPeer(
  url: string,
  options: { codec?: RawCodec; batch?: boolean; maxPayload?: number } = {},
): Promise<BatchPeer> {
  const codec = options.codec ?? 'json';
  const raw = await connectRaw(url, {
    codec,
    hello: false,
    ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
  });
  const peer = new BatchPeer(raw, codec);
  peerCounter++;
  const hello: Record<string, unknown> = { v: PROTOCOL_VERSION, id: `batch-${peerCounter}` };
  if (options.batch !== false) hello.batch = true;
  if (options.maxPayload !== undefined) hello.maxPayload = options.maxPayload;
  peer.send([FrameType.HELLO, hello]);
  await peer.waitFrame((f) => isFrame(f, FrameType.WELCOME));
  return peer;
}

const isGroupMessage = (frame: unknown): boolean => isFrame(frame, FrameType.GROUP_MESSAGE);

// ---------------------------------------------------------------------------------------------
// A TCP proxy that parses the WebSocket frames going each way
// ---------------------------------------------------------------------------------------------

/** A WebSocket frame seen on the wire (unmasked). */
interface WireFrame {
  opcode: number;
  payload: Buffer;
}

/** Parses one direction of a WebSocket connection: the HTTP head, then frames. */
class FrameParser {
  private buffer = Buffer.alloc(0);
  private inHead = true;

  constructor(private readonly out: WireFrame[]) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.inHead) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.buffer = this.buffer.subarray(end + 4);
      this.inHead = false;
    }
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const opcode = (b[0] ?? 0) & 0x0f;
      const masked = ((b[1] ?? 0) & 0x80) !== 0;
      let length = (b[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) {
        const mask = b.subarray(maskAt, maskAt + 4);
        for (let i = 0; i < payload.length; i++) {
          payload.writeUInt8((payload.readUInt8(i) ^ mask.readUInt8(i % 4)) & 0xff, i);
        }
      }
      this.out.push({ opcode, payload });
      this.buffer = b.subarray(offset + length);
    }
  }
}

/** A TCP proxy in front of a server that records the WebSocket frames of every connection. */
interface WireTap {
  /** `ws://127.0.0.1:<proxy port><path>` */
  url: string;
  /** Frames from the dialing side, in order (all connections). */
  toServer: WireFrame[];
  /** Frames from the server, in order (all connections). */
  toClient: WireFrame[];
  stop(): Promise<void>;
}

async function wireTap(target: StartedServer): Promise<WireTap> {
  const toServer: WireFrame[] = [];
  const toClient: WireFrame[] = [];
  const sockets = new Set<Socket>();
  const proxy = createNetServer((downstream) => {
    const upstream = connectTcp(target.port, '127.0.0.1');
    sockets.add(downstream);
    sockets.add(upstream);
    const up = new FrameParser(toServer);
    const down = new FrameParser(toClient);
    downstream.on('data', (chunk: Buffer) => {
      up.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down.push(chunk);
      downstream.write(chunk);
    });
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
    downstream.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}${target.server.path}`,
    toServer,
    toClient,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** Data frames (text or binary) of a direction, from index `from`. */
function dataFrames(frames: WireFrame[], from = 0): WireFrame[] {
  return frames.slice(from).filter((f) => f.opcode === 1 || f.opcode === 2);
}

// ---------------------------------------------------------------------------------------------
// Routes shared by the servers of this file
// ---------------------------------------------------------------------------------------------

interface Marks {
  marks: unknown[];
}

function addRoutes(server: Server, state: Marks): void {
  server.addRoute({ route: 'echo', handler: ({ data }) => data });
  server.addRoute({
    route: 'mark',
    handler: ({ data }) => {
      state.marks.push(data);
      return data;
    },
  });
  // Sends a group message, a message of its own, a membership change and another group
  // message in one tick, then replies.
  server.addRoute({
    route: 'mix',
    handler: ({ ws, server: owner }) => {
      owner.groups.sendMes({ id: 'mixA', route: 'gA', data: 1 });
      void ws.sendMes({ route: 'direct', data: 2 });
      owner.groups.addSubscriber({ id: 'mixB', ws });
      owner.groups.sendMes({ id: 'mixB', route: 'gB', data: 3 });
      return 4;
    },
  });
  server.addRoute({
    route: 'bye',
    handler: ({ ws, data }) => {
      void ws.sendMes({ route: 'farewell', data });
      ws.close(4001, 'bye');
    },
  });
  server.addRoute({
    route: 'byeGroup',
    handler: ({ ws, server: owner }) => {
      owner.groups.sendMes({ id: 'byeGroup', route: 'last', data: 'group' });
      ws.close(4002, 'bye group');
    },
  });
  server.addRoute({
    route: 'bigReply',
    handler: ({ ws, data }) => {
      void ws.sendMes({ route: 'pre', data: 'a' });
      return 'x'.repeat(data as number);
    },
  });
}

// ---------------------------------------------------------------------------------------------

describe('batches', LONG, () => {
  const cleanup = new Cleanup();
  const state: Marks = { marks: [] };
  let main: StartedServer;
  const serverErrors: Error[] = [];

  before(async () => {
    main = await startServer({}, (server) => {
      addRoutes(server, state);
      server.on('error', ({ error }) => serverErrors.push(error));
    });
    cleanup.add(() => main.server.stop());
  });
  after(() => cleanup.run());

  /** A batch peer of the main server, closed after the suite. */
  async function peer(options: Parameters<typeof batchPeer>[1] = {}): Promise<BatchPeer> {
    const p = await batchPeer(main.url, options);
    cleanup.add(() => p.raw.terminate());
    return p;
  }

  /** A client of `url` (the main server by default), stopped after the suite. */
  async function client(
    options: Parameters<typeof startClient>[1] = {},
    url = main.url,
  ): Promise<Client> {
    const c = await startClient(url, options);
    cleanup.add(() => c.stop());
    return c;
  }

  for (const codec of ['json', 'msgpack'] as const) {
    test(`${codec}: a peer announcing batch gets WELCOME batch and a tick's group messages in one message`, async () => {
      const p = await peer({ codec });
      assert.equal(p.welcome?.batch, true, 'WELCOME says batch');
      await p.subscribe(`g1-${codec}`);
      const from = p.messages.length;
      for (let i = 0; i < 20; i++) {
        main.server.groups.sendMes({ id: `g1-${codec}`, route: 'r', data: i });
      }
      await p.waitCount(isGroupMessage, 20, from);
      const end = await p.sync();
      const messages = p.messages.slice(from, end);
      assert.ok(messages.length < 20, `fewer messages than frames (${messages.length})`);
      assert.equal(messages.length, 1, 'the whole tick fits in one batch');
      assert.equal(messages[0]?.binary, codec === 'msgpack');
      assert.deepEqual(
        p.framesBetween(from, end),
        Array.from({ length: 20 }, (_, i) => [
          FrameType.GROUP_MESSAGE,
          `g1-${codec}`,
          'r',
          null,
          i,
        ]),
      );
    });

    test(`${codec}: a peer without batch gets WELCOME without batch and one frame per message`, async () => {
      const p = await peer({ codec, batch: false });
      assert.ok(p.welcome !== undefined);
      assert.equal(p.welcome.batch, undefined, 'WELCOME has no batch');
      await p.subscribe(`g2-${codec}`);
      const from = p.messages.length;
      for (let i = 0; i < 20; i++) {
        main.server.groups.sendMes({ id: `g2-${codec}`, route: 'r', data: i });
      }
      await p.waitCount(isGroupMessage, 20, from);
      const end = await p.sync();
      const messages = p.messages.slice(from, end);
      assert.equal(messages.length, 20, 'one message per frame');
      assert.ok(messages.every((m) => m.frames.length === 1));
      assert.deepEqual(
        p.framesBetween(from, end),
        Array.from({ length: 20 }, (_, i) => [
          FrameType.GROUP_MESSAGE,
          `g2-${codec}`,
          'r',
          null,
          i,
        ]),
      );
    });

    test(`${codec}: a peer without batch may not send batches (1007, nothing handled)`, async () => {
      const p = await peer({ codec, batch: false });
      const before = state.marks.length;
      p.sendBatch([
        [FrameType.MESSAGE, 0, 'mark', null, `unbatched-${codec}-1`],
        [FrameType.MESSAGE, 0, 'mark', null, `unbatched-${codec}-2`],
      ]);
      assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD);
      assert.equal(state.marks.length, before, 'no frame of the refused message was handled');
    });

    test(`${codec}: a batch peer sends two requests in one message and gets both replies`, async () => {
      const p = await peer({ codec });
      const a = p.allocateId();
      const b = p.allocateId();
      const from = p.messages.length;
      p.sendBatch([
        [FrameType.MESSAGE, a, 'echo', null, { first: codec }],
        [FrameType.MESSAGE, b, 'echo', null, ['second', codec]],
      ]);
      await p.waitFrame((f) => isFrame(f, FrameType.REPLY, b), from);
      assert.deepEqual(p.framesFrom(from), [
        [FrameType.REPLY, a, { first: codec }],
        [FrameType.REPLY, b, ['second', codec]],
      ]);
      assert.equal(p.messages.length - from, 1, 'both replies came in one message');
      assert.ok(p.raw.open);
    });

    test(`${codec}: a batch with a frame that is not a frame gets ERR_BAD_FRAME and goes on`, async () => {
      const p = await peer({ codec });
      const a = p.allocateId();
      const b = p.allocateId();
      const from = p.messages.length;
      p.sendBatch([
        [FrameType.MESSAGE, a, 'echo', null, 'before'],
        5,
        [FrameType.MESSAGE, b, 'echo', null, 'after'],
      ]);
      await p.waitFrame((f) => isFrame(f, FrameType.REPLY, b), from);
      const frames = p.framesFrom(from);
      assert.equal(frames.length, 3);
      assert.deepEqual(frames[0], [FrameType.REPLY, a, 'before']);
      assert.ok(isFrame(frames[1], FrameType.ERROR, 0), 'an ERROR with id 0 for the bad line');
      assert.equal((frames[1] as [number, number, { code: string }])[2].code, ErrorCode.BAD_FRAME);
      assert.deepEqual(frames[2], [FrameType.REPLY, b, 'after']);
      assert.ok(p.raw.open, 'the connection stays open');
      const c = p.allocateId();
      p.send([FrameType.MESSAGE, c, 'echo', null, 'later']);
      assert.deepEqual(await p.waitFrame((f) => isFrame(f, FrameType.REPLY, c), from), [
        FrameType.REPLY,
        c,
        'later',
      ]);
    });
  }

  test('json: a batch with an undecodable line handles the frames before it, then closes 1007', async () => {
    const p = await peer();
    const before = state.marks.length;
    p.raw.sendText(
      `${JSON.stringify([FrameType.MESSAGE, 0, 'mark', null, 'handled-first'])}\n{not json\n${JSON.stringify([FrameType.MESSAGE, 0, 'mark', null, 'never'])}`,
    );
    assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    assert.deepEqual(state.marks.slice(before), ['handled-first']);
  });

  test('json: the reply to a frame before an undecodable line is sent before the close', async () => {
    const p = await peer();
    const id = p.allocateId();
    p.raw.sendText(`${JSON.stringify([FrameType.MESSAGE, id, 'echo', null, 'answered'])}\n[2,`);
    assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    assert.ok(
      p.frames.some((f) => isDeep(f, [FrameType.REPLY, id, 'answered'])),
      'the reply arrived before the close frame',
    );
  });

  test('msgpack: a batch with truncated bytes handles the values before them, then closes 1007', async () => {
    const p = await peer({ codec: 'msgpack' });
    const before = state.marks.length;
    p.raw.sendBinary(
      Buffer.concat([
        rawPackr.pack([FrameType.MESSAGE, 0, 'mark', null, 'mp-handled-first']),
        Buffer.from([0x95, 0x02]),
      ]),
    );
    assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    assert.deepEqual(state.marks.slice(before), ['mp-handled-first']);
  });

  test('msgpack junk on a batch connection: undecodable closes 1007, non-frames get ERR_BAD_FRAME', async () => {
    for (const junk of [[0x92, 0x01], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xa5, 0x61], []]) {
      const p = await peer({ codec: 'msgpack' });
      p.raw.sendBinary(new Uint8Array(junk));
      assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD, `[${junk.join()}]`);
    }
    const survivor = await peer({ codec: 'msgpack' });
    for (const bytes of [[0x2a], [0xc0], [0xa3, 0x61, 0x62, 0x63], [0x80], [0x90]]) {
      const from = survivor.messages.length;
      survivor.raw.sendBinary(new Uint8Array(bytes));
      const frame = (await survivor.waitFrame((f) => isFrame(f, FrameType.ERROR), from)) as [
        number,
        number,
        { code: string },
      ];
      assert.equal(frame[1], 0);
      assert.equal(frame[2].code, ErrorCode.BAD_FRAME, `bytes ${bytes.join(',')}`);
    }
    const id = survivor.allocateId();
    survivor.send([FrameType.MESSAGE, id, 'echo', null, 'alive']);
    assert.deepEqual(await survivor.waitFrame((f) => isFrame(f, FrameType.REPLY, id)), [
      FrameType.REPLY,
      id,
      'alive',
    ]);
  });

  test('invalid UTF-8 anywhere in a batch closes with 1007', async () => {
    const p = await peer();
    p.raw.ws.send(
      Buffer.concat([
        Buffer.from(
          `${JSON.stringify([FrameType.MESSAGE, 0, 'mark', null, 'in-invalid-batch'])}\n`,
        ),
        Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]),
      ]),
      { binary: false },
    );
    // A frame right behind the refused message is not handled either.
    p.raw.sendText(JSON.stringify([FrameType.MESSAGE, 0, 'mark', null, 'after-invalid-utf8']));
    // The peer's socket closes once the server read the peer's close frame, which follows
    // the frame behind the refused message: the server has read (and dropped) that one too.
    assert.equal((await p.raw.waitClose()).code, CloseCode.INVALID_PAYLOAD);
    assert.ok(
      !state.marks.includes('in-invalid-batch'),
      'no frame of the invalid message was handled',
    );
    assert.ok(!state.marks.includes('after-invalid-utf8'), 'nothing after it was handled');
  });

  for (const codec of ['json', 'msgpack'] as const) {
    test(`${codec}: batches never exceed the peer's maxPayload`, async () => {
      const maxPayload = 2000;
      const p = await peer({ codec, maxPayload });
      await p.subscribe(`g5-${codec}`);
      const from = p.messages.length;
      const body = 'x'.repeat(130);
      for (let i = 0; i < 100; i++) {
        main.server.groups.sendMes({ id: `g5-${codec}`, route: 'r', data: `${body}${i}` });
      }
      await p.waitCount(isGroupMessage, 100, from);
      const end = await p.sync();
      const messages = p.messages.slice(from, end);
      for (const message of messages) {
        assert.ok(message.data.length <= maxPayload, `a message of ${message.data.length} bytes`);
      }
      assert.ok(messages.length > 1 && messages.length < 100, `${messages.length} messages`);
      assert.deepEqual(
        p.framesBetween(from, end),
        Array.from({ length: 100 }, (_, i) => [
          FrameType.GROUP_MESSAGE,
          `g5-${codec}`,
          'r',
          null,
          `${body}${i}`,
        ]),
      );
      assert.ok(p.raw.open, 'the ws limit was never hit');
    });
  }

  test('a group message above the batch cap but within maxPayload arrives alone, in order', async () => {
    const p = await peer({ maxPayload: 1024 * 1024 });
    await p.subscribe('g5-big');
    const from = p.messages.length;
    const big = 'x'.repeat(100_000);
    main.server.groups.sendMes({ id: 'g5-big', route: 'r', data: 'a' });
    main.server.groups.sendMes({ id: 'g5-big', route: 'r', data: 'b' });
    main.server.groups.sendMes({ id: 'g5-big', route: 'r', data: big });
    main.server.groups.sendMes({ id: 'g5-big', route: 'r', data: 'c' });
    await p.waitCount(isGroupMessage, 4, from);
    const end = await p.sync();
    assert.deepEqual(
      p.messages.slice(from, end).map((m) => m.frames.map((f) => (f as unknown[])[4])),
      [['a', 'b'], [big], ['c']],
    );
  });

  test('a reply above the batch cap but within maxPayload arrives alone, after the message before it', async () => {
    const p = await peer({ maxPayload: 1024 * 1024 });
    const id = p.allocateId();
    const from = p.messages.length;
    p.send([FrameType.MESSAGE, id, 'bigReply', null, 100_000]);
    await p.waitFrame((f) => isFrame(f, FrameType.REPLY, id), from);
    assert.deepEqual(
      p.messages.slice(from).map((m) => m.frames),
      [[[FrameType.MESSAGE, 0, 'pre', null, 'a']], [[FrameType.REPLY, id, 'x'.repeat(100_000)]]],
    );
  });

  test('group messages of 30 KB ASCII (over a third of the batch cap) share one batch', async () => {
    const p = await peer({ maxPayload: 1024 * 1024 });
    await p.subscribe('g5-large');
    const from = p.messages.length;
    const large = 'x'.repeat(30_000);
    main.server.groups.sendMes({ id: 'g5-large', route: 'r', data: 'a' });
    main.server.groups.sendMes({ id: 'g5-large', route: 'r', data: large });
    main.server.groups.sendMes({ id: 'g5-large', route: 'r', data: 'c' });
    await p.waitCount(isGroupMessage, 3, from);
    const end = await p.sync();
    assert.deepEqual(
      p.messages.slice(from, end).map((m) => m.frames.map((f) => (f as unknown[])[4])),
      [['a', large, 'c']],
    );
  });

  test('a 30 KB ASCII reply shares one batch with the message before it', async () => {
    const p = await peer({ maxPayload: 1024 * 1024 });
    const id = p.allocateId();
    const from = p.messages.length;
    p.send([FrameType.MESSAGE, id, 'bigReply', null, 30_000]);
    await p.waitFrame((f) => isFrame(f, FrameType.REPLY, id), from);
    assert.deepEqual(
      p.messages.slice(from).map((m) => m.frames),
      [
        [
          [FrameType.MESSAGE, 0, 'pre', null, 'a'],
          [FrameType.REPLY, id, 'x'.repeat(30_000)],
        ],
      ],
    );
  });

  test('fan-out to 50 clients and two batch peers: all get 30 messages in order, peers the same bytes', async () => {
    const received = new Map<Client, unknown[]>();
    const clients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const c = new Client({
          url: main.url,
          reconnect: false,
          codec: i % 5 === 0 ? 'msgpack' : 'json',
        });
        const got: unknown[] = [];
        received.set(c, got);
        c.addRoute({ route: 'fan', handler: ({ data }) => void got.push(data) });
        cleanup.add(() => c.stop());
        return within(c.start(), 10_000, 'client start').then(() => c);
      }),
    );
    await Promise.all(clients.map((c) => c.subscribe({ id: 'g6' })));
    const p1 = await peer();
    const p2 = await peer();
    await p1.subscribe('g6');
    await p2.subscribe('g6');
    const from1 = p1.messages.length;
    const from2 = p2.messages.length;
    for (let i = 0; i < 30; i++) main.server.groups.sendMes({ id: 'g6', route: 'fan', data: i });
    const expected = Array.from({ length: 30 }, (_, i) => i);
    await waitFor(
      () => clients.every((c) => (received.get(c)?.length ?? 0) >= 30),
      15_000,
      '30 messages at every client',
    );
    for (const c of clients) assert.deepEqual(received.get(c), expected, c.id);
    await p1.waitCount(isGroupMessage, 30, from1);
    await p2.waitCount(isGroupMessage, 30, from2);
    const m1 = p1.messages.slice(from1);
    const m2 = p2.messages.slice(from2);
    assert.equal(m1.length, 1, 'one batch');
    assert.equal(m2.length, 1, 'one batch');
    assert.ok(m1[0]?.data.equals(m2[0]?.data ?? Buffer.alloc(0)), 'byte-identical batches');
    assert.deepEqual(
      m1[0]?.frames.map((f) => (f as unknown[])[4]),
      expected,
    );
  });

  test("a client's messages of one tick leave as one WebSocket message and all are answered", async () => {
    const tap = await wireTap(main);
    cleanup.add(() => tap.stop());
    const c = await client({}, tap.url);
    // A round trip: whatever the client sent on connecting is before `from`.
    await c.sendMes({ route: 'echo', data: 'ready', awaitRes: true });
    const from = tap.toServer.length;
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.sendMes({ route: 'echo', data: i, awaitRes: true })),
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 20 }, (_, i) => i),
    );
    const sent = dataFrames(tap.toServer, from);
    assert.equal(sent.length, 1, 'the 20 requests left as one message');
    assert.equal(sent[0]?.payload.toString().split('\n').length, 20);
  });

  test('frames of all kinds sent in one tick arrive in send order (raw peer)', async () => {
    const p = await peer();
    await p.subscribe('mixA');
    const id = p.allocateId();
    const from = p.messages.length;
    p.send([FrameType.MESSAGE, id, 'mix', null, null]);
    await p.waitFrame((f) => isFrame(f, FrameType.REPLY, id), from);
    const end = await p.sync();
    assert.deepEqual(p.framesBetween(from, end), [
      [FrameType.GROUP_MESSAGE, 'mixA', 'gA', null, 1],
      [FrameType.MESSAGE, 0, 'direct', null, 2],
      [FrameType.MEMBERSHIP, 'mixB', true],
      [FrameType.GROUP_MESSAGE, 'mixB', 'gB', null, 3],
      [FrameType.REPLY, id, 4],
    ]);
    assert.equal(end - from, 1, 'all in one batch');
  });

  test('frames of all kinds sent in one tick arrive in send order (Client)', async () => {
    const events: string[] = [];
    const c = new Client({ url: main.url, reconnect: false });
    c.addRoute({ route: 'gA', handler: ({ data }) => void events.push(`gA ${String(data)}`) });
    c.addRoute({
      route: 'direct',
      handler: ({ data }) => void events.push(`direct ${String(data)}`),
    });
    c.addRoute({
      route: 'gB',
      handler: ({ data }) =>
        void events.push(`gB ${String(data)} member=${String(c.getMyGroups().includes('mixB'))}`),
    });
    cleanup.add(() => c.stop());
    await within(c.start(), 5000, 'client start');
    await c.subscribe({ id: 'mixA' });
    const reply = await c.sendMes({ route: 'mix', awaitRes: true });
    events.push(`reply ${String(reply)}`);
    assert.deepEqual(events, ['gA 1', 'direct 2', 'gB 3 member=true', 'reply 4']);
  });

  test('a message sent just before the connection is closed arrives before the close', async () => {
    const p = await peer();
    p.send([FrameType.MESSAGE, 0, 'bye', null, 'see you']);
    const closed = await p.raw.waitClose();
    assert.deepEqual(closed, { code: 4001, reason: 'bye' });
    assert.ok(
      p.frames.some((f) => isDeep(f, [FrameType.MESSAGE, 0, 'farewell', null, 'see you'])),
      'the message came before the close frame',
    );
  });

  test('a group message published just before the connection is closed arrives before the close', async () => {
    const p = await peer();
    await p.subscribe('byeGroup');
    p.send([FrameType.MESSAGE, 0, 'byeGroup', null, null]);
    const closed = await p.raw.waitClose();
    assert.deepEqual(closed, { code: 4002, reason: 'bye group' });
    assert.ok(
      p.frames.some((f) => isDeep(f, [FrameType.GROUP_MESSAGE, 'byeGroup', 'last', null, 'group'])),
      'the group message came before the close frame',
    );
  });

  test('the server did not report unexpected errors for well-formed batches', () => {
    // Errors are expected only from the peers that sent bad input on purpose.
    for (const error of serverErrors) {
      assert.ok(error instanceof ProtocolError, `unexpected server error: ${error.message}`);
    }
  });
});

describe('WELCOME sharing a batch with the frames behind it', LONG, () => {
  const secret = 'another-long-shared-secret-for-batch-tests';

  /** A server whose 'connection' listener greets, subscribes and publishes in WELCOME's tick. */
  async function greetingServer(): Promise<StartedServer> {
    return startServer({ serverSecret: secret }, (server) => {
      server.on('connection', ({ ws }) => {
        void ws.sendMes({ route: 'hi', data: 'hello' });
        server.groups.addSubscriber({ id: 'lobby', ws });
        server.groups.sendMes({ id: 'lobby', route: 'lobby', data: ws.id });
      });
    });
  }

  test('a raw batch peer gets WELCOME and the frames of its tick in one message', async () => {
    const started = await greetingServer();
    try {
      const p = await batchPeer(started.url);
      await p.waitFrame(isGroupMessage);
      const [first] = p.messages;
      const connectionId = p.welcome?.connectionId;
      assert.ok(first !== undefined && typeof connectionId === 'string');
      assert.deepEqual(first.frames.slice(1), [
        [FrameType.MESSAGE, 0, 'hi', null, 'hello'],
        [FrameType.MEMBERSHIP, 'lobby', true],
        [FrameType.GROUP_MESSAGE, 'lobby', 'lobby', null, connectionId],
      ]);
      assert.ok(isFrame(first.frames[0], FrameType.WELCOME), 'WELCOME first, in the same message');
      p.raw.terminate();
    } finally {
      await started.server.stop();
    }
  });

  for (const variant of ['json', 'msgpack', 'json with serverSecret'] as const) {
    test(`a Client (${variant}) handles the frames behind WELCOME`, async () => {
      const started = await greetingServer();
      const c = new Client({
        url: started.url,
        reconnect: false,
        codec: variant === 'msgpack' ? 'msgpack' : 'json',
        ...(variant === 'json with serverSecret' ? { serverSecret: secret } : {}),
      });
      const got: string[] = [];
      c.addRoute({ route: 'hi', handler: ({ data }) => void got.push(`hi ${String(data)}`) });
      c.addRoute({
        route: 'lobby',
        handler: ({ data }) => void got.push(`lobby ${String(data === c.getInfo().connectionId)}`),
      });
      const errors: Error[] = [];
      c.on('error', ({ error }) => errors.push(error));
      try {
        await within(c.start(), 5000, 'client start');
        await waitFor(() => got.length >= 2, 5000, 'greetings');
        assert.deepEqual(got, ['hi hello', 'lobby true']);
        assert.deepEqual(c.getMyGroups(), ['lobby']);
        assert.deepEqual(errors, []);
      } finally {
        await c.stop();
        await started.server.stop();
      }
    });
  }
});

describe('batches and encryption', LONG, () => {
  const secret = 'a-long-shared-secret-for-batch-tests';

  test('an encrypting client does not announce batch and gets 20 messages of a tick one by one', async () => {
    const started = await startServer({ serverSecret: secret, encryption: true });
    const tap = await wireTap(started);
    const plainTap = await wireTap(started);
    const got: unknown[] = [];
    const plainGot: unknown[] = [];
    let encrypted: Client | undefined;
    let plain: Client | undefined;
    started.server.addRoute({ route: 'echo', handler: ({ data }) => data });
    try {
      encrypted = await startClient(tap.url, { serverSecret: secret, encryption: true });
      encrypted.addRoute({ route: 'r', handler: ({ data }) => void got.push(data) });
      await encrypted.subscribe({ id: 'enc' });
      // Control: a client in clear through an identical tap batches.
      plain = await startClient(plainTap.url, { serverSecret: secret });
      plain.addRoute({ route: 'r', handler: ({ data }) => void plainGot.push(data) });
      await plain.subscribe({ id: 'enc' });

      const [hello] = dataFrames(tap.toServer);
      const welcome = dataFrames(tap.toClient).find((frame) =>
        frame.payload.toString().startsWith(`[${FrameType.WELCOME},`),
      );
      const helloBody = (JSON.parse(hello?.payload.toString() ?? '[]') as unknown[])[1] as Record<
        string,
        unknown
      >;
      const welcomeBody = (JSON.parse(welcome?.payload.toString() ?? '[]') as unknown[])[1] as
        Record<string, unknown> | undefined;
      assert.equal(helloBody.enc, 'aes-256-gcm');
      assert.equal(helloBody.batch, undefined, 'HELLO does not announce batch');
      assert.equal(welcomeBody?.enc, 'aes-256-gcm');
      assert.equal(welcomeBody?.batch, undefined, 'WELCOME does not say batch');
      const [plainHello] = dataFrames(plainTap.toServer);
      const plainHelloBody = (
        JSON.parse(plainHello?.payload.toString() ?? '[]') as unknown[]
      )[1] as Record<string, unknown> | undefined;
      assert.equal(plainHelloBody?.batch, true, 'control: a clear client announces batch');

      // Round trips: the frames of the subscriptions are before `from`.
      await encrypted.sendMes({ route: 'echo', awaitRes: true });
      await plain.sendMes({ route: 'echo', awaitRes: true });
      const from = tap.toClient.length;
      const plainFrom = plainTap.toClient.length;
      for (let i = 0; i < 20; i++)
        started.server.groups.sendMes({ id: 'enc', route: 'r', data: i });
      const expected = Array.from({ length: 20 }, (_, i) => i);
      await waitFor(() => got.length >= 20 && plainGot.length >= 20, 5000, '20 messages');
      assert.deepEqual(got, expected);
      assert.deepEqual(plainGot, expected);
      // Round trips again: the reply is the one message after those of the tick.
      await encrypted.sendMes({ route: 'echo', awaitRes: true });
      await plain.sendMes({ route: 'echo', awaitRes: true });
      assert.equal(
        dataFrames(tap.toClient, from).length,
        20 + 1,
        'one message per frame when encrypted',
      );
      assert.equal(
        dataFrames(plainTap.toClient, plainFrom).length,
        1 + 1,
        'control: one batch in clear',
      );
      // The encrypted client's own requests of one tick are not batched either.
      const sentFrom = tap.toServer.length;
      const replies = await Promise.all(
        expected.map((i) => encrypted?.sendMes({ route: 'echo', data: i, awaitRes: true })),
      );
      assert.deepEqual(replies, expected);
      assert.equal(dataFrames(tap.toServer, sentFrom).length, 20);
    } finally {
      await stopAll(encrypted, plain);
      await tap.stop();
      await plainTap.stop();
      await started.server.stop();
    }
  });

  test('a raw peer announcing batch together with enc gets no batch: one sealed frame per message', async () => {
    const started = await startServer({ serverSecret: secret, encryption: true });
    try {
      const id = 'enc-raw-batch';
      const outcome = await rawHandshake(started.url, {
        id,
        kind: 'client',
        secret,
        enc: true,
        batch: true,
      });
      const raw = outcome.peer;
      const salt = `${outcome.peerNonce ?? ''}|${outcome.challenge?.nonce ?? ''}`;
      // Sealed frames open once, in order (one counter per direction): open each on arrival.
      const cipher = nodeCipherFactory(secret, salt, String(raw.welcome?.serverId), id, 'dialing');
      const messages: Buffer[] = [];
      const opened: unknown[] = [];
      raw.ws.on('message', (data: Buffer) => {
        messages.push(data);
        const plain = cipher.open(data);
        opened.push(
          plain === undefined ? undefined : JSON.parse(Buffer.from(plain).toString('utf8')),
        );
      });
      const welcome = raw.welcome ?? {};
      assert.equal(welcome.enc, 'aes-256-gcm');
      assert.equal(welcome.batch, undefined, 'no batch with enc');
      const open = (data: Buffer): unknown => opened[messages.indexOf(data)];
      raw.sendBinary(cipher.seal(Buffer.from(JSON.stringify([FrameType.SUBSCRIBE, 1, 'encRaw']))));
      await waitFor(
        () =>
          messages.some((m) => isDeep(open(m), [FrameType.REPLY, 1, true])) &&
          messages.some((m) => isDeep(open(m), [FrameType.MEMBERSHIP, 'encRaw', true])),
        5000,
        'subscribed',
      );
      const from = messages.length;
      for (let i = 0; i < 20; i++) {
        started.server.groups.sendMes({ id: 'encRaw', route: 'r', data: i });
      }
      await waitFor(() => messages.length - from >= 20, 5000, '20 messages');
      // A request to no route: its ERROR comes after anything else the server sent.
      raw.sendBinary(
        cipher.seal(Buffer.from(JSON.stringify([FrameType.MESSAGE, 2, 'none', null, 0]))),
      );
      await waitFor(
        () => messages.some((m) => isFrame(open(m), FrameType.ERROR, 2)),
        5000,
        'marker',
      );
      assert.deepEqual(
        messages.slice(from, -1).map(open),
        Array.from({ length: 20 }, (_, i) => [FrameType.GROUP_MESSAGE, 'encRaw', 'r', null, i]),
      );
      assert.ok(raw.open);
      raw.terminate();
    } finally {
      await started.server.stop();
    }
  });
});

describe('invalid UTF-8 from a server', LONG, () => {
  test('a Client fails the connection with 1007', async () => {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('wsmesh.v1.json') ? 'wsmesh.v1.json' : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const serverSeen = new Promise<number>((resolve) => {
      wss.on('connection', (ws) => {
        ws.on('close', (code: number) => resolve(code));
        ws.once('message', () => {
          ws.send(
            JSON.stringify([
              FrameType.WELCOME,
              { v: 1, serverId: 'x', connectionId: 'c', maxPayload: 1024 * 1024 },
            ]),
          );
          // A well-formed MESSAGE frame but for one byte that is not UTF-8 (in a string, so a
          // lenient decoder would turn it into U+FFFD and route the message).
          const bytes = Buffer.concat([
            Buffer.from('[2,0,"utf8",null,"'),
            Buffer.from([0xff]),
            Buffer.from('"]'),
          ]);
          setTimeout(() => {
            ws.send(bytes, { binary: false });
            // Nothing after the bad message is handled either.
            ws.send('[2,0,"after",null,"x"]');
          }, 20);
        });
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    const c = new Client({ url, reconnect: false });
    const closes: number[] = [];
    const routed: unknown[] = [];
    const errors: Error[] = [];
    c.addRoute({ route: 'utf8', handler: ({ data }) => void routed.push(data) });
    c.addRoute({ route: 'after', handler: ({ data }) => void routed.push(data) });
    c.on('close', ({ code }) => closes.push(code));
    c.on('error', ({ error }) => errors.push(error));
    try {
      await within(c.start(), 5000, 'client start');
      assert.equal(await within(serverSeen, 5000, 'close at the server'), 1007);
      await waitFor(() => closes.length > 0, 5000, 'client close event');
      assert.deepEqual(closes, [1007]);
      assert.equal(c.connected, false);
      assert.deepEqual(routed, [], 'neither the invalid message nor the next one was handled');
      assert.ok(
        errors.some((error) => error instanceof ProtocolError && error.code === 'ERR_BAD_FRAME'),
        `an ERR_BAD_FRAME error was reported (got ${errors.map((error) => error.message).join('; ')})`,
      );
    } finally {
      await c.stop();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

/** Deep equality as a boolean. */
function isDeep(actual: unknown, expected: unknown): boolean {
  try {
    assert.deepStrictEqual(actual, expected);
    return true;
  } catch {
    return false;
  }
}
