/**
 * Unit tests of the proxy object (src/rpc/proxy.ts) over a recording backend, no sockets:
 * which of call and stream each way of calling sends, and what close() does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, InvalidArgumentError, NoRouteError, ProtocolError } from '../src/errors.js';
import { Server } from '../src/index.js';
import type { FunctionInfo } from '../src/protocol/frames.js';
import { LocalBackend } from '../src/rpc/local-backend.js';
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
  test('the use decides call or stream, whatever the function list says', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    assert.equal(await fnOf(proxy, 'add')(1, 2), 3);
    assert.deepEqual(await collect(fnOf(proxy, 'count')(2) as AsyncIterable<unknown>), [0, 1]);
    // Listed as a generator, awaited: a call (the server answers ERR_PROTOCOL for it).
    await rejectsWith(Promise.resolve(fnOf(proxy, 'count')(1)), NoRouteError);
    // Listed as a function, iterated: a stream.
    assert.deepEqual(await collect(fnOf(proxy, 'add')(1, 0) as AsyncIterable<unknown>), [0]);
    // Untyped, call() is typed as both; iterating makes it a stream.
    assert.deepEqual(await collect(proxy.call('count', 1)), [0]);
    assert.deepEqual(
      sent.map((s) => `${s.kind}:${s.name}`),
      ['call:add', 'stream:count', 'call:count', 'stream:add', 'stream:count'],
    );
  });

  test('a result used neither way by the end of its turn is sent as a call', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    const unused = fnOf(proxy, 'later')(1);
    assert.equal(sent.length, 0, 'nothing is sent within the turn');
    await Promise.resolve();
    assert.deepEqual(sent, [{ kind: 'call', name: 'later', args: [1] }], 'sent as a call');
    // Its failure is there for whoever awaits it later.
    await rejectsWith(Promise.resolve(unused), NoRouteError, ErrorCode.NO_ROUTE);
    // return() before any use decides for a stream that never starts: nothing is sent.
    const stopped = fnOf(proxy, 'later')(2) as AsyncIterableIterator<unknown>;
    await stopped.return?.();
    assert.deepEqual(await stopped.next(), { done: true, value: undefined });
    // An unknown name iterated at once is a stream.
    assert.deepEqual(await collect(fnOf(proxy, 'later')(3) as AsyncIterable<unknown>), [0, 1, 2]);
    assert.deepEqual(
      sent.map((s) => `${s.kind}:${s.name}`),
      ['call:later', 'stream:later'],
    );
  });

  test('arity is checked against the list before anything is sent, for either use', async () => {
    const { backend, sent } = recordingBackend();
    const proxy = await createProxy(backend, 'ns', async () => undefined);
    await rejectsWith(Promise.resolve(fnOf(proxy, 'add')(1)), InvalidArgumentError);
    await rejectsWith(
      (fnOf(proxy, 'count')() as AsyncIterableIterator<unknown>).next(),
      InvalidArgumentError,
    );
    await Promise.resolve();
    assert.deepEqual(sent, []);
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

describe('server.rpc(): the same resolution and checks as for remote callers', () => {
  test('no such function, the wrong kind and the wrong arity fail as over a connection', async () => {
    const server = new Server({ port: 0, host: '127.0.0.1' });
    server.origin((a: number, b: number) => a + b, { namespace: 'ns', name: 'add' });
    server.origin(
      function* count(to: number) {
        for (let i = 0; i < to; i++) yield i;
      },
      { namespace: 'ns' },
    );
    const view = await server.rpc('ns');
    try {
      assert.equal(await view.call('add', 1, 2), 3);
      assert.deepEqual(await collect(view.call('count', 2)), [0, 1]);
      await rejectsWith(Promise.resolve(view.call('missing')), NoRouteError, ErrorCode.NO_ROUTE);
      await rejectsWith(view.stream('missing').next(), NoRouteError, ErrorCode.NO_ROUTE);
      // The wrong kind: a generator awaited, a function iterated.
      await rejectsWith(Promise.resolve(view.call('count', 1)), ProtocolError, ErrorCode.PROTOCOL);
      await rejectsWith(view.stream('add', 1, 2).next(), ProtocolError, ErrorCode.PROTOCOL);
      // Arity on the server side too (a proxy whose list does not know the name yet).
      const backend = new LocalBackend(server.resolver, () => () => undefined);
      await rejectsWith(backend.call('ns', 'add', [1], {}), InvalidArgumentError);
      await rejectsWith(backend.stream('ns', 'count', [], {}).next(), InvalidArgumentError);
    } finally {
      await view.close();
    }
  });
});
