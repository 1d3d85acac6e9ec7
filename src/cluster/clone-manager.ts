/**
 * `server.clones`: the clones this server knows, its links to them, and what it tells them.
 * A facade over units with one job each (built in clone-units.ts): membership gossip
 * (clone-gossip.ts, run by gossip-driver.ts), the dial policy (clone-dialers.ts), the link
 * table (link-table.ts) and link events (clone-link-events.ts), the groups observer
 * (clone-groups.ts), the group relay (clone-relay.ts), history between clones
 * (clone-history.ts) and what clones wait for from each other (clone-cluster-waits.ts).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, InvalidArgumentError, WsMeshError } from '../errors.js';
import type { BackplaneDeliveries, BackplaneMessage } from '../backplane/backplane.js';
import type { PresenceEntry, PresenceMember } from '../groups/presence-table.js';
import type { Codec } from '../protocol/codec.js';
import { CloseCode, type Frame } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import type { AuthFnOut } from './auth.js';
import type { AddressedStats, ClusterWaits } from './clone-cluster-waits.js';
import type { CloneDialers } from './clone-dialers.js';
import type { CloneGossip } from './clone-gossip.js';
import type { CloneGroupsObserver } from './clone-groups.js';
import type { CloneHistory } from './clone-history.js';
import type { CloneHost } from './clone-host.js';
import type { CloneLink } from './clone-link.js';
import type { CloneCap } from './clone-records-cap.js';
import { CloneLinkEvents } from './clone-link-events.js';
import type { CloneRelay } from './clone-relay.js';
import type { CloneTable } from './clone-table.js';
import { buildCloneUnits } from './clone-units.js';
import { GossipDriver } from './gossip-driver.js';
import type { LinkTable } from './link-table.js';
import type { RemoteClone } from './remote-clone.js';
import type { RouteTable } from './routes.js';

/** The clone mesh as seen from one server. */
export class CloneManager {
  /** Known remote clones by id (never this server's own id). */
  readonly clones: Map<string, RemoteClone>;
  /** Random id of this server process, announced to clones. */
  readonly instance = randomUUID();
  /** @internal History between clones: resumes ask it, healed links fetch through it. */
  readonly history: CloneHistory;
  private readonly linkTable: LinkTable;
  private readonly groupEvents: CloneGroupsObserver;
  private readonly gossip: CloneGossip;
  private readonly dialers: CloneDialers;
  private readonly routes: RouteTable;
  private readonly relay: CloneRelay;
  private readonly table: CloneTable;
  private readonly waits: ClusterWaits;
  private readonly cap: CloneCap;
  private readonly driver: GossipDriver;
  private readonly events: CloneLinkEvents;
  private started = false;
  private authFnOut: AuthFnOut | undefined;
  private msgpack: Codec | undefined;

  /** @internal */
  constructor(private readonly host: CloneHost) {
    this.authFnOut = host.cloneOptions.authFnOut;
    const running = (): boolean => this.started;
    const codec = (): Codec => this.codec;
    const units = buildCloneUnits(host, {
      instance: this.instance,
      get codec() {
        return codec();
      },
      running,
      scheduleFlush: () => this.driver.scheduleFlush(),
      // Dialed links report through the manager, where `linkFrame` can be watched.
      dialEvents: {
        authValueFor: (clone) => this.authValueFor(clone),
        linkOpened: (link) => this.events.linkOpened(link),
        linkFrame: (link, frame) => this.linkFrame(link, frame),
        linkClosed: (link) => this.events.linkClosed(link),
        dialFailed: (clone, error, authRefused) =>
          this.events.dialFailed(clone, error, authRefused),
      },
    });
    ({
      cap: this.cap,
      table: this.table,
      linkTable: this.linkTable,
      groupEvents: this.groupEvents,
      gossip: this.gossip,
      routes: this.routes,
      relay: this.relay,
      waits: this.waits,
      history: this.history,
      dialers: this.dialers,
    } = units);
    this.clones = this.table.clones;
    this.driver = new GossipDriver(host, units, running);
    this.events = new CloneLinkEvents(host, units, this.driver);
  }

