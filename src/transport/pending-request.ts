/**
 * A request waiting for its reply: settled by the reply, by its deadline, by an abort signal
 * or by the connection closing, whichever comes first, exactly once.
 * @module
 */
import { AbortError, TimeoutError, type WsMeshError } from '../errors.js';
import { DeadlineEntry, deadlines } from './deadline-queue.js';

/** Table the request removes itself from when it settles. */
export interface PendingTable {
  delete(id: number): boolean;
}

/** A request waiting for its reply (with its deadline). */
export class PendingRequest extends DeadlineEntry {
  private signal: AbortSignal | undefined;
  // Made only for requests that have a signal: most do not.
  private onAbort: (() => void) | undefined;

  constructor(
    readonly id: number,
    private readonly table: PendingTable,
    private readonly resolveFn: (value: unknown) => void,
    private readonly rejectFn: (reason: WsMeshError) => void,
    private readonly timeoutMs: number,
  ) {
    super();
    deadlines.add(this, timeoutMs);
  }

  /** Rejects when `signal` aborts. */
  watch(signal: AbortSignal): void {
    this.signal = signal;
    this.onAbort = () => this.fail(new AbortError());
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  override expire(): void {
    this.cleanup();
    this.rejectFn(new TimeoutError(`No reply within ${this.timeoutMs} ms`));
  }

  /** Settles with a reply. */
  succeed(value: unknown): void {
    this.cleanup();
    this.resolveFn(value);
  }

  /** Settles with an error. */
  fail(error: WsMeshError): void {
    this.cleanup();
    this.rejectFn(error);
  }

  private cleanup(): void {
    deadlines.remove(this);
    this.table.delete(this.id);
    if (this.signal !== undefined && this.onAbort !== undefined) {
      this.signal.removeEventListener('abort', this.onAbort);
      this.signal = undefined;
    }
  }
}
