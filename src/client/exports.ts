/**
 * What `wsmesh/client` exports besides `Client`, `WebClient` and `RpcProxy`, shared by its
 * browser entry (src/browser.ts) and its Node entry (src/client-node.ts) so both offer the
 * same names. Nothing here touches a platform API.
 * @module
 */
export { BaseClient } from './base-client.js';
export type {
  ClientEvents,
  ClientEventMap,
  ClientInfo,
  ClientState,
  GroupMessageOptions,
  MessagePosition,
  RecoverEvent,
  SubscribeOptions,
  ClientMiddleware,
  ClientRoute,
} from './base-client.js';
export type { ClientOptions } from './options.js';
export type { PresenceEvent, PresenceListEntry } from './client-groups.js';
export type { ConnectFailureData, ConnectFailureReason } from './connect-failure.js';
export type {
  ActField,
  ActName,
  ClientSide,
  DataField,
  DataOf,
  HandlerResult,
  IfTyped,
  IsSpec,
  IsUntyped,
  MessageSpec,
  MessageTypes,
  ResOf,
  RouteName,
  RoutesOf,
  ServerSide,
  SpecOf,
  TypedGroupOptions,
  TypedRoute,
  TypedSendOptions,
  UntypedRoutes,
} from '../routing/message-types.js';
export type { Middleware, RouteDefinition, RouteHandler } from '../routing/router.js';
export type { Emitter, EventsOf, Listener } from '../util/emitter.js';
export type { PeerKind } from '../protocol/frames.js';
export type { WirePayload } from '../protocol/codec.js';
export type { TlsOptions } from '../transport/dialer.js';
export { CLIENT_DEFAULTS } from './options.js';
export { ClientMessageContext } from './context.js';
export type { RpcProxyOptions } from './rpc-proxy.js';
export type {
  CallOrStream,
  RpcProxyMembers,
  RemoteFunction,
  RemoteResult,
  StreamItem,
  StreamName,
  UntypedApi,
} from '../rpc/proxy.js';
export type { CallOptions } from '../rpc/rpc-caller.js';
export { DEFAULT_NAMESPACE } from '../rpc/registry.js';
export type { FunctionInfo } from '../protocol/frames.js';
export type { IncomingMessage, MessageKind } from '../routing/message.js';
export { MessageContext } from '../routing/message.js';
export type {
  SendMessageOptions,
  AwaitedSendMessageOptions,
  ResponseResult,
} from '../routing/send-message.js';
export { PROTOCOL_VERSION, CloseCode } from '../protocol/frames.js';
export { Subprotocol } from '../protocol/codec.js';
export type { CodecName } from '../protocol/codec.js';
export * from '../errors.js';
