/**
 * What the clone layer hears of the local groups (from MeshBackplane). Published messages and
 * group deletions go to the other clones at once. Interest changes (a group gained its first
 * local subscriber or lost its last) are kept as a pending delta until the next record
 * update, so a burst of subscribes in one tick costs the mesh one record version, not one per
 * group.
 * @module
 */
import type { BackplaneMessage } from '../backplane/backplane.js';

/** Where the observer sends what it hears. */
export interface CloneGroupsTarget {
  /** A message published on this server, for the interested clones. */
  publish(message: BackplaneMessage): void;
  /** A group deleted on this server, for every clone. */
  deleteGroup(groupId: string): void;
  /** The interest changed: a record update is due. */
  interestChanged(): void;
}

/** The groups with local subscribers, and how they changed since the last record update. */
export interface Interest {
  /** Groups with at least one subscriber on this server. */
  readonly groups: ReadonlySet<string>;
  /** Number of changes not yet announced. */
  readonly pending: number;
  /** The changes not yet announced, cleared. */
  takeDelta(): { add: string[]; del: string[] };
}

/** Turns local group events into relay calls and record deltas. */
export class CloneGroupsObserver implements Interest {
  private readonly current = new Set<string>();
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();

  constructor(private readonly target: CloneGroupsTarget) {}

  get groups(): ReadonlySet<string> {
    return this.current;
  }

  get pending(): number {
    return this.added.size + this.removed.size;
  }

  takeDelta(): { add: string[]; del: string[] } {
    const delta = { add: [...this.added], del: [...this.removed] };
    this.added.clear();
    this.removed.clear();
    return delta;
  }

  published(message: BackplaneMessage): void {
    this.target.publish(message);
  }

  deleted(groupId: string): void {
    this.target.deleteGroup(groupId);
  }

  interestAdded(groupId: string): void {
    // The server tells its whole interest again at start: only changes count.
    if (this.current.has(groupId)) return;
    this.current.add(groupId);
    // A group removed and added again before the update is no change to announce.
    if (!this.removed.delete(groupId)) this.added.add(groupId);
    this.target.interestChanged();
  }

  interestRemoved(groupId: string): void {
    if (!this.current.delete(groupId)) return;
    if (!this.added.delete(groupId)) this.removed.add(groupId);
    this.target.interestChanged();
  }
}
