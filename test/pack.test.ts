/**
 * Packs over real sockets (PROTOCOL.md 2.9, "Packs"): a client that reads batches and sets
 * `pack` in HELLO gets WELCOME `pack`, and the group messages of one tick that share target,
 * route and act reach it as one GROUP_MESSAGES frame; anything else ends a pack. Peers that
 * did not ask, MessagePack peers and numbered messages get GROUP_MESSAGE frames. A server
 * refuses GROUP_MESSAGES; a Client handles a pack as its messages one by one, and a bad pack
 * from a server as a bad frame, the rest of the batch still handled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, ErrorCode, type WsMeshError } from '../src/index.js';
import { FrameType } from '../src/protocol/frames.js';
import { fakeServer } from './fake-server.js';
import { rawHandshake } from './trust-helpers.js';
import {
  isFrame,
  rawPackr,
  startClient,
  startServer,
  stopAll,
  waitFor,
  type StartedServer,
} from './helpers.js';
import { framesAfter, packPeer } from './pack-peer.js';

const LONG = { timeout: 60_000 };

describe('packs of group messages', LONG, () => {
  let started: StartedServer;

  before(async () => {
    started = await startServer();
  });
  after(async () => stopAll(started.server));

  test('a JSON client that reads packs gets the messages of a tick as one GROUP_MESSAGES', async () => {
    const peer = await packPeer(started.url, { batch: true, pack: true });
    assert.equal(peer.welcome.pack, true);
    await peer.subscribe('p1');
    const from = peer.messages.length;
    for (let index = 0; index < 5; index++) {
      started.server.groups.sendMes({ id: 'p1', route: 'm', data: { index } });
    }
    const frames = await framesAfter(peer, from);
    const datas = [0, 1, 2, 3, 4].map((index) => ({ index }));
    assert.deepEqual(frames, [[FrameType.GROUP_MESSAGES, 'p1', 'm', null, datas]]);
    peer.raw.ws.terminate();
  });

  test('a pack ends where target, route or act change, or another frame comes between', async () => {
    const peer = await packPeer(started.url, { batch: true, pack: true });
    await peer.subscribe('p2');
    await peer.subscribe('p2b');
    const from = peer.messages.length;
    const { groups } = started.server;
    groups.sendMes({ id: 'p2', route: 'm', data: 1 });
    groups.sendMes({ id: 'p2', route: 'm', data: 2 });
    groups.sendMes({ id: 'p2', route: 'm', act: 'x', data: 3 });
    groups.sendMes({ id: 'p2b', route: 'm', data: 4 });
    groups.sendMes({ id: 'p2b', route: 'm', data: 5 });
    const ws = started.server.clients.get(String(peer.welcome.connectionId));
    assert.ok(ws !== undefined);
    void ws.sendMes({ route: 'direct', data: 6 });
    groups.sendMes({ id: 'p2b', route: 'm', data: 7 });
    const frames = await framesAfter(peer, from);
    assert.deepEqual(frames, [
      [FrameType.GROUP_MESSAGES, 'p2', 'm', null, [1, 2]],
      [FrameType.GROUP_MESSAGE, 'p2', 'm', 'x', 3],
      [FrameType.GROUP_MESSAGES, 'p2b', 'm', null, [4, 5]],
      [FrameType.MESSAGE, 0, 'direct', null, 6],
      [FrameType.GROUP_MESSAGE, 'p2b', 'm', null, 7],
    ]);
    peer.raw.ws.terminate();
  });

  test('peers that did not ask, or cannot, get one GROUP_MESSAGE per message', async () => {
    const lines = await packPeer(started.url, { batch: true });
    const noBatch = await packPeer(started.url, { pack: true });
    const msgpack = await packPeer(started.url, { batch: true, pack: true }, 'msgpack');
    assert.equal(lines.welcome.pack, undefined);
    assert.equal(noBatch.welcome.pack, undefined);
    assert.equal(noBatch.welcome.batch, undefined);
    assert.equal(msgpack.welcome.pack, true, 'MessagePack clients may get packs');
    for (const peer of [lines, noBatch, msgpack]) await peer.subscribe('p3');
    const starts = [lines, noBatch, msgpack].map((peer) => peer.messages.length);
    for (let index = 0; index < 3; index++) {
      started.server.groups.sendMes({ id: 'p3', route: 'm', data: index });
    }
    const expected = [0, 1, 2].map((index) => [FrameType.GROUP_MESSAGE, 'p3', 'm', null, index]);
    assert.deepEqual(await framesAfter(lines, starts[0] ?? 0), expected);
    assert.deepEqual(await framesAfter(noBatch, starts[1] ?? 0, 3), expected);
    assert.equal(noBatch.messages.length - (starts[1] ?? 0), 3, 'one message per frame');
    assert.deepEqual(await framesAfter(msgpack, starts[2] ?? 0), expected);
    for (const peer of [lines, noBatch, msgpack]) peer.raw.ws.terminate();
  });

  test('a server refuses GROUP_MESSAGES from a client (ERR_PROTOCOL) and carries on', async () => {
    const peer = await packPeer(started.url, { batch: true, pack: true });
    await peer.subscribe('p4');
    const from = peer.messages.length;
    peer.raw.send([FrameType.GROUP_MESSAGES, 'p4', 'm', null, [1, 2]]);
    const frames = await framesAfter(peer, from);
    assert.equal(frames.length, 1);
    const [error] = frames as [[number, number, { code: string }]];
    assert.equal(error[0], FrameType.ERROR);
    assert.equal(error[2].code, ErrorCode.PROTOCOL);
    started.server.groups.sendMes({ id: 'p4', route: 'm', data: 'still here' });
    assert.deepEqual(await framesAfter(peer, from + 1), [
      [FrameType.GROUP_MESSAGE, 'p4', 'm', null, 'still here'],
    ]);
    peer.raw.ws.terminate();
  });

  test('numbered messages (groups with history) are never packed', async () => {
    const history = await startServer({ history: { size: 100 } });
    try {
      const peer = await packPeer(history.url, { batch: true, pack: true });
      await peer.subscribe('p5');
      const from = peer.messages.length;
      for (let index = 0; index < 3; index++) {
        history.server.groups.sendMes({ id: 'p5', route: 'm', data: index });
      }
      const frames = await framesAfter(peer, from);
      assert.equal(frames.length, 3);
      for (const frame of frames) {
        assert.ok(isFrame(frame, FrameType.GROUP_MESSAGE), JSON.stringify(frame));
        assert.notEqual((frame as unknown[])[5], undefined, 'each carries its position');
      }
      peer.raw.ws.terminate();
    } finally {
      await stopAll(history.server);
    }
  });

  test('a Client runs its route once per packed message, in order, with the group', async () => {
    const client = await startClient(started.url);
    try {
      const seen: unknown[] = [];
      client.addRoute({
        route: 'm',
        handler: ({ data, mes }) => {
          if (data === 2) throw new Error('handler failed on 2');
          seen.push([mes.group, data]);
        },
      });
      const errors: unknown[] = [];
      client.on('error', ({ error }) => errors.push(error));
      await client.subscribe({ id: 'p6' });
      for (let index = 0; index < 5; index++) {
        started.server.groups.sendMes({ id: 'p6', route: 'm', data: index });
      }
      await waitFor(() => seen.length === 4);
      assert.deepEqual(seen, [
        ['p6', 0],
        ['p6', 1],
        ['p6', 3],
        ['p6', 4],
      ]);
      assert.equal(errors.length, 1, 'the failing message is reported, the others handled');
    } finally {
      await client.stop();
    }
  });
});

/**
 * The WELCOME body among a raw MessagePack peer's frames: a clone's WELCOME shares its batch
 * with the clone frames behind it, which the raw peer keeps undecoded.
 */
