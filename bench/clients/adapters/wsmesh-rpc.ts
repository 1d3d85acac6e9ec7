/**
 * wsmesh RpcProxy client: `add` and the `items` stream of namespace `bench` (S1 only).
 * @module
 */
import { loadWsMesh } from '../../lib/wsmesh-module.js';
import type { Adapter, RpcConnection } from '../adapter.js';

interface BenchApi {
  add(a: number, b: number): number;
  items(count: number): AsyncGenerator<number>;
}

const wsmesh = await loadWsMesh();

async function connectRpc(port: number): Promise<RpcConnection> {
  const proxy = await wsmesh.RpcProxy.create<BenchApi>({
    host: '127.0.0.1',
    port,
    namespace: 'bench',
  });
  return {
    add: (a, b) => proxy.add(a, b),
    stream: (count) => proxy.items(count),
    close: () => proxy.close(),
  };
}

function unsupported(): Promise<never> {
  return Promise.reject(new Error('wsmesh-rpc is an S1 contender only'));
}

/** The wsmesh RpcProxy adapter. */
export const adapter: Adapter = {
  connectRpc,
  subscribe: unsupported,
  connectPublisher: unsupported,
};
