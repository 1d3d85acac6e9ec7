/**
 * Positions in a group without a broker. Every node that publishes writes its own stream per
 * group: a message's place in group `g` is `(stream, seq)`, where `stream` names one process
 * of one node (random at start, so a restarted node never repeats a sequence) and `seq`
 * counts that stream's messages to `g` from 1 with no holes. A subscriber's position in `g`
 * is the last `seq` it got from each stream, plus the time `t` (server clock) from which it
 * has been a member, which covers the streams it has not heard from yet.
 *
 * Pure functions only: reading the position a GROUP_MESSAGE carries, checking positions a
 * peer sends, and planning a recovery from the history answers of several nodes.
 * @module
 */
import type { GroupTarget } from '../protocol/frames.js';
import { isName, isWirePosition } from '../protocol/validate.js';

/** Most streams a position may name (a process that published to the group, per restart). */
export const MAX_POSITION_STREAMS = 256;

/** Where a subscriber stands in one group (PROTOCOL.md 2.10). JSON-serialisable. */
export interface GroupPosition {
  /** Last sequence received, per stream. */
  s: Record<string, number>;
  /** Epoch ms (server clock) since which the subscriber has been a member. */
  t: number;
}

/**
 * What a GROUP_MESSAGE carries as its trailing element: `[stream, seq]` for a one-group
 * target, `[stream, {groupId: seq, ...}]` for several target groups.
 */
export type WirePosition = [string, number | Record<string, number>];

/** One kept message of a group's history. */
export interface HistoryEntry {
  /** Stream that published it. */
  readonly stream: string;
  /** Its sequence in this group's stream. */
  readonly seq: number;
  /** Epoch ms when the node that keeps it got it. */
  readonly at: number;
  /** Target as published. */
  readonly target: GroupTarget;
  /** The GROUP_MESSAGE frame, MessagePack-encoded (position included). */
  readonly bytes: Uint8Array;
}

/** What one node knows of one stream in one group. */
export interface StreamInfo {
  readonly stream: string;
  /** Highest sequence seen. */
  readonly head: number;
  /** Highest sequence it kept and has dropped (size or ttl), 0 if none. */
  readonly evictedSeq: number;
  /** When the newest dropped entry had arrived (epoch ms), 0 if none. */
  readonly evictedAt: number;
  /** Highest sequence it holds or held that arrived at or before the query's `t`, 0 if none. */
  readonly floor: number;
}

/** One node's answer to a history query: the entries after a position, and what it knows. */
export interface HistoryAnswer {
  readonly entries: readonly HistoryEntry[];
  readonly streams: readonly StreamInfo[];
}

