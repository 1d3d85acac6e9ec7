/**
 * Attacks on the recovery, presence and cluster-acknowledgement doors from raw sockets:
 * clone-only frames from a client, requests that wait (async middlewares, cluster waits)
 * past `maxInFlight`, forged positions, and a rogue clone.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { Cleanup, connectRaw, isFrame, rawPackr, startServer, waitFor } from './helpers.js';

function errorCode(frame: unknown): unknown {
  return ((frame as unknown[])[2] as { code?: unknown } | undefined)?.code;
}

/** Frames answering request `id` (REPLY or ERROR). */
function answerOf(frames: unknown[], id: number): unknown[] | undefined {
  return frames.find(
    (frame) => isFrame(frame, FrameType.REPLY, id) || isFrame(frame, FrameType.ERROR, id),
  ) as unknown[] | undefined;
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

  test('subscriptions, publishes and presence queries held by an async middleware count against maxInFlight', async () => {
    const cleanup = new Cleanup();
    let open = (): void => undefined;
    let gate = Promise.resolve();
    const close = (): void => {
      gate = new Promise<void>((resolve) => (open = resolve));
    };
    cleanup.add(() => open());
    try {
      const maxInFlight = 4;
      const { server, url } = await startServer(
        { maxInFlight, presence: { allGroups: true } },
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
            sent - maxInFlight,
          5000,
          `ERR_LIMIT for frame type ${String(frame(0)[0])}`,
        );
        for (let i = 1; i <= maxInFlight; i++)
          assert.equal(answerOf(peer.frames, base + i), undefined, `request ${i} still waits`);
        open();
        await waitFor(
          () => answerOf(peer.frames, base + maxInFlight) !== undefined,
          10000,
          'held requests answered',
        );
      }
    } finally {
      await cleanup.run();
    }
  });
});
