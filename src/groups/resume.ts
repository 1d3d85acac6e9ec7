/**
 * Resuming a subscription from a position. The member joins the group at once, but its live
 * messages for the group are held back (dropped here: every one of them is kept in this
 * node's history before it is fanned out, so the history is the buffer). The coordinator
 * gathers what the member missed from this node's history and the other nodes', delivers it
 * in order and once, and the member goes live. The seam has no gap and no duplicate because
 * the final plan is made from this node's history after the other nodes answered, so it
 * covers every message held back meanwhile.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { FanoutMessage } from './fanout-message.js';
import type { HistoryStore } from './history.js';
import {
  planRecovery,
  readWirePosition,
  seqsOf,
  type GroupPosition,
  type HistoryAnswer,
  type HistoryEntry,
  type RecoveryPlan,
} from './positions.js';
import type { Subscriber } from './subscriber.js';

/** How a node asks the other nodes for history (the clone mesh implements it). */
export interface HistoryPeers {
  /**
   * The history of `groupId` after `since` on every other node it can reach; resolves with
   * the answers that came in time (never rejects).
   */
  fetch(groupId: string, since: GroupPosition): Promise<HistoryAnswer[]>;
}

/** A member that can resume: groups being resumed hold its live messages back. */
export interface ResumeMember extends Subscriber {
  /** @internal Groups being resumed; their live messages are not delivered meanwhile. */
  resuming: ResumeState | undefined;
  /** True while the member's connection is open. */
  readonly open: boolean;
  /** @internal Delivers a message even while it is resuming. */
  deliverNow(message: FanoutMessage): boolean;
  /** Bytes queued for the member and not yet written to the network. */
  readonly bufferedAmount: number;
}

/** What a member is resuming, and the multi-group messages it already got meanwhile. */
export interface ResumeState {
  readonly groups: Set<string>;
  /** Keys of messages to several groups delivered by a recovery, so a second one skips them. */
  readonly delivered: Set<string>;
}

/** The outcome of a subscription with a position. */
export interface ResumeResult {
  /** `true`/`false` after a resume; `null` for a fresh subscription (nothing to recover). */
  readonly recovered: boolean | null;
  /** Where the member stands now. */
  readonly position: GroupPosition;
}

/** True when a live message must wait: its target has a group the member is resuming. */
export function heldBack(state: ResumeState, message: FanoutMessage): boolean {
  const { target } = message;
  if (target === null) return false;
  if (typeof target === 'string') return state.groups.has(target);
  for (const groupId of target) if (state.groups.has(groupId)) return true;
  return false;
}

/** Most resumes running at once on one server; past it a resume reports `recovered: false`. */
export const MAX_RESUMES = 1000;
/**
 * Most resumes of one connection running at once; its others wait their turn, joined and
 * held back like a running one. One connection thus holds at most this many of the server's
 * {@link MAX_RESUMES} slots however many groups it resumes. Its resumes share one socket,
 * and deliver one chunk at a time as the client reads, so more at once would not make a
 * reconnect faster; a few at once keep the other clones' history answers overlapping, so a
 * slow clone (up to 3 s per request) delays a many-group reconnect by that at most per this
 * many groups.
 */
export const MAX_RESUMES_PER_CONNECTION = 8;
/**
 * Bytes of other nodes' history the running resumes hold, at most (a resume to a slow reader
 * holds its plan until delivered). A resume whose answers would pass it recovers from this
 * node's history alone.
 */
export const MAX_REMOTE_HISTORY_BYTES = 64 * 1024 * 1024;
/** Recovered bytes written to a member before waiting for its socket to drain. */
const CHUNK_BYTES = 64 * 1024;
/** A member's queued bytes below which recovery goes on. */
const DRAINED_BYTES = 64 * 1024;
/** Longest a recovery waits for a member that does not read; then it stops short. */
const DRAIN_TIMEOUT = 30_000;

function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `member` has read most of what it was sent (its socket buffer is written one
 * tick later, so the first wait is a tick). False when it closed or never drained.
 */
async function drained(member: ResumeMember): Promise<boolean> {
  const deadline = Date.now() + DRAIN_TIMEOUT;
  await tick(0);
  while (member.open && member.bufferedAmount > DRAINED_BYTES) {
    if (Date.now() > deadline) return false;
    await tick(10);
  }
  return member.open;
}

function answerBytes(answers: readonly HistoryAnswer[]): number {
  let bytes = 0;
  for (const answer of answers) for (const entry of answer.entries) bytes += entry.bytes.byteLength;
  return bytes;
}

/** The resume slots of one connection: how many run, and who waits for one. */
interface MemberSlots {
  running: number;
  readonly waiting: (() => void)[];
}

/** Runs the resumes of one server. */
export class ResumeCoordinator {
  /** Resumes running now. */
  running = 0;
  /** Resumes waiting for a slot of their connection ({@link MAX_RESUMES_PER_CONNECTION}). */
  queued = 0;
  private readonly slots = new Map<ResumeMember, MemberSlots>();
  /** Counters since start: messages recovered, resumes complete and with a gap. */
  messagesRecovered = 0;
  resumesComplete = 0;
  resumesIncomplete = 0;
  /** Bytes of other nodes' history the running resumes hold. */
  remoteBytes = 0;
  /** Most {@link remoteBytes}; settable for tests. @internal */
  maxRemoteBytes = MAX_REMOTE_HISTORY_BYTES;

  constructor(
    private readonly history: HistoryStore,
    private readonly peers: () => HistoryPeers | undefined,
  ) {}

