/**
 * wsmesh: realtime messaging and RPC over WebSockets that scales horizontally.
 *
 * Node entry point: `import { Server, Client } from 'wsmesh'`. It offers everything
 * `wsmesh/client` does (client/exports.ts) plus the server, groups and operations.
 * @module
 */
export * from './client/exports.js';
export { Server } from './server/server.js';
export type {
  ServerEvents,
  ServerEventMap,
  StartOptions,
  ServerMiddleware,
  ServerRoute,
} from './server/server.js';
export type { ServerOptions, AuthFnIn, AuthFnOut, AuthenticateHook } from './server/options.js';
export type { UpgradeRequestInfo, ServerConnectionState } from './server/server-connection.js';
export type { ServerProxyOptions, LinkFunction } from './cluster/link-manager.js';
export type { MeshEndpointOption } from './server/mesh-endpoint.js';
export type { RpcEndpointOptions } from './rpc/endpoint.js';
export type { RemoteClone, RemoteCloneState } from './cluster/remote-clone.js';
export type { CloneManager } from './cluster/clone-manager.js';
export type { Subscriber } from './groups/subscriber.js';
export type { GroupEvent, GroupManagerEvents } from './groups/group-manager.js';
export type { StandardSchemaIssue, StandardSchemaResult } from './rpc/standard-schema.js';
export type {
  FunctionPlace,
  FunctionState,
  GraphEdge,
  GraphNode,
  NodeState,
} from './ops/cluster-state.js';
export type { CounterSample } from './ops/rate-history.js';
export { SERVER_DEFAULTS } from './server/options.js';
export { ServerConnection } from './server/server-connection.js';
export { ServerMessageContext } from './server/context.js';
export type { ContextServer } from './server/context.js';
export { Client } from './client/client.js';
export { RpcProxy } from './client/node-rpc-proxy.js';
export type { RpcCallContext, CallContext } from './rpc/call-context.js';
export type { CallTarget, PullIterator } from './rpc/call-target.js';
export type { GroupTarget } from './protocol/frames.js';
export type {
  Backplane,
  BackplaneHost,
  BackplaneMessage,
  BackplaneNode,
  BackplaneState,
  BackplaneDeliveries,
} from './backplane/backplane.js';
export { PresenceTable } from './groups/presence-table.js';
export type { PresenceEntry, PresenceListener, PresenceMember } from './groups/presence-table.js';
export type { OriginOptions } from './rpc/registry.js';
export type { StandardSchemaV1 } from './rpc/standard-schema.js';
export type { SharedLogger, ServerStats } from './server/server.js';
export type { RouteStats } from './routing/route-counters.js';
export { createConsoleLogger } from './ops/logger.js';
export type { WsMeshLogger, LogLevel } from './ops/logger.js';
export type { MetricsOption, DashboardOption } from './ops/ops-options.js';
export type { ClusterState } from './ops/cluster-state.js';
export type { FunctionStats } from './ops/rpc-stats.js';
export type { ClonePeerStats } from './ops/clone-peers.js';
export { Group } from './groups/group.js';
export type { GroupSendOptions } from './groups/group.js';
export { GroupManager } from './groups/group-manager.js';
export type { ClusterDelivery, GroupsSendOptions } from './groups/group-manager.js';
export type { HistoryOptions } from './groups/history.js';
export type { GroupPosition } from './groups/positions.js';
export type { PresenceOptions } from './server/presence-options.js';
export { FrameType } from './protocol/frames.js';
