/**
 * Recovery on the NATS backplane with nodes in separate processes, each on its own server of
 * a three-server NATS cluster: the node the clients are on is killed with SIGKILL while a
 * publisher on another node publishes; the clients fail over to the other nodes and end with
 * every message exactly once, in order, and `recovered: true` (the node they land on fetches
 * what it lacks from the other nodes' history over NATS).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../src/client/client.js';
import { Server, type BackplaneState } from '../src/index.js';
import { natsBackplane } from '../src/nats.js';
import { NatsHistory } from '../src/nats/history.js';
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
import { delay, getFreePort, stopAll, waitFor } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  stopNode,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';
/** NATS max_payload of the paging test: far below the 64 KiB a page may otherwise take. */
const MAX_PAYLOAD = 16 * 1024;

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
      recovered.push(watchRecovery(refugee, recoveredCounts));
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

describe('recovery on NATS when a node loses its NATS server', { skip }, () => {
  let nats: NatsCluster | undefined;
  const servers: Server[] = [];

  before(async () => {
    nats = await startNatsCluster(3);
  });

  after(async () => {
    await stopAll(...servers);
    await nats?.stop();
  });

  test('what was published while it reconnected comes from the other nodes, once and in order', async (t) => {
    // C's member misses what A publishes while C reconnects; B's member misses what C
    // publishes meanwhile (the NATS client drops it), and gets it once the gap shows.
    assert.ok(nats);
    const [urlA, urlB, dying] = [nats.urls[0], nats.urls[1], nats.nodes[2]];
    assert.ok(urlA !== undefined && urlB !== undefined && dying !== undefined);
    const history = { size: 5000 };
    const a = await startNatsServer(urlA, { id: 'A', history });
    servers.push(a.server);
    const b = await startNatsServer(urlB, { id: 'B', history });
    servers.push(b.server);
    // C knows only the url of the NATS server that dies: it learns the others from NATS.
    const c = await startNatsServer(dying.url, { id: 'C', history });
    servers.push(c.server);
    const inbox = await startInbox(c.url, ['room']);
    const onB = await startInbox(b.url, ['room']);
    const publisher = new Client({ url: a.url, reconnect: false, silent: true });
    await publisher.start();
    const publisherC = new Client({ url: c.url, reconnect: false, silent: true });
    await publisherC.start();
    try {
      await awaitInterest(prober(publisher, 'room'), [inbox, onB], 10_000);
      await awaitInterest(prober(publisherC, 'room'), [onB], 10_000);
      const state = (): BackplaneState | null => c.server.stats().backplane;
      const before = state()?.server;
      let killing: Promise<void> | undefined;
      let published = 0;
      for (; published < 3000; published += 10) {
        publishNumbered(publisher, 'A', 'room', published, published + 10);
        publishNumbered(publisherC, 'C', 'room', published, published + 10);
        if (published === 200) killing = stopNode(dying, 'SIGKILL');
        await delay(2);
        // Go on until C is back on another NATS server and messages flowed for a while.
        if (killing !== undefined && published >= 600) {
          const now = state();
          if (now?.status === 'connected' && now.server !== before) {
            published += 10;
            break;
          }
        }
      }
      await killing;
      publishNumbered(publisher, 'A', 'room', published, published + 200);
      publishNumbered(publisherC, 'C', 'room', published, published + 200);
      published += 200;
      await flush([publisher, publisherC], 'room', [inbox, onB]);
      const seq = sequences(inbox).get('A') ?? [];
      t.diagnostic(`published ${published}, C's member got ${seq.length}`);
      const runs: string[] = [];
      for (let i = 0; i < seq.length; i++) {
        const start = seq[i] as number;
        while (i + 1 < seq.length && seq[i + 1] === (seq[i] as number) + 1) i++;
        runs.push(`${start}-${String(seq[i])}`);
      }
      const { healed } = c.server.stats().history;
      t.diagnostic(`runs: ${runs.join(' ')}; healed: ${healed}`);
      assert.deepEqual(seq, range(0, published), 'every message once, in order');
      // Some were published while C was away: they came from the other nodes' history.
      assert.ok(healed > 0, 'C healed what it missed');
      // C's messages reach B's member once each; those C published while it was away come
      // late (out of order) when the first one after them shows the gap.
      const fromC = sequences(onB).get('C') ?? [];
      t.diagnostic(
        `B's member got ${fromC.length} of C's; B healed ${b.server.stats().history.healed}`,
      );
      assert.deepEqual(
        [...fromC].sort((x, y) => x - y),
        range(0, published),
        "C's messages once",
      );
    } finally {
      await publisher.stop();
      await publisherC.stop();
      await stopInboxes([inbox, onB]);
    }
  });
});

