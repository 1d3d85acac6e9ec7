import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CloneRecord } from '../protocol/frames.js';
import { RecordStore } from './clone-records.js';

function full(overrides: Partial<CloneRecord> = {}): CloneRecord {
  return {
    id: 'b',
    instance: 'i1',
    url: 'ws://b',
    v: 1,
    links: ['a'],
    groups: ['g1'],
    ...overrides,
  };
}

function delta(overrides: Partial<CloneRecord>): CloneRecord {
  return { id: 'b', instance: 'i1', url: 'ws://b', v: 2, links: ['a'], base: 1, ...overrides };
}

describe('RecordStore', () => {
  test('a full record is applied and stored with its groups as a set', () => {
    const store = new RecordStore();
    assert.equal(store.apply(full({ groups: ['g1', 'g2', 'g1'] })), 'applied');
    const stored = store.get('b');
    assert.ok(stored !== undefined);
    assert.deepEqual([...stored.groups].sort(), ['g1', 'g2']);
    assert.equal(stored.v, 1);
    assert.equal(stored.url, 'ws://b');
    assert.equal(stored.gone, false);
  });

  test('a record of the same instance at the same or an older version is stale and changes nothing', () => {
    const store = new RecordStore();
    store.apply(full({ v: 5 }));
    assert.equal(store.apply(full({ v: 5, url: 'ws://other' })), 'stale');
    assert.equal(store.apply(full({ v: 4, url: 'ws://other' })), 'stale');
    assert.equal(store.get('b')?.url, 'ws://b');
    assert.equal(store.apply(full({ v: 6, url: 'ws://new' })), 'applied');
    assert.equal(store.get('b')?.url, 'ws://new');
  });

  test('a new instance replaces the record whatever the versions', () => {
    const store = new RecordStore();
    store.apply(full({ v: 50, groups: ['old'] }));
    assert.equal(store.apply(full({ instance: 'i2', v: 1, groups: ['new'] })), 'applied');
    const stored = store.get('b');
    assert.equal(stored?.instance, 'i2');
    assert.equal(stored?.v, 1);
    assert.deepEqual([...(stored?.groups ?? [])], ['new']);
  });

  test('a delta on the known version adds and removes groups', () => {
    const store = new RecordStore();
    store.apply(full({ groups: ['g1', 'g2'] }));
    const result = store.apply(
      delta({ add: ['g3'], del: ['g1'], links: ['a', 'c'], url: null, gone: true }),
    );
    assert.equal(result, 'applied');
    const stored = store.get('b');
    assert.deepEqual([...(stored?.groups ?? [])].sort(), ['g2', 'g3']);
    assert.equal(stored?.v, 2);
    assert.deepEqual(stored?.links, ['a', 'c']);
    assert.equal(stored?.url, null);
    assert.equal(stored?.gone, true);
  });

  test('a delta on another version, another instance or an unknown clone is a gap', () => {
    const store = new RecordStore();
    assert.equal(store.apply(delta({ add: ['g'] })), 'gap', 'unknown clone');
    store.apply(full({ v: 3 }));
    assert.equal(store.apply(delta({ v: 5, base: 4, add: ['x'] })), 'gap', 'missed version');
    assert.equal(store.apply(delta({ instance: 'i2', v: 4, base: 3 })), 'gap', 'new instance');
    assert.deepEqual([...(store.get('b')?.groups ?? [])], ['g1']);
    assert.equal(store.get('b')?.v, 3);
  });

  test('stored links are copies: changing the applied record does not change the store', () => {
    const store = new RecordStore();
    const record = full();
    store.apply(record);
    record.links.push('z');
    record.groups?.push('z');
    assert.deepEqual(store.get('b')?.links, ['a']);
    assert.deepEqual([...(store.get('b')?.groups ?? [])], ['g1']);
  });

  test('toFull gives back the full form; gone only when set', () => {
    const store = new RecordStore();
    store.apply(full({ groups: ['g1', 'g2'] }));
    const stored = store.get('b');
    assert.ok(stored !== undefined);
    assert.deepEqual(RecordStore.toFull(stored), full({ groups: ['g1', 'g2'] }));
    assert.equal('gone' in RecordStore.toFull(stored), false);
    store.apply(full({ v: 2, gone: true }));
    const gone = store.get('b');
    assert.ok(gone !== undefined);
    assert.equal(RecordStore.toFull(gone).gone, true);
  });

  test('digest lists [id, version] of every record; delete drops one', () => {
    const store = new RecordStore();
    store.apply(full({ id: 'b', v: 3 }));
    store.apply(full({ id: 'c', v: 7 }));
    assert.deepEqual(
      store.digest().sort((x, y) => x[0].localeCompare(y[0])),
      [
        ['b', 3],
        ['c', 7],
      ],
    );
    store.delete('b');
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(store.digest(), [['c', 7]]);
    assert.deepEqual(
      [...store.values()].map((record) => record.id),
      ['c'],
    );
  });
});
