/**
 * The backplane: everything the nodes of one wsmesh cluster tell each other, behind one
 * interface, so the cluster can ride on a message system (NATS today, Redis next) instead of
 * the built-in clone mesh.
 *
 * Four concerns, each a few methods (the same split as Centrifugo's broker and presence
 * manager, or a Socket.IO cluster adapter):
 * - membership: who the other nodes are ({@link Backplane.nodes}, told through
 *   {@link BackplaneHost.nodesChanged});
 * - group interest: a node subscribes to a group's messages when the group gets its first
 *   local member and unsubscribes after the last, so only interested nodes receive them;
 * - group messages and deletion: {@link Backplane.publish}, {@link Backplane.deleteGroup}, and
 *   the host's {@link BackplaneHost.deliver} / {@link BackplaneHost.groupDeleted} on arrival;
 * - RPC: each node announces its function table ({@link Backplane.setFunctions}); a call
 *   resolves to a {@link CallTarget} ({@link Backplane.resolve}) whose `call` and `stream`
 *   carry arguments, replies, stream items with credit and cancellation; calls arriving from
 *   other nodes run against {@link BackplaneHost.localTarget}.
 *
 * The server owns local state (groups, subscribers, functions); a backplane owns only what
 * crosses nodes. A backplane never calls back into the server except through the host.
 * @module
 */
import type { HistoryStore } from '../groups/history.js';
import type { PresenceMember, PresenceTable } from '../groups/presence-table.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { FunctionInfo, GroupTarget, PresenceEntry } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';

/** Another node of the cluster, as a backplane knows it. */
export interface BackplaneNode {
  /** The node's server id (`server.id`). */
  readonly id: string;
  /** Random id of the node's process (a restarted node with the same id has a new one). */
  readonly instance: string;
  /** The node's public url (`url` option), when it has one. */
  readonly url: string | null;
  /** Epoch ms of the last sign of life. */
  readonly lastSeen: number;
}

/** A group message between nodes. */
export interface BackplaneMessage {
  /** Target as published: one group id, several, or null for every group. */
  readonly target: GroupTarget;
  /** The GROUP_MESSAGE frame encoded with MessagePack (delivered as is to msgpack clients). */
  readonly payload: Uint8Array;
}

/** What a backplane reports about itself (`server.stats().backplane`, inspect, metrics). */
export interface BackplaneState {
  /** Engine name, e.g. `nats`. */
  readonly kind: string;
  /** `connected` while the engine link is up; `reconnecting` while it is being restored. */
  readonly status: 'connecting' | 'connected' | 'reconnecting' | 'closed';
  /** Address of the engine server currently used, when connected. */
  readonly server: string | null;
  /** Groups this node is subscribed to on the backplane. */
  readonly groups: number;
  /** Group messages published and received since start. */
  readonly messagesOut: number;
  readonly messagesIn: number;
  /** Remote calls and streams made, and served for other nodes. */
  readonly callsOut: number;
  readonly callsIn: number;
}

/** What a backplane needs from its server. */
export interface BackplaneHost {
  /** This node's server id. */
  readonly id: string;
  /** This node's public url, announced to the other nodes. */
  readonly url: string | null;
  /** Default reply timeout of remote calls, in ms. */
  readonly callTimeout: number;
  /** A group message from another node: deliver it to local subscribers only (returns how many got it). */
  deliver(message: BackplaneMessage): number;
  /** Another node deleted a group: delete it locally, without telling anyone. */
  groupDeleted(groupId: string): void;
  /** The set of other nodes changed. */
  nodesChanged(): void;
  /** The functions other nodes offer in `namespace` changed. */
  functionsChanged(namespace: string): void;
  /** A function registered on this node (never one of another node): calls from other nodes run here. */
  localTarget(namespace: string, name: string): CallTarget | undefined;
  /** Reports an error that belongs to no caller (the server's `error` event). */
  reportError(error: unknown): void;

  // Presence (docs/groups.md, "Presence").
  /**
   * This node's presence: its own members (`localEntries`) for other nodes' snapshots, and
   * its copy of the other nodes' members, which the backplane feeds (`applyRemote`,
   * `dropNode` when a node is gone).
   */
  readonly presence: PresenceTable | undefined;

