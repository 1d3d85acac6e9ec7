/**
 * Server-side WebSocket frames built once and written to many sockets (group fan-out), and
 * the batches sockets make of them. Server frames are not masked, so the same bytes suit
 * every subscriber.
 * @module
 */
import * as wsModule from 'ws';
import WebSocket from 'ws';
import type { WirePayload } from '../protocol/codec.js';
import { jsonPack } from '../protocol/json-pack.js';
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
 * A JSON group message cut where a pack joins messages (PROTOCOL.md 2.9, "Packs"): messages
 * in a row with the same `head` travel as one pack (see protocol/json-pack.ts).
 */
export interface PackPiece {
  /** `[18,<target>,<route>,<act>,[`: messages with equal heads may share a pack. */
  readonly head: string;
  /** The message's data, encoded. */
  readonly data: string;
}

/**
 * Messages at the end of a batch that share one head: the first `count` of `datas`. Batches
 * of one chain share `datas` and append to it (see {@link PreparedFrame}).
 */
interface PackRun {
  readonly head: string;
  readonly datas: string[];
  readonly count: number;
  /** The first message's own frame: a run of one travels as that frame. */
  readonly lone: WirePayload;
}

function renderRun(run: PackRun): WirePayload {
  const { datas, count } = run;
  if (count === 1) return run.lone;
  return jsonPack(run.head, datas.length === count ? datas : datas.slice(0, count));
}

/**
 * `items` (of which the first `count` are in use) followed by `added`: in the same array when
 * nothing was appended after `count` yet, else in a copy. Growing a batch one frame at a time
 * then costs O(1) per frame, not O(batch).
 */
function appended<T>(items: T[], count: number, added: readonly T[]): T[] {
  const target = items.length === count ? items : items.slice(0, count);
  // `added` may be `items` itself (a batch continued by its own last frame): a fixed length.
  const length = added.length;
  for (let index = 0; index < length; index++) target.push(added[index] as T);
  return target;
}

/**
 * A payload framed once for many receivers: one frame, or a batch of frames that several
 * sockets queued in the same order during one tick. Batches are built from their first
 * frame with {@link followedBy}, so 500 subscribers that get the same 20 messages in a tick
 * share 20 batch objects and one framing of the final batch. For sockets whose peer reads
 * packs, consecutive messages with the same pack head become one GROUP_MESSAGES frame.
 * Each batch reads only the first `partCount` of `parts` (and `run.count` of its datas), so
 * a batch and the batch it continues share their arrays.
 */
export class PreparedFrame implements SharedFrame {
  /**
   * Upper bound of the payload size in bytes, counted as if nothing were packed (a pack is
   * smaller than its messages as lines).
   */
  readonly bound: number;
  private joined: WirePayload | undefined;
  private framedBytes: Buffer[] | undefined | null = null;
  /** The follower last asked for: every subscriber of a fan-out asks for the same one. */
  private lastNext: PreparedFrame | undefined;
  private lastBatch: PreparedFrame | undefined;
  private lastPacks = false;
  /** Other followers, by frame, when sockets continued this batch in different ways. */
  private followers: Map<PreparedFrame, PreparedFrame> | undefined;
  private packedFollowers: Map<PreparedFrame, PreparedFrame> | undefined;

  /**
   * @param parts the encoded frames, in order (one for a plain frame), before `run`
   * @param partCount how many of `parts` belong to this batch
   * @param run packable messages that end the batch
   */
  private constructor(
    private readonly parts: WirePayload[],
    private readonly partCount: number,
    private readonly join: JoinPayloads | undefined,
    private readonly run: PackRun | undefined,
    bound: number,
  ) {
    this.bound = bound;
  }

  /** A single frame; `piece` when it is a JSON group message that may join a pack. */
  static of(payload: WirePayload, piece?: PackPiece): PreparedFrame {
    const bound = payloadBound(payload);
    if (piece === undefined) return new PreparedFrame([payload], 1, undefined, undefined, bound);
    const run = { head: piece.head, datas: [piece.data], count: 1, lone: payload };
    return new PreparedFrame([], 0, undefined, run, bound);
  }

