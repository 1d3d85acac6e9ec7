/**
 * Context of a message handled by a client.
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import { MessageContext, type IncomingMessage } from '../routing/message.js';

/** What client middlewares and handlers receive: `{client, data, mes, stop, raw}`. */
export class ClientMessageContext<Owner = unknown> extends MessageContext {
  constructor(
    mes: IncomingMessage,
    raw: WirePayload,
    /** The client that received the message. */
    readonly client: Owner,
  ) {
    super(mes, raw);
  }
}
