/**
 * Where an RPC proxy or a server link connects: `url`, or `host` + `port` + `path`, as in the
 * easyrpc examples.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { TlsOptions } from '../transport/dialer.js';

/** Address and credentials of an RPC endpoint. */
export interface RpcEndpointOptions {
  /** Server url, e.g. `ws://127.0.0.1:8220/ws/server_a`. @default undefined (give host and port) */
  url?: string | undefined;
  /** Host, when no url is given. @default undefined */
  host?: string | undefined;
  /** Port, when no url is given. @default undefined */
  port?: number | undefined;
  /** Path, when no url is given. @default '/' */
  path?: string | undefined;
  /** Shared secret of the server (proved, never sent). @default undefined */
  serverSecret?: string | undefined;
  /** Namespace (or namespace group). @default 'DEFAULT' */
  namespace?: string | undefined;
  /** TLS settings for `wss://` (Node). Giving them makes host+port urls use `wss://`. @default undefined */
  tls?: TlsOptions | undefined;
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
