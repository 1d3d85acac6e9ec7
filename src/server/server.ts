/**
 * The wsmesh server: accepts WebSocket connections, runs middlewares and routes, keeps
 * groups. Clones and RPC attach to it in their own modules.
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AuthError,
  InvalidArgumentError,
  ErrorCode,
  InvalidOptionError,
  ProtocolError,
} from '../errors.js';
import { checkAuthIn, type AuthFnOut } from '../cluster/auth.js';
import { CloneManager, type CloneHost } from '../cluster/clone-manager.js';
import { LinkManager, type LinkHost, type ServerProxyOptions } from '../cluster/link-manager.js';
import type { RemoteClone } from '../cluster/remote-clone.js';
import { GroupManager } from '../groups/group-manager.js';
import type { FanoutMessage } from '../groups/fanout-message.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { Subprotocol } from '../protocol/codec.js';
import { codecForSubprotocol, loadCodec } from '../protocol/codecs.js';
import {
  CloseCode,
  FrameType,
  PROTOCOL_VERSION,
  type Frame,
  type HelloBody,
  type WelcomeBody,
} from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { Router, type Middleware, type RouteDefinition } from '../routing/router.js';
import type { AnyFunction } from '../rpc/function-info.js';
import { LocalBackend } from '../rpc/local-backend.js';
import { createProxy, type RpcProxy, type UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE, FunctionRegistry, type OriginOptions } from '../rpc/registry.js';
import { RpcResponder, type FunctionResolver } from '../rpc/rpc-responder.js';
import { NonceCache, serverProof, verifyProof } from '../rpc/secret.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';
import type { Connection } from '../transport/connection.js';
import { CIPHER_SCHEME, type FrameCipher } from '../transport/frame-cipher.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { NodeWireSocket } from '../transport/node-socket.js';
import { Emitter } from '../util/emitter.js';
import { clonePeerStats, type ClonePeerStats } from '../ops/clone-peers.js';
import { frameName, ServerLog } from '../ops/logger.js';
import { OpsEndpoint } from '../ops/ops-endpoint.js';
import type { FunctionStats } from '../ops/rpc-stats.js';
import type { ServerMessageContext } from './context.js';
import { MessageDispatcher } from './dispatcher.js';
import {
  generateId,
  resolveServerOptions,
  type AuthenticateHook,
  type ResolvedServerOptions,
  type ServerOptions,
} from './options.js';
import { ServerConnection, type ServerConnectionOwner } from './server-connection.js';
import { attachEndpoint, rejectUpgrade } from './upgrade-router.js';

/** Payloads of server events. */
export interface ServerEvents {
  [event: string]: unknown;
  start: { server: Server };
  stop: { server: Server };
  connection: { server: Server; ws: ServerConnection };
  closeClient: { server: Server; ws: ServerConnection; code: number; reason: string };
  error: { server: Server; error: Error; ws?: ServerConnection };
  noRouting: {
    server: Server;
    ws: ServerConnection;
    groups: GroupManager<ServerConnection>;
    data: unknown;
    mes: WsMeshMessage;
    raw: WirePayload;
  };
  auth: { server: Server; clone: { id: string; url: string | null } };
  authError: { server: Server; clone: { id: string; url: string | null }; error?: Error };
}

/** Options passed through to the `ws` WebSocketServer by `start()`. */
export interface StartOptions {
  /** Skip UTF-8 validation of text frames (trusted peers only). */
  skipUTF8Validation?: boolean;
  /** `listen` backlog when the server opens its own port. */
  backlog?: number;
}

/** A logger whose methods `registerLogger` shares (pino, console and most loggers fit). */
export interface SharedLogger {
  info?(...args: unknown[]): unknown;
  warning?(...args: unknown[]): unknown;
  warn?(...args: unknown[]): unknown;
  error?(...args: unknown[]): unknown;
  debug?(...args: unknown[]): unknown;
  exception?(...args: unknown[]): unknown;
}

