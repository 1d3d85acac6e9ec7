/**
 * `server.stats()`: the figures of one server, gathered from its parts (the same figures the
 * metrics endpoint exports and the dashboard shows).
 * @module
 */
import type { BackplaneState } from '../backplane/backplane.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { ResumeCoordinator } from '../groups/resume.js';
import { clonePeerStats } from '../ops/clone-peers.js';
import type { ServerStats } from '../ops/server-stats.js';
import type { OpsEndpoint } from '../ops/ops-endpoint.js';
import type { FunctionRegistry } from '../rpc/registry.js';
import type { RouteCounters } from '../routing/route-counters.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { MessageDispatcher } from './dispatcher.js';
import type { ServerEndpoint } from './endpoint.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

export type { ServerStats } from '../ops/server-stats.js';

/** @internal The public parts of a server that `stats()` reads. */
export interface StatsHost {
  readonly id: string;
  readonly routeCounters: RouteCounters;
  readonly active: boolean;
  readonly clients: ReadonlyMap<string, ServerConnection>;
  readonly groups: GroupManager<ServerConnection>;
  readonly clones: CloneManager;
  readonly responder: RpcResponder;
  readonly registry: FunctionRegistry;
  readonly resumes: ResumeCoordinator;
}

/** @internal The private parts of a server that `stats()` reads. */
export interface StatsParts {
  readonly sockets: ReadonlySet<ServerConnection>;
  readonly dispatcher: Pick<
    MessageDispatcher<ServerCore>,
    'messagesIn' | 'publishes' | 'rateLimited' | 'subscriptionsRefused'
  >;
  readonly endpoint: ServerEndpoint;
  readonly links: LinkManager;
  readonly ops: OpsEndpoint | undefined;
  readonly backplane: { state(): BackplaneState; readonly healed: number } | undefined;
}

/** @internal Gathers the current figures of a server. */
export function collectStats(server: StatsHost, parts: StatsParts): ServerStats {
  const relay = server.clones.relayStats;
  const bounds = server.clones.boundStats;
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
    history: {
      kept: server.groups.history.size,
      recovered: server.resumes.messagesRecovered,
      resumesComplete: server.resumes.resumesComplete,
      resumesIncomplete: server.resumes.resumesIncomplete,
      resumesRunning: server.resumes.running,
      resumesWaiting: server.resumes.queued,
      healed: server.clones.history.healed + (parts.backplane?.healed ?? 0),
    },
    clones: {
      known: server.clones.clones.size,
      linked: server.clones.links.size,
      relayedOut: relay.relayedOut,
      relayedIn: relay.relayedIn,
      framesUnsent: server.clones.framesUnsent,
      peers: clonePeerStats(server.clones),
      records: bounds.records,
      refused: bounds.refused,
      addressed: bounds.addressed,
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
