/**
 * Shared functions see their call being called off (docs/rpc.md "Cancellation"): `this.signal`
 * aborts when the caller aborts, when the caller's timeout passes, when its connection closes,
 * and, in a generator, when the consumer stops; a call that simply completes is never aborted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortError,
  ErrorCode,
  FrameType,
  RpcProxy,
  TimeoutError,
  type RpcCallContext,
} from '../src/index.js';
import { connectRaw, startServer, stopAll, waitFor } from './helpers.js';
import { rejectsWith, responderSnapshot } from './rpc-helpers.js';

const NS = 'cancel';

/** Resolves when `signal` aborts. */
function abortOf(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

describe('RPC cancellation reaches the function', () => {
  test('this.signal aborts on the caller abort, its timeout, its connection closing and a stopped stream', async () => {
    const aborted: string[] = [];
    const signals: AbortSignal[] = [];
    const { server, url } = await startServer({}, (s) => {
      s.origin(
        async function waits(this: RpcCallContext, tag: string): Promise<string> {
          await abortOf(this.signal);
          aborted.push(tag);
          return tag;
        },
        { namespace: NS },
      );
      s.origin(
        async function quick(this: RpcCallContext): Promise<boolean> {
          signals.push(this.signal);
          await Promise.resolve();
          return this.signal.aborted;
        },
        { namespace: NS },
      );
      s.origin(
        async function* ticks(this: RpcCallContext): AsyncGenerator<number> {
          yield 1;
          await abortOf(this.signal);
          aborted.push('stream');
        },
        { namespace: NS },
      );
    });
    const proxy = await RpcProxy.create({ url, namespace: NS });
    const view = await server.rpc(NS);
    try {
      const controller = new AbortController();
      const call = proxy.with({ signal: controller.signal }).call('waits', 'abort');
      await waitFor(() => responderSnapshot(server).calls === 1, 5000, 'call running');
      controller.abort();
      await rejectsWith(call, AbortError, ErrorCode.ABORTED);
      await waitFor(() => aborted.includes('abort'), 5000, 'RPC_CANCEL reached the function');

      await rejectsWith(
        proxy.with({ timeout: 100 }).call('waits', 'timeout'),
        TimeoutError,
        ErrorCode.TIMEOUT,
      );
      await waitFor(() => aborted.includes('timeout'), 5000, 'the timeout reached the function');

      await rejectsWith(
        view.with({ timeout: 100 }).call('waits', 'local'),
        TimeoutError,
        ErrorCode.TIMEOUT,
      );
      await waitFor(() => aborted.includes('local'), 5000, 'server.rpc timeout reached it');

      const raw = await connectRaw(url);
      raw.send([FrameType.RPC_CALL, 1, NS, 'waits', ['closed']]);
      await waitFor(() => responderSnapshot(server).calls === 1, 5000, 'raw call running');
      raw.terminate();
      await waitFor(() => aborted.includes('closed'), 5000, 'the closed connection reached it');

      for await (const tick of proxy.stream('ticks')) {
        assert.equal(tick, 1);
        break;
      }
      await waitFor(() => aborted.includes('stream'), 5000, 'the stopped stream reached it');

      assert.equal(await proxy.call('quick'), false);
      assert.equal(await view.call('quick'), false);
      assert.equal(signals.length, 2);
      assert.ok(
        signals.every((signal) => !signal.aborted),
        'completed calls are not aborted',
      );
    } finally {
      await view.close();
      await proxy.close().catch(() => undefined);
      await stopAll(server);
    }
  });

  test("this.signal aborts with TimeoutError at the caller's deadline, without RPC_CANCEL", async () => {
    const reasons: unknown[] = [];
    const { server, url } = await startServer({}, (s) => {
      s.origin(
        async function waits(this: RpcCallContext): Promise<void> {
          await abortOf(this.signal);
          reasons.push(this.signal.reason);
        },
        { namespace: NS },
      );
    });
    const raw = await connectRaw(url);
    try {
      // A caller that sends its timeout (100 ms) and never cancels: the deadline alone ends it.
      const started = performance.now();
      raw.send([FrameType.RPC_CALL, 1, NS, 'waits', [], null, 100]);
      await waitFor(() => reasons.length === 1, 5000, 'the deadline reached the function');
      const elapsed = performance.now() - started;
      assert.ok(reasons[0] instanceof TimeoutError, 'aborted with TimeoutError');
      assert.ok(elapsed >= 90, `aborted after ${elapsed} ms, not before the deadline`);
    } finally {
      raw.terminate();
      await stopAll(server);
    }
  });
});
