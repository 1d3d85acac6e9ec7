/**
 * Per-tick batches as wsmesh negotiates them (PROTOCOL.md, section 2.9), for the raw
 * `ws-batched` contender: the messages one connection sends during one turn of the event loop
 * leave as one WebSocket message, JSON texts joined by a line feed, never more than 64 KiB
 * (a larger message leaves alone), and nothing waits for more than the current tick. Fan-out
 * to subscribers packs the messages of a batch into one JSON array, as wsmesh packs group
 * messages for clients that read packs.
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

/**
 * The lines of a batch (JSON texts joined by line feeds, see {@link joinBytes}) as one JSON
 * array of them: a byte swap, nothing parsed. JSON never has a raw line feed inside a value.
 */
export function packLines(lines: Buffer): Buffer {
  const packed = Buffer.allocUnsafe(lines.length + 2);
  packed[0] = 0x5b; // [
  lines.copy(packed, 1);
  packed[packed.length - 1] = 0x5d; // ]
  for (let at = packed.indexOf(0x0a, 1); at !== -1; at = packed.indexOf(0x0a, at + 1)) {
    packed[at] = 0x2c; // ,
  }
  return packed;
}

/** Calls `each` with every value of a received pack (one JSON array of messages). */
export function eachPacked(data: RawData, each: (value: unknown) => void): void {
  for (const value of JSON.parse(rawText(data)) as unknown[]) each(value);
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
