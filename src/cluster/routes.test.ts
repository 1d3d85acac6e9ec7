import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredRecord } from './clone-records.js';
import { RouteTable } from './routes.js';

function record(id: string, links: string[], gone = false): StoredRecord {
  return { id, instance: `${id}-1`, url: null, v: 1, links, groups: new Set(), gone };
}

/** A route table for clone `self` over mutable links and records. */
function table(
  self: string,
  links: string[],
  records: StoredRecord[],
): { routes: RouteTable; links: string[]; records: StoredRecord[] } {
  const state = { links, records };
  const routes = new RouteTable(
    self,
    () => state.links,
    () => state.records,
  );
  return { routes, ...state };
}

describe('RouteTable', () => {
  test('a live neighbour is its own next hop; a clone behind it is reached through it', () => {
    // S - A - B - C (a chain; S's own record is not in the store)
    const { routes } = table(
      'S',
      ['A'],
      [record('A', ['S', 'B']), record('B', ['A', 'C']), record('C', ['B'])],
    );
    assert.equal(routes.hop('A'), 'A');
    assert.equal(routes.hop('B'), 'A');
    assert.equal(routes.hop('C'), 'A');
    assert.equal(routes.hop('S'), undefined, 'never a route to itself');
    assert.equal(routes.hop('Z'), undefined);
  });

  test('the shortest path wins; links are taken in both directions', () => {
    // S - A - B - C and S - D - C: C is two hops through D, three through A.
    const { routes } = table(
      'S',
      ['A', 'D'],
      [record('A', ['B']), record('B', ['C']), record('D', []), record('C', ['D'])],
    );
    assert.equal(routes.hop('C'), 'D', 'C only lists D, D lists nobody: links count both ways');
    assert.equal(routes.hop('B'), 'A');
  });

  test('only live links are first hops: a record claiming a link to this clone is not enough', () => {
    const { routes } = table('S', [], [record('A', ['S', 'B']), record('B', ['A'])]);
    assert.equal(routes.hop('A'), undefined);
    assert.equal(routes.hop('B'), undefined);
  });

  test('records of gone clones carry no route', () => {
    const { routes } = table('S', ['A'], [record('A', ['B'], true), record('B', ['A'])]);
    assert.equal(routes.hop('A'), 'A', 'a live link still counts');
    // B lists A, so B is reachable through A even though A's record is gone.
    assert.equal(routes.hop('B'), 'A');
    const other = table(
      'S',
      ['A'],
      [record('A', ['B']), record('B', ['C'], true), record('C', [])],
    );
    assert.equal(other.routes.hop('B'), 'A', "A's record links B");
    assert.equal(other.routes.hop('C'), undefined, 'only a gone record links C');
  });

  test('the table is recomputed only after invalidate()', () => {
    const state = table('S', ['A'], [record('A', [])]);
    assert.equal(state.routes.hop('B'), undefined);
    state.records.push(record('B', ['A']));
    assert.equal(state.routes.hop('B'), undefined, 'stale until invalidated');
    state.routes.invalidate();
    assert.equal(state.routes.hop('B'), 'A');
    state.links.length = 0;
    state.routes.invalidate();
    assert.equal(state.routes.hop('A'), undefined, 'the link went down');
    assert.equal(state.routes.hop('B'), undefined);
  });
});
