/**
 * Per-peer wire bounds over real sockets: a subscriber never gets a frame larger than the
 * `maxPayload` it announced in HELLO (group fan-out skips it and counts it; a direct reply
 * becomes ERR_PAYLOAD_TOO_LARGE), and the order of MEMBERSHIP and REPLY that PROTOCOL.md
 * states.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/errors.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import type { Server } from '../src/server/server.js';
import { Cleanup, connectRaw, isFrame, startClient, startServer, type RawPeer } from './helpers.js';

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
