/**
 * The types server listeners, middlewares and routes are written against: the payloads of
 * server events, and the middleware and route signatures.
 * @module
 */
import type { GroupManager } from '../groups/group-manager.js';
import type { WirePayload } from '../protocol/codec.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import type { Middleware, RouteDefinition } from '../routing/router.js';
import type { ServerMessageContext } from './context.js';
import type { ServerConnection } from './server-connection.js';
import type { Server } from './server.js';

/** Options of `server.start()`. */
export interface StartOptions {
  /** Skip UTF-8 validation of text frames (trusted peers only). @default false */
  skipUTF8Validation?: boolean | undefined;
  /** `listen` backlog when the server opens its own port. @default 511 (Node's default) */
  backlog?: number | undefined;
}

/** Payloads of server events. */
export interface ServerEvents {
  start: { server: Server };
  stop: { server: Server };
  connection: { server: Server; ws: ServerConnection };
  closeClient: { server: Server; ws: ServerConnection; code: number; reason: string };
  error: { server: Server; error: Error; ws?: ServerConnection };
  noRouting: {
    server: Server;
    ws: ServerConnection;
    groups: GroupManager<ServerConnection>;
    data: unknown;
    mes: WsMeshMessage;
    raw: WirePayload;
  };
  auth: { server: Server; clone: { id: string; url: string | null } };
  authError: { server: Server; clone: { id: string; url: string | null }; error?: Error };
}

/** Middleware signature of the server. */
export type ServerMiddleware = Middleware<ServerMessageContext>;
/** Route definition of the server. */
export type ServerRoute = RouteDefinition<ServerMessageContext>;
