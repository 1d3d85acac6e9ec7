/**
 * `server.clones`: the clones this server knows, its links to them, and what it tells them.
 *
 * Membership: every clone floods a versioned record of itself (url, live links, groups with
 * subscribers). A clone applies a record only if newer and passes it on, so news spreads in a
 * few round trips instead of on a timer; every `cloneInterval` each link also exchanges a
 * digest of record versions, which repairs anything a push missed. One WebSocket per pair of
 * clones: the clone with the smaller id dials (a clone without `url` always dials), explicit
 * `addClone` always dials, and when two links to the same clone meet, the one dialed by the
 * smaller id stays.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, WsMeshError } from '../errors.js';
import type { FanoutMessage } from '../groups/fanout-message.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { Subscriber } from '../groups/subscriber.js';
import type { Codec } from '../protocol/codec.js';
import { CloseCode, FrameType, type CloneRecord, type Frame } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import type { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import type { AuthFnOut } from './auth.js';
import { CloneDialer } from './clone-dialer.js';
import { CloneLink } from './clone-link.js';
import { RecordStore } from './clone-records.js';
import { CloneRelay, type RelayContext } from './clone-relay.js';
import { RemoteClone } from './remote-clone.js';
import { RouteTable } from './routes.js';

/** @internal What the clone manager needs from its server. */
export interface CloneHost {
  readonly id: string;
  readonly url: string | undefined;
  readonly groups: GroupManager<Subscriber>;
  readonly cloneOptions: {
    cloneInterval: number;
    maxPayload: number;
    maxBufferedBytes: number;
    authFnOut: AuthFnOut | undefined;
    tls: TlsOptions | undefined;
  };
  emitAuthError(clone: { id: string; url: string | null }, error: Error): void;
  reportError(error: unknown): void;
  /** A clone link is up: clones also share RPC functions over it. */
  cloneLinkUp(connection: Connection, peerId: string, direction: 'in' | 'out'): void;
  /** A clone link that was up closed. */
  cloneLinkDown(connection: Connection): void;
  /** An RPC or route frame arrived on a clone link. */
  cloneLinkFrame(connection: Connection, frame: Frame): void;
}

/** Error code of two live servers claiming one id. */
export const DUPLICATE_ID = 'ERR_DUPLICATE_ID';

/** Larger interest changes are sent as a full list rather than a delta. */
const MAX_DELTA = 256;

// Also the DialerOwner of its dialers and the GroupsObserver of the server's groups, through
// members left out of the published declarations (so those interfaces are not declared here).
/** The clone mesh as seen from one server. */
export class CloneManager {
  /** Known remote clones by id (never this server's own id). */
  readonly clones = new Map<string, RemoteClone>();
  /** Random id of this server process, announced to clones. */
  readonly instance = randomUUID();
  /** @internal Live links by peer id. */
  readonly links = new Map<string, CloneLink>();

  private readonly inbound = new Map<Connection, CloneLink>();
  private readonly dialers = new Map<string, CloneDialer>();
  private readonly records = new RecordStore();
  private readonly forgotten = new Set<string>();
  private readonly routes: RouteTable;
  private readonly relay: CloneRelay;
  private readonly interest = new Set<string>();
  private readonly pendingAdd = new Set<string>();
  private readonly pendingDel = new Set<string>();
  private version = 0;
  private linksChanged = false;
  private flushScheduled = false;
  private started = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private authFnOut: AuthFnOut | undefined;
  private msgpack: Codec | undefined;

  /** @internal */
  constructor(private readonly host: CloneHost) {
    this.authFnOut = host.cloneOptions.authFnOut;
    this.routes = new RouteTable(
      host.id,
      () => this.links.keys(),
      () => this.records.values(),
    );
    this.relay = new CloneRelay(this.relayContext());
  }

  private relayContext(): RelayContext {
    const { host, links, routes, records } = this;
    const codec = (): Codec => this.codec;
    return {
      selfId: host.id,
      instance: this.instance,
      get codec() {
        return codec();
      },
      groups: host.groups,
      links,
      routes,
      records: () => records.values(),
      reportError: (error) => host.reportError(error),
    };
  }

