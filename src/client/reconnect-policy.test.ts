import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthError, NotConnectedError } from '../errors.js';
import { afterClose, type ClosedAttempt, type ReconnectOptions } from './reconnect-policy.js';

const options: ReconnectOptions = {
  reconnect: true,
  reconnectTimeout: 500,
  attempts: 0,
  failFast: false,
};

const dropped: ClosedAttempt = {
  url: 'ws://a',
  wasOpen: true,
  failure: undefined,
  failedAttempts: 0,
  openedSinceStart: true,
  urlCount: 2,
};

const failedAttempt: ClosedAttempt = {
  ...dropped,
  wasOpen: false,
  failure: new NotConnectedError('refused'),
  failedAttempts: 1,
  openedSinceStart: false,
};

describe('afterClose', () => {
  test('a dropped connection is redialed at once, a failed attempt after reconnectTimeout', () => {
    assert.deepEqual(afterClose(dropped, options), { action: 'redial', delay: 0 });
    assert.deepEqual(afterClose(failedAttempt, options), { action: 'redial', delay: 500 });
  });

  test('refused authentication gives up with the reported failure', () => {
    const failure = new AuthError('refused');
    assert.deepEqual(afterClose({ ...dropped, failure }, options), {
      action: 'give-up',
      error: failure,
      reported: true,
    });
  });

  test('failFast gives up once every url failed before the first connection', () => {
    const fast = { ...options, failFast: true };
    assert.equal(afterClose(failedAttempt, fast).action, 'redial', 'one url of two tried');
    const both = { ...failedAttempt, failedAttempts: 2 };
    assert.deepEqual(afterClose(both, fast), {
      action: 'give-up',
      error: both.failure,
      reported: true,
    });
    const later = { ...both, openedSinceStart: true };
    assert.equal(afterClose(later, fast).action, 'redial', 'not after a first connection');
  });

  test('reconnect: false gives up: with the failure, or a new unreported error after a drop', () => {
    const off = { ...options, reconnect: false };
    assert.deepEqual(afterClose(failedAttempt, off), {
      action: 'give-up',
      error: failedAttempt.failure,
      reported: true,
    });
    const next = afterClose(dropped, off);
    assert.ok(next.action === 'give-up' && !next.reported);
    assert.match(next.error.message, /ws:\/\/a closed and reconnect is off/);
  });

  test('attempts: gives up when that many attempts in a row failed, naming the last failure', () => {
    const three = { ...options, attempts: 3 };
    assert.equal(afterClose({ ...failedAttempt, failedAttempts: 2 }, three).action, 'redial');
    const next = afterClose({ ...failedAttempt, failedAttempts: 3 }, three);
    assert.ok(next.action === 'give-up' && !next.reported);
    assert.match(next.error.message, /Gave up after 3 failed attempts; the last: refused/);
    assert.equal(next.error.cause, failedAttempt.failure);
  });
});