  /** The encoded frames, in order (packs as one frame each), in a new array. */
  get payloads(): WirePayload[] {
    const list = this.parts.slice(0, this.partCount);
    if (this.run !== undefined) list.push(renderRun(this.run));
    return list;
  }

  /** The message payload: the frame, or the joined batch. */
  get payload(): WirePayload {
    if (this.joined === undefined) {
      const { payloads, join } = this;
      this.joined =
        payloads.length > 1 && join !== undefined ? join(payloads) : (payloads[0] ?? '');
    }
    return this.joined;
  }

  /** Header and payload buffers, as `ws` lays them out; undefined if `ws` cannot frame. */
  get framed(): Buffer[] | undefined {
    if (this.framedBytes === null) this.framedBytes = frameBytes(this.payload);
    return this.framedBytes;
  }

  /**
   * This batch followed by `next`'s frames, packed when `packs` (the peer reads packs): made
   * once, then shared by every socket.
   */
  followedBy(next: PreparedFrame, join: JoinPayloads, packs = false): PreparedFrame {
    if (next === this.lastNext && packs === this.lastPacks && this.lastBatch !== undefined) {
      return this.lastBatch;
    }
    let batch = (packs ? this.packedFollowers : this.followers)?.get(next);
    if (batch === undefined) {
      batch = packs ? this.packedWith(next, join) : this.joinedWith(next, join);
      // Maps only once a second follower shows up: most batches only ever have one.
      if (this.lastBatch !== undefined && this.lastNext !== undefined) {
        this.remember(this.lastNext, this.lastPacks, this.lastBatch);
        this.remember(next, packs, batch);
      }
    }
    this.lastNext = next;
    this.lastBatch = batch;
    this.lastPacks = packs;
    return batch;
  }

  private remember(next: PreparedFrame, packs: boolean, batch: PreparedFrame): void {
    const followers = packs ? (this.packedFollowers ??= new Map()) : (this.followers ??= new Map());
    followers.set(next, batch);
  }

  private joinedWith(next: PreparedFrame, join: JoinPayloads): PreparedFrame {
    const bound = this.bound + 1 + next.bound;
    const added = next.payloads;
    if (this.run === undefined) {
      const parts = appended(this.parts, this.partCount, added);
      return new PreparedFrame(parts, this.partCount + added.length, join, undefined, bound);
    }
    const parts = this.payloads;
    for (const part of added) parts.push(part);
    return new PreparedFrame(parts, parts.length, join, undefined, bound);
  }

  private packedWith(next: PreparedFrame, join: JoinPayloads): PreparedFrame {
    const bound = this.bound + 1 + next.bound;
    const { run } = this;
    const added = next.run;
    if (run !== undefined && added !== undefined && next.partCount === 0) {
      if (added.head === run.head) {
        const more =
          added.datas.length === added.count ? added.datas : added.datas.slice(0, added.count);
        const datas = appended(run.datas, run.count, more);
        const longer = { head: run.head, datas, count: run.count + added.count, lone: run.lone };
        return new PreparedFrame(this.parts, this.partCount, join, longer, bound);
      }
    }
    const closing = run === undefined ? [] : [renderRun(run)];
    const nextParts = next.parts.slice(0, next.partCount);
    const parts = appended(this.parts, this.partCount, [...closing, ...nextParts]);
    const count = this.partCount + closing.length + nextParts.length;
    return new PreparedFrame(parts, count, join, added, bound);
  }
}

/**
 * Adds `frame` to `batch` (undefined: none yet) as every batching socket does: the frame
 * joins the batch while both fit `limit`; otherwise the batch is complete, and a frame
 * larger than `limit` is complete alone. Complete batches are pushed to `complete`, in
 * order. Returns the batch still open.
 */
export function addToBatch(
  batch: PreparedFrame | undefined,
  frame: PreparedFrame,
  limit: number,
  join: JoinPayloads,
  packs: boolean,
  complete: PreparedFrame[],
): PreparedFrame | undefined {
  if (batch !== undefined && batch.bound + 1 + frame.bound <= limit) {
    return batch.followedBy(frame, join, packs);
  }
  if (batch !== undefined) complete.push(batch);
  if (frame.bound <= limit) return frame;
  complete.push(frame);
  return undefined;
}
