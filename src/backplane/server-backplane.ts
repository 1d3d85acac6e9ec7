/**
 * Ties a {@link Backplane} to one server: group interest, publishes and deletions go out;
 * messages, deletions, node lists and function tables come in. It is the server's only way to
 * its cluster, whichever backplane runs it (the clone mesh by default).
 * @module
 */
import { RemoteClone } from '../cluster/remote-clone.js';
import { FanoutMessage } from '../groups/fanout-message.js';
import type { HistoryStore } from '../groups/history.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { ClusterDeliveries, GroupsObserver } from '../groups/groups-observer.js';
import type { PresenceEntry, PresenceMember, PresenceTable } from '../groups/presence-table.js';
import type { Subscriber } from '../groups/subscriber.js';
import type { Codec } from '../protocol/codec.js';
import type { FunctionInfo, GroupTarget } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import type { FunctionRegistry } from '../rpc/registry.js';
import type { FunctionResolver } from '../rpc/rpc-responder.js';
import type { Backplane, BackplaneHost, BackplaneMessage, BackplaneState } from './backplane.js';

/**
 * A message published on this server as the backplane sees it: its MessagePack bytes are made
 * on first read, so a backplane with no node to send to never pays for them. A class, not an
 * object literal with a getter: V8 then shares one accessor and shape for every publish.
 */
class PublishedMessage implements BackplaneMessage {
  readonly target: GroupTarget;

  constructor(
    private readonly message: FanoutMessage,
    private readonly codec: Codec,
  ) {
    this.target = message.target;
  }

  get payload(): Uint8Array {
    return this.message.encode(this.codec) as Uint8Array;
  }
}

/** What the glue needs from its server. */
export interface ServerBackplaneHost {
  readonly id: string;
  readonly url: string | undefined;
  readonly awaitResTimeout: number;
  /** How long a subscription waits for the other nodes' confirmation, in ms. */
  readonly clusterAckTimeout: number;
  readonly groups: GroupManager<Subscriber>;
  readonly registry: FunctionRegistry;
  functionsChanged(namespace: string): void;
  reportError(error: unknown): void;
}

/** A server's side of its backplane. */
export class ServerBackplane implements GroupsObserver, BackplaneHost {
  private msgpack: Codec | undefined;
  private running = false;
  /** Process instance of every node known, to drop the presence of one that is gone. */
  private readonly instances = new Map<string, string>();
  /** Messages this node had missed and another node's history filled in, since start. */
  healed = 0;
  /** Remote functions, for the server's resolver (local functions are tried first). */
  readonly resolver: FunctionResolver;

  constructor(
    readonly backplane: Backplane,
    private readonly server: ServerBackplaneHost,
    /**
     * `server.clones.clones`, to mirror the backplane's nodes into so existing views list
     * them; undefined for the clone mesh, whose nodes are that map.
     */
    private readonly cloneMap?: Map<string, RemoteClone>,
  ) {
    const { registry } = server;
    this.resolver = {
      // A namespace group tries its members in order.
      resolve: (namespace, name) => {
        for (const member of registry.members(namespace)) {
          const target = backplane.resolve(member, name);
          if (target !== undefined) return target;
        }
        return undefined;
      },
      list: (namespace) => {
        const byName = new Map<string, FunctionInfo>();
        for (const member of registry.members(namespace)) {
          for (const info of backplane.listFunctions(member))
            if (!byName.has(info.name)) byName.set(info.name, info);
        }
        return [...byName.values()];
      },
    };
  }

  get id(): string {
    return this.server.id;
  }

  get url(): string | null {
    return this.server.url ?? null;
  }

  get callTimeout(): number {
    return this.server.awaitResTimeout;
  }

  /** Connects the backplane, then announces this node's functions and group interest. */
  async start(msgpack: Codec): Promise<void> {
    this.msgpack = msgpack;
    const { registry, groups } = this.server;
    for (const namespace of registry.namespaceNames()) this.localChanged(namespace);
    await this.backplane.start(this);
    this.running = true;
    for (const group of groups.get().values())
      if (group.subscribers.size > 0) this.backplane.subscribeGroup(group.id);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.backplane.stop();
    this.cloneMap?.clear();
  }

  /** The local function list of `namespace` changed. */
  localChanged(namespace: string): void {
    const { registry } = this.server;
    // Groups are resolved by the caller's own registry; only plain namespaces travel.
    if (registry.isGroup(namespace)) return;
    this.backplane.setFunctions(
      namespace,
      registry.list(namespace).map((entry) => entry.info),
    );
  }

  state(): BackplaneState {
    return this.backplane.state();
  }

