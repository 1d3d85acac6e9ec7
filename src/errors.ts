/**
 * Error classes of wsmesh. Every error has a stable string `code`; match on the code (or
 * `instanceof`) rather than on the message, which may change between versions.
 * @module
 */

/** Stable error codes produced by wsmesh itself. */
export const ErrorCode = {
  TIMEOUT: 'ERR_TIMEOUT',
  REMOTE: 'ERR_REMOTE',
  NO_ROUTE: 'ERR_NO_ROUTE',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  NOT_CONNECTED: 'ERR_NOT_CONNECTED',
  BAD_FRAME: 'ERR_BAD_FRAME',
  UNKNOWN_FRAME: 'ERR_UNKNOWN_FRAME',
  PROTOCOL: 'ERR_PROTOCOL',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  SERIALIZE: 'ERR_SERIALIZE',
  SLOW_CONSUMER: 'ERR_SLOW_CONSUMER',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  AUTH: 'ERR_AUTH',
  ABORTED: 'ERR_ABORTED',
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  STOPPED: 'ERR_STOPPED',
  VALIDATION: 'ERR_VALIDATION',
  LIMIT: 'ERR_LIMIT',
  RATE_LIMIT: 'ERR_RATE_LIMIT',
  DUPLICATE_NAME: 'ERR_DUPLICATE_NAME',
  /** A second live server claims this server's or a linked clone's id. */
  DUPLICATE_ID: 'ERR_DUPLICATE_ID',
  /** A clone url answered with another id than the one it was dialed for. */
  CLONE_ID_MISMATCH: 'ERR_CLONE_ID_MISMATCH',
  /** A clone or server link could not be reached (refused, closed, silent). */
  PEER_UNREACHABLE: 'ERR_PEER_UNREACHABLE',
  /** The operation needs a started server. */
  NOT_STARTED: 'ERR_NOT_STARTED',
  /** The server did not apply (or restore) a subscription. */
  SUBSCRIBE_REFUSED: 'ERR_SUBSCRIBE_REFUSED',
  /** Presence was asked of a group that does not list it (presence is opt-in per group). */
  PRESENCE_OFF: 'ERR_PRESENCE_OFF',
  /** A value thrown that was not an Error, or a peer's code this version does not know. */
  UNKNOWN: 'ERR_UNKNOWN',
} as const;

/** Every code a {@link WsMeshError} can carry: the values of {@link ErrorCode}. */
export type WsMeshErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True for a code of the registry (a peer may send codes of a later version). */
export function isErrorCode(code: string): code is WsMeshErrorCode {
  return KNOWN_CODES.has(code);
}

