/**
 * The message object handed to middlewares and route handlers, and its context.
 * @module
 */
import type { WirePayload } from '../protocol/codec.js';
import type { GroupTarget } from '../protocol/frames.js';

/**
 * What a message asks for. Routes only see `message`; middlewares see every kind, so they
 * can refuse a subscription or a publish (throw, or `stop()`).
 */
export type MessageKind = 'message' | 'subscribe' | 'unsubscribe' | 'publish' | 'presence';

/** A message as middlewares and routes see it. */
export interface IncomingMessage {
  /** What the peer asks for. */
  kind: MessageKind;
  /** Route name, or null. */
  route: string | null;
  /** Action name within the route, or null. */
  act: string | null;
  /** Payload. */
  data: unknown;
  /** True when the sender awaits a reply (the handler's return value). */
  awaitRes: boolean;
  /**
   * For `subscribe`/`unsubscribe`/`presence`: the group id. For `publish` and for group messages a client
   * receives: the target (one id, several, or null = every group).
   */
  group?: GroupTarget;
  /** For `publish`: true when the publisher asked not to get its own message. */
  notSendMe?: boolean;
  /**
   * For group messages a client receives from groups that keep history: the client's
   * position in each group the message came through, by group id. Opaque and
   * JSON-serialisable; `subscribe({ id, since: mes.position })` resumes from it.
   */
  position?: Record<string, { s: Record<string, number>; t: number }>;
}

/**
 * Per-message context. Owners (server, client) extend it with their own fields, such as the
 * connection `ws`. `stop()` ends processing; the value returned by the middleware or handler
 * that called it becomes the reply.
 */
export class MessageContext {
  // Fields are declared, not defined, and set in the constructor: a context is made for every
  // message, and on Node 20 a base class with class fields makes each construction of a
  // subclass slower (a ServerMessageContext made and read by a handler: 40 against 22 ns).
  /** Set by `stop()`. */
  declare stopped: boolean;
  /** The message. */
  declare readonly mes: IncomingMessage;
  /** The undecoded frame as it arrived (a packed group message: the whole pack). */
  declare readonly raw: WirePayload;
  declare private stopFn: (() => void) | undefined;

  constructor(mes: IncomingMessage, raw: WirePayload) {
    this.stopped = false;
    this.mes = mes;
    this.raw = raw;
    this.stopFn = undefined;
  }

  /** The message payload (`mes.data`). */
  get data(): unknown {
    return this.mes.data;
  }

  /** Ends processing after the current middleware or handler. Safe to destructure. */
  get stop(): () => void {
    // Created on first use only: most handlers never stop.
    this.stopFn ??= () => {
      this.stopped = true;
    };
    return this.stopFn;
  }
}
