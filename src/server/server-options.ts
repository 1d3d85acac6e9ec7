/**
 * The server options as users write them (the public contract, with their defaults), and as
 * the server holds them once checked. Checking and defaults: `options.ts`.
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Backplane } from '../backplane/backplane.js';
import type { AuthFnIn, AuthFnOut } from '../cluster/auth.js';
import type { WsMeshLogger } from '../ops/logger.js';
import type { DashboardOption, MetricsOption, ResolvedOpsOptions } from '../ops/ops-options.js';
import type { CodecName } from '../protocol/codec.js';
import type { TlsOptions } from '../transport/dialer.js';
import type { HistoryConfig, HistoryOptions } from '../groups/history.js';
import type { PresenceOptions, ResolvedPresenceOptions } from './presence-options.js';
import type { MeshEndpointOption, ResolvedMeshEndpoint } from './mesh-endpoint.js';
import type { ServerConnection, UpgradeRequestInfo } from './server-connection.js';

export type { AuthFnIn, AuthFnOut };

/** Options of `new Server(options)`. Every option is optional. */
export interface ServerOptions {
  /** Unique id; clones must have distinct ids. @default generated (`server-<random>`) */
  id?: string | undefined;
  /** Port to listen on when no `server` is given. @default 3000 (`0` picks a free port) */
  port?: number | undefined;
  /** Interface to listen on. @default undefined (all interfaces, Node's default) */
  host?: string | undefined;
  /** An existing `http`/`https` server to attach to (https = wss). @default undefined */
  server?: HttpServer | HttpsServer | undefined;
  /** URL path of this endpoint. @default '/' */
  path?: string | undefined;
  /**
   * This server's public address, announced to clones so they can dial back (the mesh
   * endpoint's address when `meshEndpoint` is set).
   * @default undefined
   */
  url?: string | undefined;
  /**
   * Serve clones and server links on their own endpoint (`{ port, host? }` or `{ path }`),
   * so the client endpoint can face the internet while the mesh one does not.
   * @default undefined (every kind of peer on the one endpoint)
   */
  meshEndpoint?: MeshEndpointOption | undefined;
  /** Any user data. @default undefined */
  data?: unknown;
  /** Checks a remote clone or server link dialing in. @default undefined */
  authFnIn?: AuthFnIn | undefined;
  /** The authValue presented when dialing out to clones. @default undefined */
  authFnOut?: AuthFnOut | undefined;
  /** Shared secret that clones, RPC proxies and server links prove; never sent on the wire. @default undefined */
  serverSecret?: string | undefined;
  /** ms between clone-list exchanges. @default 2000 */
  cloneInterval?: number | undefined;
  /**
   * Most other clones this server keeps (their records, and clones known only by name):
   * bounds what a peer can make it hold by announcing made-up clones. Past it, records and
   * names of new clones are refused (a warning is logged, `stats().clones.refused` counts
   * them) except for clones linked directly and those given to `addClone`; nothing held is
   * evicted. A record listing more links than this is refused too. Set it above the size of
   * your mesh, alike on every clone (docs/clones.md).
   * @default 1000
   */
  maxClones?: number | undefined;
  /** ms between full RPC table re-syncs. @default 15000 */
  proxyInterval?: number | undefined;
  /** Largest accepted frame in bytes. @default 1048576 (1 MiB) */
  maxPayload?: number | undefined;
  /** Preferred codec when a peer offers both. @default 'json' */
  codec?: CodecName | undefined;
  /** ms of silence before a PING; a peer silent for two ticks is dropped. @default 10000 */
  heartbeatInterval?: number | undefined;
  /** ms a new connection has to finish its handshake, hooks included. @default 10000 */
  handshakeTimeout?: number | undefined;
  /** Default reply timeout for `ws.sendMes` in ms. @default 10000 */
  awaitResTimeout?: number | undefined;
  /**
   * Outbound bytes allowed to wait for one connection before it counts as a slow consumer
   * and is closed with code 4008.
   * @default 4194304 (4 MiB)
   */
  maxBufferedBytes?: number | undefined;
  /** When false, log events to the console. @default true */
  silent?: boolean | undefined;
  /** TLS settings for dialing clones and linked servers over `wss://` (e.g. `{ ca }`). @default undefined */
  tls?: TlsOptions | undefined;
  /**
   * Requires RPC proxies, server links and clones to encrypt every frame after the handshake
   * (AES-256-GCM, key derived from `serverSecret`); this server's clone links ask for it too.
   * Clients may ask for it either way. Node only.
   * @default false
   */
  encryption?: boolean | undefined;
  /**
   * Carries the cluster over a message system instead of the clone mesh, e.g.
   * `natsBackplane({ servers })` from `wsmesh/nats`. With it, `addClone` is refused.
   * @default undefined (the clone mesh)
   */
  backplane?: Backplane | undefined;
  /** Most open sockets at once; more upgrades get HTTP 503. @default 0 (no limit) */
  maxConnections?: number | undefined;
  /**
   * Most open sockets from one IP address at once; more upgrades from it get HTTP 429. Counts
   * the TCP peer's address: behind a reverse proxy every client has the proxy's, so set the
   * limit on the proxy instead. 0 = no limit.
   * @default 0
   */
  maxConnectionsPerIp?: number | undefined;
  /** Most groups one connection may be in; more subscriptions fail with `ERR_LIMIT`. @default 10000 */
  maxGroupsPerConnection?: number | undefined;
  /**
   * Most groups on this server. A client's SUBSCRIBE that would create one more fails with
   * `ERR_LIMIT` (server code, `groups.add` and `groups.addSubscriber`, is not limited). It also
   * bounds what this server mirrors to every clone: each clone keeps the list of groups with
   * subscribers here. 0 = no limit.
   * @default 100000
   */
  maxGroups?: number | undefined;
  /**
   * Most subscriptions (connection-group memberships) on this server, over all connections.
   * A client's SUBSCRIBE past it fails with `ERR_LIMIT`; server code is not limited. 0 = no
   * limit.
   * @default 1000000
   */
  maxSubscriptions?: number | undefined;
  /**
   * Most work one client or RPC proxy connection may have running: requests whose handlers
   * have not finished, RPC calls not yet answered and RPC streams still open, together. More
   * fail with `ERR_LIMIT` (a stream on its own RPC_STREAM_ERROR); the connection stays open.
   * Server links and clone links are not counted.
   * @default 1000
   */
  maxInFlight?: number | undefined;
  /**
   * Keep, for every group, the last `size` messages for `ttl` ms (default 300000), so a
   * client that reconnects gets what it missed (docs/recovery.md). `groups.add({ id,
   * history })` sets it per group. Set it alike on every clone.
   * @default undefined (no history)
   */
  history?: HistoryOptions | undefined;
  /**
   * Presence of groups: which groups list it, and its bounds (docs/groups.md, "Presence").
   * @default { allGroups: false, maxMembers: 1000, maxDataBytes: 1024 }
   */
  presence?: PresenceOptions | undefined;
  /**
   * How long a client's SUBSCRIBE waits for the other nodes to know of a new group interest
   * before its reply goes anyway, and the longest an `ack: 'cluster'` publish waits for
   * delivery reports (the client's own `timeout` may be shorter), in ms.
   * @default 5000
   */
  clusterAckTimeout?: number | undefined;
  /**
   * Per-connection rate limit: at most `messages` frames (messages, publishes, subscriptions,
   * RPC calls) per `interval` ms, as a token bucket. Over it, requests fail with
   * `ERR_RATE_LIMIT` and fire-and-forget frames are dropped.
   * @default undefined (off)
   */
  rateLimit?: { messages: number; interval: number };
  /**
   * Checks an end-user connection before anything else of it runs: gets the client's
   * `credentials` (Client option), the upgrade request's url and headers, and the connection. Return (or
   * resolve) `false` or throw to refuse (ERR_AUTH, close 4003); any other value is kept as
   * `ws.auth`.
   * @default undefined
   */
  authenticate?: AuthenticateHook | undefined;
  /**
   * Serve Prometheus metrics at `/metrics` from the server's own http server (or through
   * `server.handleHttp`). `true`: open; `{ token }`: needs `Authorization: Bearer <token>`.
   * @default undefined (off)
   */
  metrics?: MetricsOption | undefined;
  /**
   * Serve the live dashboard at `/_wsmesh` (and its JSON at `/_wsmesh/api/state`), behind its
   * own `{ token }` (never the server secret).
   * @default undefined (off)
   */
  dashboard?: DashboardOption | undefined;
  /**
   * Where logs go: pino, console, or any object with `debug`/`info`/`warn`/`error`, called as
   * `(fields, message)`.
   * @default undefined (none, or the console at info level with `silent: false`)
   */
  logger?: WsMeshLogger | undefined;
}

