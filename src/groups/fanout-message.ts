/**
 * A group message encoded at most once per codec and framed once, whatever the number of
 * receivers: the fan-out writes the same bytes to every subscriber's socket.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { FrameType, type GroupTarget } from '../protocol/frames.js';
import { PreparedFrame } from '../transport/node-socket.js';

/** One published group message on its way to subscribers. */
export class FanoutMessage {
  private jsonFrame: PreparedFrame | undefined;
  private msgpackFrame: PreparedFrame | undefined;
  private frameArray: unknown[] | undefined;

  constructor(
    /** Target as published: one id, ids, or null for every group. */
    readonly target: GroupTarget,
    readonly route: string | null,
    readonly act: string | null,
    readonly data: unknown,
  ) {}

  /** The GROUP_MESSAGE frame as an array. */
  get frame(): unknown[] {
    this.frameArray ??= [FrameType.GROUP_MESSAGE, this.target, this.route, this.act, this.data];
    return this.frameArray;
  }

  /** The framed bytes for `codec`, built on first use. Throws `SerializationError`. */
  frameFor(codec: Codec): PreparedFrame {
    if (codec.binary) {
      this.msgpackFrame ??= new PreparedFrame(codec.encode(this.frame));
      return this.msgpackFrame;
    }
    this.jsonFrame ??= new PreparedFrame(codec.encode(this.frame));
    return this.jsonFrame;
  }
}
