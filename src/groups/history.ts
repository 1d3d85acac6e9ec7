/**
 * The history one node keeps per group: the last `size` messages for `ttl` ms, of what it
 * published and of what it received for its subscribers, with what it knows of each stream
 * (highest sequence, what it dropped). It numbers the messages this node publishes (its own
 * stream) and answers history queries, its own and other nodes'.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import type { GroupTarget } from '../protocol/frames.js';
import type { FanoutMessage } from './fanout-message.js';
import {
  isAfter,
  readWirePosition,
  seqsOf,
  type GroupPosition,
  type HistoryAnswer,
  type HistoryEntry,
  type StreamInfo,
  type WirePosition,
} from './positions.js';

/** History settings of a group (server option `history`, `groups.add({history})`). */
export interface HistoryOptions {
  /** Messages kept per group (0 = no history). */
  size: number;
  /**
   * How long a message is kept, in ms.
   * @default 300000
   */
  ttl?: number | undefined;
}

/** Resolved history settings. */
export interface HistoryConfig {
  readonly size: number;
  readonly ttl: number;
}

/** Default `ttl` of history: five minutes. */
export const DEFAULT_HISTORY_TTL = 300_000;
/** Groups whose streams a node remembers; past it the least recently used is forgotten. */
export const MAX_HISTORY_GROUPS = 10_000;
/** Streams remembered per group; past it the oldest is forgotten. */
export const MAX_GROUP_STREAMS = 256;

interface StreamState {
  head: number;
  evictedSeq: number;
  evictedAt: number;
  /** Sequences held, to drop a copy that arrives twice (relay and heal). */
  held: Set<number>;
}

/** The kept messages and stream states of one group. */
class GroupLog {
  readonly entries: HistoryEntry[] = [];
  /** Index of the oldest live entry in `entries` (dropped entries are cut in batches). */
  start = 0;
  readonly streams = new Map<string, StreamState>();

  /** The state of stream `id`, made if new; `own` (this node's stream) is never forgotten. */
  stream(id: string, own: string): StreamState {
    let state = this.streams.get(id);
    if (state === undefined) {
      if (this.streams.size >= MAX_GROUP_STREAMS) {
        // The oldest other stream goes: its counters must never restart.
        for (const key of this.streams.keys()) {
          if (key === own) continue;
          this.streams.delete(key);
          break;
        }
      }
      state = { head: 0, evictedSeq: 0, evictedAt: 0, held: new Set() };
      this.streams.set(id, state);
    }
    return state;
  }

  get length(): number {
    return this.entries.length - this.start;
  }

  /** Drops entries past `size` or older than `ttl`. */
  trim(config: HistoryConfig, now: number): void {
    const oldest = now - config.ttl;
    while (this.length > 0) {
      const entry = this.entries[this.start] as HistoryEntry;
      if (this.length <= config.size && entry.at >= oldest) break;
      this.start++;
      const state = this.streams.get(entry.stream);
      if (state !== undefined) {
        state.held.delete(entry.seq);
        if (entry.seq > state.evictedSeq) state.evictedSeq = entry.seq;
        if (entry.at > state.evictedAt) state.evictedAt = entry.at;
      }
    }
    // Cut the dropped prefix once it is as long as what is left (amortised O(1)).
    if (this.start > 32 && this.start >= this.length) {
      this.entries.splice(0, this.start);
      this.start = 0;
    }
  }
}

/** Checks history options; returns the resolved config, or throws a message for `what`. */
export function resolveHistory(value: unknown, what: string): HistoryConfig | string {
  if (typeof value !== 'object' || value === null) return `${what} must be an object`;
  const { size, ttl, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `${what}: unknown option ${unknown[0] as string}`;
  if (!Number.isSafeInteger(size) || (size as number) < 0 || (size as number) > 1_000_000) {
    return `${what}.size must be an integer from 0 to 1000000`;
  }
  if (
    ttl !== undefined &&
    (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > 2 ** 31 - 1)
  ) {
    return `${what}.ttl must be a positive number of ms`;
  }
  return { size: size as number, ttl: (ttl as number | undefined) ?? DEFAULT_HISTORY_TTL };
}

function randomStreamId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  let text = '';
  for (const byte of bytes) text += byte.toString(36).padStart(2, '0');
  return text;
}

