/**
 * A stream a server forwards to the next hop without consuming it: items go on to the
 * downstream consumer as they arrive, and the credit the downstream consumer grants goes on
 * upstream. The hop holds no window of its own, so a slow consumer at the end of a chain slows
 * the producer at the other end, and the items in between never exceed the end consumer's
 * window, whatever the number of hops.
 * @module
 */
import type { WsMeshError } from '../errors.js';
import type { EncodedValue } from '../protocol/encoded-value.js';

/** Where a relay hands what comes from upstream. */
export interface RelaySink {
  /** Items, still encoded when they came so and may go on so. */
  items(items: unknown[] | EncodedValue): void;
  /** The generator's return value (possibly an {@link EncodedValue}). */
  end(value: unknown): void;
  error(error: WsMeshError): void;
}

/** What a relay sends upstream. */
export interface RelayControl {
  credit(n: number): void;
  cancel(): void;
  /** The stream is over (ended, failed or cancelled): forget it. Called once. */
  done(): void;
}

/** A stream open on the answering side: credit comes in, and it can be cancelled. */
export interface OpenStream {
  /** The consumer can take `n` more items. */
  addCredit(n: number): void;
  /** Stops the stream; nothing more is sent. */
  cancel(): void;
}

/** Passes one stream through this server. */
export class StreamRelay implements OpenStream {
  private finished = false;

  constructor(
    readonly id: number,
    private readonly sink: RelaySink,
    private readonly control: RelayControl,
  ) {}

  /** Items arrived from upstream. */
  push(items: unknown[] | EncodedValue): void {
    if (!this.finished) this.sink.items(items);
  }

  /** Upstream finished. */
  end(value: unknown): void {
    if (this.finished) return;
    this.finish();
    this.sink.end(value);
  }

  /** Upstream failed, or its link closed. */
  fail(error: WsMeshError): void {
    if (this.finished) return;
    this.finish();
    this.sink.error(error);
  }

  addCredit(n: number): void {
    if (!this.finished) this.control.credit(n);
  }

  cancel(): void {
    if (this.finished) return;
    this.finish();
    this.control.cancel();
  }

  private finish(): void {
    this.finished = true;
    this.control.done();
  }
}
