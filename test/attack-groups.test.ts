/**
 * Attacks on the recovery, presence and cluster-acknowledgement doors from raw sockets:
 * clone-only frames from a client, requests that wait (async middlewares, cluster waits)
 * past `maxInFlight`, forged positions, and a rogue clone.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ServerOptions } from '../src/index.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { startClone, startMesh, stopClones } from './clone-helpers.js';
import { rawHandshake } from './trust-helpers.js';
import {
  Cleanup,
  connectRaw,
  isFrame,
  rawPackr,
  startServer,
  waitFor,
  type RawPeer,
} from './helpers.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Bytes outside the JS heap (buffers), where history entries and frames live, once what is
 * garbage is collected (a few rounds: freed sockets release their buffers a turn later).
 */
async function bufferBytes(): Promise<number> {
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { external, arrayBuffers } = process.memoryUsage();
  return external + arrayBuffers;
}

function errorCode(frame: unknown): unknown {
  return ((frame as unknown[])[2] as { code?: unknown } | undefined)?.code;
}

/** Frames answering request `id` (REPLY or ERROR). */
function answerOf(frames: unknown[], id: number): unknown[] | undefined {
  return frames.find(
    (frame) => isFrame(frame, FrameType.REPLY, id) || isFrame(frame, FrameType.ERROR, id),
  ) as unknown[] | undefined;
}

/** Clone t1 with a raw clone `rogue` whose record lists group g, and a raw client on t1 in h. */
async function rogueSetup(cleanup: Cleanup, options: ServerOptions = {}) {
  const target = await startClone('t1', {
    clusterAckTimeout: 60_000,
    presence: { allGroups: true },
    history: { size: 10 },
    ...options,
  });
  cleanup.add(() => target.server.stop());
  const client = await connectRaw(target.url, { codec: 'msgpack' });
  cleanup.add(() => client.terminate());
  // A subscriber here, to see that nothing unsolicited reaches it (subscribed before the
  // rogue comes, which would hold the confirmation back).
  client.send([FrameType.SUBSCRIBE, 1, 'h']);
  await client.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
  const { peer: rogue, welcomed } = await rawHandshake(target.url, {
    codec: 'msgpack',
    id: 'rogue',
    kind: 'clone',
    instance: 'r',
  });
  cleanup.add(() => rogue.terminate());
  assert.ok(welcomed);
  // Alive to the heartbeat, deaf to everything else.
  rogue.ws.on('message', (data: Buffer) => {
    if (isFrame(rawPackr.unpack(data), FrameType.PING)) rogue.send([FrameType.PONG]);
  });
  rogue.send([
    FrameType.CLONE_UPDATE,
    { id: 'rogue', instance: 'r', url: null, v: 1, links: ['t1'], groups: ['g'] },
  ]);
  await waitFor(
    () => target.server.clones.topology().some((c) => c.id === 'rogue' && c.groups.includes('g')),
    5000,
    'the rogue record lists g',
  );
  return { target, client, rogue };
}

