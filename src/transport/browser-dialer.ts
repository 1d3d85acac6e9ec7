/**
 * Browser dialer: the platform `WebSocket` seen as a {@link WireSocket}. No Node built-ins,
 * so the browser entry (`wsmesh/client`) bundles without polyfills.
 *
 * Differences with the Node dialer that the rest of the client never sees:
 * - binary messages arrive as `ArrayBuffer` (binaryType `arraybuffer`) and are handed on as
 *   `Uint8Array`; text messages as strings;
 * - the platform enforces no incoming size limit, so this adapter checks `maxPayload` itself
 *   and reports close code 1009 when a message is larger;
 * - scripts may only send close codes 1000 and 3000-4999: other codes (1002, 1009, 1011...)
 *   go out as 1000 with the reason, and are still the ones reported locally;
 * - `terminate()` cannot drop a TCP connection from a page: it starts the close and reports
 *   the socket closed (1006) at once, ignoring whatever the platform says later.
 * @module
 */
import { NotConnectedError } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import { CloseCode } from '../protocol/frames.js';
import type { DialEvents, Dialer, DialOptions } from './dialer.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

/** What the adapter needs of a `WebSocket` class (the platform's, or a compatible one). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Close code reported for a socket dropped without a closing handshake. */
const ABNORMAL_CLOSURE = 1006;
/** Largest close reason in UTF-8 bytes (a control frame carries 125 bytes, 2 for the code). */
const MAX_REASON_BYTES = 123;
/** The WebSocket `readyState` values (the constants are not on every implementation's type). */
const CONNECTING = 0;
const OPEN = 1;

const encoder = new TextEncoder();

/** True when a string's UTF-8 encoding is at most `limit` bytes, without encoding short ones. */
function utf8AtMost(text: string, limit: number): boolean {
  if (text.length > limit) return false; // every UTF-16 unit is at least one byte
  if (text.length * 3 <= limit) return true; // every UTF-16 unit is at most three bytes
  return encoder.encode(text).byteLength <= limit;
}

/** Cuts `reason` to what a close frame can carry, on a character boundary. */
function closeReason(reason: string): string {
  if (utf8AtMost(reason, MAX_REASON_BYTES)) return reason;
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (!utf8AtMost(cut, MAX_REASON_BYTES)) cut = cut.slice(0, -1);
  return cut;
}

/** A code a script is allowed to pass to `WebSocket.close`. */
function sendableCode(code: number): number {
  return code === CloseCode.NORMAL || (code >= 3000 && code <= 4999) ? code : CloseCode.NORMAL;
}

/** Adapts an opened platform `WebSocket` to {@link WireSocket}, reporting to `events`. */
function adapt(ws: WebSocket, options: DialOptions, events: DialEvents): WireSocket {
  /** Set once `events.close` was called: later platform events are ignored. */
  let done = false;
  const closeNative = (code: number, reason: string): void => {
    try {
      ws.close(code, closeReason(reason));
    } catch {
      // Already closing, or an implementation that refuses the code: the socket goes anyway.
    }
  };
  const close = (code: number, reason: string): void => {
    if (done) return;
    const sendable = sendableCode(code);
    closeNative(sendable, sendable === code ? reason : `${code} ${reason}`);
  };
  const reportError = (error: Error): void => {
    if (!done) events.error(error);
  };
  const finish = (code: number, reason: string): void => {
    if (done) return;
    done = true;
    clearTimeout(handshakeTimer);
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    events.close(code, reason);
  };
  /** Closes, and reports `code` now (the platform would report what the server echoes). */
  const closeAndFinish = (code: number, reason: string): void => {
    close(code, reason);
    finish(code, reason);
  };
  const terminate = (): void => {
    if (done) return;
    closeNative(CloseCode.NORMAL, '');
    // Reported after the current call stack, as a socket that closes by itself would be, so
    // the caller can record its own close code first.
    queueMicrotask(() => finish(ABNORMAL_CLOSURE, ''));
  };
  const send = (payload: WirePayload): void => {
    if (!done && ws.readyState === OPEN) ws.send(payload);
  };

  // The platform has no handshake timeout of its own.
  const handshakeTimer = setTimeout(() => {
    if (done || ws.readyState !== CONNECTING) return;
    reportError(new NotConnectedError('Opening handshake timed out'));
    terminate();
  }, options.handshakeTimeout);

  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    clearTimeout(handshakeTimer);
    if (!done) events.open(ws.protocol);
  };
  ws.onmessage = (event: MessageEvent) => {
    if (done) return;
    const data: unknown = event.data;
    const { maxPayload } = options;
    let payload: WirePayload;
    if (typeof data === 'string') payload = data;
    else if (data instanceof ArrayBuffer) payload = new Uint8Array(data);
    else {
      reportError(new TypeError('Unexpected WebSocket message type'));
      closeAndFinish(CloseCode.UNSUPPORTED_DATA, 'unexpected message type');
      return;
    }
    const fits =
      typeof payload === 'string'
        ? utf8AtMost(payload, maxPayload)
        : payload.byteLength <= maxPayload;
    if (fits) events.message(payload);
    else
      closeAndFinish(
        CloseCode.MESSAGE_TOO_BIG,
        `message larger than maxPayload (${maxPayload} bytes)`,
      );
  };
  ws.onclose = (event: CloseEvent) => finish(event.code, event.reason);
  // The platform gives no details (on purpose); `close` follows.
  ws.onerror = () =>
    reportError(
      new NotConnectedError(
        'the browser reported a WebSocket error without details (refused, DNS, TLS or an HTTP status such as 404: its console and network tab tell which)',
      ),
    );

  return {
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send,
    // Browsers cannot write pre-framed bytes: the payload goes as a normal message.
    sendShared: (frame: SharedFrame) => send(frame.payload),
    close,
    terminate,
  };
}

/**
 * Makes a dialer over a `WebSocket` class: by default the platform's, looked up at each dial
 * (so loading this module never fails where there is none).
 */
export function createBrowserDialer(WebSocketClass?: WebSocketConstructor): Dialer {
  return (url, protocols, options, events) => {
    const Impl =
      WebSocketClass ?? (globalThis as { WebSocket?: WebSocketConstructor | undefined }).WebSocket;
    if (typeof Impl !== 'function') {
      throw new NotConnectedError(
        'This platform has no global WebSocket: on Node, import the client from "wsmesh"',
      );
    }
    return adapt(new Impl(url, protocols), options, events);
  };
}

/** Dials with the platform `WebSocket`. */
export const browserDialer: Dialer = createBrowserDialer();
