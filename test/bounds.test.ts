/**
 * Per-peer wire bounds over real sockets: a subscriber never gets a frame larger than the
 * `maxPayload` it announced in HELLO (group fan-out skips it and counts it; a direct reply
 * becomes ERR_PAYLOAD_TOO_LARGE), the order of MEMBERSHIP and REPLY that PROTOCOL.md states,
 * and the server-wide caps: groups, subscriptions, connections per IP address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, InvalidOptionError } from '../src/errors.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { Server } from '../src/server/server.js';
import { startMesh, stopClones, type Clone } from './clone-helpers.js';
import {
  Cleanup,
  connectRaw,
  isFrame,
  startClient,
  startServer,
  upgradeStatus,
  waitFor,
  type RawPeer,
} from './helpers.js';

describe("group fan-out honours each subscriber's maxPayload", () => {
  const cleanup = new Cleanup();
  let server: Server;
  let url: string;
  let port: number;

  before(async () => {
    ({ server, url, port } = await startServer({ metrics: true }, (s) => {
      s.addRoute({ route: 'big', handler: ({ data }) => 'x'.repeat(data as number) });
    }));
  });
  after(async () => {
    await cleanup.run();
    await server.stop();
  });

  async function subscriber(codec: 'json' | 'msgpack', maxPayload: number): Promise<RawPeer> {
    const peer = await connectRaw(url, {
      codec,
      hello: { v: PROTOCOL_VERSION, id: `small-${codec}-${maxPayload}`, maxPayload },
    });
    cleanup.add(() => peer.terminate());
    peer.send([FrameType.SUBSCRIBE, 1, 'room']);
    await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 1));
    return peer;
  }

  it('skips a group message too large for a subscriber, counts it, and keeps the connection', async () => {
    const small = await subscriber('json', 1000);
    const smallPack = await subscriber('msgpack', 1000);
    const roomy = await subscriber('json', 1 << 20);
    const publisher = await startClient(url);
    cleanup.add(() => publisher.stop());
    const skippedBefore = server.stats().groupMessagesTooLarge;

    await publisher.sendMesToGroup({ id: 'room', route: 'chat', data: 'y'.repeat(3000) });
    await publisher.sendMesToGroup({ id: 'room', route: 'chat', data: 'small' });

    // The roomy subscriber gets both, in order; the small ones only the small message.
    const isChat = (frame: unknown): boolean => isFrame(frame, FrameType.GROUP_MESSAGE);
    await roomy.waitForFrame((frame) => isChat(frame) && (frame as unknown[])[4] === 'small');
    for (const peer of [small, smallPack]) {
      const got = await peer.waitForFrame(isChat);
      assert.equal((got as unknown[])[4], 'small', 'the oversized message was not written');
      assert.equal(peer.frames.filter(isChat).length, 1);
      assert.ok(peer.open, 'the subscriber stays connected');
    }
    assert.equal(roomy.frames.filter(isChat).length, 2);
    assert.equal(server.stats().groupMessagesTooLarge - skippedBefore, 2);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^wsmesh_group_messages_too_large_total\{[^}]*\} [1-9]/m);
  });

  it('answers a request whose reply is too large for the peer with ERR_PAYLOAD_TOO_LARGE', async () => {
    const peer = await subscriber('json', 1000);
    peer.send([FrameType.MESSAGE, 5, 'big', null, 3000]);
    const answer = (await peer.waitForFrame(
      (frame) => isFrame(frame, FrameType.REPLY, 5) || isFrame(frame, FrameType.ERROR, 5),
    )) as unknown[];
    assert.equal(answer[0], FrameType.ERROR);
    assert.equal((answer[2] as { code: string }).code, ErrorCode.PAYLOAD_TOO_LARGE);
    peer.send([FrameType.MESSAGE, 6, 'big', null, 10]);
    assert.deepEqual(await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 6)), [
      FrameType.REPLY,
      6,
      'x'.repeat(10),
    ]);
  });
});

describe('MEMBERSHIP and REPLY order', () => {
  const cleanup = new Cleanup();
  let server: Server;
  let url: string;

  before(async () => {
    ({ server, url } = await startServer({}, (s) => {
      // An asynchronous middleware must not change the order either.
      s.use(async ({ mes }) => {
        if (mes.group === 'slow') await new Promise((resolve) => setImmediate(resolve));
      });
    }));
  });
  after(async () => {
    await cleanup.run();
    await server.stop();
  });

  it('sends MEMBERSHIP before the REPLY of the SUBSCRIBE or UNSUBSCRIBE that caused it', async () => {
    const peer = await connectRaw(url);
    cleanup.add(() => peer.terminate());
    const relevant = (): unknown[] =>
      peer.frames.filter(
        (frame) => isFrame(frame, FrameType.MEMBERSHIP) || isFrame(frame, FrameType.REPLY),
      );
    let id = 0;
    for (const group of ['fast', 'slow']) {
      const from = relevant().length;
      peer.send([FrameType.SUBSCRIBE, ++id, group]);
      await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, id));
      peer.send([FrameType.SUBSCRIBE, ++id, group]); // already a member: REPLY only
      await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, id));
      peer.send([FrameType.UNSUBSCRIBE, ++id, group]);
      await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, id));
      assert.deepEqual(relevant().slice(from), [
        [FrameType.MEMBERSHIP, group, true],
        [FrameType.REPLY, id - 2, true],
        [FrameType.REPLY, id - 1, true],
        [FrameType.MEMBERSHIP, group, false],
        [FrameType.REPLY, id, false],
      ]);
    }
  });
});

/** Subscribes `peer` to each group (ids from `firstId`), resolves with the answers' kinds. */
async function subscribeAll(peer: RawPeer, groups: string[], firstId: number): Promise<string[]> {
  groups.forEach((group, index) => peer.send([FrameType.SUBSCRIBE, firstId + index, group]));
  const answers: string[] = [];
  for (let index = 0; index < groups.length; index++) {
    const id = firstId + index;
    const frame = (await peer.waitForFrame(
      (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
    )) as unknown[];
    answers.push(
      frame[0] === FrameType.REPLY ? String(frame[2]) : (frame[2] as { code: string }).code,
    );
  }
  return answers;
}

describe('server-wide caps', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('validates maxGroups, maxSubscriptions and maxConnectionsPerIp, with documented defaults', () => {
    for (const name of ['maxGroups', 'maxSubscriptions', 'maxConnectionsPerIp']) {
      for (const bad of [-1, 1.5, '10', Number.NaN, Infinity]) {
        assert.throws(() => new Server({ [name]: bad }), InvalidOptionError, `${name}: ${bad}`);
      }
    }
    const { options } = new Server({});
    assert.equal(options.maxGroups, 100_000);
    assert.equal(options.maxSubscriptions, 1_000_000);
    assert.equal(options.maxConnectionsPerIp, 0);
  });

  it('maxGroups refuses a SUBSCRIBE that would create a group past it, not one to an existing group', async () => {
    const { server, url } = await startServer({ maxGroups: 3 });
    cleanup.add(() => server.stop());
    const a = await connectRaw(url);
    const b = await connectRaw(url);
    cleanup.add(() => a.terminate());
    cleanup.add(() => b.terminate());
    assert.deepEqual(await subscribeAll(a, ['g1', 'g2', 'g3', 'g4'], 1), [
      'true',
      'true',
      'true',
      ErrorCode.LIMIT,
    ]);
    assert.deepEqual(await subscribeAll(b, ['g1', 'g5'], 1), ['true', ErrorCode.LIMIT]);
    assert.equal(server.groups.size, 3);
    assert.equal(server.stats().subscriptionsRefused, 2);
    // Server code is not limited.
    const [member] = server.clients.values();
    assert.ok(member !== undefined);
    server.groups.addSubscriber({ id: 'g-server', ws: member });
    assert.equal(server.groups.size, 4);
    server.groups.delete({ id: 'g-server' });
    // Room again once a group is gone.
    a.send([FrameType.UNSUBSCRIBE, 10, 'g3']);
    await a.waitForFrame((f) => isFrame(f, FrameType.REPLY, 10));
    assert.deepEqual(await subscribeAll(b, ['g6'], 3), ['true']);
  });

  it('maxSubscriptions caps memberships over all connections', async () => {
    const { server, url } = await startServer({ maxSubscriptions: 3 });
    cleanup.add(() => server.stop());
    const a = await connectRaw(url);
    const b = await connectRaw(url);
    cleanup.add(() => a.terminate());
    cleanup.add(() => b.terminate());
    assert.deepEqual(await subscribeAll(a, ['s1', 's2'], 1), ['true', 'true']);
    assert.deepEqual(await subscribeAll(b, ['s1', 's1', 's2'], 1), [
      'true',
      'true',
      ErrorCode.LIMIT,
    ]);
    assert.equal(server.stats().subscriptions, 3);
    a.terminate();
    await waitFor(() => server.stats().subscriptions === 1, 5000, 'closed connection released');
    assert.deepEqual(await subscribeAll(b, ['s2', 's3'], 4), ['true', 'true']);
    assert.equal(server.stats().subscriptions, 3);
    server.groups.delete({ id: 's3' }); // deleting a group releases its memberships
    assert.equal(server.stats().subscriptions, 2);
  });

  it('maxConnectionsPerIp refuses a third socket from one address with 429 until one closes', async () => {
    const { server, url } = await startServer({ maxConnectionsPerIp: 2 });
    cleanup.add(() => server.stop());
    const first = await connectRaw(url);
    const second = await connectRaw(url, { hello: false });
    cleanup.add(() => first.terminate());
    cleanup.add(() => second.terminate());
    assert.equal(await upgradeStatus(url), 429);
    assert.equal(server.stats().rejectedConnections, 1);
    second.terminate();
    await waitFor(async () => (await upgradeStatus(url)) === 101, 5000, 'room after a close');
    const third = await connectRaw(url);
    cleanup.add(() => third.terminate());
    assert.ok(first.open && third.open);
  });

  it('a subscription flood is mirrored to other clones only up to maxGroups', async () => {
    const clones: Clone[] = await startMesh(['cap-home', 'cap-other'], (id) =>
      id === 'cap-home' ? { maxGroups: 2000 } : {},
    );
    cleanup.add(() => stopClones(clones));
    const [home, other] = clones as [Clone, Clone];
    const floods = await Promise.all(
      Array.from({ length: 10 }, async (_, c) => {
        const peer = await connectRaw(home.url);
        cleanup.add(() => peer.terminate());
        const groups = Array.from({ length: 1000 }, (_, n) => `flood-${c}-${n}`);
        return subscribeAll(peer, groups, 1);
      }),
    );
    const accepted = floods.flat().filter((answer) => answer === 'true').length;
    assert.equal(accepted, 2000);
    assert.equal(home.server.groups.size, 2000);
    const seen = (): number =>
      other.server.clones.topology().find((clone) => clone.id === home.id)?.groups.length ?? 0;
    await waitFor(() => seen() === 2000, 10_000, "the other clone learned home's groups");
    assert.equal(home.server.stats().subscriptionsRefused, 8000);
  });
});
