/**
 * Where an RPC proxy or a server link connects: `url`, or `host` + `port` + `path`, as in the
 * easyrpc examples.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { TlsOptions } from '../transport/dialer.js';

/** Address and credentials of an RPC endpoint. */
export interface RpcEndpointOptions {
  /** Server url, e.g. `ws://127.0.0.1:8220/ws/server_a`. */
  url?: string;
  /** Host, when no url is given. */
  host?: string;
  /** Port, when no url is given. */
  port?: number;
  /** Path, when no url is given. Default `/`. */
  path?: string;
  /** Shared secret of the server (proved, never sent). */
  serverSecret?: string;
  /** Namespace (or namespace group). Default `DEFAULT`. */
  namespace?: string;
  /** TLS settings for `wss://` (Node). Giving them makes host+port urls use `wss://`. */
  tls?: TlsOptions;
}

/** The url of an endpoint. */
export function proxyUrl(options: RpcEndpointOptions): string {
  if (options.url !== undefined) return options.url;
  if (options.host === undefined || options.port === undefined) {
    throw new InvalidOptionError('give url, or host and port');
  }
  const path = options.path ?? '/';
  const scheme = options.tls !== undefined ? 'wss' : 'ws';
  const host =
    options.host.includes(':') && !options.host.startsWith('[')
      ? `[${options.host}]`
      : options.host;
  return `${scheme}://${host}:${options.port}${path.startsWith('/') ? path : `/${path}`}`;
}
