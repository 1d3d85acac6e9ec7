import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, NotConnectedError, type WsMeshError } from '../errors.js';
import {
  FrameType,
  type Frame,
  type RequestBuilder,
  type RequestFrame,
} from '../protocol/frames.js';
import type { RequestOptions } from '../transport/connection.js';
import { Outbox, QueuedFrame, type OutboxTarget } from './outbox.js';

/** Id the fake connection gives every request. */
const REQUEST_ID = 7;

/** A SUBSCRIBE to `group`, built around its request id. */
function frame(group: string): RequestBuilder {
  return (id) => [FrameType.SUBSCRIBE, id, group];
}

/** A connection that records writes; requests answer with their frame's group id. */
class FakeConnection implements OutboxTarget {
  readonly sent: Frame[] = [];
  readonly requests: { frame: RequestFrame; options: RequestOptions | undefined }[] = [];
  failSends = false;
  send(frame: Frame): void {
    if (this.failSends) throw new NotConnectedError();
    this.sent.push(frame);
  }
  request(build: RequestBuilder, options?: RequestOptions): Promise<unknown> {
    const frame = build(REQUEST_ID);
    this.requests.push({ frame, options });
    return Promise.resolve(frame[2]);
  }
  get connection(): OutboxTarget {
    return this;
  }
}

/** Settles with what the promise did, so the order of settlement can be checked. */
function outcome(promise: Promise<unknown>): Promise<{ value?: unknown; error?: WsMeshError }> {
  return promise.then(
    (value) => ({ value }),
    (error: WsMeshError) => ({ error }),
  );
}

/** An entry built directly, with a chosen creation time. */
function queued(
  outbox: Outbox,
  build: RequestBuilder,
  isRequest: boolean,
  timeout: number,
  createdAt: number,
): { entry: QueuedFrame; settled: Promise<{ value?: unknown; error?: WsMeshError }> } {
  let entry: QueuedFrame | undefined;
  const settled = outcome(
    new Promise((resolve, reject) => {
      entry = new QueuedFrame(
        outbox,
        build,
        isRequest,
        timeout,
        undefined,
        resolve,
        reject,
        createdAt,
      );
    }),
  );
  return { entry: entry as QueuedFrame, settled };
}

describe('Outbox', () => {
  test('flush sends waiting frames oldest first and settles each as its write would have', async () => {
    const outbox = new Outbox(10);
    const first = outbox.enqueue(frame('a'), false, 1000, undefined);
    const second = outbox.enqueue(frame('b'), true, 1000, undefined);
    const third = outbox.enqueue(frame('c'), false, 1000, undefined);
    assert.equal(outbox.size, 3);
    const connection = new FakeConnection();
    outbox.flush(connection.connection);
    assert.equal(outbox.size, 0);
    assert.deepEqual(connection.sent, [
      [FrameType.SUBSCRIBE, 0, 'a'],
      [FrameType.SUBSCRIBE, 0, 'c'],
    ]);
    assert.deepEqual(
      connection.requests.map((request) => request.frame),
      [[FrameType.SUBSCRIBE, REQUEST_ID, 'b']],
    );
    assert.equal(await first, undefined);
    assert.equal(await second, 'b', 'a request settles with the reply');
    assert.equal(await third, undefined);
  });

  test('a request keeps the time left of its timeout when flushed', () => {
    const outbox = new Outbox(10);
    const { entry } = queued(outbox, frame('x'), true, 10_000, Date.now() - 4000);
    outbox.push(entry);
    const connection = new FakeConnection();
    outbox.flush(connection.connection);
    const timeout = connection.requests[0]?.options?.timeout ?? NaN;
    assert.ok(timeout <= 6000 && timeout > 5000, `timeout ${timeout}`);
    const late = queued(outbox, frame('y'), true, 1000, Date.now() - 5000).entry;
    outbox.push(late);
    outbox.flush(connection.connection);
    assert.equal(connection.requests[1]?.options?.timeout, 1, 'at least 1 ms');
  });

  test('flush takes requests off the deadline queue', async () => {
    const outbox = new Outbox(10);
    const { entry, settled } = queued(outbox, frame('x'), true, 30, Date.now());
    outbox.push(entry);
    assert.equal(entry.scheduled, true);
    outbox.flush(new FakeConnection().connection);
    assert.equal(entry.scheduled, false);
    assert.deepEqual(await settled, { value: 'x' });
  });

  test('a send that throws on flush rejects that entry only', async () => {
    const outbox = new Outbox(10);
    const message = outbox.enqueue(frame('a'), false, 1000, undefined);
    const connection = new FakeConnection();
    connection.failSends = true;
    outbox.flush(connection.connection);
    await assert.rejects(message, { code: ErrorCode.NOT_CONNECTED });
  });

  test('a full queue rejects with QueueFullError and keeps what it has', async () => {
    const outbox = new Outbox(2);
    void outbox.enqueue(frame('a'), false, 1000, undefined);
    void outbox.enqueue(frame('b'), false, 1000, undefined);
    await assert.rejects(outbox.enqueue(frame('c'), false, 1000, undefined), {
      code: ErrorCode.QUEUE_FULL,
    });
    assert.equal(outbox.size, 2);
    const connection = new FakeConnection();
    outbox.flush(connection.connection);
    assert.deepEqual(
      connection.sent.map((frame) => frame[2]),
      ['a', 'b'],
    );
  });

  test('an aborted signal rejects at once; an abort while waiting removes the entry', async () => {
    const outbox = new Outbox(10);
    await assert.rejects(outbox.enqueue(frame('a'), false, 1000, AbortSignal.abort()), {
      code: ErrorCode.ABORTED,
    });
    assert.equal(outbox.size, 0);
    const controller = new AbortController();
    const waiting = outbox.enqueue(frame('b'), true, 10_000, controller.signal);
    assert.equal(outbox.size, 1);
    controller.abort();
    await assert.rejects(waiting, { code: ErrorCode.ABORTED });
    assert.equal(outbox.size, 0);
    const connection = new FakeConnection();
    outbox.flush(connection.connection);
    assert.equal(connection.requests.length, 0);
  });

  test('a request whose timeout passes while offline rejects with TimeoutError and leaves the queue', async () => {
    const outbox = new Outbox(10);
    const message = outbox.enqueue(frame('a'), false, 20, undefined);
    const request = outcome(outbox.enqueue(frame('b'), true, 20, undefined));
    // The deadline timer is unref'd; a ref'd guard keeps the process alive and bounds the wait.
    const guard = setTimeout(() => undefined, 5000);
    const result = await request;
    clearTimeout(guard);
    assert.equal(result.error?.code, ErrorCode.TIMEOUT);
    assert.equal(outbox.size, 1, 'the plain message still waits');
    const connection = new FakeConnection();
    outbox.flush(connection.connection);
    assert.equal(await message, undefined);
    assert.equal(connection.requests.length, 0);
  });

  test('rejectAll rejects every waiting entry and empties the queue', async () => {
    const outbox = new Outbox(10);
    const all = [
      outbox.enqueue(frame('a'), false, 1000, undefined),
      outbox.enqueue(frame('b'), true, 1000, undefined),
    ];
    outbox.rejectAll(new NotConnectedError());
    for (const promise of all) await assert.rejects(promise, { code: ErrorCode.NOT_CONNECTED });
    assert.equal(outbox.size, 0);
  });
});