  // GroupsObserver: what local activity the other nodes must hear.

  // Interest goes out even while stopped: a backplane that keeps it (the mesh) stays exact
  // across a restart; one that cannot use it yet gets the full list again at start.
  interestAdded(groupId: string): void {
    this.backplane.subscribeGroup(groupId);
  }

  interestRemoved(groupId: string): void {
    this.backplane.unsubscribeGroup(groupId);
  }

  published(message: FanoutMessage): void {
    const codec = this.msgpack;
    if (!this.running || codec === undefined) return;
    try {
      this.backplane.publish(new PublishedMessage(message, codec));
    } catch (error) {
      this.server.reportError(error);
    }
  }

  /** The message as an acknowledged publish carries it (MessagePack), undefined when it cannot go. */
  private payload(message: FanoutMessage): Uint8Array | undefined {
    if (!this.running || this.msgpack === undefined) return undefined;
    try {
      return message.encode(this.msgpack) as Uint8Array;
    } catch (error) {
      this.server.reportError(error);
      return undefined;
    }
  }

  confirmInterest(groupId: string): Promise<string[]> {
    if (!this.running) return Promise.resolve([]);
    return this.backplane.confirmGroup(groupId, this.server.clusterAckTimeout);
  }

  publishAcked(message: FanoutMessage, timeout: number): Promise<ClusterDeliveries> {
    const payload = this.payload(message);
    if (payload === undefined) return Promise.resolve({ nodes: {}, missing: [] });
    return this.backplane.publishAcked({ target: message.target, payload }, timeout);
  }

  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    if (this.running) this.backplane.presenceChanged(groupId, joins, leaves);
  }

  fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]> {
    if (!this.running) return Promise.resolve([]);
    return this.backplane.fetchPresence(groupId, timeout);
  }

  deleted(groupId: string): void {
    if (this.running) this.backplane.deleteGroup(groupId);
  }

  // BackplaneHost: what arrives from the other nodes.

  deliver(message: BackplaneMessage): number {
    const codec = this.msgpack;
    if (codec === undefined) return 0;
    const fanout = FanoutMessage.fromEncoded(message.target, codec, message.payload);
    try {
      // Checks the bytes once before they reach subscribers' sockets as they are.
      void fanout.frame;
      return this.server.groups.deliverLocal(fanout, undefined);
    } catch (error) {
      this.server.reportError(error);
      return 0;
    }
  }

  get history(): HistoryStore {
    return this.server.groups.history;
  }

  deliverRecovered(message: BackplaneMessage, onlyNew: boolean): boolean {
    const codec = this.msgpack;
    if (codec === undefined) return false;
    const { groups } = this.server;
    try {
      const fanout = FanoutMessage.fromEncoded(message.target, codec, message.payload);
      // Checks the bytes once before they reach subscribers' sockets as they are.
      void fanout.frame;
      const fresh = groups.history.keepReceived(fanout);
      if (fresh) this.healed++;
      if (fresh || !onlyNew) groups.fanOutCounted(fanout, undefined);
      return fresh;
    } catch (error) {
      this.server.reportError(error);
      return false;
    }
  }

  get presence(): PresenceTable | undefined {
    return this.server.groups.presenceTable;
  }

  groupDeleted(groupId: string): void {
    this.server.groups.remove(groupId);
  }

  nodesChanged(): void {
    const { cloneMap } = this;
    if (cloneMap === undefined) return;
    const nodes = this.backplane.nodes;
    for (const id of [...cloneMap.keys()]) if (!nodes.has(id)) cloneMap.delete(id);
    // A node gone, or replaced by a new process with its id: its presence members leave.
    for (const [id, instance] of [...this.instances]) {
      if (nodes.get(id)?.instance === instance) continue;
      this.instances.delete(id);
      this.presence?.dropNode(id);
    }
    for (const node of nodes.values()) this.instances.set(node.id, node.instance);
    for (const node of nodes.values()) {
      let clone = cloneMap.get(node.id);
      if (clone === undefined) {
        clone = new RemoteClone(node.id, node.url, false);
        cloneMap.set(node.id, clone);
      }
      clone.url = node.url;
      clone.linkUp(node.lastSeen);
    }
  }

  functionsChanged(namespace: string): void {
    this.server.functionsChanged(namespace);
    for (const group of this.server.registry.groupsOf(namespace))
      this.server.functionsChanged(group);
  }

  localTarget(namespace: string, name: string): CallTarget | undefined {
    return this.server.registry.resolve(namespace, name)?.target;
  }

  reportError(error: unknown): void {
    this.server.reportError(error);
  }
}
