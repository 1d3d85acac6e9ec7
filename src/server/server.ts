/**
 * The wsmesh server: accepts WebSocket connections, runs middlewares and routes, keeps
 * groups. The handshake, the http/upgrade side, message dispatch and RPC functions live in
 * their own modules; clones and server links attach in theirs.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ServerBackplane } from '../backplane/server-backplane.js';
import type { AuthFnOut } from '../cluster/auth.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import { LinkManager, type LinkHost, type ServerProxyOptions } from '../cluster/link-manager.js';
import { MeshBackplane, type MeshHost } from '../cluster/mesh-backplane.js';
import type { RemoteClone } from '../cluster/remote-clone.js';
import { GroupManager } from '../groups/group-manager.js';
import { HistoryStore } from '../groups/history.js';
import { ResumeCoordinator } from '../groups/resume.js';
import { attachPresence } from './presence-wiring.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import { CloseCode, type Frame } from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { RouteCounters } from '../routing/route-counters.js';
import { Router, type Middleware, type RouteDefinition } from '../routing/router.js';
import type { AnyFunction } from '../rpc/function-info.js';
import type { RpcProxy, UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE, FunctionRegistry, type OriginOptions } from '../rpc/registry.js';
import { RpcResponder, type FunctionResolver } from '../rpc/rpc-responder.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { NodeWireSocket } from '../transport/node-socket.js';
import { Emitter } from '../util/emitter.js';
import { frameName, ServerLog } from '../ops/logger.js';
import { OpsEndpoint } from '../ops/ops-endpoint.js';
import type { ServerMessageContext } from './context.js';
import { MessageDispatcher } from './dispatcher.js';
import { ServerEndpoint, waitForSocketsClosed, type EndpointEntry } from './endpoint.js';
import { routePeerFrame, type PeerFrameParts } from './peer-frames.js';
import { ServerHandshake, type HandshakeDeadline } from './handshake.js';
import {
  generateId,
  resolveServerOptions,
  type ResolvedServerOptions,
  type ServerOptions,
} from './options.js';
import { ServerConnection } from './server-connection.js';
import { ServerFunctions, type SharedLogger } from './server-functions.js';
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
  private historySweep: ReturnType<typeof setInterval> | undefined;
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
  /** Open sockets, handshaking ones included; an entry goes once its socket has closed. */
  private readonly sockets = new Set<ServerConnection>();
  private readonly heartbeat: HeartbeatMonitor;
  /** HELLO deadlines of the connections still handshaking (kept by `handshake`). */
  private readonly handshakes = new Map<ServerConnection, HandshakeDeadline>();
  private readonly handshake: ServerHandshake<Server>;
  private readonly peerFrameParts: PeerFrameParts<Server>;
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
  private starting: Promise<void> | undefined;
  private readonly logger: ServerLog;
  private readonly ops: OpsEndpoint | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.logger = ServerLog.fromOptions(this.options.logger, this.options.silent, this.options.id);
    this.data = this.options.data;
    this.heartbeat = new HeartbeatMonitor(this.options.heartbeatInterval);
    this.groups.history = new HistoryStore(this.options.history);
    // The link manager only reads options when it is made; the resolver asks it for routes.
    this.linkManager = new LinkManager(this);
    // Every server has the mesh's API (`server.clones`); the mesh runs only as the default.
    const mesh = new MeshBackplane(this, this.linkManager);
    this.clones = mesh.clones;
    const { backplane } = this.options;
    // Another backplane's nodes are mirrored into `clones.clones`, which the mesh owns itself.
    const mirror = backplane === undefined ? undefined : this.clones.clones;
    this.backplane = new ServerBackplane(backplane ?? mesh, this, mirror);
    this.groups.observer = this.backplane;
    // History between nodes rides the backplane: the mesh's clone links, NATS requests.
    const cluster = this.backplane.backplane;
    this.resumes = new ResumeCoordinator(this.groups.history, () => cluster.history);
    attachPresence(this, this.groups);
    this.groups.routeCounters = this.routeCounters;
    this.groups.listenerError = (error) => this.reportError(error);
    this.functions = new ServerFunctions(this.registry, this.linkManager, this.backplane.resolver);
    this.resolver = this.functions.resolver;
    this.responder = new RpcResponder(this.resolver, this.options.id, this.options.maxInFlight);
    this.ops = OpsEndpoint.attach(this, this.options.ops, this.options.path);
    this.peerFrameParts = {
      dispatcher: this.dispatcher,
      responder: this.responder,
      clones: this.clones,
      links: this.linkManager,
      rateLimit: this.options.rateLimit,
      peerError: (ws, error) => this.connectionError(ws, error),
    };
    this.handshake = new ServerHandshake(this, {
      pending: this.handshakes,
      heartbeat: this.heartbeat,
      links: this.linkManager,
      logger: this.logger,
      emit: (event, payload) => this.emit(event, payload),
    });
    this.endpoint = new ServerEndpoint(this, this.sockets, (ws, socket, request, codec, entry) =>
      this.accept(ws, socket, request, codec, entry),
    );
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
    const { sockets, dispatcher, endpoint, linkManager: links, ops } = this;
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
    if (this.active) return Promise.resolve();
    this.starting ??= this.doStart(startOptions).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(startOptions: StartOptions): Promise<void> {
    const msgpack = await loadCodec('msgpack');
    this.groups.history.codec = msgpack;
    // The backplane connects first: a node that cannot reach it does not accept clients.
    await this.backplane.start(msgpack);
    try {
      await this.endpoint.open(startOptions);
    } catch (error) {
      await this.backplane.stop();
      throw error;
    }
    this.active = true;
    this.historySweep = setInterval(() => this.groups.history.sweep(), 10_000);
    this.historySweep.unref();
    this.linkManager.start();
    this.log(`started ${this.id} on port ${String(this.port)} path ${this.options.path}`);
    const { address } = this.endpoint;
    if (this.handshake.open && address !== undefined && !isLoopback(address)) {
      this.logger.warn(
        `${this.id} listens on ${address} with no security option: any process that reaches ` +
          'it can join the mesh as a clone or server link (set authFnIn or serverSecret)',
      );
    }
    this.emit('start', { server: this });
  }

  /** Closes every connection (code 1001), stops listening and clears timers. */
  async stop(): Promise<void> {
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (!this.active) return;
    this.active = false;
    clearInterval(this.historySweep);
    await this.backplane.stop().catch((error: unknown) => this.reportError(error));
    this.linkManager.stop();
    this.endpoint.detach();
    const sockets = [...this.sockets];
    for (const ws of sockets) ws.connection.close(CloseCode.GOING_AWAY, 'server stopping');
    await waitForSocketsClosed(sockets, 1000);
    this.heartbeat.stop();
    this.handshake.clear();
    await this.endpoint.close();
    this.log(`stopped ${this.id}`);
    this.emit('stop', { server: this });
  }

  /** A WebSocket upgrade completed: the connection starts its handshake. */
  private accept(
    ws: WebSocket,
    socket: Duplex,
    request: IncomingMessage,
    codec: Codec,
    entry: EndpointEntry,
  ): void {
    const wire = new NodeWireSocket(ws, socket, true);
    const client = new ServerConnection(this, wire, codec, request, generateId('conn'), {
      maxBufferedBytes: this.options.maxBufferedBytes,
      requestTimeout: this.options.awaitResTimeout,
    });
    client.entry = entry;
    wire.attach(client.connection, !this.endpoint.trustTextFrames);
    if (!this.active) {
      client.connection.close(CloseCode.GOING_AWAY, 'server stopping');
      return;
    }
    this.sockets.add(client);
    this.handshake.begin(client);
    this.heartbeat.add(client.connection);
  }

  /** @internal */
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    if (this.logger.debugEnabled)
      this.logger.debug('frame in', { conn: ws.id, kind: ws.kind, frame: frameName(frame[0]) });
    if (ws.state !== 'open') {
      this.handshake.handleFrame(ws, frame, raw);
      return;
    }
    routePeerFrame(this.peerFrameParts, ws, frame, raw);
  }

  /** @internal */
  connectionClosed(ws: ServerConnection, code: number, reason: string): void {
    this.handshake.end(ws);
    this.heartbeat.delete(ws.connection);
    this.groups.deleteSubscriber({ ws });
    if (ws.grants.role === 'clone') this.clones.inboundClosed(ws.connection);
    if (ws.grants.role === 'link') this.linkManager.inboundClosed(ws.connection);
    this.responder.connectionClosed(ws.connection);
    ws.backlog = undefined;
    const wasOpen = this.clients.delete(ws.id);
    ws.state = 'closed';
    // The socket entry goes when the socket itself is closed, so stop() can wait for it.
    if (ws.socket.ws.readyState === 3) this.sockets.delete(ws);
    else ws.socket.ws.once('close', () => this.sockets.delete(ws));
    if (wasOpen) {
      this.log(`closeClient ${ws.id} (${code}${reason === '' ? '' : ` ${reason}`})`);
      this.emit('closeClient', { server: this, ws, code, reason });
    }
  }

  /** @internal */
  connectionError(ws: ServerConnection, error: Error): void {
    this.reportError(error, ws);
    if (ws.state !== 'open' && ws.state !== 'closed') this.handshake.invalidFrame(ws, error);
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

  protected override reportListenerError(error: unknown): void {
    this.reportError(error);
  }

  private log(message: string): void {
    this.logger.info(message);
  }
}

/** True for an address only this machine can reach. */
function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}
