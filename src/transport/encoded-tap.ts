/**
 * How a connection that forwards RPC reads replies and stream frames without decoding their
 * value: REPLY frames of requests made with `encoded`, and the RPC_ITEMS and RPC_END frames a
 * tap takes, are read up to their value only, which stays in its MessagePack bytes (an
 * {@link EncodedValue}) for the forwarding server to pass on as it is. Only the frame's shape,
 * type and id are checked; the value must be one plain MessagePack value, or the frame goes
 * the ordinary way (decoded and validated).
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { EncodedValue, readEncodedFrame } from '../protocol/encoded-value.js';
import { FrameType } from '../protocol/frames.js';
import type { PendingRequest } from './pending-request.js';

/** Takes an undecoded RPC_ITEMS or RPC_END frame; false has it decoded as usual. */
export type EncodedTap = (type: number, id: number, value: Uint8Array) => boolean;

/** Frames whose value a forwarding server may pass on undecoded. */
const ENCODED_TYPES: ReadonlySet<number> = new Set([
  FrameType.REPLY,
  FrameType.RPC_ITEMS,
  FrameType.RPC_END,
]);

/**
 * The intercept of a connection's incoming frames, each exactly one plain MessagePack value
 * (as inbound.ts splits them): true when the frame was taken (settled a
 * request, or taken by `tap`) and must not be decoded. `ready` is false while the connection
 * is closed or still in its handshake.
 */
export function encodedIntercept(
  codec: Codec,
  pending: ReadonlyMap<number, PendingRequest>,
  tap: EncodedTap,
  ready: () => boolean,
): (bytes: Uint8Array) => boolean {
  return (bytes) => {
    if (!ready()) return false;
    // The transport hands over exactly one plain MessagePack value (see inbound.ts).
    const frame = readEncodedFrame(bytes, ENCODED_TYPES, true);
    if (frame === undefined) return false;
    if (frame.type !== FrameType.REPLY) return tap(frame.type, frame.id, frame.value);
    const request = pending.get(frame.id);
    if (request?.encoded !== true) return false;
    request.succeed(new EncodedValue(codec, frame.value));
    return true;
  };
}
