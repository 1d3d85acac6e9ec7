/**
 * Raw `ws` client that batches as wsmesh negotiates: the requests (or publishes) of one tick
 * leave as one message of JSON lines; every received message is split into its lines, except
 * fan-out messages, which come packed as one JSON array.
 * @module
 */
import type { RawData } from 'ws';
import { eachPacked, eachValue, joinText, TickBatch } from '../../lib/tick-batch.js';
import { closeRaw, openRaw } from '../../lib/ws-raw.js';
import type { Adapter, Publisher, RpcConnection, Subscription } from '../adapter.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

async function connectRpc(port: number): Promise<RpcConnection> {
  const { ws } = await openRaw(port, '/rpc');
  const pending = new Map<number, Pending>();
  const requests = new TickBatch<string>((parts) => ws.send(joinText(parts)));
  let nextId = 1;
  ws.on('message', (data: RawData) => {
    eachValue(data, (message) => {
      if (typeof message !== 'object' || message === null) return;
      const { id, result } = message as { id?: unknown; result?: unknown };
      if (typeof id !== 'number') return;
      const entry = pending.get(id);
      if (entry === undefined) return;
      pending.delete(id);
      entry.resolve(result);
    });
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
        requests.add(JSON.stringify({ id, data: { a, b } }));
      }),
    close: () => closeRaw(ws),
  };
}

async function subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription> {
  const { ws } = await openRaw(port, '/sub');
  ws.on('message', (data: RawData) => eachPacked(data, onData));
  return { close: () => closeRaw(ws) };
}

async function connectPublisher(port: number): Promise<Publisher> {
  const { ws } = await openRaw(port, '/pub');
  const batch = new TickBatch<string>((parts) => ws.send(joinText(parts)));
  return {
    publish: (data) => batch.add(JSON.stringify(data)),
    close: () => closeRaw(ws),
  };
}

/** The batching raw `ws` adapter. */
export const adapter: Adapter = { connectRpc, subscribe, connectPublisher };
