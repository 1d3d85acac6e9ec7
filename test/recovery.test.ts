/**
 * Recovery in one process with real sockets: a client that reconnects to the same server
 * gets what it missed, once and in order, then live messages; `recovered: false` when history
 * is too short; `subscribe({ id, since })` from a saved position; a clone link that is cut and
 * comes back fetches what its subscribers missed; history options are validated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '../src/client/client.js';
import { InvalidArgumentError, InvalidOptionError, Server } from '../src/index.js';
import type { MessagePosition } from '../src/index.js';
import {
  awaitInterest,
  flush,
  linkedIds,
  prober,
  publishNumbered,
  range,
  sequences,
  startClone,
  startInbox,
  startTcpProxy,
  stopInboxes,
  type Inbox,
} from './clone-helpers.js';
import { Cleanup, getFreePort, nextEvent, startServer, waitFor } from './helpers.js';
import { FanoutMessage } from '../src/groups/fanout-message.js';

/** Records the client's `recover` events. */
function recoveries(client: Client): { group: string; recovered: boolean }[] {
  const events: { group: string; recovered: boolean }[] = [];
  client.on('recover', ({ group, recovered }) => events.push({ group, recovered }));
  return events;
}

/**
 * Drops the server side of `client`'s connection and resolves once the client saw it close;
 * it reconnects by itself `reconnectTimeout` later, so synchronous code right after this
 * runs while it is away.
 */
async function dropConnection(server: Server, client: Client): Promise<void> {
  const id = client.getInfo().connectionId;
  const ws = id === undefined ? undefined : server.clients.get(id);
  assert.ok(ws, 'the client is connected');
  const closed = nextEvent(client, 'close');
  ws.close(4000, 'test drop');
  await closed;
}

