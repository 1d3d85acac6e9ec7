/**
 * The wsmesh server: its public API. Its parts live in their own modules: the sockets from
 * upgrade to close (server-sockets.ts, with the handshake and message dispatch), the
 * http/upgrade side (endpoint.ts), start and stop (server-lifecycle.ts), and the parts that
 * reach the cluster (server-parts.ts: server links, the backplane, RPC functions).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthFnOut } from '../cluster/auth.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import type { LinkHost, LinkManager, ServerProxyOptions } from '../cluster/link-manager.js';
import type { MeshHost } from '../cluster/mesh-backplane.js';
import type { ServerBackplane } from '../backplane/server-backplane.js';
import type { ResumeCoordinator } from '../groups/resume.js';
import type { RemoteClone } from '../cluster/remote-clone.js';
import { GroupManager } from '../groups/group-manager.js';
import { HistoryStore } from '../groups/history.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import type { Frame } from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { RouteCounters } from '../routing/route-counters.js';
import { Router, type Middleware, type RouteDefinition } from '../routing/router.js';
import type { AnyFunction } from '../rpc/function-info.js';
import type { RpcProxy, UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE, FunctionRegistry, type OriginOptions } from '../rpc/registry.js';
import type { FunctionResolver, RpcResponder } from '../rpc/rpc-responder.js';
import { Emitter } from '../util/emitter.js';
import { ServerLog } from '../ops/logger.js';
import { OpsEndpoint } from '../ops/ops-endpoint.js';
import type { ServerMessageContext } from './context.js';
import { MessageDispatcher } from './dispatcher.js';
import { ServerEndpoint } from './endpoint.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import type { ServerConnection } from './server-connection.js';
import { ServerLifecycle } from './server-lifecycle.js';
import { ServerSockets } from './server-sockets.js';
import type { ServerFunctions, SharedLogger } from './server-functions.js';
import { buildServerParts } from './server-parts.js';
import type { ServerEventMap, StartOptions } from './server-types.js';
import type {
  ActName,
  IfTyped,
  MessageTypes,
  RouteName,
  RoutesOf,
  TypedRoute,
} from '../routing/message-types.js';
import { collectStats, type ServerStats } from './stats.js';

export type { StartOptions } from './server-types.js';
export type { SharedLogger } from './server-functions.js';
export type { ServerStats } from './stats.js';
export type { ServerEventMap } from './server-types.js';

/** Payloads of server events. */
export type ServerEvents = ServerEventMap<Server>;
/** Middleware signature of the server. */
export type ServerMiddleware = Middleware<ServerMessageContext<Server>>;
/** Route definition of the server. */
export type ServerRoute = RouteDefinition<ServerMessageContext<Server>>;

// It serves as ServerConnectionOwner, MeshHost, LinkHost and ServerBackplaneHost through
// members left out of the published declarations, so it does not declare those interfaces
// (they would not hold there).
/**
 * A wsmesh server. `M` declares the messages (see {@link MessageTypes}): with it, route
 * handlers get typed `data` and must return the declared reply; without it every message is
 * untyped.
 */
export class Server<M extends MessageTypes = MessageTypes> extends Emitter<ServerEvents> {
  /** Connected clients that completed the handshake, by connection id (clone links are not clients). */
  readonly clients = new Map<string, ServerConnection>();
  /** Groups of this server. */
  readonly groups = new GroupManager<ServerConnection>();
  /** The clone mesh as this server sees it; `clones.clones` maps remote clone ids to clones. */
  readonly clones: CloneManager;
  /** @internal Subscriptions resumed from a position (docs/recovery.md). */
  readonly resumes: ResumeCoordinator;
  /** User data. */
  data: unknown;
  /** True between a successful `start()` and `stop()`. */
  active = false;

