/**
 * The trust boundary, probed from raw sockets as an outsider would: every peer kind against
 * every security setup, and each attack the trust-boundary issue lists. An outsider here
 * knows no secret, no clone token and no end-user credentials.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocketServer, type WebSocket as ServerSideWebSocket } from 'ws';
import { Client, Server, type ServerOptions } from '../src/index.js';
import { CloseCode, FrameType } from '../src/protocol/frames.js';
import { linkedAll, startClone, startInbox, stopClones, type Clone } from './clone-helpers.js';
import {
  Cleanup,
  connectRaw,
  isFrame,
  startServer,
  waitFor,
  within,
  type RawPeer,
} from './helpers.js';
import { rawHandshake, type RawOutcome } from './trust-helpers.js';

const SECRET = 'trust-tests-shared-secret-0123456789';
const KINDS = ['client', 'rpc', 'link', 'clone'] as const;
type Kind = (typeof KINDS)[number];

const authenticate: ServerOptions['authenticate'] = ({ credentials }) =>
  credentials === 'letmein' ? { user: 'u' } : false;
const authFnIn = (value: unknown): boolean => value === 'clone-token';

/** What an outsider of each kind gets: `refused`, or welcomed with or without RPC. */
type Access = 'refused' | 'rpc' | 'no-rpc';