describe('recovery on one server', () => {
  test('a client that reconnects gets what it missed, once and in order, then live messages', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 1000 } });
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['room'], { reconnect: true, reconnectTimeout: 200 });
      cleanup.add(() => stopInboxes([inbox]));
      const events = recoveries(inbox.client);
      const send = (from: number, to: number): void => {
        for (let n = from; n < to; n++)
          server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n } });
      };
      send(0, 50);
      await waitFor(() => inbox.of('msg').length === 50, 5000, 'first 50');
      await dropConnection(server, inbox.client);
      send(50, 120); // while the client is away
      await waitFor(() => events.length === 1, 5000, 'recover event');
      assert.deepEqual(events, [{ group: 'room', recovered: true }]);
      send(120, 150);
      await waitFor(() => inbox.of('msg').length >= 150, 5000, 'all 150');
      assert.deepEqual(sequences(inbox).get('s'), range(0, 150));
      const { history } = server.stats();
      assert.equal(history.recovered, 70);
      assert.equal(history.resumesComplete, 1);
      assert.equal(history.kept, 150);
    } finally {
      await cleanup.run();
    }
  });

  test('history shorter than the gap gives recovered: false, and what history still had', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 10 } });
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['room'], { reconnect: true, reconnectTimeout: 200 });
      cleanup.add(() => stopInboxes([inbox]));
      const events = recoveries(inbox.client);
      server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n: 0 } });
      await waitFor(() => inbox.of('msg').length === 1, 5000, 'first message');
      await dropConnection(server, inbox.client);
      for (let n = 1; n < 40; n++)
        server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n } });
      await waitFor(() => events.length === 1, 5000, 'recover event');
      assert.deepEqual(events, [{ group: 'room', recovered: false }]);
      assert.deepEqual(sequences(inbox).get('s'), [0, ...range(30, 40)]);
    } finally {
      await cleanup.run();
    }
  });

  test('subscribe({ id, since }) resumes a new client from a saved mes.position', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer();
      server.groups.add({ id: 'room', history: { size: 100, ttl: 60_000 } });
      cleanup.add(() => server.stop());
      let saved: MessagePosition | undefined;
      const first = new Client({ url, reconnect: false, silent: true });
      first.addRoute({
        handler: ({ mes }) => {
          if ((mes.data as { n: number }).n === 9) saved = mes.position;
        },
      });
      await first.start();
      await first.subscribe({ id: 'room' });
      for (let n = 0; n < 10; n++)
        server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n } });
      await waitFor(() => saved !== undefined, 5000, 'position of message 9');
      await first.stop();
      for (let n = 10; n < 20; n++)
        server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n } });
      // What an application would store and read back.
      const since = JSON.parse(JSON.stringify(saved)) as MessagePosition;
      const second = await startInbox(url, []);
      cleanup.add(() => stopInboxes([second]));
      const events = recoveries(second.client);
      await second.client.subscribe({ id: 'room', since });
      assert.deepEqual(events, [{ group: 'room', recovered: true }]);
      assert.deepEqual(sequences(second).get('s'), range(10, 20));
      await assert.rejects(
        second.client.subscribe({ id: 'other', since }),
        (error: unknown) => error instanceof InvalidArgumentError,
      );
    } finally {
      await cleanup.run();
    }
  });

  test('a message to two groups is recovered once for a member of both; broadcasts are not kept', async () => {
    const cleanup = new Cleanup();
    try {
      const { server, url } = await startServer({ history: { size: 100 } });
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['a', 'b'], { reconnect: true, reconnectTimeout: 200 });
      cleanup.add(() => stopInboxes([inbox]));
      const events = recoveries(inbox.client);
      const positions: unknown[] = [];
      inbox.client.addRoute({ handler: ({ mes }) => void positions.push(mes.position) });
      server.groups.sendMes({ id: ['a', 'b'], route: 'msg', data: { p: 's', n: 0 } });
      await waitFor(() => inbox.of('msg').length === 1, 5000, 'first message');
      const first = positions[0] as Record<string, { s: Record<string, number> }>;
      assert.deepEqual(Object.keys(first).sort(), ['a', 'b'], 'a position in each group');
      await dropConnection(server, inbox.client);
      for (let n = 1; n < 20; n++)
        server.groups.sendMes({ id: ['a', 'b'], route: 'msg', data: { p: 's', n } });
      server.groups.sendMes({ route: 'msg', data: { p: 'broadcast', n: 0 } });
      await waitFor(() => events.length === 2, 5000, 'both groups resumed');
      assert.deepEqual(events.map((event) => event.group).sort(), ['a', 'b']);
      assert.ok(events.every((event) => event.recovered));
      server.groups.sendMes({ id: 'a', route: 'msg', data: { p: 's', n: 20 } });
      await waitFor(() => inbox.of('msg').length >= 21, 5000, 'the live one');
      assert.deepEqual(sequences(inbox).get('s'), range(0, 21));
      assert.equal(sequences(inbox).get('broadcast'), undefined, 'broadcasts are live only');
    } finally {
      await cleanup.run();
    }
  });

  test('a long recovery goes out as the client reads, not past its outbound buffer', async () => {
    const cleanup = new Cleanup();
    try {
      // 8,000 messages of ~250 bytes (2 MB) for a connection allowed 256 KiB of backlog.
      const { server, url } = await startServer({
        history: { size: 10_000 },
        maxBufferedBytes: 256 * 1024,
      });
      cleanup.add(() => server.stop());
      const inbox = await startInbox(url, ['room'], { reconnect: true, reconnectTimeout: 200 });
      cleanup.add(() => stopInboxes([inbox]));
      const events = recoveries(inbox.client);
      const closes: number[] = [];
      inbox.client.on('close', ({ code }) => closes.push(code));
      server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n: 0 } });
      await waitFor(() => inbox.of('msg').length === 1, 5000, 'first message');
      await dropConnection(server, inbox.client);
      const text = 'x'.repeat(200);
      for (let n = 1; n < 8000; n++)
        server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n, text } });
      await waitFor(() => events.length === 1, 20_000, 'recover event');
      assert.deepEqual(events, [{ group: 'room', recovered: true }]);
      assert.deepEqual(sequences(inbox).get('s'), range(0, 8000));
      assert.deepEqual(closes, [4000], 'never closed as a slow consumer');
    } finally {
      await cleanup.run();
    }
  });

  test('history options are checked up front', () => {
    assert.throws(() => new Server({ history: { size: -1 } }), InvalidOptionError);
    assert.throws(() => new Server({ history: { size: 10, ttl: 0 } }), InvalidOptionError);
    assert.throws(
      () => new Server({ history: { size: 10, age: 5 } as unknown as { size: number } }),
      InvalidOptionError,
    );
    const server = new Server({ history: { size: 10 } });
    assert.throws(
      () => server.groups.add({ id: 'g', history: { size: 1.5 } }),
      InvalidArgumentError,
    );
  });
});