/** Base class of every error thrown or rejected by wsmesh. */
export class WsMeshError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TIMEOUT`. */
  readonly code: WsMeshErrorCode;
  /** Optional structured details. */
  readonly data: unknown;

  /** `options.cause`: the error behind this one (kept as `error.cause`). */
  constructor(code: WsMeshErrorCode, message: string, data?: unknown, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }
}

/** A request got no reply within its timeout. Code `ERR_TIMEOUT`. */
export class TimeoutError extends WsMeshError {
  constructor(message = 'No reply within the timeout', data?: unknown) {
    super(ErrorCode.TIMEOUT, message, data);
  }
}

/** Details of an error raised by user code on the other side of a connection. */
export interface RemoteErrorInfo {
  /** `name` of the error thrown remotely (e.g. `TypeError`). */
  remoteName: string;
  /** `code` of the error thrown remotely, when it had a string code. */
  remoteCode?: string | undefined;
  /** Id of the server (or client) where the error was thrown. */
  origin?: string | undefined;
  /** Extra data attached by the remote handler (`error.data`). */
  data?: unknown;
}

/** A remote handler threw (or its promise rejected). Code `ERR_REMOTE`. */
export class RemoteError extends WsMeshError {
  /** `name` of the remote error. */
  readonly remoteName: string;
  /** `code` of the remote error, when it had one. */
  readonly remoteCode: string | undefined;
  /** Id of the node where the error was thrown. */
  readonly origin: string | undefined;

  constructor(message: string, info: RemoteErrorInfo) {
    super(ErrorCode.REMOTE, message, info.data);
    this.remoteName = info.remoteName;
    this.remoteCode = info.remoteCode;
    this.origin = info.origin;
  }
}

/** No route, handler or function matched the message. Code `ERR_NO_ROUTE`. */
export class NoRouteError extends WsMeshError {
  constructor(message = 'No route matched the message', data?: unknown) {
    super(ErrorCode.NO_ROUTE, message, data);
  }
}

/** The connection closed before a reply came. Code `ERR_CONNECTION_CLOSED`. */
export class ConnectionClosedError extends WsMeshError {
  constructor(message = 'The connection closed before a reply came', data?: unknown) {
    super(ErrorCode.CONNECTION_CLOSED, message, data);
  }
}

/** The client is stopped or gave up reconnecting. Code `ERR_NOT_CONNECTED`. */
export class NotConnectedError extends WsMeshError {
  constructor(message = 'Not connected', data?: unknown, options?: ErrorOptions) {
    super(ErrorCode.NOT_CONNECTED, message, data, options);
  }
}

/**
 * A peer broke the wire protocol: malformed frame (`ERR_BAD_FRAME`), unknown frame type
 * (`ERR_UNKNOWN_FRAME`) or a handshake / version problem (`ERR_PROTOCOL`).
 */
export class ProtocolError extends WsMeshError {
  constructor(
    code:
      | typeof ErrorCode.BAD_FRAME
      | typeof ErrorCode.UNKNOWN_FRAME
      | typeof ErrorCode.PROTOCOL = ErrorCode.PROTOCOL,
    message = 'Protocol error',
    data?: unknown,
  ) {
    super(code, message, data);
  }
}

/** A frame is larger than the receiver's `maxPayload`. Code `ERR_PAYLOAD_TOO_LARGE`. */
export class PayloadTooLargeError extends WsMeshError {
  constructor(message = 'Frame exceeds maxPayload', data?: unknown) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message, data);
  }
}

/** A value could not be encoded by the connection's codec. Code `ERR_SERIALIZE`. */
export class SerializationError extends WsMeshError {
  constructor(message = 'Value cannot be serialized', data?: unknown) {
    super(ErrorCode.SERIALIZE, message, data);
  }
}

/** The peer did not read fast enough and its outbound buffer overflowed. Code `ERR_SLOW_CONSUMER`. */
export class SlowConsumerError extends WsMeshError {
  constructor(message = 'Outbound buffer limit exceeded (slow consumer)', data?: unknown) {
    super(ErrorCode.SLOW_CONSUMER, message, data);
  }
}

/** The offline send queue of a client is full. Code `ERR_QUEUE_FULL`. */
export class QueueFullError extends WsMeshError {
  constructor(message = 'The offline send queue is full', data?: unknown) {
    super(ErrorCode.QUEUE_FULL, message, data);
  }
}

/** Authentication failed. Code `ERR_AUTH`. */
export class AuthError extends WsMeshError {
  constructor(message = 'Authentication failed', data?: unknown, options?: ErrorOptions) {
    super(ErrorCode.AUTH, message, data, options);
  }
}

/** The operation was cancelled through an `AbortSignal`. Code `ERR_ABORTED`. */
export class AbortError extends WsMeshError {
  constructor(message = 'The operation was aborted', data?: unknown) {
    super(ErrorCode.ABORTED, message, data);
  }
}

/** An option passed to a constructor or method is invalid. Code `ERR_INVALID_OPTION`. */
export class InvalidOptionError extends WsMeshError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.INVALID_OPTION, message, data);
  }
}

/** An argument passed to a method is invalid. Code `ERR_INVALID_ARGUMENT`. */
export class InvalidArgumentError extends WsMeshError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.INVALID_ARGUMENT, message, data);
  }
}

/** The server or client was stopped while the operation was pending. Code `ERR_STOPPED`. */
export class StoppedError extends WsMeshError {
  constructor(message = 'Stopped', data?: unknown) {
    super(ErrorCode.STOPPED, message, data);
  }
}

/** Arguments failed a function's `params` schema (issues in `data.issues`). Code `ERR_VALIDATION`. */
export class ValidationError extends WsMeshError {
  constructor(message = 'Invalid arguments', data?: unknown) {
    super(ErrorCode.VALIDATION, message, data);
  }
}

/** A function with this name already exists in the namespace. Code `ERR_DUPLICATE_NAME`. */
export class DuplicateNameError extends WsMeshError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.DUPLICATE_NAME, message, data);
  }
}

/** A configured limit was reached (groups per connection, requests in flight...). Code `ERR_LIMIT`. */
export class LimitError extends WsMeshError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.LIMIT, message, data);
  }
}

/** The connection sent more messages than its rate limit allows. Code `ERR_RATE_LIMIT`. */
export class RateLimitError extends WsMeshError {
  constructor(message = 'Rate limit exceeded', data?: unknown) {
    super(ErrorCode.RATE_LIMIT, message, data);
  }
}
