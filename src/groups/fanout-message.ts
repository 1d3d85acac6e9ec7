/**
 * A group message encoded at most once per codec and framed once, whatever the number of
 * receivers: the fan-out writes the same bytes to every subscriber's socket. A message relayed
 * from another clone arrives already encoded; it is decoded only if a local subscriber needs
 * another codec.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import { jsonElement, type Codec, type WirePayload } from '../protocol/codec.js';
import { FrameType, type GroupMessageFrame, type GroupTarget } from '../protocol/frames.js';
import { jsonGroupMessage, jsonPackHead } from '../protocol/json-pack.js';
import { validateFrame } from '../protocol/validate.js';
import { PreparedFrame, type PackPiece } from '../transport/prepared-frame.js';

const textEncoder = new TextEncoder();

/** One published group message on its way to subscribers. */
export class FanoutMessage {
  private frameArray: GroupMessageFrame | undefined;
  private source: { codec: Codec; payload: WirePayload } | undefined;
  private jsonPayload: WirePayload | undefined;
  /** The JSON frame cut for packs (PROTOCOL.md 2.9); none for numbered or relayed JSON. */
  private jsonPiece: PackPiece | undefined;
  private msgpackPayload: WirePayload | undefined;
  private jsonFrame: PreparedFrame | undefined;
  private msgpackFrame: PreparedFrame | undefined;
  private jsonBytes: number | undefined;
  /**
   * Receivers this message was not written to because it exceeds the `maxPayload` they
   * announced (see {@link fits}); the group manager adds it to its count.
   */
  tooLarge = 0;

  private constructor(
    /** Target as published: one id, ids, or null for every group. */
    readonly target: GroupTarget,
  ) {}

  /** A message built from its fields (published on this server), with its position if numbered. */
  static fromFields(
    target: GroupTarget,
    route: string | null,
    act: string | null,
    data: unknown,
    position?: unknown,
  ): FanoutMessage {
    const message = new FanoutMessage(target);
    message.frameArray =
      position === undefined
        ? [FrameType.GROUP_MESSAGE, target, route, act, data]
        : [FrameType.GROUP_MESSAGE, target, route, act, data, position];
    return message;
  }

  /** A message that arrived encoded (relayed by a clone); `payload` is a GROUP_MESSAGE frame. */
  static fromEncoded(target: GroupTarget, codec: Codec, payload: WirePayload): FanoutMessage {
    const message = new FanoutMessage(target);
    message.source = { codec, payload };
    if (codec.binary) message.msgpackPayload = payload;
    else message.jsonPayload = payload;
    return message;
  }

  /** The GROUP_MESSAGE frame as an array. Throws `ProtocolError` for a bad relayed payload. */
  get frame(): GroupMessageFrame {
    if (this.frameArray === undefined) {
      const source = this.source as { codec: Codec; payload: WirePayload };
      const frame = validateFrame(source.codec.decode(source.payload));
      if (frame[0] !== FrameType.GROUP_MESSAGE) {
        throw new ProtocolError(ErrorCode.BAD_FRAME, 'A relayed payload must be a GROUP_MESSAGE');
      }
      this.frameArray = frame;
    }
    return this.frameArray;
  }

  /** The frame encoded with `codec`, encoded on first use. Throws `SerializationError`. */
  encode(codec: Codec): WirePayload {
    if (codec.binary) {
      this.msgpackPayload ??= codec.encode(this.frame);
      return this.msgpackPayload;
    }
    this.jsonPayload ??= this.frame.length > 5 ? codec.encode(this.frame) : this.encodeJson();
    return this.jsonPayload;
  }

  /** The JSON frame of a message without position, built from the pieces a pack reuses. */
  private encodeJson(): string {
    const [, target, route, act, data] = this.frame;
    const fields = `${jsonElement(target)},${jsonElement(route)},${jsonElement(act)}`;
    const text = jsonElement(data);
    this.jsonPiece = { head: jsonPackHead(fields), data: text };
    return jsonGroupMessage(fields, text);
  }

  /**
   * True when the frame encoded with `codec` plus `overhead` bytes is at most `limit` bytes:
   * a receiver must never get a message larger than the `maxPayload` it announced. Measured
   * once per codec, and only when the length in UTF-16 units cannot settle it.
   */
  fits(codec: Codec, limit: number, overhead = 0): boolean {
    if (limit === Infinity) return true;
    const payload = this.encode(codec);
    const room = limit - overhead;
    if (typeof payload !== 'string') return payload.byteLength <= room;
    // A UTF-16 code unit takes one to three UTF-8 bytes.
    if (payload.length * 3 <= room) return true;
    if (payload.length > room) return false;
    this.jsonBytes ??= textEncoder.encode(payload).byteLength;
    return this.jsonBytes <= room;
  }

  /** The framed bytes for `codec`, built on first use. */
  frameFor(codec: Codec): PreparedFrame {
    if (codec.binary) {
      this.msgpackFrame ??= PreparedFrame.of(this.encode(codec));
      return this.msgpackFrame;
    }
    if (this.jsonFrame === undefined) {
      // Encoding sets the piece.
      const payload = this.encode(codec);
      this.jsonFrame = PreparedFrame.of(payload, this.jsonPiece);
    }
    return this.jsonFrame;
  }
}
