/**
 * HistoryStore: numbering of this node's messages, size and ttl bounds with what was
 * dropped, copies, queries after a position, and holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HistoryStore, resolveHistory } from './history.js';

const BYTES = new Uint8Array([1, 2, 3]);

function store(size: number, ttl = 1000): { history: HistoryStore; clock: { now: number } } {
  const clock = { now: 1000 };
  const history = new HistoryStore({ size, ttl }, () => clock.now);
  return { history, clock };
}

test('stamps one sequence per group with history; broadcasts get none', () => {
  const { history } = store(10);
  assert.equal(history.stamp('g'), undefined, 'nothing before the codec is set');
  history.codec = { binary: true } as never;
  const first = history.stamp('g');
  assert.deepEqual(first, [history.stream, 1]);
  history.record([['g', 1]], history.stream, 'g', BYTES);
  assert.deepEqual(history.stamp('g'), [history.stream, 2]);
  assert.deepEqual(history.stamp(['g', 'h', 'g']), [history.stream, { g: 2, h: 1 }]);
  assert.equal(history.stamp(null), undefined);
});

test('keeps the last size messages and remembers what it dropped', () => {
  const { history, clock } = store(3);
  for (let seq = 1; seq <= 5; seq++) {
    clock.now = 1000 + seq;
    assert.equal(history.record([['g', seq]], 'a', 'g', BYTES), true);
  }
  assert.equal(history.size, 3);
  const { entries, streams } = history.query('g', { s: { a: 1 }, t: 0 });
  assert.deepEqual(
    entries.map((e) => e.seq),
    [3, 4, 5],
  );
  assert.deepEqual(streams, [{ stream: 'a', head: 5, evictedSeq: 2, evictedAt: 1002, floor: 0 }]);
  assert.equal(history.record([['g', 4]], 'a', 'g', BYTES), false, 'a copy');
  assert.equal(history.record([['g', 2]], 'a', 'g', BYTES), false, 'a dropped one');
});

test('drops messages older than ttl, on query and sweep', () => {
  const { history, clock } = store(100, 50);
  history.record([['g', 1]], 'a', 'g', BYTES);
  clock.now += 30;
  history.record([['g', 2]], 'a', 'g', BYTES);
  clock.now += 30;
  assert.deepEqual(
    history.query('g', { s: {}, t: 0 }).entries.map((e) => e.seq),
    [2],
  );
  clock.now += 30;
  history.sweep();
  assert.equal(history.size, 0);
  const [state] = history.query('g', { s: {}, t: 0 }).streams;
  assert.equal(state?.evictedSeq, 2);
});

test('floor: the newest sequence known to predate t', () => {
  const { history, clock } = store(100);
  history.record([['g', 1]], 'a', 'g', BYTES);
  clock.now = 2000;
  history.record([['g', 2]], 'a', 'g', BYTES);
  const { entries, streams } = history.query('g', { s: {}, t: 1500 });
  assert.deepEqual(
    entries.map((e) => e.seq),
    [2],
  );
  assert.equal(streams[0]?.floor, 1);
});

test('holds count per group; groups without history keep nothing', () => {
  const { history } = store(10);
  history.hold('g');
  history.hold('g');
  history.release('g');
  assert.equal(history.held('g'), true);
  assert.equal(history.held(['x', 'g']), true);
  history.release('g');
  assert.equal(history.held('g'), false);
  const off = new HistoryStore(undefined);
  assert.equal(off.off, true);
  assert.equal(off.configFor('g'), undefined);
  off.configure('g', { size: 5, ttl: 10 });
  assert.equal(off.off, false);
  assert.equal(off.record([['h', 1]], 'a', 'h', BYTES), true);
  assert.equal(off.size, 0);
});

test('resolveHistory checks size, ttl and unknown keys', () => {
  assert.deepEqual(resolveHistory({ size: 5 }, 'h'), { size: 5, ttl: 300_000 });
  assert.equal(typeof resolveHistory({ size: 5, ttl: -1 }, 'h'), 'string');
  assert.equal(typeof resolveHistory({ size: 2.5 }, 'h'), 'string');
  assert.equal(typeof resolveHistory({ size: 5, max: 1 }, 'h'), 'string');
  assert.equal(typeof resolveHistory(null, 'h'), 'string');
});
