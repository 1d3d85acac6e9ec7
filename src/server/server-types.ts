/**
 * The types the server and its parts share: what the parts use of the server, the payloads
 * of server events, and the options of `start()`.
 * @module
 */
import type { GroupManager } from '../groups/group-manager.js';
import type { ResumeCoordinator } from '../groups/resume.js';
import type { WirePayload } from '../protocol/codec.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import type { Frame } from '../protocol/frames.js';
import type { RouteCounters } from '../routing/route-counters.js';
import type { ResolvedServerOptions } from './options.js';
import type { ServerConnection } from './server-connection.js';

/** Options of `server.start()`. */
export interface StartOptions {
  /** Skip UTF-8 validation of text frames (trusted peers only). @default false */
  skipUTF8Validation?: boolean | undefined;
  /** `listen` backlog when the server opens its own port. @default 511 (Node's default) */
  backlog?: number | undefined;
}

/**
 * @internal What the server's parts (handshake, dispatcher) use of it, so they take the
 * server without importing its class.
 */
export interface ServerCore {
  readonly id: string;
  readonly options: ResolvedServerOptions;
  readonly clients: Map<string, ServerConnection>;
  readonly groups: GroupManager<ServerConnection>;
  readonly clones: CloneManager;
  readonly routeCounters: RouteCounters;
  /** Subscriptions resumed from a position (SUBSCRIBE_SINCE). */
  readonly resumes: ResumeCoordinator;
  /** The backplane this node runs on, if any. */
  readonly backplaneKind: string | undefined;
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void;
  connectionError(ws: ServerConnection, error: Error): void;
  emitNoRouting(ws: ServerConnection, mes: WsMeshMessage, raw: WirePayload): void;
  reportError(error: unknown, ws?: ServerConnection): void;
}

/**
 * Payloads of server events, for a server of type `S`. The server instantiates it with
 * itself (`ServerEvents`), so its parts can emit them without importing it.
 */
export interface ServerEventMap<S> {
  start: { server: S };
  stop: { server: S };
  connection: { server: S; ws: ServerConnection };
  closeClient: { server: S; ws: ServerConnection; code: number; reason: string };
  error: { server: S; error: Error; ws?: ServerConnection };
  noRouting: {
    server: S;
    ws: ServerConnection;
    groups: GroupManager<ServerConnection>;
    data: unknown;
    mes: WsMeshMessage;
    raw: WirePayload;
  };
  auth: { server: S; clone: { id: string; url: string | null } };
  authError: { server: S; clone: { id: string; url: string | null }; error?: Error };
}
