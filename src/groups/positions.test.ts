/**
 * planRecovery and the wire position helpers: what a resume delivers, in which order, and
 * when it is complete.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isGroupPosition,
  planRecovery,
  readWirePosition,
  seqIn,
  seqsOf,
  type HistoryAnswer,
  type HistoryEntry,
  type StreamInfo,
} from './positions.js';

const BYTES = new Uint8Array([1]);

function entry(stream: string, seq: number, at: number): HistoryEntry {
  return { stream, seq, at, target: 'g', bytes: BYTES };
}

function info(stream: string, head: number, extra: Partial<StreamInfo> = {}): StreamInfo {
  return { stream, head, evictedSeq: 0, evictedAt: 0, floor: 0, ...extra };
}

function answer(entries: HistoryEntry[], streams: StreamInfo[]): HistoryAnswer {
  return { entries, streams };
}

const seqs = (entries: HistoryEntry[]): string[] => entries.map((e) => `${e.stream}${e.seq}`);

test('a known stream: everything after the position, once, in order; complete', () => {
  const plan = planRecovery({ s: { a: 2 }, t: 0 }, [
    answer([entry('a', 1, 1), entry('a', 3, 3), entry('a', 4, 4)], [info('a', 4)]),
    answer([entry('a', 4, 5), entry('a', 3, 4)], [info('a', 4)]),
  ]);
  assert.deepEqual(seqs(plan.entries), ['a3', 'a4']);
  assert.equal(plan.complete, true);
  assert.deepEqual(plan.position.s, { a: 4 });
});

test('a hole no answer fills, or a head beyond the entries, is incomplete', () => {
  const hole = planRecovery({ s: { a: 2 }, t: 0 }, [
    answer([entry('a', 3, 3), entry('a', 5, 5)], [info('a', 5)]),
  ]);
  assert.deepEqual(seqs(hole.entries), ['a3', 'a5']);
  assert.equal(hole.complete, false);
  const tail = planRecovery({ s: { a: 2 }, t: 0 }, [answer([entry('a', 3, 3)], [info('a', 6)])]);
  assert.equal(tail.complete, false);
  assert.deepEqual(tail.position.s, { a: 6 });
});

test('a stream the subscriber never heard from: messages after t, complete when the one before is older', () => {
  const since = { s: {}, t: 100 };
  const complete = planRecovery(since, [
    answer([entry('b', 5, 101), entry('b', 6, 102)], [info('b', 6, { floor: 4 })]),
  ]);
  assert.deepEqual(seqs(complete.entries), ['b5', 'b6']);
  assert.equal(complete.complete, true);
  const unknownStart = planRecovery(since, [answer([entry('b', 5, 101)], [info('b', 5)])]);
  assert.equal(unknownStart.complete, false, 'b4 may have come after t');
  const fromOne = planRecovery(since, [answer([entry('b', 1, 101)], [info('b', 1)])]);
  assert.equal(fromOne.complete, true);
  const evicted = planRecovery(since, [
    answer([], [info('b', 9, { evictedSeq: 9, evictedAt: 150, floor: 0 })]),
  ]);
  assert.equal(evicted.complete, false, 'dropped after t');
});

test('streams are interleaved by arrival, each stream in sequence order', () => {
  const plan = planRecovery({ s: { a: 0 }, t: 0 }, [
    answer(
      [entry('a', 1, 10), entry('b', 1, 5), entry('a', 2, 20), entry('b', 2, 15)],
      [info('a', 2), info('b', 2)],
    ),
  ]);
  assert.deepEqual(seqs(plan.entries), ['b1', 'a1', 'b2', 'a2']);
});

test('wire positions: one group or several, and checks', () => {
  const one = readWirePosition(['x', 3]);
  assert.ok(one);
  assert.equal(seqIn(one, 'g', 'g'), 3);
  assert.equal(seqIn(one, 'g', 'h'), undefined);
  const many = readWirePosition(['x', { g: 3, h: 7 }]);
  assert.ok(many);
  assert.deepEqual(seqsOf(many, ['g', 'h']), [
    ['g', 3],
    ['h', 7],
  ]);
  assert.equal(readWirePosition(['x', 0]), undefined);
  assert.equal(readWirePosition(['x', { g: -1 }]), undefined);
  assert.equal(readWirePosition([1, 2]), undefined);
  assert.equal(isGroupPosition({ s: { a: 1 }, t: 5 }), true);
  assert.equal(isGroupPosition({ s: { a: 1.5 }, t: 5 }), false);
  assert.equal(isGroupPosition({ s: {}, t: -1 }), false);
});
