/**
 * What a load generator needs from a contender's client library. Each contender implements
 * it in bench/clients/adapters/<name>.ts with its own idiomatic calls.
 * @module
 */
import type { FanoutData } from '../lib/payload.js';

/** One connection making S1 calls. */
export interface RpcConnection {
  /** Asks the server for `a + b`; resolves with the server's answer. */
  add(a: number, b: number): Promise<unknown>;
  /** Streams the integers 0..count-1 (only contenders with streams: wsmesh-rpc). */
  stream?(count: number): AsyncIterable<unknown>;
  close(): Promise<void>;
}

/** One subscribed S2 connection. */
export interface Subscription {
  close(): Promise<void>;
}

/** The S2 publisher connection. */
export interface Publisher {
  /** Publishes one message to every subscriber (fire and forget). */
  publish(data: FanoutData): void;
  close(): Promise<void>;
}

/** A contender's client side. */
export interface Adapter {
  connectRpc(port: number): Promise<RpcConnection>;
  /** Connects, subscribes, and resolves once the server confirmed the subscription. */
  subscribe(port: number, onData: (data: unknown) => void): Promise<Subscription>;
  connectPublisher(port: number): Promise<Publisher>;
}
