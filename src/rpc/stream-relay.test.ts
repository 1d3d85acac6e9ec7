import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionClosedError } from '../errors.js';
import { StreamRelay } from './stream-relay.js';

/** A relay whose sink and upstream controls record what they are given. */
function recorded(): { relay: StreamRelay; log: string[] } {
  const log: string[] = [];
  const relay = new StreamRelay(
    7,
    {
      items: (items) => log.push(`items ${Array.isArray(items) ? items.join(',') : 'encoded'}`),
      end: (value) => log.push(`end ${String(value)}`),
      error: (error) => log.push(`error ${error.code}`),
    },
    {
      credit: (n) => log.push(`credit ${n}`),
      cancel: () => log.push('cancel'),
      done: () => log.push('done'),
    },
  );
  return { relay, log };
}

describe('StreamRelay', () => {
  test('passes items down and credit up as they come, holding nothing', () => {
    const { relay, log } = recorded();
    relay.addCredit(4);
    relay.push([1, 2]);
    relay.push([3]);
    relay.addCredit(2);
    relay.end('r');
    assert.deepEqual(log, ['credit 4', 'items 1,2', 'items 3', 'credit 2', 'done', 'end r']);
  });

  test('after the end, nothing more passes either way', () => {
    const { relay, log } = recorded();
    relay.fail(new ConnectionClosedError('gone'));
    relay.push([1]);
    relay.addCredit(1);
    relay.end(null);
    relay.fail(new ConnectionClosedError('again'));
    relay.cancel();
    assert.deepEqual(log, ['done', 'error ERR_CONNECTION_CLOSED']);
  });

  test('cancel tells upstream once and drops what still arrives', () => {
    const { relay, log } = recorded();
    relay.cancel();
    relay.cancel();
    relay.push([1]);
    relay.end(null);
    assert.deepEqual(log, ['done', 'cancel']);
  });
});