describe('attacks on groups: recovery, presence, cluster acknowledgements', () => {
  test('a client sending clone frames 26, 27 and 50-53 gets ERR_PROTOCOL and changes nothing', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 10 } });
      cleanup.add(() => server.stop());
      server.groups.add({ id: 'g' });
      const frames: unknown[][] = [
        [FrameType.HISTORY_REQUEST, 1, 'g', { s: {}, t: 0 }],
        [FrameType.HISTORY_PAGE, 1, [['x', 1, 0, 'g', rawPackr.pack([1])]], null, true],
        [FrameType.CLONE_ACK, 'evil', server.id, 99],
        [FrameType.CLONE_DELIVERED, 'evil', server.id, 1, 5],
        [FrameType.CLONE_PRESENCE, 'evil', server.id, 'g', true, [['c', 'fake', null]], []],
        [FrameType.CLONE_PRESENCE_FETCH, 'evil', server.id, 'g'],
      ];
      const peer = await connectRaw(url, {
        codec: 'msgpack',
        hello: { v: PROTOCOL_VERSION, id: 'plain', kind: 'client' },
      });
      cleanup.add(() => peer.terminate());
      for (const frame of frames) {
        const from = peer.frames.length;
        peer.send(frame);
        const answer = await peer.waitForFrame((f) => isFrame(f, FrameType.ERROR), {
          after: from,
        });
        assert.equal(errorCode(answer), 'ERR_PROTOCOL', `frame ${String(frame[0])}`);
      }
      assert.ok(peer.open, 'the connection stays open');
      assert.deepEqual(await server.groups.presence({ id: 'g' }), []);
      assert.equal(
        peer.frames.filter((f) => isFrame(f, FrameType.CLONE_PRESENCE)).length,
        0,
        'no presence snapshot leaked to the client',
      );
    } finally {
      await cleanup.run();
    }
  });

  test('requests held by an async middleware count against maxInFlight (subscriptions: plus maxGroupsPerConnection)', async () => {
    const cleanup = new Cleanup();
    let open = (): void => undefined;
    let gate = Promise.resolve();
    const close = (): void => {
      gate = new Promise<void>((resolve) => (open = resolve));
    };
    cleanup.add(() => open());
    try {
      const maxInFlight = 4;
      const maxGroupsPerConnection = 3;
      const { server, url } = await startServer(
        { maxInFlight, maxGroupsPerConnection, presence: { allGroups: true } },
        (s) => s.use(() => gate),
      );
      cleanup.add(() => server.stop());
      const peer = await connectRaw(url, { codec: 'json' });
      cleanup.add(() => peer.terminate());
      const kinds = [
        (id: number) => [FrameType.SUBSCRIBE, id, `s${id}`],
        (id: number) => [FrameType.SUBSCRIBE_SINCE, id, `r${id}`, { s: {}, t: 0 }],
        (id: number) => [FrameType.PUBLISH, id, 'g', null, null, 'x', false, 'cluster'],
        (id: number) => [FrameType.PRESENCE, id, 'g', false],
      ];
      for (const [index, frame] of kinds.entries()) {
        const base = (index + 1) * 1000;
        // Room for a client that subscribes to all its groups at once.
        const limit = index < 2 ? maxInFlight + maxGroupsPerConnection : maxInFlight;
        // Each kind alone: the earlier kinds' requests were released below.
        close();
        const sent = maxInFlight * 5;
        for (let i = 1; i <= sent; i++) peer.send(frame(base + i));
        await waitFor(
          () =>
            peer.frames.filter(
              (f) =>
                isFrame(f, FrameType.ERROR) &&
                ((f as unknown[])[1] as number) > base &&
                errorCode(f) === 'ERR_LIMIT',
            ).length >=
            sent - limit,
          5000,
          `ERR_LIMIT for frame type ${String(frame(0)[0])}`,
        );
        for (let i = 1; i <= limit; i++)
          assert.equal(answerOf(peer.frames, base + i), undefined, `request ${i} still waits`);
        open();
        await waitFor(
          () => answerOf(peer.frames, base + limit) !== undefined,
          10000,
          'held requests answered',
        );
      }
    } finally {
      await cleanup.run();
    }
  });

  test('forged positions: too many streams, bad seqs and bad times are refused; any valid one reads at most the history', async () => {
    const cleanup = new Cleanup();
    try {
      const size = 20;
      const { server, url } = await startServer({ history: { size } });
      cleanup.add(() => server.stop());
      for (let i = 0; i < size * 3; i++) server.groups.publish('g', { data: i });
      const peer = await connectRaw(url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const streams: Record<string, number> = {};
      for (let i = 0; i < 257; i++) streams[`s${i}`] = 1;
      const bad: unknown[] = [
        { s: streams, t: 0 },
        { s: { x: 2 ** 53 }, t: 0 },
        { s: { x: -1 }, t: 0 },
        { s: { x: 1.5 }, t: 0 },
        { s: {}, t: -1 },
        { s: {}, t: Number.NaN },
        { s: {}, t: Number.POSITIVE_INFINITY },
        { s: [], t: 0 },
        { s: { ['x'.repeat(100_000)]: 1 }, t: 0 },
      ];
      let id = 1;
      for (const since of bad) {
        const from = peer.frames.length;
        peer.send([FrameType.SUBSCRIBE_SINCE, id, 'g', since]);
        const answer = await peer.waitForFrame(
          (f) => isFrame(f, FrameType.ERROR, id) || isFrame(f, FrameType.REPLY, id),
          { after: from },
        );
        assert.ok(
          isFrame(answer, FrameType.ERROR),
          `refused: ${JSON.stringify(since).slice(0, 80)}`,
        );
        id++;
      }
      assert.equal(server.groups.get({ id: 'g' })?.subscribers.size ?? 0, 0, 'not subscribed');
      assert.equal(peer.frames.filter((f) => isFrame(f, FrameType.GROUP_MESSAGE)).length, 0);
      // Valid but forged: from the start of time, from the future, with streams nobody knows
      // and a seq far past any head. Each reads at most the kept history once.
      const forged = [
        { s: {}, t: 0 },
        { s: { nobody: Number.MAX_SAFE_INTEGER }, t: Date.now() + 86_400_000 },
        { s: { [server.groups.history.stream]: 1 }, t: 0 },
      ];
      for (const since of forged) {
        const from = peer.frames.length;
        peer.send([FrameType.UNSUBSCRIBE, id++, 'g']);
        peer.send([FrameType.SUBSCRIBE_SINCE, id, 'g', since]);
        await peer.waitForFrame((f) => isFrame(f, FrameType.REPLY, id), { after: from });
        const got = peer.frames.slice(from).filter((f) => isFrame(f, FrameType.GROUP_MESSAGE));
        assert.ok(got.length <= size, `at most the history (${got.length})`);
        id++;
      }
      assert.equal(server.resumes.running, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('a middleware that refuses resumes sees data.since: no history, no RECOVER, no membership', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 10 } }, (s) =>
        s.use(({ mes, stop }) => {
          const data = mes.data as { since?: unknown } | undefined;
          if (mes.kind === 'subscribe' && data?.since !== undefined) stop();
        }),
      );
      cleanup.add(() => server.stop());
      for (let i = 0; i < 5; i++) server.groups.publish('secret', { data: i });
      const peer = await connectRaw(url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      peer.send([FrameType.SUBSCRIBE_SINCE, 1, 'secret', { s: {}, t: 0 }]);
      const answer = await peer.waitForFrame(
        (f) => isFrame(f, FrameType.REPLY, 1) || isFrame(f, FrameType.ERROR, 1),
      );
      assert.ok(!isFrame(answer, FrameType.REPLY) || (answer as unknown[])[2] !== true);
      assert.equal(peer.frames.filter((f) => isFrame(f, FrameType.GROUP_MESSAGE)).length, 0);
      assert.equal(peer.frames.filter((f) => isFrame(f, FrameType.RECOVER)).length, 0);
      assert.equal(server.groups.get({ id: 'secret' })?.subscribers.size ?? 0, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('resumes to a reader that never reads stay within maxBufferedBytes and end when it is closed', async () => {
    const cleanup = new Cleanup();
    try {
      const maxBufferedBytes = 1024 * 1024;
      const { server, url } = await startServer({ history: { size: 200 }, maxBufferedBytes });
      cleanup.add(() => server.stop());
      const groups = 4;
      const blob = 'x'.repeat(32 * 1024);
      for (let g = 0; g < groups; g++)
        for (let i = 0; i < 200; i++) server.groups.publish(`g${g}`, { data: blob });
      // 4 groups of 6.4 MB of history each: more than any socket buffer takes at once.
      const peer = await connectRaw(url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const socket = (peer.ws as unknown as { _socket: { pause(): void } })._socket;
      socket.pause();
      for (let g = 0; g < groups; g++)
        peer.send([FrameType.SUBSCRIBE_SINCE, g + 1, `g${g}`, { s: {}, t: 0 }]);
      const [ws] = [...server.clients.values()];
      assert.ok(ws !== undefined);
      let highest = 0;
      await waitFor(
        () => {
          highest = Math.max(highest, ws.open ? ws.bufferedAmount : 0);
          return !ws.open || (server.resumes.running === groups && ws.bufferedAmount > 64 * 1024);
        },
        20000,
        'resumes waiting for the reader to drain',
      );
      // Paced: each resume wrote about one chunk past what the socket took, so the reader is
      // neither flooded nor closed as a slow consumer.
      assert.ok(ws.open, 'the reader was not closed as a slow consumer');
      assert.ok(highest <= groups * 2 * 64 * 1024, `buffered ${highest}`);
      peer.terminate();
      await waitFor(() => server.resumes.running === 0, 10000, 'resumes ended with the reader');
      assert.equal(server.clients.size, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('a resume stops when its member leaves the group meanwhile', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 1000 } });
      cleanup.add(() => server.stop());
      const blob = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 1000; i++) server.groups.publish('g', { data: blob });
      // 32 MB of history: far more than the socket buffers take before the resume waits.
      const peer = await connectRaw(url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const socket = (peer.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      peer.send([FrameType.SUBSCRIBE_SINCE, 1, 'g', { s: {}, t: 0 }]);
      const [ws] = [...server.clients.values()];
      assert.ok(ws !== undefined);
      await waitFor(
        () => server.resumes.running === 1 && ws.bufferedAmount > 64 * 1024,
        20000,
        'the resume waits for the reader',
      );
      // Removed by server code while the resume waits; then the reader reads again.
      server.groups.deleteSubscriber({ id: 'g', ws });
      socket.resume();
      await waitFor(() => server.resumes.running === 0, 20000, 'the resume ended');
      await waitFor(
        () => peer.frames.some((f) => isFrame(f, FrameType.REPLY, 1)),
        20000,
        'the SUBSCRIBE_SINCE reply',
      );
      const delivered = peer.frames.filter((f) => isFrame(f, FrameType.GROUP_MESSAGE)).length;
      assert.ok(
        delivered < 500,
        `history kept flowing to a member that left: ${delivered} of 1000`,
      );
      assert.ok(!peer.frames.some((f) => isFrame(f, FrameType.RECOVER)), 'no RECOVER');
    } finally {
      await cleanup.run();
    }
  });

  test('a rogue clone that never answers: cluster waits end when it goes, unsolicited pages are ignored', async () => {
    const cleanup = new Cleanup();
    try {
      const { target, client, rogue } = await rogueSetup(cleanup);
      rogue.send([
        FrameType.HISTORY_PAGE,
        777,
        [
          [
            'rogue-stream',
            1,
            Date.now(),
            'h',
            rawPackr.pack([FrameType.GROUP_MESSAGE, 'h', 'forged', null]),
          ],
        ],
        [['rogue-stream', 1, 0, 0, 0]],
        true,
      ]);
      client.send([FrameType.PUBLISH, 2, 'g', 'r', null, 'x', false, 'cluster']);
      client.send([FrameType.PRESENCE, 3, 'g', false]);
      await rogue.waitForFrame((f) => isFrame(f, FrameType.CLONE_RELAY));
      await rogue.waitForFrame((f) => isFrame(f, FrameType.CLONE_PRESENCE_FETCH));
      assert.equal(answerOf(client.frames, 2), undefined, 'the publish waits for the rogue');
      assert.equal(answerOf(client.frames, 3), undefined, 'the query waits for the rogue');
      rogue.terminate();
      // Its link is gone: waits on it end now, not after clusterAckTimeout.
      const published = await client.waitForFrame((f) => answerOf([f], 2) !== undefined, {
        timeoutMs: 5000,
      });
      assert.equal(errorCode(published), 'ERR_TIMEOUT');
      const listed = await client.waitForFrame((f) => answerOf([f], 3) !== undefined, {
        timeoutMs: 5000,
      });
      assert.deepEqual(listed, [FrameType.REPLY, 3, []]);
      assert.equal(
        client.frames.filter((f) => isFrame(f, FrameType.GROUP_MESSAGE)).length,
        0,
        'the unsolicited page delivered nothing',
      );
      assert.ok(target.server.active);
    } finally {
      await cleanup.run();
    }
  });

  test('concurrent presence queries for one group share one fetch per clone (no amplification)', async () => {
    const cleanup = new Cleanup();
    try {
      const { client, rogue } = await rogueSetup(cleanup);
      const queries = 50;
      for (let i = 0; i < queries; i++)
        client.send([FrameType.PRESENCE, 100 + i, 'g', i % 2 === 0]);
      // Relayed to the rogue on the same link after every fetch those queries caused.
      client.send([FrameType.PUBLISH, 0, 'g', 'marker', null, null, false]);
      await rogue.waitForFrame((f) => isFrame(f, FrameType.CLONE_RELAY));
      const fetches = rogue.frames.filter((f) => isFrame(f, FrameType.CLONE_PRESENCE_FETCH));
      assert.equal(fetches.length, 1, `fetches sent for ${queries} queries`);
      rogue.send([FrameType.CLONE_PRESENCE, 'rogue', 't1', 'g', true, [['k', 'c1', { n: 1 }]], []]);
      await waitFor(
        () => answerOf(client.frames, 100 + queries - 1) !== undefined,
        5000,
        'every query answered',
      );
      for (let i = 0; i < queries; i++) {
        assert.deepEqual(answerOf(client.frames, 100 + i), [
          FrameType.REPLY,
          100 + i,
          i % 2 === 0 ? 1 : [['c1', { n: 1 }, 'rogue']],
        ]);
      }
    } finally {
      await cleanup.run();
    }
  });

  test('concurrent resumes of a long history held on another clone stay within a byte budget', async () => {
    const clones = await startMesh(['A', 'B'], { history: { size: 200 } });
    const peers: RawPeer[] = [];
    try {
      const [a, b] = clones as [(typeof clones)[0], (typeof clones)[0]];
      const budget = 16 * 1024 * 1024;
      a.server.clones.history.maxPendingBytes = budget;
      a.server.resumes.maxRemoteBytes = budget;
      // 6.4 MB of history on B only (A has no subscriber in g, so it kept none): more than a
      // socket buffer takes, so a resume to a reader that does not read holds its plan.
      const blob = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 200; i++) b.server.groups.publish('g', { data: blob });
      const before = await bufferBytes();
      const readers = 12;
      const pending = a.server.clones.history.requests;
      let highest = 0;
      for (let i = 0; i < readers; i++) {
        const peer = await connectRaw(a.url, { codec: 'msgpack' });
        peers.push(peer);
        (peer.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        peer.send([FrameType.SUBSCRIBE_SINCE, 1, 'g', { s: {}, t: 0 }]);
      }
      const { resumes } = a.server;
      await waitFor(
        () => {
          highest = Math.max(highest, a.server.clones.history.pendingBytes + resumes.remoteBytes);
          const done = resumes.resumesComplete + resumes.resumesIncomplete;
          return done + resumes.running === readers && pending.size === 0;
        },
        20000,
        'every resume has its answers',
      );
      // Unbounded, 12 copies of B's history (77 MB) would be held here now.
      const held = (await bufferBytes()) - before;
      assert.ok(held < 48 * 1024 * 1024, `held ${(held / 1e6).toFixed(1)} MB`);
      assert.ok(highest <= 2 * budget, `counted ${highest}`);
      // The readers read again: each hears how its resume went; some could not recover.
      for (const peer of peers)
        (peer.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      const recovered: unknown[] = [];
      for (const peer of peers) {
        const frame = await peer.waitForFrame((f) => isFrame(f, FrameType.RECOVER), {
          timeoutMs: 20000,
        });
        recovered.push((frame as unknown[])[2]);
      }
      assert.ok(recovered.includes(false), 'resumes past the budget report recovered: false');
      assert.ok(recovered.includes(true), 'resumes within it recover');
      await waitFor(() => resumes.running === 0, 10000, 'resumes ended');
      assert.equal(resumes.remoteBytes, 0);
      assert.equal(a.server.clones.history.pendingBytes, 0);
    } finally {
      for (const peer of peers) peer.terminate();
      await stopClones(clones);
    }
  });

  test('acknowledged publishes and presence queries waiting on a silent clone are capped by maxInFlight', async () => {
    const cleanup = new Cleanup();
    try {
      const maxInFlight = 3;
      const { target, client, rogue } = await rogueSetup(cleanup, { maxInFlight });
      const sent = 20;
      for (let i = 0; i < sent; i++) {
        const id = 200 + i;
        client.send(
          i % 2 === 0
            ? [FrameType.PUBLISH, id, 'g', 'r', null, i, false, 'cluster']
            : [FrameType.PRESENCE, id, 'g', false],
        );
      }
      await waitFor(
        () =>
          client.frames.filter((f) => isFrame(f, FrameType.ERROR) && errorCode(f) === 'ERR_LIMIT')
            .length ===
          sent - maxInFlight,
        5000,
        'refused past maxInFlight',
      );
      for (let i = 0; i < maxInFlight; i++)
        assert.equal(answerOf(client.frames, 200 + i), undefined, `request ${i} waits`);
      const waits = (
        target.server.clones as unknown as { waits: { publishAcks: { size: number } } }
      ).waits.publishAcks.size;
      assert.ok(waits <= maxInFlight, `${waits} publishes wait`);
      assert.ok(rogue.open);
    } finally {
      await cleanup.run();
    }
  });
});
