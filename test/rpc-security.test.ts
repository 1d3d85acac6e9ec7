/**
 * RPC security over real sockets (docs/rpc.md "Security", issue 5 item 6): the server secret is
 * proved with an HMAC over id, timestamp and nonce and never crosses the wire; wrong, missing,
 * tampered, stale and replayed proofs are refused with close code 4003; the proxy checks the
 * server's proof in WELCOME and refuses an impostor.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createServer as createNetServer,
  connect as netConnect,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket as ServerSideWebSocket } from 'ws';
import {
  AuthError,
  Client,
  CloseCode,
  ErrorCode,
  FrameType,
  PROTOCOL_VERSION,
  RpcProxy,
  Subprotocol,
  type Server,
} from '../src/index.js';
import { connectRaw, isFrame, startServer, stopAll, waitFor, within } from './helpers.js';
import { collect, rejectsWith, since } from './rpc-helpers.js';
import { hmac, rawHandshake, type RawOutcome } from './trust-helpers.js';

const SECRET = 'correct horse battery staple 8220';

function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

type SecureApi = {
  add(a: number, b: number): number;
  count: typeof count;
};

function share(server: Server): void {
  server.origin(
    function add(a: number, b: number) {
      return a + b;
    },
    { namespace: 'secure' },
  );
  server.origin(count, { namespace: 'secure' });
}

/** The accepting side's proof in CHALLENGE (PROTOCOL.md 2.1). */
function serverProofFor(
  secret: string,
  serverId: string,
  kind: string,
  peerId: string,
  peerNonce: string,
  serverNonce: string,
): string {
  return hmac(secret, `wsmesh-v2|server|${serverId}|${kind}|${peerId}|${peerNonce}|${serverNonce}`);
}

/** Asserts that the server refused a handshake: an ERR_AUTH error frame, then close 4003. */
function assertRefused(outcome: RawOutcome, label: string): void {
  outcome.peer.terminate();
  assert.equal(outcome.welcomed, false, `${label}: no WELCOME`);
  assert.equal(outcome.closeCode, CloseCode.AUTH_FAILED, `${label}: closed with 4003`);
  assert.equal(outcome.errorCode, ErrorCode.AUTH, `${label}: an ERR_AUTH frame came first`);
  assert.ok(
    !outcome.peer.frames.some((frame) => isFrame(frame, FrameType.REPLY)),
    `${label}: nothing was answered`,
  );
}

// -------------------------------------------------------------------------------------------
// A recording TCP proxy, with just enough of RFC 6455 to read (and unmask) the frames.
// -------------------------------------------------------------------------------------------

/** One WebSocket message seen on the wire. */
interface WireMessage {
  opcode: number;
  payload: Buffer;
}

/** Decodes the WebSocket frames of one direction (after the HTTP upgrade head). */
function decodeWebSocketFrames(bytes: Buffer): WireMessage[] {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return [];
  let offset = headEnd + 4;
  const messages: WireMessage[] = [];
  let partial: { opcode: number; parts: Buffer[] } | undefined;
  while (offset + 2 <= bytes.length) {
    const first = bytes.readUInt8(offset);
    const second = bytes.readUInt8(offset + 1);
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    let length = second & 0x7f;
    let cursor = offset + 2;
    if (length === 126) {
      if (cursor + 2 > bytes.length) break;
      length = bytes.readUInt16BE(cursor);
      cursor += 2;
    } else if (length === 127) {
      if (cursor + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(cursor));
      cursor += 8;
    }
    const mask = masked ? bytes.subarray(cursor, cursor + 4) : undefined;
    if (masked) cursor += 4;
    if (cursor + length > bytes.length) break;
    const payload = Buffer.from(bytes.subarray(cursor, cursor + length));
    if (mask !== undefined) {
      for (let index = 0; index < payload.length; index++) {
        payload.writeUInt8(payload.readUInt8(index) ^ (mask.readUInt8(index % 4) ?? 0), index);
      }
    }
    offset = cursor + length;
    if (opcode === 0 && partial !== undefined) partial.parts.push(payload);
    else if (opcode !== 0) partial = { opcode, parts: [payload] };
    if (fin && partial !== undefined) {
      messages.push({ opcode: partial.opcode, payload: Buffer.concat(partial.parts) });
      partial = undefined;
    }
  }
  return messages;
}

