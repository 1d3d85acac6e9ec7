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
});