  /**
   * Subscribes `member` to `groupId` through `join` and, with `since`, delivers what it
   * missed first. Resolves once the member is live; undefined when the group keeps no
   * history on this node (a plain subscription, nothing to tell the member).
   */
  async resume(
    member: ResumeMember,
    groupId: string,
    since: GroupPosition | null,
    join: () => void,
  ): Promise<ResumeResult | undefined> {
    const { history } = this;
    const codec = history.codec;
    if (history.configFor(groupId) === undefined || codec === undefined) {
      join();
      return since === null ? undefined : { recovered: false, position: history.heads(groupId) };
    }
    if (since === null || member.groups.has(groupId)) {
      join();
      return { recovered: since === null ? null : true, position: history.heads(groupId) };
    }
    // Joined now, so the limits checked before this call hold, and held back from here on.
    const state = (member.resuming ??= { groups: new Set(), delivered: new Set() });
    state.groups.add(groupId);
    let held = 0;
    let slot = false;
    let counted = false;
    try {
      join();
      await this.slot(member);
      slot = true;
      // It closed or left the group while it waited: nothing to tell it.
      if (!member.open || !member.groups.has(groupId)) return undefined;
      if (this.running >= MAX_RESUMES) {
        this.resumesIncomplete++;
        return { recovered: false, position: history.heads(groupId) };
      }
      this.running++;
      counted = true;
      const peers = this.peers();
      // Ask after this turn: the interest the join created reaches the other nodes first
      // (announced on the same links), so whatever they publish after answering comes live.
      if (peers !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
      let remote = peers === undefined || !member.open ? [] : await peers.fetch(groupId, since);
      if (!member.open) return undefined;
      held = answerBytes(remote);
      const dropped = this.remoteBytes + held > this.maxRemoteBytes;
      if (dropped) {
        remote = [];
        held = 0;
      }
      this.remoteBytes += held;
      // Made now, so it covers every live message held back while the peers answered.
      let plan = planRecovery(since, [history.query(groupId, since), ...remote]);
      // What the other nodes had is unknown: the member cannot be told it missed nothing.
      if (dropped) plan = { ...plan, complete: false };
      const outcome = await this.deliverPlan(member, state, groupId, plan, codec);
      if (outcome === undefined) return undefined;
      const { complete, position, delivered } = outcome;
      this.messagesRecovered += delivered;
      if (complete) this.resumesComplete++;
      else this.resumesIncomplete++;
      return { recovered: complete, position };
    } finally {
      this.remoteBytes -= held;
      if (counted) this.running--;
      if (slot) this.release(member);
      state.groups.delete(groupId);
      if (state.groups.size === 0 && member.resuming === state) member.resuming = undefined;
    }
  }

  /** Resolves once `member` may run one more resume (it then holds one of its slots). */
  private slot(member: ResumeMember): Promise<void> {
    let slots = this.slots.get(member);
    if (slots === undefined) {
      slots = { running: 0, waiting: [] };
      this.slots.set(member, slots);
    }
    if (slots.running < MAX_RESUMES_PER_CONNECTION) {
      slots.running++;
      return Promise.resolve();
    }
    const waiting = slots.waiting;
    this.queued++;
    return new Promise((resolve) => waiting.push(resolve));
  }

  /** A resume of `member` ended: its slot goes to the next one waiting, if any. */
  private release(member: ResumeMember): void {
    const slots = this.slots.get(member);
    if (slots === undefined) return;
    const next = slots.waiting.shift();
    if (next !== undefined) {
      this.queued--;
      next();
      return;
    }
    slots.running--;
    if (slots.running === 0) this.slots.delete(member);
  }

  /**
   * Delivers a plan in chunks, waiting for the member to read each: a long history must not
   * overflow its outbound buffer (which would close it as a slow consumer). Live messages
   * wait in history meanwhile and are delivered after the plan, the same way. Undefined when
   * the member closed or left the group.
   */
  private async deliverPlan(
    member: ResumeMember,
    state: ResumeState,
    groupId: string,
    plan: RecoveryPlan,
    codec: Codec,
  ): Promise<{ complete: boolean; position: GroupPosition; delivered: number } | undefined> {
    const { history } = this;
    let { complete, position, entries } = plan;
    let delivered = 0;
    while (entries.length > 0) {
      let waited = false;
      let chunk = 0;
      for (const entry of entries) {
        this.deliver(member, state, entry, codec);
        delivered++;
        chunk += entry.bytes.byteLength;
        if (chunk < CHUNK_BYTES) continue;
        chunk = 0;
        waited = true;
        const read = await drained(member);
        // It left the group (or closed) meanwhile: the rest of its history is not its business.
        if (!member.open || !member.groups.has(groupId)) return undefined;
        if (read) continue;
        // It does not read: live from here on, and told it missed something.
        return { complete: false, position: history.heads(groupId), delivered };
      }
      // Without a wait nothing could arrive meanwhile; else deliver what came live since.
      if (!waited) break;
      const more = planRecovery(position, [history.query(groupId, position)]);
      complete &&= more.complete;
      ({ position, entries } = more);
    }
    return { complete, position, delivered };
  }

  private deliver(
    member: ResumeMember,
    state: ResumeState,
    entry: HistoryEntry,
    codec: Codec,
  ): void {
    const message = FanoutMessage.fromEncoded(entry.target, codec, entry.bytes);
    if (typeof entry.target !== 'string' && entry.target !== null) {
      // One copy per member, even when two of its groups recover the same message.
      const position = readWirePosition(message.frame[5]);
      if (position !== undefined) {
        const key = `${position[0]}|${JSON.stringify(seqsOf(position, entry.target))}`;
        if (state.delivered.has(key)) return;
        state.delivered.add(key);
      }
    }
    member.deliverNow(message);
  }
}
