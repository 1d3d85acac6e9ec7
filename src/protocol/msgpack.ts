/**
 * MessagePack via `msgpackr`. Loaded only when a connection asks for it, so browser bundles
 * that speak JSON never pull it in. This module imports nothing else of wsmesh, so in a
 * bundle it is a self-contained chunk; codecs.ts wraps it into a `Codec`.
 *
 * Plain MessagePack only (PROTOCOL.md section 1): maps, arrays, strings, numbers, booleans,
 * nil and binary. msgpackr gives meaning to extension types (timestamps, BigInt, Set, Error,
 * RegExp, typed arrays, `undefined`, its own records), and its extension table is global to
 * the process, so it cannot be switched off per instance: bytes are checked for extension
 * types before msgpackr sees them, and what this module writes is checked the same way.
 * @module
 */
import { Packr } from 'msgpackr';

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

/** Bytes after the type byte for fixed-size types 0xc0-0xdf (-1: length-prefixed or other). */
function fixedSize(type: number): number {
  switch (type) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return 0;
    case 0xcc:
    case 0xd0:
      return 1;
    case 0xcd:
    case 0xd1:
      return 2;
    case 0xca:
    case 0xce:
    case 0xd2:
      return 4;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return 8;
    default:
      return -1;
  }
}

/**
 * Where the first top-level value that contains an extension type starts, or -1 when there
 * is none. Walks the type bytes only (strings and binaries are skipped by their length), with
 * a count of values still to read instead of recursion, so nesting depth costs nothing.
 * Truncated bytes are left to the decoder, which rejects them.
 */
export function firstExtension(bytes: Uint8Array): number {
  const end = bytes.length;
  const u8 = (at: number): number => bytes[at] ?? 0;
  const u16 = (at: number): number => (u8(at) << 8) | u8(at + 1);
  const u32 = (at: number): number => u16(at) * 0x10000 + u16(at + 2);
  let position = 0;
  let pending = 0;
  let start = 0;
  while (position < end) {
    if (pending === 0) {
      start = position;
      pending = 1;
    }
    pending--;
    const type = u8(position++);
    if (type <= 0x7f || type >= 0xe0) continue;
    if (type <= 0x8f) pending += 2 * (type & 0x0f);
    else if (type <= 0x9f) pending += type & 0x0f;
    else if (type <= 0xbf) position += type & 0x1f;
    else {
      const size = fixedSize(type);
      if (size >= 0) {
        position += size;
        continue;
      }
      switch (type) {
        case 0xc4:
        case 0xd9:
          position += 1 + u8(position);
          break;
        case 0xc5:
        case 0xda:
          position += 2 + u16(position);
          break;
        case 0xc6:
        case 0xdb:
          position += 4 + u32(position);
          break;
        case 0xdc:
          pending += u16(position);
          position += 2;
          break;
        case 0xdd:
          pending += u32(position);
          position += 4;
          break;
        case 0xde:
          pending += 2 * u16(position);
          position += 2;
          break;
        case 0xdf:
          pending += 2 * u32(position);
          position += 4;
          break;
        default:
          // 0xc1 (never used), ext 8/16/32 (0xc7-0xc9), fixext 1-16 (0xd4-0xd8).
          return start;
      }
    }
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