/** The outcome of a recovery: what to deliver, in order, and the position after it. */
export interface RecoveryPlan {
  readonly entries: HistoryEntry[];
  /** False when a message after the position is missing from every answer. */
  readonly complete: boolean;
  /** The position once `entries` are delivered. */
  readonly position: GroupPosition;
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** True when `value` is a valid {@link GroupPosition} (at most 256 streams). */
export function isGroupPosition(value: unknown): value is GroupPosition {
  return isWirePosition(value);
}

/** A copy of `position` (positions handed to applications must not change under them). */
export function copyPosition(position: GroupPosition): GroupPosition {
  return { s: { ...position.s }, t: position.t };
}

/** Reads the trailing position element of a GROUP_MESSAGE, or undefined. */
export function readWirePosition(value: unknown): WirePosition | undefined {
  if (!Array.isArray(value) || value.length < 2 || !isName(value[0])) return undefined;
  const seqs: unknown = value[1];
  if (isSeq(seqs)) return value as WirePosition;
  if (typeof seqs !== 'object' || seqs === null || Array.isArray(seqs)) return undefined;
  for (const seq of Object.values(seqs)) if (!isSeq(seq)) return undefined;
  return value as WirePosition;
}

/** The sequence a wire position gives the message in `groupId`, or undefined. */
export function seqIn(
  position: WirePosition,
  target: GroupTarget,
  groupId: string,
): number | undefined {
  const seqs = position[1];
  if (typeof seqs === 'number') return target === groupId ? seqs : undefined;
  return Object.hasOwn(seqs, groupId) ? seqs[groupId] : undefined;
}

/** The groups a wire position numbers, with their sequences. */
export function seqsOf(position: WirePosition, target: GroupTarget): [string, number][] {
  const seqs = position[1];
  if (typeof seqs === 'number') return typeof target === 'string' ? [[target, seqs]] : [];
  return Object.entries(seqs);
}

/** Whether `entry` comes after `since` (newer than the position in its stream, or than `t`). */
export function isAfter(
  entry: Pick<HistoryEntry, 'stream' | 'seq' | 'at'>,
  since: GroupPosition,
): boolean {
  const last = Object.hasOwn(since.s, entry.stream) ? since.s[entry.stream] : undefined;
  return last === undefined ? entry.at > since.t : entry.seq > last;
}

interface StreamPlan {
  entries: Map<number, HistoryEntry>;
  head: number;
  floor: number;
  evictedAfterT: boolean;
}

/**
 * Merges the answers of several nodes (this one included) into the messages a subscriber at
 * `since` missed, each once, in order per stream, streams interleaved by arrival time.
 * Complete means: for every stream the subscriber knew, every sequence after its position up
 * to the highest any node saw is there; for a stream it had not heard from, the first message
 * after `t` follows one known to be older than `t`, and nothing newer than `t` was dropped.
 */
export function planRecovery(
  since: GroupPosition,
  answers: readonly HistoryAnswer[],
): RecoveryPlan {
  const streams = new Map<string, StreamPlan>();
  const streamOf = (id: string): StreamPlan => {
    let plan = streams.get(id);
    if (plan === undefined) {
      plan = { entries: new Map(), head: 0, floor: 0, evictedAfterT: false };
      streams.set(id, plan);
    }
    return plan;
  };
  for (const answer of answers) {
    for (const info of answer.streams) {
      const plan = streamOf(info.stream);
      plan.head = Math.max(plan.head, info.head);
      plan.floor = Math.max(plan.floor, info.floor);
      if (info.evictedAt > since.t) plan.evictedAfterT = true;
    }
    for (const entry of answer.entries) {
      if (!isAfter(entry, since)) continue;
      const plan = streamOf(entry.stream);
      plan.head = Math.max(plan.head, entry.seq);
      // The earliest stamp is the nearest to the publish time (the origin's own).
      const held = plan.entries.get(entry.seq);
      if (held === undefined || entry.at < held.at) plan.entries.set(entry.seq, entry);
    }
  }
  let complete = true;
  const position: GroupPosition = { s: { ...since.s }, t: since.t };
  const queues: HistoryEntry[][] = [];
  for (const [stream, plan] of streams) {
    const known = Object.hasOwn(since.s, stream) ? since.s[stream] : undefined;
    const seqs = [...plan.entries.keys()].sort((a, b) => a - b);
    let expected: number;
    if (known !== undefined) expected = known + 1;
    else if (seqs.length === 0) expected = plan.floor + 1;
    else {
      expected = seqs[0] as number;
      // The message before the first one recovered must be known to predate `t`.
      if (expected > 1 && plan.floor < expected - 1) complete = false;
      if (plan.evictedAfterT) complete = false;
    }
    if (known === undefined && seqs.length === 0 && plan.evictedAfterT) complete = false;
    const queue: HistoryEntry[] = [];
    for (const seq of seqs) {
      if (seq !== expected) complete = false;
      queue.push(plan.entries.get(seq) as HistoryEntry);
      expected = seq + 1;
    }
    if (plan.head >= expected) complete = false;
    if (queue.length > 0) queues.push(queue);
    const last = Math.max(known ?? 0, plan.head);
    if (last > 0) position.s[stream] = last;
  }
  return { entries: mergeByArrival(queues), complete, position: capStreams(position, streams) };
}

/** Interleaves per-stream queues (each in sequence order) by arrival time. */
function mergeByArrival(queues: HistoryEntry[][]): HistoryEntry[] {
  if (queues.length === 1) return queues[0] as HistoryEntry[];
  const out: HistoryEntry[] = [];
  const heads = queues.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < queues.length; i++) {
      const entry = (queues[i] as HistoryEntry[])[heads[i] as number];
      if (entry === undefined) continue;
      const current =
        best < 0 ? undefined : (queues[best] as HistoryEntry[])[heads[best] as number];
      if (current === undefined || entry.at < current.at) best = i;
    }
    if (best < 0) return out;
    out.push((queues[best] as HistoryEntry[])[heads[best] as number] as HistoryEntry);
    heads[best] = (heads[best] as number) + 1;
  }
}

/**
 * Keeps a position within {@link MAX_POSITION_STREAMS}: streams no node knows any more go
 * first (nothing of theirs can be recovered, so forgetting them changes nothing).
 */
function capStreams(position: GroupPosition, known: ReadonlyMap<string, unknown>): GroupPosition {
  const ids = Object.keys(position.s);
  if (ids.length <= MAX_POSITION_STREAMS) return position;
  const kept: Record<string, number> = {};
  const ordered = [...ids.filter((id) => known.has(id)), ...ids.filter((id) => !known.has(id))];
  for (const id of ordered.slice(0, MAX_POSITION_STREAMS)) kept[id] = position.s[id] as number;
  return { s: kept, t: position.t };
}
