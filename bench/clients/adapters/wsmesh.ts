/**
 * wsmesh client: `sendMes` with `awaitRes` for S1; `subscribe` and `sendMesToGroup` for S2.
 * @module
 */
import { loadWsMesh, type WsMeshModule } from '../../lib/wsmesh-module.js';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

type Client = InstanceType<WsMeshModule['Client']>;

const wsmesh = await loadWsMesh();

function client(port: number): Client {
  return new wsmesh.Client({ url: `ws://127.0.0.1:${port}/`, reconnect: false, silent: true });
}

async function connectRpc(port: number): Promise<RpcConnection> {
  const rpc = client(port);
  await rpc.start();
  return {
    add: (a, b) => rpc.sendMes({ route: 'add', data: { a, b }, awaitRes: true }),
    close: () => rpc.stop(),
  };
}

async function subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
  const subscriber = client(port);
  subscriber.addRoute({
    route: 'm',
    handler: ({ data }) => {
      onData(data);
    },
  });
  await subscriber.start();
  await subscriber.subscribe({ id: 'g' });
  return { close: () => subscriber.stop() };
}

async function connectPublisher(port: number): Promise<Publisher> {
  const publisher = client(port);
  await publisher.start();
  return {
    publish: (data) => {
      publisher.sendMesToGroup({ id: 'g', route: 'm', data }).catch(() => undefined);
    },
    close: () => publisher.stop(),
  };
}

/** The wsmesh adapter. */
export const adapter: Adapter = { connectRpc, subscribe, connectPublisher };
