/**
 * A live, authenticated link to another clone: one WebSocket per pair of clones, used in
 * both directions, always MessagePack.
 * @module
 */
import { ConnectionClosedError, SlowConsumerError } from '../errors.js';
import type { Frame } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';

/** Which side opened the link. */
export type LinkDirection = 'in' | 'out';

/** A link to a remote clone. */
export class CloneLink {
  /** Instance id the peer announced in its first CLONE_SYNC. */
  peerInstance: string | undefined;
  /** Set once the link is replaced or closed. */
  closed = false;
  /**
   * Told about a frame that was not sent although the link is up (too large for the peer, or
   * not encodable): such a frame is an error to report, never a silent drop.
   */
  onUnsent: ((frameType: number, error: unknown) => void) | undefined;

  constructor(
    /** Id of the remote clone. */
    readonly peerId: string,
    /** Who dialed. */
    readonly direction: LinkDirection,
    /** Transport connection. */
    readonly connection: Connection,
    /** Id of the clone that dialed (decides which of two duplicate links survives). */
    readonly dialerId: string,
  ) {}

  /**
   * Sends a frame; false when it was not sent. A closed or overloaded link drops it (the
   * link's close handles the rest); any other failure goes to {@link onUnsent}.
   */
  send(frame: Frame): boolean {
    if (this.closed || this.connection.closed) return false;
    try {
      this.connection.send(frame);
      return true;
    } catch (error) {
      return this.unsent(frame[0], error);
    }
  }

  /**
   * Sends a frame of type `frameType` already encoded with the link's codec (MessagePack);
   * false when it was not sent, as {@link send}.
   */
  sendEncoded(frameType: number, payload: Uint8Array): boolean {
    if (this.closed || this.connection.closed) return false;
    try {
      this.connection.sendEncoded(payload);
      return true;
    } catch (error) {
      return this.unsent(frameType, error);
    }
  }

  /** A frame of `frameType` was not sent: reported unless the link is closing or overloaded. */
  private unsent(frameType: number, error: unknown): false {
    if (!(error instanceof ConnectionClosedError || error instanceof SlowConsumerError)) {
      this.onUnsent?.(frameType, error);
    }
    return false;
  }

  /** Closes the link. */
  close(code: number, reason: string): void {
    this.closed = true;
    this.connection.close(code, reason);
  }
}
