/**
 * Socket.IO 4 server (websocket transport only): `add` acknowledged with `a + b`; `sub`
 * joins room `g`; `pub` broadcasts to the room.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { sumOf } from '../lib/payload.js';
import { runServerChild, type StartedServer } from '../lib/server-child.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../lib/socketio-events.js';

async function start(): Promise<StartedServer> {
  const http = createServer();
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
  });
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
    },
  };
}

runServerChild(start);
