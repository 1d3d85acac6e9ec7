/**
 * A value still in its MessagePack encoding, read out of a frame `[type, id, value]` without
 * decoding the value: a server that forwards an RPC reply or stream frame between two
 * MessagePack connections passes the value's bytes on and writes a new header around them,
 * so only the frame type and id are read at every hop. The value is decoded only where it is
 * used, or where the next connection speaks another codec.
 *
 * The walk that finds where a value ends reads type bytes and lengths only (no allocation),
 * refuses extension types as the MessagePack codec does, and leaves anything it does not take
 * to the ordinary decoder. This module imports no MessagePack library, so JSON-only bundles
 * stay free of one.
 * @module
 */
import type { Codec } from './codec.js';
import { NOT_PLAIN, skipHeader } from './msgpack-header.js';
import { uintSize, writeUint } from './msgpack-writer.js';

/** A value in its MessagePack bytes, decoded on first use with `codec`. */
export class EncodedValue {
  private decoded: unknown;
  private done = false;

  constructor(
    /** The codec the bytes are in (MessagePack). */
    readonly codec: Codec,
    /** Exactly one plain MessagePack value. */
    readonly bytes: Uint8Array,
  ) {}

  /** The value, decoded once. Throws as the codec's `decode` does. */
  get value(): unknown {
    if (!this.done) {
      this.decoded = this.codec.decode(this.bytes);
      this.done = true;
    }
    return this.decoded;
  }
}

/** `value`, decoded when it is still encoded. */
export function decodedValue(value: unknown): unknown {
  return value instanceof EncodedValue ? value.value : value;
}

/**
 * Deepest nesting of arrays and maps the walk takes. The decoder recurses (msgpackr overflows
 * the stack a few thousand levels down, less in a deep call stack or a browser), so a deeper
 * value is left to it: refused at the hop, as when every hop decoded, instead of being passed
 * on to a peer that cannot decode it either.
 */
export const MAX_WALK_DEPTH = 256;

/**
 * The walk's stack: values still to read in each open level around the innermost. The walk
 * is synchronous, so one serves every call.
 */
const outer = new Float64Array(MAX_WALK_DEPTH);
/** Nested-value count of the last header read. */
const children = new Float64Array(1);

/**
 * Where the MessagePack value that starts at `start` ends (the offset after it), or -1 when it
 * is truncated, holds an extension type (or the never-used 0xc1), or nests deeper than
 * {@link MAX_WALK_DEPTH}. Iterative: the values still to read at each open level replace
 * recursion, so nesting costs no stack.
 */
export function msgpackValueEnd(bytes: Uint8Array, start: number): number {
  const end = bytes.length;
  let position = start;
  // Most values are short scalars or strings: no loop needed.
  const first = bytes[position] ?? 0;
  if (first <= 0x7f || first >= 0xe0) return position + 1 <= end ? position + 1 : -1;
  // Values still to read in the innermost open level, and in each level around it.
  let pending = 1;
  let depth = 0;
  for (;;) {
    if (pending === 0) {
      if (depth === 0) break;
      pending = outer[--depth] ?? 0;
      continue;
    }
    if (position >= end) return -1;
    pending--;
    position = skipHeader(bytes, position, children);
    if (position === NOT_PLAIN) return -1;
    const count = children[0] ?? 0;
    if (count > 0) {
      if (depth >= MAX_WALK_DEPTH) return -1;
      outer[depth++] = pending;
      pending = count;
    }
  }
  return position <= end ? position : -1;
}

/** A frame `[type, id, value]` read up to its value. */
export interface EncodedFrame {
  readonly type: number;
  readonly id: number;
  /** The value's bytes (a view into the frame). */
  readonly value: Uint8Array;
}

/**
 * Reads `bytes` as a three-element frame whose type is one of `types` and whose id is a
 * positive integer, without decoding the value (which must be one plain MessagePack value
 * ending where `bytes` ends). Undefined for anything else: the ordinary decoder and
 * validation take it then. `whole`: the caller already found `bytes` to be exactly one plain
 * MessagePack value (as the transport does when it splits a message), so the value, the
 * array's last element, ends where `bytes` ends and is not walked again.
 */
export function readEncodedFrame(
  bytes: Uint8Array,
  types: ReadonlySet<number>,
  whole = false,
): EncodedFrame | undefined {
  if (bytes[0] !== 0x93) return undefined;
  const type = bytes[1] ?? 0xc0;
  // Frame types are positive fixints.
  if (type > 0x7f || !types.has(type)) return undefined;
  let id: number;
  let at: number;
  const first = bytes[2] ?? 0xc0;
  if (first <= 0x7f) {
    id = first;
    at = 3;
  } else if (first === 0xcc) {
    id = bytes[3] ?? 0;
    at = 4;
  } else if (first === 0xcd) {
    id = ((bytes[3] ?? 0) << 8) | (bytes[4] ?? 0);
    at = 5;
  } else if (first === 0xce) {
    id = ((bytes[3] ?? 0) << 8) | (bytes[4] ?? 0);
    id = id * 0x10000 + (((bytes[5] ?? 0) << 8) | (bytes[6] ?? 0));
    at = 7;
  } else {
    return undefined;
  }
  if (id <= 0 || at >= bytes.length) return undefined;
  if (!whole && msgpackValueEnd(bytes, at) !== bytes.length) return undefined;
  return { type, id, value: bytes.subarray(at) };
}

/**
 * The MessagePack frame `[type, id, value]` around a value already encoded: the header is
 * written here, the value's bytes copied as they are. `type` is a frame type (below 128) and
 * `id` a positive integer below 2^32.
 */
export function encodeFrameAround(type: number, id: number, value: Uint8Array): Uint8Array {
  const frame = new Uint8Array(2 + uintSize(id) + value.byteLength);
  frame[0] = 0x93;
  frame[1] = type;
  frame.set(value, writeUint(frame, 2, id));
  return frame;
}
