/**
 * What a connection is made with and reports to: its owner's handler, the options fixed at
 * creation, and the terms the handshake agrees on.
 * @module
 */
import type { Codec, WirePayload } from '../protocol/codec.js';
import type { Frame } from '../protocol/frames.js';
import type { FrameCipher } from './frame-cipher.js';

/** What the owner of a connection (server or client) handles. */
export interface ConnectionHandler {
  /** Every valid frame the transport does not consume itself (not REPLY, PING, PONG). */
  onFrame(frame: Frame, raw: WirePayload): void;
  /** The connection closed; pending requests were already rejected. */
  onClose(code: number, reason: string): void;
  /** A recoverable problem worth reporting (bad frame from the peer, handler crash...). */
  onError(error: Error): void;
}

/**
 * Options fixed when a connection is created. The connection keeps the object: connections
 * made with the same options should share one (a server's do), so each holds one field.
 */
export interface ConnectionOptions {
  /** Codec negotiated for this connection. */
  codec: Codec;
  /** Outbound bytes allowed to wait in the socket before the peer counts as a slow consumer. */
  maxBufferedBytes: number;
  /** Default request timeout in ms. */
  requestTimeout: number;
  /** Id of the local node, put in error replies as `origin`. */
  localId?: string;
  /**
   * The accepting side of a handshake: until `Connection.negotiated`, every frame (PING and
   * REPLY included) goes to the handler, which refuses what is not a handshake frame.
   */
  accepting?: boolean;
}

/**
 * What the handshake agreed on, applied in one step by `Connection.negotiated` once WELCOME
 * is sent (accepting side) or received (dialing side).
 */
export interface NegotiatedTerms {
  /** Largest frame the peer accepts, in bytes. Default: no limit. */
  peerMaxPayload?: number | undefined;
  /** Seals every frame from now on (encrypted handshake). Default: none. */
  cipher?: FrameCipher | undefined;
  /** The peer reads batches, so this side may send them. Ignored with a cipher. */
  peerReadsBatches: boolean;
  /** The peer reads GROUP_MESSAGES packs in its batches. Default: false. */
  peerReadsPacks?: boolean | undefined;
}

/** Per-request options. */
export interface RequestOptions {
  /** Timeout in ms; defaults to the connection's `requestTimeout`. */
  timeout?: number | undefined;
  /** Cancels the wait (the request may still run remotely). */
  signal?: AbortSignal | undefined;
  /** With a tap (`Connection.tapEncoded`), the reply may come still encoded. */
  encoded?: boolean | undefined;
}
