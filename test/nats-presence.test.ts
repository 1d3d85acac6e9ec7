/**
 * Subscribe confirmation, acknowledged publishes and presence on the NATS backplane, over a
 * real three-server NATS cluster (each wsmesh node on its own NATS server, so interest and
 * messages cross routes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, TimeoutError, type Server } from '../src/index.js';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { LIBRARY_ENTRY, runScript, stopAll, waitFor, within } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  startNode,
  stopNode,
  type NatsCluster,
} from './nats-helpers.js';

/**
 * A TCP proxy that holds every chunk `delayMs` in both directions (order kept): a slow NATS
 * route, so a subscription's interest crosses it well after a client's round trip.
 */
function latencyProxy(
  targetPort: number,
  delayMs: number,
): Promise<{ port: number; server: NetServer }> {
  const sockets = new Set<Socket>();
  const server = createServer((incoming) => {
    const outgoing = connect(targetPort, '127.0.0.1');
    for (const socket of [incoming, outgoing]) {
      sockets.add(socket);
      socket
        .on('error', () => undefined)
        .on('close', () => {
          incoming.destroy();
          outgoing.destroy();
        });
    }
    const relay = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), delayMs));
    };
    relay(incoming, outgoing);
    relay(outgoing, incoming);
  });
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address !== null ? address.port : 0, server });
    }),
  );
}

const skip = natsServerAvailable() ? false : 'nats-server is not installed';

async function client(url: string, id?: string, data?: unknown): Promise<Client> {
  const c = new Client({ id, url, data, reconnect: false, silent: true });
  await c.start();
  return c;
}

function listed(members: { clientId: string; node: string }[]): string {
  return members
    .map((m) => `${m.clientId}@${m.node}`)
    .sort()
    .join();
}

type Node = { server: Server; url: string };
type Three = [Node, Node, Node];

