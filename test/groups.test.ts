/**
 * Integration tests of groups (SPEC section 3) over real sockets: client subscriptions,
 * `sendMesToGroup` targets, `server.groups` and the `Group` class, middlewares refusing
 * memberships, cleanup on close, subscriptions restored after reconnect, delivery order, slow
 * subscribers and mixed codecs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client,
  Group,
  InvalidArgumentError,
  RemoteError,
  type Server,
  ServerConnection,
  type ClientOptions,
  type ServerOptions,
} from '../src/index.js';
import {
  connectRaw,
  getFreePort,
  isFrame,
  nextEvent,
  serverUrl,
  startServer,
  stopAll,
  waitFor,
} from './helpers.js';

/** A started server on 127.0.0.1 (ephemeral port unless given). */
async function serve(options: ServerOptions = {}): Promise<Server> {
  return (await startServer(options)).server;
}

/** A group message as a client's catch-all route saw it. */
interface Received {
  group: unknown;
  route: string | null;
  act: string | null;
  data: unknown;
}

/** A started client that records every message it gets in `got`. */
interface Member {
  client: Client;
  got: Received[];
}

/** Starts a client of `server` (or `options.url`) with a catch-all route recording messages. */
async function member(
  server: Server | undefined,
  options: Partial<ClientOptions> = {},
): Promise<Member> {
  const url = options.url ?? (server === undefined ? undefined : serverUrl(server));
  if (url === undefined) throw new Error('member: give a server or a url');
  const client = new Client({ reconnectTimeout: 30, ...options, url });
  const got: Received[] = [];
  client.addRoute({
    handler: ({ mes }) => {
      got.push({ group: mes.group, route: mes.route, act: mes.act, data: mes.data });
    },
  });
  await client.start();
  return { client, got };
}

/**
 * Sends a marker from `server` straight to each member and waits until every one got it: a
 * group message sent earlier on the same connection would have arrived before. The marker is
 * removed from `got` again, so what is left is exactly what arrived before it.
 */
async function settle(server: Server, ...members: Member[]): Promise<void> {
  for (const { client } of members) void connectionOf(server, client).sendMes({ data: MARKER });
  await waitFor(
    () => members.every(({ got }) => got.at(-1)?.data === MARKER),
    5000,
    'marker delivered to every member',
  );
  for (const { got } of members) got.pop();
}

const MARKER = 'marker: everything sent earlier has arrived';

/** The server-side connection of `client`. */
function connectionOf(server: Server, client: Client): ServerConnection {
  const id = client.getInfo().connectionId;
  const ws = id === undefined ? undefined : server.clients.get(id);
  if (ws === undefined) throw new Error(`no connection for client ${client.id}`);
  return ws;
}

/** Ids of the clients subscribed to group `id` on `server`, sorted. */
function subscriberClientIds(server: Server, id: string): string[] {
  const group = server.groups.get({ id });
  return (group?.getSubscribers() ?? []).map((ws) => ws.clientId ?? ws.id).sort();
}