  // History (docs/recovery.md).
  /**
   * This node's group history: a backplane answers the other nodes' history requests from
   * it, and may set its `onGap` to fill the gaps it sees. Internal: history between nodes is
   * built into the mesh and NATS backplanes, not part of the interface others implement.
   * @internal
   */
  readonly history: HistoryStore;
  /**
   * Delivers a message that another node's history filled in (this node missed it: a gap, a
   * reconnect) to local subscribers, kept in history on the way. With `onlyNew`, a message
   * history already holds is not delivered again. True when history did not hold it.
   */
  deliverRecovered(message: BackplaneMessage, onlyNew: boolean): boolean;
}

/** Deliveries of an acknowledged publish on the other nodes. */
export interface BackplaneDeliveries {
  /** Deliveries by node id, for every node with subscribers that answered. */
  nodes: Record<string, number>;
  /** Nodes with subscribers that did not answer in time (or lost the message). */
  missing: string[];
}

/**
 * A message system that carries a wsmesh cluster. One instance serves one server. All
 * methods but `start` and `stop` are synchronous and never throw for transport reasons:
 * sending is best effort while the engine reconnects (see docs/backplane.md for what is
 * at-most-once).
 */
export interface Backplane {
  /** Engine name, e.g. `nats`. */
  readonly kind: string;
  /** Connects and announces this node. Rejects (with a clear error) when the engine cannot be reached. */
  start(host: BackplaneHost): Promise<void>;
  /** Announces this node's departure and disconnects. */
  stop(): Promise<void>;
  /** The other nodes by server id (never this node). */
  readonly nodes: ReadonlyMap<string, BackplaneNode>;

  /** This node has a first local member in `groupId`: receive the group's messages. */
  subscribeGroup(groupId: string): void;
  /** This node has no local member left in `groupId`. */
  unsubscribeGroup(groupId: string): void;
  /**
   * Sends a message published on this node to every other node with members in its target
   * groups: each such node gets it once (a node in several target groups too), in publish
   * order. This node delivers to its own subscribers itself.
   */
  publish(message: BackplaneMessage): void;
  /** Deletes a group on every other node. */
  deleteGroup(groupId: string): void;

  /** This node's functions in a plain namespace (the full list each time it changes). */
  setFunctions(namespace: string, functions: readonly FunctionInfo[]): void;
  /** Functions other nodes offer in a plain namespace (one entry per name). */
  listFunctions(namespace: string): FunctionInfo[];
  /** A function of another node, or undefined. Duplicates on several nodes are load-balanced. */
  resolve(namespace: string, name: string): CallTarget | undefined;

  /** Current state, for stats and the dashboard. */
  state(): BackplaneState;

  // Cluster acknowledgements and presence (docs/groups.md). Unlike the methods above these
  // wait for the other nodes, with a bound: they resolve with what did not answer in time.
  /**
   * Resolves once a message published on any node from now on reaches this node's
   * subscription to `groupId` (made with `subscribeGroup` before), and every node's presence
   * members of the group are in `host.presence`; with the ids of the nodes that did not
   * confirm within `timeout` ms.
   */
  confirmGroup(groupId: string, timeout: number): Promise<string[]>;
  /**
   * Like `publish`, then resolves with the deliveries of every node that has subscribers in
   * the target, or, after `timeout` ms, with the nodes that did not report.
   */
  publishAcked(message: BackplaneMessage, timeout: number): Promise<BackplaneDeliveries>;
  /** This node's own presence members of `groupId` joined or left: nodes with subscribers in it hear. */
  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[]): void;
  /** The presence members of `groupId` on the other nodes (for a node with no subscriber in it). */
  fetchPresence(groupId: string, timeout: number): Promise<PresenceMember[]>;

  /**
   * How a resume asks the other nodes for a group's history (docs/recovery.md), while
   * started; undefined when this backplane has none (a client that resumes then gets only
   * this node's history). @internal
   */
  readonly history?: HistoryPeers | undefined;
}

/** True when `value` looks like a {@link Backplane} (checked by the server's options). */
export function isBackplane(value: unknown): value is Backplane {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.kind === 'string' &&
    typeof candidate.start === 'function' &&
    typeof candidate.stop === 'function' &&
    typeof candidate.publish === 'function' &&
    typeof candidate.subscribeGroup === 'function' &&
    typeof candidate.resolve === 'function'
  );
}
