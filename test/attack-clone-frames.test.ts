/**
 * Attacks from rogue clones on the addressed clone frames (50-53) and on resume slots from a
 * raw client: forged origins, frames bounced between two links, and one connection that
 * resumes many groups at once.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { ServerOptions } from '../src/index.js';
import { LOOP_BURST } from '../src/cluster/addressed.js';
import { MAX_RESUMES_PER_CONNECTION } from '../src/groups/resume.js';
import { FrameType } from '../src/protocol/frames.js';
import { startClone, type Clone } from './clone-helpers.js';
import { admitRogue, handled } from './rogue-clone.js';
import { Cleanup, connectRaw, isFrame, waitFor, type RawPeer } from './helpers.js';

/** What the tests read of the clone manager's inner state. */
interface Inner {
  waits: {
    addressed: { forwarded: number; unknownOrigin: number };
    interestAcks: { acked: Map<string, number> };
  };
}

function inner(clone: Clone): Inner {
  return clone.server.clones as unknown as Inner;
}

/**
 * A raw clone `id` on `target`, alive to the heartbeat, whose record lists `links` and
 * `groups`; resolves once `target` holds that record.
 */
async function rogue(
  cleanup: Cleanup,
  target: Clone,
  id: string,
  links: string[],
  groups: string[] = [],
): Promise<RawPeer> {
  const peer = await admitRogue(cleanup, target.url, id);
  peer.send([FrameType.CLONE_UPDATE, { id, instance: `${id}-1`, url: null, v: 1, links, groups }]);
  await waitFor(
    () =>
      target.server.clones
        .topology()
        .some((c) => c.id === id && links.every((link) => c.links.includes(link))),
    5000,
    `the record of ${id}`,
  );
  return peer;
}

async function target(cleanup: Cleanup, options: ServerOptions = {}): Promise<Clone> {
  const clone = await startClone('t1', { clusterAckTimeout: 60_000, ...options });
  cleanup.add(() => clone.server.stop());
  return clone;
}

