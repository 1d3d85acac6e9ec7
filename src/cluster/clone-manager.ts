/**
 * `server.clones`: the clones this server knows, its links to them, and what it tells them.
 * A facade over units with one job each: membership gossip (clone-gossip.ts), the dial
 * policy (clone-dialers.ts), the link table (link-table.ts), the groups observer
 * (clone-groups.ts), the group relay (clone-relay.ts), history between clones
 * (clone-history.ts) and what clones wait for from each other (clone-cluster-waits.ts).
 * This file holds the public API and carries the gossip's decisions out on the links.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, InvalidArgumentError, WsMeshError } from '../errors.js';
import type { BackplaneDeliveries, BackplaneMessage } from '../backplane/backplane.js';
import type { PresenceEntry, PresenceMember } from '../groups/presence-table.js';
import type { Codec } from '../protocol/codec.js';
import { CloseCode, FrameType, type Frame } from '../protocol/frames.js';
import { ClusterWaits } from './clone-cluster-waits.js';
import type { Connection } from '../transport/connection.js';
import type { AuthFnOut } from './auth.js';
import { CloneDialers } from './clone-dialers.js';
import type { CloneHost } from './clone-host.js';
import { CloneGossip, type GossipAction } from './clone-gossip.js';
import { CloneGroupsObserver } from './clone-groups.js';
import type { CloneLink } from './clone-link.js';
import { CloneRelay } from './clone-relay.js';
import { CloneHistory } from './clone-history.js';
import { LinkTable } from './link-table.js';
import { CloneTable } from './clone-table.js';
import type { RemoteClone } from './remote-clone.js';
import { RouteTable } from './routes.js';

export type { CloneHost } from './clone-host.js';

/** Error code of two live servers claiming one id. */
export const DUPLICATE_ID = ErrorCode.DUPLICATE_ID;

/** Relay sequence windows of origins silent this long are dropped. */
const RELAY_FORGET_MS = 10 * 60_000;

// Also the DialerOwner of its dialers, through members left out of the published declarations.
/** The clone mesh as seen from one server. */
// No `implements`: DialEvents is internal, stripped from the published declarations, and a
// class naming it would not compile in a consumer project.
export class CloneManager {
  /** Known remote clones by id (never this server's own id). */
  readonly clones: Map<string, RemoteClone>;
  /** Random id of this server process, announced to clones. */
  readonly instance = randomUUID();
  private readonly linkTable: LinkTable;
  private readonly groupEvents: CloneGroupsObserver;
  private readonly gossip: CloneGossip;
  private readonly dialers: CloneDialers;
  private readonly routes: RouteTable;
  private readonly relay: CloneRelay;
  /** @internal History between clones: resumes ask it, healed links fetch through it. */
  readonly history: CloneHistory;
  private readonly table: CloneTable;
  private readonly waits: ClusterWaits;
  private flushScheduled = false;
  private topologyScheduled = false;
  private started = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private authFnOut: AuthFnOut | undefined;
  private msgpack: Codec | undefined;

  /** @internal */
  constructor(private readonly host: CloneHost) {
    this.authFnOut = host.cloneOptions.authFnOut;
    this.linkTable = new LinkTable((error) => host.reportError(error));
    const links = this.linkTable.live;
    this.table = new CloneTable(
      host.id,
      (id) => this.dialers.drop(id),
      () => host.nodesChanged(),
    );
    this.clones = this.table.clones;
    const isForgotten = (id: string): boolean => this.table.isDeleted(id);
    this.groupEvents = new CloneGroupsObserver({
      publish: (message) => {
        if (this.started) this.relay.publish(message);
      },
      deleteGroup: (groupId) => {
        if (this.started) this.relay.deleteGroup(groupId);
      },
      interestChanged: () => this.scheduleFlush(),
    });
    this.gossip = new CloneGossip({
      selfId: host.id,
      instance: this.instance,
      get url() {
        return host.url ?? null;
      },
      interest: this.groupEvents,
      links: () => links.keys(),
      maxPayload: (peer) =>
        links.get(peer)?.connection.peerMaxPayload ?? host.cloneOptions.maxPayload,
      isForgotten,
    });
    this.routes = new RouteTable(
      host.id,
      () => links.keys(),
      () => this.gossip.known(),
    );
    const codec = (): Codec => this.codec;
    this.relay = new CloneRelay({
      selfId: host.id,
      instance: this.instance,
      links,
      routes: this.routes,
      records: () => this.gossip.known(),
      deliver: (message) => host.deliver(message),
      groupDeleted: (groupId) => host.groupDeleted(groupId),
      delivered: (ackTo, seq, count) => this.waits.delivered(ackTo, seq, count),
    });
    const gossip = this.gossip;
    const groupEvents = this.groupEvents;
    this.waits = new ClusterWaits({
      selfId: host.id,
      links,
      routes: this.routes,
      get timeout() {
        return host.cloneOptions.clusterAckTimeout;
      },
      get presenceTable() {
        return host.groups.presenceTable;
      },
      records: () => gossip.known(),
      record: (id) => gossip.record(id),
      isForgotten,
      ownVersion: () => gossip.version,
      interestPending: () => groupEvents.pending > 0,
    });
    const interest = this.groupEvents;
    this.history = new CloneHistory({
      links,
      groups: host.groups,
      get interest() {
        return interest.groups;
      },
      get codec() {
        return codec();
      },
      reportError: (error) => host.reportError(error),
    });
    this.dialers = new CloneDialers(
      host,
      {
        instance: this.instance,
        get codec() {
          return codec();
        },
        running: () => this.started,
        isKnown: (id) => this.clones.has(id),
        isLinked: (id) => links.has(id),
        isForgotten,
      },
      this,
    );
  }