/** Resolves with the rejection of `promise`. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

describe('client subscriptions', () => {
  test('subscribe, unsubscribe and getMyGroups (sync, and awaitable)', async () => {
    const server = await serve();
    const { client } = await member(server, { id: 'sub-client' });
    try {
      assert.deepEqual(client.getMyGroups(), []);
      await client.subscribe({ id: 'a' });
      await client.subscribe({ id: 'b' });
      await client.subscribe({ id: 'a' }); // already in: no-op
      assert.deepEqual(client.getMyGroups().sort(), ['a', 'b']);
      assert.deepEqual((await client.getMyGroups()).sort(), ['a', 'b']);
      assert.deepEqual(client.getInfo().groups.sort(), ['a', 'b']);
      assert.deepEqual(subscriberClientIds(server, 'a'), ['sub-client']);
      assert.deepEqual(subscriberClientIds(server, 'b'), ['sub-client']);
      const ws = connectionOf(server, client);
      assert.deepEqual([...ws.groups].sort(), ['a', 'b']);

      await client.unsubscribe({ id: 'a' });
      await client.unsubscribe({ id: 'never-joined' });
      assert.deepEqual(client.getMyGroups(), ['b']);
      assert.equal(server.groups.get({ id: 'a' }), undefined, 'an implicit empty group is gone');
      assert.deepEqual([...ws.groups], ['b']);

      await assert.rejects(client.subscribe({ id: '' }), InvalidArgumentError);
      await assert.rejects(
        client.unsubscribe({} as unknown as { id: string }),
        InvalidArgumentError,
      );
    } finally {
      await stopAll(client, server);
    }
  });

  test('subscribing before start() is applied once connected', async () => {
    const server = await serve();
    const client = new Client({ id: 'early', url: serverUrl(server) });
    try {
      await client.subscribe({ id: 'early-group' });
      assert.deepEqual(client.getMyGroups(), ['early-group']);
      await client.start();
      await waitFor(() => subscriberClientIds(server, 'early-group').includes('early'));
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('sendMesToGroup', () => {
  test('one id: only that group, with group, route, act and data; awaitRes gives the count', async () => {
    const server = await serve();
    const a1 = await member(server);
    const a2 = await member(server);
    const b = await member(server);
    const publisher = await member(server);
    try {
      await a1.client.subscribe({ id: 'a' });
      await a2.client.subscribe({ id: 'a' });
      await b.client.subscribe({ id: 'b' });
      const count = await publisher.client.sendMesToGroup({
        id: 'a',
        route: 'chat',
        act: 'say',
        data: { text: 'hi' },
        awaitRes: true,
      });
      assert.equal(count, 2);
      await waitFor(() => a1.got.length === 1 && a2.got.length === 1);
      assert.deepEqual(a1.got[0], { group: 'a', route: 'chat', act: 'say', data: { text: 'hi' } });
      assert.deepEqual(a2.got[0], a1.got[0]);
      await publisher.client.sendMesToGroup({ id: 'b', data: 'for b' });
      await waitFor(() => b.got.length === 1);
      assert.deepEqual(b.got[0], { group: 'b', route: null, act: null, data: 'for b' });
      assert.equal(a1.got.length, 1);
      assert.equal(publisher.got.length, 0);
      // A group nobody is in: no delivery, no error.
      assert.equal(await publisher.client.sendMesToGroup({ id: 'empty', awaitRes: true }), 0);
      await assert.rejects(publisher.client.sendMesToGroup({ id: '' }), InvalidArgumentError);
      await assert.rejects(publisher.client.sendMesToGroup({ id: [] }), InvalidArgumentError);
    } finally {
      await stopAll(a1.client, a2.client, b.client, publisher.client, server);
    }
  });

  test('array of ids: a subscriber of several target groups gets the message once', async () => {
    const server = await serve();
    const both = await member(server);
    const onlyA = await member(server);
    const onlyC = await member(server);
    const publisher = await member(server);
    try {
      await both.client.subscribe({ id: 'a' });
      await both.client.subscribe({ id: 'b' });
      await onlyA.client.subscribe({ id: 'a' });
      await onlyC.client.subscribe({ id: 'c' });
      const count = await publisher.client.sendMesToGroup({
        id: ['a', 'b', 'a'],
        data: 'multi',
        awaitRes: true,
      });
      assert.equal(count, 2);
      await settle(server, both, onlyA, onlyC);
      assert.equal(both.got.length, 1, 'once, although in two target groups');
      assert.deepEqual(both.got[0]?.group, ['a', 'b', 'a']);
      assert.equal(onlyA.got.length, 1);
      assert.equal(onlyC.got.length, 0);
    } finally {
      await stopAll(both.client, onlyA.client, onlyC.client, publisher.client, server);
    }
  });

  test('no id: every group, each subscriber once; clients in no group get nothing', async () => {
    const server = await serve();
    const x = await member(server);
    const y = await member(server);
    const loner = await member(server);
    try {
      await x.client.subscribe({ id: 'g1' });
      await x.client.subscribe({ id: 'g2' });
      await y.client.subscribe({ id: 'g3' });
      const count = await loner.client.sendMesToGroup({ data: 'broadcast', awaitRes: true });
      assert.equal(count, 2);
      await settle(server, x, y, loner);
      assert.equal(x.got.length, 1);
      assert.deepEqual(x.got[0], { group: null, route: null, act: null, data: 'broadcast' });
      assert.equal(y.got.length, 1);
      assert.equal(loner.got.length, 0);
    } finally {
      await stopAll(x.client, y.client, loner.client, server);
    }
  });

  test('notSendMe excludes the sender; without it the sender gets its own message', async () => {
    const server = await serve();
    const sender = await member(server);
    const other = await member(server);
    try {
      await sender.client.subscribe({ id: 'room' });
      await other.client.subscribe({ id: 'room' });
      assert.equal(
        await sender.client.sendMesToGroup({
          id: 'room',
          data: 1,
          notSendMe: true,
          awaitRes: true,
        }),
        1,
      );
      assert.equal(
        await sender.client.sendMesToGroup({
          id: ['room'],
          data: 2,
          notSendMe: true,
          awaitRes: true,
        }),
        1,
      );
      assert.equal(
        await sender.client.sendMesToGroup({ data: 3, notSendMe: true, awaitRes: true }),
        1,
      );
      assert.equal(await sender.client.sendMesToGroup({ id: 'room', data: 4, awaitRes: true }), 2);
      await waitFor(() => other.got.length === 4 && sender.got.length === 1);
      assert.deepEqual(
        other.got.map((message) => message.data),
        [1, 2, 3, 4],
      );
      assert.deepEqual(
        sender.got.map((message) => message.data),
        [4],
      );
    } finally {
      await stopAll(sender.client, other.client, server);
    }
  });
});

describe('server.groups and Group', () => {
  test('add, get, addSubscriber, deleteSubscriber, sendMes with withoutId, delete', async () => {
    const server = await serve();
    const m1 = await member(server, { id: 'm1' });
    const m2 = await member(server, { id: 'm2' });
    try {
      const ws1 = connectionOf(server, m1.client);
      const ws2 = connectionOf(server, m2.client);
      const { groups } = server;

      const lobby = groups.add({ id: 'lobby', data: { topic: 'general' } });
      assert.ok(lobby instanceof Group);
      assert.equal(lobby.id, 'lobby');
      assert.deepEqual(lobby.data, { topic: 'general' });
      assert.equal(lobby.subscribers.size, 0);
      assert.equal(groups.get({ id: 'lobby' }), lobby);
      assert.equal(
        groups.add({ id: 'lobby', data: { topic: 'new' } }),
        lobby,
        'add twice: same group',
      );
      assert.deepEqual(lobby.data, { topic: 'new' }, 'data updated');
      assert.deepEqual(groups.add({ id: 'lobby' }).data, { topic: 'new' }, 'kept when not given');

      const withWs = groups.add({ id: 'vip', ws: ws1 });
      assert.deepEqual([...withWs.subscribers.keys()], [ws1.id]);

      const joined = groups.addSubscriber({ id: 'lobby', ws: ws1 });
      assert.equal(joined, lobby);
      groups.addSubscriber({ id: 'lobby', ws: ws2 });
      const implicit = groups.addSubscriber({ id: 'side', ws: ws2 });
      assert.ok(implicit instanceof Group);
      assert.equal(implicit.data, undefined);

      const all = groups.get();
      assert.ok(all instanceof Map);
      assert.deepEqual([...all.keys()].sort(), ['lobby', 'side', 'vip']);
      assert.equal(groups.get({ id: 'nope' }), undefined);
      assert.deepEqual([...ws1.groups].sort(), ['lobby', 'vip']);

      assert.equal(groups.sendMes({ id: 'lobby', route: 'news', act: 'flash', data: 'x' }), 2);
      assert.equal(groups.sendMes({ id: 'lobby', data: 'not for m1', withoutId: ws1.id }), 1);
      assert.equal(groups.sendMes({ id: ['lobby', 'vip', 'side'], data: 'several' }), 2);
      assert.equal(groups.sendMes({ data: 'everyone' }), 2);
      assert.equal(groups.sendMes({ data: 'everyone but m2', withoutId: ws2.id }), 1);
      await waitFor(() => m1.got.length === 4 && m2.got.length === 4);
      assert.deepEqual(
        m1.got.map((message) => message.data),
        ['x', 'several', 'everyone', 'everyone but m2'],
      );
      assert.deepEqual(
        m2.got.map((message) => message.data),
        ['x', 'not for m1', 'several', 'everyone'],
      );
      assert.deepEqual(m1.got[0], { group: 'lobby', route: 'news', act: 'flash', data: 'x' });

      assert.equal(groups.deleteSubscriber({ id: 'lobby', ws: ws1 }), true);
      assert.equal(groups.deleteSubscriber({ id: 'lobby', ws: ws1 }), false);
      assert.deepEqual([...ws1.groups], ['vip']);
      assert.equal(groups.deleteSubscriber({ ws: ws2 }), true, 'no id: from every group');
      assert.deepEqual([...ws2.groups], []);
      assert.equal(
        groups.get({ id: 'side' }),
        undefined,
        'implicit group went with its last member',
      );
      assert.equal(groups.get({ id: 'lobby' }), lobby, 'an added group stays when empty');

      assert.equal(groups.delete({ id: 'vip' }), true);
      assert.equal(groups.delete({ id: 'vip' }), false);
      assert.equal(groups.get({ id: 'vip' }), undefined);
      assert.deepEqual([...ws1.groups], []);
      assert.equal(groups.sendMes({ id: 'vip', data: 'gone' }), 0);

      assert.throws(() => groups.add({ id: '' }), InvalidArgumentError);
      assert.throws(() => groups.sendMes({ id: 5 as unknown as string }), InvalidArgumentError);
      assert.throws(() => groups.sendMes({ id: 'lobby', route: '' }), InvalidArgumentError);
    } finally {
      await stopAll(m1.client, m2.client, server);
    }
  });

  test('Group members: id, data, subscribers, addSubscriber, getSubscribers, deleteSubscriber, sendMes', async () => {
    const server = await serve();
    const m1 = await member(server);
    const m2 = await member(server);
    try {
      const ws1 = connectionOf(server, m1.client);
      const ws2 = connectionOf(server, m2.client);
      const group = server.groups.add({ id: 'team', data: 1 });
      group.data = { changed: true };
      assert.deepEqual(server.groups.get({ id: 'team' })?.data, { changed: true });
      assert.equal(group.addSubscriber(ws1), true);
      assert.equal(group.addSubscriber(ws1), false);
      assert.equal(group.addSubscriber(ws2), true);
      assert.ok(group.subscribers instanceof Map);
      assert.equal(group.subscribers.get(ws1.id), ws1);
      assert.deepEqual(
        group
          .getSubscribers()
          .map((ws) => ws.id)
          .sort(),
        [ws1.id, ws2.id].sort(),
      );
      assert.ok(ws1.groups.has('team'));
      assert.equal(group.sendMes({ route: 'r', act: 'a', data: 'to team' }), 2);
      assert.equal(group.sendMes({ data: 'without 2', withoutId: ws2.id }), 1);
      await waitFor(() => m1.got.length === 2 && m2.got.length === 1);
      assert.deepEqual(m2.got[0], { group: 'team', route: 'r', act: 'a', data: 'to team' });
      assert.equal(group.deleteSubscriber(ws1), true);
      assert.equal(group.deleteSubscriber(ws1), false);
      assert.equal(ws1.groups.has('team'), false);
      assert.deepEqual(group.getSubscribers(), [ws2]);
    } finally {
      await stopAll(m1.client, m2.client, server);
    }
  });

  test('a route can change memberships (server-side addSubscriber reaches the client)', async () => {
    const server = await serve();
    server.addRoute({
      route: 'join',
      handler: ({ ws, groups, data }) => {
        groups.addSubscriber({ id: String(data), ws });
        return [...ws.groups];
      },
    });
    const m = await member(server);
    try {
      assert.deepEqual(
        await m.client.sendMes({ route: 'join', data: 'by-route', awaitRes: true }),
        ['by-route'],
      );
      server.groups.sendMes({ id: 'by-route', data: 'hello' });
      await waitFor(() => m.got.length === 1);
      assert.equal(m.got[0]?.group, 'by-route');
    } finally {
      await stopAll(m.client, server);
    }
  });
});

describe('middlewares and groups', () => {
  test('a middleware refusing a subscription: subscribe rejects and getMyGroups drops it', async () => {
    const server = await serve({ id: 'guard' });
    const kinds: string[] = [];
    server.use(({ mes, ws }) => {
      kinds.push(`${mes.kind}:${JSON.stringify(mes.group ?? null)}`);
      assert.ok(ws instanceof ServerConnection);
      if (mes.kind === 'subscribe' && mes.group === 'secret') {
        throw Object.assign(new Error('not a member'), { code: 'E_DENIED' });
      }
      if (mes.kind === 'publish' && mes.group === 'readonly') throw new Error('read only');
    });
    const m = await member(server);
    try {
      const error = await rejection(m.client.subscribe({ id: 'secret' }));
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, 'ERR_REMOTE');
      assert.equal(error.remoteCode, 'E_DENIED');
      assert.equal(error.origin, 'guard');
      assert.deepEqual(m.client.getMyGroups(), []);
      assert.equal(server.groups.get({ id: 'secret' }), undefined);

      await m.client.subscribe({ id: 'open' });
      await m.client.subscribe({ id: 'readonly' });
      assert.deepEqual(m.client.getMyGroups().sort(), ['open', 'readonly']);

      await assert.rejects(
        m.client.sendMesToGroup({ id: 'readonly', data: 'x', awaitRes: true }),
        RemoteError,
      );
      assert.equal(await m.client.sendMesToGroup({ id: 'open', data: 'y', awaitRes: true }), 1);
      await m.client.unsubscribe({ id: 'open' });
      await waitFor(() => m.got.length === 1);
      assert.equal(m.got[0]?.data, 'y');
      assert.deepEqual(kinds, [
        'subscribe:"secret"',
        'subscribe:"open"',
        'subscribe:"readonly"',
        'publish:"readonly"',
        'publish:"open"',
        'unsubscribe:"open"',
      ]);
    } finally {
      await stopAll(m.client, server);
    }
  });

  test('a middleware can answer a subscription with stop() (the subscription is not applied)', async () => {
    const server = await serve();
    server.use(({ mes, stop }) => {
      if (mes.kind === 'subscribe' && mes.group === 'ignored') {
        stop();
        return 'ignored';
      }
      return undefined;
    });
    const m = await member(server);
    try {
      await assert.rejects(m.client.subscribe({ id: 'ignored' }), {
        code: 'ERR_SUBSCRIBE_REFUSED',
      });
      assert.equal(server.groups.get({ id: 'ignored' }), undefined);
      assert.deepEqual(m.client.getMyGroups(), []);
    } finally {
      await stopAll(m.client, server);
    }
  });
});

describe('membership cleanup', () => {
  test('a closed connection leaves all its groups; implicit groups vanish, added groups persist', async () => {
    const server = await serve();
    const leaving = await member(server, { reconnect: false });
    const staying = await member(server);
    try {
      server.groups.add({ id: 'persistent', data: 'keep me' });
      for (const id of ['persistent', 'only-leaving', 'shared']) {
        await leaving.client.subscribe({ id });
      }
      await staying.client.subscribe({ id: 'shared' });
      const ws = connectionOf(server, leaving.client);
      const closed = nextEvent(server, 'closeClient');
      await leaving.client.stop();
      await closed;
      assert.equal(ws.groups.size, 0);
      assert.equal(server.groups.get({ id: 'only-leaving' }), undefined);
      const persistent = server.groups.get({ id: 'persistent' });
      assert.ok(persistent !== undefined);
      assert.equal(persistent.subscribers.size, 0);
      assert.equal(persistent.data, 'keep me');
      assert.equal(server.groups.get({ id: 'shared' })?.subscribers.size, 1);
      assert.deepEqual([...server.groups.get().keys()].sort(), ['persistent', 'shared']);
    } finally {
      await stopAll(leaving.client, staying.client, server);
    }
  });

  test('a closing connection leaves its groups without trying to send MEMBERSHIP frames', async () => {
    const server = await serve();
    const leaving = await member(server, { reconnect: false });
    try {
      for (let index = 0; index < 20; index++) await leaving.client.subscribe({ id: `c${index}` });
      const ws = connectionOf(server, leaving.client);
      // Each send to a closed connection builds (and throws) an error: 20 memberships, 20 errors.
      const { connection } = ws;
      const send = connection.send.bind(connection);
      let afterClose = 0;
      connection.send = (frame) => {
        if (connection.closed) afterClose++;
        send(frame);
      };
      const closed = nextEvent(server, 'closeClient');
      await leaving.client.stop();
      await closed;
      assert.equal(ws.groups.size, 0);
      assert.equal(afterClose, 0, 'sends attempted on the closed connection');
    } finally {
      await stopAll(leaving.client, server);
    }
  });

  test('hundreds of subscribed connections dropped abruptly leave no groups behind', async () => {
    const server = await serve();
    try {
      const peers = await Promise.all(
        Array.from({ length: 200 }, () => connectRaw(serverUrl(server))),
      );
      for (const [index, peer] of peers.entries()) {
        peer.send([5, 1, `g${index % 10}`]);
        peer.send([5, 2, 'all']);
      }
      await waitFor(() => server.groups.get({ id: 'all' })?.subscribers.size === 200);
      assert.equal(server.groups.size, 11);
      for (const peer of peers) peer.terminate();
      await waitFor(() => server.clients.size === 0 && server.groups.size === 0);
    } finally {
      await server.stop();
    }
  });
});

describe('subscriptions across reconnects', () => {
  test('restored after a reconnect to the same server, without user code', async () => {
    const server = await serve();
    const m = await member(server, { id: 'returning' });
    const publisher = await member(server);
    try {
      await m.client.subscribe({ id: 'x' });
      await m.client.subscribe({ id: 'y' });
      const first = connectionOf(server, m.client);
      const reopened = nextEvent(m.client, 'open');
      first.close(4000, 'drop');
      await reopened;
      assert.deepEqual(m.client.getMyGroups().sort(), ['x', 'y'], 'unchanged throughout');
      await waitFor(() => subscriberClientIds(server, 'x').includes('returning'));
      await waitFor(() => subscriberClientIds(server, 'y').includes('returning'));
      const second = connectionOf(server, m.client);
      assert.notEqual(second.id, first.id);
      assert.equal(
        await publisher.client.sendMesToGroup({ id: 'x', data: 'back', awaitRes: true }),
        1,
      );
      await waitFor(() => m.got.length === 1);
      assert.equal(m.got[0]?.data, 'back');
    } finally {
      await stopAll(m.client, publisher.client, server);
    }
  });

  test('restored after the server restarts on the same port', async () => {
    const port = await getFreePort();
    let server = await serve({ port });
    const m = await member(server, { id: 'patient' });
    try {
      await m.client.subscribe({ id: 'news' });
      await server.stop();
      // Changes while offline are kept too.
      await m.client.subscribe({ id: 'sports' });
      await m.client.unsubscribe({ id: 'news' });
      await m.client.subscribe({ id: 'weather' });
      assert.deepEqual(m.client.getMyGroups().sort(), ['sports', 'weather']);
      const reopened = nextEvent(m.client, 'open');
      server = await serve({ port });
      await reopened;
      await waitFor(() => subscriberClientIds(server, 'sports').includes('patient'));
      await waitFor(() => subscriberClientIds(server, 'weather').includes('patient'));
      assert.equal(server.groups.get({ id: 'news' }), undefined);
      server.groups.sendMes({ id: 'sports', data: 'goal' });
      await waitFor(() => m.got.length === 1);
    } finally {
      await stopAll(m.client, server);
    }
  });

  test('restored on another url (second server) when the first one goes away', async () => {
    const first = await serve({ id: 'first' });
    const second = await serve({ id: 'second' });
    const m = await member(undefined, {
      id: 'mover',
      url: [serverUrl(first), serverUrl(second)],
    });
    try {
      await m.client.subscribe({ id: 'alpha' });
      await m.client.subscribe({ id: 'beta' });
      assert.equal(m.client.getInfo().serverId, 'first');
      const reopened = nextEvent(m.client, 'open');
      await first.stop();
      assert.equal((await reopened).serverId, 'second');
      await waitFor(
        () =>
          subscriberClientIds(second, 'alpha').includes('mover') &&
          subscriberClientIds(second, 'beta').includes('mover'),
      );
      assert.deepEqual(m.client.getMyGroups().sort(), ['alpha', 'beta']);
      assert.equal(second.groups.sendMes({ id: ['alpha', 'beta'], data: 'moved' }), 1);
      await waitFor(() => m.got.length === 1);
    } finally {
      await stopAll(m.client, first, second);
    }
  });

  test('a subscription the new server refuses is dropped from getMyGroups and reported', async () => {
    const first = await serve({ id: 'first' });
    const second = await serve({ id: 'second' });
    second.use(({ mes }) => {
      if (mes.kind === 'subscribe' && mes.group === 'first-only') throw new Error('not here');
    });
    const m = await member(undefined, { url: [serverUrl(first), serverUrl(second)] });
    try {
      await m.client.subscribe({ id: 'first-only' });
      await m.client.subscribe({ id: 'anywhere' });
      const errors: Error[] = [];
      m.client.on('error', ({ error }) => errors.push(error));
      m.client.nextUrl();
      await waitFor(() => m.client.getMyGroups().length === 1);
      assert.deepEqual(m.client.getMyGroups(), ['anywhere']);
      assert.ok(errors.some((error) => error instanceof RemoteError));
      assert.equal(m.client.getInfo().serverId, 'second');
    } finally {
      await stopAll(m.client, first, second);
    }
  });
});

describe('delivery', () => {
  test('messages from one publisher arrive in order (1000 messages, json and msgpack)', async () => {
    const server = await serve();
    const subscribers = [
      await member(server),
      await member(server, { codec: 'msgpack' }),
      await member(server),
    ];
    const publisher = await member(server);
    const total = 1000;
    try {
      for (const { client } of subscribers) await client.subscribe({ id: 'ordered' });
      const sends: Promise<unknown>[] = [];
      for (let seq = 0; seq < total; seq++) {
        sends.push(publisher.client.sendMesToGroup({ id: 'ordered', route: 'seq', data: seq }));
      }
      await Promise.all(sends);
      await waitFor(() => subscribers.every(({ got }) => got.length === total), 10_000);
      const expected = Array.from({ length: total }, (_, seq) => seq);
      for (const { got } of subscribers) {
        assert.deepEqual(
          got.map((message) => message.data),
          expected,
        );
      }
    } finally {
      await stopAll(...subscribers.map(({ client }) => client), publisher.client, server);
    }
  });

  test('msgpack and json subscribers of one group receive the same message', async () => {
    const server = await serve();
    const packed = await member(server, { codec: 'msgpack' });
    const plain = await member(server);
    const publisherPacked = await member(server, { codec: 'msgpack' });
    try {
      await packed.client.subscribe({ id: 'mixed' });
      await plain.client.subscribe({ id: 'mixed' });
      const payload = { text: 'héllo', n: 42, list: [1, null, true], nested: { deep: 'x' } };
      assert.equal(
        await publisherPacked.client.sendMesToGroup({
          id: 'mixed',
          route: 'r',
          act: 'a',
          data: payload,
          awaitRes: true,
        }),
        2,
      );
      assert.equal(server.groups.sendMes({ id: 'mixed', data: 'from server' }), 2);
      await waitFor(() => packed.got.length === 2 && plain.got.length === 2);
      const expected = [
        { group: 'mixed', route: 'r', act: 'a', data: payload },
        { group: 'mixed', route: null, act: null, data: 'from server' },
      ];
      assert.deepEqual(packed.got, expected);
      assert.deepEqual(plain.got, expected);
    } finally {
      await stopAll(packed.client, plain.client, publisherPacked.client, server);
    }
  });

  test('a subscriber that stops reading is closed (4008) while the others get everything', async () => {
    const maxBufferedBytes = 256 * 1024;
    const server = await serve({ maxBufferedBytes });
    const fastJson = await member(server);
    const fastMsgpack = await member(server, { codec: 'msgpack' });
    try {
      await fastJson.client.subscribe({ id: 'firehose' });
      await fastMsgpack.client.subscribe({ id: 'firehose' });
      const slow = await connectRaw(serverUrl(server));
      const subscribeId = slow.allocateId();
      slow.send([5, subscribeId, 'firehose']);
      await slow.waitForFrame((frame) => isFrame(frame, 3, subscribeId));
      const slowWs = [...server.clients.values()].find((ws) => ws.clientId?.startsWith('raw-'));
      assert.ok(slowWs !== undefined);
      const closed: { id: string; code: number }[] = [];
      server.on('closeClient', ({ ws, code }) => closed.push({ id: ws.id, code }));

      slow.ws.pause(); // stops reading its socket: the server's buffer for it grows
      const pad = 'p'.repeat(16 * 1024);
      const batch = 8; // 128 KiB per tick, below maxBufferedBytes
      let seq = 0;
      const deadline = Date.now() + 15_000;
      let extraBatches = 0;
      while (extraBatches < 5) {
        assert.ok(Date.now() < deadline, 'the slow subscriber was never closed');
        for (let index = 0; index < batch; index++) {
          server.groups.sendMes({ id: 'firehose', data: { seq, pad } });
          seq++;
        }
        const sent = seq;
        await waitFor(
          () => fastJson.got.length === sent && fastMsgpack.got.length === sent,
          5000,
          `fast subscribers received ${sent}`,
        );
        if (closed.some((entry) => entry.id === slowWs.id)) extraBatches++;
        assert.ok(
          slowWs.bufferedAmount <= maxBufferedBytes + batch * (pad.length + 100),
          `buffer for the slow subscriber is bounded (${slowWs.bufferedAmount})`,
        );
      }
      assert.deepEqual(closed, [{ id: slowWs.id, code: 4008 }]);
      assert.equal(server.groups.get({ id: 'firehose' })?.subscribers.has(slowWs.id), false);
      assert.equal(server.clients.has(slowWs.id), false);
      for (const { got } of [fastJson, fastMsgpack]) {
        assert.equal(got.length, seq);
        assert.ok(
          got.every((message, index) => (message.data as { seq: number }).seq === index),
          'in order, nothing lost',
        );
      }
      assert.equal(fastJson.client.connected && fastMsgpack.client.connected, true);
      slow.terminate();
    } finally {
      await stopAll(fastJson.client, fastMsgpack.client, server);
    }
  });
});

describe('memberships changed by the server', () => {
  test('a route that adds the connection to a group is reflected in getMyGroups and restored', async () => {
    const server = await serve();
    server.addRoute({
      route: 'join-vip',
      handler: ({ ws }) => {
        server.groups.addSubscriber({ id: 'vip', ws });
        return true;
      },
    });
    const m = await member(server);
    try {
      await m.client.sendMes({ route: 'join-vip', awaitRes: true });
      await waitFor(() => m.client.getMyGroups().includes('vip'), 5000);
      server.groups.delete({ id: 'vip' });
      await waitFor(() => !m.client.getMyGroups().includes('vip'), 5000);
    } finally {
      await stopAll(m.client, server);
    }
  });
});

describe('server.groups events', () => {
  /** Records group events as `event group [clientId]` lines. */
  function recordGroupEvents(server: Server): string[] {
    const lines: string[] = [];
    for (const event of ['add', 'delete', 'subscribe', 'unsubscribe'] as const) {
      server.groups.on(event, ({ group, ws }) => {
        lines.push(
          [event, group.id, ...(ws === undefined ? [] : [ws.clientId ?? ws.id])].join(' '),
        );
      });
    }
    return lines;
  }

  test('add, subscribe, unsubscribe and delete {group, ws?} for client subscriptions', async () => {
    const server = await serve();
    const lines = recordGroupEvents(server);
    const a = await member(server, { id: 'ev-a' });
    const b = await member(server, { id: 'ev-b' });
    try {
      await a.client.subscribe({ id: 'room' });
      await b.client.subscribe({ id: 'room' });
      assert.deepEqual(lines, ['add room ev-a', 'subscribe room ev-a', 'subscribe room ev-b']);
      lines.length = 0;
      await a.client.unsubscribe({ id: 'room' });
      assert.deepEqual(lines, ['unsubscribe room ev-a']);
      lines.length = 0;
      // A group that exists only for its members goes with the last one (here: a disconnect).
      await b.client.stop();
      await waitFor(() => lines.length >= 2);
      assert.deepEqual(lines, ['unsubscribe room ev-b', 'delete room']);
      assert.equal(server.groups.get({ id: 'room' }), undefined);
    } finally {
      await stopAll(a.client, b.client, server);
    }
  });

  test('groups.add and groups.delete: add {group, ws?}, members unsubscribed, then delete', async () => {
    const server = await serve();
    const lines = recordGroupEvents(server);
    const a = await member(server, { id: 'ev-c' });
    try {
      const kept = server.groups.add({ id: 'lobby', data: { topic: 'hi' } });
      let payload: unknown;
      server.groups.once('add', (event) => (payload = event));
      server.groups.add({ id: 'solo' });
      assert.deepEqual(payload, { group: server.groups.get({ id: 'solo' }) });
      server.groups.add({ id: 'lobby', data: { topic: 'again' } }); // exists: no event
      await a.client.subscribe({ id: 'lobby' });
      assert.deepEqual(lines, ['add lobby', 'add solo', 'subscribe lobby ev-c']);
      lines.length = 0;
      await a.client.unsubscribe({ id: 'lobby' });
      assert.deepEqual(lines, ['unsubscribe lobby ev-c'], 'a group made with add stays');
      assert.equal(server.groups.get({ id: 'lobby' }), kept);
      await a.client.subscribe({ id: 'lobby' });
      lines.length = 0;
      server.groups.delete({ id: 'lobby' });
      assert.deepEqual(lines, ['unsubscribe lobby ev-c', 'delete lobby']);
      assert.equal(server.groups.delete({ id: 'lobby' }), false);
      assert.equal(lines.length, 2, 'deleting an unknown group emits nothing');
    } finally {
      await stopAll(a.client, server);
    }
  });

  test('a throwing group listener is reported through the server error event', async () => {
    const server = await serve();
    server.groups.on('add', () => {
      throw new Error('room list bug');
    });
    try {
      const failed = nextEvent(server, 'error');
      server.groups.add({ id: 'x' });
      assert.equal((await failed).error.message, 'room list bug');
      assert.ok(server.groups.get({ id: 'x' }) !== undefined);
    } finally {
      await server.stop();
    }
  });
});
