/**
 * Client options, defaults and validation.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { CodecName } from '../protocol/codec.js';
import { isCodecName } from '../protocol/codecs.js';
import { isName } from '../protocol/validate.js';
import { checkTls, type TlsOptions } from '../transport/dialer.js';
import { checkEncryption } from '../transport/frame-cipher.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';

/** Options of `new Client(options)`. */
export interface ClientOptions {
  /**
   * Client id, sent to the server in HELLO.
   * @default generated (`client-<uuid>`)
   */
  id?: string | undefined;
  /**
   * Server url, or several: tried round-robin when one fails.
   */
  url: string | string[];
  /**
   * User data (stays local).
   * @default undefined
   */
  data?: unknown;
  /**
   * Reconnect after the connection drops.
   * @default true
   */
  reconnect?: boolean | undefined;
  /**
   * ms between reconnect attempts.
   * @default 2000
   */
  reconnectTimeout?: number | undefined;
  /**
   * Default reply timeout of `sendMes` in ms.
   * @default 10000
   */
  awaitResTimeout?: number | undefined;
  /**
   * Failed connection attempts in a row before giving up; 0 = never give up.
   * @default 0
   */
  attempts?: number | undefined;
  /**
   * `start()` rejects (and the client stops) when the first attempt fails, or the first try of
   * each url when there are several, with the error that says why. When false, the client keeps
   * trying as Socket.IO does, and reports each failure through `connect_error` and `error`.
   * @default false
   */
  failFast?: boolean | undefined;
  /**
   * When false, log events to the console.
   * @default true
   */
  silent?: boolean | undefined;
  /**
   * Codec to ask the server for.
   * @default 'json'
   */
  codec?: CodecName | undefined;
  /**
   * Largest accepted incoming frame.
   * @default 1048576 (1 MiB)
   */
  maxPayload?: number | undefined;
  /**
   * ms of silence before a PING; a server silent for two ticks is dropped.
   * @default 10000
   */
  heartbeatInterval?: number | undefined;
  /**
   * ms allowed for connecting (WebSocket + wsmesh handshake).
   * @default 10000
   */
  handshakeTimeout?: number | undefined;
  /**
   * Messages kept while disconnected, sent on reconnect.
   * @default 1000
   */
  maxQueue?: number | undefined;
  /**
   * Outbound bytes allowed to wait in the socket.
   * @default 16777216 (16 MiB)
   */
  maxBufferedBytes?: number | undefined;
  /**
   * TLS settings for `wss://` urls (Node only), e.g. `{ ca }` for a self-signed certificate.
   * @default undefined
   */
  tls?: TlsOptions | undefined;
  /**
   * Shared secret for RPC; proved in the handshake, never sent.
   * @default undefined
   */
  serverSecret?: string | undefined;
  /**
   * Credentials for the server's `authenticate` hook (a token, for example), or a function
   * returning them, called before every connection attempt (so a token can be refreshed).
   * @default undefined
   */
  credentials?: unknown;
  /**
   * Encrypt every frame after the handshake (AES-256-GCM keyed from `serverSecret`). Node only.
   * @default false
   */
  encryption?: boolean | undefined;
}

/** Options after defaults. */
export interface ResolvedClientOptions {
  id: string;
  urls: string[];
  data: unknown;
  reconnect: boolean;
  reconnectTimeout: number;
  awaitResTimeout: number;
  attempts: number;
  failFast: boolean;
  silent: boolean;
  codec: CodecName;
  maxPayload: number;
  heartbeatInterval: number;
  handshakeTimeout: number;
  maxQueue: number;
  maxBufferedBytes: number;
  tls: TlsOptions | undefined;
  serverSecret: string | undefined;
  credentials: unknown;
  encryption: boolean;
}

/** Defaults of the client options. */
export const CLIENT_DEFAULTS = {
  reconnect: true,
  reconnectTimeout: 2000,
  awaitResTimeout: 10_000,
  attempts: 0,
  failFast: false,
  silent: true,
  codec: 'json',
  maxPayload: 1024 * 1024,
  heartbeatInterval: 10_000,
  handshakeTimeout: 10_000,
  maxQueue: 1000,
  maxBufferedBytes: 16 * 1024 * 1024,
} as const;

