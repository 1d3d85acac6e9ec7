/**
 * NATS client (`@nats-io/transport-node`) over TCP, or over WebSocket (`wsconnect`, on the
 * `ws` package): S1 is request/reply on subject `add`, S2/S3 subscribe and publish on `g`.
 * Every connection is a NATS connection of its own, like every other contender's.
 * @module
 */
import { connect, wsconnect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

/** How the client reaches nats-server. */
export type NatsTransport = 'tcp' | 'websocket';

const REQUEST_TIMEOUT_MS = 10_000;

function open(transport: NatsTransport, port: number): Promise<NatsConnection> {
  if (transport === 'tcp') return connect({ servers: `127.0.0.1:${port}`, reconnect: false });
  return wsconnect({
    servers: `ws://127.0.0.1:${port}`,
    reconnect: false,
    // Node 20 has no global WebSocket: `ws` stands in (it speaks the same browser API).
    wsFactory: (url: string) =>
      Promise.resolve({
        socket: new WebSocket(url, { perMessageDeflate: false }) as unknown as globalThis.WebSocket,
        encrypted: false,
      }),
  });
}

/** The NATS adapter over `transport`. */
export function natsAdapter(transport: NatsTransport): Adapter {
  return {
    async connectRpc(port: number): Promise<RpcConnection> {
      const nc = await open(transport, port);
      return {
        add: async (a, b) => {
          const reply = await nc.request('add', JSON.stringify({ a, b }), {
            timeout: REQUEST_TIMEOUT_MS,
          });
          return reply.json();
        },
        close: () => nc.close(),
      };
    },
    async subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
      const nc = await open(transport, port);
      nc.subscribe('g', {
        callback: (error, message) => {
          if (error === null) onData(message.json());
        },
      });
      await nc.flush();
      return { close: () => nc.close() };
    },
    async connectPublisher(port: number): Promise<Publisher> {
      const nc = await open(transport, port);
      return {
        publish: (data) => nc.publish('g', JSON.stringify(data)),
        close: () => nc.close(),
      };
    },
  };
}
