/**
 * Helpers shared by the RPC test files (rpc.test.ts, rpc-streams.test.ts, rpc-security.test.ts):
 * asserting typed rejections, draining async iterables, and looking into the server's RPC
 * responder and a client's RPC caller to prove that nothing leaks.
 * @module
 */
import assert from 'node:assert/strict';
import type { BaseClient } from '../src/client/base-client.js';
import { StreamProducer } from '../src/rpc/stream-producer.js';
import type { Server } from '../src/server/server.js';

/** Any error class. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Awaits `promise`, expects it to reject with an instance of `type` whose `code` is `code`,
 * and returns the error for further checks.
 */
export async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  code?: string,
): Promise<E> {
  let settled: unknown;
  try {
    settled = await promise;
  } catch (error) {
    assert.ok(
      error instanceof type,
      `expected a ${type.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    if (code !== undefined) assert.equal((error as { code?: unknown }).code, code);
    return error;
  }
  assert.fail(`expected a rejection with ${type.name}, but it resolved with ${String(settled)}`);
}

/** Reads an async iterable to its end. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** What the server's RPC responder holds right now. */
export interface ResponderSnapshot {
  /** Connections with RPC state (streams, cancellable calls, watched namespaces). */
  peers: number;
  /** Open stream producers over every connection. */
  producers: number;
  /** Cancellable calls in flight over every connection. */
  calls: number;
  /** Calls and streams served so far. */
  callsServed: number;
  /** Requests the server itself awaits on its connections. */
  serverPending: number;
}

/** Looks into the RPC responder of `server` (private state, read for leak checks only). */
export function responderSnapshot(server: Server): ResponderSnapshot {
  const responder = server['responder'];
  let producers = 0;
  let calls = 0;
  for (const state of responder['peers'].values()) {
    producers += state.producers.size;
    calls += state.calls.size;
  }
  let serverPending = 0;
  for (const ws of server.clients.values()) serverPending += ws.connection.pending.size;
  return {
    peers: responder['peers'].size,
    producers,
    calls,
    callsServed: responder.callsServed,
    serverPending,
  };
}

/**
 * True when `server` has at least one open stream producer and every one of them is parked,
 * waiting for credit (no credit left and a wake-up pending). Such a producer pulls nothing
 * more until the consumer grants credit, so its count of produced items is final until then.
 */
export function producersWaitingForCredit(server: Server): boolean {
  const responder = server['responder'];
  let open = 0;
  for (const state of responder['peers'].values()) {
    for (const producer of state.producers.values()) {
      // Streams relayed to another server hold no credit here.
      if (!(producer instanceof StreamProducer)) continue;
      open++;
      if (producer['credit'] > 0 || producer['wake'] === undefined) return false;
    }
  }
  return open > 0;
}

/** Open streams and pending requests of a client's RPC side (for leak checks). */
export function callerSnapshot(client: BaseClient): { streams: number; pending: number } {
  return { streams: client['rpcCaller']['streams'].size, pending: client.getInfo().pending };
}

/** Milliseconds since `started`. */
export function since(started: number): number {
  return Date.now() - started;
}
