/**
 * Context of a message handled by the server.
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import { MessageContext, type IncomingMessage } from '../routing/message.js';
import type { ServerConnection } from './server-connection.js';
import type { Server } from './server.js';

/** What server middlewares and handlers receive: `{ws, groups, data, mes, stop, raw, server}`. */
export class ServerMessageContext extends MessageContext {
  constructor(
    mes: IncomingMessage,
    raw: WirePayload,
    /** The connection the message came from. */
    readonly ws: ServerConnection,
    /** The server handling the message. */
    readonly server: Server,
  ) {
    super(mes, raw);
  }

  /** The server's groups (`server.groups`). */
  get groups(): Server['groups'] {
    return this.server.groups;
  }
}
