/**
 * The NATS backplane: one NATS connection per node carries membership (heartbeats), group
 * messages, group deletions, function tables and RPC. See docs/backplane.md for the subjects.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type {
  Backplane,
  BackplaneHost,
  BackplaneMessage,
  BackplaneNode,
  BackplaneState,
} from '../backplane/backplane.js';
import { InvalidArgumentError, StoppedError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import type { BackplaneDeliveries } from '../backplane/backplane.js';
import type { PresenceMember } from '../groups/presence-table.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { PresenceEntry } from '../protocol/frames.js';
import { NatsClusterAcks } from './cluster-acks.js';
import { connectNats, isPermissionError, permissionError } from './connect.js';
import { FunctionTables } from './function-tables.js';
import { NatsGroups } from './groups.js';
import { NatsHistory } from './history.js';
import { Announce, isAnnouncement, NodeTable, type NodeEntry } from './nodes.js';
import type { ResolvedNatsOptions } from './options.js';
import { NatsRpc } from './rpc.js';
import { Subjects } from './subjects.js';
import { TableSync } from './table-sync.js';

/** Everything that exists only while connected. */
interface Live {
  nc: NatsConnection;
  codec: Codec;
  host: BackplaneHost;
  groups: NatsGroups;
  rpc: NatsRpc;
  acks: NatsClusterAcks;
  history: NatsHistory;
  timer: ReturnType<typeof setInterval>;
  /** Rejects start() while it runs. */
  starting: ((error: unknown) => void) | undefined;
}

/** A wsmesh cluster over NATS. Made by `natsBackplane()`; one per server. */
export class NatsBackplane implements Backplane {
  readonly kind = 'nats';
  /** Random id of this node process, part of its inbox subject. */
  readonly instance = randomUUID().replaceAll('-', '');
  private readonly subjects: Subjects;
  private readonly table: NodeTable;
  private readonly tables = new FunctionTables();
  private readonly sync: TableSync;
  private live: Live | undefined;
  private status: BackplaneState['status'] = 'closed';
  private stopping = false;

  constructor(private readonly options: ResolvedNatsOptions) {
    this.subjects = new Subjects(options.prefix, this.instance);
    this.table = new NodeTable(this.instance);
    this.sync = new TableSync(
      this.tables,
      this.table,
      this.subjects,
      this.instance,
      options.heartbeatTimeout,
      () => this.live,
    );
  }

  get nodes(): ReadonlyMap<string, BackplaneNode> {
    return this.table.nodes;
  }

