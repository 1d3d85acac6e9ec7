/**
 * The recovery frames (PROTOCOL.md 2.10): resuming subscriptions, their outcome, and the
 * history requests and pages between nodes.
 * @module
 */
import type { GroupTarget, SubscribeBody } from './client-frames.js';
import type { FrameType } from './wire-codes.js';

/** A position in one group: last sequence per stream, and the time `t` it covers from. */
export interface WireGroupPosition {
  s: Record<string, number>;
  t: number;
}
/**
 * `[14, id, groupId, since, options?]`: SUBSCRIBE resuming from `since` (null: a fresh
 * subscription), with the options of SUBSCRIBE.
 */
export type SubscribeSinceFrame = [
  typeof FrameType.SUBSCRIBE_SINCE,
  number,
  string,
  WireGroupPosition | null,
  SubscribeBody?,
];
/** `[15, groupId, recovered, position]`; `recovered` null after a fresh subscription. */
export type RecoverFrame = [typeof FrameType.RECOVER, string, boolean | null, WireGroupPosition];
/** `[26, requestId, groupId, since]` */
export type HistoryRequestFrame = [
  typeof FrameType.HISTORY_REQUEST,
  number,
  string,
  WireGroupPosition,
];
/** One kept message: `[stream, seq, at, target, groupMessage]` (MessagePack bytes). */
export type WireHistoryEntry = [string, number, number, GroupTarget, Uint8Array];
/** What a node knows of a stream: `[stream, head, evictedSeq, evictedAt, floor]`. */
export type WireStreamInfo = [string, number, number, number, number];
/** `[27, requestId, entries, streams, last]`; `streams` on the last page only (else null). */
export type HistoryPageFrame = [
  typeof FrameType.HISTORY_PAGE,
  number,
  WireHistoryEntry[],
  WireStreamInfo[] | null,
  boolean,
];
