/**
 * Raw `ws` client: requests correlated by id in a Map, writes batched per tick (corked).
 * @module
 */
import type { Duplex } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { CorkedSocket } from '../../lib/cork.js';
import { rawText } from '../../lib/payload.js';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

interface Opened {
  ws: WebSocket;
  socket: CorkedSocket;
}

function open(port: number, path: string): Promise<Opened> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  let raw: Duplex | undefined;
  ws.once('upgrade', (response) => {
    raw = response.socket;
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => ws.terminate());
      if (raw === undefined) reject(new Error('ws: no socket after upgrade'));
      else resolve({ ws, socket: new CorkedSocket(raw) });
    });
  });
}

function close(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  });
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

async function connectRpc(port: number): Promise<RpcConnection> {
  const { ws, socket } = await open(port, '/rpc');
  const pending = new Map<number, Pending>();
  let nextId = 1;
  ws.on('message', (data: RawData) => {
    const message: unknown = JSON.parse(rawText(data));
    if (typeof message !== 'object' || message === null) return;
    const { id, result } = message as { id?: unknown; result?: unknown };
    if (typeof id !== 'number') return;
    const entry = pending.get(id);
    if (entry === undefined) return;
    pending.delete(id);
    entry.resolve(result);
  });
  ws.on('close', () => {
    for (const entry of pending.values()) entry.reject(new Error('ws: connection closed'));
    pending.clear();
  });
  return {
    add: (a, b) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        socket.cork();
        ws.send(JSON.stringify({ id, data: { a, b } }));
      }),
    close: () => close(ws),
  };
}

async function subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
  const { ws } = await open(port, '/sub');
  ws.on('message', (data: RawData) => {
    const message: unknown = JSON.parse(rawText(data));
    onData(message);
  });
  return { close: () => close(ws) };
}

async function connectPublisher(port: number): Promise<Publisher> {
  const { ws, socket } = await open(port, '/pub');
  return {
    publish: (data) => {
      socket.cork();
      ws.send(JSON.stringify(data));
    },
    close: () => close(ws),
  };
}

/** The raw `ws` adapter. */
export const adapter: Adapter = { connectRpc, subscribe, connectPublisher };
