/**
 * RPC security over real sockets (docs/rpc.md "Security", issue 5 item 6): the server secret is
 * proved with an HMAC over id, timestamp and nonce and never crosses the wire; wrong, missing,
 * tampered, stale and replayed proofs are refused with close code 4003; the proxy checks the
 * server's proof in WELCOME and refuses an impostor.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
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
import {
  connectRaw,
  isFrame,
  startServer,
  stopAll,
  waitFor,
  within,
  type RawPeer,
} from './helpers.js';
import { collect, rejectsWith, since } from './rpc-helpers.js';

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

/** The HMAC proof a peer of `kind` with `id` sends (PROTOCOL: SecretProof). */
function proofFor(secret: string, kind: string, id: string, ts: number, nonce: string): string {
  return createHmac('sha256', secret)
    .update(`wsmesh-v1|${kind}|${id}|${ts}|${nonce}`)
    .digest('base64url');
}

/** The proof a server returns in WELCOME for `nonce`. */
function serverProofFor(secret: string, serverId: string, nonce: string): string {
  return createHmac('sha256', secret)
    .update(`wsmesh-v1|server|${serverId}|${nonce}`)
    .digest('base64url');
}

interface HelloOptions {
  kind?: string;
  id?: string;
  ts?: number;
  nonce?: string;
  secret?: string;
}

/** A HELLO body with a proof computed here, the way a correct peer would. */
function helloBody(options: HelloOptions = {}): {
  v: number;
  id: string;
  kind: string;
  auth: { alg: string; ts: number; nonce: string; proof: string };
} {
  const kind = options.kind ?? 'rpc';
  const id = options.id ?? `raw-${randomBytes(4).toString('hex')}`;
  const ts = options.ts ?? Date.now();
  const nonce = options.nonce ?? randomBytes(18).toString('base64url');
  const proof = proofFor(options.secret ?? SECRET, kind, id, ts, nonce);
  return { v: PROTOCOL_VERSION, id, kind, auth: { alg: 'hmac-sha256', ts, nonce, proof } };
}

/** Sends `hello` (an object, or the exact text) on a fresh raw socket; resolves with what happened. */
async function tryHello(
  url: string,
  hello: unknown,
): Promise<{
  peer: RawPeer;
  welcome: Record<string, unknown> | undefined;
  closeCode: number | undefined;
}> {
  const peer = await connectRaw(url, { hello: false, protocols: Subprotocol.json });
  if (typeof hello === 'string') peer.sendText(hello);
  else peer.send([FrameType.HELLO, hello]);
  const outcome = await Promise.race([
    peer
      .waitForFrame((frame) => isFrame(frame, FrameType.WELCOME), { timeoutMs: 4000 })
      .then(
        () => 'welcome' as const,
        () => 'no welcome' as const,
      ),
    peer.closed.then(() => 'closed' as const),
  ]);
  if (outcome === 'welcome') return { peer, welcome: peer.welcome, closeCode: undefined };
  const info = await peer.waitClose(4000);
  return { peer, welcome: undefined, closeCode: info.code };
}

