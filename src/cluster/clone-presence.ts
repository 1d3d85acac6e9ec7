/**
 * Presence over the clone mesh. A clone sends its own members' changes in a group to every
 * clone whose record lists the group; when it applies a record that gives a clone a group it
 * has members in (or meets a clone again after losing every path to it), it sends that clone
 * a snapshot first, then its CLONE_ACK, so a subscription resolves with the presence
 * complete. A clone that can no longer be reached, or restarted, loses its members.
 * @module
 */
import type { PresenceMember, PresenceTable } from '../groups/presence-table.js';
import {
  FrameType,
  type ClonePresenceFetchFrame,
  type ClonePresenceFrame,
  type PresenceEntry,
} from '../protocol/frames.js';
import { LOOP_BURST, LOOP_RATE, LoopGuard, type AddressedFrames } from './addressed.js';
import type { StoredRecord } from './clone-records.js';

/** What mesh presence reads from the clone manager. */
export interface ClonePresenceContext {
  readonly selfId: string;
  readonly frames: AddressedFrames;
  /** The server's presence table, when presence is on. */
  readonly table: PresenceTable | undefined;
  /** Records of the other clones. */
  records(): Iterable<StoredRecord>;
  record(id: string): StoredRecord | undefined;
}

interface Fetch {
  readonly groupId: string;
  readonly waiting: Set<string>;
  readonly members: PresenceMember[];
  resolve(members: PresenceMember[]): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` when its frames went out. */
  readonly started: number;
}

/**
 * Least time between two fetches of one group: the rate at which every clone passes and
 * answers identical frames (see {@link LoopGuard}), so this clone's fetches are never dropped
 * on the way or left unanswered for being too frequent.
 */
const FETCH_INTERVAL = 1000 / LOOP_RATE;
/**
 * Frames of changes of one group sent at once, and a second after that: half the rate at
 * which clones pass identical frames, so that even bunched up on the way they pass. A member
 * that joins and leaves over and over makes identical frames; sent faster, some would be
 * dropped on the way, its last change among them.
 */
const CHANGE_BURST = LOOP_BURST / 2;
const CHANGE_RATE = LOOP_RATE / 2;

/** Changes of one group's local members held back until its interval ends (net changes). */
interface HeldChanges {
  readonly joins: Map<string, PresenceEntry>;
  readonly leaves: Set<string>;
}

/** This clone's side of presence on the mesh. */
export class ClonePresence {
  private reachable = new Set<string>();
  private readonly fetches = new Set<Fetch>();
  /**
   * The fetch running per group: concurrent queries share it (one frame per clone, not N), and
   * so do queries up to {@link FETCH_INTERVAL} after it started.
   */
  private readonly running = new Map<string, Promise<PresenceMember[]>>();
  /** Fetches that ended before their interval did, kept for sharing until it does. */
  private readonly lingering = new Map<string, ReturnType<typeof setTimeout>>();
  /** Frames of changes sent per group ({@link CHANGE_BURST}, {@link CHANGE_RATE}). */
  private readonly changes = new LoopGuard(() => performance.now(), CHANGE_BURST, CHANGE_RATE);
  /** Changes held back per group (past its pace), merged, and when they go out. */
  private readonly held = new Map<
    string,
    { changes: HeldChanges; timer: ReturnType<typeof setTimeout> }
  >();
  /**
   * Paces answers to identical fetches (same clone, same group): a fetch of a few bytes asks
   * for up to the group's whole presence, so fetches repeated faster than any query needs
   * (a clone's concurrent queries share one) would make this clone a traffic amplifier.
   */
  readonly answers = new LoopGuard();

  constructor(private readonly context: ClonePresenceContext) {}

  /**
   * Local members of `groupId` changed: every clone with subscribers in it hears. Past the
   * group's pace ({@link CHANGE_BURST} frames, then {@link CHANGE_RATE} a second) changes are
   * held back, merged into the net change (a member that joined and left meanwhile is sent as
   * left), and go out together when the pace allows. Changes applied twice do nothing, so a
   * snapshot sent meanwhile needs no care.
   */
  localChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    let held = this.held.get(groupId);
    if (held === undefined) {
      if (this.changes.take(groupId)) {
        this.sendChanges(groupId, joins, leaves);
        return;
      }
      const waiting: HeldChanges = { joins: new Map(), leaves: new Set() };
      const timer = setTimeout(() => {
        this.held.delete(groupId);
        // A token came meanwhile (the bucket was below one, and one interval passed).
        this.changes.take(groupId);
        this.sendChanges(groupId, [...waiting.joins.values()], [...waiting.leaves]);
      }, 1000 / CHANGE_RATE);
      timer.unref?.();
      held = { changes: waiting, timer };
      this.held.set(groupId, held);
    }
    const { changes } = held;
    for (const key of leaves) {
      changes.joins.delete(key);
      changes.leaves.add(key);
    }
    for (const entry of joins) {
      changes.leaves.delete(entry[0]);
      changes.joins.set(entry[0], entry);
    }
  }

  private sendChanges(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    const { context } = this;
    for (const record of context.records()) {
      if (record.gone || !record.groups.has(groupId)) continue;
      context.frames.send(this.frame(record.id, groupId, false, joins, leaves));
    }
  }

  /**
   * This clone applied a record of clone `id` that lists `groups` (the groups it gained, or
   * all of them); `renewed` when it is a new process of that id.
   */
  recordApplied(
    id: string,
    groups: readonly string[] | ReadonlySet<string>,
    renewed: boolean,
  ): void {
    const table = this.context.table;
    if (table === undefined) return;
    if (renewed) table.dropNode(id);
    const gained: ReadonlySet<string> = Array.isArray(groups)
      ? new Set(groups)
      : (groups as ReadonlySet<string>);
    this.snapshots(id, (groupId) => gained.has(groupId));
  }

  /** Links or records changed: clones out of reach lose their members, returning ones hear ours. */
  topologyChanged(): void {
    const { context } = this;
    const table = context.table;
    const now = new Set<string>();
    for (const record of context.records())
      if (!record.gone && context.frames.reachable(record.id)) now.add(record.id);
    if (table !== undefined) {
      for (const node of table.nodes()) if (!now.has(node)) table.dropNode(node);
      for (const id of now) {
        if (this.reachable.has(id)) continue;
        const record = context.record(id);
        if (record !== undefined) this.snapshots(id, (groupId) => record.groups.has(groupId));
      }
    }
    this.reachable = now;
    for (const fetch of this.fetches) {
      for (const id of fetch.waiting) if (!now.has(id)) fetch.waiting.delete(id);
      this.settle(fetch);
    }
  }

  /** A CLONE_PRESENCE for this clone. */
  receive(frame: ClonePresenceFrame): void {
    const [, from, , groupId, reset, joins, leaves] = frame;
    this.context.table?.applyRemote(from, groupId, reset, joins, leaves);
    if (!reset) return;
    for (const fetch of this.fetches) {
      if (fetch.groupId !== groupId || !fetch.waiting.delete(from)) continue;
      for (const entry of joins)
        fetch.members.push({ clientId: entry[1], data: entry[2] ?? null, node: from });
      this.settle(fetch);
    }
  }

  /** A CLONE_PRESENCE_FETCH for this clone: the answer is a snapshot of its members. */
  receiveFetch(frame: ClonePresenceFetchFrame): void {
    if (!this.answers.pass(frame)) return;
    const [, from, , groupId] = frame;
    const entries = this.context.table?.localEntries(groupId) ?? [];
    this.context.frames.send(this.frame(from, groupId, true, entries, []));
  }

  /**
   * The presence of a group this clone has no subscriber in: asked of every clone whose
   * record lists it; after `timeout` ms, what came.
   */
  fetch(groupId: string, timeout: number): Promise<PresenceMember[]> {
    const shared = this.running.get(groupId);
    if (shared !== undefined) return shared.then((members) => [...members]);
    const { context } = this;
    const waiting = new Set<string>();
    for (const record of context.records()) {
      if (record.gone || !record.groups.has(groupId)) continue;
      const frame: ClonePresenceFetchFrame = [
        FrameType.CLONE_PRESENCE_FETCH,
        context.selfId,
        record.id,
        groupId,
      ];
      if (context.frames.send(frame)) waiting.add(record.id);
    }
    if (waiting.size === 0) return Promise.resolve([]);
    const promise = new Promise<PresenceMember[]>((resolve) => {
      const fetch: Fetch = {
        groupId,
        waiting,
        members: [],
        resolve,
        timer: undefined,
        started: performance.now(),
      };
      fetch.timer = setTimeout(() => this.finish(fetch), timeout);
      fetch.timer.unref?.();
      this.fetches.add(fetch);
    });
    this.running.set(groupId, promise);
    return promise;
  }

  /** Ends every query with what it has (the server stops). */
  stop(): void {
    for (const fetch of this.fetches) this.finish(fetch);
    for (const timer of this.lingering.values()) clearTimeout(timer);
    this.lingering.clear();
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
    this.running.clear();
    this.reachable.clear();
  }

  /** Snapshots of this clone's members, for `to`, in the groups `wanted` accepts. */
  private snapshots(to: string, wanted: (groupId: string) => boolean): void {
    const table = this.context.table;
    if (table === undefined) return;
    for (const groupId of table.localGroups()) {
      if (!wanted(groupId)) continue;
      const entries = table.localEntries(groupId);
      this.context.frames.send(this.frame(to, groupId, true, entries, []));
    }
  }

  private frame(
    to: string,
    groupId: string,
    reset: boolean,
    joins: PresenceEntry[],
    leaves: string[],
  ): ClonePresenceFrame {
    return [FrameType.CLONE_PRESENCE, this.context.selfId, to, groupId, reset, joins, leaves];
  }

  private settle(fetch: Fetch): void {
    if (fetch.waiting.size === 0) this.finish(fetch);
  }

  private finish(fetch: Fetch): void {
    if (!this.fetches.delete(fetch)) return;
    if (fetch.timer !== undefined) clearTimeout(fetch.timer);
    fetch.resolve(fetch.members);
    // Queries right after it share its answer: a query loop (however fast) makes at most one
    // fetch per interval, which the other clones pass and answer.
    const { groupId } = fetch;
    const left = fetch.started + FETCH_INTERVAL - performance.now();
    if (left <= 0) {
      this.running.delete(groupId);
      return;
    }
    const timer = setTimeout(() => {
      this.lingering.delete(groupId);
      this.running.delete(groupId);
    }, left);
    timer.unref?.();
    this.lingering.set(groupId, timer);
  }
}
