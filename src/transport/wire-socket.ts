/**
 * The minimal socket a {@link Connection} writes to. Node (`ws`) and browsers (platform
 * `WebSocket`) each have an adapter; the connection logic above it is the same.
 * @module
 */
import type { Codec, WirePayload } from '../protocol/codec.js';

/**
 * One payload written to many connections (group fan-out). `framed` holds the complete
 * WebSocket frame bytes when they could be built once for every receiver; adapters that
 * cannot use them send `payload` instead.
 */
export interface SharedFrame {
  readonly payload: WirePayload;
  readonly framed: readonly Uint8Array[] | undefined;
}

/** Outbound side of a WebSocket as seen by a connection. */
export interface WireSocket {
  /** Writes one WebSocket message. Adapters may batch writes until the end of the tick. */
  send(payload: WirePayload): void;
  /** Writes a frame shared by many connections. */
  sendShared(frame: SharedFrame): void;
  /** Bytes accepted by `send` but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a closing handshake. */
  terminate(): void;
  /**
   * Optional: from now on, messages sent in the same tick may leave as one batch (joined
   * with `codec.join`) of at most `maxBytes`, and with `packs`, shared group messages in a row
   * as one GROUP_MESSAGES frame. Adapters without it send every message alone.
   */
  startBatching?(maxBytes: number, codec: Codec, packs?: boolean): void;
}
