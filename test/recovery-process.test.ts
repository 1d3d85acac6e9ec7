/**
 * Recovery with clones in separate processes: the clone a client is on is killed with
 * SIGKILL while a publisher on another clone publishes; the client fails over to another url
 * and ends with every message exactly once, in order, and `recovered: true`.
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
  watchRecovery,
} from './clone-helpers.js';
import { delay, getFreePort, waitFor } from './helpers.js';

describe('recovery across a SIGKILL of the clone a client is on', () => {
  const processes: CloneProcess[] = [];
  const ports = new Map<string, number>();
  const url = (id: string): string => `ws://127.0.0.1:${ports.get(id) ?? 0}`;
  let refugees: Inbox[] = [];
  const recovered: { group: string; recovered: boolean }[][] = [];
  let publisher: Client | undefined;
  const recoveredCounts: number[] = [];

  before(async () => {
    for (const id of ['r1', 'r2', 'r3']) ports.set(id, await getFreePort());
    const config = (id: string, peers: string[]) => ({
      id,
      port: ports.get(id) ?? 0,
      peers: peers.map((peer) => ({ id: peer, url: url(peer) })),
      token: 'mesh-secret',
      history: { size: 5000 },
    });
    processes.push(await startCloneProcess(config('r1', [])));
    processes.push(
      ...(await Promise.all([
        startCloneProcess(config('r2', ['r1'])),
        startCloneProcess(config('r3', ['r1'])),
      ])),
    );
    const failover = { reconnect: true, reconnectTimeout: 100 };
    // r2 has no subscriber of the group: it must ask r1. r1 is the publishing clone itself.
    refugees = [
      await startInbox([url('r3'), url('r2')], ['room'], failover),
      await startInbox([url('r3'), url('r1')], ['room'], { ...failover, codec: 'msgpack' }),
    ];
    for (const refugee of refugees) {
      recovered.push(watchRecovery(refugee, recoveredCounts));
      assert.equal(refugee.client.getInfo().serverId, 'r3');
    }
    publisher = new Client({ url: url('r1'), reconnect: false, silent: true });
    await publisher.start();
    await awaitInterest(prober(publisher, 'room'), refugees, 10_000);
  });

  after(async () => {
    await stopInboxes(refugees);
    await publisher?.stop();
    await Promise.all(processes.map((clone) => clone.stop().catch(() => clone.kill())));
  });

  test('the client fails over and gets every message once, in order, recovered: true', async (t) => {
    assert.ok(publisher);
    const killed = processes[2];
    assert.ok(killed);
    let killing: Promise<void> | undefined;
    for (let published = 0; published < 600; published += 10) {
      publishNumbered(publisher, 'r1', 'room', published, published + 10);
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
      ['r2', 'r1'],
    );
    for (const events of recovered) assert.deepEqual(events, [{ group: 'room', recovered: true }]);
    t.diagnostic(`messages recovered per client: ${recoveredCounts.join(', ')}`);
    await flush([publisher], 'room', refugees);
    for (const refugee of refugees) {
      const seq = sequences(refugee).get('r1') ?? [];
      t.diagnostic(`${refugee.client.getInfo().serverId ?? ''}: ${seq.length} messages`);
      assert.deepEqual(seq, range(0, 600), 'every message once, in order');
    }
  });
});
