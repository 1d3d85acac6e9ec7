/**
 * Replies and stream frames whose value may still be encoded: a server that forwards a call
 * or a stream between two MessagePack connections gets the value as an {@link EncodedValue}
 * from the link (see transport/encoded-tap.ts) and passes its bytes on under a new header, so
 * the value is never decoded nor encoded again at that hop. Toward a connection with another
 * codec (a JSON client), the value is decoded once and encoded in that codec.
 * @module
 */
import { ConnectionClosedError, ErrorCode, ProtocolError, SlowConsumerError } from '../errors.js';
import { EncodedValue, encodeFrameAround } from '../protocol/encoded-value.js';
import { FrameType } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';

/** True when `encoded` can go to `connection` as it is. */
function passesThrough(connection: Connection, encoded: EncodedValue): boolean {
  return encoded.codec.name === connection.codec.name;
}

/**
 * Answers request `id` with `value` (an encoded one passes through when the codecs match).
 * Like `Connection.reply`: a value that cannot be sent (too large for the peer, not
 * serializable) becomes an error reply; nothing happens on a closed connection.
 */
export function replyValue(connection: Connection, id: number, value: unknown): void {
  if (!(value instanceof EncodedValue)) {
    connection.reply(id, value);
    return;
  }
  if (connection.closed) return;
  try {
    if (passesThrough(connection, value))
      connection.sendEncoded(encodeFrameAround(FrameType.REPLY, id, value.bytes));
    else connection.reply(id, value.value);
  } catch (error) {
    if (error instanceof ConnectionClosedError || error instanceof SlowConsumerError) return;
    connection.replyError(id, error);
  }
}

/** Sends RPC_ITEMS for stream `id`. Throws like `Connection.send`. */
export function sendItems(
  connection: Connection,
  id: number,
  items: unknown[] | EncodedValue,
): void {
  if (!(items instanceof EncodedValue)) {
    connection.send([FrameType.RPC_ITEMS, id, items]);
    return;
  }
  if (passesThrough(connection, items)) {
    connection.sendEncoded(encodeFrameAround(FrameType.RPC_ITEMS, id, items.bytes));
    return;
  }
  const decoded = items.value;
  if (!Array.isArray(decoded))
    throw new ProtocolError(ErrorCode.BAD_FRAME, 'Stream items must be an array');
  connection.send([FrameType.RPC_ITEMS, id, decoded]);
}

/** Sends RPC_END for stream `id` with the generator's return value. Throws like `Connection.send`. */
export function sendEnd(connection: Connection, id: number, value: unknown): void {
  if (value instanceof EncodedValue && passesThrough(connection, value)) {
    connection.sendEncoded(encodeFrameAround(FrameType.RPC_END, id, value.bytes));
    return;
  }
  const decoded = value instanceof EncodedValue ? value.value : value;
  connection.send([FrameType.RPC_END, id, decoded === undefined ? null : decoded]);
}
