/**
 * One wsmesh connection, the same on both sides: sends frames, correlates requests with
 * replies, answers PINGs, applies what the handshake agreed on and turns every bad input
 * into an error frame or a close code instead of an exception. Its parts: the request table
 * (pending-request.ts), the sending half with the peer's limits and the buffer cap
 * (outbound.ts), the first steps of an incoming message (inbound.ts), the signs of life
 * the heartbeat reads (liveness.ts) and the answers (answers.ts); its options and handler
 * are declared in connection-options.ts.
 * @module
 */
import {
  AbortError,
  ConnectionClosedError,
  ErrorCode,
  ProtocolError,
  SlowConsumerError,
  type WsMeshError,
} from '../errors.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import {
  CloseCode,
  FrameType,
  type Frame,
  type RequestBuilder,
  type WelcomeFrame,
} from '../protocol/frames.js';
import { validateFrame } from '../protocol/validate.js';
import { fromWireError } from '../protocol/wire-error.js';
import { answerInvalid, sendErrorReply, sendReply, sendStreamError } from './answers.js';
import type {
  ConnectionHandler,
  ConnectionOptions,
  NegotiatedTerms,
  RequestOptions,
} from './connection-options.js';
import {
  INVALID_TEXT,
  inboundRules,
  openMessage,
  type InboundRules,
  type Refusal,
} from './inbound.js';
import { encodedIntercept, type EncodedTap } from './encoded-tap.js';
import * as liveness from './liveness.js';
import { Outbound } from './outbound.js';
import { RequestTable, type PendingRequest } from './pending-request.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

export { BATCH_MAX_BYTES, SLOW_CONSUMER_GRACE_MS } from './outbound.js';
export type * from './connection-options.js';

/** A live wsmesh connection over a {@link WireSocket}. */
export class Connection {
  /** Made on the first request: most server-side connections never send one. */
  private requestTable: RequestTable | undefined;
  private readonly out: Outbound;
  private isClosed = false;
  /** Signs of life (liveness.ts): a small integer, and a round trip from the first timed PING. */
  private beat = 0;
  private roundTrip: liveness.RoundTrip | undefined;
  /** How incoming messages are read; replaced by the handshake only. */
  private inbound: InboundRules;
  /** Accepting side, handshake not over: the handler sees every frame. */
  private handshaking: boolean;
  /** Offers each incoming frame before it is decoded (see {@link tapEncoded}). */
  private intercept: ((frame: Uint8Array) => boolean) | undefined;

  constructor(
    socket: WireSocket,
    private readonly handler: ConnectionHandler,
    private readonly opts: ConnectionOptions,
  ) {
    this.out = new Outbound(socket, opts.codec, opts.maxBufferedBytes);
    this.inbound = inboundRules(opts.codec, false, undefined);
    this.handshaking = opts.accepting === true;
  }

  /** Codec of this connection (kept by its Outbound, as the socket: not twice per connection). */
  get codec(): Codec {
    return this.out.codec;
  }

  /** The socket this connection reads and writes. */
  get socket(): WireSocket {
    return this.out.socket;
  }

  private get requests(): RequestTable {
    this.requestTable ??= new RequestTable();
    return this.requestTable;
  }

  /** Requests sent by this side that await a reply, by id. */
  get pending(): ReadonlyMap<number, PendingRequest> {
    return this.requests.pending;
  }

  /** Largest frame the peer accepts (learned in the handshake); Infinity until then. */
  get peerMaxPayload(): number {
    return this.out.peerMaxPayload;
  }

  /** True once closed; nothing is sent after that. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True when every frame is sealed (after an encrypted handshake). */
  get encrypted(): boolean {
    return this.out.cipher !== undefined;
  }

  /** Round trip of the last timed PING (see {@link ping}) in ms; undefined until one returned. */
  get rttMs(): number | undefined {
    return this.roundTrip?.last;
  }

  /**
   * The peer may send batches: several frames in one message (JSON: lines; MessagePack:
   * values back to back). See {@link readBatches} and PROTOCOL.md, "Batches".
   */
  get acceptsBatches(): boolean {
    return this.inbound.batches;
  }

  /**
   * This side announced that it reads batches (HELLO or WELCOME `batch`): incoming messages
   * may hold several frames from now on.
   */
  readBatches(): void {
    this.inbound = inboundRules(this.codec, true, this.inbound.cipher);
  }

