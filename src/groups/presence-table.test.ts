import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PresenceTable, type PresenceMember } from './presence-table.js';

function table(interest = new Set(['g'])): {
  presence: PresenceTable;
  changes: string[];
  heard: string[];
  listener: (id: string) => {
    id: string;
    presenceEvent(g: string, j: boolean, m: PresenceMember): void;
  };
} {
  const changes: string[] = [];
  const heard: string[] = [];
  const presence = new PresenceTable({
    selfId: 'me',
    maxMembers: 3,
    hasInterest: (groupId) => interest.has(groupId),
    localChanged: (groupId, joins, leaves) =>
      changes.push(`${groupId} +${joins.map((e) => e[0]).join()} -${leaves.join()}`),
    reportError: (error) => {
      throw error;
    },
  });
  const listener = (id: string) => ({
    id,
    presenceEvent: (g: string, joined: boolean, m: PresenceMember) =>
      heard.push(`${id}: ${joined ? 'join' : 'leave'} ${m.clientId}@${m.node}`),
  });
  return { presence, changes, heard, listener };
}

const names = (list: PresenceMember[]): string[] =>
  list.map((m) => `${m.clientId}@${m.node}`).sort();

test('local joins and leaves are listed, sent on, and told to listeners but not to the member itself', () => {
  const { presence, changes, heard, listener } = table();
  presence.join('g', 'c1', 'alice', { a: 1 }, undefined);
  presence.listen('g', listener('c1'));
  presence.join('g', 'c2', 'bob', null, undefined);
  presence.listen('g', listener('c2'));
  presence.leave('g', 'c2');
  assert.deepEqual(changes, ['g +c1 -', 'g +c2 -', 'g + -c2']);
  assert.deepEqual(heard, ['c1: join bob@me', 'c1: leave bob@me']);
  assert.deepEqual(presence.list('g'), [{ clientId: 'alice', data: { a: 1 }, node: 'me' }]);
  // listen() for a key that is not listed does nothing.
  presence.listen('g', listener('nobody'));
  presence.join('g', 'c3', 'carol', null, undefined);
  assert.equal(heard.length, 3);
});

test('remote changes: a reset replaces what a node had (leaves for the missing), dropNode empties it', () => {
  const { presence, heard, listener } = table();
  presence.join('g', 'c1', 'alice', null, undefined);
  presence.listen('g', listener('c1'));
  presence.applyRemote(
    'n2',
    'g',
    true,
    [
      ['k1', 'bob', null],
      ['k2', 'carol', null],
    ],
    [],
  );
  presence.applyRemote(
    'n2',
    'g',
    true,
    [
      ['k2', 'carol', null],
      ['k3', 'dan', null],
    ],
    [],
  );
  assert.deepEqual(names(presence.list('g')), ['alice@me', 'carol@n2', 'dan@n2']);
  assert.equal(presence.count('g'), 3);
  assert.deepEqual(heard, [
    'c1: join bob@n2',
    'c1: join carol@n2',
    'c1: join dan@n2',
    'c1: leave bob@n2',
  ]);
  presence.applyRemote('n2', 'g', false, [], ['k3']);
  presence.dropNode('n2');
  assert.deepEqual(names(presence.list('g')), ['alice@me']);
  assert.deepEqual(heard.slice(4), ['c1: leave dan@n2', 'c1: leave carol@n2']);
  assert.deepEqual([...presence.nodes()], []);
});

test('remote entries are kept only for groups with local interest, and dropped with it', () => {
  const interest = new Set<string>();
  const { presence } = table(interest);
  presence.applyRemote('n2', 'g', true, [['k1', 'bob', null]], []);
  assert.equal(presence.count('g'), 0);
  interest.add('g');
  presence.applyRemote('n2', 'g', true, [['k1', 'bob', null]], []);
  assert.equal(presence.count('g'), 1);
  presence.dropRemote('g');
  assert.equal(presence.count('g'), 0);
  assert.equal(presence.size, 0);
});

test('the cap counts every node; other nodes never make a group hold more than the cap', () => {
  const { presence } = table();
  presence.applyRemote(
    'n2',
    'g',
    true,
    [
      ['k1', 'b', null],
      ['k2', 'c', null],
    ],
    [],
  );
  presence.join('g', 'c1', 'alice', null, undefined);
  assert.throws(() => presence.join('g', 'c2', 'zed', null, undefined), { code: 'ERR_LIMIT' });
  // Joining again is no new member.
  presence.join('g', 'c1', 'alice', 'again', undefined);
  presence.applyRemote(
    'n3',
    'g',
    true,
    [1, 2, 3, 4, 5].map((n) => [`k${n}`, `x${n}`, null]),
    [],
  );
  // The group is full: nothing of n3 is kept, but n2 may still change its own entries.
  assert.equal(presence.list('g').filter((m) => m.node === 'n3').length, 0);
  presence.applyRemote('n2', 'g', false, [['k1', 'b2', null]], ['k2']);
  presence.applyRemote('n3', 'g', false, [['k9', 'x9', null]], []);
  assert.deepEqual(names(presence.list('g')), ['alice@me', 'b2@n2', 'x9@n3']);
  assert.equal(presence.remoteEntries, 2);
});

test('entries from any number of nodes stay within the cap per group', () => {
  const { presence } = table();
  for (let n = 0; n < 1000; n++)
    presence.applyRemote(`n${n}`, 'g', n % 2 === 0, [[`k${n}`, `c${n}`, null]], []);
  assert.equal(presence.count('g'), 3);
  assert.equal(presence.remoteEntries, 3);
  assert.equal(presence.nodes().size, 3);
});
