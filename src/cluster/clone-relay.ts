/**
 * Group traffic between clones. A published message goes only to clones that have
 * subscribers for its target (interest from their records), along the shortest path, one
 * frame per next hop listing the clones it is for. Every clone drops a message it has already
 * seen (per-origin sequence window), so a message is delivered once even while routes change.
 * The group message travels as MessagePack bytes and is forwarded without re-encoding: the
 * frame around it is written by hand (relay-frame.ts).
 * @module
 */
import type { BackplaneMessage } from '../backplane/backplane.js';
import {
  FrameType,
  type CloneGroupDeleteFrame,
  type CloneRelayFrame,
  type GroupTarget,
} from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';
import type { StoredRecord } from './clone-records.js';
import { encodeRelayFrame } from './relay-frame.js';
import type { RouteTable } from './routes.js';
import { SeenWindow } from './seen-window.js';

/** What the relay needs from the clone manager. */
export interface RelayContext {
  readonly selfId: string;
  readonly instance: string;
  readonly links: ReadonlyMap<string, CloneLink>;
  readonly routes: RouteTable;
  records(): Iterable<StoredRecord>;
  /** A message for this clone's subscribers; returns how many got it. */
  deliver(message: BackplaneMessage): number;
  /** Another clone deleted a group. */
  groupDeleted(groupId: string): void;
  /** A relay that asked for acknowledgement was delivered here: tell its publisher `ackTo`. */
  delivered(ackTo: string, seq: number, count: number): void;
}

function interested(groups: Set<string>, target: GroupTarget): boolean {
  if (groups.size === 0) return false;
  if (typeof target === 'string') return groups.has(target);
  if (target === null) return true;
  for (const id of target) if (groups.has(id)) return true;
  return false;
}

const NO_DESTS: readonly string[] = [];

/**
 * Sends one CLONE_RELAY on `link`. A MessagePack link (every clone link) gets the frame's
 * bytes written around the group message (relay-frame.ts), which is not encoded again, unless
 * a name cannot be written that way.
 */
function sendRelay(
  link: CloneLink,
  origin: string,
  seq: number,
  dests: string[] | null,
  target: GroupTarget,
  bytes: Uint8Array,
  ackTo: string | null,
): boolean {
  const encoded = link.connection.codec.binary
    ? encodeRelayFrame(origin, seq, dests, target, bytes, ackTo)
    : undefined;
  if (encoded !== undefined) return link.sendEncoded(FrameType.CLONE_RELAY, encoded);
  const frame: CloneRelayFrame = [FrameType.CLONE_RELAY, origin, seq, dests, target, bytes];
  if (ackTo !== null) frame.push(ackTo);
  return link.send(frame);
}

/** Relays group messages and group deletions across the mesh. */
export class CloneRelay {
  private seq = 0;
  private readonly seen = new SeenWindow();
  /** Sequence number of the last message this clone published. */
  get lastSeq(): number {
    return this.seq;
  }
  /** Messages relayed out and in, for stats. */
  relayedOut = 0;
  relayedIn = 0;
  /** CLONE_RELAY frames sent to and received from each neighbour, since start (for metrics). */
  readonly perPeer = new Map<string, { framesOut: number; framesIn: number }>();

  constructor(private readonly context: RelayContext) {}

  /**
   * Sends a message published on this server to every interested clone. With `ackTo` (this
   * clone's id) each destination acknowledges it, and the clones it went to are returned
   * (its sequence number is then {@link lastSeq}); without, nothing is collected.
   */
  publish(message: BackplaneMessage, ackTo?: string): readonly string[] {
    const { context } = this;
    const none: readonly string[] = NO_DESTS;
    if (context.links.size === 0) return none;
    const byHop = new Map<string, string[]>();
    for (const record of context.records()) {
      if (record.gone || !interested(record.groups, message.target)) continue;
      const hop = context.routes.hop(record.id);
      if (hop === undefined) continue;
      const list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, [record.id]);
      else list.push(record.id);
    }
    if (byHop.size === 0) return none;
    // Read only now: a message no clone wants is never encoded.
    const bytes = message.payload;
    const seq = ++this.seq;
    const dests = this.send(byHop, context.instance, seq, message.target, bytes, ackTo ?? null);
    this.relayedOut++;
    return dests;
  }

  /** Handles a CLONE_RELAY frame. */
  receive(from: CloneLink, frame: CloneRelayFrame): void {
    const [, origin, seq, dests, target, bytes] = frame;
    const ackTo = frame[6] ?? null;
    const { context } = this;
    this.peerCounters(from.peerId).framesIn++;
    if (this.seen.check(origin, seq, Date.now())) return;
    this.relayedIn++;
    if (dests === null || dests.includes(context.selfId)) {
      const count = context.deliver({ target, payload: bytes });
      if (ackTo !== null) context.delivered(ackTo, seq, count);
    }
    if (dests === null) return;
    const byHop = new Map<string, string[]>();
    for (const id of dests) {
      if (id === context.selfId) continue;
      const hop = context.routes.hop(id);
      if (hop === undefined || hop === from.peerId) continue;
      const list = byHop.get(hop);
      if (list === undefined) byHop.set(hop, [id]);
      else list.push(id);
    }
    this.send(byHop, origin, seq, target, bytes, ackTo);
  }

  /** Tells every clone that a group was deleted here. */
  deleteGroup(groupId: string): void {
    const frame: CloneGroupDeleteFrame = [
      FrameType.CLONE_GROUP_DELETE,
      this.context.instance,
      ++this.seq,
      groupId,
    ];
    for (const link of this.context.links.values()) link.send(frame);
  }

  /** Handles a CLONE_GROUP_DELETE frame: delete locally, pass it on. */
  receiveGroupDelete(from: CloneLink, frame: CloneGroupDeleteFrame): void {
    const [, origin, seq, groupId] = frame;
    if (this.seen.check(origin, seq, Date.now())) return;
    this.context.groupDeleted(groupId);
    for (const link of this.context.links.values()) if (link !== from) link.send(frame);
  }

  /** Forgets sequence windows of origins silent since `before`. */
  sweep(before: number): void {
    this.seen.sweep(before);
  }

  private send(
    byHop: Map<string, string[]>,
    origin: string,
    seq: number,
    target: GroupTarget,
    bytes: Uint8Array,
    ackTo: string | null,
  ): readonly string[] {
    // Destinations are collected only for a publisher that waits for them.
    const sent: string[] | undefined = ackTo === null ? undefined : [];
    for (const [hop, ids] of byHop) {
      const link = this.context.links.get(hop);
      if (link === undefined) continue;
      // A clone that is its own next hop is the only destination: no list needed.
      const dests = ids.length === 1 && ids[0] === hop ? null : ids;
      if (!sendRelay(link, origin, seq, dests, target, bytes, ackTo)) continue;
      this.peerCounters(hop).framesOut++;
      sent?.push(...ids);
    }
    return sent ?? NO_DESTS;
  }

  private peerCounters(peerId: string): { framesOut: number; framesIn: number } {
    let counters = this.perPeer.get(peerId);
    if (counters === undefined) {
      counters = { framesOut: 0, framesIn: 0 };
      this.perPeer.set(peerId, counters);
    }
    return counters;
  }
}