  /**
   * Applies what the handshake agreed on: the peer's frame limit, batching, the cipher. On
   * the accepting side this also ends the handshake (PING, PONG, REPLY and ERROR are handled
   * here from now on), and `welcome` is the WELCOME that announces the terms: it is sent
   * after batching starts, so the frames of its tick may share its message, and before the
   * cipher applies, as it travels in clear. Throws like {@link send} when WELCOME cannot be
   * sent (the terms apply all the same). Batches are at most {@link BATCH_MAX_BYTES} and the
   * peer's maxPayload, and never sealed (frames are sealed one by one).
   */
  negotiated(terms: NegotiatedTerms, welcome?: WelcomeFrame): void {
    this.handshaking = false;
    const { peerMaxPayload, peerReadsBatches, cipher, peerReadsPacks } = terms;
    this.out.limit(peerMaxPayload, peerReadsBatches, cipher !== undefined, peerReadsPacks === true);
    try {
      if (welcome !== undefined) this.send(welcome);
    } finally {
      this.out.seal(terms.cipher);
      this.inbound = inboundRules(this.codec, this.inbound.batches, terms.cipher);
    }
  }

  /** The heartbeat monitor starts watching: the connection counts as just heard from. */
  heartbeatStart(): void {
    this.beat = liveness.BEAT_STARTED;
  }

  /** One heartbeat tick passed: the ticks in a row with nothing received (0 if something came). */
  heartbeatTick(): number {
    this.beat = liveness.beatTicked(this.beat);
    return liveness.silentTicks(this.beat);
  }

  /** Bytes waiting to be written to the peer. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Encodes and sends a frame. Throws {@link ConnectionClosedError}, a `SerializationError`,
   * {@link PayloadTooLargeError} or {@link SlowConsumerError}; nothing is sent then.
   */
  send(frame: Frame): void {
    if (this.isClosed) throw new ConnectionClosedError('The connection is closed');
    const payload = this.out.encode(frame);
    // Not open was checked above, so false means the peer was just closed as a slow consumer.
    if (!this.write(payload)) throw new SlowConsumerError('The peer was closed as a slow consumer');
  }

  /**
   * Sends an already encoded payload (used by fan-out, which encodes once for many
   * connections). Returns false when the connection is closed or was closed as a slow consumer.
   */
  write(payload: WirePayload): boolean {
    if (!this.admitWrite()) return false;
    this.out.write(payload);
    return true;
  }

  /**
   * Writes a frame shared with other connections (fan-out). Returns false when the connection
   * is closed or was closed as a slow consumer.
   */
  writeShared(frame: SharedFrame): boolean {
    if (!this.admitWrite()) return false;
    this.out.writeShared(frame);
    return true;
  }

  /**
   * False when closed, or over its buffer cap (then closed as a slow consumer): checked
   * before every write. @internal
   */
  admitWrite(): boolean {
    if (this.isClosed) return false;
    if (this.out.overCap) {
      this.failSlowConsumer();
      return false;
    }
    return true;
  }

