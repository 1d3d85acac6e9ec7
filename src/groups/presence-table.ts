/**
 * Presence: who is in a group across the cluster. Each node owns the members that subscribed
 * on it with `presence: true` (its local entries) and keeps, for the groups it has
 * subscribers in, a copy of the other nodes' entries, which the cluster layer feeds
 * (snapshots when this node's interest is acknowledged, changes as they happen, a node's
 * entries dropped when it dies). Members that asked are told of joins and leaves.
 * No sockets and no timers: the cluster layer carries the changes.
 * @module
 */
import { LimitError } from '../errors.js';
import type { PresenceEntry } from '../protocol/frames.js';

export type { PresenceEntry } from '../protocol/frames.js';

/** A member of a group's presence, as `presence()` lists it. */
export interface PresenceMember {
  /** The member's client id (its `Client` id, from HELLO). */
  clientId: string;
  /** What the member attached (its client `data`). */
  data: unknown;
  /** Id of the node the member is connected to. */
  node: string;
}

/** A local member that listens to joins and leaves of its groups. */
export interface PresenceListener {
  /** Its key (connection id): a member is not told of its own join or leave. */
  readonly id: string;
  /** A member joined (`joined`) or left the presence of `groupId`. */
  presenceEvent(groupId: string, joined: boolean, member: PresenceMember): void;
}

/** Where local changes go (the cluster layer), and what decides whether views are kept. */
export interface PresenceHooks {
  /** This node's id, the `node` of local members. */
  readonly selfId: string;
  /** Most members listed in one group, cluster-wide. */
  readonly maxMembers: number;
  /** True while this node has subscribers in `groupId` (only then are remote entries kept). */
  hasInterest(groupId: string): boolean;
  /** Local members joined or left `groupId`: the other nodes must hear it. */
  localChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void;
  /** A listener threw. */
  reportError(error: unknown): void;
}

/** The presence of one group on this node. */
class GroupPresence {
  readonly local = new Map<string, PresenceEntry>();
  /** Entries of other nodes, by node id, then key. */
  readonly remote = new Map<string, Map<string, PresenceEntry>>();
  readonly listeners = new Map<string, PresenceListener>();
  remoteCount = 0;

  get size(): number {
    return this.local.size + this.remoteCount;
  }

  get empty(): boolean {
    return this.size === 0 && this.listeners.size === 0;
  }
}

function member(entry: PresenceEntry, node: string): PresenceMember {
  return { clientId: entry[1], data: entry[2] ?? null, node };
}

/** The presence of every group on this node. */
export class PresenceTable {
  private readonly groups = new Map<string, GroupPresence>();

  /** @internal */
  constructor(private readonly hooks: PresenceHooks) {}

  /** Number of groups with presence state on this node. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * Lists a local member in `groupId` (and makes it a listener when `listener` is given).
   * Throws `LimitError` when the group's presence holds `maxMembers` already.
   */
  join(
    groupId: string,
    key: string,
    clientId: string,
    data: unknown,
    listener: PresenceListener | undefined,
  ): void {
    const group = this.group(groupId);
    if (!group.local.has(key) && group.size >= this.hooks.maxMembers) {
      if (group.empty) this.groups.delete(groupId);
      throw new LimitError(
        `The presence of group "${groupId}" is full (${this.hooks.maxMembers} members)`,
        { group: groupId, maxMembers: this.hooks.maxMembers },
      );
    }
    const entry: PresenceEntry = [key, clientId, data === undefined ? null : data];
    group.local.set(key, entry);
    if (listener !== undefined) group.listeners.set(key, listener);
    this.tell(groupId, group, true, member(entry, this.hooks.selfId), key);
    this.hooks.localChanged(groupId, [entry], []);
  }

  /**
   * Local member `listener` hears joins and leaves of `groupId` from now on (once the
   * cluster confirmed its subscription, so the members already there are not announced).
   * Ignored when it is not listed in the group.
   */
  listen(groupId: string, listener: PresenceListener): void {
    const group = this.groups.get(groupId);
    if (group?.local.has(listener.id) === true) group.listeners.set(listener.id, listener);
  }

  /** A local member left `groupId` (unsubscribed or disconnected). */
  leave(groupId: string, key: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    group.listeners.delete(key);
    const entry = group.local.get(key);
    if (entry !== undefined) {
      group.local.delete(key);
      this.tell(groupId, group, false, member(entry, this.hooks.selfId), key);
      this.hooks.localChanged(groupId, [], [key]);
    }
    if (group.empty) this.groups.delete(groupId);
  }

