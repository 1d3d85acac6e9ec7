/**
 * Up-front validation of the server options and their defaults. The options themselves are
 * declared in `server-options.ts`.
 * @module
 */
import type { AuthFnIn, AuthFnOut } from '../cluster/auth.js';
import { isBackplane, type Backplane } from '../backplane/backplane.js';
import { InvalidOptionError } from '../errors.js';
import type { WsMeshLogger } from '../ops/logger.js';
import { resolveOpsOptions } from '../ops/ops-options.js';
import { isCodecName } from '../protocol/codecs.js';
import { isName } from '../protocol/validate.js';
import { checkTls } from '../transport/dialer.js';
import { checkEncryption } from '../transport/frame-cipher.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';
import { resolveHistory, type HistoryConfig } from '../groups/history.js';
import { resolveMeshEndpoint } from './mesh-endpoint.js';
import { resolveClusterAckTimeout, resolvePresenceOptions } from './presence-options.js';
import {
  SERVER_DEFAULTS,
  type AuthenticateHook,
  type ResolvedServerOptions,
  type ServerOptions,
} from './server-options.js';

export {
  SERVER_DEFAULTS,
  type AuthenticateHook,
  type AuthFnIn,
  type AuthFnOut,
  type ResolvedServerOptions,
  type ServerOptions,
} from './server-options.js';

/** The names of the server options (a missing one does not compile). */
const SERVER_OPTION_KEYS: OptionKeys<ServerOptions> = {
  id: true,
  port: true,
  host: true,
  server: true,
  path: true,
  url: true,
  meshEndpoint: true,
  data: true,
  authFnIn: true,
  authFnOut: true,
  serverSecret: true,
  cloneInterval: true,
  maxClones: true,
  proxyInterval: true,
  maxPayload: true,
  codec: true,
  heartbeatInterval: true,
  handshakeTimeout: true,
  awaitResTimeout: true,
  maxBufferedBytes: true,
  silent: true,
  tls: true,
  encryption: true,
  backplane: true,
  maxConnections: true,
  maxConnectionsPerIp: true,
  maxGroupsPerConnection: true,
  maxGroups: true,
  maxSubscriptions: true,
  maxInFlight: true,
  history: true,
  presence: true,
  clusterAckTimeout: true,
  rateLimit: true,
  authenticate: true,
  metrics: true,
  dashboard: true,
  logger: true,
};

/**
 * Random id for nodes and connections: 96 random bits in base64url (16 characters), shorter
 * than a UUID string because every connection keeps one.
 */
export function generateId(prefix: string): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')}`;
}

