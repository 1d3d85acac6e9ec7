/**
 * Opening a client-side WebSocket, abstracted so the same client logic runs on Node (`ws`)
 * and in browsers (platform `WebSocket`).
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import type { WireSocket } from './wire-socket.js';

/** Events of a dialed socket. */
export interface DialEvents {
  /** The WebSocket handshake completed; `protocol` is the subprotocol the server chose. */
  open(protocol: string): void;
  /** One message arrived (text as string, binary as bytes). */
  message(payload: WirePayload): void;
  /** The socket closed (also after a failed dial). */
  close(code: number, reason: string): void;
  /** A socket error; `close` follows. */
  error(error: Error): void;
}

/** Options for one dial. */
export interface DialOptions {
  /** Largest accepted incoming message. */
  maxPayload: number;
  /** ms allowed for the WebSocket opening handshake. */
  handshakeTimeout: number;
}

/** Opens a WebSocket to `url` offering `protocols`. */
export type Dialer = (
  url: string,
  protocols: string[],
  options: DialOptions,
  events: DialEvents,
) => WireSocket;