  /** @internal */
  get selfId(): string {
    return this.host.id;
  }
  /** @internal */
  get codec(): Codec {
    if (this.msgpack === undefined)
      throw new WsMeshError('ERR_NOT_STARTED', 'Clone links need a started server');
    return this.msgpack;
  }
  /** @internal */
  get cloneInterval(): number {
    return this.host.cloneOptions.cloneInterval;
  }
  /** @internal */
  get maxPayload(): number {
    return this.host.cloneOptions.maxPayload;
  }
  /** @internal */
  get maxBufferedBytes(): number {
    return this.host.cloneOptions.maxBufferedBytes;
  }
  /** @internal */
  get tls(): TlsOptions | undefined {
    return this.host.cloneOptions.tls;
  }

  /** True when `deleteClone` removed `id` and `addClone` did not bring it back. */
  isDeleted(id: string): boolean {
    return this.forgotten.has(id);
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
    const result = [
      {
        id: this.host.id,
        url: this.host.url ?? null,
        links: [...this.links.keys()],
        groups: [...this.interest],
      },
    ];
    for (const record of this.records.values()) {
      if (record.gone || this.forgotten.has(record.id)) continue;
      result.push({
        id: record.id,
        url: record.url,
        links: [...record.links],
        groups: [...record.groups],
      });
    }
    return result;
  }

