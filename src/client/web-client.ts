/**
 * The browser client: {@link BaseClient} over the platform `WebSocket`.
 * @module
 */
import type { RpcProxy as RpcProxyType, UntypedApi } from '../rpc/proxy.js';
import { browserDialer } from '../transport/browser-dialer.js';
import { BaseClient } from './base-client.js';
import type { MessageTypes } from '../routing/message-types.js';
import type { ClientOptions } from './options.js';
import { createRpcProxy, type RpcProxyOptions } from './rpc-proxy.js';

/**
 * A wsmesh client for browsers (any platform with a global `WebSocket`). `M` declares the
 * messages (see {@link MessageTypes}); without it every message is untyped.
 */
export class WebClient<M extends MessageTypes = MessageTypes> extends BaseClient<M> {
  constructor(options: ClientOptions) {
    super(options, browserDialer);
  }
}

/** A typed proxy to remote functions: `const math = await RpcProxy.create<MathApi>({...})`. */
export type RpcProxy<Api = UntypedApi> = RpcProxyType<Api>;

/** Factory of RPC proxies over the platform `WebSocket`. */
export const RpcProxy = {
  /** Connects and resolves once the functions of `namespace` are known. */
  create<Api = UntypedApi>(options: RpcProxyOptions): Promise<RpcProxyType<Api>> {
    return createRpcProxy<Api>(options, browserDialer);
  },
};