/** Figures returned by `server.stats()`. */
export interface ServerStats {
  id: string;
  active: boolean;
  /** Clients that completed the handshake. */
  clients: number;
  /** Open sockets, including handshaking ones and clone links. */
  sockets: number;
  /** Messages (MESSAGE frames) received from clients. */
  messagesIn: number;
  /** Upgrades refused by `maxConnections`. */
  rejectedConnections: number;
  /** Frames refused by `rateLimit`. */
  rateLimited: number;
  /** Group messages published on this server. */
  publishes: number;
  /** Deliveries of group messages to this server's connections (local and relayed). */
  deliveries: number;
  groups: number;
  clones: {
    known: number;
    linked: number;
    relayedOut: number;
    relayedIn: number;
    /** Every known clone: state, link latency, relay frames to and from it. */
    peers: ClonePeerStats[];
  };
  /** Live RPC server links (`createServerProxy`, both directions; clone links not included). */
  serverLinks: number;
  rpc: {
    calls: number;
    errors: number;
    namespaces: number;
    /** Per-function calls, errors and latency; filled when `metrics` or `dashboard` is on. */
    functions: FunctionStats[];
  };
}

/** Middleware signature of the server. */
export type ServerMiddleware = Middleware<ServerMessageContext>;
/** Route definition of the server. */
export type ServerRoute = RouteDefinition<ServerMessageContext>;

class HandshakeDeadline extends DeadlineEntry {
  constructor(private readonly ws: ServerConnection) {
    super();
  }
  override expire(): void {
    if (this.ws.state === 'handshaking') {
      this.ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'no HELLO in time');
    }
  }
}

/**
 * Error listener of upgraded sockets. A module function, not a closure: a closure made in the
 * upgrade handler would keep its whole scope (the upgrade request with its headers and
 * streams) alive for as long as the socket lives.
 */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** A wsmesh server. */
