/**
 * What follows a MessagePack type byte, for the two walks that read values without decoding
 * them: the codec's check for extension types (msgpack.ts) and the RPC byte path's search for
 * where a value ends (encoded-value.ts). It imports nothing, so the MessagePack chunk stays
 * free of the transport and the transport free of msgpackr.
 * @module
 */

// Module functions, not closures made per call: the walks call skipHeader once per value.
function u8(bytes: Uint8Array, offset: number): number {
  return bytes[offset] ?? 0;
}

function u16(bytes: Uint8Array, offset: number): number {
  return (u8(bytes, offset) << 8) | u8(bytes, offset + 1);
}

function u32(bytes: Uint8Array, offset: number): number {
  return u16(bytes, offset) * 0x10000 + u16(bytes, offset + 2);
}

/** What {@link skipHeader} returns for extension types and the never-used byte 0xc1. */
export const NOT_PLAIN = -1;

/**
 * Reads the value whose type byte is at `at`: returns the offset after the type byte and the
 * value's own bytes (a scalar, string or binary is skipped whole; an array or map only past
 * its length), or {@link NOT_PLAIN}. `children[0]` receives how many values are nested in it
 * (elements, or keys and values), 0 for any other value. Lengths that run past the end are
 * not checked here: the caller compares the offset with the end.
 */
export function skipHeader(bytes: Uint8Array, at: number, children: Float64Array): number {
  const type = bytes[at] ?? 0;
  children[0] = 0;
  if (type <= 0x7f || type >= 0xe0) return at + 1;
  if (type <= 0x8f) {
    children[0] = 2 * (type & 0x0f);
    return at + 1;
  }
  if (type <= 0x9f) {
    children[0] = type & 0x0f;
    return at + 1;
  }
  if (type <= 0xbf) return at + 1 + (type & 0x1f);
  switch (type) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return at + 1;
    case 0xcc:
    case 0xd0:
      return at + 2;
    case 0xcd:
    case 0xd1:
      return at + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return at + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return at + 9;
    case 0xc4:
    case 0xd9:
      return at + 2 + u8(bytes, at + 1);
    case 0xc5:
    case 0xda:
      return at + 3 + u16(bytes, at + 1);
    case 0xc6:
    case 0xdb:
      return at + 5 + u32(bytes, at + 1);
    case 0xdc:
      children[0] = u16(bytes, at + 1);
      return at + 3;
    case 0xdd:
      children[0] = u32(bytes, at + 1);
      return at + 5;
    case 0xde:
      children[0] = 2 * u16(bytes, at + 1);
      return at + 3;
    case 0xdf:
      children[0] = 2 * u32(bytes, at + 1);
      return at + 5;
    default:
      // 0xc1 (never used), ext 8/16/32 (0xc7-0xc9), fixext 1-16 (0xd4-0xd8).
      return NOT_PLAIN;
  }
}
