/**
 * Context of a message handled by the server.
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import { MessageContext, type IncomingMessage } from '../routing/message.js';
import type { ServerConnection } from './server-connection.js';
import type { GroupManager } from '../groups/group-manager.js';

/** What a message context reads of its server. */
export interface ContextServer {
  readonly id: string;
  readonly groups: GroupManager<ServerConnection>;
}

/**
 * What server middlewares and handlers receive: `{ws, groups, data, mes, stop, raw, server}`.
 * Routes and middlewares of a `Server` get `ServerMessageContext<Server>`.
 */
export class ServerMessageContext<S extends ContextServer = ContextServer> extends MessageContext {
  constructor(
    mes: IncomingMessage,
    raw: WirePayload,
    /** The connection the message came from. */
    readonly ws: ServerConnection,
    /** The server handling the message. */
    readonly server: S,
  ) {
    super(mes, raw);
  }

  /** The server's groups (`server.groups`). */
  get groups(): S['groups'] {
    return this.server.groups;
  }
}
