/**
 * Group fan-out per tick (src/groups/group-tick.ts, src/transport/tick-fanout.ts) over real
 * sockets, against a model: random ticks of group messages to one group, several or all,
 * with and without a connection left out, direct messages, joins and leaves made by the
 * server, and messages too large for a batch. Every peer (JSON with packs, JSON and
 * MessagePack with batches, JSON without batches) must get exactly the frames the model
 * says, in the order they were sent, whatever the socket batched or packed. A subscriber
 * that stops reading is closed as a slow consumer with its buffer bounded by the cap and one
 * batch, however much one tick fans out.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import type { ServerConnection } from '../src/server/server-connection.js';
import { startServer, stopAll, waitFor, type RawCodec, type StartedServer } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

const KINDS: { hello: { batch?: boolean; pack?: boolean }; codec: RawCodec }[] = [
  { hello: { batch: true, pack: true }, codec: 'json' },
  { hello: { batch: true }, codec: 'json' },
  { hello: { batch: true }, codec: 'msgpack' },
  { hello: {}, codec: 'json' },
];
const PEERS_PER_KIND = 2;
const TICKS = 4;
const OPS_PER_TICK = 30;
/** Larger than a batch (64 KiB): such a message leaves alone. */
const LARGE = 'x'.repeat(70 * 1024);

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

interface ModelPeer {
  peer: PackPeer;
  ws: ServerConnection;
  groups: Set<string>;
  expected: unknown[];
  /** Messages received before the script started. */
  from: number;
}

function isGroupMessage(frame: unknown): frame is unknown[] {
  return (
    Array.isArray(frame) &&
    (frame[0] === FrameType.GROUP_MESSAGE || frame[0] === FrameType.GROUP_MESSAGES)
  );
}

/** The frames a peer got after the script started, packs read as their messages. */
function received(model: ModelPeer): unknown[] {
  const frames: unknown[] = [];
  for (const frame of model.peer.messages.slice(model.from).flat()) {
    if (Array.isArray(frame) && frame[0] === FrameType.GROUP_MESSAGES) {
      const [, target, route, act, datas] = frame as [number, unknown, unknown, unknown, unknown[]];
      for (const data of datas) frames.push([FrameType.GROUP_MESSAGE, target, route, act, data]);
    } else frames.push(frame);
  }
  return frames;
}

