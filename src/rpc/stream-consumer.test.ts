import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionClosedError, ErrorCode } from '../errors.js';
import { StreamConsumer, type StreamControl } from './stream-consumer.js';

/** A transport control that records what the consumer asked for. */
class RecordingControl implements StreamControl {
  readonly credits: number[] = [];
  cancels = 0;
  dones = 0;
  credit(n: number): void {
    this.credits.push(n);
  }
  cancel(): void {
    this.cancels++;
  }
  done(): void {
    this.dones++;
  }
}

describe('StreamConsumer', () => {
  test('items pushed before and after next() arrive in order, then the return value', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    consumer.push([1, 2]);
    assert.deepEqual(await consumer.next(), { done: false, value: 1 });
    assert.deepEqual(await consumer.next(), { done: false, value: 2 });
    const waiting = consumer.next();
    consumer.push([3]);
    assert.deepEqual(await waiting, { done: false, value: 3 });
    const last = consumer.next();
    consumer.end('result');
    assert.deepEqual(await last, { done: true, value: 'result' });
    assert.deepEqual(await consumer.next(), { done: true, value: undefined });
    assert.equal(control.dones, 1);
    assert.equal(control.cancels, 0);
  });

  test('for await reads every item of a large stream', async () => {
    const consumer = new StreamConsumer<number>(1, new RecordingControl(), 16);
    const count = 5000;
    consumer.push(Array.from({ length: count }, (_, index) => index));
    consumer.end(undefined);
    const seen: number[] = [];
    for await (const item of consumer) seen.push(item);
    assert.equal(seen.length, count);
    assert.ok(seen.every((item, index) => item === index));
  });

  test('grants credit each time half the window was consumed, and none after the end', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 10);
    consumer.push([1, 2, 3, 4]);
    for (let index = 0; index < 4; index++) await consumer.next();
    assert.deepEqual(control.credits, [], 'less than half the window consumed');
    consumer.push([5, 6, 7, 8, 9, 10]);
    await consumer.next();
    assert.deepEqual(control.credits, [5]);
    for (let index = 0; index < 5; index++) await consumer.next();
    assert.deepEqual(control.credits, [5, 5]);
    consumer.push([11, 12, 13, 14, 15]);
    consumer.end(undefined);
    for (let index = 0; index < 5; index++) await consumer.next();
    assert.deepEqual(control.credits, [5, 5], 'no credit for a finished producer');
  });

  test('a failure is thrown after the items that came before it, once', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    consumer.push([1]);
    consumer.fail(new ConnectionClosedError());
    assert.deepEqual(await consumer.next(), { done: false, value: 1 });
    await assert.rejects(consumer.next(), { code: ErrorCode.CONNECTION_CLOSED });
    assert.deepEqual(await consumer.next(), { done: true, value: undefined });
    assert.equal(control.dones, 1);
  });

  test('a waiting next() rejects when the stream fails', async () => {
    const consumer = new StreamConsumer<number>(1, new RecordingControl(), 100);
    const waiting = consumer.next();
    consumer.fail(new ConnectionClosedError());
    await assert.rejects(waiting, { code: ErrorCode.CONNECTION_CLOSED });
  });

  test('a failure after the end is ignored', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    consumer.end('ok');
    consumer.fail(new ConnectionClosedError());
    assert.deepEqual(await consumer.next(), { done: true, value: 'ok' });
    assert.equal(control.dones, 1);
  });

  test('break cancels the producer once, drops queued items and resolves a waiter', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    consumer.push([1, 2, 3]);
    for await (const item of consumer) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(control.cancels, 1);
    assert.equal(control.dones, 1);
    consumer.push([4]);
    assert.deepEqual(await consumer.next(), { done: true, value: undefined });
    await consumer.return();
    assert.equal(control.cancels, 1, 'cancelled only once');

    const other = new StreamConsumer<number>(2, new RecordingControl(), 100);
    const waiting = other.next();
    await other.return();
    assert.deepEqual(await waiting, { done: true, value: undefined });
  });

  test('return() after the end does not cancel', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    consumer.end(undefined);
    await consumer.return();
    assert.equal(control.cancels, 0);
    assert.equal(control.dones, 1);
  });

  test('throw() cancels and rejects with the given error', async () => {
    const control = new RecordingControl();
    const consumer = new StreamConsumer<number>(1, control, 100);
    const error = new Error('stop');
    await assert.rejects(consumer.throw(error), (thrown) => thrown === error);
    assert.equal(control.cancels, 1);
  });
});
