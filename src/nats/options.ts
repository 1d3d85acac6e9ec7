/**
 * Options of `natsBackplane()`, their defaults and up-front validation.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/** TLS settings of the connection to NATS (`tls://` urls, or a server that requires TLS). */
export interface NatsTlsOptions {
  /** PEM certificate authorities, or a file holding them. */
  ca?: string;
  caFile?: string;
  /** PEM client certificate and key (mutual TLS), or files holding them. */
  cert?: string;
  certFile?: string;
  key?: string;
  keyFile?: string;
  /** Refuse servers whose certificate does not verify. @default true */
  rejectUnauthorized?: boolean;
  /** Start TLS before the NATS INFO (servers with `handshake_first`). @default false */
  handshakeFirst?: boolean;
}

/** Options of {@link natsBackplane}. */
export interface NatsBackplaneOptions {
  /** NATS url(s) of one NATS cluster, e.g. `nats://127.0.0.1:4222`. Required. */
  servers: string | string[];
  /** Subject prefix: wsmesh servers with the same prefix form one cluster. @default 'wsmesh' */
  prefix?: string;
  /** Connection name shown by NATS monitoring. @default `wsmesh-<server id>` */
  name?: string;
  /** Token authentication. */
  token?: string;
  /** User and password authentication. */
  user?: string;
  pass?: string;
  /** TLS settings. */
  tls?: NatsTlsOptions;
  /** Ms between this node's heartbeats on the backplane. @default 2000 */
  heartbeatInterval?: number;
  /** Ms without a heartbeat after which another node counts as gone. @default 3 x heartbeatInterval */
  heartbeatTimeout?: number;
  /** Ms to wait for the first connection to NATS. @default 5000 */
  connectTimeout?: number;
}

/** Options after validation. */
export interface ResolvedNatsOptions {
  servers: string[];
  prefix: string;
  name: string | undefined;
  token: string | undefined;
  user: string | undefined;
  pass: string | undefined;
  tls: NatsTlsOptions | undefined;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  connectTimeout: number;
}

/** Defaults of {@link NatsBackplaneOptions}. */
export const NATS_DEFAULTS = {
  prefix: 'wsmesh',
  heartbeatInterval: 2000,
  connectTimeout: 5000,
} as const;

const KNOWN = new Set([
  'servers',
  'prefix',
  'name',
  'token',
  'user',
  'pass',
  'tls',
  'heartbeatInterval',
  'heartbeatTimeout',
  'connectTimeout',
]);
const TLS_KNOWN = new Set([
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'rejectUnauthorized',
  'handshakeFirst',
]);
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(`natsBackplane: ${name} must be a non-empty string`);
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidOptionError(`natsBackplane: ${name} must be a positive number of ms`);
  return value;
}

function checkTls(value: unknown): NatsTlsOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError('natsBackplane: tls must be an object');
  for (const key of Object.keys(value)) {
    if (!TLS_KNOWN.has(key))
      throw new InvalidOptionError(`natsBackplane: unknown tls option "${key}"`);
  }
  const tls = value as Record<string, unknown>;
  for (const key of ['ca', 'caFile', 'cert', 'certFile', 'key', 'keyFile'])
    optionalString(`tls.${key}`, tls[key]);
  for (const key of ['rejectUnauthorized', 'handshakeFirst']) {
    if (tls[key] !== undefined && typeof tls[key] !== 'boolean')
      throw new InvalidOptionError(`natsBackplane: tls.${key} must be a boolean`);
  }
  return value as NatsTlsOptions;
}

/** Validates options and applies defaults. Throws {@link InvalidOptionError}. */
export function resolveNatsOptions(options: NatsBackplaneOptions): ResolvedNatsOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('natsBackplane: options must be an object with `servers`');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`natsBackplane: unknown option "${key}"`);
  }
  const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (
    !Array.isArray(servers) ||
    servers.length === 0 ||
    !servers.every((url) => typeof url === 'string' && url !== '')
  ) {
    throw new InvalidOptionError(
      'natsBackplane: servers must be a NATS url or a non-empty array of urls',
    );
  }
  const prefix = options.prefix ?? NATS_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new InvalidOptionError(
      'natsBackplane: prefix must be NATS subject tokens (letters, digits, _ and -, joined by dots)',
    );
  }
  const user = optionalString('user', options.user);
  const pass = optionalString('pass', options.pass);
  if ((user === undefined) !== (pass === undefined))
    throw new InvalidOptionError('natsBackplane: give both user and pass, or neither');
  const heartbeatInterval = positive(
    'heartbeatInterval',
    options.heartbeatInterval,
    NATS_DEFAULTS.heartbeatInterval,
  );
  const heartbeatTimeout = positive(
    'heartbeatTimeout',
    options.heartbeatTimeout,
    heartbeatInterval * 3,
  );
  if (heartbeatTimeout <= heartbeatInterval)
    throw new InvalidOptionError('natsBackplane: heartbeatTimeout must exceed heartbeatInterval');
  return {
    servers: [...servers],
    prefix,
    name: optionalString('name', options.name),
    token: optionalString('token', options.token),
    user,
    pass,
    tls: checkTls(options.tls),
    heartbeatInterval,
    heartbeatTimeout,
    connectTimeout: positive(
      'connectTimeout',
      options.connectTimeout,
      NATS_DEFAULTS.connectTimeout,
    ),
  };
}