  /** Clone frames not sent although their link was up (too large for the peer...), reported. */
  get framesUnsent(): number {
    return this.linkTable.framesUnsent;
  }

  /**
   * @internal The mesh's bounds at work: records held and refused (`maxClones`), and what
   * became of addressed frames.
   */
  get boundStats(): { records: number; refused: number; addressed: AddressedStats } {
    return {
      records: this.gossip.size,
      refused: this.cap.refused,
      addressed: this.waits.addressedStats,
    };
  }

  /** @internal Live links by peer id. */
  get links(): ReadonlyMap<string, CloneLink> {
    return this.linkTable.live;
  }
  /** @internal The MessagePack codec of clone links; throws before `start`. */
  get codec(): Codec {
    if (this.msgpack === undefined)
      throw new WsMeshError(ErrorCode.NOT_STARTED, 'Clone links need a started server');
    return this.msgpack;
  }

  /** True when `deleteClone` removed `id` and `addClone` did not bring it back. */
  isDeleted(id: string): boolean {
    return this.table.isDeleted(id);
  }

  /** Ids of the clones with a live direct link. */
  linkedIds(): string[] {
    return [...this.links.keys()];
  }

  /** Relay counters. */
  get relayStats(): { relayedOut: number; relayedIn: number } {
    return { relayedOut: this.relay.relayedOut, relayedIn: this.relay.relayedIn };
  }

  /** CLONE_RELAY frames sent to and received from each neighbour since start. */
  relayByPeer(): ReadonlyMap<string, { framesOut: number; framesIn: number }> {
    return this.relay.perPeer;
  }

  /**
   * The mesh as this clone's records tell it (for inspection): every live clone with its
   * links and the groups it has subscribers for, this clone first.
   */
  topology(): { id: string; url: string | null; links: string[]; groups: string[] }[] {
    return this.gossip.topology();
  }

  /**
   * Adds (or updates) a clone and dials it when the server runs. Refused with
   * `InvalidArgumentError` on a server whose backplane is not the mesh.
   */
  addClone(options: { id: string; url: string; authFnOut?: AuthFnOut }): RemoteClone {
    const other = this.host.backplaneKind;
    if (other !== undefined) {
      throw new InvalidArgumentError(
        `addClone: this server runs on the ${other} backplane, where nodes find each other by themselves`,
      );
    }
    const clone = this.table.add(options);
    this.dialers.dialNow(clone.id);
    this.driver.run(this.gossip.introduce(clone.id, options.url));
    this.driver.ensureDialers();
    return clone;
  }

  /**
   * Forgets a clone: closes the link, stops dialing it, and ignores what others say about it
   * until `addClone` names it again. Other clones are not changed.
   */
  deleteClone(options: { id: string }): boolean {
    const id = options?.id;
    const existed = this.table.delete(id);
    this.dialers.drop(id);
    this.links.get(id)?.close(CloseCode.NORMAL, 'clone deleted');
    this.gossip.forget(id);
    this.routes.invalidate();
    return existed;
  }

  /** Swaps `authFnOut`, closes every outbound link and dials again with the new function. */
  updateAuthFnOut(authFnOut: AuthFnOut | undefined): void {
    if (authFnOut !== undefined && typeof authFnOut !== 'function') {
      throw new InvalidArgumentError('updateAuthFnOut takes a function');
    }
    this.authFnOut = authFnOut;
    // The new function replaces the per-clone ones too (docs/clones.md): after a credential
    // rotation no clone should keep presenting the old value.
    for (const clone of this.clones.values()) clone.authFnOut = undefined;
    this.dialers.dropAll();
    this.driver.ensureDialers();
  }

