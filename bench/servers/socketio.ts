/**
 * Socket.IO 4 server (websocket transport only): `add` acknowledged with `a + b`; `sub`
 * joins room `g`; `pub` broadcasts to the room. Told of a redis-server (S3), it uses the
 * Redis adapter, so a broadcast reaches the room's members on every server.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { sumOf } from '../lib/payload.js';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../lib/socketio-events.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const http = createServer();
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
  });
  const redisClients: { quit(): Promise<unknown> }[] = [];
  if (argument.redisPort !== undefined) {
    const pubClient = createClient({ url: `redis://127.0.0.1:${argument.redisPort}` });
    const subClient = pubClient.duplicate();
    await Promise.all([pubClient.connect(), subClient.connect()]);
    redisClients.push(pubClient, subClient);
    io.adapter(createAdapter(pubClient, subClient));
  }
  io.on('connection', (socket) => {
    socket.on('add', (args, ack) => ack(sumOf(args) ?? null));
    socket.on('sub', (ack) => {
      void socket.join('g');
      ack(true);
    });
    socket.on('pub', (data) => {
      io.to('g').emit('m', data);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    port,
    close: async () => {
      await io.close();
      await Promise.all(redisClients.map((client) => client.quit().catch(() => undefined)));
    },
  };
}

runServerChild(start);
