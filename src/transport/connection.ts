/**
 * One wsmesh connection, the same on both sides: encodes and sends frames, correlates
 * requests with replies, answers heartbeats, enforces the outbound buffer cap and turns every
 * bad input into an error frame or a close code instead of an exception.
 * @module
 */
import {
  AbortError,
  ConnectionClosedError,
  ErrorCode,
  PayloadTooLargeError,
  ProtocolError,
  SlowConsumerError,
  type WsMeshError,
} from '../errors.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { CloseCode, FrameType, type Frame, type WireError } from '../protocol/frames.js';
import { validateFrame } from '../protocol/validate.js';
import { fromWireError, toWireError } from '../protocol/wire-error.js';
import { PendingRequest } from './pending-request.js';
import type { FrameCipher } from './frame-cipher.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

/** What the owner of a connection (server or client) handles. */
export interface ConnectionHandler {
  /** Every valid frame the transport does not consume itself (not REPLY, PING, PONG). */
  onFrame(frame: Frame, raw: WirePayload): void;
  /** The connection closed; pending requests were already rejected. */
  onClose(code: number, reason: string): void;
  /** A recoverable problem worth reporting (bad frame from the peer, handler crash...). */
  onError(error: Error): void;
}

/** Options fixed when a connection is created. */
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
   * The accepting side of a handshake: until {@link Connection.established}, every frame
   * (PING and REPLY included) goes to the handler, which refuses what is not a handshake frame.
   */
  accepting?: boolean;
}

/** Per-request options. */
export interface RequestOptions {
  /** Timeout in ms; defaults to the connection's `requestTimeout`. */
  timeout?: number | undefined;
  /** Cancels the wait (the request may still run remotely). */
  signal?: AbortSignal | undefined;
}

const MAX_REQUEST_ID = 2 ** 31 - 1;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Largest batch a socket builds. Bigger batches save little (the per-message cost is already
 * spread) and would delay the first frame's handling behind a long parse.
 */
export const BATCH_MAX_BYTES = 64 * 1024;

/** How long a slow consumer's socket may linger after its close frame was queued. */
export const SLOW_CONSUMER_GRACE_MS = 1000;

function byteLengthAtMost(payload: WirePayload, limit: number): boolean {
  if (typeof payload !== 'string') return payload.byteLength <= limit;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes; measure only when that bound is too big.
  if (payload.length * 3 <= limit) return true;
  return new TextEncoder().encode(payload).byteLength <= limit;
}

/** A live wsmesh connection over a {@link WireSocket}. */
export class Connection {
  /** Codec of this connection. */
  readonly codec: Codec;
  /** Requests sent by this side that await a reply, by id. */
  get pending(): Map<number, PendingRequest> {
    // Made on first use: most server-side connections never send a request.
    this.pendingMap ??= new Map();
    return this.pendingMap;
  }
  private pendingMap: Map<number, PendingRequest> | undefined;
  /** Largest frame the peer accepts (learned in the handshake). */
  peerMaxPayload = Infinity;
  /** True once closed; nothing is sent after that. */
  closed = false;
  /** Set on every incoming message; the heartbeat monitor clears it. */
  receivedSinceTick = false;
  /** Heartbeat ticks in a row with nothing received. */
  missedTicks = 0;
  /** Set after an encrypted handshake: every frame from then on is sealed. */
  cipher: FrameCipher | undefined;
  /** Round trip of the last timed PING (see {@link ping}) in ms; undefined until one returned. */
  rttMs: number | undefined;
  /**
   * The peer may send batches: several frames in one message (JSON: lines; MessagePack:
   * values back to back). Set by the side that announced it reads them (HELLO/WELCOME
   * `batch`); see PROTOCOL.md, "Batches".
   */
  acceptsBatches = false;
  /** `performance.now()` when the timed PING in flight was sent; 0 when none is. */
  private pingSentAt = 0;
  /** Accepting side, handshake not over: the handler sees every frame. */
  private handshaking: boolean;

  private nextId = 1;
  private readonly maxBufferedBytes: number;
  private readonly requestTimeout: number;
  private readonly localId: string | undefined;

  constructor(
    readonly socket: WireSocket,
    private readonly handler: ConnectionHandler,
    options: ConnectionOptions,
  ) {
    this.codec = options.codec;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.requestTimeout = options.requestTimeout;
    this.localId = options.localId;
    this.handshaking = options.accepting === true;
  }

  /** The handshake is over: PING, PONG, REPLY and ERROR are handled here from now on. */
  established(): void {
    this.handshaking = false;
  }

  /**
   * The peer reads batches: from now on the socket may join the frames sent in one tick into
   * one message, up to {@link BATCH_MAX_BYTES} and the peer's maxPayload. Not with a cipher
   * (frames are sealed one by one).
   */
  startBatching(): void {
    if (this.cipher !== undefined) return;
    this.socket.startBatching?.(Math.min(BATCH_MAX_BYTES, this.peerMaxPayload), this.codec.join);
  }

