/**
 * The frames of RPC over NATS, shared by the calling and the serving side. Every payload is a
 * MessagePack array:
 * - request, to `<prefix>.rpc.<namespace>.<function>`: call `[0, namespace, name, args,
 *   timeout]` (ms the caller waits; the function's signal aborts when it passes), or stream
 *   `[1, namespace, name, args, credit]`;
 * - call cancel, to `<prefix>.cancel` (every node hears it; the one running the call aborts its
 *   signal): `[reply subject of the call]`;
 * - call reply, to `<caller inbox>.r.<id>`: `[0, value]` or `[1, error]`;
 * - stream message, to `<caller inbox>.s.<id>`: `[2, producer inbox, items]`,
 *   `[3, producer inbox, value]` (end) or `[4, producer inbox, error]`;
 * - stream control, to `<producer inbox>.c`: `[0, stream subject, n]` (credit) or
 *   `[1, stream subject]` (cancel).
 * @module
 */
import type { Msg } from '@nats-io/transport-node';
import { ErrorCode } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { WireError } from '../protocol/frames.js';

/** First element of a request. */
export const Kind = { CALL: 0, STREAM: 1 } as const;
/** First element of a call reply or stream message. */
export const Reply = { OK: 0, ERROR: 1, ITEMS: 2, END: 3, STREAM_ERROR: 4 } as const;
/** First element of a stream control. */
export const Control = { CREDIT: 0, CANCEL: 1 } as const;

/** A well-formed wire error, or a protocol error standing for a malformed one. */
export function asWireError(value: unknown): WireError {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WireError).code === 'string' &&
    typeof (value as WireError).message === 'string'
  ) {
    return value as WireError;
  }
  return { code: ErrorCode.PROTOCOL, message: 'Malformed error from another node' };
}

/** The message's payload as an array, or undefined when it is not one. */
export function decodeArray(codec: Codec, msg: Msg): unknown[] | undefined {
  try {
    const value = codec.decode(msg.data);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True for NATS' "no responders" status: nobody subscribes to the function any more. */
export function noResponders(msg: Msg): boolean {
  return msg.headers?.hasError === true && msg.headers.code === 503;
}
