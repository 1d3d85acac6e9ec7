/**
 * `RpcProxy` for Node (`import { RpcProxy } from 'wsmesh'`).
 * @module
 */
import type { RpcProxy as RpcProxyType, UntypedApi } from '../rpc/proxy.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { nodeDialer } from '../transport/node-dialer.js';
import { createRpcProxy, type RpcProxyOptions } from './rpc-proxy.js';

/** A typed proxy to remote functions: `const math = await RpcProxy.create<MathApi>({...})`. */
export type RpcProxy<Api = UntypedApi> = RpcProxyType<Api>;

/** Factory of RPC proxies. */
export const RpcProxy = {
  /** Connects and resolves once the functions of `namespace` are known. */
  create<Api = UntypedApi>(options: RpcProxyOptions): Promise<RpcProxyType<Api>> {
    return createRpcProxy<Api>(options, nodeDialer, nodeCipherFactory);
  },
};
