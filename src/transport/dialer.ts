/**
 * Opening a client-side WebSocket, abstracted so the same client logic runs on Node (`ws`)
 * and in browsers (platform `WebSocket`).
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import type { WireSocket } from './wire-socket.js';

/** Events of a dialed socket. */
export interface DialEvents {
  /** The WebSocket handshake completed; `protocol` is the subprotocol the server chose. */
  open(protocol: string): void;
  /** One message arrived (text as string, binary as bytes). */
  message(payload: WirePayload): void;
  /**
   * A text message that is not valid UTF-8 arrived; the owner fails the connection (1007).
   * Only dialers that check UTF-8 themselves call it (browsers do it in the platform).
   */
  invalidText(): void;
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
  /** TLS settings for `wss://` on Node (ignored by browsers, which use the platform's). */
  tls?: TlsOptions | undefined;
}

/**
 * TLS settings for dialing `wss://` urls from Node. Bytes are typed `Uint8Array` (a `Buffer`
 * is one) so these declarations need no Node types in browser projects.
 */
export interface TlsOptions {
  /** Certificate authorities to trust (PEM), e.g. for a self-signed certificate. @default undefined */
  ca?: string | Uint8Array | (string | Uint8Array)[] | undefined;
  /** Client certificate (PEM), for servers that require one. @default undefined */
  cert?: string | Uint8Array | undefined;
  /** Client key (PEM). @default undefined */
  key?: string | Uint8Array | undefined;
  /** Set false to accept any certificate (tests only). @default true */
  rejectUnauthorized?: boolean | undefined;
  /** Server name for SNI and certificate checks, when it differs from the url's host. @default undefined */
  servername?: string | undefined;
}

/** Opens a WebSocket to `url` offering `protocols`. */
export type Dialer = (
  url: string,
  protocols: string[],
  options: DialOptions,
  events: DialEvents,
) => WireSocket;

/** Checks a `tls` option; throws {@link InvalidOptionError}. */
export function checkTls(tls: unknown): TlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null)
    throw new InvalidOptionError('tls must be an object');
  return tls as TlsOptions;
}
