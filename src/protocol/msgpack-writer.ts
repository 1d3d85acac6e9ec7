/**
 * Writes the few MessagePack values a frame header is made of (strings, string lists, nil,
 * counts, binary) straight into a byte array, for frames built around bytes that are already
 * MessagePack (a relayed group message): the bytes are copied once, into the frame, instead
 * of being handed to a general encoder that walks and copies them again. The caller sizes the
 * array with the `*Size` functions, then writes with the `write*` ones, each returning the
 * offset after what it wrote, into an array from {@link allocate}. It imports nothing, so it
 * stays free of msgpackr.
 * @module
 */

const textEncoder = new TextEncoder();

/** Bytes of each block {@link allocate} carves frames from. */
const POOL_BYTES = 32 * 1024;
/** Frames above this get an array of their own (a block is not wasted on them). */
const POOLED_MAX = 4 * 1024;
let pool = new Uint8Array(POOL_BYTES);
let poolUsed = 0;

/**
 * A byte array of `size` for one frame. Small ones are views into a shared block, as
 * `Buffer.allocUnsafe` does in Node: a new ArrayBuffer per frame costs several times the
 * encoding. A view is never handed out twice, so a frame still queued in a socket is never
 * overwritten; a block is freed once none of its frames is referenced. Not zero-filled: the
 * caller writes every byte.
 */
export function allocate(size: number): Uint8Array {
  if (size > POOLED_MAX) return new Uint8Array(size);
  if (poolUsed + size > POOL_BYTES) {
    pool = new Uint8Array(POOL_BYTES);
    poolUsed = 0;
  }
  const bytes = pool.subarray(poolUsed, poolUsed + size);
  poolUsed += size;
  return bytes;
}

/** Length of `text` in UTF-8 bytes (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
      continue;
    }
    // Three bytes for one unit; a surrogate pair is four bytes for its two units.
    length += 2;
    if (code <= 0xdbff && code >= 0xd800) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
  }
  return length;
}

/** Bytes of a string, array or binary header for a body of `length` (fixstr up to 31). */
function strHeaderSize(length: number): number {
  return length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Bytes `text` takes as a MessagePack string, given its UTF-8 length. */
export function strSize(utf8: number): number {
  return strHeaderSize(utf8) + utf8;
}

/** Bytes of an array header for `count` elements. */
export function arrayHeaderSize(count: number): number {
  return count < 0x10 ? 1 : count < 0x10000 ? 3 : 5;
}

/** Bytes of a binary value of `length` bytes. */
export function binSize(length: number): number {
  return (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5) + length;
}

/**
 * Bytes a non-negative integer takes: the smallest unsigned form up to 2^32 - 1, a float64
 * above (as msgpackr writes it, and any reader takes it back exactly up to 2^53).
 */
export function uintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : value < 0x100000000 ? 5 : 9;
}

function writeLength(
  bytes: Uint8Array,
  at: number,
  length: number,
  b8: number,
  b16: number,
  b32: number,
): number {
  if (length < 0x100 && b8 !== 0) {
    bytes[at] = b8;
    bytes[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    bytes[at] = b16;
    bytes[at + 1] = length >>> 8;
    bytes[at + 2] = length & 0xff;
    return at + 3;
  }
  bytes[at] = b32;
  bytes[at + 1] = length >>> 24;
  bytes[at + 2] = (length >>> 16) & 0xff;
  bytes[at + 3] = (length >>> 8) & 0xff;
  bytes[at + 4] = length & 0xff;
  return at + 5;
}

/** Writes `text` (whose UTF-8 length is `utf8`) as a MessagePack string. */
export function writeStr(bytes: Uint8Array, at: number, text: string, utf8: number): number {
  let position: number;
  if (utf8 < 0x20) {
    bytes[at] = 0xa0 | utf8;
    position = at + 1;
  } else position = writeLength(bytes, at, utf8, 0xd9, 0xda, 0xdb);
  if (utf8 === text.length) {
    // ASCII, as ids usually are: no encoder call.
    for (let index = 0; index < utf8; index++) bytes[position + index] = text.charCodeAt(index);
  } else {
    textEncoder.encodeInto(text, bytes.subarray(position, position + utf8));
  }
  return position + utf8;
}

/** Writes an array header for `count` elements. */
export function writeArrayHeader(bytes: Uint8Array, at: number, count: number): number {
  if (count < 0x10) {
    bytes[at] = 0x90 | count;
    return at + 1;
  }
  return writeLength(bytes, at, count, 0, 0xdc, 0xdd);
}

/** Writes nil. */
export function writeNil(bytes: Uint8Array, at: number): number {
  bytes[at] = 0xc0;
  return at + 1;
}

/** Writes a non-negative integer (see {@link uintSize}). */
export function writeUint(bytes: Uint8Array, at: number, value: number): number {
  if (value < 0x80) {
    bytes[at] = value;
    return at + 1;
  }
  if (value < 0x100) {
    bytes[at] = 0xcc;
    bytes[at + 1] = value;
    return at + 2;
  }
  if (value < 0x10000) {
    bytes[at] = 0xcd;
    bytes[at + 1] = value >>> 8;
    bytes[at + 2] = value & 0xff;
    return at + 3;
  }
  if (value < 0x100000000) {
    bytes[at] = 0xce;
    bytes[at + 1] = value >>> 24;
    bytes[at + 2] = (value >>> 16) & 0xff;
    bytes[at + 3] = (value >>> 8) & 0xff;
    bytes[at + 4] = value & 0xff;
    return at + 5;
  }
  bytes[at] = 0xcb;
  new DataView(bytes.buffer, bytes.byteOffset + at + 1, 8).setFloat64(0, value);
  return at + 9;
}

/** Writes `value` as a MessagePack binary (bin 8/16/32), copying its bytes. */
export function writeBin(bytes: Uint8Array, at: number, value: Uint8Array): number {
  const position = writeLength(bytes, at, value.byteLength, 0xc4, 0xc5, 0xc6);
  bytes.set(value, position);
  return position + value.byteLength;
}
