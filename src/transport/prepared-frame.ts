/**
 * Server-side WebSocket frames built once and written to many sockets (group fan-out), and
 * the batches sockets make of them. Server frames are not masked, so the same bytes suit
 * every subscriber.
 * @module
 */
import * as wsModule from 'ws';
import WebSocket from 'ws';
import type { WirePayload } from '../protocol/codec.js';
import type { SharedFrame } from './wire-socket.js';

/** `ws` frames a payload for a server-to-client message (unmasked). */
interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
type FrameFunction = (data: Buffer, options: FrameOptions) => Buffer[];
// Under ESM, `Sender` is a named export of 'ws' (not a property of its default export).
type SenderModule = { Sender?: { frame?: FrameFunction } };
const wsSender =
  (wsModule as unknown as SenderModule).Sender ?? (WebSocket as unknown as SenderModule).Sender;
const senderFrame: FrameFunction | undefined =
  typeof wsSender?.frame === 'function' ? wsSender.frame.bind(wsSender) : undefined;

/** Joins encoded frames into one batch payload (the codec's `join`). */
export type JoinPayloads = (payloads: readonly WirePayload[]) => WirePayload;

/**
 * Strings up to this many UTF-16 units are bounded by 3 bytes a unit without measuring them;
 * longer ones are measured, so a batch of large ASCII frames is not counted three times over
 * (measuring costs far less than the encoding that made the string).
 */
export const CHEAP_BOUND_UNITS = 1024;

/**
 * Upper bound of a payload's size in bytes: exact for binary payloads and long strings, 3 bytes
 * a UTF-16 unit (the most one takes in UTF-8) for short strings.
 */
export function payloadBound(payload: WirePayload): number {
  if (typeof payload !== 'string') return payload.byteLength;
  return payload.length <= CHEAP_BOUND_UNITS ? payload.length * 3 : Buffer.byteLength(payload);
}

function frameBytes(payload: WirePayload): Buffer[] | undefined {
  if (senderFrame === undefined) return undefined;
  const binary = typeof payload !== 'string';
  const data = binary
    ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    : Buffer.from(payload);
  const parts = senderFrame(data, {
    fin: true,
    opcode: binary ? 2 : 1,
    mask: false,
    readOnly: true,
    rsv1: false,
  });
  // Header and payload in one buffer: one write per subscriber instead of two. Large payloads
  // stay apart to avoid copying them.
  return parts.length > 1 && data.length <= 64 * 1024 ? [Buffer.concat(parts)] : parts;
}

/**
 * A payload framed once for many receivers: one frame, or a batch of frames that several
 * sockets queued in the same order during one tick. Batches are built from their first
 * frame with {@link followedBy}, so 500 subscribers that get the same 20 messages in a tick
 * share 20 batch objects and one framing of the final batch.
 */
export class PreparedFrame implements SharedFrame {
  /** Upper bound of the payload size in bytes. */
  readonly bound: number;
  private joined: WirePayload | undefined;
  private framedBytes: Buffer[] | undefined | null = null;
  /** Batches that continue this one with one more frame, by that frame. */
  private followers: Map<PreparedFrame, PreparedFrame> | undefined;

  /** @param parts the encoded frames, in order (one for a plain frame) */
  constructor(
    private readonly parts: readonly WirePayload[],
    private readonly join?: JoinPayloads,
  ) {
    let bound = parts.length - 1;
    for (const part of parts) bound += payloadBound(part);
    this.bound = bound;
  }

  /** A single frame. */
  static of(payload: WirePayload): PreparedFrame {
    return new PreparedFrame([payload]);
  }

  /** Number of frames in this payload. */
  get count(): number {
    return this.parts.length;
  }

  /** The encoded frames, in order. */
  get payloads(): readonly WirePayload[] {
    return this.parts;
  }

  /** The message payload: the frame, or the joined batch. */
  get payload(): WirePayload {
    if (this.joined === undefined) {
      const { parts, join } = this;
      this.joined = parts.length > 1 && join !== undefined ? join(parts) : (parts[0] ?? '');
    }
    return this.joined;
  }

  /** Header and payload buffers, as `ws` lays them out; undefined if `ws` cannot frame. */
  get framed(): Buffer[] | undefined {
    if (this.framedBytes === null) this.framedBytes = frameBytes(this.payload);
    return this.framedBytes;
  }

  /** This batch followed by `next`'s frames: made once, then shared by every socket. */
  followedBy(next: PreparedFrame, join: JoinPayloads): PreparedFrame {
    this.followers ??= new Map();
    let batch = this.followers.get(next);
    if (batch === undefined) {
      batch = new PreparedFrame([...this.parts, ...next.parts], join);
      this.followers.set(next, batch);
    }
    return batch;
  }
}
