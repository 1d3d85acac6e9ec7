/**
 * MessagePack via `msgpackr`. Loaded only when a connection asks for it, so browser bundles
 * that speak JSON never pull it in. Of wsmesh it imports only the dependency-free type-byte
 * table (msgpack-header.ts); codecs.ts wraps it into a `Codec`.
 *
 * Plain MessagePack only (PROTOCOL.md section 1): maps, arrays, strings, numbers, booleans,
 * nil and binary. msgpackr gives meaning to extension types (timestamps, BigInt, Set, Error,
 * RegExp, typed arrays, `undefined`, its own records), and its extension table is global to
 * the process, so it cannot be switched off per instance: bytes are checked for extension
 * types before msgpackr sees them, and what this module writes is checked the same way.
 * @module
 */
import { Packr } from 'msgpackr';
import { NOT_PLAIN, skipHeader } from './msgpack-header.js';

// No msgpackr records or structured clones, so any MessagePack implementation in any
// language can read and write these frames. 64-bit integers decode to the nearest double,
// as JSON.parse reads a long integer literal, so both codecs carry the same values.
// `undefined` is written as JSON writes it: nil in arrays, left out in maps.
// (`skipValues` is a msgpackr option its type declarations leave out.)
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  variableMapSize: true,
  int64AsType: 'number',
  encodeUndefinedAsNil: true,
  ...{ skipValues: [undefined] },
});

/** Thrown for MessagePack bytes that use an extension type (or the never-used byte 0xc1). */
export class MessagePackExtensionError extends Error {
  constructor(offset: number) {
    super(`MessagePack extension types are not accepted (value at byte ${offset})`);
    this.name = 'MessagePackExtensionError';
  }
}

/** Nested-value count of the last header read (one for the module: the walk is synchronous). */
const children = new Float64Array(1);

/**
 * Where the first top-level value that contains an extension type starts, or -1 when there
 * is none. Walks the type bytes only (strings and binaries are skipped by their length), with
 * a count of values still to read instead of recursion, so nesting depth costs nothing.
 * Truncated bytes are left to the decoder, which rejects them.
 */
export function firstExtension(bytes: Uint8Array): number {
  const end = bytes.length;
  let position = 0;
  let pending = 0;
  let start = 0;
  while (position < end) {
    if (pending === 0) {
      start = position;
      pending = 1;
    }
    pending--;
    position = skipHeader(bytes, position, children);
    if (position === NOT_PLAIN) return start;
    pending += children[0] ?? 0;
  }
  return -1;
}

/** Copies `value` with Dates as JSON writes them (ISO strings), for the rare frame holding one. */
function withoutDates(value: unknown): unknown {
  if (value instanceof Date) return value.toJSON();
  if (Array.isArray(value)) return value.map(withoutDates);
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (value instanceof Map) {
    const map = new Map<unknown, unknown>();
    for (const [key, entry] of value) map.set(key, withoutDates(entry));
    return map;
  }
  if (value instanceof Set) return [...value].map(withoutDates);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) copy[key] = withoutDates(entry);
  return copy;
}

/** Encodes a value as plain MessagePack (throws on values MessagePack cannot carry). */
export function pack(value: unknown): Uint8Array {
  const bytes = packr.pack(value);
  if (firstExtension(bytes) === -1) return bytes;
  const again = packr.pack(withoutDates(value));
  if (firstExtension(again) !== -1) {
    throw new TypeError('The value holds a type plain MessagePack cannot carry');
  }
  return again;
}

/** Decodes one MessagePack value. Throws on extension types. */
export function unpack(bytes: Uint8Array): unknown {
  const extension = firstExtension(bytes);
  if (extension !== -1) throw new MessagePackExtensionError(extension);
  return packr.unpack(bytes);
}

/**
 * Decodes a batch: MessagePack values written back to back. `each` gets every value with
 * the bytes it came from; throws on bytes that are not plain MessagePack, after the values
 * before them were handed out.
 */
export function unpackEach(
  bytes: Uint8Array,
  each: (value: unknown, raw: Uint8Array) => void,
): void {
  const extension = firstExtension(bytes);
  const plain = extension === -1 ? bytes : bytes.subarray(0, extension);
  // msgpackr keeps its read position in module state, so `each` (which may unpack a relayed
  // payload) runs only once the whole batch is read.
  const values: unknown[] = [];
  const ends: number[] = [];
  let failure: unknown;
  // An empty message is not a batch of nothing: msgpackr rejects it.
  if (plain.byteLength > 0 || extension === -1) {
    try {
      packr.unpackMultiple(plain, (value: unknown, _start?: number, end?: number) => {
        values.push(value);
        ends.push(end ?? plain.byteLength);
      });
    } catch (error) {
      failure = error;
    }
  }
  let start = 0;
  for (let index = 0; index < values.length; index++) {
    const end = ends[index] ?? plain.byteLength;
    each(values[index], plain.subarray(start, end));
    start = end;
  }
  if (failure !== undefined) throw failure;
  if (extension !== -1) throw new MessagePackExtensionError(extension);
}
