/**
 * The client, independent of platform: its public API. Connecting and reconnecting is the
 * {@link ClientConnector}'s job, frames from the server go through a {@link ClientFrameRouter},
 * groups are kept across reconnects by {@link ClientGroups}, and frames written while offline
 * wait in the {@link Outbox}. The Node and browser clients differ only in the {@link Dialer}
 * they pass in.
 * @module
 */
import { InvalidArgumentError, InvalidOptionError, NotConnectedError } from '../errors.js';
import { FrameType, type PeerKind, type RequestBuilder } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import type { Middleware, RouteDefinition } from '../routing/router.js';
import {
  checkSendOptions,
  messageFrame,
  settleModes,
  type AwaitedSendMessageOptions,
  type SendMessageOptions,
} from '../routing/send-message.js';
import type { Dialer } from '../transport/dialer.js';
import type { CipherFactory } from '../transport/frame-cipher.js';
import { RpcCaller } from '../rpc/rpc-caller.js';
import { createProxy, type RpcBackend, type RpcProxy, type UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import { Emitter } from '../util/emitter.js';
import { ClientConnector } from './client-connector.js';
import type { ClientEventMap, ClientInfo } from './client-events.js';
import {
  ClientGroups,
  presenceRows,
  publishFrame,
  type GroupMessageOptions,
  type PresenceListEntry,
  type SubscribeOptions,
} from './client-groups.js';
import { ClientFrameRouter } from './client-router.js';
import type { ClientMessageContext } from './context.js';
import type {
  ActName,
  ClientSide,
  IfTyped,
  MessageTypes,
  ResOf,
  RouteName,
  ServerSide,
  SpecOf,
  TypedGroupOptions,
  TypedRoute,
  TypedSendOptions,
} from '../routing/message-types.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { Outbox } from './outbox.js';

export type { GroupMessageOptions, RecoverEvent, SubscribeOptions } from './client-groups.js';
export type { MessagePosition } from './client-positions.js';
export type { ClientEventMap, ClientInfo, ClientState } from './client-events.js';

/** Payloads of client events. */
export type ClientEvents = ClientEventMap<BaseClient>;

/** Client middleware. */
export type ClientMiddleware<C> = Middleware<ClientMessageContext<C>>;
/** Client route definition. */
export type ClientRoute<C> = RouteDefinition<ClientMessageContext<C>>;

/**
 * Platform-independent wsmesh client. Use `Client` (Node) or `WebClient` (browsers).
 * `M` declares the messages ({@link MessageTypes}); without it every message is untyped.
 */
function checkGroupId(options: { id: string }, method: string): string {
  if (!isName(options?.id))
    throw new InvalidArgumentError(`${method}: id must be a non-empty string`);
  return options.id;
}

export class BaseClient<M extends MessageTypes = MessageTypes> extends Emitter<ClientEvents> {
  /** Client id (sent to servers in HELLO). */
  readonly id: string;
  /** User data. */
  data: unknown;

  /** @internal */
  readonly options: ResolvedClientOptions;
  /** Middlewares and routes, and the sink of the server's frames. */
  private readonly router: ClientFrameRouter<this>;
  private readonly outbox: Outbox;
  private readonly groups: ClientGroups;
  private readonly connector: ClientConnector<BaseClient>;
  private readonly rpcCaller: RpcCaller;

  /** @internal Platform clients (`Client`, `WebClient`) pass their dialer. */
  constructor(
    options: ClientOptions,
    dialer: Dialer,
    /** @internal What this client announces itself as (`rpc` for RpcProxy). */
    kind: PeerKind = 'client',
    /** @internal Payload encryption of this platform, when it has one (Node). */
    cipherFactory?: CipherFactory,
  ) {
    super();
    this.options = resolveClientOptions(options);
    this.id = this.options.id;
    this.data = this.options.data;
    this.outbox = new Outbox(this.options.maxQueue);
    const reportError = (error: unknown): void => this.reportError(error);
    this.groups = new ClientGroups(this.options.awaitResTimeout, reportError, () => this.data);
    this.groups.onRecover = ({ group, recovered }) =>
      this.emit('recover', { client: this, group, recovered });
    this.groups.onPresenceEvent = (event, joined) =>
      this.emit(joined ? 'join' : 'leave', { client: this, ...event });
    this.rpcCaller = new RpcCaller({
      request: (build, callOptions) =>
        this.transmit(build, true, callOptions.timeout, callOptions.signal),
      send: (frame) => {
        const connection = this.connector.liveConnection();
        if (connection === undefined) throw new NotConnectedError('Not connected');
        connection.send(frame);
      },
    });
    this.router = new ClientFrameRouter(this, this.groups, this.rpcCaller, reportError);
    this.connector = new ClientConnector({
      client: this,
      options: this.options,
      kind,
      dialer,
      cipherFactory,
      frames: this.router,
      groups: this.groups,
      outbox: this.outbox,
      rpcCaller: this.rpcCaller,
      emit: (event, payload) => this.emit(event, payload),
      reportError,
    });
  }

  /**
   * An RPC proxy to `namespace` over this client's connection; resolves once the namespace's
   * functions are known. Closing it does not close the client.
   */
  rpc<Api = UntypedApi>(namespace: string = DEFAULT_NAMESPACE): Promise<RpcProxy<Api>> {
    return createProxy<Api>(this.rpcBackend(), namespace, async () => undefined);
  }

  /** @internal What a proxy over this connection calls through (`RpcProxy.create` uses it). */
  rpcBackend(): RpcBackend {
    const caller = this.rpcCaller;
    return {
      call: (ns, name, args, callOptions) => caller.call(ns, name, args, callOptions),
      stream: (ns, name, args, callOptions) => caller.stream(ns, name, args, callOptions),
      list: (ns) => caller.list(ns),
      watch: (ns, listener) => caller.watch(ns, listener),
    };
  }

  /** True while a connection is established. */
  get connected(): boolean {
    return this.connector.state === 'open';
  }

  /** Adds a middleware for messages the server sends to this client. */
  use(middleware: ClientMiddleware<this>): this {
    this.router.use(middleware);
    return this;
  }

  /**
   * Adds a route for messages the server sends to this client. With declared client routes
   * (`M['client']`), the handler's `data` and return value are typed from them; a route
   * without `route` (catch-all) sees `data: unknown`.
   */
  addRoute<
    Route extends RouteName<ClientSide<M>>,
    Act extends ActName<ClientSide<M>, Route> = never,
  >(
    definition: IfTyped<
      ClientSide<M>,
      TypedRoute<ClientMessageContext<this>, ClientSide<M>, Route, Act>,
      never
    >,
  ): this;
  addRoute(
    definition: IfTyped<
      ClientSide<M>,
      ClientRoute<this> & { route?: undefined },
      ClientRoute<this>
    >,
  ): this;
  addRoute(definition: unknown): this {
    this.router.addRoute(definition as ClientRoute<this>);
    return this;
  }

  /**
   * Connects. Resolves once the first connection is established, before `open` listeners
   * run; rejects if the client gives up first (`failFast`, `attempts`, `reconnect: false`,
   * refused authentication) or is stopped first. Takes no options: they belong to the
   * constructor.
   */
  start(): Promise<void> {
    // JavaScript callers may pass what the clone library's start() took.
    if (arguments.length > 0) {
      return Promise.reject(
        new InvalidOptionError('client.start() takes no options: give them to new Client()'),
      );
    }
    return this.connector.start();
  }

  /** Closes the connection, stops reconnecting and fails everything still waiting. */
  stop(): Promise<void> {
    return this.connector.stop();
  }

  /**
   * Sends a message: fire-and-forget (resolves once written), with `cbAfterRes`, or with
   * `awaitRes` (resolves with the reply; rejects with `TimeoutError`, `RemoteError`...).
   * While reconnecting, messages wait in a bounded queue and go out on reconnect.
   */
  sendMes<
    Route extends RouteName<ServerSide<M>>,
    Act extends ActName<ServerSide<M>, Route> = never,
  >(
    options: IfTyped<
      ServerSide<M>,
      TypedSendOptions<ServerSide<M>, Route, Act> & { awaitRes: true },
      never
    >,
  ): Promise<ResOf<SpecOf<ServerSide<M>, Route, Act>>>;
  sendMes<
    Route extends RouteName<ServerSide<M>>,
    Act extends ActName<ServerSide<M>, Route> = never,
  >(
    options: IfTyped<ServerSide<M>, TypedSendOptions<ServerSide<M>, Route, Act>, never>,
  ): Promise<void>;
  sendMes<T = unknown>(
    options: IfTyped<ServerSide<M>, never, AwaitedSendMessageOptions>,
  ): Promise<T>;
  sendMes(options: IfTyped<ServerSide<M>, never, SendMessageOptions>): Promise<unknown>;
  sendMes(input: unknown): Promise<unknown> {
    // Checked here: JavaScript callers may pass anything.
    const options = input as SendMessageOptions;
    try {
      checkSendOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const isRequest = options.awaitRes === true || options.cbAfterRes !== undefined;
    const reply = this.transmit(
      (id) => messageFrame(options, id),
      isRequest,
      options.timeout,
      options.signal,
    );
    return isRequest ? settleModes(reply, options) : reply;
  }

  /**
   * Joins a group. Kept across reconnects, resumed from the client's position in groups that
   * keep history; `since` resumes from a saved `mes.position`. Refused subscriptions reject.
   * Resolves once every node of the cluster knows of the subscription: a message published
   * anywhere afterwards reaches this client. `presence: true` lists this client (its `id` and
   * `data`) in the group's presence and emits `join` and `leave` for the group's other members.
   */
  subscribe(options: SubscribeOptions): Promise<void> {
    return this.groups.subscribe(options, this.connector.liveConnection());
  }

  /** Who is in the presence of group `id`, on every node of the cluster. */
  async presence(options: { id: string }): Promise<PresenceListEntry[]> {
    const id = checkGroupId(options, 'presence');
    return presenceRows(
      await this.transmit(
        (requestId) => [FrameType.PRESENCE, requestId, id, false],
        true,
        undefined,
        undefined,
      ),
    );
  }

  /** How many members the presence of group `id` has, on every node, without the list. */
  async presenceCount(options: { id: string }): Promise<number> {
    const id = checkGroupId(options, 'presenceCount');
    const count = await this.transmit(
      (requestId) => [FrameType.PRESENCE, requestId, id, true],
      true,
      undefined,
      undefined,
    );
    return typeof count === 'number' ? count : 0;
  }

  /** Leaves a group. */
  unsubscribe(options: { id: string }): Promise<void> {
    return this.groups.unsubscribe(options, this.connector.liveConnection());
  }

  /** Ids of the groups this client is in (known locally, so synchronous). */
  getMyGroups(): string[] {
    return this.groups.list();
  }

  /**
   * Publishes to one group, several, or all (no `id`). With declared client routes
   * (`M['client']`), `route`, `act` and `data` are checked against them.
   */
  sendMesToGroup<
    Route extends RouteName<ClientSide<M>>,
    Act extends ActName<ClientSide<M>, Route> = never,
  >(
    options: IfTyped<ClientSide<M>, TypedGroupOptions<ClientSide<M>, Route, Act>, never>,
  ): Promise<unknown>;
  sendMesToGroup(options?: IfTyped<ClientSide<M>, never, GroupMessageOptions>): Promise<unknown>;
  sendMesToGroup(input?: unknown): Promise<unknown> {
    const options = (input ?? {}) as GroupMessageOptions;
    let build: RequestBuilder;
    try {
      build = publishFrame(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.transmit(build, options.awaitRes === true, options.timeout, undefined);
  }

  /** State of the client. */
  getInfo(): ClientInfo {
    return this.connector.info();
  }

  /** Adds a server url to the round-robin list. Returns false if it was there. */
  addUrl(url: string): boolean {
    return this.connector.urls.add(url);
  }

  /**
   * Removes a url (default: the current one). The current connection stays up; the url is
   * not used for the next attempts. Returns false if it was not in the list.
   */
  deleteUrl(url?: string): boolean {
    return this.connector.urls.delete(url);
  }

  /** Switches to the next url now (closing the current connection). Returns that url. */
  nextUrl(): string | undefined {
    return this.connector.nextUrl();
  }

  /**
   * Writes a frame now, or queues it until the next connection. `build` makes the frame
   * around its request id (0 when no reply is awaited).
   */
  private transmit(
    build: RequestBuilder,
    isRequest: boolean,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const { state } = this.connector;
    if (state === 'idle' || state === 'stopped') {
      return Promise.reject(new NotConnectedError('The client is not started'));
    }
    const replyTimeout = timeout ?? this.options.awaitResTimeout;
    const connection = this.connector.liveConnection();
    if (connection !== undefined) {
      if (isRequest) return connection.request(build, { timeout: replyTimeout, signal });
      try {
        connection.send(build(0));
        return Promise.resolve(undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.outbox.enqueue(build, isRequest, replyTimeout, signal);
  }

  private reportError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!this.options.silent) console.error(`[wsmesh client ${this.id}] error:`, err.message);
    this.emit('error', { client: this, error: err });
  }

  protected override reportListenerError(error: unknown): void {
    this.reportError(error);
  }
}