/** Asserts that the server refused a handshake: an ERR_AUTH error frame, then close 4003. */
async function assertRefused(url: string, hello: unknown, label: string): Promise<void> {
  const { peer, welcome, closeCode } = await tryHello(url, hello);
  assert.equal(welcome, undefined, `${label}: no WELCOME`);
  assert.equal(closeCode, CloseCode.AUTH_FAILED, `${label}: closed with 4003`);
  assert.equal(closeCode, 4003);
  const error = peer.frames.find((frame) => isFrame(frame, FrameType.ERROR));
  assert.ok(error !== undefined, `${label}: an ERROR frame came first`);
  assert.equal(((error as unknown[])[2] as { code?: unknown }).code, ErrorCode.AUTH);
  assert.ok(
    !peer.frames.some((frame) => isFrame(frame, FrameType.REPLY)),
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
    await waitFor(() => authErrors.length > 0, 3000, 'the server reported the refusal');
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
      assert.ok(hellos.every((text) => text.includes('"proof"')));
      assert.ok(toServer.some((text) => text.startsWith(`[${FrameType.RPC_CALL},`)));
      assert.ok(
        toClient.some(
          (text) => text.startsWith(`[${FrameType.WELCOME},`) && text.includes('"proof"'),
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
  let url: string;
  let recorder: RecordingProxy;

  before(async () => {
    ({ server, url } = await startServer({ serverSecret: SECRET }, share));
    const port = server.port;
    assert.ok(port !== undefined);
    recorder = new RecordingProxy(port);
    await recorder.start();
  });
  after(async () => {
    await recorder.stop();
    await stopAll(server);
  });

  test('a correct proof is welcomed, with the server proof over our nonce', async () => {
    const hello = helloBody();
    const { peer, welcome } = await tryHello(url, hello);
    try {
      assert.ok(welcome !== undefined, 'welcomed');
      assert.equal(welcome.serverId, server.id);
      const auth = welcome.auth as { proof?: unknown } | undefined;
      assert.equal(auth?.proof, serverProofFor(SECRET, server.id, hello.auth.nonce));
      peer.send([FrameType.RPC_CALL, 1, 'secure', 'add', [1, 2]]);
      assert.deepEqual(await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 1)), [
        FrameType.REPLY,
        1,
        3,
      ]);
    } finally {
      peer.terminate();
    }
  });

  test('a replayed HELLO is refused (4003), while the original is open and after', async () => {
    const viaRecorder = `ws://127.0.0.1:${recorder.port}/`;
    const before = recorder.connections.length;
    const proxy = await RpcProxy.create<SecureApi>({
      url: viaRecorder,
      serverSecret: SECRET,
      namespace: 'secure',
    });
    let captured: string | undefined;
    try {
      assert.equal(await proxy.add(1, 2), 3);
      const record = recorder.connections[before];
      assert.ok(record !== undefined);
      captured = decodeWebSocketFrames(Buffer.concat(record.toServer))
        .map((message) => message.payload.toString('utf8'))
        .find((text) => text.startsWith(`[${FrameType.HELLO},`));
      assert.ok(captured !== undefined, 'the HELLO of the proxy was captured');
      assert.match(captured, /"kind":"rpc"/);
      await assertRefused(url, captured, 'replay while the original is connected');
    } finally {
      await proxy.close();
    }
    await assertRefused(url, captured, 'replay after the original left');
    // Same nonce with a fresh timestamp and a valid MAC (only the secret holder could do
    // this): the nonce alone is refused.
    const original = JSON.parse(captured) as [
      number,
      { id: string; kind: string; auth: { nonce: string } },
    ];
    const body = original[1];
    await assertRefused(
      url,
      helloBody({ id: body.id, kind: body.kind, nonce: body.auth.nonce }),
      'reused nonce with a fresh timestamp',
    );
  });

  test('a tampered proof is refused (4003)', async () => {
    const hello = helloBody();
    const proof = hello.auth.proof;
    const firstChar = proof.charAt(0);
    const tampered = {
      ...hello,
      auth: { ...hello.auth, proof: `${firstChar === 'A' ? 'B' : 'A'}${proof.slice(1)}` },
    };
    assert.notEqual(tampered.auth.proof, proof);
    assert.equal(tampered.auth.proof.length, proof.length);
    await assertRefused(url, tampered, 'one character changed');
    await assertRefused(url, { ...hello, id: `${hello.id}x` }, 'proof for another id');
    await assertRefused(url, { ...hello, kind: 'link' }, 'proof for another kind');
    await assertRefused(
      url,
      { ...hello, auth: { ...hello.auth, ts: hello.auth.ts + 1 } },
      'another timestamp',
    );
    await assertRefused(url, { ...hello, auth: { ...hello.auth, proof: '' } }, 'empty proof');
    await assertRefused(url, { ...hello, auth: 'abcd' }, 'not a proof object');
    await assertRefused(url, helloBody({ secret: `${SECRET}!` }), 'proof made with another secret');
    // The untampered original (fresh nonce, never used) is still good.
    const { peer, welcome } = await tryHello(url, hello);
    peer.terminate();
    assert.ok(welcome !== undefined, 'the original proof is accepted');
  });

  test('a stale or future timestamp is refused (4003), even with a correct proof', async () => {
    const fiveMinutes = 5 * 60 * 1000;
    await assertRefused(url, helloBody({ ts: Date.now() - fiveMinutes }), 'five minutes old');
    await assertRefused(url, helloBody({ ts: Date.now() + fiveMinutes }), 'five minutes ahead');
    // Within the one-minute window: accepted.
    const { peer, welcome } = await tryHello(url, helloBody({ ts: Date.now() - 20_000 }));
    peer.terminate();
    assert.ok(welcome !== undefined, 'a 20 s old proof is within the window');
  });
});

describe('the proxy checks the server', () => {
  /** A fake wsmesh server that answers HELLO with WELCOME carrying `auth` of its choosing. */
  async function fakeServer(
    answer: (hello: {
      id: string;
      auth?: { nonce?: string };
    }) => Record<string, unknown> | undefined,
  ): Promise<{ url: string; received: unknown[]; close: () => Promise<void> }> {
    const received: unknown[] = [];
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (protocols) => (protocols.has(Subprotocol.json) ? Subprotocol.json : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws: ServerSideWebSocket) => {
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as unknown[];
        received.push(frame);
        if (frame[0] === FrameType.HELLO) {
          const hello = frame[1] as { id: string; auth?: { nonce?: string } };
          const welcome: Record<string, unknown> = {
            v: PROTOCOL_VERSION,
            serverId: 'impostor',
            connectionId: 'conn-1',
            maxPayload: 1024 * 1024,
          };
          const auth = answer(hello);
          if (auth !== undefined) welcome.auth = auth;
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

  const impostors: [
    string,
    (hello: { id: string; auth?: { nonce?: string } }) => Record<string, unknown> | undefined,
  ][] = [
    ['no proof at all', () => undefined],
    ['a made-up proof', () => ({ proof: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })],
    [
      'a proof made with another secret',
      (hello) => ({ proof: serverProofFor('guess', 'impostor', hello.auth?.nonce ?? '') }),
    ],
    [
      'a proof over another nonce',
      () => ({ proof: serverProofFor(SECRET, 'impostor', 'some-other-nonce-123') }),
    ],
    [
      'a proof for another server id',
      (hello) => ({ proof: serverProofFor(SECRET, 'real-server', hello.auth?.nonce ?? '') }),
    ],
  ];

  for (const [label, answer] of impostors) {
    test(`a server answering with ${label} is refused with AuthError`, async () => {
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
    const fake = await fakeServer((hello) => ({
      proof: serverProofFor(SECRET, 'impostor', hello.auth?.nonce ?? ''),
    }));
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