  /** @internal Starts dialing and the periodic exchange. */
  start(msgpack: Codec): void {
    this.msgpack = msgpack;
    this.started = true;
    this.driver.ensureDialers();
    this.driver.start();
  }

  /** @internal Tells the mesh this clone leaves, closes links, stops timers. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.driver.stop();
    this.driver.run(this.gossip.leave());
    this.history.stop();
    this.waits.stop();
    for (const link of this.links.values()) link.close(CloseCode.GOING_AWAY, 'server stopping');
    this.dialers.dropAll();
    this.linkTable.clear();
  }

  /** @internal Where `authFnOut` values come from: per-clone function, else the server's. */
  async authValueFor(clone: RemoteClone): Promise<unknown> {
    const fn = clone.authFnOut ?? this.authFnOut;
    return fn === undefined ? undefined : await fn({ id: clone.id, url: clone.url });
  }

  /** @internal False (and `ERR_DUPLICATE_ID` reported) when a clone dialing in is refused. */
  canAcceptInbound(peerId: string, peerInstance: string | undefined): boolean {
    return this.events.canAcceptInbound(peerId, peerInstance);
  }

  /**
   * @internal An authenticated clone dialed in. Returns false (and the caller closes with
   * 4009) when a live link to another process with the same id exists.
   */
  acceptInbound(connection: Connection, peerId: string, peerInstance: string | undefined): boolean {
    return this.events.acceptInbound(connection, peerId, peerInstance);
  }

  /** @internal A frame on an inbound clone connection. */
  inboundFrame(connection: Connection, frame: Frame): void {
    const link = this.linkTable.inboundLink(connection);
    if (link !== undefined) this.linkFrame(link, frame);
  }

  /** @internal An inbound clone connection closed. */
  inboundClosed(connection: Connection): void {
    this.events.inboundClosed(connection);
  }

  /** @internal Every frame on a clone link, dialed or accepted, passes here. */
  linkFrame(link: CloneLink, frame: Frame): void {
    this.events.linkFrame(link, frame);
  }

  /** @internal A message published on this server goes to the interested clones. */
  published(message: BackplaneMessage): void {
    this.groupEvents.published(message);
  }

  /** @internal A group deleted on this server is deleted on every clone. */
  deleted(groupId: string): void {
    this.groupEvents.deleted(groupId);
  }

  /** @internal A group got its first subscriber on this server. */
  interestAdded(groupId: string): void {
    this.groupEvents.interestAdded(groupId);
  }

  /** @internal A group lost its last subscriber on this server. */
  interestRemoved(groupId: string): void {
    this.groupEvents.interestRemoved(groupId);
  }

  /** @internal Backplane: resolves once every reachable clone knows this interest. */
  confirmInterest(): Promise<string[]> {
    if (!this.started) return Promise.resolve([]);
    return this.waits.confirmInterest();
  }

  /** @internal Backplane: a local publish that waits for every clone it went to. */
  publishAcked(message: BackplaneMessage, timeout: number): Promise<BackplaneDeliveries> {
    if (!this.started) return Promise.resolve({ nodes: {}, missing: [] });
    const dests = this.relay.publish(message, this.host.id);
    return this.waits.waitDelivered(this.relay.lastSeq, dests, timeout);
  }

  /** @internal Backplane: local presence members changed. */
  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    if (this.started) this.waits.presenceChanged(groupId, joins, leaves);
  }

  /** @internal Backplane: presence of a group without local subscribers. */
  fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]> {
    if (!this.started) return Promise.resolve([]);
    return this.waits.fetchPresence(groupId, timeout);
  }

  /** @internal Process instance of clone `id`, from its record ('' before its record came). */
  instanceOf(id: string): string {
    return this.gossip.record(id)?.instance ?? '';
  }

  /** @internal Groups with subscribers on this server, as the mesh is told. */
  get interest(): ReadonlySet<string> {
    return this.groupEvents.groups;
  }
}
