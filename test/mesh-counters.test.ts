/**
 * The counters of the mesh's bounds, read from `server.stats()` and `/metrics` after the
 * event they count: addressed frames from made-up origins, forwarded and dropped as looping,
 * paced presence fetches, clone records refused by `maxClones`, resumes waiting for a slot.
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

/** A raw clone `id` on `target` whose record lists `links`; resolves once `target` holds it. */
async function rogue(
  cleanup: Cleanup,
  target: Clone,
  id: string,
  links: string[],
): Promise<RawPeer> {
  const instance = `${id}-1`;
  const peer = await admitRogue(cleanup, target.url, id);
  peer.send([FrameType.CLONE_UPDATE, { id, instance, url: null, v: 1, links, groups: [] }]);
  await waitFor(
    () => target.server.clones.topology().some((c) => c.id === id),
    5000,
    `the record of ${id}`,
  );
  return peer;
}

async function target(cleanup: Cleanup, options: ServerOptions = {}): Promise<Clone> {
  const clone = await startClone('t1', { metrics: true, clusterAckTimeout: 60_000, ...options });
  cleanup.add(() => clone.server.stop());
  return clone;
}

/** The value of the sample of `name` whose labels include `label` (e.g. `reason="x"`). */
async function sample(clone: Clone, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${clone.port}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name && (match[2] ?? '').includes(label)) return Number(match[3]);
  }
  throw new Error(`no sample ${name}{${label}}`);
}

describe('counters of the mesh bounds, in stats() and /metrics', () => {
  test('addressed frames: made-up origins, forwarded, dropped as looping, paced fetches', async () => {
    const cleanup = new Cleanup();
    try {
      const t1 = await target(cleanup, { presence: { allGroups: true } });
      // r1 claims a link to x: frames for x go to r1, whatever clone sent them.
      const r1 = await rogue(cleanup, t1, 'r1', ['t1', 'x']);
      const r2 = await rogue(cleanup, t1, 'r2', ['t1']);
      const forged = 300;
      for (let i = 0; i < forged; i++) r2.send([FrameType.CLONE_ACK, `made-up-${i}`, 't1', 1]);
      const same = 60;
      for (let i = 0; i < same; i++) r2.send([FrameType.CLONE_ACK, 'r2', 'x', 1]);
      const fetches = 100;
      for (let i = 0; i < fetches; i++) r2.send([FrameType.CLONE_PRESENCE_FETCH, 'r2', 't1', 'g']);
      await handled(r2);
      await handled(r1);
      const answers = r2.frames.filter((f) => isFrame(f, FrameType.CLONE_PRESENCE)).length;
      const { addressed } = t1.server.stats().clones;
      assert.equal(addressed.unknownOrigin, forged);
      assert.equal(addressed.forwarded + addressed.looping, same);
      assert.ok(addressed.forwarded >= LOOP_BURST, `${addressed.forwarded} forwarded`);
      assert.ok(addressed.looping >= 1, `${addressed.looping} dropped as looping`);
      const passedOn = r1.frames.filter((f) => isFrame(f, FrameType.CLONE_ACK) && f[2] === 'x');
      assert.equal(passedOn.length, addressed.forwarded);
      assert.ok(answers >= 1 && answers <= LOOP_BURST + 2, `${answers} answers`);
      assert.equal(addressed.fetchesPaced, fetches - answers);
      const dropped = 'wsmesh_clone_addressed_dropped_total';
      assert.equal(await sample(t1, dropped, 'reason="unknown_origin"'), forged);
      assert.equal(await sample(t1, dropped, 'reason="looping"'), addressed.looping);
      assert.equal(await sample(t1, dropped, 'reason="fetch_paced"'), addressed.fetchesPaced);
      assert.equal(await sample(t1, 'wsmesh_clone_addressed_forwarded_total'), addressed.forwarded);
    } finally {
      await cleanup.run();
    }
  });

  test('clone records held and refused by maxClones', async () => {
    const cleanup = new Cleanup();
    try {
      const maxClones = 5;
      const t1 = await target(cleanup, { maxClones });
      const evil = await rogue(cleanup, t1, 'rogue', ['t1']);
      const records = Array.from({ length: 20 }, (_, n) => ({
        id: `fake-${n}`,
        instance: 'i',
        url: null,
        v: 1,
        links: ['rogue'],
        groups: [],
      }));
      evil.send([FrameType.CLONE_SYNC, records, []]);
      evil.send([FrameType.CLONE_SYNC, [], [['named', 'ws://127.0.0.1:1']]]);
      await handled(evil);
      const { clones } = t1.server.stats();
      assert.equal(clones.records, maxClones);
      assert.equal(clones.known, maxClones);
      // 16 of the 20 records (the rogue's own took one place) and the name.
      assert.equal(clones.refused, 17);
      assert.equal(await sample(t1, 'wsmesh_clone_records'), maxClones);
      assert.equal(await sample(t1, 'wsmesh_clone_records_refused_total'), 17);
    } finally {
      await cleanup.run();
    }
  });

  test('resumes running and waiting for a slot of their connection', async () => {
    const cleanup = new Cleanup();
    try {
      const t1 = await target(cleanup, { history: { size: 10 } });
      // A linked clone that never answers history requests: every resume waits for it.
      const silent = await rogue(cleanup, t1, 'silent', ['t1']);
      const peer = await connectRaw(t1.url, { codec: 'msgpack' });
      cleanup.add(() => peer.terminate());
      const groups = 20;
      for (let g = 0; g < groups; g++)
        peer.send([FrameType.SUBSCRIBE_SINCE, g + 1, `r${g}`, { s: {}, t: 0 }]);
      await handled(peer);
      await waitFor(
        () =>
          silent.frames.filter((f) => isFrame(f, FrameType.HISTORY_REQUEST)).length >=
          MAX_RESUMES_PER_CONNECTION,
        5000,
        'the first resumes ask the silent clone',
      );
      const waiting = groups - MAX_RESUMES_PER_CONNECTION;
      const { history } = t1.server.stats();
      assert.equal(history.resumesRunning, MAX_RESUMES_PER_CONNECTION);
      assert.equal(history.resumesWaiting, waiting);
      assert.equal(await sample(t1, 'wsmesh_resumes_running'), MAX_RESUMES_PER_CONNECTION);
      assert.equal(await sample(t1, 'wsmesh_resumes_waiting'), waiting);
      silent.terminate();
      await waitFor(
        () => {
          const now = t1.server.stats().history;
          return now.resumesRunning === 0 && now.resumesWaiting === 0;
        },
        10_000,
        'every resume ended',
      );
      assert.equal(await sample(t1, 'wsmesh_resumes_waiting'), 0);
    } finally {
      await cleanup.run();
    }
  });
});
