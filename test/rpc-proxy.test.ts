/**
 * Unit tests of the proxy object (src/rpc/proxy.ts) over a recording backend, no sockets:
 * which of call and stream each way of calling sends, and what close() does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, InvalidArgumentError, NoRouteError } from '../src/errors.js';
import type { FunctionInfo } from '../src/protocol/frames.js';
import { createProxy, type RpcBackend } from '../src/rpc/proxy.js';
import { collect, rejectsWith } from './rpc-helpers.js';

const LIST: FunctionInfo[] = [
  { name: 'add', params: ['a', 'b'], arity: 2, maxArgs: 2, kind: 'function' },
  { name: 'count', params: ['to'], arity: 1, maxArgs: 1, kind: 'generator' },
];

interface Sent {
  kind: 'call' | 'stream';
  name: string;
  args: unknown[];
}

/** A backend that records what it is asked to send and answers from fixed behaviour. */
function recordingBackend(): { backend: RpcBackend; sent: Sent[]; watchers: number } {
  const sent: Sent[] = [];
  const state = { backend: undefined as unknown as RpcBackend, sent, watchers: 0 };
  state.backend = {
    call: (_ns, name, args) => {
      sent.push({ kind: 'call', name, args });
      return name === 'add'
        ? Promise.resolve((args[0] as number) + (args[1] as number))
        : Promise.reject(new NoRouteError(`no ${name}`));
    },
    stream: (_ns, name, args) => {
      sent.push({ kind: 'stream', name, args });
      return (async function* items() {
        for (let i = 0; i < (args[0] as number); i++) yield i;
      })();
    },
    list: () => Promise.resolve(LIST),
    watch: () => {
      state.watchers++;
      return () => {
        state.watchers--;
      };
    },
  };
  return state;
}

/** Untyped access to a remote function, as JavaScript callers have it. */
function fnOf(proxy: object, name: string): (...args: unknown[]) => unknown {
  return (proxy as Record<string, (...args: unknown[]) => unknown>)[name] as never;
}

describe('RPC proxy: call or stream', () => {
  test('the function list decides for known names', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    assert.equal(await (fnOf(proxy, 'add')(1, 2) as Promise<unknown>), 3);
    assert.deepEqual(await collect(fnOf(proxy, 'count')(2) as AsyncIterable<unknown>), [0, 1]);
    // Untyped, call() is typed as a promise; at run time the list makes it a stream.
    const viaCall: unknown = proxy.call('count', 1);
    assert.deepEqual(await collect(viaCall as AsyncIterable<unknown>), [0]);
    assert.deepEqual(
      sent.map((s) => s.kind),
      ['call', 'stream', 'stream'],
    );
  });

  test('an unknown name is a call when awaited and a stream when iterated', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    const unused = fnOf(proxy, 'later')(1);
    assert.equal(sent.length, 0, 'nothing is sent before the result is used');
    assert.deepEqual(await collect(fnOf(proxy, 'later')(3) as AsyncIterable<unknown>), [0, 1, 2]);
    assert.deepEqual(sent, [{ kind: 'stream', name: 'later', args: [3] }]);
    await rejectsWith(Promise.resolve(proxy.call('missing')), NoRouteError, ErrorCode.NO_ROUTE);
    assert.deepEqual(sent[1], { kind: 'call', name: 'missing', args: [] });
    // Returning an iterator that never started sends nothing either.
    await (unused as AsyncIterableIterator<unknown>).return?.();
    assert.equal(sent.length, 2);
  });

  test('stream() always streams and checks arity locally', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    assert.deepEqual(await collect(proxy.stream('count', 2)), [0, 1]);
    assert.deepEqual(await collect(proxy.stream('unlisted', 1)), [0]);
    await rejectsWith(proxy.stream('count').next(), InvalidArgumentError);
    await rejectsWith(
      proxy.stream(7 as unknown as string).next(),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.deepEqual(
      sent.map((s) => `${s.kind}:${s.name}`),
      ['stream:count', 'stream:unlisted'],
    );
  });

  test('with() keeps stream(); close() runs the close hook and stops watching', async () => {
    const recording = recordingBackend();
    let closed = 0;
    const proxy = await createProxy(recording.backend, 'ns', async () => {
      closed++;
    });
    assert.equal(recording.watchers, 1);
    assert.deepEqual(await collect(proxy.with({ timeout: 100 }).stream('count', 1)), [0]);
    await proxy.with({ timeout: 100 }).close();
    assert.equal(closed, 1);
    assert.equal(recording.watchers, 0);
    assert.equal('close' in proxy, true);
    assert.equal(Object.keys(proxy).join(), 'add,count');
  });
});
