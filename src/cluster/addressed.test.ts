import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType, type CloneAddressedFrame } from '../protocol/frames.js';
import { fingerprint, LOOP_BURST, LOOP_ENTRIES, LOOP_RATE, LoopGuard } from './addressed.js';

const ack = (version: number): CloneAddressedFrame => [FrameType.CLONE_ACK, 'a', 'b', version];

test('a frame that keeps coming round passes the burst, then is dropped', () => {
  const now = 1_000_000;
  const guard = new LoopGuard(() => now);
  let passed = 0;
  for (let round = 0; round < 1000; round++) if (guard.pass(ack(1))) passed++;
  assert.equal(passed, LOOP_BURST);
  assert.equal(guard.dropped, 1000 - LOOP_BURST);
  // Other frames are not held back by it.
  assert.ok(guard.pass(ack(2)));
});

test('identical frames slower than the rate always pass', () => {
  let now = 0;
  const guard = new LoopGuard(() => now);
  for (let round = 0; round < 10 * LOOP_BURST; round++) {
    assert.ok(guard.pass(ack(1)), `round ${round}`);
    now += 1000 / LOOP_RATE;
  }
  assert.equal(guard.dropped, 0);
});

test('fingerprints tell fields apart, presence entries by key and client id', () => {
  const presence = (joins: [string, string, unknown][], leaves: string[]): CloneAddressedFrame => [
    FrameType.CLONE_PRESENCE,
    'a',
    'b',
    'g',
    false,
    joins,
    leaves,
  ];
  const prints = [
    fingerprint(ack(1)),
    fingerprint(ack(2)),
    fingerprint([FrameType.CLONE_ACK, 'ab', '', 1]),
    fingerprint([FrameType.CLONE_PRESENCE_FETCH, 'a', 'b', 'g']),
    fingerprint(presence([['k', 'c', null]], [])),
    fingerprint(presence([], ['k'])),
    fingerprint(presence([['k', 'd', null]], [])),
  ];
  assert.equal(new Set(prints).size, prints.length);
  for (const print of prints) assert.ok(Number.isSafeInteger(print) && print >= 0);
  assert.equal(
    fingerprint(presence([['k', 'c', { n: 1 }]], [])),
    fingerprint(presence([['k', 'c', { n: 2 }]], [])),
  );
});

test('the guard remembers at most LOOP_ENTRIES frames', () => {
  const guard = new LoopGuard(() => 0);
  for (let version = 0; version < LOOP_ENTRIES * 2; version++) guard.pass(ack(version));
  assert.equal(guard.size, LOOP_ENTRIES);
});
