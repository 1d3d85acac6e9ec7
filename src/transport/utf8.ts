/**
 * UTF-8 decoding of text WebSocket messages in one pass. `ws` validates text frames with
 * `isUtf8` and `Buffer#toString` then decodes them again; a fatal `TextDecoder` does both at
 * the cost of the decode alone, so wsmesh turns off `ws`'s check (`skipUTF8Validation`) and
 * decodes here. A message that is not UTF-8 still fails the connection with 1007, as
 * RFC 6455 section 8.1 requires.
 * @module
 */

// ignoreBOM keeps a leading U+FEFF as `Buffer#toString` does (it is then bad JSON).
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes `bytes` as UTF-8, or returns undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}