/** The history of every group on one node. */
export class HistoryStore {
  private readonly logs = new Map<string, GroupLog>();
  private readonly overrides = new Map<string, HistoryConfig>();
  private generation = 0;
  private readonly base = randomStreamId();
  /** This node's own stream id (changes if its per-group counters had to be forgotten). */
  stream = `${this.base}0`;
  /** Messages kept now, over all groups. */
  size = 0;
  /**
   * Told when a message from another node skips sequences of its stream (some were lost on
   * the way, e.g. in flight on a link that broke): `after` is the last one held, `before` the
   * one that arrived.
   */
  onGap: ((groupId: string, stream: string, after: number, before: number) => void) | undefined;
  /**
   * Groups whose messages from other nodes are kept but not delivered yet: a healing link
   * is fetching what came before them (count of heals per group).
   */
  private readonly holds = new Map<string, number>();
  /**
   * MessagePack, set when the server starts: history keeps GROUP_MESSAGE frames in the
   * encoding clone links carry. Nothing is numbered before.
   */
  codec: Codec | undefined;

  constructor(
    /** Settings of every group without its own (`history` server option), or none. */
    private readonly defaults: HistoryConfig | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when no group can have history (the hot path skips everything). */
  get off(): boolean {
    return this.defaults === undefined && this.overrides.size === 0;
  }

  /** Sets (or clears, with undefined) the history settings of one group. */
  configure(groupId: string, config: HistoryConfig | undefined): void {
    if (config === undefined) this.overrides.delete(groupId);
    else this.overrides.set(groupId, config);
  }

  /** The settings that apply to `groupId`, or undefined when it keeps no history. */
  configFor(groupId: string): HistoryConfig | undefined {
    const config = this.overrides.get(groupId) ?? this.defaults;
    return config === undefined || config.size === 0 ? undefined : config;
  }

  /**
   * Numbers a message this node publishes: one sequence per target group with history.
   * Undefined when none has history (broadcasts, `target` null, never do).
   */
  stamp(target: GroupTarget): WirePosition | undefined {
    if (target === null || this.codec === undefined) return undefined;
    if (typeof target === 'string') {
      if (this.configFor(target) === undefined) return undefined;
      return [this.stream, this.log(target).stream(this.stream, this.stream).head + 1];
    }
    let seqs: Record<string, number> | undefined;
    for (const groupId of target) {
      if (this.configFor(groupId) === undefined || (seqs !== undefined && groupId in seqs))
        continue;
      seqs ??= {};
      seqs[groupId] = this.log(groupId).stream(this.stream, this.stream).head + 1;
    }
    return seqs === undefined ? undefined : [this.stream, seqs];
  }

  /**
   * Keeps a message (published here, relayed, or fetched) under each numbered group.
   * Returns false when every one of them already held it: a copy to drop.
   */
  record(
    groups: readonly [string, number][],
    stream: string,
    target: GroupTarget,
    bytes: Uint8Array,
  ): boolean {
    const at = this.now();
    let fresh = false;
    for (const [groupId, seq] of groups) {
      const config = this.configFor(groupId);
      if (config === undefined) {
        fresh = true;
        continue;
      }
      const log = this.log(groupId);
      const state = log.stream(stream, this.stream);
      if (state.held.has(seq) || (seq <= state.evictedSeq && seq <= state.head)) continue;
      fresh = true;
      if (state.head > 0 && seq > state.head + 1 && stream !== this.stream)
        this.onGap?.(groupId, stream, state.head, seq);
      if (seq > state.head) state.head = seq;
      state.held.add(seq);
      log.entries.push({ stream, seq, at, target, bytes });
      const before = log.length;
      log.trim(config, at);
      this.size += 1 - (before - log.length);
    }
    return fresh;
  }

  /** Keeps a message this node published with `position` (from {@link stamp}). */
  keepPublished(message: FanoutMessage, position: WirePosition): void {
    const codec = this.codec as Codec;
    // A copy from Node's small-buffer pool: the encoder's bytes may share a large buffer that
    // history must not pin, and a pooled copy costs less than an ArrayBuffer of its own.
    const bytes = Buffer.from(message.encode(codec) as Uint8Array);
    this.record(seqsOf(position, message.target), position[0], message.target, bytes);
  }

  /**
   * Keeps a message that came from another node, when one of its groups has history here.
   * Returns false for a copy already kept (to drop, not deliver).
   */
  keepReceived(message: FanoutMessage): boolean {
    const { codec } = this;
    const { target } = message;
    if (codec === undefined || target === null) return true;
    if (typeof target === 'string') {
      if (this.configFor(target) === undefined) return true;
    } else if (!target.some((groupId) => this.configFor(groupId) !== undefined)) return true;
    const position = readWirePosition(message.frame[5]);
    if (position === undefined) return true;
    // A copy, not a view into the frame (or batch) it came in, which history must not pin.
    const bytes = Buffer.from(message.encode(codec) as Uint8Array);
    return this.record(seqsOf(position, target), position[0], target, bytes);
  }

  /** Holds back messages from other nodes for `groupId` until {@link release}. */
  hold(groupId: string): void {
    this.holds.set(groupId, (this.holds.get(groupId) ?? 0) + 1);
  }

  release(groupId: string): void {
    const count = (this.holds.get(groupId) ?? 0) - 1;
    if (count > 0) this.holds.set(groupId, count);
    else this.holds.delete(groupId);
  }

  /** True when a message to `target` from another node must wait for a heal. */
  held(target: GroupTarget): boolean {
    if (this.holds.size === 0 || target === null) return false;
    if (typeof target === 'string') return this.holds.has(target);
    return target.some((groupId) => this.holds.has(groupId));
  }

  /** The entries of `groupId` after `since`, with what this node knows of each stream. */
  query(groupId: string, since: GroupPosition): HistoryAnswer {
    const log = this.logs.get(groupId);
    if (log === undefined) return { entries: [], streams: [] };
    const config = this.configFor(groupId);
    if (config !== undefined) this.trimLog(log, config);
    const entries: HistoryEntry[] = [];
    const floors = new Map<string, number>();
    for (let i = log.start; i < log.entries.length; i++) {
      const entry = log.entries[i] as HistoryEntry;
      if (isAfter(entry, since)) entries.push(entry);
      else if (entry.at <= since.t && entry.seq > (floors.get(entry.stream) ?? 0))
        floors.set(entry.stream, entry.seq);
    }
    const streams: StreamInfo[] = [];
    for (const [stream, state] of log.streams) {
      let floor = floors.get(stream) ?? 0;
      if (state.evictedAt <= since.t && state.evictedSeq > floor) floor = state.evictedSeq;
      // Nothing newer than `t` here and nothing dropped after it: the head is older.
      if (state.evictedAt <= since.t && !entries.some((entry) => entry.stream === stream)) {
        floor = Math.max(floor, state.head);
      }
      streams.push({
        stream,
        head: state.head,
        evictedSeq: state.evictedSeq,
        evictedAt: state.evictedAt,
        floor,
      });
    }
    return { entries, streams };
  }

  /** Where this node stands in `groupId`: the highest sequence of each stream, and `t` = now. */
  heads(groupId: string): GroupPosition {
    const s: Record<string, number> = {};
    const log = this.logs.get(groupId);
    if (log !== undefined) for (const [stream, state] of log.streams) s[stream] = state.head;
    return { s, t: this.now() };
  }

  /** Drops expired entries everywhere, and forgets groups with no history left to serve. */
  sweep(): void {
    for (const [groupId, log] of this.logs) {
      const config = this.configFor(groupId);
      if (config === undefined) {
        this.size -= log.length;
        this.logs.delete(groupId);
        continue;
      }
      this.trimLog(log, config);
    }
  }

  /** Forgets a deleted group. */
  forget(groupId: string): void {
    const log = this.logs.get(groupId);
    if (log !== undefined) this.size -= log.length;
    this.logs.delete(groupId);
    this.overrides.delete(groupId);
  }

  private trimLog(log: GroupLog, config: HistoryConfig): void {
    const before = log.length;
    log.trim(config, this.now());
    this.size -= before - log.length;
  }

  private log(groupId: string): GroupLog {
    let log = this.logs.get(groupId);
    if (log !== undefined) return log;
    if (this.logs.size >= MAX_HISTORY_GROUPS) {
      const oldest = this.logs.keys().next().value as string;
      const dropped = this.logs.get(oldest) as GroupLog;
      this.size -= dropped.length;
      this.logs.delete(oldest);
      // Its counters are gone: a new stream id, so no sequence is ever used twice.
      if (dropped.streams.has(this.stream)) this.stream = `${this.base}${++this.generation}`;
    }
    log = new GroupLog();
    this.logs.set(groupId, log);
    return log;
  }
}
