/**
 * A rogue (admitted) clone announces clone records and names for made-up ids: a server keeps
 * at most `maxClones` of them, whatever their number, and the real mesh still converges and
 * delivers (docs/clones.md, "Bounded membership").
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { InvalidOptionError, SERVER_DEFAULTS, Server } from '../src/index.js';
import { resolveServerOptions } from '../src/server/options.js';
import { FrameType } from '../src/protocol/frames.js';
import { startClone, startInbox, awaitInterest, prober, type Clone } from './clone-helpers.js';
import { admitRogue, handled } from './rogue-clone.js';
import { Cleanup, waitFor, type RawPeer } from './helpers.js';

const MAX_CLONES = 50;
const FORGED = 10_000;
/** Records (or names) per CLONE_SYNC frame: under the 1 MiB `maxPayload`. */
const PER_FRAME = 250;

/** A raw clone `id` linked to `target`, alive to the heartbeat, with its own record sent. */
async function rogue(cleanup: Cleanup, target: Clone, id: string): Promise<RawPeer> {
  const peer = await admitRogue(cleanup, target.url, id);
  peer.send([
    FrameType.CLONE_SYNC,
    [{ id, instance: `${id}-1`, url: null, v: 1, links: [target.id], groups: [] }],
    [],
  ]);
  return peer;
}

/**
 * `count` made-up clones `<prefix>-<n>-x...` (ids of the longest length a record may have, so
 * each costs its most): records linked to the rogue, then as many names with long urls.
 */
function forge(peer: RawPeer, prefix: string, count: number): void {
  const id = (n: number, kind = 'record'): string => `${prefix}-${kind}-${n}-`.padEnd(256, 'x');
  for (let start = 0; start < count; start += PER_FRAME) {
    const records = [];
    for (let n = start; n < Math.min(count, start + PER_FRAME); n++) {
      records.push({ id: id(n), instance: 'i', url: null, v: 1, links: ['rogue'], groups: ['g'] });
    }
    peer.send([FrameType.CLONE_SYNC, records, []]);
  }
  for (let start = 0; start < count; start += PER_FRAME) {
    const names: [string, string][] = [];
    for (let n = start; n < Math.min(count, start + PER_FRAME); n++) {
      // Port 1 of loopback: refused at once should anything dial it.
      names.push([id(n, 'name'), `ws://127.0.0.1:1/${'p'.repeat(2000)}`]);
    }
    peer.send([FrameType.CLONE_SYNC, [], names]);
  }
}

/** What a clone holds of the mesh. */
function held(clone: Clone): { records: number; known: number; refused: number } {
  const { clones } = clone.server.stats();
  return { records: clones.records, known: clones.known, refused: clones.refused };
}

/** True when each of `clones` has a direct link to every other. */
function linked(clones: Clone[]): boolean {
  return clones.every((clone) =>
    clones.every((other) => other === clone || clone.server.clones.links.has(other.id)),
  );
}

describe('attacks with made-up clone records', () => {
  test('maxClones: a positive integer, 1000 by default, checked up front', () => {
    assert.equal(SERVER_DEFAULTS.maxClones, 1000);
    assert.equal(resolveServerOptions({}).maxClones, 1000);
    assert.equal(resolveServerOptions({ maxClones: 3 }).maxClones, 3);
    for (const bad of [0, -1, 1.5, Number.NaN, '10', null]) {
      assert.throws(
        () => new Server({ maxClones: bad as number }),
        InvalidOptionError,
        `maxClones ${String(bad)}`,
      );
    }
  });

  test(`${FORGED} made-up records and names: each clone keeps at most maxClones, the real mesh converges and delivers`, async (t) => {
    const cleanup = new Cleanup();
    try {
      const warnings: string[] = [];
      const logger = {
        warn: (_fields: unknown, message: string) => warnings.push(message),
      };
      const start = async (id: string): Promise<Clone> => {
        const clone = await startClone(id, {
          maxClones: MAX_CLONES,
          clusterAckTimeout: 2000,
          ...(id === 't1' ? { logger } : {}),
        });
        cleanup.add(() => clone.server.stop());
        return clone;
      };
      const t1 = await start('t1');
      const t2 = await start('t2');
      t2.server.addClone({ id: 't1', url: t1.url });
      await waitFor(() => linked([t1, t2]), 5000, 't1 and t2 linked');
      const evil = await rogue(cleanup, t1, 'rogue');
      forge(evil, 'fake', FORGED);
      await handled(evil, 20_000);
      const first = held(t1);
      t.diagnostic(`t1 after ${FORGED} made-up clones: ${JSON.stringify(first)}`);
      // t2's record, the rogue's and made-up ones up to the cap; every name refused.
      assert.equal(first.records, MAX_CLONES);
      assert.equal(first.known, MAX_CLONES);
      assert.equal(first.refused, 2 * FORGED - (MAX_CLONES - 2));
      assert.ok(warnings.length >= 1 && warnings.length <= 2, `${warnings.length} warnings`);
      assert.match(warnings[0] ?? '', /maxClones/);
      // As many again, new ids: nothing more is held, so memory does not follow the count.
      forge(evil, 'more', FORGED);
      await handled(evil, 20_000);
      const second = held(t1);
      t.diagnostic(`t1 after ${2 * FORGED}: ${JSON.stringify(second)}`);
      assert.equal(second.records, first.records);
      assert.equal(second.known, first.known);
      assert.equal(second.refused, first.refused + 2 * FORGED);
      // What t1 passed on stays under t2's own cap.
      assert.ok(held(t2).records <= MAX_CLONES, `t2 holds ${held(t2).records}`);
      // A real clone joins through t1 alone. t2 keeps no record of it (full), but t3 knows t2
      // from t1 and dials it after a while without a link, and a linked clone gets in.
      const t3 = await start('t3');
      t3.server.addClone({ id: 't1', url: t1.url });
      await waitFor(() => linked([t1, t2, t3]), 10_000, 't1, t2 and t3 linked');
      for (const clone of [t1, t2, t3]) {
        const others = [t1, t2, t3].filter((other) => other !== clone).map((other) => other.id);
        await waitFor(
          () => others.every((id) => clone.server.clones.topology().some((c) => c.id === id)),
          5000,
          `${clone.id} holds the records of ${others.join(',')}`,
        );
      }
      const inbox2 = await startInbox(t2.url, ['g']);
      const inbox3 = await startInbox(t3.url, ['g']);
      cleanup.add(() => inbox2.client.stop());
      cleanup.add(() => inbox3.client.stop());
      const publisher = await startInbox(t1.url, []);
      cleanup.add(() => publisher.client.stop());
      await awaitInterest(prober(publisher.client, 'g'), [inbox2, inbox3]);
      assert.ok(evil.open, 'the rogue stays linked: refusing records closes nothing');
    } finally {
      await cleanup.run();
    }
  });
});
