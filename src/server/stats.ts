/**
 * `server.stats()`: the figures of one server, gathered from its parts (the same figures the
 * metrics endpoint exports and the dashboard shows).
 * @module
 */
import type { BackplaneState } from '../backplane/backplane.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { GroupManager } from '../groups/group-manager.js';
import { clonePeerStats, type ClonePeerStats } from '../ops/clone-peers.js';
import type { OpsEndpoint } from '../ops/ops-endpoint.js';
import type { FunctionStats } from '../ops/rpc-stats.js';
import type { FunctionRegistry } from '../rpc/registry.js';
import type { RouteCounters, RouteStats } from '../routing/route-counters.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { MessageDispatcher } from './dispatcher.js';
import type { ServerEndpoint } from './endpoint.js';
import type { ServerConnection } from './server-connection.js';

/** Figures returned by `server.stats()`. */
export interface ServerStats {
  id: string;
  active: boolean;
  /** Clients that completed the handshake. */
  clients: number;
  /** Open sockets, including handshaking ones and clone links. */
  sockets: number;
  /** Messages (MESSAGE frames) received from clients. */
  messagesIn: number;
  /**
   * Messages in (from clients) and out (sent by this server, group publishes once each) per
   * route; see {@link RouteStats} for the `(none)`, `(unrouted)` and `(other)` labels.
   */
  routes: RouteStats[];
  /** Upgrades refused by `maxConnections` or `maxConnectionsPerIp`. */
  rejectedConnections: number;
  /** Frames refused by `rateLimit`. */
  rateLimited: number;
  /** Group messages published on this server. */
  publishes: number;
  /** Deliveries of group messages to this server's connections (local and relayed). */
  deliveries: number;
  /**
   * Group messages not written to a connection because they are larger than the `maxPayload`
   * that connection announced in HELLO (the connection stays open and gets the next ones).
   */
  groupMessagesTooLarge: number;
  groups: number;
  /** Memberships (connection-group pairs) on this server; capped by `maxSubscriptions`. */
  subscriptions: number;
  /** Client subscriptions refused by the server-wide `maxGroups` or `maxSubscriptions`. */
  subscriptionsRefused: number;
  clones: {
    known: number;
    linked: number;
    relayedOut: number;
    relayedIn: number;
    /**
     * Clone frames not sent although the link was up (larger than the peer's maxPayload, or
     * not encodable); each is also reported through the `error` event.
     */
    framesUnsent: number;
    /** Every known clone: state, link latency, relay frames to and from it. */
    peers: ClonePeerStats[];
  };
  /** The backplane's state when the `backplane` option is set (NATS...), else null. */
  backplane: BackplaneState | null;
  /** Live RPC server links (`createServerProxy`, both directions; clone links not included). */
  serverLinks: number;
  rpc: {
    calls: number;
    errors: number;
    namespaces: number;
    /** Per-function calls, errors and latency; filled when `metrics` or `dashboard` is on. */
    functions: FunctionStats[];
  };
}

/** The public parts of a server that `stats()` reads. */
export interface StatsHost {
  readonly id: string;
  readonly routeCounters: RouteCounters;
  readonly active: boolean;
  readonly clients: ReadonlyMap<string, ServerConnection>;
  readonly groups: GroupManager<ServerConnection>;
  readonly clones: CloneManager;
  readonly responder: RpcResponder;
  readonly registry: FunctionRegistry;
}

/** The private parts of a server that `stats()` reads. */
export interface StatsParts {
  readonly sockets: ReadonlySet<ServerConnection>;
  readonly dispatcher: MessageDispatcher;
  readonly endpoint: ServerEndpoint;
  readonly links: LinkManager;
  readonly ops: OpsEndpoint | undefined;
  readonly backplane: { state(): BackplaneState } | undefined;
}

/** Gathers the current figures of a server. */
export function collectStats(server: StatsHost, parts: StatsParts): ServerStats {
  const relay = server.clones.relayStats;
  return {
    id: server.id,
    active: server.active,
    clients: server.clients.size,
    sockets: parts.sockets.size,
    messagesIn: parts.dispatcher.messagesIn,
    routes: server.routeCounters.snapshot(),
    rejectedConnections: parts.endpoint.rejectedConnections,
    rateLimited: parts.dispatcher.rateLimited,
    publishes: parts.dispatcher.publishes,
    deliveries: server.groups.deliveries,
    groupMessagesTooLarge: server.groups.tooLarge,
    groups: server.groups.size,
    subscriptions: server.groups.subscriptions,
    subscriptionsRefused: parts.dispatcher.subscriptionsRefused,
    clones: {
      known: server.clones.clones.size,
      linked: server.clones.links.size,
      relayedOut: relay.relayedOut,
      relayedIn: relay.relayedIn,
      framesUnsent: server.clones.framesUnsent,
      peers: clonePeerStats(server.clones),
    },
    backplane: parts.backplane?.state() ?? null,
    serverLinks: parts.links.list().filter((link) => link.namespace !== null).length,
    rpc: {
      calls: server.responder.callsServed,
      errors: server.responder.callErrors,
      namespaces: server.registry.namespaceNames().length,
      functions: parts.ops?.callStats.snapshot() ?? [],
    },
  };
}
