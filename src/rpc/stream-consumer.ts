/**
 * The consuming side of an RPC stream: an async iterator that grants the producer credit as
 * items are consumed (so a slow reader slows the producer) and cancels the producer on
 * `break` / `return()`.
 * @module
 */
import type { WsMeshError } from '../errors.js';

/** Items granted up front; more are granted each time half of them were consumed. */
export const STREAM_WINDOW = 1024;

/** Controls of the transport under a consumer. */
export interface StreamControl {
  credit(n: number): void;
  cancel(): void;
  done(): void;
}

/** Remote generator as an async iterator. */
export class StreamConsumer<T = unknown> implements AsyncIterableIterator<T> {
  private readonly queue: unknown[] = [];
  private head = 0;
  private ended = false;
  private returnValue: unknown;
  private failure: WsMeshError | undefined;
  private waiter:
    { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private consumed = 0;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly control: StreamControl,
    private readonly window: number = STREAM_WINDOW,
  ) {}

  /** Items arrived. */
  push(items: unknown[]): void {
    if (this.closed) return;
    for (const item of items) this.queue.push(item);
    this.deliver();
  }

  /** The producer finished. */
  end(value: unknown): void {
    if (this.closed) return;
    this.ended = true;
    this.returnValue = value;
    this.control.done();
    this.deliver();
  }

  /** The stream failed (remote error, closed connection, abort). */
  fail(error: WsMeshError): void {
    if (this.closed || this.ended) return;
    this.failure = error;
    this.ended = true;
    this.control.done();
    this.deliver();
  }

  next(): Promise<IteratorResult<T>> {
    const ready = this.take();
    if (ready !== undefined) return ready;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    if (!this.closed && !this.ended) {
      this.control.cancel();
      this.control.done();
    }
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ done: true, value: undefined as T });
    return Promise.resolve({ done: true, value: value as T });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(): Promise<IteratorResult<T>> | undefined {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head] as T;
      this.queue[this.head] = undefined;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.consumed++;
      if (!this.ended && this.consumed * 2 >= this.window) {
        this.control.credit(this.consumed);
        this.consumed = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.closed) return Promise.resolve({ done: true, value: undefined as T });
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.closed = true;
      return Promise.reject(failure);
    }
    if (this.ended) {
      this.closed = true;
      return Promise.resolve({ done: true, value: this.returnValue as T });
    }
    return undefined;
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    const ready = this.take();
    if (ready === undefined) return;
    this.waiter = undefined;
    ready.then(waiter.resolve, waiter.reject);
  }
}