  /**
   * Sends a request and resolves with the reply. The connection picks the request id and
   * `build` makes the frame around it (a caller that needs the id, to cancel for example,
   * keeps it from there).
   */
  request(build: RequestBuilder, options?: RequestOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) {
        reject(new ConnectionClosedError('The connection is closed'));
        return;
      }
      const signal = options?.signal;
      if (signal?.aborted === true) {
        reject(new AbortError());
        return;
      }
      const pending = this.requests.open(
        resolve,
        reject,
        options?.timeout ?? this.opts.requestTimeout,
      );
      if (signal !== undefined) pending.watch(signal);
      if (options?.encoded === true) pending.encoded = true;
      try {
        this.send(build(pending.id));
      } catch (error) {
        pending.fail(error as WsMeshError);
      }
    });
  }

  /** Answers request `id` with `data`. Serialization failures become an error reply. */
  reply(id: number, data: unknown): void {
    sendReply(this, this.opts.localId, id, data);
  }

  /** Answers request `id` (0 = none) with an error. */
  replyError(id: number, error: unknown): void {
    sendErrorReply(this, this.opts.localId, id, error);
  }

  /** Ends RPC stream `streamId` with an error (RPC_STREAM_ERROR; stream ids are not request ids). */
  streamError(streamId: number, error: unknown): void {
    sendStreamError(this, this.opts.localId, streamId, error);
  }

  /**
   * MessagePack connections that forward RPC: replies to `encoded` requests, and the stream
   * frames `tap` takes, keep their value undecoded (see encoded-tap.ts).
   */
  tapEncoded(tap: EncodedTap): void {
    const ready = (): boolean => !this.isClosed && !this.handshaking;
    if (this.codec.binary)
      this.intercept = encodedIntercept(this.codec, this.requests.pending, tap, ready);
  }

  /** Sends a frame already encoded with this connection's codec. Throws like {@link send}. */
  sendEncoded(payload: WirePayload): void {
    if (this.isClosed) throw new ConnectionClosedError('The connection is closed');
    if (!this.write(this.out.prepare(payload)))
      throw new SlowConsumerError('The peer was closed as a slow consumer');
  }

  /** Reports a socket error to the connection's owner. */
  reportError(error: Error): void {
    this.handler.onError(error);
  }

  /** A text message that is not UTF-8 arrived: fails the connection with 1007 (RFC 6455). */
  refuseInvalidText(): void {
    this.refuse(INVALID_TEXT);
  }

  /** Feeds one incoming WebSocket message. Never throws. */
  receive(payload: WirePayload): void {
    if (this.isClosed) return;
    this.beat = liveness.beatHeard(this.beat);
    const refusal = openMessage(payload, this.inbound, this, this.intercept);
    if (refusal !== undefined) this.refuse(refusal);
  }

  /** @internal One frame decoded from a received message (see {@link receive}). */
  decoded(value: unknown, raw: WirePayload): void {
    if (!this.isClosed) this.receiveFrame(value, raw);
  }

  /** Reports a message the peer should not have sent (ERR_BAD_FRAME) and closes. */
  private refuse(refusal: Refusal): void {
    if (this.isClosed) return;
    this.handler.onError(new ProtocolError(ErrorCode.BAD_FRAME, refusal.message));
    this.close(refusal.code, refusal.reason);
  }

  /** Validates one decoded frame and handles it. */
  private receiveFrame(decoded: unknown, payload: WirePayload): void {
    let frame: Frame;
    try {
      frame = validateFrame(decoded);
    } catch (error) {
      answerInvalid(this, this.opts.localId, error, (reported) => this.handler.onError(reported));
      return;
    }
    if (!this.handshaking) {
      switch (frame[0]) {
        case FrameType.REPLY:
          this.requestTable?.succeed(frame[1], frame[2]);
          return;
        case FrameType.ERROR:
          if (frame[1] !== 0) {
            this.requestTable?.fail(frame[1], fromWireError(frame[2]));
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
          this.roundTrip?.pongReceived(globalThis.performance.now());
          return;
      }
    }
    try {
      this.handler.onFrame(frame, payload);
    } catch (error) {
      this.handler.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Sends a PING and, when `timed` and no timed one is already in flight, times its PONG into
   * `rttMs`. Throws like {@link send}.
   */
  ping(timed = true): void {
    const sentAt = timed ? globalThis.performance.now() : 0;
    this.send([FrameType.PING]);
    if (timed) (this.roundTrip ??= new liveness.RoundTrip()).pingSent(sentAt);
  }

  /** Starts a closing handshake. Pending requests are rejected at once. */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.isClosed) return;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
    this.handleClosed(code, reason);
  }

  /** Drops the connection without a closing handshake (dead peer). */
  terminate(code: number, reason: string): void {
    if (this.isClosed) return;
    this.socket.terminate();
    this.handleClosed(code, reason);
  }

  /** Called by the socket adapter when the socket closed. Idempotent. */
  handleClosed(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.requestTable?.failAll(
      () =>
        new ConnectionClosedError(
          `The connection closed (${code}${reason === '' ? '' : ` ${reason}`}) before a reply came`,
        ),
    );
    this.handler.onClose(code, reason);
  }

  private failSlowConsumer(): void {
    this.handler.onError(
      new SlowConsumerError(
        `Outbound buffer over ${this.out.maxBufferedBytes} bytes: closing the slow consumer`,
      ),
    );
    this.out.dropSlowConsumer();
    this.handleClosed(CloseCode.SLOW_CONSUMER, 'slow consumer');
  }
}
