/**
 * The NATS backplane over a real three-server NATS cluster (routes between them): node
 * discovery and leave, groups exactly once across nodes (several target groups, every group,
 * notSendMe), publish order, interest only where there are subscribers, group deletion.
 * Each wsmesh node connects to a different NATS server, so every message crosses a route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AuthError,
  Client,
  InvalidArgumentError,
  InvalidOptionError,
  NotConnectedError,
  Server,
} from '../src/index.js';
import { natsBackplane } from '../src/nats.js';
import { getFreePort, LIBRARY_ENTRY, runScript, stopAll, waitFor, within } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';

interface Received {
  group: unknown;
  route: string | null;
  data: unknown;
}

async function member(
  url: string,
  id: string,
  groups: string[],
): Promise<{ client: Client; got: Received[] }> {
  const client = new Client({ id, url, reconnect: false });
  const got: Received[] = [];
  client.addRoute({
    handler: ({ mes }) => {
      got.push({ group: mes.group, route: mes.route, data: mes.data });
    },
  });
  await client.start();
  for (const group of groups) await client.subscribe({ id: group });
  return { client, got };
}

/** Messages of `route` a member got. */
function of(got: Received[], route: string): Received[] {
  return got.filter((entry) => entry.route === route);
}

/**
 * Publishes probes from `publisher` to `target` until every member got one: the backplane
 * subscriptions of every node have reached every NATS server. Probes use route `probe`.
 */
async function waitForInterest(
  publisher: Client,
  target: string | string[] | undefined,
  members: { got: Received[] }[],
): Promise<void> {
  await waitFor(
    async () => {
      await publisher.sendMesToGroup({ id: target, route: 'probe', data: null });
      return members.every((m) => of(m.got, 'probe').length > 0);
    },
    10_000,
    'interest propagated',
    50,
  );
}

/** Sends a `fence` message and waits until every member got it: what was published before has arrived. */
async function fence(
  publisher: Client,
  target: string | string[] | undefined,
  members: { got: Received[] }[],
): Promise<void> {
  const tag = Math.random();
  await publisher.sendMesToGroup({ id: target, route: 'fence', data: tag });
  await waitFor(
    () => members.every((m) => of(m.got, 'fence').some((entry) => entry.data === tag)),
    10_000,
    'fence delivered',
  );
}