  /**
   * Changes of another node's members. `reset` replaces everything known of that node in the
   * group. Ignored while this node has no subscriber in the group.
   */
  applyRemote(
    node: string,
    groupId: string,
    reset: boolean,
    joins: readonly PresenceEntry[],
    leaves: readonly string[],
  ): void {
    if (node === this.hooks.selfId || !this.hooks.hasInterest(groupId)) return;
    const group = this.group(groupId);
    let entries = group.remote.get(node);
    const before = reset ? entries : undefined;
    if (entries === undefined || reset) {
      entries = new Map();
      group.remote.set(node, entries);
    }
    if (before !== undefined) group.remoteCount -= before.size;
    for (const key of leaves) {
      const entry = entries.get(key);
      if (entry === undefined) continue;
      entries.delete(key);
      group.remoteCount--;
      this.tell(groupId, group, false, member(entry, node), undefined);
    }
    for (const entry of joins) {
      // The cap is cluster-wide: a group never holds more entries than it, whatever other
      // nodes send (more is a misbehaving node, not kept), so its memory stays bounded.
      if (!entries.has(entry[0]) && group.size >= this.hooks.maxMembers) continue;
      const known = before?.get(entry[0]) ?? entries.get(entry[0]);
      before?.delete(entry[0]);
      if (!entries.has(entry[0])) group.remoteCount++;
      entries.set(entry[0], entry);
      if (known === undefined) this.tell(groupId, group, true, member(entry, node), undefined);
    }
    // After a reset, what the snapshot no longer lists has left.
    if (before !== undefined)
      for (const entry of before.values())
        this.tell(groupId, group, false, member(entry, node), undefined);
    if (entries.size === 0) group.remote.delete(node);
    if (group.empty) this.groups.delete(groupId);
  }

  /** Node `node` is gone: its members leave every group. */
  dropNode(node: string): void {
    for (const [groupId, group] of this.groups) {
      const entries = group.remote.get(node);
      if (entries === undefined) continue;
      group.remote.delete(node);
      group.remoteCount -= entries.size;
      for (const entry of entries.values())
        this.tell(groupId, group, false, member(entry, node), undefined);
      if (group.empty) this.groups.delete(groupId);
    }
  }

  /** This node has no subscriber left in `groupId`: the copy of other nodes' entries goes. */
  dropRemote(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    group.remote.clear();
    group.remoteCount = 0;
    if (group.empty) this.groups.delete(groupId);
  }

  /** Every member of `groupId` this node knows of, its own first. */
  list(groupId: string): PresenceMember[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const { selfId } = this.hooks;
    const result = [...group.local.values()].map((entry) => member(entry, selfId));
    for (const [node, entries] of group.remote)
      for (const entry of entries.values()) result.push(member(entry, node));
    return result;
  }

  /** Number of members of `groupId` this node knows of. */
  count(groupId: string): number {
    return this.groups.get(groupId)?.size ?? 0;
  }

  /** True when local member `key` is listed in `groupId`. */
  isLocal(groupId: string, key: string): boolean {
    return this.groups.get(groupId)?.local.has(key) ?? false;
  }

  /** This node's own entries in `groupId`. */
  localEntries(groupId: string): PresenceEntry[] {
    return [...(this.groups.get(groupId)?.local.values() ?? [])];
  }

  /** Entries of other nodes this node keeps, over every group (at most `maxMembers` a group). */
  get remoteEntries(): number {
    let count = 0;
    for (const group of this.groups.values()) count += group.remoteCount;
    return count;
  }

  /** Other nodes with members in this node's copies. */
  nodes(): Set<string> {
    const nodes = new Set<string>();
    for (const group of this.groups.values())
      for (const node of group.remote.keys()) nodes.add(node);
    return nodes;
  }

  /** Groups where this node has members of its own. */
  *localGroups(): IterableIterator<string> {
    for (const [groupId, group] of this.groups) if (group.local.size > 0) yield groupId;
  }

  private group(groupId: string): GroupPresence {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new GroupPresence();
      this.groups.set(groupId, group);
    }
    return group;
  }

  private tell(
    groupId: string,
    group: GroupPresence,
    joined: boolean,
    who: PresenceMember,
    self: string | undefined,
  ): void {
    for (const listener of group.listeners.values()) {
      if (listener.id === self) continue;
      try {
        listener.presenceEvent(groupId, joined, who);
      } catch (error) {
        this.hooks.reportError(error);
      }
    }
  }
}