describe('history between NATS nodes in pages under max_payload', { skip }, () => {
  let nats: NatsCluster | undefined;
  let config: string | undefined;
  const servers: Server[] = [];

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wsmesh-nats-'));
    config = join(dir, 'small-payload.conf');
    await writeFile(config, `max_payload: ${MAX_PAYLOAD}\n`);
    nats = await startNatsCluster(2, ['-c', config]);
  });

  after(async () => {
    await stopAll(...servers);
    await nats?.stop();
    if (config !== undefined) await rm(dirname(config), { recursive: true, force: true });
  });

  test('a resume on another node gets a long history, paged, once and in order', async () => {
    assert.ok(nats);
    const [urlA, urlC] = nats.urls;
    assert.ok(urlA !== undefined && urlC !== undefined);
    const history = { size: 5000 };
    const a = await startNatsServer(urlA, { id: 'A', history });
    servers.push(a.server);
    const c = await startNatsServer(urlC, { id: 'C', history });
    servers.push(c.server);
    await waitFor(() => c.server.clones.clones.size === 1, 5000, 'C sees A');
    const publisher = new Client({ url: a.url, reconnect: false, silent: true });
    await publisher.start();
    const inbox = await startInbox(c.url, []);
    try {
      const t = Date.now() - 1;
      const pad = 'x'.repeat(1000);
      const count = 1500;
      // About 1.5 MB of history on A only (C has no member of the group yet).
      for (let n = 0; n < count; n++)
        await publisher.sendMesToGroup({ id: 'room', route: 'msg', data: { p: 'A', n, pad } });
      const events = recoveredEvents(inbox.client);
      await inbox.client.subscribe({ id: 'room', since: { room: { s: {}, t } } });
      assert.deepEqual(events, [{ group: 'room', recovered: true }]);
      assert.deepEqual(sequences(inbox).get('A'), range(0, count), 'every message once, in order');
    } finally {
      await publisher.stop();
      await stopInboxes([inbox]);
    }
  });
});

describe('history between NATS nodes is bounded in memory', { skip }, () => {
  let nats: NatsCluster | undefined;
  const servers: Server[] = [];

  before(async () => {
    nats = await startNatsCluster(2);
  });

  after(async () => {
    await stopAll(...servers);
    await nats?.stop();
  });

  test('a resume whose answers pass the node budget gives them up and reports recovered: false', async () => {
    assert.ok(nats);
    const [urlA, urlC] = nats.urls;
    assert.ok(urlA !== undefined && urlC !== undefined);
    const history = { size: 1000 };
    const a = await startNatsServer(urlA, { id: 'A', history });
    servers.push(a.server);
    const backplane = natsBackplane({ servers: urlC, heartbeatInterval: 200 });
    const c = new Server({ id: 'C', port: 0, host: '127.0.0.1', history, backplane });
    servers.push(c);
    await c.start();
    await waitFor(() => c.clones.clones.size === 1, 5000, 'C sees A');
    const peers = backplane.history;
    assert.ok(peers instanceof NatsHistory);
    // 100 messages of about 1 kB on A; C may hold 20 kB of other nodes' history.
    peers.maxPendingBytes = 20_000;
    const publisher = new Client({ url: a.url, reconnect: false, silent: true });
    await publisher.start();
    const inbox = await startInbox(`ws://127.0.0.1:${String(c.port)}${c.path}`, []);
    try {
      const t = Date.now() - 1;
      const pad = 'x'.repeat(1000);
      for (let n = 0; n < 100; n++)
        await publisher.sendMesToGroup({ id: 'room', route: 'msg', data: { p: 'A', n, pad } });
      const events = recoveredEvents(inbox.client);
      await inbox.client.subscribe({ id: 'room', since: { room: { s: {}, t } } });
      assert.deepEqual(events, [{ group: 'room', recovered: false }]);
      assert.equal(peers.pendingBytes, 0, 'nothing held once the request ended');
    } finally {
      await publisher.stop();
      await stopInboxes([inbox]);
    }
  });
});

/** Records the client's `recover` events. */
function recoveredEvents(client: Client): { group: string; recovered: boolean }[] {
  const events: { group: string; recovered: boolean }[] = [];
  client.on('recover', ({ group, recovered }) => events.push({ group, recovered }));
  return events;
}
