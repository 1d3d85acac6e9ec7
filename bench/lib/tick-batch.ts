/**
 * Per-tick batches as wsmesh negotiates them (PROTOCOL.md, section 2.9), for the raw
 * `ws-batched` contender: the messages one connection sends during one turn of the event loop
 * leave as one WebSocket message, JSON texts joined by a line feed, never more than 64 KiB
 * (a larger message leaves alone), and nothing waits for more than the current tick.
 * @module
 */
import type { RawData } from 'ws';
import { rawText } from './payload.js';

/** wsmesh's cap of one batch (BATCH_MAX_BYTES in src/transport/connection.ts). */
export const BATCH_MAX_BYTES = 64 * 1024;

const NEWLINE = Buffer.from('\n');

/** Upper bound of the UTF-8 size of a part, as wsmesh bounds it. */
function bound(part: string | Buffer): number {
  return typeof part === 'string' ? part.length * 3 : part.length;
}

/** Collects the parts sent during one tick and hands them over, joined, at its end. */
export class TickBatch<T extends string | Buffer> {
  private parts: T[] = [];
  private bytes = 0;
  private scheduled = false;

  /** @param emit receives the parts of one batch, in order (never empty) */
  constructor(private readonly emit: (parts: readonly T[]) => void) {}

  /** Queues `part` for the end of this tick (first releasing the batch if it would not fit). */
  add(part: T): void {
    const size = bound(part);
    if (this.parts.length > 0 && this.bytes + 1 + size > BATCH_MAX_BYTES) this.flush();
    this.bytes += (this.parts.length > 0 ? 1 : 0) + size;
    this.parts.push(part);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** Hands over what is queued. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    this.emit(parts);
  };
}

/** One JSON text batch of `parts`. */
export function joinText(parts: readonly string[]): string {
  return parts.length === 1 ? (parts[0] ?? '') : parts.join('\n');
}

/** One batch of `parts` (each a message or a batch already), as bytes. */
export function joinBytes(parts: readonly Buffer[]): Buffer {
  const first = parts[0];
  if (parts.length === 1 && first !== undefined) return first;
  const list: Buffer[] = [];
  for (const part of parts) {
    if (list.length > 0) list.push(NEWLINE);
    list.push(part);
  }
  return Buffer.concat(list);
}

/** Calls `each` with every JSON value of a received message (one, or a batch). */
export function eachValue(data: RawData, each: (value: unknown) => void): void {
  const text = rawText(data);
  if (!text.includes('\n')) {
    each(JSON.parse(text));
    return;
  }
  for (const line of text.split('\n')) each(JSON.parse(line));
}
