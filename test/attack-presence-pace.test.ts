/**
 * The pace of answers to repeated presence fetches (PROTOCOL.md 2.11) from a raw client's
 * side: a client on X that asks X for the presence of a group whose members are all on Y,
 * one query after the other, makes X fetch from Y each time. Past Y's pace its queries, and
 * every other client's query for the group meanwhile, must still list Y's members, not time
 * out empty.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LOOP_BURST } from '../src/cluster/addressed.js';
import { FrameType } from '../src/protocol/frames.js';
import { startMesh, stopClones } from './clone-helpers.js';
import { connectRaw, isFrame, waitFor } from './helpers.js';

const TIMEOUT = 2000;

test('presence queries asked faster than the fetch pace still list the other clone members', async () => {
  const clones = await startMesh(['X', 'Y'], {
    presence: { allGroups: true },
    clusterAckTimeout: TIMEOUT,
  });
  const [x, y] = clones as [(typeof clones)[0], (typeof clones)[0]];
  const member = await connectRaw(y.url, { codec: 'msgpack' });
  const asker = await connectRaw(x.url, { codec: 'msgpack' });
  try {
    member.send([FrameType.SUBSCRIBE, 1, 'g', { presence: true, data: 'here' }]);
    await member.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
    let next = 100;
    /** One query; its answer (the members listed) and how long it took. */
    const query = async (): Promise<{ members: unknown; ms: number }> => {
      const id = next++;
      const started = performance.now();
      asker.send([FrameType.PRESENCE, id, 'g', false]);
      const answer = await asker.waitForFrame(
        (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
        { timeoutMs: TIMEOUT + 3000 },
      );
      return { members: (answer as unknown[])[2], ms: performance.now() - started };
    };
    // X learns Y's record (listing g) and fetches from Y.
    await waitFor(
      async () => {
        const { members } = await query();
        return Array.isArray(members) && members.length === 1;
      },
      5000,
      "X lists Y's member",
    );
    // One after the other, so none shares the fetch of another: past the burst of Y's pace.
    for (let i = 0; i < 3 * LOOP_BURST; i++) {
      const { members, ms } = await query();
      const listed = members as [unknown, unknown, unknown][];
      assert.equal(listed.length, 1, `query ${i} listed ${JSON.stringify(members)}`);
      assert.deepEqual(listed[0]?.slice(1), ['here', 'Y']);
      assert.ok(ms < TIMEOUT / 2, `query ${i} took ${Math.round(ms)} ms`);
    }
  } finally {
    member.terminate();
    asker.terminate();
    await stopClones(clones);
  }
});
