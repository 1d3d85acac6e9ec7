/**
 * Frames written while the client is not connected wait here, in order, and are sent on
 * reconnect. Requests keep their deadline while they wait; the queue is bounded.
 * @module
 */
import { AbortError, QueueFullError, TimeoutError, type WsMeshError } from '../errors.js';
import type { RequestBuilder } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';

/** One waiting frame. */
export class QueuedFrame extends DeadlineEntry {
  constructor(
    private readonly outbox: Outbox,
    /**
     * Builds the frame once it is sent: around the request id the connection picks, or id 0
     * when no reply is awaited.
     */
    readonly build: RequestBuilder,
    /** True when the sender awaits a reply. */
    readonly isRequest: boolean,
    /** Reply timeout in ms, counted from the call. */
    readonly timeout: number,
    /** Abort signal of the call. */
    readonly signal: AbortSignal | undefined,
    /** Settles the caller's promise: with the reply, or undefined once written. */
    readonly resolve: (value: unknown) => void,
    /** Rejects the caller's promise. */
    readonly reject: (error: WsMeshError) => void,
    /** When the call was made (epoch ms). */
    readonly createdAt: number,
  ) {
    super();
  }

  override expire(): void {
    this.outbox.remove(this);
    this.reject(new TimeoutError(`No reply within ${this.timeout} ms (still offline)`));
  }
}

/** What the outbox flushes into: the new connection. */
export type OutboxTarget = Pick<Connection, 'send' | 'request'>;

/** Bounded FIFO of frames waiting for a connection. */
export class Outbox {
  private readonly frames = new Set<QueuedFrame>();

  constructor(private readonly limit: number) {}

  /** Number of waiting frames. */
  get size(): number {
    return this.frames.size;
  }

  /** Queues a frame; throws {@link QueueFullError} when full. */
  push(entry: QueuedFrame): void {
    if (this.frames.size >= this.limit) {
      throw new QueueFullError(`The offline queue holds at most ${this.limit} messages`);
    }
    this.frames.add(entry);
    if (entry.isRequest) deadlines.add(entry, entry.timeout);
  }

  /**
   * Queues a frame written while offline. The promise settles as the write would have: with
   * the reply (requests) or undefined once sent; it rejects with `QueueFullError`, on abort,
   * or with `TimeoutError` when a request's reply timeout passes while it waits.
   */
  enqueue(
    build: RequestBuilder,
    isRequest: boolean,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new AbortError());
        return;
      }
      const entry = new QueuedFrame(
        this,
        build,
        isRequest,
        timeout,
        signal,
        resolve,
        reject,
        Date.now(),
      );
      this.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.remove(entry);
          reject(new AbortError());
        },
        { once: true },
      );
    });
  }

  /** Sends every waiting frame on a new connection, oldest first; requests keep their deadline. */
  flush(connection: OutboxTarget): void {
    const now = Date.now();
    for (const entry of this.drain()) {
      if (entry.isRequest) {
        const left = entry.timeout - (now - entry.createdAt);
        connection
          .request(entry.build, { timeout: Math.max(1, left), signal: entry.signal })
          .then(entry.resolve, entry.reject);
      } else {
        try {
          connection.send(entry.build(0));
          entry.resolve(undefined);
        } catch (error) {
          entry.reject(error as WsMeshError);
        }
      }
    }
  }

  /** Removes one entry. */
  remove(entry: QueuedFrame): void {
    this.frames.delete(entry);
    deadlines.remove(entry);
  }

  /** Takes every waiting entry, oldest first. */
  drain(): QueuedFrame[] {
    const entries = [...this.frames];
    for (const entry of entries) this.remove(entry);
    return entries;
  }

  /** Rejects every waiting entry with `error`. */
  rejectAll(error: WsMeshError): void {
    for (const entry of this.drain()) entry.reject(error);
  }
}