  /** Clone frames not sent although their link was up (too large for the peer...), reported. */
  get framesUnsent(): number {
    return this.linkTable.framesUnsent;
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
    this.run(this.gossip.introduce(clone.id, options.url));
    this.ensureDialers();
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
    this.ensureDialers();
  }

  /** @internal Starts dialing and the periodic exchange. */
  start(msgpack: Codec): void {
    this.msgpack = msgpack;
    this.started = true;
    this.ensureDialers();
    this.timer = setInterval(() => this.tick(), this.host.cloneOptions.cloneInterval);
    this.timer.unref();
  }

  /** @internal Tells the mesh this clone leaves, closes links, stops timers. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.run(this.gossip.leave());
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

  /**
   * @internal False (and `ERR_DUPLICATE_ID` reported) when a clone dialing in claims this
   * server's own id, or the id of a clone linked from another process.
   */
  canAcceptInbound(peerId: string, peerInstance: string | undefined): boolean {
    // deleteClone means "no link with that clone" in both directions until addClone.
    if (this.table.isDeleted(peerId)) return false;
    if (peerId === this.host.id) {
      this.duplicateId(peerId, "a clone dialed in with this server's own id");
      return false;
    }
    if (this.linkTable.claimedByOther(peerId, peerInstance)) {
      this.duplicateId(peerId, 'two live servers claim this id');
      return false;
    }
    return true;
  }

  /**
   * @internal An authenticated clone dialed in. Returns false (and the caller closes with
   * 4009) when a live link to another process with the same id exists.
   */
  acceptInbound(connection: Connection, peerId: string, peerInstance: string | undefined): boolean {
    if (!this.canAcceptInbound(peerId, peerInstance)) return false;
    this.linkOpened(this.linkTable.addInbound(connection, peerId, peerInstance));
    return true;
  }

  /** @internal A frame on an inbound clone connection. */
  inboundFrame(connection: Connection, frame: Frame): void {
    const link = this.linkTable.inboundLink(connection);
    if (link !== undefined) this.linkFrame(link, frame);
  }

  /** @internal An inbound clone connection closed. */
  inboundClosed(connection: Connection): void {
    const link = this.linkTable.removeInbound(connection);
    if (link !== undefined) this.linkClosed(link);
  }

  /** @internal */
  linkOpened(link: CloneLink): void {
    if (!this.linkTable.open(link)) return;
    this.host.cloneLinkUp(link.connection, link.peerId, link.direction);
    // A clone that dialed in and is not known yet joins `clones` when its CLONE_SYNC arrives,
    // after the clones that sync names, so `clones` lists clones in the order heard of.
    this.clones.get(link.peerId)?.linkUp();
    // Clones without a record (added here, never linked) are named too, so the peer can dial them.
    this.run(this.gossip.linkUp(link.peerId, this.table.named(link.peerId)), link);
    this.routes.invalidate();
    // After CLONE_SYNC on the same link: the peer knows this clone's interest when it answers.
    this.history.linkUp(link);
    this.scheduleTopology();
  }

  /** @internal */
  linkClosed(link: CloneLink): void {
    if (!this.linkTable.close(link)) return;
    this.host.cloneLinkDown(link.connection);
    this.clones.get(link.peerId)?.linkDown();
    this.history.linkDown(link.peerId);
    this.routes.invalidate();
    // Paths through the link are gone: announced at once, not at the next tick.
    this.gossip.linkDown();
    this.scheduleFlush();
    this.ensureDialers();
    this.scheduleTopology();
  }