describe('NATS backplane: subscribe confirmation, acknowledgements, presence', { skip }, () => {
  let nats: NatsCluster;
  const nodes: Node[] = [];

  before(async () => {
    nats = await startNatsCluster(3);
    for (const [index, id] of ['NA', 'NB', 'NC'].entries()) {
      nodes.push(
        await startNatsServer(
          nats.urls[index] as string,
          { id, presence: { allGroups: true }, clusterAckTimeout: 1500 },
          { prefix: 'ack' },
        ),
      );
    }
    await waitFor(
      () => nodes.every(({ server }) => server.clones.clones.size === 2),
      10_000,
      'nodes see each other',
    );
  });

  after(async () => {
    await stopAll(...nodes.map((node) => node.server));
    await nats?.stop();
  });

  test('a publish on A right after a subscribe on B resolved arrives, 50 times in a row, over a slow route', async () => {
    // Two NATS servers whose only route goes through a 30 ms proxy (no direct route learned).
    const name = `wsmesh-slow-${process.pid}`;
    const first = await startNode(name, [], []);
    const proxy = await latencyProxy(first.routePort, 30);
    const second = await startNode(name, [proxy.port], ['--no_advertise']);
    const pair: Node[] = [];
    const clients: Client[] = [];
    try {
      await waitFor(() => first.routes() >= 1 && second.routes() >= 1, 10_000, 'route up');
      for (const [id, server] of [
        ['SA', first],
        ['SB', second],
      ] as const)
        pair.push(await startNatsServer(server.url, { id }, { prefix: 'slow' }));
      await waitFor(
        () => pair.every(({ server }) => server.clones.clones.size === 1),
        10_000,
        'nodes see each other',
      );
      const [a, b] = pair as [Node, Node];
      const publisher = await client(a.url);
      clients.push(publisher);
      const received = new Set<string>();
      for (let round = 0; round < 50; round++) {
        const subscriber = await client(b.url);
        clients.push(subscriber);
        subscriber.addRoute({
          route: 'hit',
          handler: ({ data }) => void received.add(String(data)),
        });
        const group = `n-fresh-${round}`;
        await subscriber.subscribe({ id: group });
        await publisher.sendMesToGroup({ id: group, route: 'hit', data: group, awaitRes: true });
      }
      await waitFor(() => received.size === 50, 5000, 'all 50 arrived').catch(() => undefined);
      const missing = [...Array(50).keys()]
        .map((n) => `n-fresh-${n}`)
        .filter((group) => !received.has(group));
      assert.deepEqual(missing, []);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await stopAll(...pair.map((node) => node.server));
      await Promise.all([stopNode(second), stopNode(first)]);
      proxy.server.close();
    }
  });

  test("ack: 'cluster' resolves with every node's deliveries, rejects naming a node that lost it", async () => {
    const [a, b, c] = nodes as Three;
    const publisher = await client(a.url);
    const onB = await client(b.url);
    const onC = await client(c.url);
    try {
      await onB.subscribe({ id: 'n-acked' });
      await onC.subscribe({ id: 'n-acked' });
      assert.deepEqual(
        await publisher.sendMesToGroup({ id: 'n-acked', awaitRes: true, ack: 'cluster' }),
        { delivered: 2, nodes: { NA: 0, NB: 1, NC: 1 } },
      );
      // NC stops answering delivery questions (a node that lost its NATS link, say).
      const live = (
        c.server as unknown as {
          backplane: { backplane: { live: { acks: { inbox: (s: string) => boolean } } } };
        }
      ).backplane.backplane.live;
      const inbox = live.acks.inbox.bind(live.acks);
      live.acks.inbox = (suffix: string, ...rest: unknown[]) =>
        suffix === 'a' ? true : (inbox as (...args: unknown[]) => boolean)(suffix, ...rest);
      try {
        const error = await within(
          publisher.sendMesToGroup({ id: 'n-acked', awaitRes: true, ack: 'cluster' }).then(
            () => undefined,
            (e: unknown) => e,
          ),
          10_000,
          'acked publish',
        );
        assert.ok(error instanceof TimeoutError, String(error));
        assert.match(error.message, /\bNC\b/);
        assert.deepEqual(error.data, { missing: ['NC'], nodes: { NA: 0, NB: 1 } });
      } finally {
        live.acks.inbox = inbox;
      }
    } finally {
      await Promise.all([publisher, onB, onC].map((x) => x.stop()));
    }
  });

  test("a group's later members on a node do not ask the other nodes again", async () => {
    const [, b, c] = nodes as Three;
    type Acks = { inbox: (suffix: string, ...rest: unknown[]) => boolean };
    const live = (c.server as unknown as { backplane: { backplane: { live: { acks: Acks } } } })
      .backplane.backplane.live;
    const inbox = live.acks.inbox.bind(live.acks);
    let asked = 0;
    live.acks.inbox = (suffix: string, ...rest: unknown[]) => {
      if (suffix === 'i') asked++;
      return inbox(suffix, ...rest);
    };
    const members = [await client(b.url), await client(b.url), await client(b.url)];
    try {
      await (members[0] as Client).subscribe({ id: 'n-once' });
      assert.equal(asked, 1);
      for (const m of members.slice(1)) await m.subscribe({ id: 'n-once' });
      assert.equal(asked, 1);
      // The group left NB entirely: the next first member asks again.
      for (const m of members) await m.unsubscribe({ id: 'n-once' });
      await (members[0] as Client).subscribe({ id: 'n-once' });
      assert.equal(asked, 2);
    } finally {
      live.acks.inbox = inbox;
      await Promise.all(members.map((m) => m.stop()));
    }
  });

  test('presence across nodes, events, and the members of a killed node leave', async () => {
    const [a, b] = nodes as Three;
    const child = runScript(
      `import { Server } from ${JSON.stringify(LIBRARY_ENTRY)};
       import { natsBackplane } from ${JSON.stringify(LIBRARY_ENTRY.replace(/index\.ts$/, 'nats.ts'))};
       const server = new Server({ id: 'ND', port: 0, host: '127.0.0.1', silent: true,
         presence: { allGroups: true },
         backplane: natsBackplane({ servers: ${JSON.stringify(nats.urls[2])}, prefix: 'ack', heartbeatInterval: 200 }) });
       await server.start();
       console.log('port ' + server.port);
       setInterval(() => {}, 1000);`,
      { timeoutMs: 60_000 },
    );
    const watcher = await client(a.url, 'watcher');
    const others: Client[] = [];
    const events: string[] = [];
    watcher.on('join', ({ clientId, node }) => events.push(`join ${clientId}@${node}`));
    watcher.on('leave', ({ clientId, node }) => events.push(`leave ${clientId}@${node}`));
    try {
      await watcher.subscribe({ id: 'n-room', presence: true });
      const bob = await client(b.url, 'bob', { n: 1 });
      others.push(bob);
      await bob.subscribe({ id: 'n-room', presence: true });
      assert.equal(listed(await bob.presence({ id: 'n-room' })), 'bob@NB,watcher@NA');
      // NC has no member in the group: it asks the other nodes.
      const nc = (nodes as Three)[2].server;
      assert.equal(listed(await nc.groups.presence({ id: 'n-room' })), 'bob@NB,watcher@NA');
      assert.equal(await nc.groups.presenceCount({ id: 'n-room' }), 2);
      await waitFor(() => events.length === 1, 5000, 'join of bob');
      assert.deepEqual(events, ['join bob@NB']);
      await bob.unsubscribe({ id: 'n-room' });
      await waitFor(() => events.length === 2, 5000, 'leave of bob');
      assert.equal(events[1], 'leave bob@NB');
      // A node in its own process, with two members; then SIGKILL.
      let output = '';
      child.child.stdout?.on('data', (chunk: Buffer | string) => (output += String(chunk)));
      const doomedPort = await waitFor(() => /port (\d+)/.exec(output)?.[1], 20_000, 'child port');
      await waitFor(() => a.server.clones.clones.has('ND'), 10_000, 'ND seen');
      for (const id of ['d1', 'd2']) {
        const member = await client(`ws://127.0.0.1:${doomedPort}`, id);
        others.push(member);
        await member.subscribe({ id: 'n-room', presence: true });
      }
      await waitFor(
        async () =>
          listed(await a.server.groups.presence({ id: 'n-room' })) === 'd1@ND,d2@ND,watcher@NA',
        5000,
        'd1, d2 listed on NA',
      );
      assert.ok(child.child.pid !== undefined);
      process.kill(child.child.pid, 'SIGKILL');
      await child;
      // NATS heartbeatTimeout here: 3 x 200 ms.
      await waitFor(
        async () => listed(await a.server.groups.presence({ id: 'n-room' })) === 'watcher@NA',
        3000,
        'ND members gone',
      );
      await waitFor(() => events.length === 6, 2000, 'their leave events');
      assert.deepEqual(events.slice(2).sort(), [
        'join d1@ND',
        'join d2@ND',
        'leave d1@ND',
        'leave d2@ND',
      ]);
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await Promise.all([watcher, ...others].map((x) => x.stop().catch(() => undefined)));
    }
  });
});