/** The `authenticate` server option. */
export type AuthenticateHook = (info: {
  credentials: unknown;
  request: UpgradeRequestInfo;
  ws: ServerConnection;
}) => unknown;

/** Options after defaults were applied. */
export interface ResolvedServerOptions {
  id: string;
  port: number;
  host: string | undefined;
  server: HttpServer | HttpsServer | undefined;
  path: string;
  url: string | undefined;
  meshEndpoint: ResolvedMeshEndpoint | undefined;
  data: unknown;
  authFnIn: AuthFnIn | undefined;
  authFnOut: AuthFnOut | undefined;
  serverSecret: string | undefined;
  cloneInterval: number;
  maxClones: number;
  proxyInterval: number;
  maxPayload: number;
  codec: CodecName;
  heartbeatInterval: number;
  handshakeTimeout: number;
  awaitResTimeout: number;
  maxBufferedBytes: number;
  silent: boolean;
  tls: TlsOptions | undefined;
  encryption: boolean;
  backplane: Backplane | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxGroupsPerConnection: number;
  maxGroups: number;
  maxSubscriptions: number;
  maxInFlight: number;
  history: HistoryConfig | undefined;
  presence: ResolvedPresenceOptions;
  clusterAckTimeout: number;
  rateLimit: { messages: number; interval: number } | undefined;
  authenticate: AuthenticateHook | undefined;
  ops: ResolvedOpsOptions;
  logger: WsMeshLogger | undefined;
}

/** Default values of the server options. */
export const SERVER_DEFAULTS = {
  port: 3000,
  path: '/',
  cloneInterval: 2000,
  maxClones: 1000,
  proxyInterval: 15000,
  maxPayload: 1024 * 1024,
  codec: 'json',
  heartbeatInterval: 10_000,
  handshakeTimeout: 10_000,
  awaitResTimeout: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  silent: true,
  maxConnectionsPerIp: 0,
  maxGroups: 100_000,
  maxSubscriptions: 1_000_000,
} as const;
