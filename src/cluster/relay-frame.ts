/**
 * The MessagePack bytes of a CLONE_RELAY frame `[24, origin, seq, dests, target,
 * groupMessage, ackTo?]` (PROTOCOL.md 2.8), written around the group message's bytes, which
 * are already MessagePack: they are copied once, into the frame. The general encoder would
 * walk the frame, copy them into its buffer, copy the result out and walk it again for
 * extension types. The bytes decode to the frame the general encoder writes (tested).
 * @module
 */
import { FrameType, type GroupTarget } from '../protocol/frames.js';
import {
  allocate,
  arrayHeaderSize,
  binSize,
  strSize,
  uintSize,
  utf8Length,
  writeArrayHeader,
  writeBin,
  writeNil,
  writeStr,
  writeUint,
} from '../protocol/msgpack-writer.js';

/** A lone UTF-16 surrogate: UTF-8 cannot carry it (see {@link encodeRelayFrame}). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function wellFormed(value: string | readonly string[] | null): boolean {
  if (value === null) return true;
  if (typeof value === 'string') return !LONE_SURROGATE.test(value);
  return value.every((item) => !LONE_SURROGATE.test(item));
}

function listSize(list: readonly string[]): number {
  let size = arrayHeaderSize(list.length);
  for (const item of list) size += strSize(utf8Length(item));
  return size;
}

function writeList(bytes: Uint8Array, at: number, list: readonly string[]): number {
  let position = writeArrayHeader(bytes, at, list.length);
  for (const item of list) position = writeStr(bytes, position, item, utf8Length(item));
  return position;
}

function nameOrListSize(value: string | readonly string[] | null): number {
  if (value === null) return 1;
  return typeof value === 'string' ? strSize(utf8Length(value)) : listSize(value);
}

function writeNameOrList(
  bytes: Uint8Array,
  at: number,
  value: string | readonly string[] | null,
): number {
  if (value === null) return writeNil(bytes, at);
  if (typeof value === 'string') return writeStr(bytes, at, value, utf8Length(value));
  return writeList(bytes, at, value);
}

/** The last origin written and its MessagePack string: a clone relays mostly its own messages. */
let lastOrigin = '';
let lastOriginBytes = new Uint8Array([0xa0]);

/** The origin's MessagePack string (checked once per origin), undefined for a lone surrogate. */
function originBytes(origin: string): Uint8Array | undefined {
  if (origin !== lastOrigin) {
    if (!wellFormed(origin)) return undefined;
    const length = utf8Length(origin);
    const bytes = new Uint8Array(strSize(length));
    writeStr(bytes, 0, origin, length);
    lastOrigin = origin;
    lastOriginBytes = bytes;
  }
  return lastOriginBytes;
}

/**
 * Encodes a CLONE_RELAY frame: `groupMessage` is the MessagePack GROUP_MESSAGE, `seq` a
 * non-negative integer, `ackTo` null for a relay nobody waits for (the element is then left
 * out, as the frame type allows). Undefined when a name holds a lone UTF-16 surrogate: the
 * caller has the general encoder write that frame, so such names travel as they always did.
 */
export function encodeRelayFrame(
  origin: string,
  seq: number,
  dests: readonly string[] | null,
  target: GroupTarget,
  groupMessage: Uint8Array,
  ackTo: string | null,
): Uint8Array | undefined {
  const originEncoded = originBytes(origin);
  if (originEncoded === undefined || !wellFormed(dests) || !wellFormed(target)) return undefined;
  if (!wellFormed(ackTo)) return undefined;
  const ackLength = ackTo === null ? 0 : utf8Length(ackTo);
  const size =
    // Array header (6 or 7 elements) and the frame type, one byte each.
    2 +
    originEncoded.byteLength +
    uintSize(seq) +
    nameOrListSize(dests) +
    nameOrListSize(target) +
    binSize(groupMessage.byteLength) +
    (ackTo === null ? 0 : strSize(ackLength));
  const bytes = allocate(size);
  let at = writeArrayHeader(bytes, 0, ackTo === null ? 6 : 7);
  at = writeUint(bytes, at, FrameType.CLONE_RELAY);
  bytes.set(originEncoded, at);
  at += originEncoded.byteLength;
  at = writeUint(bytes, at, seq);
  at = writeNameOrList(bytes, at, dests);
  at = writeNameOrList(bytes, at, target);
  at = writeBin(bytes, at, groupMessage);
  if (ackTo !== null) writeStr(bytes, at, ackTo, ackLength);
  return bytes;
}
