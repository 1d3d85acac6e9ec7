/**
 * The sending half of a connection: encoding with the peer's frame limit, sealing after an
 * encrypted handshake, batching, and the cap on bytes waiting in the socket.
 * @module
 */
import { PayloadTooLargeError } from '../errors.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { CloseCode, type Frame } from '../protocol/frames.js';
import type { FrameCipher } from './frame-cipher.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

/**
 * Largest batch a socket builds. Bigger batches save little (the per-message cost is already
 * spread) and would delay the first frame's handling behind a long parse.
 */
export const BATCH_MAX_BYTES = 64 * 1024;

/** How long a slow consumer's socket may linger after its close frame was queued. */
export const SLOW_CONSUMER_GRACE_MS = 1000;

const textEncoder = new TextEncoder();

function byteLengthAtMost(payload: WirePayload, limit: number): boolean {
  if (typeof payload !== 'string') return payload.byteLength <= limit;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes; measure only when that bound is too big.
  if (payload.length * 3 <= limit) return true;
  return textEncoder.encode(payload).byteLength <= limit;
}

/** Encodes and writes the frames of one connection. */
export class Outbound {
  /**
   * The peer's frame limit; 0 while none is known. Kept a small integer (not Infinity): a
   * number field that ever held a fraction or Infinity costs every connection a boxed number.
   */
  private peerLimit = 0;
  private sealer: FrameCipher | undefined;

  constructor(
    /** The socket written to. */
    readonly socket: WireSocket,
    /** The codec frames are encoded with. */
    readonly codec: Codec,
    /** Bytes allowed to wait in the socket before the peer counts as a slow consumer. */
    readonly maxBufferedBytes: number,
  ) {}

  /** Largest frame the peer accepts; Infinity until the handshake says. */
  get peerMaxPayload(): number {
    return this.peerLimit === 0 ? Infinity : this.peerLimit;
  }

  /** The cipher of an encrypted connection (it opens incoming frames too). */
  get cipher(): FrameCipher | undefined {
    return this.sealer;
  }

  /**
   * Frames up to `peerMaxPayload` bytes from now on; when `peerReadsBatches`, the socket may
   * join the frames of one tick into one message (not with a cipher: frames are sealed one by
   * one), and pack group messages when `peerReadsPacks`.
   */
  limit(
    peerMaxPayload: number | undefined,
    peerReadsBatches: boolean,
    sealed: boolean,
    peerReadsPacks = false,
  ): void {
    this.peerLimit = peerMaxPayload ?? 0;
    if (peerReadsBatches && !sealed) {
      const maxBytes = Math.min(BATCH_MAX_BYTES, this.peerMaxPayload);
      this.socket.startBatching?.(maxBytes, this.codec, peerReadsPacks);
    }
  }

  /** Seals every frame written from now on (undefined: none). */
  seal(cipher: FrameCipher | undefined): void {
    this.sealer = cipher;
  }

  /**
   * Encodes (and seals) a frame. Throws a `SerializationError`, or
   * {@link PayloadTooLargeError} when it exceeds the peer's maxPayload.
   */
  encode(frame: Frame): WirePayload {
    return this.prepare(this.codec.encode(frame));
  }

  /**
   * Seals a payload already encoded with this connection's codec. Throws
   * {@link PayloadTooLargeError} when it exceeds the peer's maxPayload.
   */
  prepare(encoded: WirePayload): WirePayload {
    const payload = this.sealed(encoded);
    const limit = this.peerMaxPayload;
    if (!byteLengthAtMost(payload, limit)) {
      throw new PayloadTooLargeError(`Frame exceeds the peer's maxPayload of ${limit} bytes`);
    }
    return payload;
  }

  /** True when the bytes waiting in the socket are over the cap (a slow consumer). */
  get overCap(): boolean {
    return this.socket.bufferedAmount > this.maxBufferedBytes;
  }

  /** Writes an encoded payload. */
  write(payload: WirePayload): void {
    this.socket.send(payload);
  }

  /** Writes a frame shared with other connections (fan-out); sealed ones are copied. */
  writeShared(frame: SharedFrame): void {
    if (this.sealer !== undefined) this.socket.send(this.sealed(frame.payload));
    else this.socket.sendShared(frame);
  }

  /**
   * Closes the socket of a slow consumer: its close frame is queued so a peer that resumes
   * reading learns why, but the socket is torn down after a short grace period instead of
   * waiting behind the backlog.
   */
  dropSlowConsumer(): void {
    const { socket } = this;
    try {
      socket.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
    } catch {
      socket.terminate();
    }
    const timer = setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS);
    if (typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
  }

  private sealed(payload: WirePayload): WirePayload {
    if (this.sealer === undefined) return payload;
    return this.sealer.seal(typeof payload === 'string' ? textEncoder.encode(payload) : payload);
  }
}