describe('group fan-out per tick', { timeout: 120_000 }, () => {
  let started: StartedServer;

  before(async () => {
    started = await startServer();
  });
  after(async () => stopAll(started.server));

  for (let seed = 1; seed <= 10; seed++) {
    test(`seed ${seed}: every peer gets the model's frames in send order`, async () => {
      const next = random(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
      const { server } = started;
      const groupIds = [`s${seed}a`, `s${seed}b`, `s${seed}c`];
      const models: ModelPeer[] = [];
      for (const kind of KINDS) {
        for (let count = 0; count < PEERS_PER_KIND; count++) {
          const peer = await packPeer(started.url, kind.hello, kind.codec);
          const ws = server.clients.get(String(peer.welcome.connectionId));
          assert.ok(ws !== undefined);
          models.push({ peer, ws, groups: new Set(), expected: [], from: peer.messages.length });
        }
      }
      const join = (model: ModelPeer, id: string): void => {
        server.groups.addSubscriber({ id, ws: model.ws });
        if (model.groups.has(id)) return;
        model.groups.add(id);
        model.expected.push([FrameType.MEMBERSHIP, id, true]);
      };
      const leave = (model: ModelPeer, id: string): void => {
        server.groups.deleteSubscriber({ id, ws: model.ws });
        if (!model.groups.delete(id)) return;
        model.expected.push([FrameType.MEMBERSHIP, id, false]);
      };
      for (const model of models) join(model, pick(groupIds));
      let seq = 0;
      for (let tick = 0; tick < TICKS; tick++) {
        for (let op = 0; op < OPS_PER_TICK; op++) {
          const roll = next();
          const data = roll > 0.97 ? LARGE : ++seq;
          if (roll < 0.08) join(pick(models), pick(groupIds));
          else if (roll < 0.14) leave(pick(models), pick(groupIds));
          else if (roll < 0.22) {
            const model = pick(models);
            void model.ws.sendMes({ route: 'direct', data });
            model.expected.push([FrameType.MESSAGE, 0, 'direct', null, data]);
          } else {
            // One group mostly; sometimes two, or every group.
            const target =
              roll < 0.26 ? null : roll < 0.32 ? [groupIds[0], groupIds[2]] : pick(groupIds);
            const without = next() < 0.25 ? pick(models) : undefined;
            server.groups.sendMes({
              ...(target === null ? {} : { id: target as string | string[] }),
              route: 'm',
              data,
              ...(without === undefined ? {} : { withoutId: without.ws.id }),
            });
            for (const model of models) {
              if (model === without) continue;
              const member =
                target === null
                  ? model.groups.size > 0
                  : typeof target === 'string'
                    ? model.groups.has(target)
                    : target.some((id) => model.groups.has(id as string));
              if (member) model.expected.push([FrameType.GROUP_MESSAGE, target, 'm', null, data]);
            }
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const model of models) {
        await waitFor(
          () => received(model).length >= model.expected.length,
          10_000,
          `${model.expected.length} frames`,
        );
      }
      for (const [index, model] of models.entries()) {
        assert.deepEqual(received(model), model.expected, `peer ${index}`);
        model.peer.raw.ws.terminate();
      }
    });
  }
});

describe('group fan-out per tick: a subscriber that stops reading', { timeout: 60_000 }, () => {
  const maxBufferedBytes = 64 * 1024;
  let started: StartedServer;

  before(async () => {
    started = await startServer({ maxBufferedBytes });
  });
  after(async () => stopAll(started.server));

  test('is closed with 4008 and buffers at most the cap and one batch; the reader gets all', async () => {
    const { server } = started;
    const closes = new Map<string, number>();
    server.on('closeClient', ({ ws, code }) => closes.set(ws.id, code));
    const stalled = await packPeer(started.url, { batch: true, pack: true });
    const reader = await packPeer(started.url, { batch: true, pack: true });
    const stalledWs = server.clients.get(String(stalled.welcome.connectionId));
    const readerWs = server.clients.get(String(reader.welcome.connectionId));
    assert.ok(stalledWs !== undefined && readerWs !== undefined);
    server.groups.addSubscriber({ id: 'flood', ws: stalledWs });
    server.groups.addSubscriber({ id: 'flood', ws: readerWs });
    (stalled.raw.ws as unknown as { _socket: Socket })._socket.pause();
    const from = reader.messages.length;
    // Each tick fans out 16 messages of 16 KiB: four batches, so a tick alone is 4x the cap.
    const chunk = 'z'.repeat(16 * 1024);
    let maxBuffered = 0;
    let sent = 0;
    for (let tick = 0; tick < 200 && !closes.has(stalledWs.id); tick++) {
      for (let index = 0; index < 16; index++) {
        server.groups.sendMes({ id: 'flood', route: 'm', data: chunk });
        sent++;
      }
      await new Promise((resolve) => setImmediate(resolve));
      maxBuffered = Math.max(maxBuffered, stalledWs.bufferedAmount);
    }
    assert.equal(closes.get(stalledWs.id), 4008);
    assert.ok(
      maxBuffered <= maxBufferedBytes + 64 * 1024 + 1024,
      `buffered up to ${maxBuffered} bytes`,
    );
    assert.equal(readerWs.open, true);
    const count = (): number =>
      reader.messages
        .slice(from)
        .flat()
        .reduce<number>((total, frame) => {
          if (!Array.isArray(frame)) return total;
          if (frame[0] === FrameType.GROUP_MESSAGES) return total + (frame[4] as unknown[]).length;
          return frame[0] === FrameType.GROUP_MESSAGE ? total + 1 : total;
        }, 0);
    await waitFor(() => count() === sent, 10_000, `${sent} messages at the reader`);
    reader.raw.ws.terminate();
    stalled.raw.ws.terminate();
  });
});

describe(
  'group fan-out per tick: publishing while sockets write the tick',
  { timeout: 60_000 },
  () => {
    const maxBufferedBytes = 64 * 1024;
    let started: StartedServer;

    before(async () => {
      started = await startServer({ maxBufferedBytes });
    });
    after(async () => stopAll(started.server));

    test('messages published by a close handler during the writes reach every reader', async () => {
      const { server } = started;
      // A stalled member first and one last: each is closed while the tick is written, and the
      // handler publishes to the group between the readers' writes.
      const peers = [];
      for (let index = 0; index < 5; index++) {
        peers.push(await packPeer(started.url, { batch: true, pack: true }));
      }
      const members = peers.map((peer) => {
        const ws = server.clients.get(String(peer.welcome.connectionId));
        assert.ok(ws !== undefined);
        server.groups.addSubscriber({ id: 'room', ws });
        return ws;
      });
      const stalled = [peers[0], peers[4]] as PackPeer[];
      const readers = peers.slice(1, 4);
      for (const peer of stalled) (peer.raw.ws as unknown as { _socket: Socket })._socket.pause();
      const stalledIds = new Set([members[0]?.id, members[4]?.id]);
      server.on('closeClient', ({ ws }) => {
        if (stalledIds.has(ws.id))
          server.groups.sendMes({ id: 'room', route: 'left', data: ws.id });
      });
      const froms = readers.map((peer) => peer.messages.length);
      const chunk = 'z'.repeat(16 * 1024);
      for (
        let tick = 0;
        tick < 100 && [...stalledIds].some((id) => server.clients.has(String(id)));
        tick++
      ) {
        for (let index = 0; index < 16; index++) {
          server.groups.sendMes({ id: 'room', route: 'm', data: chunk });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      server.groups.sendMes({ id: 'room', route: 'end', data: null });
      for (const [index, peer] of readers.entries()) {
        const routes = (): unknown[] =>
          peer.messages
            .slice(froms[index])
            .flat()
            .filter((frame) => isGroupMessage(frame) && frame[2] !== 'm')
            .map((frame) => (frame as unknown[])[2]);
        await waitFor(() => routes().includes('end'), 10_000, `reader ${index} got the end`);
        assert.deepEqual(routes(), ['left', 'left', 'end'], `reader ${index}`);
        peer.raw.ws.terminate();
      }
      for (const peer of stalled) peer.raw.ws.terminate();
    });
  },
);

describe('group fan-out per tick: a member closed mid-tick', { timeout: 60_000 }, () => {
  let started: StartedServer;

  before(async () => {
    started = await startServer();
  });
  after(async () => stopAll(started.server));

  test('is no longer counted in the deliveries of that tick', async () => {
    const { server } = started;
    const leaving = await packPeer(started.url, { batch: true, pack: true });
    const reader = await packPeer(started.url, { batch: true, pack: true });
    const leavingWs = server.clients.get(String(leaving.welcome.connectionId));
    const readerWs = server.clients.get(String(reader.welcome.connectionId));
    assert.ok(leavingWs !== undefined && readerWs !== undefined);
    server.groups.addSubscriber({ id: 'counted', ws: leavingWs });
    server.groups.addSubscriber({ id: 'counted', ws: readerWs });
    assert.equal(server.groups.sendMes({ id: 'counted', route: 'm', data: 1 }), 2);
    // Closing drops the socket's places in this tick's fan-outs, then the group membership.
    leavingWs.close();
    assert.equal(server.groups.sendMes({ id: 'counted', route: 'm', data: 2 }), 1);
    await waitFor(
      () => reader.messages.flat().filter((frame) => isGroupMessage(frame)).length > 0,
      5000,
      'the reader got the tick',
    );
    reader.raw.ws.terminate();
    leaving.raw.ws.terminate();
  });
});

describe('group fan-out per tick: a subscriber whose frame limit is under a batch', () => {
  let started: StartedServer;

  before(async () => {
    started = await startServer();
  });
  after(async () => stopAll(started.server));

  test('gets every message of the tick that fits, stays open, and the larger one is counted', async () => {
    const { server } = started;
    const small = await packPeer(started.url, { batch: true, pack: true, maxPayload: 1000 });
    const roomy = await packPeer(started.url, { batch: true, pack: true });
    for (const peer of [small, roomy]) {
      const ws = server.clients.get(String(peer.welcome.connectionId));
      assert.ok(ws !== undefined);
      server.groups.addSubscriber({ id: 'mixed', ws });
    }
    const froms = [small, roomy].map((peer) => peer.messages.length);
    const skippedBefore = server.stats().groupMessagesTooLarge;
    // One tick: a message under a batch (64 KiB) but over the small peer's 1000 bytes between
    // two small ones.
    const large = 'y'.repeat(3000);
    for (const data of ['a', large, 'b']) server.groups.sendMes({ id: 'mixed', route: 'm', data });
    const datas = (peer: PackPeer, from: number): unknown[] =>
      peer.messages
        .slice(from)
        .flat()
        .flatMap((frame) => {
          if (!isGroupMessage(frame)) return [];
          return frame[0] === FrameType.GROUP_MESSAGES ? (frame[4] as unknown[]) : [frame[4]];
        });
    await waitFor(() => datas(roomy, froms[1] ?? 0).length === 3, 5000, 'three messages');
    await waitFor(() => datas(small, froms[0] ?? 0).length === 2, 5000, 'two messages');
    assert.deepEqual(datas(small, froms[0] ?? 0), ['a', 'b']);
    assert.deepEqual(datas(roomy, froms[1] ?? 0), ['a', large, 'b']);
    assert.equal(server.stats().groupMessagesTooLarge - skippedBefore, 1);
    assert.equal(small.raw.open, true, 'the small subscriber stays connected');
    small.raw.ws.terminate();
    roomy.raw.ws.terminate();
  });
});
