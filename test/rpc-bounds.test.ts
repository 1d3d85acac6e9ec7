/**
 * RPC under abuse, over real sockets (docs/rpc.md "Limits", PROTOCOL.md 2.5): what one
 * connection can hold open is bounded (calls and streams count in `maxInFlight`, watched
 * namespaces are capped), a stream with huge credit does not stall other clients, stream
 * errors travel on the stream's own frame, and finished streams leave no abort listeners.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { RpcProxy } from '../src/index.js';
import { startServer, stopAll } from './helpers.js';
import { collect } from './rpc-helpers.js';

const NS = 'bounds';

function* numbers(count: number): Generator<number> {
  for (let index = 0; index < count; index++) yield index;
}

function add(a: number, b: number): number {
  return a + b;
}

type BoundsApi = {
  numbers: typeof numbers;
  add: typeof add;
};

describe('RPC bounds', () => {
  test('50 finished streams and calls on one AbortSignal leave no abort listener', async () => {
    const { server, url } = await startServer({}, (s) => {
      s.origin(numbers, { namespace: NS });
      s.origin(add, { namespace: NS });
    });
    const proxy = await RpcProxy.create<BoundsApi>({ url, namespace: NS });
    try {
      const controller = new AbortController();
      const { signal } = controller;
      const withSignal = proxy.with({ signal });
      for (let index = 0; index < 25; index++) {
        assert.deepEqual(await collect(withSignal.numbers(3)), [0, 1, 2]);
      }
      for (let index = 0; index < 25; index++) {
        // Left early: the consumer cancels the producer.
        for await (const value of withSignal.numbers(10)) if (value === 1) break;
      }
      assert.equal(getEventListeners(signal, 'abort').length, 0, 'streams removed theirs');
      for (let index = 0; index < 50; index++)
        assert.equal(await withSignal.add(index, 1), index + 1);
      assert.equal(getEventListeners(signal, 'abort').length, 0, 'calls removed theirs');
    } finally {
      await proxy.close().catch(() => undefined);
      await stopAll(server);
    }
  });
});
