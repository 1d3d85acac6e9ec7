import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallContext } from './call-context.js';

/** Longest delay setTimeout holds; past it Node fires after 1 ms. */
const MAX_TIMER = 2 ** 31 - 1;

test('a deadline past what a timer holds never aborts the signal early (NATS calls carry any wait)', () => {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((handler: () => void, delay?: number) => {
    delays.push(delay ?? 0);
    return original(handler, 0);
  }) as typeof setTimeout;
  try {
    for (const wait of [MAX_TIMER + 1, 3e9, Number.MAX_VALUE, Number.POSITIVE_INFINITY]) {
      const context = new CallContext(undefined, wait);
      context.abortAtDeadline();
      assert.equal(context.signal.aborted, false, `wait ${wait}`);
      context.settle();
    }
    // A deadline a timer holds is armed as before.
    const near = new CallContext(undefined, 1000);
    near.abortAtDeadline();
    assert.equal(near.signal.aborted, false);
    near.settle();
  } finally {
    globalThis.setTimeout = original;
  }
  assert.ok(delays.length >= 1, 'the near deadline armed a timer');
  for (const delay of delays) assert.ok(delay <= MAX_TIMER, `a timer of ${delay} ms was asked for`);
});
