/**
 * `sendMes` and its three modes, shared by the client and the server-side connection:
 * fire-and-forget (resolves once written), `cbAfterRes` (callback with `{error, res}`), and
 * `awaitRes` (resolves with the reply or rejects).
 * @module
 */
import { ErrorCode, InvalidArgumentError, WsMeshError } from '../errors.js';
import { FrameType, type MessageFrame } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import type { Connection } from '../transport/connection.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';
import type { ResponseResult } from './message-types.js';

export type { ResponseResult };

/** Options of `sendMes`. */
export interface SendMessageOptions {
  /** Route name. @default undefined */
  route?: string | undefined;
  /** Action within the route. @default undefined */
  act?: string | undefined;
  /** Payload; anything the connection's codec can carry. @default undefined */
  data?: unknown;
  /** Resolve with the reply instead of as soon as the message is written. @default false */
  awaitRes?: boolean | undefined;
  /** Called with `{res}` or `{error, res: null}` when the reply (or an error) comes. @default undefined */
  cbAfterRes?: ((result: ResponseResult) => void) | undefined;
  /** Reply timeout in ms. @default the owner's `awaitResTimeout` */
  timeout?: number | undefined;
  /** Stops waiting for the reply when aborted. @default undefined */
  signal?: AbortSignal | undefined;
}

const SEND_OPTION_KEYS: OptionKeys<SendMessageOptions> = {
  route: true,
  act: true,
  data: true,
  awaitRes: true,
  cbAfterRes: true,
  timeout: true,
  signal: true,
};
const SEND_HINTS = {
  cbAfterSend: 'sendMes() resolves once the message is written: await it instead',
  id: 'sendMes() sends to one peer; sendMesToGroup({ id }) publishes to groups',
};

/** Options of `sendMes` that await the reply. */
export type AwaitedSendMessageOptions = SendMessageOptions & { awaitRes: true };

function toWsMeshError(error: unknown): WsMeshError {
  return error instanceof WsMeshError
    ? error
    : new WsMeshError(ErrorCode.UNKNOWN, error instanceof Error ? error.message : String(error));
}

/** @internal Checks `sendMes` options; throws {@link InvalidArgumentError}. */
export function checkSendOptions(options: SendMessageOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('sendMes() takes an options object');
  }
  refuseUnknownOptions(options, SEND_OPTION_KEYS, 'sendMes()', SEND_HINTS);
  const { route, act, cbAfterRes, timeout } = options;
  if (route !== undefined && route !== null && !isName(route)) {
    throw new InvalidArgumentError(
      'sendMes: route must be a non-empty string of at most 256 characters',
    );
  }
  if (act !== undefined && act !== null && !isName(act)) {
    throw new InvalidArgumentError(
      'sendMes: act must be a non-empty string of at most 256 characters',
    );
  }
  if (cbAfterRes !== undefined && typeof cbAfterRes !== 'function') {
    throw new InvalidArgumentError('sendMes: cbAfterRes must be a function');
  }
  if (
    timeout !== undefined &&
    !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))
  ) {
    throw new InvalidArgumentError('sendMes: timeout must be a positive number of ms');
  }
}

/** @internal Builds the MESSAGE frame for `options` around request id `id` (0 = no reply). */
export function messageFrame(options: SendMessageOptions, id: number): MessageFrame {
  return [
    FrameType.MESSAGE,
    id,
    options.route ?? null,
    options.act ?? null,
    options.data === undefined ? null : options.data,
  ];
}

/** @internal Sends on a live connection. `options` must have passed {@link checkSendOptions}. */
export function sendOnConnection(
  connection: Connection,
  options: SendMessageOptions,
  defaultTimeout: number,
): Promise<unknown> {
  const { awaitRes, cbAfterRes } = options;
  if (awaitRes !== true && cbAfterRes === undefined) {
    try {
      connection.send(messageFrame(options, 0));
      return Promise.resolve(undefined);
    } catch (error) {
      return Promise.reject(toWsMeshError(error));
    }
  }
  const reply = connection.request((id) => messageFrame(options, id), {
    timeout: options.timeout ?? defaultTimeout,
    signal: options.signal,
  });
  return settleModes(reply, options);
}

/** @internal Applies the `cbAfterRes` / `awaitRes` modes to a reply promise. */
export function settleModes(
  reply: Promise<unknown>,
  options: SendMessageOptions,
): Promise<unknown> {
  const { awaitRes, cbAfterRes } = options;
  if (cbAfterRes !== undefined) {
    const callback = (result: ResponseResult): void => {
      try {
        cbAfterRes(result);
      } catch {
        // A throwing callback is the caller's bug; it must not become an unhandled rejection.
      }
    };
    reply.then(
      (res) => callback({ res }),
      (error: unknown) => callback({ error: toWsMeshError(error), res: null }),
    );
    if (awaitRes !== true) return Promise.resolve(undefined);
  }
  return reply;
}
