/**
 * Readers of the recovery frames: resuming subscriptions, their outcome, and the history
 * requests and pages between clones (PROTOCOL.md 2.10).
 * @module
 */
import {
  bad,
  isCount,
  isName,
  isPlainObject,
  isPositiveId,
  isTarget,
  type ReaderTable,
} from './checks.js';
import {
  FrameType,
  type FrameOf,
  type WireGroupPosition,
  type WireHistoryEntry,
  type WireStreamInfo,
} from './frames.js';
import { readSubscribeOptions } from './read-presence-frames.js';

/** Most streams a position may name. */
const MAX_STREAMS = 256;

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Reads `{s: {stream: seq}, t}` with at most 256 streams; undefined when it is not one. */
export function readWirePositionBody(value: unknown): WireGroupPosition | undefined {
  if (!isPlainObject(value)) return undefined;
  const { s, t } = value;
  if (!isTime(t) || !isPlainObject(s)) return undefined;
  const streams = Object.keys(s);
  if (streams.length > MAX_STREAMS) return undefined;
  const seqs: Record<string, number> = {};
  for (const id of streams) {
    const seq = s[id];
    if (!isName(id) || !isSeq(seq)) return undefined;
    seqs[id] = seq;
  }
  return { s: seqs, t };
}

/** True when `value` is a position `{s, t}` a peer may send. */
export function isWirePosition(value: unknown): value is WireGroupPosition {
  return readWirePositionBody(value) !== undefined;
}

function readHistoryEntry(value: unknown): WireHistoryEntry | undefined {
  if (!Array.isArray(value)) return undefined;
  const [stream, seq, at, target, bytes]: unknown[] = value;
  if (!isName(stream) || !isSeq(seq) || !isTime(at) || !isTarget(target)) return undefined;
  if (!(bytes instanceof Uint8Array)) return undefined;
  return [stream, seq, at, target, bytes];
}

function readStreamInfo(value: unknown): WireStreamInfo | undefined {
  if (!Array.isArray(value)) return undefined;
  const [stream, head, evictedSeq, evictedAt, floor]: unknown[] = value;
  if (!isName(stream)) return undefined;
  if (!isCount(head) || !isCount(evictedSeq) || !isCount(evictedAt) || !isCount(floor))
    return undefined;
  return [stream, head, evictedSeq, evictedAt, floor];
}

function readSubscribeSince(items: readonly unknown[]): FrameOf<typeof FrameType.SUBSCRIBE_SINCE> {
  const id = items[1];
  const groupId = items[2];
  const since = items[3] ?? null;
  if (!isCount(id)) throw bad('SUBSCRIBE_SINCE id must be a non-negative integer');
  if (!isName(groupId)) throw bad('group id must be a non-empty string', id);
  let position: WireGroupPosition | null = null;
  if (since !== null) {
    const read = readWirePositionBody(since);
    if (read === undefined) throw bad('SUBSCRIBE_SINCE position must be {s, t} or null', id);
    position = read;
  }
  const options = readSubscribeOptions(items[4], id);
  return options === undefined
    ? [FrameType.SUBSCRIBE_SINCE, id, groupId, position]
    : [FrameType.SUBSCRIBE_SINCE, id, groupId, position, options];
}

function readRecover(items: readonly unknown[]): FrameOf<typeof FrameType.RECOVER> {
  const groupId = items[1];
  const recovered = items[2];
  if (!isName(groupId) || !(recovered === null || typeof recovered === 'boolean'))
    throw bad('RECOVER needs a group id and true, false or null');
  const position = readWirePositionBody(items[3]);
  if (position === undefined) throw bad('RECOVER position must be {s, t}');
  return [FrameType.RECOVER, groupId, recovered, position];
}

function readHistoryRequest(items: readonly unknown[]): FrameOf<typeof FrameType.HISTORY_REQUEST> {
  const id = items[1];
  const groupId = items[2];
  const position = readWirePositionBody(items[3]);
  if (!isPositiveId(id) || !isName(groupId) || position === undefined)
    throw bad('HISTORY_REQUEST needs an id, a group id and a position');
  return [FrameType.HISTORY_REQUEST, id, groupId, position];
}

function readHistoryPage(items: readonly unknown[]): FrameOf<typeof FrameType.HISTORY_PAGE> {
  const id = items[1];
  const rawEntries = items[2];
  const rawStreams = items[3];
  const last = items[4];
  const fail = (): Error => bad('HISTORY_PAGE needs an id, entries, streams or null, and last');
  if (!isPositiveId(id) || !Array.isArray(rawEntries) || typeof last !== 'boolean') throw fail();
  const entries: WireHistoryEntry[] = [];
  for (const value of rawEntries) {
    const entry = readHistoryEntry(value);
    if (entry === undefined) throw fail();
    entries.push(entry);
  }
  if (rawStreams === null) return [FrameType.HISTORY_PAGE, id, entries, null, last];
  if (!Array.isArray(rawStreams)) throw fail();
  const streams: WireStreamInfo[] = [];
  for (const value of rawStreams) {
    const info = readStreamInfo(value);
    if (info === undefined) throw fail();
    streams.push(info);
  }
  return [FrameType.HISTORY_PAGE, id, entries, streams, last];
}

/** Frame types of recovery. */
export type RecoveryFrameType =
  | typeof FrameType.SUBSCRIBE_SINCE
  | typeof FrameType.RECOVER
  | typeof FrameType.HISTORY_REQUEST
  | typeof FrameType.HISTORY_PAGE;

/** The reader of each recovery frame type. */
export const recoveryReaders: ReaderTable<RecoveryFrameType> = {
  [FrameType.SUBSCRIBE_SINCE]: readSubscribeSince,
  [FrameType.RECOVER]: readRecover,
  [FrameType.HISTORY_REQUEST]: readHistoryRequest,
  [FrameType.HISTORY_PAGE]: readHistoryPage,
};