describe('recovery between clones', () => {
  test('a cut clone link that comes back fetches what its subscribers missed, once and in order', async () => {
    const cleanup = new Cleanup();
    try {
      // h2 dials h1 through a proxy that can be cut: the only link between them.
      const h1Port = await getFreePort();
      const proxy = await startTcpProxy(h1Port);
      cleanup.add(() => proxy.close());
      const history = { size: 1000 };
      const h1 = await startClone('h1', {
        port: h1Port,
        url: `ws://127.0.0.1:${proxy.port}`,
        history,
      });
      cleanup.add(() => h1.server.stop());
      const h2 = await startClone('h2', { url: undefined, history });
      cleanup.add(() => h2.server.stop());
      h2.server.addClone({ id: 'h1', url: `ws://127.0.0.1:${proxy.port}` });
      await waitFor(() => linkedIds(h2.server).includes('h1'), 5000, 'h2 linked to h1');
      const inboxes: Inbox[] = [await startInbox(h2.url, ['room'])];
      cleanup.add(() => stopInboxes(inboxes));
      const publisher = new Client({ url: h1.url, reconnect: false, silent: true });
      await publisher.start();
      cleanup.add(() => publisher.stop());
      await awaitInterest(prober(publisher, 'room'), inboxes);

      publishNumbered(publisher, 'p', 'room', 0, 100);
      await waitFor(() => (sequences(inboxes[0] as Inbox).get('p') ?? []).length === 100, 5000);
      proxy.cut();
      await waitFor(() => !linkedIds(h1.server).includes('h2'), 5000, 'h1 lost the link');
      publishNumbered(publisher, 'p', 'room', 100, 200); // nobody relays these to h2
      await waitFor(
        () => h1.server.groups.history.size >= 200 + 1,
        5000,
        'h1 kept the messages it published',
      );
      proxy.restore();
      await waitFor(() => linkedIds(h2.server).includes('h1'), 10_000, 'link back');
      publishNumbered(publisher, 'p', 'room', 200, 300);
      await flush([publisher], 'room', inboxes);
      assert.deepEqual(sequences(inboxes[0] as Inbox).get('p'), range(0, 300));
      assert.equal(h2.server.stats().history.healed, 100, 'the heal brought the missed ones');
    } finally {
      await cleanup.run();
    }
  });

  test('a relayed message that skips sequences makes the clone fetch the missing ones', async () => {
    const cleanup = new Cleanup();
    try {
      const history = { size: 1000 };
      const g1 = await startClone('g1', { history });
      cleanup.add(() => g1.server.stop());
      const g2 = await startClone('g2', { history });
      cleanup.add(() => g2.server.stop());
      g2.server.addClone({ id: 'g1', url: g1.url });
      await waitFor(() => linkedIds(g2.server).includes('g1'), 5000, 'linked');
      const inbox = await startInbox(g2.url, ['room']);
      cleanup.add(() => stopInboxes([inbox]));
      const publisher = new Client({ url: g1.url, reconnect: false, silent: true });
      await publisher.start();
      cleanup.add(() => publisher.stop());
      await awaitInterest(prober(publisher, 'room'), [inbox]);
      publishNumbered(publisher, 'p', 'room', 0, 10);
      await waitFor(() => (sequences(inbox).get('p') ?? []).length === 10, 5000, 'first 10');
      // Message 10 is numbered and kept on g1 but never relayed: lost on the way.
      const kept = g1.server.groups.history;
      const position = kept.stamp('room');
      assert.ok(position !== undefined);
      kept.keepPublished(
        FanoutMessage.fromFields('room', 'msg', null, { p: 'p', n: 10 }, position),
        position,
      );
      publishNumbered(publisher, 'p', 'room', 11, 20);
      await waitFor(() => (sequences(inbox).get('p') ?? []).length >= 20, 5000, 'all 20');
      await flush([publisher], 'room', [inbox]);
      const got = sequences(inbox).get('p') ?? [];
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        range(0, 20),
        'each once',
      );
      assert.equal(g2.server.stats().history.healed, 1);
    } finally {
      await cleanup.run();
    }
  });

  test('a long history from another clone comes in pages as the link drains', async () => {
    const cleanup = new Cleanup();
    try {
      const options = { history: { size: 10_000 }, maxBufferedBytes: 256 * 1024 };
      const c1 = await startClone('c1', options);
      cleanup.add(() => c1.server.stop());
      const c2 = await startClone('c2', options);
      cleanup.add(() => c2.server.stop());
      c2.server.addClone({ id: 'c1', url: c1.url });
      await waitFor(() => linkedIds(c2.server).includes('c1'), 5000, 'linked');
      const inbox = await startInbox(c2.url, ['room'], { reconnect: true, reconnectTimeout: 2000 });
      cleanup.add(() => stopInboxes([inbox]));
      const events = recoveries(inbox.client);
      const c2Interest = (): boolean =>
        c1.server.clones
          .topology()
          .some((clone) => clone.id === 'c2' && clone.groups.includes('room'));
      await waitFor(c2Interest, 5000, 'c1 knows the subscriber on c2');
      c1.server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n: 0 } });
      await waitFor(() => inbox.of('msg').length === 1, 5000, 'first message');
      await dropConnection(c2.server, inbox.client);
      await waitFor(() => !c2Interest(), 5000, 'c1 knows c2 has no subscriber left');
      // Only c1 keeps these: 2 MB for a link allowed 256 KiB of backlog.
      const text = 'x'.repeat(200);
      for (let n = 1; n < 8000; n++)
        c1.server.groups.sendMes({ id: 'room', route: 'msg', data: { p: 's', n, text } });
      await waitFor(() => events.length === 1, 20_000, 'recover event');
      assert.deepEqual(events, [{ group: 'room', recovered: true }]);
      assert.deepEqual(sequences(inbox).get('s'), range(0, 8000));
      assert.ok(linkedIds(c2.server).includes('c1'), 'the link was never dropped');
    } finally {
      await cleanup.run();
    }
  });
});