describe('attacks on the addressed clone frames and on resume slots', () => {
  test('frames 50-53 from made-up origins keep no state: presence and acknowledgements stay bounded', async () => {
    const cleanup = new Cleanup();
    try {
      const maxMembers = 50;
      const t1 = await target(cleanup, { presence: { allGroups: true, maxMembers } });
      const client = await connectRaw(t1.url, { codec: 'msgpack' });
      cleanup.add(() => client.terminate());
      // t1 has a subscriber in h, so it keeps other clones' presence of h.
      client.send([FrameType.SUBSCRIBE, 1, 'h', { presence: true }]);
      await client.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
      const evil = await rogue(cleanup, t1, 'rogue', ['t1'], ['h']);
      const forged = 10_000;
      for (let i = 0; i < forged; i++) {
        const from = `made-up-${i}`;
        evil.send([
          FrameType.CLONE_PRESENCE,
          from,
          't1',
          'h',
          i % 2 === 0,
          [[`k${i}`, `c${i}`, null]],
          [],
        ]);
        evil.send([FrameType.CLONE_ACK, from, 't1', 1]);
      }
      // Its own id, with ten times the cap.
      const entries = Array.from({ length: maxMembers * 10 }, (_, n) => [`r${n}`, `rc${n}`, null]);
      evil.send([FrameType.CLONE_PRESENCE, 'rogue', 't1', 'h', true, entries, []]);
      await handled(evil);
      const table = t1.server.groups.presenceTable;
      assert.ok(table !== undefined);
      assert.deepEqual([...table.nodes()], ['rogue'], 'only the clone that is known');
      // The local member and what the cap leaves for the rogue.
      assert.equal(table.count('h'), maxMembers);
      assert.equal(table.remoteEntries, maxMembers - 1);
      const { waits } = inner(t1);
      assert.ok(waits.interestAcks.acked.size <= 1, `${waits.interestAcks.acked.size} acks kept`);
      assert.ok(waits.addressed.unknownOrigin >= 2 * forged);
      assert.ok(evil.open);
    } finally {
      await cleanup.run();
    }
  });

  test('repeated presence fetches from one clone get a paced answer, not one each (no amplifier)', async () => {
    const cleanup = new Cleanup();
    try {
      const t1 = await target(cleanup, { presence: { allGroups: true } });
      const client = await connectRaw(t1.url, { codec: 'msgpack' });
      cleanup.add(() => client.terminate());
      client.send([FrameType.SUBSCRIBE, 1, 'h', { presence: true, data: 'x'.repeat(1000) }]);
      await client.waitForFrame((f) => isFrame(f, FrameType.REPLY, 1));
      const evil = await rogue(cleanup, t1, 'rogue', ['t1']);
      await handled(evil);
      const from = evil.frames.length;
      const fetches = 500;
      for (let i = 0; i < fetches; i++)
        evil.send([FrameType.CLONE_PRESENCE_FETCH, 'rogue', 't1', 'h']);
      await handled(evil);
      const answers = evil.frames
        .slice(from)
        .filter((f) => isFrame(f, FrameType.CLONE_PRESENCE)) as unknown[][];
      assert.ok(answers.length >= 1, 'answered');
      assert.ok(
        answers.length <= LOOP_BURST + 2,
        `${answers.length} answers to ${fetches} fetches`,
      );
      assert.deepEqual(answers[0]?.slice(0, 5), [
        FrameType.CLONE_PRESENCE,
        't1',
        'rogue',
        'h',
        true,
      ]);
    } finally {
      await cleanup.run();
    }
  });

  test('a frame bounced between two rogue links is not forwarded forever', async () => {
    const cleanup = new Cleanup();
    try {
      const t1 = await target(cleanup);
      // r1 claims a link to clone x, so t1 routes x through r1; r2 plays the rest of a loop
      // and sends back to t1 every frame for x that t1 passes to r1.
      const r1 = await rogue(cleanup, t1, 'r1', ['t1', 'x']);
      const r2 = await rogue(cleanup, t1, 'r2', ['t1']);
      const frames: unknown[][] = [
        [FrameType.CLONE_ACK, 'r2', 'x', 1],
        [FrameType.CLONE_DELIVERED, 'r2', 'x', 7, 1],
        [FrameType.CLONE_PRESENCE, 'r2', 'x', 'g', true, [['k', 'c', null]], []],
        [FrameType.CLONE_PRESENCE_FETCH, 'r2', 'x', 'g'],
      ];
      const rounds = 200;
      for (const frame of frames) {
        const type = frame[0] as number;
        const count = (): number => r1.frames.filter((f) => isFrame(f, type)).length;
        let round = 0;
        for (; round < rounds; round++) {
          const before = count();
          r2.send(frame);
          await handled(r2);
          // What t1 wrote to r1 for it is there once r1's own ping is answered.
          await handled(r1);
          if (count() === before) break;
        }
        assert.ok(count() >= 1, `frame ${type} is forwarded at first`);
        assert.ok(round < rounds, `frame ${type} went round ${round} times`);
        assert.ok(count() <= LOOP_BURST + 2, `frame ${type} forwarded ${count()} times`);
      }
      // Back over the link it came on: never.
      const from = r1.frames.length;
      r1.send([FrameType.CLONE_ACK, 'r1', 'x', 2]);
      await handled(r1);
      assert.equal(r1.frames.slice(from).filter((f) => isFrame(f, FrameType.CLONE_ACK)).length, 0);
      assert.ok(inner(t1).waits.addressed.forwarded <= 4 * (LOOP_BURST + 2));
    } finally {
      await cleanup.run();
    }
  });

  test(`one connection runs at most ${MAX_RESUMES_PER_CONNECTION} resumes at once; the others wait their turn and recover`, async () => {
    const cleanup = new Cleanup();
    try {
      const t1 = await target(cleanup, { history: { size: 10 } });
      // A linked clone that never answers history requests: every resume waits for it.
      const silent = await rogue(cleanup, t1, 'silent', ['t1']);
      for (let g = 0; g < 30; g++) t1.server.groups.publish(`r${g}`, { data: g });
      const peer = await connectRaw(t1.url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const groups = 30;
      for (let g = 0; g < groups; g++)
        peer.send([FrameType.SUBSCRIBE_SINCE, g + 1, `r${g}`, { s: {}, t: 0 }]);
      // Answered after every SUBSCRIBE_SINCE above was handled.
      await handled(peer);
      const { resumes } = t1.server;
      await waitFor(
        () =>
          silent.frames.filter((f) => isFrame(f, FrameType.HISTORY_REQUEST)).length >=
          MAX_RESUMES_PER_CONNECTION,
        5000,
        'the first resumes ask the silent clone',
      );
      assert.equal(resumes.running, MAX_RESUMES_PER_CONNECTION);
      assert.equal(resumes.queued, groups - MAX_RESUMES_PER_CONNECTION);
      // Joined at once and held back, as a running resume is.
      const [ws] = [...t1.server.clients.values()];
      assert.ok(ws !== undefined);
      assert.equal(ws.groups.size, groups);
      // Another connection still gets slots of its own.
      const other = await connectRaw(t1.url, { codec: 'msgpack' });
      cleanup.add(() => other.terminate());
      other.send([FrameType.SUBSCRIBE_SINCE, 1, 'r0', { s: {}, t: 0 }]);
      await waitFor(
        () => resumes.running === MAX_RESUMES_PER_CONNECTION + 1,
        5000,
        'the other connection resumes',
      );
      // The silent clone goes: its requests end, and every resume runs and recovers.
      silent.terminate();
      for (let g = 0; g < groups; g++) {
        const reply = await peer.waitForFrame((f) => isFrame(f, FrameType.REPLY, g + 1), {
          timeoutMs: 10_000,
        });
        assert.deepEqual(reply, [FrameType.REPLY, g + 1, true]);
      }
      const recovers = peer.frames.filter((f) => isFrame(f, FrameType.RECOVER));
      assert.equal(recovers.length, groups);
      assert.ok(recovers.every((f) => (f as unknown[])[2] === true));
      await waitFor(() => resumes.running === 0 && resumes.queued === 0, 5000, 'all ended');
    } finally {
      await cleanup.run();
    }
  });
});
