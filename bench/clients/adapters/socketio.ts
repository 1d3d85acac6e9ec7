/**
 * Socket.IO 4 client, websocket transport only, one Manager per connection.
 * @module
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../lib/socketio-events.js';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function connect(port: number): Promise<ClientSocket> {
  const socket: ClientSocket = io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function close(socket: ClientSocket): Promise<void> {
  socket.disconnect();
  return Promise.resolve();
}

async function connectRpc(port: number): Promise<RpcConnection> {
  const socket = await connect(port);
  return {
    add: (a, b) => socket.emitWithAck('add', { a, b }),
    close: () => close(socket),
  };
}

async function subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
  const socket = await connect(port);
  socket.on('m', onData);
  const ok = await socket.emitWithAck('sub');
  if (!ok) throw new Error('Socket.IO: subscription refused');
  return { close: () => close(socket) };
}

async function connectPublisher(port: number): Promise<Publisher> {
  const socket = await connect(port);
  return {
    publish: (data) => {
      socket.emit('pub', data);
    },
    close: () => close(socket),
  };
}

/** The Socket.IO adapter. */
export const adapter: Adapter = { connectRpc, subscribe, connectPublisher };
