/**
 * wsmesh on NATS, client side: nothing differs from the mesh (clients do not know the
 * backplane): groups as the wsmesh adapter, calls through `RpcProxy` as wsmesh-rpc.
 * @module
 */
import type { Adapter } from '../adapter.js';
import { adapter as groups } from './wsmesh.js';
import { adapter as rpc } from './wsmesh-rpc.js';

/** The wsmesh-on-NATS adapter. */
export const adapter: Adapter = {
  connectRpc: rpc.connectRpc,
  subscribe: groups.subscribe,
  connectPublisher: groups.connectPublisher,
};
