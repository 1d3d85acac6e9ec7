/**
 * rpc-websockets client: `call` for S1; event subscription and notifications for S2.
 * @module
 */
import { Client } from 'rpc-websockets';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

function connect(port: number): Promise<Client> {
  const client = new Client(`ws://127.0.0.1:${port}/`, {
    autoconnect: true,
    reconnect: false,
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve(client));
    client.once('error', reject);
  });
}

function close(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.close();
  });
}

async function connectRpc(port: number): Promise<RpcConnection> {
  const client = await connect(port);
  return {
    add: (a, b) => client.call('add', { a, b }),
    close: () => close(client),
  };
}

async function subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
  const client = await connect(port);
  client.on('m', onData);
  await client.subscribe('m');
  return { close: () => close(client) };
}

async function connectPublisher(port: number): Promise<Publisher> {
  const client = await connect(port);
  return {
    publish: (data) => {
      client.notify('pub', { seq: data.seq, pad: data.pad }).catch(() => undefined);
    },
    close: () => close(client),
  };
}

/** The rpc-websockets adapter. */
export const adapter: Adapter = { connectRpc, subscribe, connectPublisher };
