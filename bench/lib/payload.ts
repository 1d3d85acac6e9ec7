/**
 * The work every contender does: S1 adds two numbers sent as `{a, b}`; S2 carries
 * `{seq, pad}` messages of about 100 bytes. Also small helpers to read them back.
 * @module
 */
import type { RawData } from 'ws';

/** Arguments of one S1 call. */
export interface AddArgs {
  a: number;
  b: number;
}

/** One S2 message. */
export interface FanoutData {
  /** Sequence number, increasing per publisher. */
  seq: number;
  /** Filler that brings the JSON encoding to the target size. */
  pad: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `a + b` of an S1 call, or undefined when `value` is not `{a, b}` with numbers. */
export function sumOf(value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  const { a, b } = value;
  return typeof a === 'number' && typeof b === 'number' ? a + b : undefined;
}

/** Sequence number of an S2 message, or undefined when `value` is not one. */
export function seqOf(value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  const { seq } = value;
  return typeof seq === 'number' ? seq : undefined;
}

/** Padding that makes `{"seq":<6 digits>,"pad":"..."}` about `bytes` long. */
export function padFor(bytes: number): string {
  const overhead = JSON.stringify({ seq: 100000, pad: '' }).length;
  return 'x'.repeat(Math.max(0, bytes - overhead));
}

/** Text of a `ws` message. */
export function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Bytes of a `ws` message. */
export function rawBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