/** The names of the client options (a missing one does not compile). */
const CLIENT_OPTION_KEYS: OptionKeys<ClientOptions> = {
  id: true,
  url: true,
  data: true,
  reconnect: true,
  reconnectTimeout: true,
  awaitResTimeout: true,
  attempts: true,
  failFast: true,
  silent: true,
  codec: true,
  maxPayload: true,
  heartbeatInterval: true,
  handshakeTimeout: true,
  maxQueue: true,
  maxBufferedBytes: true,
  tls: true,
  serverSecret: true,
  credentials: true,
  encryption: true,
};

/** Checks one server url; throws {@link InvalidOptionError}. */
export function checkUrl(url: unknown): string {
  if (typeof url !== 'string') throw new InvalidOptionError('url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError(`url is not a valid URL: ${url}`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw new InvalidOptionError(`url must use ws://, wss://, http:// or https://: ${url}`);
  }
  return url;
}

function numberOption(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionError(`${name} must be a number >= ${min}`);
  }
  return value;
}

function checkSecret(secret: unknown): string | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret !== 'string' || secret === '')
    throw new InvalidOptionError('serverSecret must be a non-empty string');
  return secret;
}

function randomId(): string {
  const { crypto } = globalThis;
  // Browsers offer randomUUID only to secure contexts (https, localhost); a page served over
  // plain http from another host still has getRandomValues.
  if (typeof crypto.randomUUID === 'function') return `client-${crypto.randomUUID()}`;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `client-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** Validates client options and applies defaults. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('Client options must be an object with a url');
  }
  refuseUnknownOptions(options, CLIENT_OPTION_KEYS, 'new Client()', {
    urls: 'give one url or an array of them as "url"',
  });
  const urls = (Array.isArray(options.url) ? options.url : [options.url]).map(checkUrl);
  if (urls.length === 0) throw new InvalidOptionError('url must name at least one server');
  const id = options.id ?? randomId();
  if (!isName(id))
    throw new InvalidOptionError('id must be a non-empty string of at most 256 characters');
  const codec = options.codec ?? CLIENT_DEFAULTS.codec;
  if (!isCodecName(codec)) throw new InvalidOptionError('codec must be "json" or "msgpack"');
  for (const flag of ['reconnect', 'silent', 'failFast'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new InvalidOptionError(`${flag} must be a boolean`);
    }
  }
  const attempts = numberOption('attempts', options.attempts, CLIENT_DEFAULTS.attempts, 0);
  if (!Number.isInteger(attempts)) throw new InvalidOptionError('attempts must be an integer');
  return {
    id,
    urls: [...new Set(urls)],
    data: options.data,
    reconnect: options.reconnect ?? CLIENT_DEFAULTS.reconnect,
    reconnectTimeout: numberOption(
      'reconnectTimeout',
      options.reconnectTimeout,
      CLIENT_DEFAULTS.reconnectTimeout,
      0,
    ),
    awaitResTimeout: numberOption(
      'awaitResTimeout',
      options.awaitResTimeout,
      CLIENT_DEFAULTS.awaitResTimeout,
      1,
    ),
    attempts,
    failFast: options.failFast ?? CLIENT_DEFAULTS.failFast,
    silent: options.silent ?? CLIENT_DEFAULTS.silent,
    codec,
    maxPayload: numberOption('maxPayload', options.maxPayload, CLIENT_DEFAULTS.maxPayload, 1),
    heartbeatInterval: numberOption(
      'heartbeatInterval',
      options.heartbeatInterval,
      CLIENT_DEFAULTS.heartbeatInterval,
      0,
    ),
    handshakeTimeout: numberOption(
      'handshakeTimeout',
      options.handshakeTimeout,
      CLIENT_DEFAULTS.handshakeTimeout,
      1,
    ),
    maxQueue: numberOption('maxQueue', options.maxQueue, CLIENT_DEFAULTS.maxQueue, 0),
    maxBufferedBytes: numberOption(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      CLIENT_DEFAULTS.maxBufferedBytes,
      1,
    ),
    tls: checkTls(options.tls),
    serverSecret: checkSecret(options.serverSecret),
    credentials: options.credentials,
    encryption: checkEncryption(options.encryption, options.serverSecret),
  };
}
