/**
 * How a connection answers: REPLY (a value that cannot be serialized becomes an error reply),
 * ERROR (retried with the bare code and message when its data cannot be sent), RPC_STREAM_ERROR,
 * and an invalid frame on the request or stream it named.
 * @module
 */
import { ConnectionClosedError, ProtocolError, SlowConsumerError } from '../errors.js';
import { FrameType, type Frame, type WireError } from '../protocol/frames.js';
import { toWireError } from '../protocol/wire-error.js';

/** The connection an answer goes out on. */
export interface Answering {
  readonly closed: boolean;
  /** Throws when the frame cannot be sent (see `Connection.send`). */
  send(frame: Frame): void;
}

/** Answers request `id` with `data`. Serialization failures become an error reply. */
export function sendReply(
  on: Answering,
  localId: string | undefined,
  id: number,
  data: unknown,
): void {
  if (on.closed) return;
  try {
    on.send([FrameType.REPLY, id, data === undefined ? null : data]);
  } catch (error) {
    if (error instanceof ConnectionClosedError || error instanceof SlowConsumerError) return;
    sendErrorReply(on, localId, id, error);
  }
}

/** Answers request `id` (0 = none) with an error. */
export function sendErrorReply(
  on: Answering,
  localId: string | undefined,
  id: number,
  error: unknown,
): void {
  if (on.closed) return;
  const wire: WireError = toWireError(error, localId);
  try {
    on.send([FrameType.ERROR, id, wire]);
  } catch {
    // The error itself could not be sent (closed, or its data is not serializable):
    // retry once with the bare code and message.
    try {
      on.send([FrameType.ERROR, id, { code: wire.code, message: wire.message }]);
    } catch {
      // Closed: nothing more to do.
    }
  }
}

/** Ends RPC stream `streamId` with an error (RPC_STREAM_ERROR; stream ids are not request ids). */
export function sendStreamError(
  on: Answering,
  localId: string | undefined,
  streamId: number,
  error: unknown,
): void {
  if (on.closed) return;
  try {
    on.send([FrameType.RPC_STREAM_ERROR, streamId, toWireError(error, localId)]);
  } catch {
    // Closed: the consumer learns it from its own connection.
  }
}

/**
 * An invalid frame: reported through `report`, and answered on its request or stream when it
 * names one.
 */
export function answerInvalid(
  on: Answering,
  localId: string | undefined,
  error: unknown,
  report: (error: Error) => void,
): void {
  report(error instanceof Error ? error : new Error(String(error)));
  const { id, streamId } = answerable(error instanceof ProtocolError ? error.data : undefined);
  if (streamId !== undefined) sendStreamError(on, localId, streamId, error);
  else sendErrorReply(on, localId, id ?? 0, error);
}

/** The request or stream a bad frame named, read from its error's `data`. */
function answerable(data: unknown): { id?: number; streamId?: number } {
  if (typeof data !== 'object' || data === null) return {};
  const id = 'id' in data && typeof data.id === 'number' ? data.id : undefined;
  const streamId =
    'streamId' in data && typeof data.streamId === 'number' ? data.streamId : undefined;
  return { id, streamId };
}
