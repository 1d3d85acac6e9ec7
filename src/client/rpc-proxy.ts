/**
 * `RpcProxy.create(options)`: a proxy with its own connection, as easyrpc's `EasyRpcProxy`.
 * @module
 */
import { InvalidOptionError, NotConnectedError, WsMeshError } from '../errors.js';
import type { CodecName } from '../protocol/codec.js';
import { createProxy, type RpcProxy as RpcProxyType, type UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import type { Dialer } from '../transport/dialer.js';
import type { CipherFactory } from '../transport/frame-cipher.js';
import { proxyUrl, type RpcEndpointOptions } from '../rpc/endpoint.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';
import { BaseClient } from './base-client.js';

/** Options of `RpcProxy.create`. Give `url`, or `host` + `port` (+ `path`). */
export interface RpcProxyOptions extends RpcEndpointOptions {
  /** Default call timeout in ms. @default 10000 */
  timeout?: number | undefined;
  /** Codec. @default 'json' */
  codec?: CodecName | undefined;
  /** Reconnect when the connection drops. @default true */
  reconnect?: boolean | undefined;
  /** Encrypt every frame (AES-256-GCM keyed from `serverSecret`). Node only. @default false */
  encryption?: boolean | undefined;
  /** Largest accepted incoming frame (results, stream items). @default 1048576 (1 MiB) */
  maxPayload?: number | undefined;
}

const RPC_PROXY_OPTION_KEYS: OptionKeys<RpcProxyOptions> = {
  url: true,
  host: true,
  port: true,
  path: true,
  serverSecret: true,
  namespace: true,
  tls: true,
  timeout: true,
  codec: true,
  reconnect: true,
  encryption: true,
  maxPayload: true,
};

/**
 * Opens a connection and resolves with a proxy once the namespace's functions are known.
 * Rejects with `AuthError` for a wrong secret and `NotConnectedError` when the server cannot
 * be reached (it never hangs).
 */
export async function createRpcProxy<Api>(
  options: RpcProxyOptions,
  dialer: Dialer,
  cipherFactory?: CipherFactory,
): Promise<RpcProxyType<Api>> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('RpcProxy.create takes an options object');
  refuseUnknownOptions(options, RPC_PROXY_OPTION_KEYS, 'RpcProxy.create()');
  const client = new BaseClient(
    {
      url: proxyUrl(options),
      awaitResTimeout: options.timeout ?? 10_000,
      codec: options.codec ?? 'json',
      reconnect: options.reconnect ?? true,
      ...(options.serverSecret === undefined ? {} : { serverSecret: options.serverSecret }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
      ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
    },
    dialer,
    'rpc',
    cipherFactory,
  );
  // The first attempt decides: an unreachable server or a wrong secret rejects at once.
  let firstError: Error | undefined;
  const onError = ({ error }: { error: Error }): void => {
    firstError ??= error;
    void client.stop();
  };
  client.on('error', onError);
  try {
    await client.start();
  } catch (error) {
    const cause = firstError ?? error;
    // Socket errors (ECONNREFUSED...) come through as plain errors: report them as documented.
    if (cause instanceof WsMeshError) throw cause;
    throw new NotConnectedError(
      `Could not connect to ${proxyUrl(options)}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  } finally {
    client.off('error', onError);
  }
  try {
    // Closing this proxy closes the connection it owns.
    return await createProxy<Api>(client.rpcBackend(), options.namespace ?? DEFAULT_NAMESPACE, () =>
      client.stop(),
    );
  } catch (error) {
    await client.stop();
    throw error;
  }
}

/** The generic type of RPC proxies, re-exported with the factory. */
export type RpcProxy<Api = UntypedApi> = RpcProxyType<Api>;

export type { UntypedApi };