const SETUPS: [string, ServerOptions, Record<Kind, Access>][] = [
  // The seed's open mesh: no security option at all, anyone is in (docs/security.md).
  ['none', {}, { client: 'rpc', rpc: 'rpc', link: 'rpc', clone: 'rpc' }],
  [
    'authenticate',
    { authenticate },
    { client: 'refused', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
  [
    'serverSecret',
    { serverSecret: SECRET },
    { client: 'no-rpc', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
  ['authFnIn', { authFnIn }, { client: 'rpc', rpc: 'rpc', link: 'refused', clone: 'refused' }],
  [
    'serverSecret + encryption',
    { serverSecret: SECRET, encryption: true },
    { client: 'no-rpc', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
  [
    'authenticate + authFnOut',
    { authenticate, authFnOut: () => 'out-token' },
    { client: 'refused', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
  [
    'authFnIn + serverSecret',
    { authFnIn, serverSecret: SECRET },
    { client: 'no-rpc', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
  [
    'serverSecret + authenticate + encryption (the README RPC setup)',
    { serverSecret: SECRET, authenticate, encryption: true },
    { client: 'refused', rpc: 'refused', link: 'refused', clone: 'refused' },
  ],
];

function shareProbe(server: Server): void {
  server.origin(
    function add(a: number, b: number) {
      return a + b;
    },
    { namespace: 'probe' },
  );
}

/** Sends an RPC call and resolves with `ok` or the error code of the answer. */
async function callProbe(peer: RawPeer): Promise<string> {
  const id = peer.allocateId();
  const after = peer.frames.length;
  peer.send([FrameType.RPC_CALL, id, 'probe', 'add', [1, 2]]);
  const answer = (await peer.waitForFrame(
    (frame) =>
      isFrame(frame, FrameType.REPLY, id) ||
      isFrame(frame, FrameType.ERROR, id) ||
      isFrame(frame, FrameType.ERROR, 0),
    { after },
  )) as unknown[];
  if (answer[0] === FrameType.REPLY) return answer[2] === 3 ? 'ok' : 'wrong result';
  return (answer[2] as { code: string }).code;
}

/** An outsider's attempt: every kind guesses what it can (a wrong token, no secret). */
function outsider(url: string, kind: Kind): Promise<RawOutcome> {
  return rawHandshake(url, {
    id: `outsider-${kind}-${randomBytes(3).toString('hex')}`,
    kind,
    codec: 'msgpack',
    authValue: 'guess',
    credentials: 'guess',
    instance: 'outsider',
    namespace: 'probe',
  });
}

describe('every kind against every security setup', () => {
  for (const [label, options, expected] of SETUPS) {
    test(`${label}: ${KINDS.map((kind) => `${kind} ${expected[kind]}`).join(', ')}`, async () => {
      const cleanup = new Cleanup();
      try {
        const { server, url } = await startServer(options, shareProbe);
        cleanup.add(() => server.stop());
        for (const kind of KINDS) {
          const outcome = await outsider(url, kind);
          cleanup.add(() => outcome.peer.terminate());
          if (expected[kind] === 'refused') {
            assert.equal(outcome.welcomed, false, `${kind}: no WELCOME`);
            assert.equal(outcome.errorCode, 'ERR_AUTH', `${kind}: ERR_AUTH`);
            assert.equal(outcome.closeCode, CloseCode.AUTH_FAILED, `${kind}: 4003`);
            continue;
          }
          assert.ok(outcome.welcomed, `${kind}: welcomed`);
          const rpc = await callProbe(outcome.peer);
          assert.equal(rpc, expected[kind] === 'rpc' ? 'ok' : 'ERR_AUTH', `${kind}: RPC`);
        }
        // Nothing an outsider did left a trace among the clones.
        assert.equal(server.clones.clones.size, 0);
      } finally {
        await cleanup.run();
      }
    });
  }
});

describe('what an admitted client cannot do', () => {
  test('clone and link frames from a client are refused and change nothing', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({}, shareProbe);
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['room']);
      cleanup.add(() => inbox.client.stop());
      const peer = await connectRaw(url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const forged: unknown[] = [
        [FrameType.CLONE_GROUP_DELETE, 'forged', 1, 'room'],
        [FrameType.CLONE_SYNC, [], [['evil', 'ws://127.0.0.1:1/']]],
        [FrameType.LINK_ROUTES, 'probe', [['charge', { name: 'charge' }, ['evil']]]],
        [FrameType.AUTH, { authValue: 'x' }],
      ];
      for (const frame of forged) peer.send(frame);
      await waitFor(
        () => peer.frames.filter((frame) => isFrame(frame, FrameType.ERROR, 0)).length >= 4,
        5000,
        'four ERR_PROTOCOL refusals',
      );
      assert.ok(server.groups.get({ id: 'room' }) !== undefined, 'the group survived');
      assert.equal(server.clones.clones.size, 0, 'no clone injected');
      assert.equal(await callProbe(peer), 'ok', 'the connection itself is fine');
    } finally {
      await cleanup.run();
    }
  });
});

describe('the attacks of the trust-boundary issue', () => {
  test('authenticate + authFnOut, no authFnIn: a self-declared clone forges nothing and is never dialed', async () => {
    const cleanup = new Cleanup();
    try {
      const dialed: string[] = [];
      const trap = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      cleanup.add(() => new Promise((resolve) => trap.close(resolve)));
      trap.on('connection', (ws: ServerSideWebSocket) => {
        dialed.push('connection');
        ws.on('message', (data: Buffer) => dialed.push(data.toString('base64')));
      });
      await new Promise<void>((resolve) => trap.once('listening', () => resolve()));
      const trapUrl = `ws://127.0.0.1:${(trap.address() as AddressInfo).port}/`;
      const { server, url } = await startServer({
        authenticate,
        authFnOut: () => 'out-token',
        codec: 'msgpack',
      });
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['room'], { credentials: 'letmein' });
      cleanup.add(() => inbox.client.stop());
      const attacker = await outsider(url, 'clone');
      cleanup.add(() => attacker.peer.terminate());
      assert.equal(attacker.closeCode, CloseCode.AUTH_FAILED);
      // Whatever it sent after its HELLO was never handled: a legitimate publish is the only
      // message the subscriber gets, the group is there, and no clone was learned or dialed.
      for (const frame of [
        [FrameType.CLONE_SYNC, [], [['evil', trapUrl]]],
        [FrameType.CLONE_GROUP_DELETE, 'forged', 1, 'room'],
      ]) {
        if (attacker.peer.open) attacker.peer.send(frame);
      }
      await inbox.client.sendMesToGroup({ id: 'room', route: 'legit', data: 1 });
      await waitFor(() => inbox.messages.length > 0, 5000, 'the legitimate message');
      assert.deepEqual(
        inbox.messages.map((message) => message.route),
        ['legit'],
      );
      assert.ok(server.groups.get({ id: 'room' }) !== undefined);
      assert.equal(server.clones.clones.size, 0);
      assert.deepEqual(dialed, [], 'the server never dialed the attacker');
    } finally {
      await cleanup.run();
    }
  });

  test('authFnIn without serverSecret: a self-declared server link cannot advertise functions', async () => {
    const clones: Clone[] = [];
    const cleanup = new Cleanup();
    try {
      const a = await startClone('pay-a', { authFnIn, authFnOut: () => 'clone-token' });
      clones.push(a);
      const b = await startClone('pay-b', { authFnIn, authFnOut: () => 'clone-token' });
      clones.push(b);
      b.server.origin(
        function charge(amount: number) {
          return { charged: amount, by: 'pay-b' };
        },
        { namespace: 'pay' },
      );
      a.server.addClone({ id: 'pay-b', url: b.url });
      await waitFor(() => linkedAll(clones), 5000, 'the two clones linked');
      const link = await rawHandshake(a.url, {
        id: 'evil-link',
        kind: 'link',
        namespace: 'pay',
        codec: 'msgpack',
      });
      cleanup.add(() => link.peer.terminate());
      assert.equal(link.welcomed, false);
      assert.equal(link.closeCode, CloseCode.AUTH_FAILED);
      const client = new Client({ url: a.url, reconnect: false });
      await within(client.start(), 5000, 'client');
      cleanup.add(() => client.stop());
      const pay = await client.rpc<{ charge(amount: number): { charged: number; by: string } }>(
        'pay',
      );
      for (let index = 0; index < 10; index++) {
        assert.deepEqual(await pay.charge(index), { charged: index, by: 'pay-b' });
      }
    } finally {
      await cleanup.run();
      await stopClones(clones);
    }
  });

  test('a captured clone handshake cannot be replayed to the same node or a sibling', async () => {
    const cleanup = new Cleanup();
    try {
      const a = await startServer({ serverSecret: SECRET, id: 'replay-a' });
      cleanup.add(() => a.server.stop());
      const b = await startServer({ serverSecret: SECRET, id: 'replay-b' });
      cleanup.add(() => b.server.stop());
      // An honest clone (it knows the secret) is admitted; an eavesdropper records it.
      const honest = await rawHandshake(a.url, {
        id: 'honest',
        kind: 'clone',
        secret: SECRET,
        instance: 'i1',
        codec: 'msgpack',
      });
      cleanup.add(() => honest.peer.terminate());
      assert.ok(honest.welcomed);
      const captured = {
        id: 'honest',
        kind: 'clone' as const,
        challenge: honest.peerNonce ?? '',
        proof: honest.auth?.proof ?? '',
        instance: 'i2',
        codec: 'msgpack' as const,
      };
      for (const [target, label] of [
        [a.url, 'same node'],
        [b.url, 'sibling'],
        [a.url, 'same node, under another id'],
      ] as const) {
        const replay = await rawHandshake(target, {
          ...captured,
          id: label.includes('another id') ? 'thief' : 'honest',
        });
        replay.peer.terminate();
        assert.equal(replay.welcomed, false, label);
        assert.equal(replay.closeCode, CloseCode.AUTH_FAILED, label);
      }
      // After a restart on the same port: a new process, new nonces, the proof is dead too.
      const port = a.port;
      await a.server.stop();
      const restarted = await startServer({ serverSecret: SECRET, id: 'replay-a', port });
      cleanup.add(() => restarted.server.stop());
      const late = await rawHandshake(restarted.url, captured);
      late.peer.terminate();
      assert.equal(late.closeCode, CloseCode.AUTH_FAILED, 'after a restart');
    } finally {
      await cleanup.run();
    }
  });

  for (const withSecret of [false, true]) {
    test(`a clone redialing a url where an impostor now listens sends it no token (${withSecret ? 'with' : 'without'} a secret)`, async () => {
      const cleanup = new Cleanup();
      try {
        const received: unknown[] = [];
        let closed = 0;
        const impostor = new WebSocketServer({
          port: 0,
          host: '127.0.0.1',
          handleProtocols: (protocols) => [...protocols][0] ?? false,
        });
        cleanup.add(() => new Promise((resolve) => impostor.close(resolve)));
        await new Promise<void>((resolve) => impostor.once('listening', () => resolve()));
        const { Packr } = await import('msgpackr');
        const packr = new Packr({ useRecords: false });
        impostor.on('connection', (ws: ServerSideWebSocket) => {
          ws.on('close', () => closed++);
          ws.on('message', (data: Buffer) => {
            const frame = packr.unpack(data) as unknown[];
            received.push(frame);
            if (frame[0] === FrameType.HELLO) {
              // Without a secret it must give itself away by id; with one it may claim the
              // right id but cannot prove the secret.
              ws.send(
                packr.pack([
                  FrameType.CHALLENGE,
                  {
                    serverId: withSecret ? 'victim-b' : 'impostor',
                    nonce: randomBytes(18).toString('base64url'),
                    proof: 'A'.repeat(43),
                  },
                ]),
              );
            }
          });
        });
        const impostorUrl = `ws://127.0.0.1:${(impostor.address() as AddressInfo).port}/`;
        const a = await startClone('victim-a', {
          authFnOut: () => 'TOKEN-SECRET-VALUE',
          ...(withSecret ? { serverSecret: SECRET } : {}),
        });
        cleanup.add(() => a.server.stop());
        a.server.addClone({ id: 'victim-b', url: impostorUrl });
        await waitFor(() => closed > 0, 5000, 'the clone hung up on the impostor');
        assert.deepEqual(
          received.map((frame) => (frame as unknown[])[0]),
          [FrameType.HELLO],
          'nothing but HELLO reached the impostor',
        );
        assert.ok(!JSON.stringify(received).includes('TOKEN-SECRET-VALUE'));
      } finally {
        await cleanup.run();
      }
    });
  }

  test('the rate limit applies to RPC proxies too, not only to clients', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer(
        { rateLimit: { messages: 5, interval: 60_000 } },
        shareProbe,
      );
      cleanup.add(() => server.stop());
      const outcome = await outsider(url, 'rpc');
      cleanup.add(() => outcome.peer.terminate());
      assert.ok(outcome.welcomed);
      const codes: string[] = [];
      for (let index = 0; index < 10; index++) codes.push(await callProbe(outcome.peer));
      assert.deepEqual(codes.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
      assert.ok(
        codes.slice(5).every((code) => code === 'ERR_RATE_LIMIT'),
        codes.join(),
      );
    } finally {
      await cleanup.run();
    }
  });
});

describe('the handshake itself', () => {
  test('the deadline covers a hanging authenticate hook (4001), not just HELLO', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({
        handshakeTimeout: 300,
        authenticate: () => new Promise(() => undefined),
      });
      cleanup.add(() => server.stop());
      const outcome = await rawHandshake(url, { id: 'patient' });
      assert.equal(outcome.welcomed, false);
      assert.equal(outcome.closeCode, CloseCode.HANDSHAKE_FAILED);
    } finally {
      await cleanup.run();
    }
  });

  test('frames held during authentication are bounded in bytes (1008)', async () => {
    const cleanup = new Cleanup();
    try {
      let release: (() => void) | undefined;
      // The default maxPayload (1 MiB): the held bytes stop at 64 KiB all the same.
      const { server, url } = await startServer({
        authenticate: () =>
          new Promise((resolve) => {
            release = () => resolve(true);
          }),
      });
      cleanup.add(() => server.stop());
      cleanup.add(() => release?.());
      const peer = await connectRaw(url, { hello: false });
      cleanup.add(() => peer.terminate());
      peer.send([FrameType.HELLO, { v: 2, id: 'flood' }]);
      const big = 'x'.repeat(16 * 1024);
      for (let index = 0; index < 8; index++) {
        peer.send([FrameType.MESSAGE, 0, 'r', null, big]);
      }
      assert.equal((await peer.waitClose()).code, CloseCode.POLICY_VIOLATION);
    } finally {
      await cleanup.run();
    }
  });

  test('a server with no secret refuses a peer that asks it to prove one', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({});
      cleanup.add(() => server.stop());
      const outcome = await rawHandshake(url, { id: 'asks', kind: 'rpc', secret: SECRET });
      assert.equal(outcome.welcomed, false);
      assert.equal(outcome.errorCode, 'ERR_AUTH');
    } finally {
      await cleanup.run();
    }
  });
});

describe('meshEndpoint', () => {
  test('clones link on the mesh port; clients are refused there and clones on the public port', async () => {
    const cleanup = new Cleanup();
    try {
      const options = (id: string): ServerOptions => ({
        id,
        serverSecret: SECRET,
        meshEndpoint: { port: 0, host: '127.0.0.1' },
        cloneInterval: 200,
      });
      const a = await startServer(options('mesh-a'));
      cleanup.add(() => a.server.stop());
      const b = await startServer(options('mesh-b'));
      cleanup.add(() => b.server.stop());
      const meshUrl = (server: Server): string => `ws://127.0.0.1:${String(server.meshPort)}/`;
      assert.notEqual(a.server.meshPort, a.server.port);
      const clientOnMesh = await rawHandshake(meshUrl(a.server), { id: 'c', kind: 'client' });
      clientOnMesh.peer.terminate();
      assert.equal(clientOnMesh.closeCode, CloseCode.AUTH_FAILED);
      const cloneOnPublic = await rawHandshake(a.url, {
        id: 'mesh-x',
        kind: 'clone',
        secret: SECRET,
      });
      cloneOnPublic.peer.terminate();
      assert.equal(cloneOnPublic.closeCode, CloseCode.AUTH_FAILED);
      a.server.addClone({ id: 'mesh-b', url: meshUrl(b.server) });
      await waitFor(() => a.server.clones.links.has('mesh-b'), 5000, 'linked on the mesh port');
      const inbox = await startInbox(b.url, ['g']);
      cleanup.add(() => inbox.client.stop());
      const sender = new Client({ url: a.url, reconnect: false });
      await within(sender.start(), 5000, 'sender');
      cleanup.add(() => sender.stop());
      await waitFor(
        async () => {
          await sender.sendMesToGroup({ id: 'g', route: 'hi', data: 1 });
          return inbox.messages.length > 0;
        },
        5000,
        'a group message across the mesh endpoint',
        100,
      );
    } finally {
      await cleanup.run();
    }
  });

  test('clones with serverSecret and encryption link with sealed frames and relay messages', async () => {
    const clones: Clone[] = [];
    try {
      const options = { serverSecret: SECRET, encryption: true };
      const a = await startClone('enc-a', options);
      clones.push(a);
      const b = await startClone('enc-b', options);
      clones.push(b);
      a.server.addClone({ id: 'enc-b', url: b.url });
      await waitFor(() => linkedAll(clones), 5000, 'linked');
      const link = a.server.clones.links.get('enc-b');
      assert.ok(link !== undefined && link.connection.encrypted, 'the link is sealed');
      const inbox = await startInbox(b.url, ['g']);
      const sender = new Client({ url: a.url, reconnect: false, serverSecret: SECRET });
      await within(sender.start(), 5000, 'sender');
      try {
        await waitFor(
          async () => {
            await sender.sendMesToGroup({ id: 'g', route: 'hi', data: 1 });
            return inbox.messages.length > 0;
          },
          5000,
          'a group message over the sealed link',
          100,
        );
      } finally {
        await sender.stop();
        await inbox.client.stop();
      }
    } finally {
      await stopClones(clones);
    }
  });

  test('meshEndpoint options are checked up front', () => {
    assert.throws(() => new Server({ meshEndpoint: {} }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new Server({ meshEndpoint: { path: '/' } }), {
      code: 'ERR_INVALID_OPTION',
    });
    assert.throws(() => new Server({ meshEndpoint: { port: -1 } }), {
      code: 'ERR_INVALID_OPTION',
    });
  });
});