  /** @internal */
  dialFailed(clone: RemoteClone, error: Error, authRefused: boolean): void {
    clone.dialFailed(this.routes.hop(clone.id) !== undefined);
    if (authRefused) this.host.emitAuthError({ id: clone.id, url: clone.url }, error);
    else if (
      error instanceof WsMeshError &&
      (error.code === ErrorCode.CLONE_ID_MISMATCH || error.code === DUPLICATE_ID)
    ) {
      // Misconfigurations that will not fix themselves: tell the user (once per attempt).
      this.host.reportError(error);
    }
  }

  /** @internal */
  linkFrame(link: CloneLink, frame: Frame): void {
    switch (frame[0]) {
      case FrameType.CLONE_SYNC: {
        // The peer's instance tells its restart apart from a second process with its id.
        const own = frame[1].find((record) => record.id === link.peerId);
        if (own !== undefined && link.peerInstance === undefined) {
          link.peerInstance = own.instance;
        }
        this.run(this.gossip.receive(link.peerId, frame), link);
        const peer = this.table.learn(link.peerId, null);
        if (peer !== undefined && this.links.get(peer.id) === link) peer.linkUp();
        this.ensureDialers();
        return;
      }
      case FrameType.CLONE_UPDATE:
      case FrameType.CLONE_REQUEST:
      case FrameType.CLONE_DIGEST:
        this.run(this.gossip.receive(link.peerId, frame), link);
        return;
      case FrameType.CLONE_RELAY:
        this.relay.receive(link, frame);
        return;
      case FrameType.CLONE_GROUP_DELETE:
        this.relay.receiveGroupDelete(link, frame);
        return;
      case FrameType.HISTORY_REQUEST:
        void this.history.receiveRequest(link, frame);
        return;
      case FrameType.HISTORY_PAGE:
        this.history.receivePage(link, frame);
        return;
      default:
        if (!this.waits.receive(link, frame)) this.host.cloneLinkFrame(link.connection, frame);
        return;
    }
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

  /**
   * Carries out the gossip's actions in order. Frames for the peer of `from` go on `from`,
   * the link the frame being answered came on.
   */
  private run(actions: readonly GossipAction[], from?: CloneLink): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send': {
          const link = from?.peerId === action.to ? from : this.links.get(action.to);
          if (link === undefined) break;
          // Pages after one that was not sent are useless alone.
          for (const frame of action.frames) if (!link.send(frame)) break;
          break;
        }
        case 'learn':
          this.table.learn(action.id, action.url);
          break;
        case 'gone':
          if (this.table.left(action.id)) this.dialers.drop(action.id);
          break;
        case 'duplicate':
          this.duplicateId(action.id, action.why);
          break;
        case 'changed':
          this.routes.invalidate();
          this.ensureDialers();
          this.scheduleTopology();
          break;
        case 'applied':
          this.routes.invalidate();
          this.waits.recordApplied(action.id, action.v, action.groups, action.renewed);
          break;
      }
    }
  }

  /** Batches changes of this clone's record made during one tick into one update. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const actions = this.gossip.flush();
    if (this.started) this.run(actions);
  }

  /** Reachability changed: waits and presence follow, once per tick. */
  private scheduleTopology(): void {
    if (this.topologyScheduled) return;
    this.topologyScheduled = true;
    process.nextTick(() => {
      this.topologyScheduled = false;
      if (!this.started) return;
      this.waits.topologyChanged();
    });
  }

  private ensureDialers(): void {
    this.dialers.ensure(this.clones.values());
  }

  private tick(): void {
    this.run(this.gossip.tick());
    const now = Date.now();
    for (const clone of this.clones.values()) {
      clone.refresh(this.links.has(clone.id), this.routes.hop(clone.id) !== undefined, now);
      if (!this.dialers.forgettable(clone, now)) continue;
      this.table.forget(clone.id);
      this.gossip.forget(clone.id);
      this.dialers.drop(clone.id);
    }
    this.ensureDialers();
    this.relay.sweep(now - RELAY_FORGET_MS);
    // Pages arrive back to back; a record whose pages stopped coming is fetched again by digests.
    this.gossip.sweep(now - Math.max(10_000, 5 * this.host.cloneOptions.cloneInterval));
  }

  private duplicateId(id: string, why: string): void {
    this.host.reportError(
      new WsMeshError(DUPLICATE_ID, `Duplicate clone id "${id}": ${why}`, { id }),
    );
  }
}