  /** @internal */
  readonly options: ResolvedServerOptions;
  private readonly router: Router<ServerMessageContext<Server>> = new Router();
  /** @internal Messages in and out per route (`stats().routes`, `/metrics`). */
  readonly routeCounters: RouteCounters = new RouteCounters((route) => this.router.hasRoute(route));
  private readonly dispatcher: MessageDispatcher<Server> = new MessageDispatcher(this, this.router);
  private readonly sockets: ServerSockets<Server>;
  private readonly endpoint: ServerEndpoint;
  /** @internal Functions shared by this server. */
  readonly registry = new FunctionRegistry();
  /** @internal How calls find functions: local first, then the cluster, then server links. */
  readonly resolver: FunctionResolver;
  /** @internal Serves RPC frames. */
  readonly responder: RpcResponder;
  private readonly functions: ServerFunctions;
  private readonly linkManager: LinkManager;
  /** The server's only way to its cluster: the `backplane` option, else the clone mesh. */
  private readonly backplane: ServerBackplane;
  private readonly lifecycle: ServerLifecycle;
  private readonly logger: ServerLog;
  private readonly ops: OpsEndpoint | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.logger = ServerLog.fromOptions(this.options.logger, this.options.silent, this.options.id);
    this.data = this.options.data;
    this.groups.history = new HistoryStore(this.options.history);
    ({
      linkManager: this.linkManager,
      clones: this.clones,
      backplane: this.backplane,
      resumes: this.resumes,
      functions: this.functions,
      resolver: this.resolver,
      responder: this.responder,
    } = buildServerParts(this));
    this.ops = OpsEndpoint.attach(this, this.options.ops, this.options.path);
    this.sockets = new ServerSockets<Server>(this, {
      dispatcher: this.dispatcher,
      responder: this.responder,
      links: this.linkManager,
      logger: this.logger,
      emit: (event, payload) => this.emit(event, payload),
      trustTextFrames: () => this.endpoint.trustTextFrames,
    });
    this.endpoint = new ServerEndpoint(this, this.sockets.all, (...upgrade) =>
      this.sockets.accept(...upgrade),
    );
    this.lifecycle = new ServerLifecycle(this, {
      backplane: this.backplane,
      endpoint: this.endpoint,
      links: this.linkManager,
      sockets: this.sockets,
      logger: this.logger,
      emit: (event) => this.emit(event, { server: this }),
    });
    this.registry.onChange = (namespace) => {
      this.functionsChanged(namespace);
      this.backplane.localChanged(namespace);
      this.linkManager.localChanged();
    };
  }

  /** @internal Options the link layer reads. */
  get linkOptions(): LinkHost['linkOptions'] {
    return this.options;
  }

  /** @internal */
  loadLinkCodec(): Promise<Codec> {
    return loadCodec('msgpack');
  }

  /**
   * Links this server to another for one namespace (or namespace group): functions propagate
   * both ways, hop by hop, so every server of a chain, fork, ring or mesh can call every
   * function. Resolves once the link is first up; rejects with `AuthError` for a wrong secret
   * (and stops), or `NotConnectedError` after `timeout` (and keeps dialing).
   */
  createServerProxy(options: ServerProxyOptions): Promise<void> {
    return this.linkManager.createServerProxy(options);
  }

  /** Live server links: peer id, namespace, direction, routes learned, calls in flight. */
  serverLinks(): ReturnType<LinkManager['list']> {
    return this.linkManager.list();
  }

  /**
   * Shares `fn` over RPC in a namespace (default `DEFAULT`) and returns it. With only options,
   * returns a function that registers what it is given (decorator style):
   * `server.origin({ namespace: 'math' })(function add(a, b) { return a + b; })`.
   */
  origin<F extends AnyFunction>(fn: F, options?: OriginOptions): F;
  origin(options: OriginOptions): <F extends AnyFunction>(fn: F) => F;
  origin<F extends AnyFunction>(
    fnOrOptions: F | OriginOptions,
    options?: OriginOptions,
  ): F | (<G extends AnyFunction>(fn: G) => G) {
    return this.functions.origin(fnOrOptions, options);
  }

  /** Groups namespaces: functions registered to `group` land in every member namespace. */
  createNamespaceGroup(group: string, ...namespaces: string[]): void {
    this.registry.createGroup(group, namespaces);
  }

  /**
   * A proxy to the functions of `namespace` from this server's point of view (local ones,
   * and in a cluster every function reachable through links).
   */
  rpc<Api = UntypedApi>(namespace: string = DEFAULT_NAMESPACE): Promise<RpcProxy<Api>> {
    return this.functions.proxy<Api>(namespace);
  }

  /** Shares a logger's `info`, `warning`, `error`, `debug` and `exception` as RPC functions. */
  registerLogger(logger: SharedLogger, options: { namespace?: string } = {}): void {
    this.functions.registerLogger(logger, options);
  }

  /** Current figures of this server (the same as the metrics endpoint exports). */
  stats(): ServerStats {
    const { dispatcher, endpoint, linkManager: links, ops } = this;
    const sockets = this.sockets.all;
    // The mesh reports in `clones`; `backplane` is the state of a `backplane` option.
    const backplane = this.options.backplane === undefined ? undefined : this.backplane;
    return collectStats(this, { sockets, dispatcher, endpoint, links, ops, backplane });
  }

  /**
   * Serves `/metrics` and the dashboard (`/_wsmesh`) when the `metrics` / `dashboard` options
   * are on. The server's own http server calls it; with an attached `server`, call it from your
   * request handler: it returns false, writing nothing, for any other request.
   */
  handleHttp(request: IncomingMessage, response: ServerResponse): boolean {
    return this.ops?.handle(request, response) ?? false;
  }

  /** @internal The function list of `namespace` changed (locally or in the cluster). */
  functionsChanged(namespace: string): void {
    this.responder.notify(namespace);
    this.functions.notifyWatchers(namespace);
  }

  /** @internal Options the clone layer reads. */
  get cloneOptions(): MeshHost['cloneOptions'] {
    return this.options;
  }

  /**
   * Adds a clone: dials it when the server runs and tells it every clone this server knows
   * (and this server itself when `url` is set), so one `addClone` joins a whole mesh.
   * Refused with `InvalidArgumentError` when the `backplane` option is set.
   */
  addClone(options: { id: string; url: string; authFnOut?: AuthFnOut }): RemoteClone {
    return this.clones.addClone(options);
  }

  /** Forgets a clone (closes its link, stops dialing it, ignores gossip about it). */
  deleteClone(options: { id: string }): boolean {
    return this.clones.deleteClone(options);
  }

  /** Swaps `authFnOut`: stops every outbound clone link and reconnects with the new function. */
  updateAuthFnOut(authFnOut: AuthFnOut): void {
    this.clones.updateAuthFnOut(authFnOut);
  }

  /** @internal Engine of the `backplane` option (`nats`...), undefined on the clone mesh. */
  get backplaneKind(): string | undefined {
    return this.options.backplane?.kind;
  }

  /** This server's id. */
  get id(): string {
    return this.options.id;
  }

  /** This server's public address (the `url` option), announced to clones. */
  get url(): string | undefined {
    return this.options.url;
  }

  /** Port actually listened on (useful with `port: 0`), once started. */
  get port(): number | undefined {
    return this.endpoint.port;
  }

  /** Port of the mesh endpoint's own listener (`meshEndpoint: { port }`), once started. */
  get meshPort(): number | undefined {
    return this.endpoint.meshPort;
  }

  /** URL path of this endpoint. */
  get path(): string {
    return this.options.path;
  }

  /** Default reply timeout of `ws.sendMes`. @internal */
  get awaitResTimeout(): number {
    return this.options.awaitResTimeout;
  }

  /** How long a subscription or an acknowledged publish waits for the other nodes. @internal */
  get clusterAckTimeout(): number {
    return this.options.clusterAckTimeout;
  }

  /** Adds a middleware; it runs before routes for every message, subscription and publish. */
  use(middleware: ServerMiddleware): this {
    this.router.use(middleware);
    return this;
  }

  /**
   * Adds a route: `{route?, act?, handler}`. With declared server routes (`M['server']`), the
   * handler's `data` and return value are typed from them; a route without `route`
   * (catch-all) sees `data: unknown`.
   */
  addRoute<
    Route extends RouteName<RoutesOf<M, 'server'>>,
    Act extends ActName<RoutesOf<M, 'server'>, Route> = never,
  >(
    definition: IfTyped<
      RoutesOf<M, 'server'>,
      TypedRoute<ServerMessageContext<Server>, RoutesOf<M, 'server'>, Route, Act>,
      never
    >,
  ): this;
  addRoute(
    definition: IfTyped<RoutesOf<M, 'server'>, ServerRoute & { route?: undefined }, ServerRoute>,
  ): this;
  addRoute(definition: unknown): this {
    this.router.addRoute(definition as ServerRoute);
    return this;
  }

  /** Starts listening (own port) or attaches to the given http/https server. */
  start(startOptions: StartOptions = {}): Promise<void> {
    return this.lifecycle.start(startOptions);
  }

  /** Closes every connection (code 1001), stops listening and clears timers. */
  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  /** @internal */
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    this.sockets.frame(ws, frame, raw);
  }

  /** @internal */
  connectionClosed(ws: ServerConnection, code: number, reason: string): void {
    if (!this.sockets.closed(ws)) return;
    this.log(`closeClient ${ws.id} (${code}${reason === '' ? '' : ` ${reason}`})`);
    this.emit('closeClient', { server: this, ws, code, reason });
  }

  /** @internal */
  connectionError(ws: ServerConnection, error: Error): void {
    this.reportError(error, ws);
    this.sockets.failed(ws, error);
  }

  /** @internal No route matched a message. */
  emitNoRouting(ws: ServerConnection, mes: WsMeshMessage, raw: WirePayload): void {
    this.emit('noRouting', { server: this, ws, groups: this.groups, data: mes.data, mes, raw });
  }

  /** @internal */
  emitAuthError(clone: { id: string; url: string | null }, error: Error): void {
    this.log(`authError dialing clone ${clone.id}: ${error.message}`);
    this.emit('authError', { server: this, clone, error });
  }

  /** @internal Reports an error through the `error` event. */
  reportError(error: unknown, ws?: ServerConnection): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.error(err.message, { code: (err as { code?: unknown }).code, conn: ws?.id });
    this.emit(
      'error',
      ws === undefined ? { server: this, error: err } : { server: this, error: err, ws },
    );
  }

  /** @internal Logs a warning of the clone mesh (a bound it enforces), emits nothing. */
  logWarning(message: string, fields: Record<string, unknown>): void {
    this.logger.warn(message, fields);
  }

  protected override reportListenerError(error: unknown): void {
    this.reportError(error);
  }

  private log(message: string): void {
    this.logger.info(message);
  }
}
