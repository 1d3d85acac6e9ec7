/**
 * Context of a message handled by a client.
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import type { GroupTarget } from '../protocol/frames.js';
import { MessageContext, type IncomingMessage } from '../routing/message.js';

/** What client middlewares and handlers receive: `{client, data, mes, stop, raw}`. */
export interface ClientMessageContext<Owner = unknown> extends MessageContext {
  /** The client that received the message. */
  readonly client: Owner;
}

// A subscriber makes a context for every message it receives, so this one is built to be
// cheap. It is a MessageContext without `extends`: the interface above (declaration merging)
// makes it one for the compiler, the prototype link at the end of this module at run time
// (`instanceof`, `stop`). On Node 20, constructing an instance of a derived class costs about
// 20 ns more than one of a base class (bench/client-receive.ts, 38 against 17 ns a message
// from a parsed pack to the handler). And a group message's `mes` is made only when something
// reads it: most handlers read `data` only.

/**
 * What client middlewares and handlers receive: `{client, data, mes, stop, raw}`. An
 * instance of {@link MessageContext}.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see above
export class ClientMessageContext<Owner = unknown> {
  /** `mes` once made (at once when the constructor was given it). */
  declare private made: IncomingMessage | undefined;
  // What `mes` is made of, when it is made later.
  declare private readonly payload: unknown;
  declare private readonly route: string | null;
  declare private readonly act: string | null;
  declare private readonly target: GroupTarget;

  constructor(mes: IncomingMessage, raw: WirePayload, client: Owner) {
    this.stopped = false;
    const fields = this as { raw: WirePayload; client: Owner };
    fields.raw = raw;
    fields.client = client;
    this.made = mes;
    this.payload = undefined;
    this.route = null;
    this.act = null;
    this.target = null;
  }

  /**
   * @internal The context of a group message (`awaitRes` false, no position) whose `mes` is
   * made on first read. An array `target` is copied then: each message gets its own.
   */
  static ofGroupMessage<Owner>(
    raw: WirePayload,
    client: Owner,
    target: GroupTarget,
    route: string | null,
    act: string | null,
    data: unknown,
  ): ClientMessageContext<Owner> {
    const context = new ClientMessageContext<Owner>(undefined as never, raw, client);
    const fields = context as unknown as {
      payload: unknown;
      route: string | null;
      act: string | null;
      target: GroupTarget;
    };
    fields.payload = data;
    fields.route = route;
    fields.act = act;
    fields.target = target;
    return context;
  }

  /** The message. */
  get mes(): IncomingMessage {
    this.made ??= {
      kind: 'message',
      route: this.route,
      act: this.act,
      data: this.payload,
      awaitRes: false,
      group: Array.isArray(this.target) ? [...this.target] : this.target,
    };
    return this.made;
  }

  /** The message payload (`mes.data`). */
  get data(): unknown {
    return this.made === undefined ? this.payload : this.made.data;
  }
}

Object.setPrototypeOf(ClientMessageContext.prototype, MessageContext.prototype);
Object.setPrototypeOf(ClientMessageContext, MessageContext);
