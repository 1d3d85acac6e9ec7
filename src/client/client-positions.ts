/**
 * Where a client stands in each of its groups that keep history: the last sequence it got
 * from each stream, read from the group messages it receives, and the time its membership
 * covers. Sent back to the server after every reconnect so it gets what it missed.
 * @module
 */
import {
  copyPosition,
  isGroupPosition,
  readWirePosition,
  seqsOf,
  type GroupPosition,
} from '../groups/positions.js';
import type { GroupTarget } from '../protocol/frames.js';

/**
 * `mes.position` of a group message, and `since` of `subscribe`: the client's position in
 * each group the message came through, by group id. Opaque and JSON-serialisable: save it
 * and hand it back to `subscribe({ id, since })`.
 */
export type MessagePosition = Record<string, GroupPosition>;

/** The positions of one client, by group id. */
export class ClientPositions {
  private readonly positions = new Map<string, GroupPosition>();

  /** The position to resume `groupId` from, or null (a fresh subscription). */
  get(groupId: string): GroupPosition | null {
    return this.positions.get(groupId) ?? null;
  }

  /** Sets the position of `groupId` (from RECOVER, or `since`). */
  set(groupId: string, position: GroupPosition): void {
    this.positions.set(groupId, copyPosition(position));
  }

  delete(groupId: string): void {
    this.positions.delete(groupId);
  }

  /**
   * Advances the positions a group message numbers (its trailing element); returns the
   * message's `mes.position`, or undefined when it carries none.
   */
  advance(target: GroupTarget, wire: unknown): MessagePosition | undefined {
    const position = readWirePosition(wire);
    if (position === undefined) return undefined;
    const stream = position[0];
    let out: MessagePosition | undefined;
    for (const [groupId, seq] of seqsOf(position, target)) {
      const current = this.positions.get(groupId);
      if (current === undefined) continue;
      if (seq > (current.s[stream] ?? 0)) current.s[stream] = seq;
      out ??= {};
      out[groupId] = copyPosition(current);
    }
    return out;
  }
}

/** Reads `since` of `subscribe({ id, since })`: the position of `id`, or an error message. */
export function sinceFor(since: unknown, id: string): GroupPosition | string {
  if (typeof since !== 'object' || since === null) {
    return 'subscribe: since must be a position (mes.position of a message of the group)';
  }
  const position = Object.hasOwn(since, id) ? (since as Record<string, unknown>)[id] : undefined;
  if (!isGroupPosition(position)) return `subscribe: since holds no position for group "${id}"`;
  return position;
}