function welcomeOf(frames: readonly unknown[]): Record<string, unknown> | undefined {
  for (const frame of frames) {
    const values =
      typeof frame === 'object' && frame !== null && 'undecodable' in frame
        ? (rawPackr.unpackMultiple((frame as { undecodable: Buffer }).undecodable) as unknown[])
        : [frame];
    for (const value of values) {
      if (isFrame(value, FrameType.WELCOME)) return value[1] as Record<string, unknown>;
    }
  }
  return undefined;
}

describe('packs and peer kinds', LONG, () => {
  test('only clients get WELCOME pack: rpc proxies, server links and clones asking for it do not', async () => {
    const secret = 'pack-kinds-secret';
    const started = await startServer({ serverSecret: secret, id: 'pack-kinds' });
    try {
      for (const kind of ['client', 'rpc', 'link', 'clone'] as const) {
        const outcome = await rawHandshake(started.url, {
          id: `pack-${kind}`,
          kind,
          secret,
          ...(kind === 'link' ? { namespace: 'ns' } : {}),
          ...(kind === 'clone' ? { instance: 'i-clone' } : {}),
          batch: true,
          pack: true,
          codec: 'msgpack',
        });
        const welcome = welcomeOf(outcome.peer.frames);
        assert.ok(welcome !== undefined, `${kind} welcomed (close ${outcome.closeCode ?? '-'})`);
        assert.equal(welcome.batch, true, `${kind} batches`);
        assert.equal(welcome.pack, kind === 'client' ? true : undefined, kind);
        outcome.peer.terminate();
      }
    } finally {
      await stopAll(started.server);
    }
  });
});

describe('a bad pack from a server', LONG, () => {
  test('is a bad frame for the Client, and the rest of the batch is still handled', async () => {
    const server = await fakeServer(
      [
        [FrameType.GROUP_MESSAGES, 'g', 'm', null, []],
        [FrameType.GROUP_MESSAGES, 'g', 'm', null, 'not an array'],
        [FrameType.GROUP_MESSAGES, 'g', 'm', null, ['a', 'b']],
      ]
        .map((frame) => JSON.stringify(frame))
        .join('\n'),
    );
    // Routes and listeners first: the batch follows WELCOME at once.
    const client = new Client({ url: server.url, reconnect: false });
    const seen: unknown[] = [];
    const errors: WsMeshError[] = [];
    client.on('error', ({ error }) => errors.push(error as WsMeshError));
    client.addRoute({ route: 'm', handler: ({ data }) => void seen.push(data) });
    try {
      await client.start();
      await waitFor(() => seen.length === 2 && errors.length === 2);
      assert.deepEqual(seen, ['a', 'b']);
      assert.deepEqual(
        errors.map((error) => error.code),
        [ErrorCode.BAD_FRAME, ErrorCode.BAD_FRAME],
      );
      const [hello] = server.hellos as [[number, Record<string, unknown>]];
      assert.equal(hello[1].batch, true);
      assert.equal(hello[1].pack, true, 'a Client asks for packs');
    } finally {
      await client.stop();
      await server.close();
    }
  });
});
