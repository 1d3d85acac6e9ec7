import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type WsMeshError } from '../errors.js';
import { MAX_STREAM_CREDIT } from '../protocol/validate.js';
import { MAX_BATCH, StreamProducer, type StreamSink } from './stream-producer.js';

/** A sink that records what the producer sent. */
class RecordingSink implements StreamSink {
  readonly batches: unknown[][] = [];
  ended: unknown = undefined;
  failure: WsMeshError | undefined;
  items(_id: number, items: unknown[]): void {
    this.batches.push(items);
  }
  end(_id: number, value: unknown): void {
    this.ended = { value };
  }
  error(_id: number, error: unknown): void {
    this.failure = error as WsMeshError;
  }
  get count(): number {
    return this.batches.reduce((sum, batch) => sum + batch.length, 0);
  }
}

/** Endless synchronous generator that records whether its finally block ran. */
function endless(state: { finished: boolean }): Generator<number> {
  return (function* () {
    try {
      for (let index = 0; ; index++) yield index;
    } finally {
      state.finished = true;
    }
  })();
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs event-loop turns until `done()` holds; fails after a bounded number of turns. */
async function turnsUntil(done: () => boolean, label: string): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (done()) return;
    await nextTurn();
  }
  assert.fail(`not reached: ${label}`);
}

describe('StreamProducer', () => {
  test('a generator that never awaits sends one full batch per event-loop turn', async () => {
    const sink = new RecordingSink();
    const state = { finished: false };
    let finished = 0;
    const producer = new StreamProducer(1, endless(state), MAX_STREAM_CREDIT, sink, () => {
      finished++;
    });
    producer.start();
    await Promise.resolve();
    assert.equal(sink.count, MAX_BATCH, 'one batch before anything else may run');
    await nextTurn();
    await nextTurn();
    assert.ok(sink.count > MAX_BATCH && sink.count < MAX_STREAM_CREDIT, `${sink.count} sent`);
    producer.cancel();
    assert.equal(state.finished, true);
    assert.equal(finished, 1);
  });

  test('stops at the credit granted, and goes on with more', async () => {
    const sink = new RecordingSink();
    const producer = new StreamProducer(
      1,
      endless({ finished: false }),
      300,
      sink,
      () => undefined,
    );
    producer.start();
    for (let turn = 0; turn < 5; turn++) await nextTurn();
    assert.equal(sink.count, 300);
    producer.addCredit(10);
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    assert.equal(sink.count, 310);
    producer.cancel();
  });

  test(`credit above ${MAX_STREAM_CREDIT} fails the stream with ERR_LIMIT and stops the generator`, async () => {
    const sink = new RecordingSink();
    const state = { finished: false };
    let finished = 0;
    const producer = new StreamProducer(7, endless(state), 100, sink, () => {
      finished++;
    });
    producer.start();
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    assert.equal(sink.count, 100);
    producer.addCredit(MAX_STREAM_CREDIT); // within the window: all of it was consumed
    await Promise.resolve();
    producer.addCredit(MAX_STREAM_CREDIT); // now above it
    assert.equal(sink.failure?.code, ErrorCode.LIMIT);
    assert.equal(state.finished, true);
    assert.equal(finished, 1);
    const sent = sink.count;
    producer.addCredit(1);
    await nextTurn();
    assert.equal(sink.count, sent, 'nothing more after the failure');
  });
  test('an async generator streams its items in order, then its return value, and finishes once', async () => {
    const sink = new RecordingSink();
    let finished = 0;
    async function* source(): AsyncGenerator<number, string> {
      for (let index = 0; index < 600; index++) {
        if (index % 100 === 0) await Promise.resolve();
        yield index;
      }
      return 'done';
    }
    const producer = new StreamProducer(3, source(), 1000, sink, () => {
      finished++;
    });
    producer.start();
    await turnsUntil(() => sink.ended !== undefined, 'end');
    const items = sink.batches.flat();
    assert.equal(items.length, 600);
    assert.ok(items.every((item, index) => item === index));
    assert.ok(sink.batches.every((batch) => batch.length <= MAX_BATCH));
    assert.deepEqual(sink.ended, { value: 'done' });
    assert.equal(finished, 1);
    producer.cancel();
    assert.equal(finished, 1, 'cancel after the end does nothing');
  });

  test('a generator that throws sends the items before the error, then the error', async () => {
    const sink = new RecordingSink();
    let finished = 0;
    const failure = new Error('boom');
    function* source(): Generator<number> {
      yield 1;
      yield 2;
      throw failure;
    }
    const producer = new StreamProducer(4, source(), 10, sink, () => {
      finished++;
    });
    producer.start();
    await turnsUntil(() => sink.failure !== undefined, 'error');
    assert.deepEqual(sink.batches, [[1, 2]]);
    assert.equal(sink.failure as unknown, failure);
    assert.equal(sink.ended, undefined);
    assert.equal(finished, 1);
  });

  test('cancel while waiting for credit stops the generator and sends nothing more', async () => {
    const sink = new RecordingSink();
    const state = { finished: false };
    let finished = 0;
    const producer = new StreamProducer(5, endless(state), 3, sink, () => {
      finished++;
    });
    producer.start();
    await turnsUntil(() => sink.count === 3, 'three items');
    assert.deepEqual(sink.batches, [[0, 1, 2]], 'a partial batch is sent when credit runs out');
    producer.cancel();
    assert.equal(state.finished, true);
    assert.equal(finished, 1);
    producer.addCredit(5);
    await nextTurn();
    assert.equal(sink.count, 3);
    assert.equal(sink.ended, undefined);
    assert.equal(sink.failure, undefined);
  });
});
