/**
 * Presence changes relayed through a clone (PROTOCOL.md 2.11): a raw client on Y that joins
 * and leaves a group's presence over and over makes Y send identical frames, which the clone
 * passing them on counts as a loop. Whatever it does, once it is gone its member must not
 * be listed wrong on a clone that hears of Y through another one (missing while it is there,
 * or left behind once it is gone).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import { startClone, stopClones, type Clone } from './clone-helpers.js';
import { connectRaw, isFrame, waitFor } from './helpers.js';

test('a member that flaps its presence through a relaying clone is listed right there, then not at all', async () => {
  const clones: Clone[] = [];
  try {
    const options = { presence: { allGroups: true } };
    // X and Y have no url: neither can dial the other, so all they exchange passes M.
    const m = await startClone('M', options);
    clones.push(m);
    const x = await startClone('X', { ...options, url: undefined });
    clones.push(x);
    const y = await startClone('Y', { ...options, url: undefined });
    clones.push(y);
    x.server.addClone({ id: 'M', url: m.url });
    y.server.addClone({ id: 'M', url: m.url });
    await waitFor(
      () => x.server.clones.clones.get('Y')?.state === 'routed',
      5000,
      'X reaches Y through M',
    );
    // X keeps the presence of g (it has a subscriber there).
    const watcher = await connectRaw(x.url, { codec: 'msgpack' });
    watcher.send([FrameType.SUBSCRIBE, 1, 'g', { presence: true, data: 'watcher' }]);
    await watcher.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
    // Y keeps a subscriber in g throughout, so its record (and interest) does not change.
    const steady = await connectRaw(y.url, { codec: 'msgpack' });
    steady.send([FrameType.SUBSCRIBE, 1, 'g']);
    await steady.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
    const flapper = await connectRaw(y.url, { codec: 'msgpack' });
    const listedOnX = (): string[] =>
      x.server.groups.presenceTable?.list('g').map((member) => member.node) ?? [];
    flapper.send([FrameType.SUBSCRIBE, 2, 'g', { presence: true, data: 'flap' }]);
    await flapper.waitForFrame((f) => isFrame(f, FrameType.REPLY, 2));
    await waitFor(() => listedOnX().includes('Y'), 5000, "X lists Y's member");
    let id = 10;
    for (let i = 0; i < 200; i++) {
      const type = i % 2 === 0 ? FrameType.UNSUBSCRIBE : FrameType.SUBSCRIBE;
      const frameId = id++;
      flapper.send(
        type === FrameType.SUBSCRIBE
          ? [type, frameId, 'g', { presence: true, data: 'flap' }]
          : [type, frameId, 'g'],
      );
      await flapper.waitForFrame((f) => isFrame(f, FrameType.REPLY, frameId));
    }
    // It ends subscribed: X lists it (its last join was not lost on the way).
    await waitFor(() => listedOnX().includes('Y'), 3000, "X lists Y's member after the flaps");
    // Then it goes: its member leaves Y, and must leave X too.
    flapper.terminate();
    await waitFor(
      () => !(y.server.groups.presenceTable?.list('g') ?? []).some((m) => m.node === 'Y'),
      5000,
      'Y dropped its member',
    );
    await waitFor(() => !listedOnX().includes('Y'), 3000, "X dropped Y's member");
    assert.deepEqual(listedOnX(), ['X']);
    watcher.terminate();
    steady.terminate();
  } finally {
    await stopClones(clones);
  }
});