export class Server
  extends Emitter<ServerEvents>
  implements ServerConnectionOwner, CloneHost, LinkHost
{
  /** Connected clients that completed the handshake, by connection id (clone links are not clients). */
  readonly clients = new Map<string, ServerConnection>();
  /** Groups of this server. */
  readonly groups = new GroupManager<ServerConnection>();
  /** The clone mesh as this server sees it; `clones.clones` maps remote clone ids to clones. */
  readonly clones: CloneManager;
  /** User data. */
  data: unknown;
  /** True between a successful `start()` and `stop()`. */
  active = false;

  /** @internal */
  readonly options: ResolvedServerOptions;
  private readonly router = new Router<ServerMessageContext>();
  private readonly dispatcher = new MessageDispatcher(this, this.router);
  private readonly sockets = new Set<ServerConnection>();
  private readonly heartbeat: HeartbeatMonitor;
  private readonly handshakes = new Map<ServerConnection, HandshakeDeadline>();
  /** @internal Functions shared by this server. */
  readonly registry = new FunctionRegistry();
  /** @internal Serves RPC frames. */
  readonly responder: RpcResponder;
  private readonly linkManager: LinkManager;
  private readonly nonces = new NonceCache();
  private readonly functionWatchers = new Map<string, Set<(functions: FunctionInfo[]) => void>>();
  private wss: WebSocketServer | undefined;
  private httpServer: HttpServer | HttpsServer | undefined;
  private ownHttpServer = false;
  private detach: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private boundPort: number | undefined;
  private rejectedConnections = 0;
  /** `start({ skipUTF8Validation: true })`: text messages are decoded without a check. */
  private trustTextFrames = false;
  private readonly logger: ServerLog;
  private readonly ops: OpsEndpoint | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.logger = ServerLog.fromOptions(this.options.logger, this.options.silent, this.options.id);
    this.data = this.options.data;
    this.heartbeat = new HeartbeatMonitor(this.options.heartbeatInterval);
    this.clones = new CloneManager(this);
    this.groups.observer = this.clones;
    this.responder = new RpcResponder(this.resolver, this.options.id);
    this.ops = OpsEndpoint.attach(this, this.options.ops, this.options.path);
    this.linkManager = new LinkManager(this);
    this.registry.onChange = (namespace) => {
      this.functionsChanged(namespace);
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

  /** @internal How calls find functions: local first (the cluster adds remote ones). */
  readonly resolver: FunctionResolver = {
    // A local function wins; otherwise the shortest route through server links.
    resolve: (namespace, name) =>
      this.registry.resolve(namespace, name)?.target ?? this.linkManager.resolve(namespace, name),
    list: (namespace) => {
      const local = this.registry.list(namespace).map((entry) => entry.info);
      const names = new Set(local.map((info) => info.name));
      return [
        ...local,
        ...this.linkManager.listRemote(namespace).filter((info) => !names.has(info.name)),
      ];
    },
  };

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
    if (typeof fnOrOptions === 'function') return this.registry.register(fnOrOptions, options);
    if (typeof fnOrOptions !== 'object' || fnOrOptions === null || options !== undefined) {
      throw new InvalidArgumentError('origin() takes a function (and options), or only options');
    }
    const decoratorOptions = fnOrOptions;
    return <G extends AnyFunction>(fn: G): G => this.registry.register(fn, decoratorOptions);
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
    const backend = new LocalBackend(this.resolver, (ns, listener) => {
      let set = this.functionWatchers.get(ns);
      if (set === undefined) {
        set = new Set();
        this.functionWatchers.set(ns, set);
      }
      set.add(listener);
      return () => set.delete(listener);
    });
    return createProxy<Api>(backend, namespace, async () => undefined);
  }

  /** Shares a logger's `info`, `warning`, `error`, `debug` and `exception` as RPC functions. */
  registerLogger(logger: SharedLogger, options: { namespace?: string } = {}): void {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const pick = (
      ...names: (keyof SharedLogger)[]
    ): ((...args: unknown[]) => unknown) | undefined => {
      for (const name of names) {
        const method = logger[name];
        if (typeof method === 'function') return method.bind(logger);
      }
      return undefined;
    };
    const levels: [string, ((...args: unknown[]) => unknown) | undefined][] = [
      ['info', pick('info')],
      ['warning', pick('warning', 'warn')],
      ['error', pick('error')],
      ['debug', pick('debug')],
      ['exception', pick('exception', 'error')],
    ];
    for (const [name, method] of levels) {
      if (method === undefined) continue;
      const shared = (...messages: unknown[]): void => {
        method(...messages);
      };
      this.registry.register(shared, { namespace, name });
    }
  }

  /** Current figures of this server (the same as the metrics endpoint exports). */
  stats(): ServerStats {
    const relay = this.clones.relayStats;
    return {
      id: this.id,
      active: this.active,
      clients: this.clients.size,
      sockets: this.sockets.size,
      messagesIn: this.dispatcher.messagesIn,
      rejectedConnections: this.rejectedConnections,
      rateLimited: this.dispatcher.rateLimited,
      publishes: this.dispatcher.publishes,
      deliveries: this.groups.deliveries,
      groups: this.groups.size,
      clones: {
        known: this.clones.clones.size,
        linked: this.clones.links.size,
        relayedOut: relay.relayedOut,
        relayedIn: relay.relayedIn,
        peers: clonePeerStats(this.clones),
      },
      serverLinks: this.linkManager.list().filter((link) => link.namespace !== null).length,
      rpc: {
        calls: this.responder.callsServed,
        errors: this.responder.callErrors,
        namespaces: this.registry.namespaceNames().length,
        functions: this.ops?.callStats.snapshot() ?? [],
      },
    };
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
    const watchers = this.functionWatchers.get(namespace);
    if (watchers !== undefined && watchers.size > 0) {
      const list = this.resolver.list(namespace);
      for (const watcher of watchers) watcher(list);
    }
  }

  /** @internal Options the clone layer reads. */
  get cloneOptions(): CloneHost['cloneOptions'] {
    return this.options;
  }

  /**
   * Adds a clone: dials it when the server runs and tells it every clone this server knows
   * (and this server itself when `url` is set), so one `addClone` joins a whole mesh.
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
    return this.boundPort;
  }

  /** URL path of this endpoint. */
  get path(): string {
    return this.options.path;
  }

  /** Default reply timeout of `ws.sendMes`. @internal */
  get awaitResTimeout(): number {
    return this.options.awaitResTimeout;
  }

  /** Adds a middleware; it runs before routes for every message, subscription and publish. */
  use(middleware: ServerMiddleware): this {
    this.router.use(middleware);
    return this;
  }

  /** Adds a route: `{route?, act?, handler}`. */
  addRoute(definition: ServerRoute): this {
    this.router.addRoute(definition);
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
    if (typeof startOptions !== 'object' || startOptions === null) {
      throw new InvalidOptionError('start() options must be an object');
    }
    if ('perMessageDeflate' in startOptions) {
      throw new InvalidOptionError(
        'perMessageDeflate is not supported: fan-out writes pre-framed bytes to every socket',
      );
    }
    this.trustTextFrames = startOptions.skipUTF8Validation === true;
    // Both codecs are always accepted; loading them here keeps the upgrade path synchronous.
    await Promise.all([loadCodec('json'), loadCodec('msgpack')]);
    const chosen = new WeakMap<IncomingMessage, Codec>();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // Text is validated while it is decoded, in one pass (transport/utf8.ts).
      skipUTF8Validation: true,
      handleProtocols: (_protocols, request) => chosen.get(request)?.subprotocol ?? false,
    });
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (!this.active) {
        rejectUpgrade(socket, 503, 'Service Unavailable');
        return;
      }
      if (this.options.maxConnections > 0 && this.sockets.size >= this.options.maxConnections) {
        this.rejectedConnections++;
        rejectUpgrade(socket, 503, 'Service Unavailable: too many connections');
        return;
      }
      const codec = this.pickCodec(request.headers['sec-websocket-protocol']);
      if (codec === undefined) {
        rejectUpgrade(
          socket,
          400,
          `Unsupported subprotocol; use ${Subprotocol.json} or ${Subprotocol.msgpack}`,
        );
        return;
      }
      chosen.set(request, codec);
      socket.on('error', destroySocket);
      wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, request, codec));
    };
    let httpServer = this.options.server;
    if (httpServer === undefined) {
      httpServer = createServer((request, response) => {
        if (this.handleHttp(request, response)) return;
        response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
        response.end('This is a wsmesh WebSocket endpoint\n');
      });
      this.ownHttpServer = true;
    }
    const detach = attachEndpoint(httpServer, this.options.path, onUpgrade);
    if (this.ownHttpServer) {
      try {
        await listen(httpServer, this.options.port, this.options.host, startOptions.backlog);
      } catch (error) {
        detach();
        this.ownHttpServer = false;
        throw error;
      }
    }
    const address = httpServer.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : undefined;
    this.wss = wss;
    this.httpServer = httpServer;
    this.detach = detach;
    this.active = true;
    this.clones.start(await loadCodec('msgpack'));
    this.linkManager.start();
    this.log(`started ${this.id} on port ${String(this.boundPort)} path ${this.options.path}`);
    this.emit('start', { server: this });
  }

  /** Closes every connection (code 1001), stops listening and clears timers. */
  async stop(): Promise<void> {
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (!this.active) return;
    this.active = false;
    this.clones.stop();
    this.linkManager.stop();
    this.detach?.();
    this.detach = undefined;
    const sockets = [...this.sockets];
    for (const ws of sockets) ws.connection.close(CloseCode.GOING_AWAY, 'server stopping');
    await waitForSocketsClosed(sockets, 1000);
    this.heartbeat.stop();
    for (const entry of this.handshakes.values()) deadlines.remove(entry);
    this.handshakes.clear();
    this.wss?.close();
    this.wss = undefined;
    const httpServer = this.httpServer;
    this.httpServer = undefined;
    if (httpServer !== undefined && this.ownHttpServer) {
      this.ownHttpServer = false;
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        (httpServer as HttpServer).closeAllConnections?.();
      });
    }
    this.log(`stopped ${this.id}`);
    this.emit('stop', { server: this });
  }

  private pickCodec(header: string | undefined): Codec | undefined {
    if (header === undefined) return codecForSubprotocol(Subprotocol.json);
    const offered = header.split(',').map((name) => name.trim());
    const preferred = Subprotocol[this.options.codec];
    if (offered.includes(preferred)) return codecForSubprotocol(preferred);
    for (const name of offered) {
      const codec = codecForSubprotocol(name);
      if (codec !== undefined) return codec;
    }
    return undefined;
  }

  private accept(ws: WebSocket, socket: Duplex, request: IncomingMessage, codec: Codec): void {
    const wire = new NodeWireSocket(ws, socket, true);
    const client = new ServerConnection(this, wire, codec, request, generateId('conn'), {
      maxBufferedBytes: this.options.maxBufferedBytes,
      requestTimeout: this.options.awaitResTimeout,
    });
    wire.attach(client.connection, !this.trustTextFrames);
    if (!this.active) {
      client.connection.close(CloseCode.GOING_AWAY, 'server stopping');
      return;
    }
    this.sockets.add(client);
    const deadline = new HandshakeDeadline(client);
    this.handshakes.set(client, deadline);
    deadlines.add(deadline, this.options.handshakeTimeout);
    this.heartbeat.add(client.connection);
  }

  /** @internal */
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    if (this.logger.debugEnabled)
      this.logger.debug('frame in', { conn: ws.id, kind: ws.kind, frame: frameName(frame[0]) });
    if (ws.state !== 'open') {
      if (ws.state === 'handshaking') this.handleHello(ws, frame);
      else if (ws.state === 'authenticating') this.hold(ws, frame, raw);
      return;
    }
    const { rateLimit } = this.options;
    if (
      rateLimit !== undefined &&
      ws.kind === 'client' &&
      !this.dispatcher.admitFrame(ws, frame, rateLimit)
    )
      return;
    if (RpcResponder.accepts(frame[0])) {
      this.responder.handle(ws.connection, ws.rpcAuthorized, frame);
      return;
    }
    if (ws.kind === 'link') {
      this.linkManager.inboundFrame(ws.connection, frame);
      return;
    }
    if (ws.kind === 'clone') {
      if (frame[0] >= FrameType.CLONE_SYNC && frame[0] <= FrameType.CLONE_GROUP_DELETE) {
        this.clones.inboundFrame(ws.connection, frame);
      } else if (frame[0] >= FrameType.RPC_CALL)
        this.linkManager.cloneLinkFrame(ws.connection, frame);
      else
        ws.connection.replyError(
          0,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Frame type ${frame[0]} is not accepted on a clone link`,
          ),
        );
      return;
    }
    switch (frame[0]) {
      case FrameType.MESSAGE:
        this.dispatcher.handleMessage(ws, frame, raw);
        return;
      case FrameType.SUBSCRIBE:
      case FrameType.UNSUBSCRIBE:
        this.dispatcher.handleMembership(ws, frame[0], frame[1], frame[2], raw);
        return;
      case FrameType.PUBLISH:
        this.dispatcher.handlePublish(ws, frame, raw);
        return;
      case FrameType.ERROR:
        this.connectionError(
          ws,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Peer reported ${frame[2].code}: ${frame[2].message}`,
          ),
        );
        return;
      default:
        ws.connection.replyError(
          0,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Frame type ${frame[0]} is not accepted by a server`,
          ),
        );
    }
  }

  private handleHello(ws: ServerConnection, frame: Frame): void {
    const deadline = this.handshakes.get(ws);
    if (deadline !== undefined) deadlines.remove(deadline);
    this.handshakes.delete(ws);
    if (frame[0] !== FrameType.HELLO) {
      ws.connection.replyError(
        0,
        new ProtocolError(ErrorCode.PROTOCOL, 'The first frame must be HELLO'),
      );
      ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'first frame must be HELLO');
      return;
    }
    const hello: HelloBody = frame[1];
    if (hello.v !== PROTOCOL_VERSION) {
      ws.connection.replyError(
        0,
        new ProtocolError(
          ErrorCode.PROTOCOL,
          `Unsupported protocol version ${hello.v}; this server speaks ${PROTOCOL_VERSION}`,
        ),
      );
      ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'unsupported protocol version');
      return;
    }
    ws.clientId = hello.id;
    ws.kind = hello.kind ?? 'client';
    ws.linkNamespace = hello.namespace ?? DEFAULT_NAMESPACE;
    if (hello.maxPayload !== undefined) ws.connection.peerMaxPayload = hello.maxPayload;
    // Both sides batch when the peer reads batches (WELCOME says the server does too);
    // encrypted connections seal frame by frame and do not batch.
    if (hello.batch === true && hello.enc === undefined) {
      ws.connection.acceptsBatches = true;
      ws.connection.startBatching();
    }
    if (ws.kind === 'clone') {
      ws.state = 'authenticating';
      void this.authenticateClone(ws, hello);
      return;
    }
    const secret = this.options.serverSecret;
    const presentsProof = ws.kind === 'rpc' || ws.kind === 'link' || hello.auth !== undefined;
    const authenticate = ws.kind === 'link' ? undefined : this.options.authenticate;
    if ((secret !== undefined && presentsProof) || authenticate !== undefined) {
      ws.state = 'authenticating';
      void this.admit(ws, hello, authenticate, presentsProof ? secret : undefined);
      return;
    }
    ws.rpcAuthorized = secret === undefined;
    this.opened(ws, undefined);
  }

  /** Runs the `authenticate` hook, then checks the secret proof; frames wait meanwhile. */
  private async admit(
    ws: ServerConnection,
    hello: HelloBody,
    authenticate: AuthenticateHook | undefined,
    secret: string | undefined,
  ): Promise<void> {
    if (authenticate !== undefined) {
      let result: unknown;
      try {
        result = await authenticate({ credentials: hello.credentials, request: ws.request, ws });
      } catch {
        result = false;
      }
      if (ws.state !== 'authenticating') return;
      if (result === false) {
        const error = new AuthError('The server refused the credentials');
        this.reportError(error, ws);
        ws.connection.replyError(0, error);
        ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
        return;
      }
      ws.auth = result;
    }
    if (secret === undefined) {
      ws.rpcAuthorized = this.options.serverSecret === undefined;
      this.opened(ws, undefined);
      return;
    }
    await this.authenticateSecret(ws, hello, secret);
  }

  private opened(
    ws: ServerConnection,
    auth: { proof: string } | undefined,
    cipher?: FrameCipher,
  ): void {
    ws.state = 'open';
    if (ws.kind === 'link') {
      // A server link is not a client: it is watched by the link layer's faster heartbeat.
      this.welcome(ws, auth, cipher);
      this.heartbeat.delete(ws.connection);
      this.linkManager.acceptInbound(ws.connection, ws.clientId ?? ws.id, ws.linkNamespace);
      const held = ws.backlog ?? [];
      ws.backlog = undefined;
      for (const [frame, raw] of held) this.handleFrame(ws, frame, raw);
      return;
    }
    this.clients.set(ws.id, ws);
    this.welcome(ws, auth, cipher);
    this.log(`connection ${ws.id} (${ws.kind} ${ws.clientId ?? '?'})`);
    this.emit('connection', { server: this, ws });
    const backlog = ws.backlog ?? [];
    ws.backlog = undefined;
    for (const [frame, raw] of backlog) this.handleFrame(ws, frame, raw);
  }

  /** RPC proxies and server links prove the server secret (HMAC with nonce; no replay). */
  private async authenticateSecret(
    ws: ServerConnection,
    hello: HelloBody,
    secret: string,
  ): Promise<void> {
    const kind = hello.kind ?? 'client';
    let nonce: string | undefined;
    try {
      nonce = await verifyProof(secret, kind, hello.id, hello.auth, this.nonces);
    } catch {
      nonce = undefined;
    }
    if (ws.state !== 'authenticating') return;
    if (nonce === undefined) {
      const error = new AuthError('Wrong or missing server secret proof');
      this.reportError(error, ws);
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
      return;
    }
    const wantsEncryption = hello.enc === CIPHER_SCHEME;
    if (this.options.encryption && !wantsEncryption && ws.kind !== 'client') {
      const error = new AuthError('This server requires encryption (encryption: true)');
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'encryption required');
      return;
    }
    ws.rpcAuthorized = true;
    const proof = await serverProof(secret, this.id, nonce);
    if (ws.state !== 'authenticating') return;
    const cipher = wantsEncryption
      ? nodeCipherFactory(secret, nonce, this.id, hello.id)
      : undefined;
    this.opened(ws, { proof }, cipher);
  }

  /** Frames that arrive while authentication runs wait, in order, up to a bound. */
  private hold(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    ws.backlog ??= [];
    if (ws.backlog.length >= 10_000) {
      ws.connection.close(CloseCode.POLICY_VIOLATION, 'too many frames before authentication');
      return;
    }
    ws.backlog.push([frame, raw]);
  }

  private async authenticateClone(ws: ServerConnection, hello: HelloBody): Promise<void> {
    const clone = { id: hello.id, url: null };
    const accepted = await checkAuthIn(this.options.authFnIn, hello.auth);
    if (ws.state !== 'authenticating') return;
    if (!accepted) {
      const error = new AuthError(`Clone "${hello.id}" failed authentication`);
      this.log(`authError clone ${hello.id}`);
      this.emit('authError', { server: this, clone, error });
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
      return;
    }
    this.emit('auth', { server: this, clone });
    // Refuse a duplicate id before WELCOME: a dialer that got WELCOME counts the link as up
    // and redials within milliseconds instead of backing off.
    if (!this.clones.canAcceptInbound(hello.id, hello.instance)) {
      const deleted = this.clones.isDeleted(hello.id);
      ws.connection.close(
        deleted ? CloseCode.POLICY_VIOLATION : CloseCode.DUPLICATE_ID,
        deleted ? 'clone deleted here' : 'duplicate clone id',
      );
      return;
    }
    ws.state = 'open';
    ws.rpcAuthorized = true; // an authenticated clone is trusted with RPC
    this.welcome(ws);
    // Clone links are watched by the link layer's faster heartbeat (one monitor per connection).
    this.heartbeat.delete(ws.connection);
    if (!this.clones.acceptInbound(ws.connection, hello.id, hello.instance)) {
      ws.connection.close(CloseCode.DUPLICATE_ID, 'duplicate clone id');
      return;
    }
    const backlog = ws.backlog ?? [];
    ws.backlog = undefined;
    for (const [frame, raw] of backlog) this.handleFrame(ws, frame, raw);
  }

  /** Sends WELCOME (in clear), then switches the connection to encryption when agreed. */
  private welcome(ws: ServerConnection, auth?: { proof: string }, cipher?: FrameCipher): void {
    const body: WelcomeBody = {
      v: PROTOCOL_VERSION,
      serverId: this.id,
      connectionId: ws.id,
      maxPayload: this.options.maxPayload,
    };
    if (auth !== undefined) body.auth = auth;
    if (cipher !== undefined) body.enc = CIPHER_SCHEME;
    else if (ws.connection.acceptsBatches) body.batch = true;
    try {
      ws.connection.send([FrameType.WELCOME, body]);
    } catch {
      // Closed meanwhile: the close handler cleans up.
    }
    ws.connection.cipher = cipher;
  }

  /** @internal */
  connectionClosed(ws: ServerConnection, code: number, reason: string): void {
    const deadline = this.handshakes.get(ws);
    if (deadline !== undefined) {
      deadlines.remove(deadline);
      this.handshakes.delete(ws);
    }
    this.heartbeat.delete(ws.connection);
    this.groups.deleteSubscriber({ ws });
    if (ws.kind === 'clone') this.clones.inboundClosed(ws.connection);
    if (ws.kind === 'link') this.linkManager.inboundClosed(ws.connection);
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
    // A first frame that fails validation is "not HELLO" (PROTOCOL.md 2.1): the transport
    // sends the error reply right after this call; then close with 4001. Undecodable input
    // is closed by the transport itself (1003/1007) before the microtask runs.
    if (ws.state === 'handshaking' && error instanceof ProtocolError) {
      queueMicrotask(() => {
        if (ws.state === 'handshaking' && !ws.connection.closed) {
          ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'first frame must be a valid HELLO');
        }
      });
    }
  }

  /** @internal */
  cloneLinkUp(connection: Connection, peerId: string, direction: 'in' | 'out'): void {
    this.linkManager.attachCloneLink(connection, peerId, direction);
  }

  /** @internal */
  cloneLinkDown(connection: Connection): void {
    this.linkManager.detachCloneLink(connection);
  }

  /** @internal */
  cloneLinkFrame(connection: Connection, frame: Frame): void {
    this.linkManager.cloneLinkFrame(connection, frame);
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

  /** @internal Delivers a relayed group message to local subscribers only. */
  deliverRelayed(message: FanoutMessage): number {
    return this.groups.deliverLocal(message, undefined);
  }
}

function listen(
  server: HttpServer | HttpsServer,
  port: number,
  host: string | undefined,
  backlog?: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port, host, backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function waitForSocketsClosed(sockets: ServerConnection[], timeoutMs: number): Promise<void> {
  const open = sockets.filter((ws) => ws.socket.ws.readyState !== 3);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let remaining = open.length;
    const timer = setTimeout(() => {
      for (const ws of open) ws.socket.terminate();
      resolve();
    }, timeoutMs);
    for (const ws of open) {
      ws.socket.ws.once('close', () => {
        remaining--;
        if (remaining === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
