/**
 * Conversion between error objects and the `WireError` carried by ERROR frames.
 * @module
 */
import {
  AbortError,
  AuthError,
  ConnectionClosedError,
  ErrorCode,
  LimitError,
  RateLimitError,
  NoRouteError,
  PayloadTooLargeError,
  ProtocolError,
  RemoteError,
  SerializationError,
  TimeoutError,
  ValidationError,
  isErrorCode,
  WsMeshError,
} from '../errors.js';
import type { WireError } from './frames.js';

/**
 * Builds the wire form of an error raised while handling a request. Errors of wsmesh keep
 * their code; anything else (user code) travels as `ERR_REMOTE` with its name and message.
 * Stacks never cross the wire.
 */
export function toWireError(error: unknown, origin?: string): WireError {
  if (error instanceof RemoteError) {
    // Forwarded remote errors keep the node where they were raised.
    const wire: WireError = {
      code: ErrorCode.REMOTE,
      message: error.message,
      name: error.remoteName,
    };
    if (error.remoteCode !== undefined) wire.remoteCode = error.remoteCode;
    const from = error.origin ?? origin;
    if (from !== undefined) wire.origin = from;
    if (error.data !== undefined) wire.data = error.data;
    return wire;
  }
  if (error instanceof WsMeshError && error.code !== ErrorCode.REMOTE) {
    const wire: WireError = { code: error.code, message: error.message };
    if (origin !== undefined) wire.origin = origin;
    if (error.data !== undefined) wire.data = error.data;
    return wire;
  }
  const wire: WireError = { code: ErrorCode.REMOTE, message: 'Error', name: 'Error' };
  if (error instanceof Error) {
    wire.message = error.message;
    wire.name = error.name;
    const { code, data } = error as Error & { code?: unknown; data?: unknown };
    if (typeof code === 'string') wire.remoteCode = code;
    if (data !== undefined) wire.data = data;
  } else {
    wire.message = typeof error === 'string' ? error : 'Non-error value thrown';
    wire.name = typeof error;
  }
  if (origin !== undefined) wire.origin = origin;
  return wire;
}

/** Rebuilds an error object from its wire form, using the matching class for known codes. */
export function fromWireError(wire: WireError): WsMeshError {
  switch (wire.code) {
    case ErrorCode.REMOTE:
      return new RemoteError(wire.message, {
        remoteName: typeof wire.name === 'string' ? wire.name : 'Error',
        remoteCode: typeof wire.remoteCode === 'string' ? wire.remoteCode : undefined,
        origin: typeof wire.origin === 'string' ? wire.origin : undefined,
        data: wire.data,
      });
    case ErrorCode.NO_ROUTE:
      return new NoRouteError(wire.message, wire.data);
    case ErrorCode.TIMEOUT:
      return new TimeoutError(wire.message, wire.data);
    case ErrorCode.AUTH:
      return new AuthError(wire.message, wire.data);
    case ErrorCode.ABORTED:
      return new AbortError(wire.message, wire.data);
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return new PayloadTooLargeError(wire.message, wire.data);
    case ErrorCode.SERIALIZE:
      return new SerializationError(wire.message, wire.data);
    case ErrorCode.LIMIT:
      return new LimitError(wire.message, wire.data);
    case ErrorCode.RATE_LIMIT:
      return new RateLimitError(wire.message, wire.data);
    case ErrorCode.VALIDATION:
      return new ValidationError(wire.message, wire.data);
    case ErrorCode.CONNECTION_CLOSED:
      return new ConnectionClosedError(wire.message, wire.data);
    case ErrorCode.BAD_FRAME:
    case ErrorCode.UNKNOWN_FRAME:
    case ErrorCode.PROTOCOL:
      return new ProtocolError(wire.code, wire.message, wire.data);
    default:
      // A code of a later version: kept in `data.code`, so `code` stays one of ours.
      return isErrorCode(wire.code)
        ? new WsMeshError(wire.code, wire.message, wire.data)
        : new WsMeshError(ErrorCode.UNKNOWN, wire.message, { code: wire.code, data: wire.data });
  }
}