  /** Adds (or updates) a clone and dials it when the server runs. */
  addClone(options: { id: string; url: string; authFnOut?: AuthFnOut }): RemoteClone {
    const { id, url, authFnOut } = options ?? {};
    if (!isName(id)) throw new InvalidArgumentError('addClone: id must be a non-empty string');
    if (id === this.host.id)
      throw new InvalidArgumentError('addClone: a server cannot be its own clone');
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) {
      throw new InvalidArgumentError('addClone: url must start with ws:// or wss://');
    }
    if (authFnOut !== undefined && typeof authFnOut !== 'function') {
      throw new InvalidArgumentError('addClone: authFnOut must be a function');
    }
    this.forgotten.delete(id);
    let clone = this.clones.get(id);
    if (clone === undefined) {
      clone = new RemoteClone(id, url, true, authFnOut);
      this.clones.set(id, clone);
    } else {
      // A dialer waiting out its backoff (the clone refused us, or was down) is replaced, so
      // the clone is dialed now, as documented.
      const dialer = this.dialers.get(id);
      if (dialer !== undefined && (clone.url !== url || !dialer.busy)) {
        dialer.stop();
        this.dialers.delete(id);
      }
      clone.url = url;
      clone.explicit = true;
      if (authFnOut !== undefined) clone.authFnOut = authFnOut;
    }
    // Tell the mesh at once, so everyone can dial the newcomer without waiting for it.
    for (const link of this.links.values()) link.send([FrameType.CLONE_SYNC, [], [[id, url]]]);
    this.ensureDialers();
    return clone;
  }

  /**
   * Forgets a clone: closes the link, stops dialing it, and ignores what others say about it
   * until `addClone` names it again. Other clones are not changed.
   */
  deleteClone(options: { id: string }): boolean {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('deleteClone: id must be a non-empty string');
    const existed = this.clones.delete(id);
    this.forgotten.add(id);
    this.dialers.get(id)?.stop();
    this.dialers.delete(id);
    this.links.get(id)?.close(CloseCode.NORMAL, 'clone deleted');
    this.records.delete(id);
    this.routes.invalidate();
    return existed;
  }

  /** Swaps `authFnOut`, closes every outbound link and dials again with the new function. */
  updateAuthFnOut(authFnOut: AuthFnOut | undefined): void {
    if (authFnOut !== undefined && typeof authFnOut !== 'function') {
      throw new InvalidArgumentError('updateAuthFnOut takes a function');
    }
    this.authFnOut = authFnOut;
    // As documented for the original: the function of every clone is replaced.
    for (const clone of this.clones.values()) clone.authFnOut = undefined;
    for (const [id, dialer] of this.dialers) {
      dialer.stop();
      this.dialers.delete(id);
    }
    this.ensureDialers();
  }

  /** @internal Starts dialing and the periodic exchange. */
  start(msgpack: Codec): void {
    this.msgpack = msgpack;
    this.started = true;
    this.ensureDialers();
    this.timer = setInterval(() => this.tick(), this.cloneInterval);
    this.timer.unref();
  }

  /** @internal Tells the mesh this clone leaves, closes links, stops timers. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.version++;
    const farewell: CloneRecord = { ...this.ownRecord(), links: [], groups: [], gone: true };
    for (const link of this.links.values()) {
      link.send([FrameType.CLONE_UPDATE, farewell]);
      link.close(CloseCode.GOING_AWAY, 'server stopping');
    }
    for (const dialer of this.dialers.values()) dialer.stop();
    this.dialers.clear();
    this.links.clear();
    this.inbound.clear();
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
    if (this.forgotten.has(peerId)) return false;
    if (peerId === this.host.id) {
      this.duplicateId(peerId, "a clone dialed in with this server's own id");
      return false;
    }
    const existing = this.links.get(peerId);
    if (
      existing !== undefined &&
      peerInstance !== undefined &&
      existing.peerInstance !== undefined &&
      existing.peerInstance !== peerInstance
    ) {
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
    const link = new CloneLink(peerId, 'in', connection, peerId);
    link.peerInstance = peerInstance;
    this.inbound.set(connection, link);
    this.linkOpened(link);
    return true;
  }

  /** @internal A frame on an inbound clone connection. */
  inboundFrame(connection: Connection, frame: Frame): void {
    const link = this.inbound.get(connection);
    if (link !== undefined) this.linkFrame(link, frame);
  }

  /** @internal An inbound clone connection closed. */
  inboundClosed(connection: Connection): void {
    const link = this.inbound.get(connection);
    if (link === undefined) return;
    this.inbound.delete(connection);
    link.closed = true;
    this.linkClosed(link);
  }

  /** @internal */
  linkOpened(link: CloneLink): void {
    const existing = this.links.get(link.peerId);
    if (existing !== undefined && !existing.closed) {
      // Two links to one clone: both sides keep the one dialed by the smaller id.
      const keepNew = link.dialerId <= existing.dialerId;
      const loser = keepNew ? existing : link;
      loser.close(CloseCode.NORMAL, 'duplicate clone link');
      if (!keepNew) return;
      this.links.delete(link.peerId);
    }
    this.links.set(link.peerId, link);
    this.host.cloneLinkUp(link.connection, link.peerId, link.direction);
    // A clone that dialed in is added after the clones it tells about (see CLONE_SYNC), as the
    // original library did, so `clones.clones` lists them in the same order.
    const clone = this.clones.get(link.peerId);
    if (clone !== undefined) {
      clone.state = 'linked';
      clone.lastSeen = Date.now();
    }
    const others = [...this.clones.values()]
      .filter((known) => known.id !== link.peerId)
      .map((known): [string, string | null] => [known.id, known.url]);
    const records = [...this.records.values()].filter((record) => record.id !== link.peerId);
    link.send([
      FrameType.CLONE_SYNC,
      [...records.map((record) => RecordStore.toFull(record)), this.ownRecord()],
      others,
    ]);
    this.routes.invalidate();
    // A new link is announced with the next change of interest or at the next tick, not at
    // once: it only offers shorter paths, so others lose nothing by learning it a little
    // later, and a clone that opens 31 links while a mesh forms announces one or two
    // versions instead of 31, each of which every other clone would pass on. A closed link
    // goes out at once (paths through it are gone).
    this.linksChanged = true;
  }

  /** @internal */
  linkClosed(link: CloneLink): void {
    if (this.links.get(link.peerId) !== link) return;
    this.links.delete(link.peerId);
    this.host.cloneLinkDown(link.connection);
    const clone = this.clones.get(link.peerId);
    if (clone !== undefined) clone.state = 'unreachable';
    this.routes.invalidate();
    this.linksChanged = true;
    this.scheduleFlush();
    if (this.started) this.ensureDialers();
  }

  /** @internal */
  wantsDial(id: string): boolean {
    return this.started && !this.links.has(id) && this.clones.has(id) && !this.forgotten.has(id);
  }

  /** @internal */
  dialFailed(clone: RemoteClone, error: Error, authRefused: boolean): void {
    if (clone.state !== 'linked')
      clone.state = this.routes.hop(clone.id) === undefined ? 'unreachable' : 'routed';
    if (authRefused) this.host.emitAuthError({ id: clone.id, url: clone.url }, error);
    else if (
      error instanceof WsMeshError &&
      (error.code === 'ERR_CLONE_ID_MISMATCH' || error.code === DUPLICATE_ID)
    ) {
      // Misconfigurations that will not fix themselves: tell the user (once per attempt).
      this.host.reportError(error);
    }
  }

  /** @internal */
  linkFrame(link: CloneLink, frame: Frame): void {
    switch (frame[0]) {
      case FrameType.CLONE_SYNC: {
        for (const [id, url] of frame[2]) this.learn(id, url);
        for (const record of frame[1]) {
          if (record.id === link.peerId && link.peerInstance === undefined) {
            link.peerInstance = record.instance;
          }
          this.applyRecord(record, link);
        }
        const peer = this.learn(link.peerId, null);
        if (peer !== undefined && this.links.get(peer.id) === link) {
          peer.state = 'linked';
          peer.lastSeen = Date.now();
        }
        this.ensureDialers();
        return;
      }
      case FrameType.CLONE_UPDATE:
        this.applyRecord(frame[1], link);
        return;
      case FrameType.CLONE_REQUEST: {
        const id = frame[1];
        if (id === this.host.id) link.send([FrameType.CLONE_UPDATE, this.ownRecord()]);
        else {
          const record = this.records.get(id);
          if (record !== undefined) link.send([FrameType.CLONE_UPDATE, RecordStore.toFull(record)]);
        }
        return;
      }
      case FrameType.CLONE_DIGEST:
        this.compareDigest(link, frame[1]);
        return;
      case FrameType.CLONE_RELAY:
        this.relay.receive(link, frame);
        return;
      case FrameType.CLONE_GROUP_DELETE:
        this.relay.receiveGroupDelete(link, frame);
        return;
      default:
        this.host.cloneLinkFrame(link.connection, frame);
        return;
    }
  }

  /** @internal Groups observer: a local publish goes to interested clones. */
  published(message: FanoutMessage): void {
    if (this.started) this.relay.publish(message);
  }

  /** @internal Groups observer. */
  deleted(groupId: string): void {
    if (this.started) this.relay.deleteGroup(groupId);
  }

  /** @internal Groups observer. */
  interestAdded(groupId: string): void {
    this.interest.add(groupId);
    if (!this.pendingDel.delete(groupId)) this.pendingAdd.add(groupId);
    this.scheduleFlush();
  }

  /** @internal Groups observer. */
  interestRemoved(groupId: string): void {
    this.interest.delete(groupId);
    if (!this.pendingAdd.delete(groupId)) this.pendingDel.add(groupId);
    this.scheduleFlush();
  }

  private ownRecord(): CloneRecord {
    return {
      id: this.host.id,
      instance: this.instance,
      url: this.host.url ?? null,
      v: this.version,
      links: [...this.links.keys()],
      groups: [...this.interest],
    };
  }

  /** Batches changes of this clone's record made during one tick into one update. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.linksChanged && this.pendingAdd.size === 0 && this.pendingDel.size === 0) return;
    const base = this.version;
    this.version++;
    let update: CloneRecord;
    if (this.pendingAdd.size + this.pendingDel.size <= MAX_DELTA) {
      update = {
        id: this.host.id,
        instance: this.instance,
        url: this.host.url ?? null,
        v: this.version,
        links: [...this.links.keys()],
        add: [...this.pendingAdd],
        del: [...this.pendingDel],
        base,
      };
    } else {
      update = this.ownRecord();
    }
    this.pendingAdd.clear();
    this.pendingDel.clear();
    this.linksChanged = false;
    if (!this.started) return;
    for (const link of this.links.values()) link.send([FrameType.CLONE_UPDATE, update]);
  }

  private applyRecord(record: CloneRecord, from: CloneLink): void {
    if (record.id === this.host.id) {
      if (record.instance !== this.instance && record.gone !== true) {
        this.duplicateId(record.id, "another server announces this server's own id");
      }
      return;
    }
    if (this.forgotten.has(record.id)) return;
    const result = this.records.apply(record);
    if (result === 'gap') {
      from.send([FrameType.CLONE_REQUEST, record.id]);
      return;
    }
    if (result === 'stale') return;
    if (record.gone === true) {
      const clone = this.clones.get(record.id);
      if (clone !== undefined && !clone.explicit) {
        this.clones.delete(record.id);
        this.dialers.get(record.id)?.stop();
        this.dialers.delete(record.id);
      }
    } else {
      this.learn(record.id, record.url);
    }
    this.routes.invalidate();
    // Pass it on, except to the clone it describes and to clones that clone is linked to:
    // those got it first-hand. In a full mesh nothing is forwarded, so an update costs O(N)
    // frames instead of O(N^2); digests repair what a stale links list misses.
    const firstHand = new Set(record.links);
    for (const link of this.links.values()) {
      if (link === from || link.peerId === record.id || firstHand.has(link.peerId)) continue;
      // Nor to a clone whose own record says it is linked to the clone described.
      if (this.records.get(link.peerId)?.links.includes(record.id) === true) continue;
      link.send([FrameType.CLONE_UPDATE, record]);
    }
    this.ensureDialers();
  }

  private learn(id: string, url: string | null): RemoteClone | undefined {
    if (id === this.host.id || this.forgotten.has(id)) return undefined;
    let clone = this.clones.get(id);
    if (clone === undefined) {
      clone = new RemoteClone(id, url, false);
      this.clones.set(id, clone);
    } else if (url !== null && clone.url !== url && !clone.explicit) {
      // A url given to addClone stays: the announced one may not be reachable from here (NAT, proxies).
      clone.url = url;
      this.dialers.get(id)?.stop();
      this.dialers.delete(id);
    }
    return clone;
  }

  private shouldDial(clone: RemoteClone): boolean {
    if (clone.url === null || this.forgotten.has(clone.id)) return false;
    return clone.explicit || this.host.url === undefined || this.host.id < clone.id;
  }

  private ensureDialers(): void {
    if (!this.started) return;
    for (const clone of this.clones.values()) {
      if (!this.shouldDial(clone) || this.links.has(clone.id)) continue;
      let dialer = this.dialers.get(clone.id);
      if (dialer === undefined) {
        dialer = new CloneDialer(this, clone);
        this.dialers.set(clone.id, dialer);
      }
      if (!dialer.busy) {
        if (clone.state === 'unreachable') clone.state = 'connecting';
        dialer.start();
      }
    }
  }

  private compareDigest(link: CloneLink, entries: [string, number][]): void {
    const theirs = new Map(entries);
    for (const [id, version] of entries) {
      if (id === this.host.id || this.forgotten.has(id)) continue;
      const mine = this.records.get(id);
      if (mine === undefined || mine.v < version) link.send([FrameType.CLONE_REQUEST, id]);
    }
    if ((theirs.get(this.host.id) ?? -1) < this.version)
      link.send([FrameType.CLONE_UPDATE, this.ownRecord()]);
    const peer = this.records.get(link.peerId);
    for (const record of this.records.values()) {
      if (record.id === link.peerId || (theirs.get(record.id) ?? -1) >= record.v) continue;
      // A peer linked to that clone gets its record first-hand (the update may be in flight).
      if (record.links.includes(link.peerId) || peer?.links.includes(record.id) === true) continue;
      link.send([FrameType.CLONE_UPDATE, RecordStore.toFull(record)]);
    }
  }

  private tick(): void {
    if (this.linksChanged) this.flush();
    const digest: [string, number][] = [[this.host.id, this.version], ...this.records.digest()];
    for (const link of this.links.values()) link.send([FrameType.CLONE_DIGEST, digest]);
    const now = Date.now();
    const forgetAfter = Math.max(60_000, 30 * this.cloneInterval);
    for (const clone of this.clones.values()) {
      if (this.links.has(clone.id)) clone.state = 'linked';
      else if (this.routes.hop(clone.id) !== undefined) clone.state = 'routed';
      else if (clone.state !== 'connecting') clone.state = 'unreachable';
      if (clone.state === 'linked' || clone.state === 'routed') clone.lastSeen = now;
      else if (!clone.explicit && now - clone.lastSeen > forgetAfter) {
        // Nothing was ever forgotten in the old design; a learned clone gone this long is.
        this.clones.delete(clone.id);
        this.records.delete(clone.id);
        this.dialers.get(clone.id)?.stop();
        this.dialers.delete(clone.id);
      }
    }
    this.ensureDialers();
    this.relay.sweep(now - 10 * 60_000);
  }

  private duplicateId(id: string, why: string): void {
    this.host.reportError(
      new WsMeshError(DUPLICATE_ID, `Duplicate clone id "${id}": ${why}`, { id }),
    );
  }
}