  /** Bytes waiting to be written to the peer. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Encodes and sends a frame. Throws {@link ConnectionClosedError}, a `SerializationError`,
   * {@link PayloadTooLargeError} or {@link SlowConsumerError}; nothing is sent then.
   */
  send(frame: readonly unknown[]): void {
    if (this.closed) throw new ConnectionClosedError('The connection is closed');
    const payload = this.seal(this.codec.encode(frame));
    if (!byteLengthAtMost(payload, this.peerMaxPayload)) {
      throw new PayloadTooLargeError(
        `Frame exceeds the peer's maxPayload of ${this.peerMaxPayload} bytes`,
      );
    }
    // Not open was checked above, so false means the peer was just closed as a slow consumer.
    if (!this.write(payload)) throw new SlowConsumerError('The peer was closed as a slow consumer');
  }

  /**
   * Sends an already encoded payload (used by fan-out, which encodes once for many
   * connections). Returns false when the connection is closed or was closed as a slow consumer.
   */
  write(payload: WirePayload): boolean {
    if (this.closed) return false;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.failSlowConsumer();
      return false;
    }
    this.socket.send(payload);
    return true;
  }

  /**
   * Writes a frame shared with other connections (fan-out). Returns false when the connection
   * is closed or was closed as a slow consumer.
   */
  writeShared(frame: SharedFrame): boolean {
    if (this.closed) return false;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.failSlowConsumer();
      return false;
    }
    if (this.cipher !== undefined) this.socket.send(this.seal(frame.payload));
    else this.socket.sendShared(frame);
    return true;
  }

  /**
   * Sends a request frame and resolves with the reply. `frame[1]` is the request id slot and
   * is filled here.
   */
  request(frame: unknown[], options?: RequestOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ConnectionClosedError('The connection is closed'));
        return;
      }
      const signal = options?.signal;
      if (signal?.aborted === true) {
        reject(new AbortError());
        return;
      }
      const id = this.nextId;
      this.nextId = id === MAX_REQUEST_ID ? 1 : id + 1;
      frame[1] = id;
      const timeout = options?.timeout ?? this.requestTimeout;
      const pending = new PendingRequest(id, this.pending, resolve, reject, timeout);
      this.pending.set(id, pending);
      if (signal !== undefined) pending.watch(signal);
      try {
        this.send(frame);
      } catch (error) {
        pending.fail(error as WsMeshError);
      }
    });
  }

  /** Answers request `id` with `data`. Serialization failures become an error reply. */
  reply(id: number, data: unknown): void {
    if (this.closed) return;
    try {
      this.send([FrameType.REPLY, id, data === undefined ? null : data]);
    } catch (error) {
      if (error instanceof ConnectionClosedError || error instanceof SlowConsumerError) return;
      this.replyError(id, error);
    }
  }

  /** Answers request `id` (0 = none) with an error. */
  replyError(id: number, error: unknown): void {
    if (this.closed) return;
    const wire: WireError = toWireError(error, this.localId);
    try {
      this.send([FrameType.ERROR, id, wire]);
    } catch {
      // The error itself could not be sent (closed, or its data is not serializable):
      // retry once with the bare code and message.
      try {
        this.send([FrameType.ERROR, id, { code: wire.code, message: wire.message }]);
      } catch {
        // Closed: nothing more to do.
      }
    }
  }

  /** Ends RPC stream `streamId` with an error (RPC_STREAM_ERROR; stream ids are not request ids). */
  streamError(streamId: number, error: unknown): void {
    if (this.closed) return;
    try {
      this.send([FrameType.RPC_STREAM_ERROR, streamId, toWireError(error, this.localId)]);
    } catch {
      // Closed: the consumer learns it from its own connection.
    }
  }

  /** Reports a socket error to the connection's owner. */
  reportError(error: Error): void {
    this.handler.onError(error);
  }

  /** A text message that is not UTF-8 arrived: fails the connection with 1007 (RFC 6455). */
  refuseInvalidText(): void {
    this.refuse('A text message is not valid UTF-8', CloseCode.INVALID_PAYLOAD, 'invalid UTF-8');
  }

  /** Feeds one incoming WebSocket message. Never throws. */
  receive(payload: WirePayload): void {
    if (this.closed) return;
    this.receivedSinceTick = true;
    if (this.cipher !== undefined) {
      const opened = typeof payload === 'string' ? undefined : this.cipher.open(payload);
      if (opened === undefined) {
        this.refuse('A frame failed decryption', CloseCode.INVALID_PAYLOAD, 'decryption failed');
        return;
      }
      payload = this.codec.binary ? opened : textDecoder.decode(opened);
    }
    if ((typeof payload === 'string') === this.codec.binary) {
      const { name, binary } = this.codec;
      this.refuse(
        `A ${name} connection got a ${binary ? 'text' : 'binary'} message`,
        CloseCode.UNSUPPORTED_DATA,
        `${name} connections take ${binary ? 'binary' : 'text'} messages`,
      );
      return;
    }
    // A JSON batch has a line feed; a MessagePack message is always read as a possible batch.
    if (this.acceptsBatches && (typeof payload !== 'string' || payload.includes('\n'))) {
      this.receiveBatch(payload);
      return;
    }
    let decoded: unknown;
    try {
      decoded = this.codec.decode(payload);
    } catch {
      this.refuseUndecodable();
      return;
    }
    this.receiveFrame(decoded, payload);
  }

  /** Several frames in one message (see {@link acceptsBatches}): each is handled in order. */
  private receiveBatch(payload: WirePayload): void {
    try {
      this.codec.decodeEach(payload, (decoded, raw) => {
        if (!this.closed) this.receiveFrame(decoded, raw);
      });
    } catch {
      this.refuseUndecodable();
    }
  }

  private refuseUndecodable(): void {
    const { name } = this.codec;
    this.refuse(
      `Undecodable ${name} payload`,
      CloseCode.INVALID_PAYLOAD,
      `invalid ${name} payload`,
    );
  }

  /** Reports a message the peer should not have sent (ERR_BAD_FRAME) and closes with `code`. */
  private refuse(message: string, code: number, reason: string): void {
    if (this.closed) return;
    this.handler.onError(new ProtocolError(ErrorCode.BAD_FRAME, message));
    this.close(code, reason);
  }

  /** Validates one decoded frame and handles it. */
  private receiveFrame(decoded: unknown, payload: WirePayload): void {
    let frame: Frame;
    try {
      frame = validateFrame(decoded);
    } catch (error) {
      const protocolError = error as ProtocolError;
      const data = protocolError.data as { id?: number; streamId?: number } | undefined;
      this.handler.onError(protocolError);
      if (data?.streamId !== undefined) this.streamError(data.streamId, protocolError);
      else this.replyError(data?.id ?? 0, protocolError);
      return;
    }
    if (this.handshaking) {
      this.handler.onFrame(frame, payload);
      return;
    }
    switch (frame[0]) {
      case FrameType.REPLY:
        this.pendingMap?.get(frame[1])?.succeed(frame[2]);
        return;
      case FrameType.ERROR:
        if (frame[1] !== 0) {
          this.pendingMap?.get(frame[1])?.fail(fromWireError(frame[2]));
          return;
        }
        break;
      case FrameType.PING:
        try {
          this.send([FrameType.PONG]);
        } catch {
          // Closed or slow: the heartbeat of the other side will notice.
        }
        return;
      case FrameType.PONG:
        if (this.pingSentAt !== 0) {
          this.rttMs = globalThis.performance.now() - this.pingSentAt;
          this.pingSentAt = 0;
        }
        return;
    }
    try {
      this.handler.onFrame(frame, payload);
    } catch (error) {
      this.handler.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Sends a PING and, unless a timed one is already in flight, times its PONG into `rttMs`.
   * Throws like {@link send}.
   */
  ping(): void {
    const sentAt = globalThis.performance.now();
    this.send([FrameType.PING]);
    if (this.pingSentAt === 0) this.pingSentAt = sentAt;
  }

  /** Starts a closing handshake. Pending requests are rejected at once. */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.closed) return;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
    this.handleClosed(code, reason);
  }

  /** Drops the connection without a closing handshake (dead peer). */
  terminate(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.terminate();
    this.handleClosed(code, reason);
  }

  /** Called by the socket adapter when the socket closed. Idempotent. */
  handleClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pendingMap !== undefined && this.pendingMap.size > 0) {
      const error = new ConnectionClosedError(
        `The connection closed (${code}${reason === '' ? '' : ` ${reason}`}) before a reply came`,
      );
      for (const request of [...this.pendingMap.values()]) request.fail(error);
    }
    this.handler.onClose(code, reason);
  }

  private seal(payload: WirePayload): WirePayload {
    if (this.cipher === undefined) return payload;
    return this.cipher.seal(typeof payload === 'string' ? textEncoder.encode(payload) : payload);
  }

  private failSlowConsumer(): void {
    this.handler.onError(
      new SlowConsumerError(
        `Outbound buffer over ${this.maxBufferedBytes} bytes: closing the slow consumer`,
      ),
    );
    // Queue the close frame so a peer that resumes reading learns why, but do not wait for
    // it behind the backlog: the socket is torn down after a short grace period.
    const { socket } = this;
    try {
      socket.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
    } catch {
      socket.terminate();
    }
    const timer = setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS);
    if (typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
    this.handleClosed(CloseCode.SLOW_CONSUMER, 'slow consumer');
  }
}
