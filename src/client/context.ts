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

/**
 * @internal What the messages of one frame share: every message of a pack has the same `raw`,
 * client, target, route and act, so a pack makes this once and each message's context points
 * to it.
 */
export class MessageOrigin<Owner> {
  constructor(
    readonly raw: WirePayload,
    readonly client: Owner,
    readonly target: GroupTarget,
    readonly route: string | null,
    readonly act: string | null,
  ) {}
}

// A subscriber makes a context for every message it receives, so this one is built to be
// small and cheap: three fields (what the messages of a pack share is in one MessageOrigin),
// as the bytes allocated per message set how often the young generation is collected (S2's
// subscribers spent more time in GC than the limit's). A message that is not part of a pack
// makes an origin of its own. It is a MessageContext without `extends`: the interface above
// (declaration merging) makes it one for the compiler, the prototype link at the end of this
// module at run time (`instanceof`, `stop`), with `client` and `stopped` (false until `stop()`
// sets it) defined there too. On Node 20, constructing an instance of a derived class costs
// about 20 ns more than one of a base class (bench/client-receive.ts). A group message's
// `mes` is made only when something reads it: most handlers read `data` only.

/**
 * What client middlewares and handlers receive: `{client, data, mes, stop, raw}`. An
 * instance of {@link MessageContext}.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see above
export class ClientMessageContext<Owner = unknown> {
  /** `mes` once made (at once when the context was made with it). */
  declare private made: IncomingMessage | undefined;
  /** The group message's data, when `mes` is made later. */
  declare private readonly payload: unknown;
  declare private readonly origin: MessageOrigin<Owner>;

  /**
   * @internal A context of `origin`'s message: `mes` as received, or (a group message:
   * `awaitRes` false, no position) undefined and made on first read from `origin` and
   * `payload`, its data. An array target is copied then: each message gets its own.
   */
  constructor(origin: MessageOrigin<Owner>, mes: IncomingMessage | undefined, payload?: unknown) {
    this.made = mes;
    this.payload = payload;
    this.origin = origin;
  }

  /** The message. */
  get mes(): IncomingMessage {
    if (this.made === undefined) {
      const { route, act, target } = this.origin;
      this.made = {
        kind: 'message',
        route,
        act,
        data: this.payload,
        awaitRes: false,
        group: Array.isArray(target) ? [...target] : target,
      };
    }
    return this.made;
  }

  /** The message payload (`mes.data`). */
  get data(): unknown {
    return this.made === undefined ? this.payload : this.made.data;
  }

  /** The undecoded frame as it arrived (a packed group message: the whole pack). */
  get raw(): WirePayload {
    return this.origin.raw;
  }
}

Object.setPrototypeOf(ClientMessageContext.prototype, MessageContext.prototype);
Object.setPrototypeOf(ClientMessageContext, MessageContext);
Object.defineProperties(ClientMessageContext.prototype, {
  stopped: { value: false, writable: true, configurable: true },
  client: {
    get(this: { origin: MessageOrigin<unknown> }) {
      return this.origin.client;
    },
    configurable: true,
  },
});