  async start(host: BackplaneHost): Promise<void> {
    if (this.live !== undefined)
      throw new InvalidArgumentError('This backplane already serves a server: make one per server');
    this.stopping = false;
    this.status = 'connecting';
    const codec = await loadCodec('msgpack');
    let nc: NatsConnection;
    try {
      nc = await connectNats(this.options, host.id);
    } catch (error) {
      this.status = 'closed';
      throw error;
    }
    const groups = new NatsGroups(nc, codec, this.subjects, this.instance, host);
    const rpc = new NatsRpc(nc, codec, this.subjects, host);
    const acks = new NatsClusterAcks(nc, codec, this.subjects, this.instance, host, groups, () =>
      this.table.nodes.values(),
    );
    const history = new NatsHistory(
      nc,
      codec,
      this.subjects,
      host,
      () => this.table.nodes.values(),
      () => groups.ids(),
    );
    const timer = setInterval(() => this.tick(), this.options.heartbeatInterval);
    timer.unref?.();
    const live: Live = { nc, codec, host, groups, rpc, acks, history, timer, starting: undefined };
    this.live = live;
    this.status = 'connected';
    // A subject NATS denies this node fails start(): the node would be half in the cluster.
    const denied = new Promise<never>((_resolve, reject) => {
      live.starting = reject;
    });
    void this.watchStatus(live);
    const on = (subject: string, handle: (msg: Msg) => void): void => {
      nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error === null) handle(msg);
          // Reported through the connection's status too, once start() is over.
          else if (live.starting !== undefined && isPermissionError(error))
            live.starting(permissionError(error, this.options.prefix));
        },
      });
    };
    on(this.subjects.node, (msg) => this.announcement(msg));
    on(this.subjects.deleted, (msg) => this.groupDeleted(msg));
    on(this.subjects.functions, (msg) => this.sync.pushed(msg));
    on(this.subjects.cancel, (msg) => rpc.cancelled(msg));
    const inboxPrefix = `${this.subjects.inbox}.`;
    on(`${this.subjects.inbox}.>`, (msg) => {
      const suffix = msg.subject.slice(inboxPrefix.length);
      if (suffix === 't') this.sync.requested(msg);
      else if (!acks.inbox(suffix, msg) && !history.inbox(suffix, msg)) rpc.inbox(suffix, msg);
    });
    groups.start();
    for (const [namespace, functions] of this.tables.ownEntries())
      for (const info of functions) rpc.serve(namespace, info.name);
    this.announce(Announce.HELLO);
    try {
      // Subscriptions are in place on the NATS server before start() resolves.
      await Promise.race([nc.flush(), denied]);
    } catch (error) {
      await this.abandon(live);
      throw error;
    } finally {
      live.starting = undefined;
    }
  }

  /** Closes a connection whose start failed. */
  private async abandon(live: Live): Promise<void> {
    this.stopping = true;
    this.live = undefined;
    clearInterval(live.timer);
    live.rpc.stop();
    live.history.stop();
    await live.nc.close().catch(() => undefined);
    this.status = 'closed';
    this.table.nodes.clear();
  }

  async stop(): Promise<void> {
    const live = this.live;
    if (live === undefined) return;
    this.stopping = true;
    this.announce(Announce.BYE);
    this.live = undefined;
    clearInterval(live.timer);
    live.rpc.stop();
    live.history.stop();
    try {
      await live.nc.drain();
    } catch {
      await live.nc.close().catch(() => undefined);
    }
    this.status = 'closed';
    this.table.nodes.clear();
    // A restart learns the cluster afresh.
    this.tables.clearRemote();
  }

  subscribeGroup(groupId: string): void {
    this.live?.groups.subscribe(groupId);
  }

  unsubscribeGroup(groupId: string): void {
    this.live?.groups.unsubscribe(groupId);
    this.live?.acks.forget(groupId);
  }

  publish(message: BackplaneMessage): void {
    const live = this.live;
    if (live === undefined) return;
    try {
      live.groups.publish(message);
    } catch (error) {
      live.host.reportError(error);
    }
  }

  async confirmGroup(groupId: string, timeout: number): Promise<string[]> {
    const live = this.live;
    if (live === undefined) return [];
    try {
      return await live.acks.confirm(groupId, timeout);
    } catch (error) {
      // NATS unreachable (reconnecting): the other nodes cannot confirm yet.
      live.host.reportError(error);
      return [...this.table.nodes.keys()];
    }
  }

  async publishAcked(message: BackplaneMessage, timeout: number): Promise<BackplaneDeliveries> {
    const live = this.live;
    if (live === undefined) return { nodes: {}, missing: [] };
    return live.acks.publishAcked(message, timeout);
  }

  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void {
    this.live?.acks.presenceChanged(groupId, joins, leaves);
  }

  async fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]> {
    const live = this.live;
    if (live === undefined) return [];
    return live.acks.fetch(groupId, timeout);
  }

  /** History between nodes over NATS, while started. */
  get history(): HistoryPeers | undefined {
    return this.live?.history;
  }

  deleteGroup(groupId: string): void {
    this.send(this.subjects.deleted, [this.instance, groupId]);
  }

  setFunctions(namespace: string, functions: readonly FunctionInfo[]): void {
    const { added, removed } = this.tables.setOwn(namespace, functions);
    const live = this.live;
    if (live === undefined) return;
    for (const name of added) live.rpc.serve(namespace, name);
    for (const name of removed) live.rpc.unserve(namespace, name);
    this.sync.schedulePush();
  }

  listFunctions(namespace: string): FunctionInfo[] {
    return this.tables.list(namespace);
  }

  resolve(namespace: string, name: string): CallTarget | undefined {
    const live = this.live;
    if (live === undefined) return undefined;
    const info = this.tables.find(namespace, name);
    return info === undefined
      ? undefined
      : live.rpc.target(namespace, info, this.tables.providers(namespace, name));
  }

  state(): BackplaneState {
    const live = this.live;
    return {
      kind: this.kind,
      status: this.status,
      server: live !== undefined && this.status === 'connected' ? live.nc.getServer() : null,
      groups: live?.groups.size ?? 0,
      messagesOut: live?.groups.messagesOut ?? 0,
      messagesIn: live?.groups.messagesIn ?? 0,
      callsOut: live?.rpc.callsOut ?? 0,
      callsIn: live?.rpc.callsIn ?? 0,
    };
  }

  private async watchStatus(live: Live): Promise<void> {
    for await (const status of live.nc.status()) {
      if (this.live !== live) return;
      switch (status.type) {
        case 'disconnect':
          this.status = 'reconnecting';
          live.rpc.disconnected(status.server);
          live.history.disconnected();
          break;
        case 'reconnecting':
          this.status = 'reconnecting';
          break;
        case 'reconnect':
          this.status = 'connected';
          live.rpc.reconnected();
          // What was published while this node was away comes from the other nodes' history.
          live.history.reconnected();
          // Nodes that timed this one out while it was away learn it again at once.
          this.announce(Announce.HELLO);
          break;
        case 'error':
          if (isPermissionError(status.error)) {
            const error = permissionError(status.error, this.options.prefix);
            if (live.starting !== undefined) live.starting(error);
            else live.host.reportError(error);
          }
          break;
        case 'close':
          this.status = 'closed';
          if (!this.stopping) live.host.reportError(new StoppedError('The NATS connection closed'));
          return;
        default:
          break;
      }
    }
  }

  private send(subject: string, frame: unknown[]): void {
    const live = this.live;
    if (live === undefined) return;
    try {
      live.nc.publish(subject, live.codec.encode(frame) as Uint8Array);
    } catch (error) {
      live.host.reportError(error);
    }
  }

  private decode(msg: Msg): unknown {
    try {
      return this.live?.codec.decode(msg.data);
    } catch {
      return undefined;
    }
  }

  private announce(kind: number): void {
    const live = this.live;
    if (live === undefined) return;
    this.send(this.subjects.node, [
      kind,
      live.host.id,
      this.instance,
      live.host.url,
      this.tables.version,
    ]);
  }

  private tick(): void {
    const live = this.live;
    if (live === undefined) return;
    this.announce(Announce.BEAT);
    const gone = this.table.expire(Date.now(), this.options.heartbeatTimeout);
    for (const node of gone) this.nodeGone(live, node);
    if (gone.length > 0) live.host.nodesChanged();
  }

  private announcement(msg: Msg): void {
    const live = this.live;
    const value = this.decode(msg);
    if (live === undefined || !isAnnouncement(value)) return;
    const seen = this.table.apply(value, Date.now());
    if (seen.gone !== undefined) this.nodeGone(live, seen.gone);
    // A newcomer hears from every node at once instead of after a heartbeat interval.
    if (value[0] === Announce.HELLO && seen.node !== undefined) this.announce(Announce.BEAT);
    const node = seen.node;
    if (node !== undefined && this.tables.versionOf(node.id, node.instance) !== node.tableVersion)
      void this.sync.fetch(live, node);
    if (seen.joined || seen.gone !== undefined) live.host.nodesChanged();
    if (seen.joined) live.acks.republish();
  }

  private nodeGone(live: Live, node: NodeEntry): void {
    for (const namespace of this.tables.drop(node.id)) live.host.functionsChanged(namespace);
    live.rpc.processGone(node.instance, node.id);
    live.groups.forget(node.instance);
  }

  private groupDeleted(msg: Msg): void {
    const live = this.live;
    const value = this.decode(msg);
    if (live === undefined || !Array.isArray(value)) return;
    const [instance, groupId]: unknown[] = value;
    if (instance === this.instance || typeof groupId !== 'string') return;
    live.host.groupDeleted(groupId);
  }
}
