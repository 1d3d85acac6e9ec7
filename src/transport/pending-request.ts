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
  /** The reply may be handed over still encoded (see `RequestOptions.encoded`). */
  encoded = false;

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

/** Largest request id; ids wrap around to 1 after it. */
const MAX_REQUEST_ID = 2 ** 31 - 1;

/** Requests one side of a connection sent that await a reply: ids and their pending entries. */
export class RequestTable {
  // Made on first use: most server-side connections never send a request.
  private map: Map<number, PendingRequest> | undefined;
  private nextId = 1;

  /** Requests awaiting a reply, by id. */
  get pending(): ReadonlyMap<number, PendingRequest> {
    this.map ??= new Map();
    return this.map;
  }

  /** Takes the next request id and waits for its reply for `timeoutMs`. */
  open(
    resolve: (value: unknown) => void,
    reject: (reason: WsMeshError) => void,
    timeoutMs: number,
  ): PendingRequest {
    const id = this.nextId;
    this.nextId = id === MAX_REQUEST_ID ? 1 : id + 1;
    this.map ??= new Map();
    const pending = new PendingRequest(id, this.map, resolve, reject, timeoutMs);
    this.map.set(id, pending);
    return pending;
  }

  /** The reply to request `id` came (ignored when no such request waits). */
  succeed(id: number, value: unknown): void {
    this.map?.get(id)?.succeed(value);
  }

  /** Request `id` was answered with an error (ignored when no such request waits). */
  fail(id: number, error: WsMeshError): void {
    this.map?.get(id)?.fail(error);
  }

  /** Fails every waiting request with the error `makeError` builds (made only when one waits). */
  failAll(makeError: () => WsMeshError): void {
    if (this.map === undefined || this.map.size === 0) return;
    const error = makeError();
    for (const request of [...this.map.values()]) request.fail(error);
  }
}
