/**
 * MessagePack via `msgpackr`. Loaded only when a connection asks for it, so browser bundles
 * that speak JSON never pull it in. This module imports nothing else of wsmesh, so in a
 * bundle it is a self-contained chunk; codecs.ts wraps it into a `Codec`.
 * @module
 */
import { Packr } from 'msgpackr';

// Plain MessagePack only: no msgpackr records or structured clones, so any MessagePack
// implementation in any language can read and write these frames.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  variableMapSize: true,
});

/** Encodes a value (throws on values MessagePack cannot carry). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes one MessagePack value. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * Decodes a batch: MessagePack values written back to back. `each` gets every value with
 * the bytes it came from; throws on bytes that are not MessagePack, after the values before
 * them were handed out.
 */
export function unpackEach(
  bytes: Uint8Array,
  each: (value: unknown, raw: Uint8Array) => void,
): void {
  // msgpackr keeps its read position in module state, so `each` (which may unpack a relayed
  // payload) runs only once the whole batch is read.
  const values: unknown[] = [];
  const ends: number[] = [];
  let failure: unknown;
  try {
    packr.unpackMultiple(bytes, (value: unknown, _start?: number, end?: number) => {
      values.push(value);
      ends.push(end ?? bytes.byteLength);
    });
  } catch (error) {
    failure = error;
  }
  let start = 0;
  for (let index = 0; index < values.length; index++) {
    const end = ends[index] ?? bytes.byteLength;
    each(values[index], bytes.subarray(start, end));
    start = end;
  }
  if (failure !== undefined) throw failure;
}
