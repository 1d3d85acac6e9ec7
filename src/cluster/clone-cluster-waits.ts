/**
 * What clones wait for from each other, behind one unit: subscription confirmations
 * (CLONE_ACK), acknowledged publishes (CLONE_DELIVERED) and presence (CLONE_PRESENCE,
 * CLONE_PRESENCE_FETCH), all carried as addressed frames (addressed.ts). The clone manager
 * hands it the frames 50-53, the records it applies and changes of reachability.
 * @module
 */
import type { BackplaneDeliveries } from '../backplane/backplane.js';
import type { PresenceMember, PresenceTable } from '../groups/presence-table.js';
import { FrameType, type Frame, type PresenceEntry } from '../protocol/frames.js';
import { AddressedFrames } from './addressed.js';
import { ackFrame, InterestAcks, PublishAcks } from './clone-acks.js';
import type { CloneLink } from './clone-link.js';
import { ClonePresence } from './clone-presence.js';
import type { StoredRecord } from './clone-records.js';
import type { RouteTable } from './routes.js';

/** What the waits read from the clone manager. */
export interface ClusterWaitsContext {
  readonly selfId: string;
  readonly links: ReadonlyMap<string, CloneLink>;
  readonly routes: RouteTable;
  /** How long a subscription or an acknowledged publish waits, in ms. */
  readonly timeout: number;
  /** The server's presence table, when presence is on. */
  readonly presenceTable: PresenceTable | undefined;
  records(): Iterable<StoredRecord>;
  record(id: string): StoredRecord | undefined;
  /** True for a clone `deleteClone` forgot. */
  isForgotten(id: string): boolean;
  /** Version of this clone's record. */
  ownVersion(): number;
  /** True when an interest change waits for the next record version. */
  interestPending(): boolean;
}

/** What became of addressed frames (50-53) on this clone, since start. */
export interface AddressedStats {
  /** Frames passed on towards another clone. */
  forwarded: number;
  /** Frames dropped because no record gives a path to their `from` (made up, or gone). */
  unknownOrigin: number;
  /** Frames dropped because they kept passing this clone (a loop while routes disagree). */
  looping: number;
  /** Presence fetches left unanswered because identical ones came too fast. */
  fetchesPaced: number;
}

/** Confirmations, acknowledgements and presence between clones. */
export class ClusterWaits {
  private readonly selfId: string;
  private readonly addressed: AddressedFrames;
  private readonly interestAcks: InterestAcks;
  private readonly publishAcks: PublishAcks;
  private readonly presence: ClonePresence;

  /** What became of addressed frames, since start. */
  get addressedStats(): AddressedStats {
    const { addressed, presence } = this;
    return {
      forwarded: addressed.forwarded,
      unknownOrigin: addressed.unknownOrigin,
      looping: addressed.loops.dropped,
      fetchesPaced: presence.answers.dropped,
    };
  }

  constructor(context: ClusterWaitsContext) {
    const { selfId, links, routes } = context;
    this.selfId = selfId;
    const addressed = new AddressedFrames(selfId, links, routes);
    this.addressed = addressed;
    this.interestAcks = new InterestAcks({
      selfId,
      frames: addressed,
      get timeout() {
        return context.timeout;
      },
      *expected() {
        const seen = new Set<string>();
        for (const id of links.keys()) {
          seen.add(id);
          yield id;
        }
        for (const record of context.records()) {
          if (record.gone || seen.has(record.id) || context.isForgotten(record.id)) continue;
          if (routes.hop(record.id) !== undefined) yield record.id;
        }
      },
      ownVersion: () => context.ownVersion(),
      interestPending: () => context.interestPending(),
    });
    this.publishAcks = new PublishAcks(addressed);
    this.presence = new ClonePresence({
      selfId,
      frames: addressed,
      get table() {
        return context.presenceTable;
      },
      records: () => context.records(),
      record: (id) => context.record(id),
    });
  }

  /** Handles frames 50-53; false for any other frame. */
  receive(link: CloneLink, frame: Frame): boolean {
    switch (frame[0]) {
      case FrameType.CLONE_ACK:
        if (this.addressed.arrived(link, frame)) this.interestAcks.ack(frame[1], frame[3]);
        return true;
      case FrameType.CLONE_DELIVERED:
        if (this.addressed.arrived(link, frame))
          this.publishAcks.delivered(frame[1], frame[3], frame[4]);
        return true;
      case FrameType.CLONE_PRESENCE:
        if (this.addressed.arrived(link, frame)) this.presence.receive(frame);
        return true;
      case FrameType.CLONE_PRESENCE_FETCH:
        if (this.addressed.arrived(link, frame)) this.presence.receiveFetch(frame);
        return true;
      default:
        return false;
    }
  }

  /**
   * This clone applied record version `v` of clone `id`: snapshots of this clone's presence
   * first, then the acknowledgement, so the clone that waits for it then holds them (one
   * path, in order).
   */
  recordApplied(
    id: string,
    v: number,
    groups: readonly string[] | ReadonlySet<string>,
    renewed: boolean,
  ): void {
    if (renewed) this.interestAcks.forget(id);
    this.presence.recordApplied(id, groups, renewed);
    this.addressed.send(ackFrame(this.selfId, id, v));
  }

  /** A relay that asked for acknowledgement was delivered here: tells its publisher. */
  delivered(ackTo: string, seq: number, count: number): void {
    this.addressed.send([FrameType.CLONE_DELIVERED, this.selfId, ackTo, seq, count]);
  }

  /** Resolves once every reachable clone knows this clone's interest. */
  confirmInterest(): Promise<string[]> {
    return this.interestAcks.confirm();
  }

  /** Waits for the deliveries of relay `seq`, sent to `dests`. */
  waitDelivered(
    seq: number,
    dests: readonly string[],
    timeout: number,
  ): Promise<BackplaneDeliveries> {
    return this.publishAcks.wait(seq, dests, timeout);
  }

  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    this.presence.localChanged(groupId, joins, leaves);
  }

  fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]> {
    return this.presence.fetch(groupId, timeout);
  }

  /** Reachability changed: presence and pending waits follow. */
  topologyChanged(): void {
    this.presence.topologyChanged();
    this.interestAcks.check();
    this.publishAcks.check();
  }

  stop(): void {
    this.interestAcks.stop();
    this.publishAcks.stop();
    this.presence.stop();
  }
}
