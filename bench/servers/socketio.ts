/**
 * Socket.IO 4 server (websocket transport only): `add` acknowledged with `a + b`; `sub`
 * joins room `g`; `pub` broadcasts to the room. Told of a redis-server (S3, S7), it uses the
 * Redis adapter, so a broadcast reaches the room's members on every server; in a cluster only
 * the first server computes `add`: the others forward each call to it with
 * `serverSideEmitWithAck` (RPC across servers, S7). Such a cluster settles once a forwarded
 * call answers.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { sumOf } from '../lib/payload.js';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
} from '../lib/socketio-events.js';
import type { AddArgs } from '../lib/payload.js';

type IoServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;

const SETTLE_LIMIT_MS = 15_000;

/** `a + b` computed by the first server of the cluster, through the Redis adapter. */
async function forwardAdd(io: IoServer, args: AddArgs): Promise<number | null> {
  const answers = await io.serverSideEmitWithAck('add', args);
  return answers.find((answer) => answer !== null) ?? null;
}

async function settleForward(io: IoServer): Promise<void> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const sum = await Promise.race([
      forwardAdd(io, { a: 1, b: 2 }).catch(() => null),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), 1_000);
      }),
    ]);
    clearTimeout(timer);
    if (sum === 3) return;
    if (Date.now() > deadline) throw new Error('Socket.IO: forwarded add did not answer');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function start(argument: ServerArgument): Promise<StartedServer> {
  const http = createServer();
  const io: IoServer = new Server(http, {
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
  const forwards = argument.servers > 1 && argument.index !== 0;
  io.on('add', (args, ack) => ack(forwards ? null : (sumOf(args) ?? null)));
  io.on('connection', (socket) => {
    socket.on('add', (args, ack) => {
      if (!forwards) ack(sumOf(args) ?? null);
      else forwardAdd(io, args).then(ack, () => ack(null));
    });
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
    ...(forwards && argument.index === argument.servers - 1
      ? { settle: () => settleForward(io) }
      : {}),
    close: async () => {
      await io.close();
      await Promise.all(redisClients.map((client) => client.quit().catch(() => undefined)));
    },
  };
}

runServerChild(start);
