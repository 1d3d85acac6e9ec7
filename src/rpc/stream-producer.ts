/**
 * The producing side of an RPC stream: pulls from a generator only while the consumer has
 * credit, batches items per event-loop turn, lets I/O run between full batches (so a stream
 * with a large credit cannot hold the event loop), and stops the generator (`return()`, so
 * its `finally` blocks run) when the consumer cancels or goes away.
 * @module
 */
import { LimitError } from '../errors.js';
import { MAX_STREAM_CREDIT } from '../protocol/validate.js';
import { isThenable } from '../util/thenable.js';

/** Where a producer sends what it pulls. */
export interface StreamSink {
  items(id: number, items: unknown[]): void;
  end(id: number, value: unknown): void;
  error(id: number, error: unknown): void;
}

/** Most items in one RPC_ITEMS frame. */
export const MAX_BATCH = 256;

/** Resolves after pending I/O callbacks ran (the next check phase of the event loop). */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type AnyIterator =
  Iterator<unknown, unknown, undefined> | AsyncIterator<unknown, unknown, undefined>;

/** Streams one iterator to one consumer. */
export class StreamProducer {
  private batch: unknown[] = [];
  private flushTimer: ReturnType<typeof setImmediate> | undefined;
  private wake: (() => void) | undefined;
  private finished = false;

  constructor(
    readonly id: number,
    private readonly iterator: AnyIterator,
    private credit: number,
    private readonly sink: StreamSink,
    private readonly onFinish: (producer: StreamProducer) => void,
  ) {}

  /** Starts pulling. */
  start(): void {
    void this.run();
  }

  /**
   * The consumer can take `n` more items. Credit held above {@link MAX_STREAM_CREDIT} means
   * the consumer's window is larger than the protocol allows: the stream fails with
   * `ERR_LIMIT` and the generator is stopped.
   */
  addCredit(n: number): void {
    if (this.finished) return;
    if (this.credit + n > MAX_STREAM_CREDIT) {
      this.flush();
      this.sink.error(
        this.id,
        new LimitError(`A stream's credit may not exceed ${MAX_STREAM_CREDIT} items`),
      );
      this.cancel();
      return;
    }
    this.credit += n;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Stops the generator; nothing more is sent. */
  cancel(): void {
    if (this.finished) return;
    this.finish();
    try {
      const result = this.iterator.return?.();
      if (isThenable(result)) Promise.resolve(result).catch(() => undefined);
    } catch {
      // A generator that throws from its finally block: nothing to report to anyone.
    }
  }

  private async run(): Promise<void> {
    try {
      while (!this.finished) {
        if (this.credit <= 0) {
          this.flush();
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        const pulled = this.iterator.next();
        const step = isThenable(pulled) ? await pulled : pulled;
        if (this.finished) return;
        if (step.done === true) {
          this.flush();
          this.finish();
          this.sink.end(this.id, step.value);
          return;
        }
        this.batch.push(step.value);
        this.credit--;
        if (this.batch.length >= MAX_BATCH) {
          this.flush();
          // A generator that never awaits would otherwise run its whole credit in one turn.
          await yieldToIo();
        } else this.flushTimer ??= setImmediate(() => this.flush());
      }
    } catch (error) {
      if (this.finished) return;
      this.flush();
      this.finish();
      this.sink.error(this.id, error);
    }
  }

  private flush(): void {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    if (this.batch.length === 0 || this.finished) return;
    const items = this.batch;
    this.batch = [];
    this.sink.items(this.id, items);
  }

  private finish(): void {
    this.finished = true;
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    this.onFinish(this);
  }
}
