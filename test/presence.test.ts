/**
 * Presence on the clone mesh (in one process): the list across clones after joins and leaves,
 * join/leave events only for members that asked, the cap, opt-in per group, a client that
 * fails over to another clone, and queries from a clone without members.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../src/client/client.js';
import { linkedAll, startMesh, stopClones, type Clone } from './clone-helpers.js';
import { waitFor } from './helpers.js';

let clones: Clone[] = [];

before(async () => {
  clones = await startMesh(['pa', 'pb', 'pc'], () => ({
    presence: { allGroups: true, maxMembers: 3 },
  }));
  await waitFor(() => linkedAll(clones), 10_000, 'mesh linked');
});

after(async () => {
  await stopClones(clones);
});

interface Seen {
  type: 'join' | 'leave';
  group: string;
  clientId: string;
  data: unknown;
  node: string;
}

async function member(
  clone: Clone | string[],
  id: string,
  data?: unknown,
): Promise<[Client, Seen[]]> {
  const url = Array.isArray(clone) ? clone : clone.url;
  const client = new Client({
    id,
    url,
    data,
    reconnect: Array.isArray(clone),
    reconnectTimeout: 50,
    silent: true,
  });
  const seen: Seen[] = [];
  client.on('join', ({ group, clientId, data: d, node }) =>
    seen.push({ type: 'join', group, clientId, data: d, node }),
  );
  client.on('leave', ({ group, clientId, data: d, node }) =>
    seen.push({ type: 'leave', group, clientId, data: d, node }),
  );
  await client.start();
  return [client, seen];
}

function sorted(list: { clientId: string; node: string }[]): string[] {
  return list.map((m) => `${m.clientId}@${m.node}`).sort();
}

test('presence lists members of every clone; joins and leaves reach members that asked', async () => {
  const [a, b, c] = clones as [Clone, Clone, Clone];
  const [alice, aliceSeen] = await member(a, 'alice', { name: 'Alice' });
  const [bob, bobSeen] = await member(b, 'bob', { name: 'Bob' });
  const [quiet, quietSeen] = await member(c, 'quiet');
  try {
    await alice.subscribe({ id: 'room', presence: true });
    await bob.subscribe({ id: 'room', presence: true });
    // Subscribed without presence: not listed, told nothing.
    await quiet.subscribe({ id: 'room' });
    // The subscribe resolved after every clone acknowledged: the lists are complete now.
    for (const clone of [a, b, c]) {
      assert.deepEqual(sorted(await clone.server.groups.presence({ id: 'room' })), [
        'alice@pa',
        'bob@pb',
      ]);
    }
    const listed = await quiet.presence({ id: 'room' });
    assert.deepEqual(
      listed.sort((x, y) => (x.clientId < y.clientId ? -1 : 1)),
      [
        { clientId: 'alice', data: { name: 'Alice' }, node: 'pa' },
        { clientId: 'bob', data: { name: 'Bob' }, node: 'pb' },
      ],
    );
    assert.equal(await quiet.presenceCount({ id: 'room' }), 2);
    // Alice was there first: she hears Bob join; Bob joined second and hears nobody join.
    await waitFor(() => aliceSeen.length === 1, 5000, 'alice told of bob');
    assert.deepEqual(aliceSeen, [
      { type: 'join', group: 'room', clientId: 'bob', data: { name: 'Bob' }, node: 'pb' },
    ]);
    await bob.unsubscribe({ id: 'room' });
    await waitFor(() => aliceSeen.length === 2, 5000, 'alice told of bob leaving');
    assert.deepEqual(aliceSeen[1], {
      type: 'leave',
      group: 'room',
      clientId: 'bob',
      data: { name: 'Bob' },
      node: 'pb',
    });
    await waitFor(
      async () => sorted(await c.server.groups.presence({ id: 'room' })).join() === 'alice@pa',
      5000,
      'bob gone from pc',
    );
    // A member that did not ask for presence got no event at all; Bob none of his own.
    assert.deepEqual(quietSeen, []);
    assert.deepEqual(bobSeen, []);
  } finally {
    await Promise.all([alice, bob, quiet].map((x) => x.stop()));
  }
});

test('a disconnected member leaves everywhere; a failed-over one is listed on its new clone', async () => {
  const [a, b] = clones as [Clone, Clone];
  const [watcher, seen] = await member(b, 'watcher');
  const [roamer] = await member([a.url, b.url], 'roamer', 'r');
  try {
    await watcher.subscribe({ id: 'lobby', presence: true });
    await roamer.subscribe({ id: 'lobby', presence: true });
    await waitFor(
      () => seen.some((e) => e.type === 'join' && e.clientId === 'roamer'),
      5000,
      'join',
    );
    assert.equal(seen[0]?.node, 'pa');
    // Its connection to pa drops: the client moves to pb and resubscribes with presence.
    const onA = [...a.server.clients.values()].find((ws) => ws.clientId === 'roamer');
    onA?.close(4000, 'test');
    await waitFor(
      async () =>
        sorted(await a.server.groups.presence({ id: 'lobby' })).join() === 'roamer@pb,watcher@pb',
      5000,
      'roamer listed on pb',
    );
    assert.deepEqual(
      seen.map((e) => `${e.type} ${e.clientId}@${e.node}`),
      ['join roamer@pa', 'leave roamer@pa', 'join roamer@pb'],
    );
  } finally {
    await Promise.all([watcher, roamer].map((x) => x.stop()));
  }
});

test('the cap per group refuses one member more; presence is opt-in per group', async () => {
  const [a, b, c] = clones as [Clone, Clone, Clone];
  const members: Client[] = [];
  try {
    for (const [index, clone] of [a, b, c].entries()) {
      const [client] = await member(clone, `m${index}`);
      members.push(client);
      await client.subscribe({ id: 'capped', presence: true });
    }
    const [extra] = await member(a, 'extra');
    members.push(extra);
    await assert.rejects(extra.subscribe({ id: 'capped', presence: true }), {
      code: 'ERR_LIMIT',
    });
    // Refused: not subscribed either.
    assert.deepEqual(extra.getMyGroups(), []);
    assert.equal(await a.server.groups.presenceCount({ id: 'capped' }), 3);
    a.server.groups.add({ id: 'private', presence: false });
    await assert.rejects(extra.subscribe({ id: 'private', presence: true }), {
      code: 'ERR_PRESENCE_OFF',
    });
  } finally {
    await Promise.all(members.map((x) => x.stop()));
  }
});

test('options are validated up front', async () => {
  const { Server } = await import('../src/server/server.js');
  for (const options of [
    { presence: { maxMembers: 0 } },
    { presence: { allGroups: 'yes' } },
    { presence: { everyone: true } },
    { presence: true },
    { clusterAckTimeout: -1 },
  ])
    assert.throws(
      () => new Server(options as never),
      { code: 'ERR_INVALID_OPTION' },
      JSON.stringify(options),
    );
  const [a] = clones as [Clone];
  const [c] = await member(a, 'opts');
  try {
    await assert.rejects(c.subscribe({ id: 'g', presence: 'yes' } as never), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(c.subscribe({ id: 'g', sinse: 1 } as never), {
      code: 'ERR_INVALID_OPTION',
    });
    await assert.rejects(c.sendMesToGroup({ id: 'g', ack: 'cluster' }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    await assert.rejects(c.presence({ id: '' }), { code: 'ERR_INVALID_ARGUMENT' });
  } finally {
    await c.stop();
  }
});
