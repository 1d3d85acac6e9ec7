/**
 * Recovery on the NATS backplane with nodes in separate processes, each on its own server of
 * a three-server NATS cluster: the node the clients are on is killed with SIGKILL while a
 * publisher on another node publishes; the clients fail over to the other nodes and end with
 * every message exactly once, in order, and `recovered: true` (the node they land on fetches
 * what it lacks from the other nodes' history over NATS).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '../src/client/client.js';
import {
  awaitInterest,
  flush,
  prober,
  publishNumbered,
  range,
  sequences,
  startCloneProcess,
  startInbox,
  stopInboxes,
  type CloneProcess,
  type Inbox,
} from './clone-helpers.js';
import { delay, getFreePort, waitFor } from './helpers.js';
import { natsServerAvailable, startNatsCluster, type NatsCluster } from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';

describe('recovery on NATS across a SIGKILL of the node a client is on', { skip }, () => {
  let nats: NatsCluster | undefined;
  const nodes = new Map<string, CloneProcess>();
  const url = (id: string): string => nodes.get(id)?.url ?? '';
  let refugees: Inbox[] = [];
  const recovered: { group: string; recovered: boolean }[][] = [];
  const recoveredCounts: number[] = [];
  let publisher: Client | undefined;

  before(async () => {
    nats = await startNatsCluster(3);
    const urls = nats.urls;
    const ids = ['na', 'nb', 'nc'];
    const started = await Promise.all(
      ids.map(async (id, i) =>
        startCloneProcess({
          id,
          port: await getFreePort(),
          nats: [urls[i] as string],
          history: { size: 5000 },
        }),
      ),
    );
    started.forEach((node, i) => nodes.set(ids[i] as string, node));
    const failover = { reconnect: true, reconnectTimeout: 100 };
    // nc has no member of the group before: it must ask na (and finds nb gone). na is the
    // publishing node itself.
    refugees = [
      await startInbox([url('nb'), url('nc')], ['room'], failover),
      await startInbox([url('nb'), url('na')], ['room'], { ...failover, codec: 'msgpack' }),
    ];
    for (const refugee of refugees) {
      const events: { group: string; recovered: boolean }[] = [];
      let atClose = 0;
      refugee.client.on('close', () => {
        atClose = refugee.of('msg').length;
      });
      refugee.client.on('recover', ({ group, recovered: done }) => {
        events.push({ group, recovered: done });
        // Between the close and RECOVER only recovered messages arrive (live ones wait).
        recoveredCounts.push(refugee.of('msg').length - atClose);
      });
      recovered.push(events);
      assert.equal(refugee.client.getInfo().serverId, 'nb');
    }
    publisher = new Client({ url: url('na'), reconnect: false, silent: true });
    await publisher.start();
    await awaitInterest(prober(publisher, 'room'), refugees, 10_000);
  });

  after(async () => {
    await stopInboxes(refugees);
    await publisher?.stop();
    await Promise.all([...nodes.values()].map((node) => node.stop().catch(() => node.kill())));
    await nats?.stop();
  });

  test('the clients fail over and get every message once, in order, recovered: true', async (t) => {
    assert.ok(publisher);
    const killed = nodes.get('nb');
    assert.ok(killed);
    let killing: Promise<void> | undefined;
    for (let published = 0; published < 600; published += 10) {
      publishNumbered(publisher, 'na', 'room', published, published + 10);
      if (published === 200) killing = killed.kill('SIGKILL');
      await delay(2);
    }
    await killing;
    assert.equal(killed.running, false);
    await waitFor(
      () => recovered.every((events) => events.length > 0),
      15_000,
      'every refugee resumed',
    );
    assert.deepEqual(
      refugees.map((refugee) => refugee.client.getInfo().serverId),
      ['nc', 'na'],
    );
    for (const events of recovered) assert.deepEqual(events, [{ group: 'room', recovered: true }]);
    t.diagnostic(`messages recovered per client: ${recoveredCounts.join(', ')}`);
    await flush([publisher], 'room', refugees);
    for (const refugee of refugees) {
      const seq = sequences(refugee).get('na') ?? [];
      t.diagnostic(`${refugee.client.getInfo().serverId ?? ''}: ${seq.length} messages`);
      assert.deepEqual(seq, range(0, 600), 'every message once, in order');
    }
  });
});
