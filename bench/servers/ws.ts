/**
 * Raw `ws` server, the hand-optimized reference. Paths: `/rpc` answers `{id, data: {a, b}}`
 * with `{id, result: a + b}`; `/sub` joins the fan-out; `/pub` fans each message out, framed
 * once and written to every subscriber's socket with one write per socket per tick.
 * As the S3 relay, the last server of a cluster (the one the publisher uses) is a hub: it
 * forwards every publish to each peer over one ws connection per peer (corked the same way),
 * to the peer's `/relay`, which fans it out to the peer's own subscribers like `/pub` but
 * never forwards it (no loops, whatever the cluster's shape).
 * @module
 */
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer, type RawData } from 'ws';
import { CorkedSocket } from '../lib/cork.js';
import { rawBytes, rawText, sumOf } from '../lib/payload.js';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';
import { frameOnce, openRaw } from '../lib/ws-raw.js';

const subscribers = new Set<CorkedSocket>();

interface Relay {
  ws: WebSocket;
  socket: CorkedSocket;
}
/** Connections to the peers' `/relay` (only on the hub). */
let relays: Relay[] = [];

/** Opens the relay connection to a peer's `/relay`. */
async function openRelay(port: number): Promise<Relay> {
  const { ws, raw } = await openRaw(port, '/relay');
  return { ws, socket: new CorkedSocket(raw) };
}

function serveRpc(ws: WebSocket, socket: CorkedSocket): void {
  ws.on('message', (data: RawData) => {
    const message: unknown = JSON.parse(rawText(data));
    if (typeof message !== 'object' || message === null) return;
    const { id, data: args } = message as { id?: unknown; data?: unknown };
    if (typeof id !== 'number') return;
    socket.cork();
    ws.send(JSON.stringify({ id, result: sumOf(args) ?? null }));
  });
}

/** A publisher (`/pub`, forwarded to the peers) or the hub's relay (`/relay`, not forwarded). */
function servePublisher(ws: WebSocket, forward: readonly Relay[]): void {
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = rawBytes(data);
    for (const relay of forward) {
      relay.socket.cork();
      relay.ws.send(bytes, { binary: isBinary });
    }
    const framed = frameOnce(bytes, isBinary);
    for (const subscriber of subscribers) subscriber.write(framed);
  });
}

function serveSubscriber(ws: WebSocket, socket: CorkedSocket): void {
  subscribers.add(socket);
  ws.on('close', () => subscribers.delete(socket));
}

async function start(argument: ServerArgument): Promise<StartedServer> {
  // Started last, the hub knows every peer; the others are only relayed to.
  if (argument.index === argument.servers - 1) {
    relays = await Promise.all(argument.peerPorts.map(openRelay));
  }
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (ws, request) => {
    const socket = new CorkedSocket(request.socket);
    ws.on('error', () => ws.terminate());
    if (request.url === '/rpc') serveRpc(ws, socket);
    else if (request.url === '/sub') serveSubscriber(ws, socket);
    else if (request.url === '/pub') servePublisher(ws, relays);
    else if (request.url === '/relay') servePublisher(ws, []);
    else ws.close(1008, 'unknown path');
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const relay of relays) relay.ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

runServerChild(start);
