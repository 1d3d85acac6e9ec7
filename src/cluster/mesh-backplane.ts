/**
 * The clone mesh as a {@link Backplane}: the default way the nodes of a cluster talk, with no
 * broker. Each part of the interface maps onto one unit of the mesh:
 * - membership: the clones this server knows (`server.clones.clones`), told by gossip;
 * - group interest: this clone's record lists the groups it has subscribers for, so the
 *   other clones relay a group's messages only to clones that want them;
 * - publish and deleteGroup: the relay (CLONE_RELAY, CLONE_GROUP_DELETE frames);
 * - RPC: clone links carry LINK_ROUTES and RPC frames with the same path-vector routing as
 *   server links (src/cluster/link-manager.ts), which advertises this server's registry by
 *   itself; `resolve` picks among the routes that stay inside the mesh.
 * @module
 */
import type {
  BackplaneDeliveries,
  Backplane,
  BackplaneHost,
  BackplaneMessage,
  BackplaneNode,
  BackplaneState,
} from '../backplane/backplane.js';
import { InvalidArgumentError } from '../errors.js';
import { loadCodec } from '../protocol/codecs.js';
import type { PresenceMember } from '../groups/presence-table.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { FunctionInfo, PresenceEntry } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import type { CloneHost } from './clone-host.js';
import { CloneManager } from './clone-manager.js';
import type { LinkManager } from './link-manager.js';

/** What the mesh needs from its server. */
export type MeshHost = Pick<
  CloneHost,
  | 'id'
  | 'url'
  | 'backplaneKind'
  | 'groups'
  | 'cloneOptions'
  | 'emitAuthError'
  | 'reportError'
  | 'logWarning'
>;

/** The link layer the mesh's RPC runs on: clone links join the server's links. */
export type MeshLinks = Pick<
  LinkManager,
  'attachCloneLink' | 'detachCloneLink' | 'cloneLinkFrame' | 'resolve' | 'listRemote'
>;

/** The clone mesh of one server, behind the backplane interface. */
export class MeshBackplane implements Backplane {
  readonly kind = 'mesh';
  /** `server.clones`: the mesh's own API (addClone, deleteClone, topology...). */
  readonly clones: CloneManager;
  private host: BackplaneHost | undefined;
  private running = false;
  /** True for a server id of the mesh: routes through other servers leave it. */
  private readonly inMesh = (id: string): boolean => this.clones.clones.has(id);

  constructor(
    server: MeshHost,
    private readonly links: MeshLinks,
  ) {
    const cloneHost: CloneHost = {
      id: server.id,
      get url() {
        return server.url;
      },
      get backplaneKind() {
        return server.backplaneKind;
      },
      groups: server.groups,
      get cloneOptions() {
        return server.cloneOptions;
      },
      emitAuthError: (clone, error) => server.emitAuthError(clone, error),
      reportError: (error) => server.reportError(error),
      logWarning: (message, fields) => server.logWarning(message, fields),
      cloneLinkUp: (connection, peerId, direction) =>
        links.attachCloneLink(connection, peerId, direction),
      cloneLinkDown: (connection) => links.detachCloneLink(connection),
      cloneLinkFrame: (connection, frame) => links.cloneLinkFrame(connection, frame),
      deliver: (message) => this.host?.deliver(message) ?? 0,
      groupDeleted: (groupId) => this.host?.groupDeleted(groupId),
      nodesChanged: () => this.host?.nodesChanged(),
    };
    this.clones = new CloneManager(cloneHost);
  }

  /** Every clone this server knows, linked or not (its `state` is in `server.clones.clones`). */
  /** History between clones: HISTORY_REQUEST to every linked clone. */
  get history(): HistoryPeers {
    return this.clones.history;
  }

  get nodes(): ReadonlyMap<string, BackplaneNode> {
    const nodes = new Map<string, BackplaneNode>();
    for (const clone of this.clones.clones.values()) {
      nodes.set(clone.id, {
        id: clone.id,
        instance: this.clones.instanceOf(clone.id),
        url: clone.url,
        lastSeen: clone.lastSeen,
      });
    }
    return nodes;
  }

  /** Starts dialing the clones and the periodic record exchange. */
  async start(host: BackplaneHost): Promise<void> {
    if (this.running) {
      throw new InvalidArgumentError('This backplane already serves a server: make one per server');
    }
    this.host = host;
    this.clones.start(await loadCodec('msgpack'));
    this.running = true;
  }

  /** Tells the mesh this clone leaves and closes its links. Known clones stay for a restart. */
  stop(): Promise<void> {
    this.running = false;
    this.clones.stop();
    return Promise.resolve();
  }

  subscribeGroup(groupId: string): void {
    this.clones.interestAdded(groupId);
  }

  unsubscribeGroup(groupId: string): void {
    this.clones.interestRemoved(groupId);
  }

  publish(message: BackplaneMessage): void {
    this.clones.published(message);
  }

  deleteGroup(groupId: string): void {
    this.clones.deleted(groupId);
  }

  /**
   * Every reachable clone acknowledges this clone's record version that holds the interest
   * (the clone layer waits with its own `clusterAckTimeout`), whatever the group.
   */
  confirmGroup(): Promise<string[]> {
    return this.clones.confirmInterest();
  }

  publishAcked(message: BackplaneMessage, timeout: number): Promise<BackplaneDeliveries> {
    return this.clones.publishAcked(message, timeout);
  }

  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    this.clones.presenceChanged(groupId, joins, leaves);
  }

  fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]> {
    return this.clones.fetchPresence(groupId, timeout);
  }

  /**
   * Nothing to send: the link layer advertises this server's registry on every clone link
   * (with what it learned on server links) as soon as it changes.
   */
  setFunctions(_namespace: string, _functions: readonly FunctionInfo[]): void {}

  listFunctions(namespace: string): FunctionInfo[] {
    return this.links.listRemote(namespace, this.inMesh);
  }

  /** The shortest route to a clone offering the function; ties share the load. */
  resolve(namespace: string, name: string): CallTarget | undefined {
    return this.links.resolve(namespace, name, this.inMesh);
  }

  /**
   * The mesh's figures. Calls over clone links are counted per link (`server.serverLinks()`),
   * so `callsOut` and `callsIn` stay 0 here.
   */
  state(): BackplaneState {
    const relay = this.clones.relayStats;
    return {
      kind: this.kind,
      status: this.running ? 'connected' : 'closed',
      server: null,
      groups: this.clones.interest.size,
      messagesOut: relay.relayedOut,
      messagesIn: relay.relayedIn,
      callsOut: 0,
      callsIn: 0,
    };
  }
}
