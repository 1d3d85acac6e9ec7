/**
 * Frames a peer sends while its authentication runs: held in order, bounded in number and
 * bytes, and handled as if they came now once the handshake ends (dropped if it fails).
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import { CloseCode, type Frame } from '../protocol/frames.js';
import type { PendingHandshake } from './handshake-pending.js';
import type { ServerConnection } from './server-connection.js';

/** Most frames a connection may send before its handshake ends. */
const MAX_HELD_FRAMES = 1_000;
/**
 * Most encoded bytes held before the handshake ends (or `maxPayload`, when smaller). Held
 * frames are decoded, and a decoded frame can take far more memory than its bytes, for as long
 * as a slow `authenticate` hook runs: so far less than a full frame.
 */
const MAX_HELD_BYTES = 64 * 1024;

/**
 * Holds a frame that arrived while authentication runs; a peer that sends more than the
 * bound (or more than `maxPayload` bytes) is closed with 1008.
 */
export function holdFrame(
  pending: PendingHandshake | undefined,
  frame: Frame,
  raw: WirePayload,
  maxPayload: number,
): void {
  // None once the handshake ended: the connection is closing (an opened one is not held).
  if (pending === undefined) return;
  pending.held ??= [];
  pending.heldBytes += typeof raw === 'string' ? raw.length : raw.byteLength;
  if (
    pending.held.length >= MAX_HELD_FRAMES ||
    pending.heldBytes > Math.min(MAX_HELD_BYTES, maxPayload)
  ) {
    pending.ws.connection.close(
      CloseCode.POLICY_VIOLATION,
      'too much sent before the handshake ended',
    );
    return;
  }
  pending.held.push([frame, raw]);
}

/** The handshake failed: nothing the peer sent meanwhile is handled. */
export function dropHeld(pending: PendingHandshake | undefined): void {
  if (pending === undefined) return;
  pending.held = undefined;
  pending.heldBytes = 0;
}

/** Hands the held frames to `handle`, in order, while the connection stays open. */
export function replayHeld(
  ws: ServerConnection,
  held: readonly [Frame, WirePayload][],
  handle: (frame: Frame, raw: WirePayload) => void,
): void {
  for (const [frame, raw] of held) {
    if (ws.state !== 'open') return;
    handle(frame, raw);
  }
}