function positiveNumber(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new InvalidOptionError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`,
    );
  }
  return value;
}

/** A positive integer (a bound that cannot be turned off). */
function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`${name} must be a positive integer`);
  }
  return value;
}

/** A count limit: a non-negative integer, 0 meaning no limit. */
function limitOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(`${name} must be a non-negative integer (0 = no limit)`);
  }
  return value;
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(`${name} must be a function`);
  return value as T;
}

function checkRateLimit(value: unknown): { messages: number; interval: number } | undefined {
  if (value === undefined) return undefined;
  const limit = value as { messages?: unknown; interval?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof limit.messages !== 'number' ||
    !(limit.messages > 0) ||
    typeof limit.interval !== 'number' ||
    !(limit.interval > 0)
  ) {
    throw new InvalidOptionError(
      'rateLimit must be { messages: positive number, interval: positive ms }',
    );
  }
  return { messages: limit.messages, interval: limit.interval };
}

function checkLogger(value: unknown): WsMeshLogger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('logger must be an object with debug/info/warn/error methods');
  }
  return value as WsMeshLogger;
}

function checkBackplane(value: unknown): Backplane | undefined {
  if (value === undefined) return undefined;
  if (!isBackplane(value))
    throw new InvalidOptionError(
      'backplane must be a backplane, e.g. natsBackplane() from wsmesh/nats',
    );
  return value;
}

function checkHistory(value: unknown): HistoryConfig | undefined {
  if (value === undefined) return undefined;
  const config = resolveHistory(value, 'history');
  if (typeof config === 'string') throw new InvalidOptionError(config);
  return config.size === 0 ? undefined : config;
}

/** Validates options and applies defaults. Throws {@link InvalidOptionError}. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('Server options must be an object');
  }
  refuseUnknownOptions(options, SERVER_OPTION_KEYS, 'new Server()', {
    perMessageDeflate:
      'not supported: fan-out writes frames built once for every subscriber (compression would build them per socket)',
  });
  const id = options.id ?? generateId('server');
  if (!isName(id))
    throw new InvalidOptionError('id must be a non-empty string of at most 256 characters');
  const port = options.port ?? SERVER_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('port must be an integer from 0 to 65535');
  }
  if (options.host !== undefined && typeof options.host !== 'string') {
    throw new InvalidOptionError('host must be a string');
  }
  const server = options.server;
  if (server !== undefined && (typeof server !== 'object' || typeof server.on !== 'function')) {
    throw new InvalidOptionError('server must be an http or https server');
  }
  const path = options.path ?? SERVER_DEFAULTS.path;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidOptionError('path must be a string starting with "/"');
  }
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new InvalidOptionError(`url is not a valid URL: ${String(options.url)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new InvalidOptionError('url must start with ws:// or wss://');
    }
  }
  const codec = options.codec ?? SERVER_DEFAULTS.codec;
  if (!isCodecName(codec)) throw new InvalidOptionError('codec must be "json" or "msgpack"');
  if (
    options.serverSecret !== undefined &&
    (typeof options.serverSecret !== 'string' || options.serverSecret === '')
  ) {
    throw new InvalidOptionError('serverSecret must be a non-empty string');
  }
  if (options.silent !== undefined && typeof options.silent !== 'boolean') {
    throw new InvalidOptionError('silent must be a boolean');
  }
  return {
    id,
    port,
    host: options.host,
    server,
    path,
    url: options.url,
    meshEndpoint: resolveMeshEndpoint(options.meshEndpoint, path),
    data: options.data,
    authFnIn: optionalFunction<AuthFnIn>('authFnIn', options.authFnIn),
    authFnOut: optionalFunction<AuthFnOut>('authFnOut', options.authFnOut),
    serverSecret: options.serverSecret,
    cloneInterval: positiveNumber(
      'cloneInterval',
      options.cloneInterval,
      SERVER_DEFAULTS.cloneInterval,
    ),
    maxClones: positiveInteger('maxClones', options.maxClones, SERVER_DEFAULTS.maxClones),
    proxyInterval: positiveNumber(
      'proxyInterval',
      options.proxyInterval,
      SERVER_DEFAULTS.proxyInterval,
    ),
    maxPayload: positiveNumber('maxPayload', options.maxPayload, SERVER_DEFAULTS.maxPayload),
    codec,
    heartbeatInterval: positiveNumber(
      'heartbeatInterval',
      options.heartbeatInterval,
      SERVER_DEFAULTS.heartbeatInterval,
      true,
    ),
    handshakeTimeout: positiveNumber(
      'handshakeTimeout',
      options.handshakeTimeout,
      SERVER_DEFAULTS.handshakeTimeout,
    ),
    awaitResTimeout: positiveNumber(
      'awaitResTimeout',
      options.awaitResTimeout,
      SERVER_DEFAULTS.awaitResTimeout,
    ),
    maxBufferedBytes: positiveNumber(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      SERVER_DEFAULTS.maxBufferedBytes,
    ),
    silent: options.silent ?? SERVER_DEFAULTS.silent,
    tls: checkTls(options.tls),
    encryption: checkEncryption(options.encryption, options.serverSecret),
    backplane: checkBackplane(options.backplane),
    maxConnections: positiveNumber('maxConnections', options.maxConnections, 0, true),
    maxConnectionsPerIp: limitOption(
      'maxConnectionsPerIp',
      options.maxConnectionsPerIp,
      SERVER_DEFAULTS.maxConnectionsPerIp,
    ),
    maxGroups: limitOption('maxGroups', options.maxGroups, SERVER_DEFAULTS.maxGroups),
    maxSubscriptions: limitOption(
      'maxSubscriptions',
      options.maxSubscriptions,
      SERVER_DEFAULTS.maxSubscriptions,
    ),
    maxGroupsPerConnection: positiveNumber(
      'maxGroupsPerConnection',
      options.maxGroupsPerConnection,
      10_000,
    ),
    maxInFlight: positiveNumber('maxInFlight', options.maxInFlight, 1000),
    history: checkHistory(options.history),
    presence: resolvePresenceOptions(options.presence),
    clusterAckTimeout: resolveClusterAckTimeout(options.clusterAckTimeout),
    rateLimit: checkRateLimit(options.rateLimit),
    authenticate: optionalFunction<AuthenticateHook>('authenticate', options.authenticate),
    ops: resolveOpsOptions(options.metrics, options.dashboard),
    logger: checkLogger(options.logger),
  };
}
