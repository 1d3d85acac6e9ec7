/**
 * Node membership from heartbeats: every node announces itself (hello at start, a beat every
 * interval, bye at stop); a node not heard from within the timeout is gone. Engine-agnostic:
 * it only sees decoded announcements.
 * @module
 */
import type { BackplaneNode } from '../backplane/backplane.js';

/** Kinds of announcement. */
export const Announce = { HELLO: 0, BEAT: 1, BYE: 2 } as const;

/** `[kind, id, instance, url, tableVersion]`. */
export type Announcement = [
  kind: number,
  id: string,
  instance: string,
  url: string | null,
  v: number,
];

/** True for a well-formed announcement. */
export function isAnnouncement(value: unknown): value is Announcement {
  return (
    Array.isArray(value) &&
    value.length === 5 &&
    (value[0] === Announce.HELLO || value[0] === Announce.BEAT || value[0] === Announce.BYE) &&
    typeof value[1] === 'string' &&
    typeof value[2] === 'string' &&
    (value[3] === null || typeof value[3] === 'string') &&
    typeof value[4] === 'number'
  );
}

/** A node as the table keeps it. */
export interface NodeEntry extends BackplaneNode {
  lastSeen: number;
  url: string | null;
  /** Version of the node's function table last announced. */
  tableVersion: number;
}

/** What an announcement changed. */
export interface Seen {
  /** The node, when it is (still) known after the announcement. */
  node: NodeEntry | undefined;
  /** A node that is gone: said bye, or was replaced by a new process with the same id. */
  gone: NodeEntry | undefined;
  /** The node is new (or a new process of a known id). */
  joined: boolean;
}

/** The other nodes, by server id. */
export class NodeTable {
  readonly nodes = new Map<string, NodeEntry>();

  constructor(private readonly selfInstance: string) {}

  /** Applies an announcement; ignores this node's own. */
  apply(announcement: Announcement, now: number): Seen {
    const [kind, id, instance, url, tableVersion] = announcement;
    const none: Seen = { node: undefined, gone: undefined, joined: false };
    if (instance === this.selfInstance) return none;
    const known = this.nodes.get(id);
    if (kind === Announce.BYE) {
      if (known === undefined || known.instance !== instance) return none;
      this.nodes.delete(id);
      return { node: undefined, gone: known, joined: false };
    }
    if (known !== undefined && known.instance === instance) {
      known.lastSeen = now;
      known.url = url;
      known.tableVersion = tableVersion;
      return { node: known, gone: undefined, joined: false };
    }
    const node: NodeEntry = { id, instance, url, lastSeen: now, tableVersion };
    this.nodes.set(id, node);
    return { node, gone: known, joined: true };
  }

  /** Removes and returns the nodes not heard from since `now - timeout`. */
  expire(now: number, timeout: number): NodeEntry[] {
    const gone: NodeEntry[] = [];
    for (const node of this.nodes.values()) {
      if (now - node.lastSeen > timeout) gone.push(node);
    }
    for (const node of gone) this.nodes.delete(node.id);
    return gone;
  }
}