/** A TCP proxy in front of `targetPort` that records every byte, per connection and direction. */
class RecordingProxy {
  readonly connections: { toServer: Buffer[]; toClient: Buffer[] }[] = [];
  private readonly sockets = new Set<Socket>();
  private server: NetServer | undefined;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = createNetServer((downstream) => {
      const record = { toServer: [] as Buffer[], toClient: [] as Buffer[] };
      this.connections.push(record);
      const upstream = netConnect(this.targetPort, '127.0.0.1');
      for (const socket of [downstream, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      downstream.on('data', (chunk: Buffer) => {
        record.toServer.push(chunk);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        record.toClient.push(chunk);
        downstream.write(chunk);
      });
      downstream.on('end', () => upstream.end());
      upstream.on('end', () => downstream.end());
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  /** All bytes of one direction, over every connection. */
  bytes(direction: 'toServer' | 'toClient'): Buffer {
    return Buffer.concat(this.connections.flatMap((record) => record[direction]));
  }

  /** Decoded text messages of one direction, over every connection. */
  texts(direction: 'toServer' | 'toClient'): string[] {
    return this.connections.flatMap((record) =>
      decodeWebSocketFrames(Buffer.concat(record[direction]))
        .filter((message) => message.opcode === 1)
        .map((message) => message.payload.toString('utf8')),
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// -------------------------------------------------------------------------------------------

describe('serverSecret: proxies that do not know it', () => {
  let server: Server;
  let url: string;
  const authErrors: Error[] = [];

  before(async () => {
    ({ server, url } = await startServer({ serverSecret: SECRET }, share));
    server.on('error', ({ error }) => {
      if (error instanceof AuthError) authErrors.push(error);
    });
  });
  after(async () => {
    await stopAll(server);
  });

  test('a wrong secret rejects RpcProxy.create with AuthError quickly', async () => {
    const started = Date.now();
    const error = await within(
      rejectsWith(
        RpcProxy.create({ url, serverSecret: 'not the secret', namespace: 'secure' }),
        AuthError,
        ErrorCode.AUTH,
      ),
      5000,
      'RpcProxy.create with a wrong secret',
    );
    assert.ok(since(started) < 3000, `took ${since(started)} ms`);
    assert.ok(!error.message.includes(SECRET));
    // The proxy refuses first: the server's CHALLENGE proof does not match its secret, so it
    // sends no AUTH at all.
    assert.match(error.message, /did not prove the server secret/);
    assert.ok(authErrors.every((entry) => !entry.message.includes(SECRET)));
    await waitFor(() => server.clients.size === 0, 3000, 'the refused connection is gone');
  });

  test('a missing secret rejects with AuthError quickly', async () => {
    const started = Date.now();
    await within(
      rejectsWith(RpcProxy.create({ url, namespace: 'secure' }), AuthError, ErrorCode.AUTH),
      5000,
      'RpcProxy.create without a secret',
    );
    assert.ok(since(started) < 3000, `took ${since(started)} ms`);
  });

  test('a Client with a wrong secret is refused too (AuthError, no reconnect loop)', async () => {
    const client = new Client({ url, serverSecret: 'wrong', reconnectTimeout: 50 });
    try {
      const started = Date.now();
      await within(rejectsWith(client.start(), AuthError, ErrorCode.AUTH), 5000, 'client.start()');
      assert.ok(since(started) < 3000);
      assert.equal(client.getInfo().state, 'stopped');
    } finally {
      await client.stop();
    }
  });

  test('the right secret works', async () => {
    const proxy = await RpcProxy.create<SecureApi>({
      url,
      serverSecret: SECRET,
      namespace: 'secure',
    });
    try {
      assert.equal(await proxy.add(2, 2), 4);
      assert.deepEqual(await collect(proxy.count(3)), [0, 1, 2]);
    } finally {
      await proxy.close();
    }
  });

  test('the secret does not appear in the server log', async () => {
    const lines: string[] = [];
    const original = {
      log: console.log,
      error: console.error,
      warn: console.warn,
      info: console.info,
    };
    const capture =
      (name: keyof typeof original) =>
      (...args: unknown[]): void => {
        lines.push(
          `${name} ${args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ')}`,
        );
      };
    console.log = capture('log');
    console.error = capture('error');
    console.warn = capture('warn');
    console.info = capture('info');
    let loud: Server | undefined;
    try {
      const started = await startServer({ serverSecret: SECRET, silent: false }, share);
      loud = started.server;
      const loudUrl = started.url;
      await rejectsWith(
        RpcProxy.create({ url: loudUrl, serverSecret: 'nope', namespace: 'secure' }),
        AuthError,
      );
      const proxy = await RpcProxy.create<SecureApi>({
        url: loudUrl,
        serverSecret: SECRET,
        namespace: 'secure',
      });
      assert.equal(await proxy.add(1, 1), 2);
      await proxy.close();
    } finally {
      await loud?.stop();
      console.log = original.log;
      console.error = original.error;
      console.warn = original.warn;
      console.info = original.info;
    }
    assert.ok(
      lines.some((line) => line.includes('started')),
      'the start line was captured',
    );
    assert.ok(lines.length > 0, 'the server did log');
    const leaked = lines.filter(
      (line) => line.includes(SECRET) || line.includes(Buffer.from(SECRET).toString('base64')),
    );
    assert.deepEqual(leaked, []);
  });
});

describe('arguments are data only', () => {
  test('a __proto__ key in JSON arguments pollutes nothing', async () => {
    const seen: unknown[] = [];
    const { server, url } = await startServer({}, (s) => {
      s.origin(
        function inspect(value: Record<string, unknown>) {
          seen.push(value);
          return {
            ownKeys: Object.keys(value),
            prototypeIsObject: Object.getPrototypeOf(value) === Object.prototype,
            polluted: ({} as Record<string, unknown>).polluted ?? null,
          };
        },
        { namespace: 'data' },
      );
    });
    const raw = await connectRaw(url);
    try {
      raw.sendText(
        `[${FrameType.RPC_CALL},1,"data","inspect",[{"__proto__":{"polluted":true},"plain":1}]]`,
      );
      const reply = (await raw.waitForFrame((frame) =>
        isFrame(frame, FrameType.REPLY, 1),
      )) as unknown[];
      assert.deepEqual(reply[2], {
        ownKeys: ['__proto__', 'plain'],
        prototypeIsObject: true,
        polluted: null,
      });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(seen.length, 1);
    } finally {
      raw.terminate();
      await server.stop();
    }
  });
});

describe('a server without serverSecret', () => {
  test('accepts proxies and raw peers of any kind, with or without proofs', async () => {
    const { server, url } = await startServer({}, share);
    try {
      const proxy = await RpcProxy.create<SecureApi>({ url, namespace: 'secure' });
      assert.equal(await proxy.add(1, 2), 3);
      await proxy.close();
      const garbage = await connectRaw(url, {
        hello: { v: PROTOCOL_VERSION, id: 'garbage', kind: 'rpc', auth: { whatever: true } },
      });
      // An unknown HELLO field (the version-1 `auth`) is ignored.
      garbage.send([FrameType.RPC_CALL, 1, 'secure', 'add', [20, 22]]);
      const reply = await garbage.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 1));
      assert.deepEqual(reply, [FrameType.REPLY, 1, 42]);
      assert.equal(garbage.welcome?.auth, undefined, 'no proof is claimed');
      garbage.terminate();
      // A proxy that expects a secret refuses a server that cannot prove it.
      await rejectsWith(
        RpcProxy.create({ url, serverSecret: SECRET, namespace: 'secure' }),
        AuthError,
        ErrorCode.AUTH,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('the secret never crosses the wire', () => {
  test('frames in both directions carry no secret (plain, base64 or base64url)', async () => {
    const { server } = await startServer({ serverSecret: SECRET }, share);
    const port = server.port;
    assert.ok(port !== undefined);
    const recorder = new RecordingProxy(port);
    await recorder.start();
    try {
      const viaRecorder = `ws://127.0.0.1:${recorder.port}/`;
      const proxy = await RpcProxy.create<SecureApi>({
        url: viaRecorder,
        serverSecret: SECRET,
        namespace: 'secure',
      });
      assert.equal(await proxy.add(40, 2), 42);
      assert.deepEqual(await collect(proxy.count(5)), [0, 1, 2, 3, 4]);
      await proxy.close();
      const client = new Client({ url: viaRecorder, serverSecret: SECRET, reconnect: false });
      await client.start();
      const tools = await client.rpc<SecureApi>('secure');
      assert.equal(await tools.add(1, 1), 2);
      await client.stop();
      await rejectsWith(
        RpcProxy.create({ url: viaRecorder, serverSecret: 'wrong', namespace: 'secure' }),
        AuthError,
      );

      const toServer = recorder.texts('toServer');
      const toClient = recorder.texts('toClient');
      // The decoder works: the handshakes and calls are visible in clear.
      const hellos = toServer.filter((text) => text.startsWith(`[${FrameType.HELLO},`));
      assert.equal(hellos.length, 3);
      assert.ok(hellos.every((text) => text.includes('"challenge"')));
      assert.equal(
        toServer.filter(
          (text) => text.startsWith(`[${FrameType.AUTH},`) && text.includes('"proof"'),
        ).length,
        2,
        'two AUTH proofs: the proxy with a wrong secret sent none',
      );
      assert.ok(toServer.some((text) => text.startsWith(`[${FrameType.RPC_CALL},`)));
      assert.ok(
        toClient.some(
          (text) => text.startsWith(`[${FrameType.CHALLENGE},`) && text.includes('"proof"'),
        ),
      );
      assert.ok(toClient.some((text) => text.startsWith(`[${FrameType.RPC_ITEMS},`)));

      const forms = [
        SECRET,
        Buffer.from(SECRET).toString('base64'),
        Buffer.from(SECRET).toString('base64url'),
        Buffer.from(SECRET).toString('hex'),
        encodeURIComponent(SECRET),
      ];
      for (const form of forms) {
        for (const text of [...toServer, ...toClient]) {
          assert.ok(!text.includes(form), `a frame contains the secret (${form})`);
        }
        for (const direction of ['toServer', 'toClient'] as const) {
          assert.ok(
            !recorder.bytes(direction).includes(form),
            `${direction} bytes contain the secret (${form})`,
          );
        }
      }
    } finally {
      await recorder.stop();
      await server.stop();
    }
  });
});

describe('handshake proofs', () => {
  let server: Server;
  let sibling: Server;
  let url: string;
  let siblingUrl: string;
  let recorder: RecordingProxy;

  before(async () => {
    ({ server, url } = await startServer({ serverSecret: SECRET }, share));
    ({ server: sibling, url: siblingUrl } = await startServer({ serverSecret: SECRET }, share));
    const port = server.port;
    assert.ok(port !== undefined);
    recorder = new RecordingProxy(port);
    await recorder.start();
  });
  after(async () => {
    await recorder.stop();
    await stopAll(server, sibling);
  });

  test('a correct proof is welcomed; CHALLENGE carries the server proof over both nonces', async () => {
    const id = `raw-${randomBytes(4).toString('hex')}`;
    const outcome = await rawHandshake(url, { id, kind: 'rpc', secret: SECRET });
    try {
      assert.ok(outcome.welcomed, 'welcomed');
      const challenge = outcome.challenge;
      assert.ok(challenge !== undefined);
      assert.equal(challenge.serverId, server.id);
      assert.equal(
        challenge.proof,
        serverProofFor(SECRET, server.id, 'rpc', id, outcome.peerNonce ?? '', challenge.nonce),
      );
      outcome.peer.send([FrameType.RPC_CALL, 1, 'secure', 'add', [1, 2]]);
      assert.deepEqual(
        await outcome.peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 1)),
        [FrameType.REPLY, 1, 3],
      );
    } finally {
      outcome.peer.terminate();
    }
  });

  test('a captured handshake replayed to the same server or a sibling with the same secret is refused', async () => {
    const viaRecorder = `ws://127.0.0.1:${recorder.port}/`;
    const before = recorder.connections.length;
    const proxy = await RpcProxy.create<SecureApi>({
      url: viaRecorder,
      serverSecret: SECRET,
      namespace: 'secure',
    });
    let hello: { id: string; kind: 'rpc'; challenge: string } | undefined;
    let proof: string | undefined;
    try {
      assert.equal(await proxy.add(1, 2), 3);
      const record = recorder.connections[before];
      assert.ok(record !== undefined);
      const texts = decodeWebSocketFrames(Buffer.concat(record.toServer)).map((message) =>
        message.payload.toString('utf8'),
      );
      const helloText = texts.find((text) => text.startsWith(`[${FrameType.HELLO},`));
      const authText = texts.find((text) => text.startsWith(`[${FrameType.AUTH},`));
      assert.ok(helloText !== undefined && authText !== undefined, 'HELLO and AUTH captured');
      hello = (JSON.parse(helloText) as [number, typeof hello])[1];
      proof = (JSON.parse(authText) as [number, { proof: string }])[1].proof;
      assert.ok(hello !== undefined);
      const replay = { id: hello.id, kind: hello.kind, challenge: hello.challenge, proof };
      assertRefused(await rawHandshake(url, replay), 'replay while the original is connected');
      assertRefused(await rawHandshake(siblingUrl, replay), 'replay to a sibling');
    } finally {
      await proxy.close();
    }
    assert.ok(hello !== undefined && proof !== undefined);
    const replay = { id: hello.id, kind: hello.kind, challenge: hello.challenge, proof };
    assertRefused(await rawHandshake(url, replay), 'replay after the original left');
  });

  test('a tampered proof, or one for another id, kind or secret, is refused (4003)', async () => {
    const id = `raw-${randomBytes(4).toString('hex')}`;
    assertRefused(
      await rawHandshake(url, { id, kind: 'rpc', secret: `${SECRET}!` }),
      'proof made with another secret',
    );
    assertRefused(
      await rawHandshake(url, { id, kind: 'rpc', proof: 'A'.repeat(43) }),
      'made-up proof',
    );
    assertRefused(await rawHandshake(url, { id, kind: 'rpc', proof: '' }), 'empty proof');
    assertRefused(await rawHandshake(url, { id, kind: 'rpc' }), 'no challenge, no proof');
    const outcome = await rawHandshake(url, { id, kind: 'rpc', secret: SECRET });
    outcome.peer.terminate();
    assert.ok(outcome.welcomed, 'the honest peer is accepted');
  });
});

describe('the proxy checks the server', () => {
  /** A fake wsmesh server that answers HELLO with a CHALLENGE of its choosing. */
  async function fakeServer(
    answer: (hello: { id: string; challenge?: string }) => Record<string, unknown> | undefined,
  ): Promise<{ url: string; received: unknown[]; close: () => Promise<void> }> {
    const received: unknown[] = [];
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (protocols) => (protocols.has(Subprotocol.json) ? Subprotocol.json : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const welcome = {
      v: PROTOCOL_VERSION,
      serverId: 'impostor',
      connectionId: 'conn-1',
      maxPayload: 1024 * 1024,
    };
    wss.on('connection', (ws: ServerSideWebSocket) => {
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as unknown[];
        received.push(frame);
        if (frame[0] === FrameType.HELLO) {
          const challenge = answer(frame[1] as { id: string; challenge?: string });
          ws.send(
            JSON.stringify(
              challenge === undefined
                ? [FrameType.WELCOME, welcome]
                : [FrameType.CHALLENGE, challenge],
            ),
          );
        } else if (frame[0] === FrameType.AUTH) {
          ws.send(JSON.stringify([FrameType.WELCOME, welcome]));
        } else if (frame[0] === FrameType.RPC_LIST) {
          ws.send(
            JSON.stringify([FrameType.REPLY, frame[1], { namespace: frame[2], functions: [] }]),
          );
        }
      });
    });
    const { port } = wss.address() as AddressInfo;
    return {
      url: `ws://127.0.0.1:${port}/`,
      received,
      close: () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) ws.terminate();
          wss.close(() => resolve());
        }),
    };
  }

  const serverNonce = randomBytes(18).toString('base64url');
  const challengeWith = (proof: string): Record<string, unknown> => ({
    serverId: 'impostor',
    nonce: serverNonce,
    proof,
  });
  const impostors: [
    string,
    (hello: { id: string; challenge?: string }) => Record<string, unknown> | undefined,
  ][] = [
    ['WELCOME without any CHALLENGE', () => undefined],
    ['a CHALLENGE without proof', () => ({ serverId: 'impostor', nonce: serverNonce })],
    ['a made-up proof', () => challengeWith('A'.repeat(43))],
    [
      'a proof made with another secret',
      (hello) =>
        challengeWith(
          serverProofFor('guess', 'impostor', 'rpc', hello.id, hello.challenge ?? '', serverNonce),
        ),
    ],
    [
      'a proof over another nonce',
      (hello) =>
        challengeWith(
          serverProofFor(SECRET, 'impostor', 'rpc', hello.id, 'some-other-nonce-123', serverNonce),
        ),
    ],
    [
      'a proof for another server id',
      (hello) =>
        challengeWith(
          serverProofFor(
            SECRET,
            'real-server',
            'rpc',
            hello.id,
            hello.challenge ?? '',
            serverNonce,
          ),
        ),
    ],
  ];

  for (const [label, answer] of impostors) {
    test(`a server answering with ${label} is refused with AuthError, and gets no AUTH`, async () => {
      const fake = await fakeServer(answer);
      try {
        const started = Date.now();
        await within(
          rejectsWith(
            RpcProxy.create({ url: fake.url, serverSecret: SECRET, namespace: 'secure' }),
            AuthError,
            ErrorCode.AUTH,
          ),
          5000,
          'RpcProxy.create against an impostor',
        );
        assert.ok(since(started) < 3000);
        assert.deepEqual(
          fake.received.map((frame) => (frame as unknown[])[0]),
          [FrameType.HELLO],
          'nothing but HELLO was sent to the impostor',
        );
      } finally {
        await fake.close();
      }
    });
  }

  test('a (fake) server that proves the secret is accepted', async () => {
    const fake = await fakeServer((hello) =>
      challengeWith(
        serverProofFor(SECRET, 'impostor', 'rpc', hello.id, hello.challenge ?? '', serverNonce),
      ),
    );
    try {
      const proxy = await RpcProxy.create({
        url: fake.url,
        serverSecret: SECRET,
        namespace: 'secure',
      });
      assert.deepEqual(proxy.functions, []);
      await proxy.close();
      assert.ok(fake.received.some((frame) => (frame as unknown[])[0] === FrameType.RPC_LIST));
    } finally {
      await fake.close();
    }
  });
});
