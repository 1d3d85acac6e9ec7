/**
 * Loads one contender's adapter (only that contender's library is imported).
 * @module
 */
import type { ContenderName } from '../../lib/contenders.js';
import type { Adapter } from '../adapter.js';

/** The adapter of `name`. */
export async function loadAdapter(name: ContenderName): Promise<Adapter> {
  switch (name) {
    case 'ws':
      return (await import('./ws.js')).adapter;
    case 'ws-batched':
      return (await import('./ws-batched.js')).adapter;
    case 'nats':
      return (await import('./nats.js')).natsAdapter('tcp');
    case 'nats-ws':
      return (await import('./nats.js')).natsAdapter('websocket');
    case 'wsmesh-nats':
      return (await import('./wsmesh-nats.js')).adapter;
    case 'socket.io':
      return (await import('./socketio.js')).adapter;
    case 'rpc-websockets':
      return (await import('./rpc-websockets.js')).adapter;
    case 'wsmesh':
      return (await import('./wsmesh.js')).adapter;
    case 'wsmesh-rpc':
      return (await import('./wsmesh-rpc.js')).adapter;
  }
}