describe('NATS backplane: nodes and groups', { skip }, () => {
  let nats: NatsCluster;
  before(async () => {
    nats = await startNatsCluster(3);
  });
  after(async () => {
    await nats?.stop();
  });

  test('options are validated; addClone is refused on a backplane', async () => {
    assert.throws(() => natsBackplane({ servers: [] }), InvalidOptionError);
    assert.throws(() => natsBackplane({ servers: 'nats://x', prefix: 'a.*' }), InvalidOptionError);
    assert.throws(
      () => natsBackplane({ servers: 'nats://x', bogus: 1 } as unknown as { servers: string }),
      InvalidOptionError,
    );
    assert.throws(() => new Server({ backplane: {} as never }), InvalidOptionError);
    const server = new Server({ backplane: natsBackplane({ servers: nats.urls }) });
    assert.throws(
      () => server.addClone({ id: 'x', url: 'ws://127.0.0.1:1/' }),
      InvalidArgumentError,
    );
  });

  test('nodes discover each other and see a stopped node leave', async () => {
    const prefix = 'disc';
    const a = await startNatsServer(nats.urls[0] as string, { id: 'A' }, { prefix });
    const b = await startNatsServer(nats.urls[1] as string, { id: 'B' }, { prefix });
    const c = await startNatsServer(nats.urls[2] as string, { id: 'C' }, { prefix });
    // Another cluster on the same NATS: not seen.
    const other = await startNatsServer(
      nats.urls[0] as string,
      { id: 'OTHER' },
      { prefix: 'other' },
    );
    try {
      const ids = (server: Server): string[] => [...server.clones.clones.keys()].sort();
      await waitFor(
        () =>
          ids(a.server).length === 2 && ids(b.server).length === 2 && ids(c.server).length === 2,
      );
      assert.deepEqual(ids(a.server), ['B', 'C']);
      assert.deepEqual(ids(b.server), ['A', 'C']);
      assert.deepEqual(ids(c.server), ['A', 'B']);
      assert.deepEqual(ids(other.server), []);
      await c.server.stop();
      await waitFor(
        () => ids(a.server).join() === 'B' && ids(b.server).join() === 'A',
        5000,
        'C left',
      );
      // The same server started again rejoins.
      await c.server.start();
      await waitFor(
        () => ids(a.server).join() === 'B,C' && ids(c.server).join() === 'A,B',
        5000,
        'C back',
      );
    } finally {
      await stopAll(a.server, b.server, c.server, other.server);
    }
  });

  test('a node that dies without saying bye leaves after the heartbeat timeout', async () => {
    const prefix = 'die';
    const a = await startNatsServer(nats.urls[0] as string, { id: 'A' }, { prefix });
    const child = runScript(
      `import { Server } from ${JSON.stringify(LIBRARY_ENTRY)};
       import { natsBackplane } from ${JSON.stringify(LIBRARY_ENTRY.replace(/index\.ts$/, 'nats.ts'))};
       const server = new Server({ id: 'DOOMED', port: 0, host: '127.0.0.1', silent: true,
         backplane: natsBackplane({ servers: ${JSON.stringify(nats.urls[1])}, prefix: '${prefix}', heartbeatInterval: 200 }) });
       await server.start();
       console.log('ready');
       setInterval(() => {}, 1000);`,
      { timeoutMs: 30_000 },
    );
    try {
      await waitFor(() => a.server.clones.clones.has('DOOMED'), 15_000, 'child node seen');
      assert.ok(child.child.pid !== undefined);
      process.kill(child.child.pid, 'SIGKILL');
      await child;
      // heartbeatTimeout is 3 x 200 ms here.
      await waitFor(() => !a.server.clones.clones.has('DOOMED'), 5000, 'dead node forgotten');
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await stopAll(a.server);
    }
  });

  test('group messages reach every subscriber on every node exactly once', async () => {
    const prefix = 'once';
    const a = await startNatsServer(nats.urls[0] as string, { id: 'A' }, { prefix });
    const b = await startNatsServer(nats.urls[1] as string, { id: 'B' }, { prefix });
    const c = await startNatsServer(nats.urls[2] as string, { id: 'C' }, { prefix });
    const a1 = await member(a.url, 'a1', ['g1', 'g2']);
    const b1 = await member(b.url, 'b1', ['g1']);
    const b2 = await member(b.url, 'b2', ['g2']);
    const c1 = await member(c.url, 'c1', ['g1', 'g2']);
    const publisher = await member(a.url, 'pub', []);
    const members = [a1, b1, b2, c1];
    try {
      await waitForInterest(publisher.client, ['g1', 'g2'], members);
      await publisher.client.sendMesToGroup({ id: ['g1', 'g2'], route: 'both', data: 1 });
      await publisher.client.sendMesToGroup({ route: 'every', data: 2 });
      await publisher.client.sendMesToGroup({ id: 'g1', route: 'one', data: 3 });
      // notSendMe from a member of both groups on another node.
      await c1.client.sendMesToGroup({
        id: ['g1', 'g2'],
        route: 'notme',
        data: 4,
        notSendMe: true,
      });
      await fence(publisher.client, ['g1', 'g2'], members);
      await fence(c1.client, ['g1', 'g2'], members);
      for (const m of members) {
        assert.equal(of(m.got, 'both').length, 1, `${m.client.id}: both`);
        assert.equal(of(m.got, 'every').length, 1, `${m.client.id}: every`);
      }
      assert.deepEqual(
        [a1, b1, b2, c1].map((m) => of(m.got, 'one').length),
        [1, 1, 0, 1],
        'g1 only',
      );
      assert.deepEqual(
        [a1, b1, b2, c1].map((m) => of(m.got, 'notme').length),
        [1, 1, 1, 0],
        'notSendMe excludes the sender only',
      );
      assert.equal(publisher.got.length, 0, 'a non-member gets nothing');
    } finally {
      await stopAll(
        ...members.map((m) => m.client),
        publisher.client,
        a.server,
        b.server,
        c.server,
      );
    }
  });

  test('publish order is kept per publisher, and only nodes with subscribers receive', async () => {
    const prefix = 'order';
    const bpC = natsBackplane({ servers: nats.urls[2] as string, prefix, heartbeatInterval: 200 });
    const a = await startNatsServer(nats.urls[0] as string, { id: 'A' }, { prefix });
    const b = await startNatsServer(nats.urls[1] as string, { id: 'B' }, { prefix });
    const c = new Server({ id: 'C', port: 0, host: '127.0.0.1', backplane: bpC });
    await c.start();
    const b1 = await member(b.url, 'b1', ['ordered']);
    const publisher = await member(a.url, 'pub', []);
    try {
      await waitForInterest(publisher.client, 'ordered', [b1]);
      const count = 300;
      for (let i = 0; i < count; i++)
        void publisher.client.sendMesToGroup({ id: 'ordered', route: 'seq', data: i });
      await fence(publisher.client, 'ordered', [b1]);
      assert.deepEqual(
        of(b1.got, 'seq').map((entry) => entry.data),
        Array.from({ length: count }, (_, i) => i),
      );
      assert.equal(bpC.state().messagesIn, 0, 'a node without subscribers receives nothing');
      assert.equal(bpC.state().groups, 0);
      // The last member leaves: the node drops its subscription.
      assert.equal(b.server.stats().clones.known, 2);
      const state = b.server.stats().backplane;
      assert.equal(state?.kind, 'nats');
      assert.equal(state?.status, 'connected');
      assert.equal(state?.server, nats.urls[1]?.replace('nats://', ''));
      assert.ok((state?.messagesIn ?? 0) >= count);
      assert.equal(new Server().stats().backplane, null, 'the mesh has no backplane state');
      await b1.client.unsubscribe({ id: 'ordered' });
      await waitFor(() => b.server.groups.get({ id: 'ordered' }) === undefined);
    } finally {
      await stopAll(b1.client, publisher.client, a.server, b.server, c);
    }
  });

  test('deleting a group deletes it on every node', async () => {
    const prefix = 'del';
    const a = await startNatsServer(nats.urls[0] as string, { id: 'A' }, { prefix });
    const b = await startNatsServer(nats.urls[1] as string, { id: 'B' }, { prefix });
    const b1 = await member(b.url, 'b1', ['doomed', 'kept']);
    try {
      await waitFor(() => a.server.clones.clones.has('B'));
      a.server.groups.add({ id: 'doomed' });
      assert.equal(a.server.groups.delete({ id: 'doomed' }), true);
      await waitFor(
        () => b.server.groups.get({ id: 'doomed' }) === undefined,
        5000,
        'deleted on B',
      );
      assert.ok(b.server.groups.get({ id: 'kept' }) !== undefined);
    } finally {
      await stopAll(b1.client, a.server, b.server);
    }
  });
});

describe('NATS backplane: start faults', { skip }, () => {
  test('NATS down at start: start() rejects at once with NotConnectedError, no hang', async () => {
    const port = await getFreePort();
    const server = new Server({
      port: 0,
      host: '127.0.0.1',
      backplane: natsBackplane({ servers: `nats://127.0.0.1:${port}`, connectTimeout: 1000 }),
    });
    const error = await within(server.start(), 5000, 'start()').then(
      () => assert.fail('start() should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof NotConnectedError, String(error));
    assert.match((error as Error).message, /Cannot reach NATS/);
    assert.equal(server.active, false);
    assert.equal(server.port, undefined, 'no listener was opened');
  });

  test('a wrong NATS credential: start() rejects with AuthError', async () => {
    const nats = await startNatsCluster(1, ['--auth', 'right-token']);
    try {
      const server = new Server({
        port: 0,
        host: '127.0.0.1',
        backplane: natsBackplane({ servers: nats.urls, token: 'wrong-token' }),
      });
      await assert.rejects(within(server.start(), 5000, 'start()'), AuthError);
      const good = await startNatsServer(nats.urls, {}, { token: 'right-token' });
      await good.server.stop();
    } finally {
      await nats.stop();
    }
  });
});
