/**
 * Raw `ws` server that batches exactly as wsmesh peers negotiate (PROTOCOL.md 2.9): the fair
 * limit for a batching protocol. Paths as the `ws` contender: `/rpc` answers each
 * `{id, data: {a, b}}` of a message (one, or a batch of lines) with `{id, result}`, the
 * replies of one tick joined in one message; `/pub` appends each message (or batch) it gets
 * to the tick's fan-out batch, which at the end of the tick is packed into one JSON array
 * (as wsmesh packs group messages for clients that read packs), framed once and written to
 * every subscriber. The fan-out never parses what it forwards. As the S3 relay, the last
 * server of a cluster forwards each tick's batch, as lines, to every peer's `/relay` (one ws
 * connection per peer), which fans it out like `/pub` and never forwards it.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';
import type WebSocket from 'ws';
import { rawBytes, sumOf } from '../lib/payload.js';
import {
  extraListeners,
  runServerChild,
  type ServerArgument,
  type StartedServer,
} from '../lib/server-child.js';
import { eachValue, joinBytes, joinText, packLines, TickBatch } from '../lib/tick-batch.js';
import { frameOnce, openRaw } from '../lib/ws-raw.js';

const subscribers = new Set<Duplex>();
/** Connections to the peers' `/relay` (only on the hub). */
let relays: WebSocket[] = [];

/** This tick's messages to every subscriber, framed once at the end of the tick. */
const fanout = new TickBatch<Buffer>((parts) => {
  const payload = joinBytes(parts);
  for (const relay of relays) relay.send(payload, { binary: false });
  const framed = frameOnce(packLines(payload), false);
  for (const subscriber of subscribers) subscriber.write(framed);
});

/** The `/relay` side forwards nothing: its own batch. */
const relayed = new TickBatch<Buffer>((parts) => {
  const framed = frameOnce(packLines(joinBytes(parts)), false);
  for (const subscriber of subscribers) subscriber.write(framed);
});

function serveRpc(ws: WebSocket): void {
  const replies = new TickBatch<string>((parts) => ws.send(joinText(parts)));
  ws.on('message', (data: RawData) => {
    eachValue(data, (message) => {
      if (typeof message !== 'object' || message === null) return;
      const { id, data: args } = message as { id?: unknown; data?: unknown };
      if (typeof id !== 'number') return;
      replies.add(JSON.stringify({ id, result: sumOf(args) ?? null }));
    });
  });
}

function servePublisher(ws: WebSocket, batch: TickBatch<Buffer>): void {
  ws.on('message', (data: RawData) => batch.add(rawBytes(data)));
}

function serveSubscriber(ws: WebSocket, socket: Duplex): void {
  subscribers.add(socket);
  ws.on('close', () => subscribers.delete(socket));
}

async function start(argument: ServerArgument): Promise<StartedServer> {
  if (argument.index === argument.servers - 1) {
    relays = (await Promise.all(argument.peerPorts.map((port) => openRaw(port, '/relay')))).map(
      (opened) => opened.ws,
    );
  }
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (ws, request) => {
    ws.on('error', () => ws.terminate());
    if (request.url === '/rpc') serveRpc(ws);
    else if (request.url === '/sub') serveSubscriber(ws, request.socket);
    else if (request.url === '/pub') servePublisher(ws, fanout);
    else if (request.url === '/relay') servePublisher(ws, relayed);
    else ws.close(1008, 'unknown path');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const extra = await extraListeners(argument.listeners - 1, http);
  const { port } = http.address() as AddressInfo;
  return {
    port,
    extraPorts: extra.ports,
    close: () =>
      new Promise<void>((resolve) => {
        extra.close();
        for (const relay of relays) relay.terminate();
        wss.close(() => http.close(() => resolve()));
      }),
  };
}

runServerChild(start);
