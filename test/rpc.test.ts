/**
 * RPC over real sockets (SPEC section 5, docs/rpc.md): sharing functions with `origin`,
 * proxies (`RpcProxy.create`, `client.rpc`, `server.rpc`), call styles, function
 * descriptions, arity, timeouts, cancellation, errors, falsy values without leaks, overlapping
 * calls, function chaining, serialization and size limits, Standard Schema validation with
 * zod, namespace groups, shared loggers and function lists pushed to proxies.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import { z } from 'zod';
import { BaseClient } from '../src/client/base-client.js';
import type { Client } from '../src/index.js';
import {
  AbortError,
  AuthError,
  ConnectionClosedError,
  DEFAULT_NAMESPACE,
  DuplicateNameError,
  ErrorCode,
  InvalidArgumentError,
  NoRouteError,
  NotConnectedError,
  PayloadTooLargeError,
  RemoteError,
  RpcProxy,
  SerializationError,
  Server,
  TimeoutError,
  ValidationError,
  type FunctionInfo,
  type ServerOptions,
} from '../src/index.js';
import * as fixtures from './fixtures/rpc-functions.js';
import {
  delay,
  getFreePort,
  startClient,
  startServer,
  stopAll,
  waitFor,
  within,
} from './helpers.js';
import { callerSnapshot, collect, rejectsWith, responderSnapshot, since } from './rpc-helpers.js';

const SECRET = 'rpc-test-secret';

/** Registers every fixture function in `namespace`. */
function shareFixtures(server: Server, namespace: string): void {
  server.origin(fixtures.add, { namespace });
  server.origin(fixtures.greet, { namespace });
  server.origin(fixtures.sum, { namespace });
  server.origin(fixtures.slowEcho, { namespace });
  server.origin(fixtures.range, { namespace });
  server.origin(fixtures.ticks, { namespace });
}

/** A started server on 127.0.0.1 (port 0) and its url. */
async function serve(
  options: ServerOptions = {},
  setup?: (server: Server) => void,
): Promise<{ server: Server; url: string }> {
  const { server, url } = await startServer(options, setup);
  return { server, url };
}

/** The description of `name` in a function list. */
function infoOf(functions: FunctionInfo[], name: string): FunctionInfo {
  const info = functions.find((entry) => entry.name === name);
  assert.ok(
    info !== undefined,
    `no function "${name}" in ${functions.map((f) => f.name).join(', ')}`,
  );
  return info;
}

/**
 * `proxy[name]` of an untyped proxy as a callable (with `noUncheckedIndexedAccess`, the index
 * signature of an untyped proxy reads as possibly undefined).
 */
function fnOf(proxy: object, name: string): (...args: unknown[]) => Promise<unknown> {
  const fn: unknown = (proxy as Record<string, unknown>)[name];
  assert.equal(typeof fn, 'function', `proxy.${name} is a function`);
  return fn as (...args: unknown[]) => Promise<unknown>;
}

function names(functions: FunctionInfo[]): string[] {
  return functions.map((info) => info.name).sort();
}

describe('origin: sharing functions', () => {
  let server: Server;
  let url: string;
  const proxies: { close(): Promise<void> }[] = [];

  before(async () => {
    ({ server, url } = await serve({ serverSecret: SECRET }));
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close().catch(() => undefined);
    await stopAll(server);
  });

  async function proxyFor(namespace?: string): Promise<RpcProxy> {
    const proxy = await RpcProxy.create({
      url,
      serverSecret: SECRET,
      ...(namespace === undefined ? {} : { namespace }),
    });
    proxies.push(proxy);
    return proxy;
  }

  test('plain form returns the function and shares it in the DEFAULT namespace', async () => {
    function hello(name: string): string {
      return `hi ${name}`;
    }
    assert.equal(server.origin(hello), hello);
    assert.equal(DEFAULT_NAMESPACE, 'DEFAULT');
    const proxy = await proxyFor();
    assert.equal(proxy.namespace, 'DEFAULT');
    assert.deepEqual(names(proxy.functions), ['hello']);
    assert.equal(await proxy.call('hello', 'ann'), 'hi ann');
    const explicit = await proxyFor('DEFAULT');
    assert.equal(await explicit.call('hello', 'bob'), 'hi bob');
  });

  test('decorator form registers what it is given and returns it', async () => {
    const register = server.origin({ namespace: 'deco' });
    const shout = register(function shout(text: string) {
      return text.toUpperCase();
    });
    assert.equal(typeof shout, 'function');
    assert.equal(shout('local call'), 'LOCAL CALL');
    const whisper = server.origin({ namespace: 'deco' })(async function whisper(text: string) {
      return text.toLowerCase();
    });
    assert.equal(await whisper('LOCAL'), 'local');
    const proxy = await proxyFor('deco');
    assert.deepEqual(names(proxy.functions), ['shout', 'whisper']);
    assert.equal(await proxy.call('shout', 'hey'), 'HEY');
    assert.equal(await proxy.call('whisper', 'HEY'), 'hey');
  });

  test('a custom name replaces fn.name; anonymous functions need one', async () => {
    server.origin(fixtures.add, { namespace: 'named', name: 'plus' });
    server.origin((a: number) => a * 2, { namespace: 'named', name: 'double' });
    assert.throws(
      () => server.origin((a: number) => a, { namespace: 'named' }),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.code === ErrorCode.INVALID_ARGUMENT,
    );
    const proxy = await proxyFor('named');
    assert.deepEqual(names(proxy.functions), ['double', 'plus']);
    assert.equal(await proxy.call('plus', 2, 3), 5);
    assert.equal(await proxy.call('double', 21), 42);
    assert.deepEqual(infoOf(proxy.functions, 'plus').params, ['a', 'b']);
    await rejectsWith(proxy.call('add', 1, 2), NoRouteError, ErrorCode.NO_ROUTE);
  });

  test('one function can live in several namespaces', async () => {
    let calls = 0;
    function everywhere(tag: string): string {
      calls++;
      return `tag:${tag}`;
    }
    server.origin(everywhere, { namespace: 'multi-a' });
    server.origin(everywhere, { namespace: 'multi-b' });
    server.origin({ namespace: 'multi-c' })(everywhere);
    for (const namespace of ['multi-a', 'multi-b', 'multi-c']) {
      const proxy = await proxyFor(namespace);
      assert.equal(await proxy.call('everywhere', namespace), `tag:${namespace}`);
    }
    assert.equal(calls, 3);
  });

  test('a duplicate name in one namespace throws DuplicateNameError (ERR_DUPLICATE_NAME)', async () => {
    server.origin(
      function dup() {
        return 'first';
      },
      { namespace: 'dups' },
    );
    const isDuplicate = (error: unknown): boolean => {
      assert.ok(error instanceof DuplicateNameError);
      assert.equal(error.code, ErrorCode.DUPLICATE_NAME);
      assert.equal(error.code, 'ERR_DUPLICATE_NAME');
      return true;
    };
    assert.throws(
      () =>
        server.origin(
          function dup() {
            return 'second';
          },
          { namespace: 'dups' },
        ),
      isDuplicate,
    );
    assert.throws(() => server.origin({ namespace: 'dups' })(function dup() {}), isDuplicate);
    assert.throws(
      () => server.origin(fixtures.add, { namespace: 'dups', name: 'dup' }),
      isDuplicate,
    );
    // The first registration is untouched; the same name elsewhere is fine.
    server.origin(
      function dup() {
        return 'other namespace';
      },
      { namespace: 'dups-2' },
    );
    const proxy = await proxyFor('dups');
    assert.equal(await proxy.call('dup'), 'first');
    const other = await proxyFor('dups-2');
    assert.equal(await other.call('dup'), 'other namespace');
  });

  test('bad registrations are refused up front', () => {
    const invalid = (error: unknown): boolean =>
      error instanceof InvalidArgumentError && error.code === ErrorCode.INVALID_ARGUMENT;
    assert.throws(
      () => server.origin({ namespace: 'bad' })('nope' as unknown as () => void),
      invalid,
    );
    assert.throws(() => server.origin(fixtures.add, { namespace: '' }), invalid);
    assert.throws(
      () => server.origin(fixtures.add, { namespace: 'bad', params: { parse: () => 1 } as never }),
      invalid,
    );
  });

  test('sync, async, generator and async generator functions all work', async () => {
    server.origin(
      function syncFn(x: number) {
        return x + 1;
      },
      { namespace: 'kinds' },
    );
    server.origin(
      async function asyncFn(x: number) {
        await delay(5);
        return x + 2;
      },
      { namespace: 'kinds' },
    );
    server.origin(
      function* genFn(n: number) {
        for (let i = 0; i < n; i++) yield i;
      },
      { namespace: 'kinds' },
    );
    server.origin(
      async function* asyncGenFn(n: number) {
        for (let i = 0; i < n; i++) {
          await delay(1);
          yield `item-${i}`;
        }
      },
      { namespace: 'kinds' },
    );
    type KindsApi = {
      syncFn(x: number): number;
      asyncFn(x: number): Promise<number>;
      genFn(n: number): Generator<number>;
      asyncGenFn(n: number): AsyncGenerator<string>;
    };
    const proxy = await RpcProxy.create<KindsApi>({
      url,
      serverSecret: SECRET,
      namespace: 'kinds',
    });
    proxies.push(proxy);
    assert.equal(await proxy.syncFn(1), 2);
    assert.equal(await proxy.asyncFn(1), 3);
    assert.deepEqual(await collect(proxy.genFn(4)), [0, 1, 2, 3]);
    assert.deepEqual(await collect(proxy.asyncGenFn(3)), ['item-0', 'item-1', 'item-2']);
    const kinds = Object.fromEntries(proxy.functions.map((info) => [info.name, info.kind]));
    assert.deepEqual(kinds, {
      syncFn: 'function',
      asyncFn: 'function',
      genFn: 'generator',
      asyncGenFn: 'generator',
    });
  });
});

describe('RpcProxy: connecting and calling', () => {
  let server: Server;
  let url: string;
  let proxy: RpcProxy<typeof fixtures>;
  let untyped: RpcProxy;

  before(async () => {
    ({ server, url } = await serve({ serverSecret: SECRET }, (s) => shareFixtures(s, 'fx')));
    proxy = await RpcProxy.create<typeof fixtures>({ url, serverSecret: SECRET, namespace: 'fx' });
    untyped = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'fx' });
  });
  after(async () => {
    await proxy.close().catch(() => undefined);
    await untyped.close().catch(() => undefined);
    await stopAll(server);
  });

  test('the three call styles reach the same function', async () => {
    assert.equal(await proxy.add(1, 2), 3);
    assert.equal(await proxy['add'](2, 3), 5);
    assert.equal(await proxy.call('add', 3, 4), 7);
    assert.equal(await untyped.call('greet', 'ann'), 'Hello, ann!');
    // Untyped proxies: any property is a remote function.
    assert.equal(await fnOf(untyped, 'add')(4, 5), 9);
    const add = proxy.add;
    assert.equal(await add(10, 20), 30, 'a detached function still calls');
    assert.equal(proxy.add, add, 'the same function object every time');
  });

  test('functions lists names, parameter names, arity, maxArgs and kind', () => {
    assert.deepEqual(names(proxy.functions), ['add', 'greet', 'range', 'slowEcho', 'sum', 'ticks']);
    assert.deepEqual(infoOf(proxy.functions, 'add'), {
      name: 'add',
      params: ['a', 'b'],
      arity: 2,
      maxArgs: 2,
      kind: 'function',
    });
    assert.deepEqual(infoOf(proxy.functions, 'greet'), {
      name: 'greet',
      params: ['name', 'greeting'],
      arity: 1,
      maxArgs: 2,
      kind: 'function',
    });
    assert.deepEqual(infoOf(proxy.functions, 'sum'), {
      name: 'sum',
      params: ['first', '...rest'],
      arity: 1,
      maxArgs: null,
      kind: 'function',
    });
    assert.deepEqual(infoOf(proxy.functions, 'range'), {
      name: 'range',
      params: ['start', 'end'],
      arity: 2,
      maxArgs: 2,
      kind: 'generator',
    });
    assert.equal(infoOf(proxy.functions, 'ticks').kind, 'generator');
    assert.equal(infoOf(proxy.functions, 'slowEcho').kind, 'function');
    assert.equal(proxy.namespace, 'fx');
  });

  test('the proxy enumerates its functions', () => {
    assert.deepEqual(Object.keys(untyped).sort(), names(untyped.functions));
    assert.ok('add' in untyped);
    assert.ok(!('missing' in untyped));
    assert.ok('call' in untyped);
  });

  test('refresh() fetches the list again', async () => {
    const list = await proxy.refresh();
    assert.deepEqual(names(list), names(proxy.functions));
  });

  test('await proxy does not treat the proxy as a thenable', async () => {
    const viewed = untyped as unknown as { then?: unknown };
    assert.equal(viewed.then, undefined);
    assert.ok(!('then' in untyped));
    const awaited = await Promise.resolve(untyped);
    assert.equal(awaited, untyped);
    const fromAsync = await (async () => untyped)();
    assert.equal(fromAsync, untyped);
    assert.equal(await untyped.call('add', 1, 1), 2, 'still usable after being awaited');
  });

  test('arity is checked before sending: InvalidArgumentError and no call reaches the server', async () => {
    const before = responderSnapshot(server).callsServed;
    const tooFew = await rejectsWith(
      fnOf(untyped, 'add')(1),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.match(tooFew.message, /add\(a, b\)/);
    await rejectsWith(
      fnOf(untyped, 'add')(1, 2, 3),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
    await rejectsWith(untyped.call('add'), InvalidArgumentError, ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(untyped.call('greet'), InvalidArgumentError, ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(
      untyped.call('greet', 'a', 'b', 'c'),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
    await rejectsWith(untyped.call('sum'), InvalidArgumentError, ErrorCode.INVALID_ARGUMENT);
    const stream = untyped.stream('range', 1);
    await rejectsWith(stream.next(), InvalidArgumentError, ErrorCode.INVALID_ARGUMENT);
    // A valid call on the same connection: a refused one sent before it would be counted too.
    assert.equal(await untyped.call('add', 1, 2), 3);
    assert.equal(responderSnapshot(server).callsServed, before + 1, 'the server saw no call');
    // Optional and rest parameters accept what they should.
    assert.equal(await untyped.call('greet', 'ann'), 'Hello, ann!');
    assert.equal(await untyped.call('greet', 'ann', 'Hey'), 'Hey, ann!');
    assert.equal(await untyped.call('sum', 1), 1);
    assert.equal(await untyped.call('sum', 1, 2, 3, 4), 10);
  });

  test('call() with something else than a name rejects', async () => {
    await rejectsWith(
      untyped.call(42 as unknown as string),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
  });

  test('an unknown name rejects with NoRouteError', async () => {
    const error = await rejectsWith(
      fnOf(untyped, 'nothingHere')(1),
      NoRouteError,
      ErrorCode.NO_ROUTE,
    );
    assert.match(error.message, /nothingHere/);
    await rejectsWith(untyped.call('alsoMissing'), NoRouteError, ErrorCode.NO_ROUTE);
  });

  test('with({timeout}) rejects with TimeoutError (ERR_TIMEOUT); the proxy stays usable', async () => {
    const started = Date.now();
    await rejectsWith(
      proxy.with({ timeout: 100 }).slowEcho('late', 1500),
      TimeoutError,
      ErrorCode.TIMEOUT,
    );
    assert.ok(since(started) < 1400, `timed out after ${since(started)} ms`);
    assert.equal(await proxy.add(2, 2), 4);
    // The options stay on the derived proxy only.
    assert.equal(await proxy.slowEcho('fine', 200), 'fine');
  });

  test('with({signal}) rejects with AbortError (ERR_ABORTED)', async () => {
    const controller = new AbortController();
    const call = proxy.with({ signal: controller.signal }).slowEcho('never', 2000);
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    await rejectsWith(call, AbortError, ErrorCode.ABORTED);
    assert.ok(since(started) < 1500);
    // An already aborted signal rejects without sending anything.
    const before = responderSnapshot(server).callsServed;
    await rejectsWith(
      proxy.with({ signal: AbortSignal.abort() }).add(1, 2),
      AbortError,
      ErrorCode.ABORTED,
    );
    // A call on the same connection: one sent before it would be counted too.
    assert.equal(await proxy.add(1, 2), 3);
    assert.equal(responderSnapshot(server).callsServed, before + 1);
  });

  test('with() options combine', async () => {
    const controller = new AbortController();
    const derived = proxy.with({ timeout: 5000 }).with({ signal: controller.signal });
    assert.equal(await derived.add(5, 5), 10);
    assert.equal(derived.namespace, 'fx');
    assert.deepEqual(names(derived.functions), names(proxy.functions));
    controller.abort();
    await rejectsWith(derived.slowEcho(1, 1000), AbortError, ErrorCode.ABORTED);
  });

  test('many calls overlap on one proxy', async () => {
    const started = Date.now();
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => proxy.slowEcho(i, 300)));
    const elapsed = since(started);
    assert.deepEqual(results, [0, 1, 2, 3, 4]);
    assert.ok(elapsed < 1200, `five 300 ms calls took ${elapsed} ms (sequential would be 1500)`);
  });

  test('non-serializable arguments reject with SerializationError at once', async () => {
    const before = responderSnapshot(server).callsServed;
    let started = Date.now();
    await rejectsWith(untyped.call('add', 10n, 1), SerializationError, ErrorCode.SERIALIZE);
    assert.ok(since(started) < 1000);
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    started = Date.now();
    await rejectsWith(
      untyped.call('slowEcho', circular, 1),
      SerializationError,
      ErrorCode.SERIALIZE,
    );
    assert.ok(since(started) < 1000);
    // A call on the same connection: one sent before it would be counted too.
    assert.equal(await untyped.call('add', 1, 2), 3);
    assert.equal(responderSnapshot(server).callsServed, before + 1, 'nothing was sent');
  });

  test('a 5 MiB argument is refused locally with PayloadTooLargeError', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    await rejectsWith(
      untyped.call('slowEcho', big, 1),
      PayloadTooLargeError,
      ErrorCode.PAYLOAD_TOO_LARGE,
    );
    assert.equal(await untyped.call('add', 1, 2), 3);
  });

  test('RpcProxy.create({timeout}) sets the default call timeout', async () => {
    const quick = await RpcProxy.create<typeof fixtures>({
      url,
      serverSecret: SECRET,
      namespace: 'fx',
      timeout: 150,
    });
    try {
      assert.equal(await quick.add(1, 2), 3);
      await rejectsWith(quick.slowEcho('x', 1500), TimeoutError, ErrorCode.TIMEOUT);
      assert.equal(await quick.with({ timeout: 3000 }).slowEcho('y', 300), 'y');
    } finally {
      await quick.close();
    }
  });
});

describe('RpcProxy: results and errors', () => {
  let server: Server;
  let url: string;
  let client: Client;
  let proxy: RpcProxy;
  let remote: RpcProxy;
  let closes = 0;

  before(async () => {
    ({ server, url } = await serve({ serverSecret: SECRET }, (s) => {
      const namespace = 'results';
      s.origin(
        function zero() {
          return 0;
        },
        { namespace },
      );
      s.origin(
        function emptyString() {
          return '';
        },
        { namespace },
      );
      s.origin(
        function falseValue() {
          return false;
        },
        { namespace },
      );
      s.origin(
        function nullValue() {
          return null;
        },
        { namespace },
      );
      s.origin(
        function undefinedValue() {
          return undefined;
        },
        { namespace },
      );
      s.origin(
        async function asyncZero() {
          await delay(1);
          return 0;
        },
        { namespace },
      );
      s.origin(
        function nested() {
          return { list: [1, 'two', null, { deep: true }], empty: {} };
        },
        { namespace },
      );
      s.origin(
        function boom(message: string) {
          const error = new TypeError(message) as TypeError & { code: string; data: unknown };
          error.code = 'E_BOOM';
          error.data = { detail: 42 };
          throw error;
        },
        { namespace },
      );
      s.origin(
        async function asyncBoom() {
          await delay(5);
          throw new RangeError('later');
        },
        { namespace },
      );
      s.origin(
        function throwString() {
          throw 'plain string';
        },
        { namespace },
      );
      s.origin(
        function bigResult() {
          return 10n;
        },
        { namespace },
      );
      s.origin(
        function circularResult() {
          const value: Record<string, unknown> = {};
          value.self = value;
          return value;
        },
        { namespace },
      );
      s.origin(
        function huge() {
          return 'y'.repeat(5 * 1024 * 1024);
        },
        { namespace },
      );
      s.origin(
        function ping() {
          return 'pong';
        },
        { namespace },
      );
      s.origin(fixtures.slowEcho, { namespace });
    }));
    server.on('closeClient', () => {
      closes++;
    });
    client = await startClient(url, { serverSecret: SECRET });
    proxy = await client.rpc('results');
    remote = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'results' });
  });
  after(async () => {
    await remote.close().catch(() => undefined);
    await proxy.close().catch(() => undefined);
    await stopAll(client, server);
  });

  test('falsy results resolve, and nothing stays pending on either side', async () => {
    for (const p of [proxy, remote]) {
      assert.equal(await p.call('zero'), 0);
      assert.equal(await p.call('emptyString'), '');
      assert.equal(await p.call('falseValue'), false);
      assert.equal(await p.call('nullValue'), null);
      const nothing = await p.call('undefinedValue');
      assert.ok(
        nothing === null || nothing === undefined,
        `undefined came back as ${String(nothing)}`,
      );
      assert.equal(await p.call('asyncZero'), 0);
    }
    // Many at once, to make a leak visible.
    const values = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? proxy.call('zero') : proxy.call('falseValue'),
      ),
    );
    assert.equal(values.filter((value) => value === 0).length, 100);
    assert.equal(values.filter((value) => value === false).length, 100);
    assert.deepEqual(callerSnapshot(client), { streams: 0, pending: 0 });
    const snapshot = responderSnapshot(server);
    assert.equal(snapshot.calls, 0);
    assert.equal(snapshot.producers, 0);
    assert.equal(snapshot.serverPending, 0);
  });

  test('structured results travel intact', async () => {
    assert.deepEqual(await remote.call('nested'), {
      list: [1, 'two', null, { deep: true }],
      empty: {},
    });
  });

  test('a thrown error rejects with RemoteError: remoteName, message, remoteCode, origin', async () => {
    for (const p of [proxy, remote]) {
      const error = await rejectsWith(p.call('boom', 'it broke'), RemoteError, ErrorCode.REMOTE);
      assert.equal(error.remoteName, 'TypeError');
      assert.equal(error.message, 'it broke');
      assert.equal(error.remoteCode, 'E_BOOM');
      assert.equal(error.origin, server.id);
      assert.deepEqual(error.data, { detail: 42 });
      assert.ok(!String(error.stack).includes('rpc.test.ts:boom'), 'no remote stack');
    }
    const later = await rejectsWith(remote.call('asyncBoom'), RemoteError, ErrorCode.REMOTE);
    assert.equal(later.remoteName, 'RangeError');
    assert.equal(later.message, 'later');
    assert.equal(later.origin, server.id);
    const plain = await rejectsWith(remote.call('throwString'), RemoteError, ErrorCode.REMOTE);
    assert.equal(plain.message, 'plain string');
    assert.equal(await remote.call('ping'), 'pong', 'the connection is fine after errors');
  });

  test('non-serializable results reject with SerializationError', async () => {
    await within(
      rejectsWith(remote.call('bigResult'), SerializationError, ErrorCode.SERIALIZE),
      3000,
      'bigResult',
    );
    await within(
      rejectsWith(proxy.call('circularResult'), SerializationError, ErrorCode.SERIALIZE),
      3000,
      'circularResult',
    );
    assert.equal(await remote.call('ping'), 'pong');
    assert.deepEqual(callerSnapshot(client), { streams: 0, pending: 0 });
  });

  test('a 5 MiB result with the default maxPayload fails the call; the connection stays', async () => {
    const closesBefore = closes;
    const error = await within(
      rejectsWith(remote.call('huge'), PayloadTooLargeError, ErrorCode.PAYLOAD_TOO_LARGE),
      5000,
      'huge',
    );
    assert.match(error.message, /maxPayload/);
    await rejectsWith(proxy.call('huge'), PayloadTooLargeError, ErrorCode.PAYLOAD_TOO_LARGE);
    assert.equal(await remote.call('ping'), 'pong');
    assert.equal(await proxy.call('ping'), 'pong');
    assert.equal(closes, closesBefore, 'no connection was closed');
    assert.equal(client.connected, true);
  });

  test('a client with a larger maxPayload receives the 5 MiB result', async () => {
    const bigClient = await startClient(url, { serverSecret: SECRET, maxPayload: 8 * 1024 * 1024 });
    try {
      const bigProxy = await bigClient.rpc('results');
      const value = await bigProxy.call('huge');
      assert.equal(typeof value, 'string');
      assert.equal((value as string).length, 5 * 1024 * 1024);
    } finally {
      await bigClient.stop();
    }
  });

  test('a call in flight when the connection drops rejects with ConnectionClosedError', async () => {
    const own = await startClient(url, { serverSecret: SECRET });
    try {
      const ownProxy = await own.rpc('results');
      const call = ownProxy.call('slowEcho', 'x', 2000);
      const ws = [...server.clients.values()].find((entry) => entry.clientId === own.id);
      assert.ok(ws !== undefined);
      ws.close(4000, 'test closes it');
      await rejectsWith(call, ConnectionClosedError, ErrorCode.CONNECTION_CLOSED);
      assert.deepEqual(callerSnapshot(own), { streams: 0, pending: 0 });
    } finally {
      await own.stop();
    }
  });
});

describe('RpcProxy.create: where to connect', () => {
  test('host + port + path on an existing http server with several endpoints', async () => {
    const http = createHttpServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      response.end('plain http still works');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const serverA = new Server({ server: http, path: '/ws/server_a', serverSecret: SECRET });
    const serverB = new Server({ server: http, path: '/ws/server_b' });
    serverA.origin(
      function whereAmI() {
        return 'a';
      },
      { namespace: 'public' },
    );
    serverB.origin(
      function whereAmI() {
        return 'b';
      },
      { namespace: 'public' },
    );
    const opened: { close(): Promise<void> }[] = [];
    try {
      await serverA.start();
      await serverB.start();
      const proxyA = await RpcProxy.create({
        host: '127.0.0.1',
        port,
        path: '/ws/server_a',
        serverSecret: SECRET,
        namespace: 'public',
      });
      opened.push(proxyA);
      const proxyB = await RpcProxy.create({
        host: '127.0.0.1',
        port,
        path: 'ws/server_b',
        namespace: 'public',
      });
      opened.push(proxyB);
      const byUrl = await RpcProxy.create({
        url: `ws://127.0.0.1:${port}/ws/server_a`,
        serverSecret: SECRET,
        namespace: 'public',
      });
      opened.push(byUrl);
      assert.equal(await proxyA.call('whereAmI'), 'a');
      assert.equal(await proxyB.call('whereAmI'), 'b');
      assert.equal(await byUrl.call('whereAmI'), 'a');
      const body = await new Promise<string>((resolve, reject) => {
        httpGet(`http://127.0.0.1:${port}/hello`, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(body, 'plain http still works');
    } finally {
      for (const proxy of opened) await proxy.close().catch(() => undefined);
      await stopAll(serverA, serverB);
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  test('options without url or host+port are refused', async () => {
    await assert.rejects(RpcProxy.create({ host: '127.0.0.1' }), (error: unknown) => {
      assert.equal((error as { code?: unknown }).code, ErrorCode.INVALID_OPTION);
      return true;
    });
  });

  test('an unreachable server rejects with NotConnectedError instead of hanging', async () => {
    const port = await getFreePort();
    const started = Date.now();
    await within(
      rejectsWith(RpcProxy.create({ host: '127.0.0.1', port, namespace: 'x' }), NotConnectedError),
      5000,
      'RpcProxy.create to a closed port',
    );
    assert.ok(since(started) < 5000);
  });

  test('a failed create leaves nothing redialing in the background', async () => {
    let attempts = 0;
    const sink = createNetServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const { port } = sink.address() as AddressInfo;
    // The client create() opens, to look at its connector once create() rejected.
    const start = mock.method(BaseClient.prototype, 'start');
    try {
      await within(
        rejectsWith(RpcProxy.create({ host: '127.0.0.1', port }), NotConnectedError),
        5000,
        'RpcProxy.create to a socket that hangs up',
      );
      assert.equal(attempts, 1);
      assert.equal(start.mock.callCount(), 1);
      const created = start.mock.calls[0]?.this as BaseClient | undefined;
      const connector = created?.['connector'];
      assert.ok(connector !== undefined);
      // A stopped client with no reconnect timer never dials again (only start() leaves
      // 'stopped'), so this holds for good, not just for a while.
      await waitFor(() => connector.state === 'stopped', 5000, 'the client of create() stopped');
      assert.equal(connector['reconnectTimer'], undefined, 'no redial scheduled');
      assert.equal(attempts, 1, 'no redial after create() rejected');
    } finally {
      start.mock.restore();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  });

  test('the proxy reconnects by itself when its connection drops', async () => {
    const { server, url } = await serve({}, (s) => s.origin(fixtures.add, { namespace: 'again' }));
    const proxy = await RpcProxy.create<typeof fixtures>({ url, namespace: 'again' });
    try {
      assert.equal(await proxy.add(1, 2), 3);
      const first = [...server.clients.values()];
      assert.equal(first.length, 1);
      for (const ws of first) ws.close(4000, 'drop it');
      await waitFor(
        () =>
          server.clients.size === 1 &&
          ![...server.clients.values()].some((ws) => first.includes(ws)),
        5000,
        'the proxy reconnected',
      );
      assert.equal(await proxy.add(2, 3), 5);
    } finally {
      await proxy.close();
      await server.stop();
    }
    assert.equal(server.clients.size, 0);
  });

  test('close() closes the proxy connection', async () => {
    const { server, url } = await serve({}, (s) =>
      s.origin(fixtures.add, { namespace: 'closing' }),
    );
    try {
      const proxy = await RpcProxy.create({ url, namespace: 'closing' });
      assert.equal(server.clients.size, 1);
      await proxy.close();
      await waitFor(() => server.clients.size === 0, 5000, 'the server saw the proxy leave');
      await assert.rejects(proxy.call('add', 1, 2));
    } finally {
      await server.stop();
    }
  });
});

describe('function chaining and in-process proxies', () => {
  let server: Server;
  let url: string;

  before(async () => {
    ({ server, url } = await serve({ serverSecret: SECRET }, (s) => {
      shareFixtures(s, 'math');
      let self: RpcProxy<typeof fixtures> | undefined;
      const math = async (): Promise<RpcProxy<typeof fixtures>> =>
        (self ??= await s.rpc<typeof fixtures>('math'));
      s.origin(
        async function addTwice(a: number, b: number) {
          const proxy = await math();
          const first = await proxy.add(a, b);
          const second = await proxy.call('add', first, first);
          return second;
        },
        { namespace: 'chain' },
      );
      s.origin(
        async function sumRange(end: number) {
          const proxy = await math();
          let total = 0;
          for await (const value of proxy.range(0, end)) total += value;
          return total;
        },
        { namespace: 'chain' },
      );
      s.origin(
        async function callMissing() {
          const proxy = await s.rpc('math');
          return proxy.call('notThere');
        },
        { namespace: 'chain' },
      );
    }));
  });
  after(async () => {
    await stopAll(server);
  });

  test('a function calls other functions through server.rpc(namespace)', async () => {
    const proxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'chain' });
    try {
      assert.equal(await proxy.call('addTwice', 1, 2), 6);
      assert.equal(await proxy.call('sumRange', 5), 10);
      const error = await rejectsWith(proxy.call('callMissing'), NoRouteError, ErrorCode.NO_ROUTE);
      assert.match(error.message, /notThere/);
      // Concurrent chained calls do not block each other.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => proxy.call('addTwice', i, 1)),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => 2 * (i + 1)),
      );
    } finally {
      await proxy.close();
    }
  });

  test('server.rpc(namespace) calls in-process, checks arity and streams', async () => {
    const local = await server.rpc<typeof fixtures>('math');
    assert.equal(await local.add(20, 22), 42);
    assert.equal(await local.slowEcho(0, 1), 0);
    assert.deepEqual(await collect(local.range(2, 5)), [2, 3, 4]);
    assert.deepEqual(await collect(local.ticks(2, 1)), [{ tick: 0 }, { tick: 1 }]);
    assert.deepEqual(names(local.functions), ['add', 'greet', 'range', 'slowEcho', 'sum', 'ticks']);
    const untypedLocal = await server.rpc('math');
    await rejectsWith(
      untypedLocal.call('add', 1),
      InvalidArgumentError,
      ErrorCode.INVALID_ARGUMENT,
    );
    await rejectsWith(untypedLocal.call('nope'), NoRouteError, ErrorCode.NO_ROUTE);
    await rejectsWith(
      local.with({ signal: AbortSignal.abort() }).add(1, 2),
      AbortError,
      ErrorCode.ABORTED,
    );
    await local.close();
  });

  test('server.rpc() defaults to the DEFAULT namespace and sees later registrations', async () => {
    const local = await server.rpc();
    assert.equal(local.namespace, 'DEFAULT');
    const before = local.functions.length;
    server.origin(function lateDefault() {
      return 'late';
    });
    assert.equal(local.functions.length, before + 1);
    assert.equal(await local.call('lateDefault'), 'late');
    await local.close();
  });
});

describe('Standard Schema params (zod)', () => {
  let server: Server;
  let proxy: RpcProxy;
  const received: unknown[][] = [];

  before(async () => {
    let url: string;
    ({ server, url } = await serve({ serverSecret: SECRET }, (s) => {
      s.origin(
        function scaled(value: number, factor: number) {
          received.push([value, factor]);
          return value * factor;
        },
        { namespace: 'zod', params: z.tuple([z.coerce.number(), z.number().int().positive()]) },
      );
      s.origin(
        function register(user: { name: string; age: number }) {
          return `${user.name} (${user.age})`;
        },
        {
          namespace: 'zod',
          params: z.tuple([z.object({ name: z.string().min(1), age: z.number().min(0) })]),
        },
      );
      s.origin(
        function shout(text: string) {
          return typeof text === 'string' ? text : `not a string: ${typeof text}`;
        },
        {
          namespace: 'zod',
          params: z.tuple([z.string().transform((text) => `${text.toUpperCase()}!`)]),
        },
      );
      s.origin(
        async function asyncChecked(id: string) {
          await delay(1);
          return `ok ${id}`;
        },
        {
          namespace: 'zod',
          params: z.tuple([
            z.string().refine(async (id) => id.startsWith('id-'), 'must start with id-'),
          ]),
        },
      );
      s.origin(
        function* countTo(n: number) {
          for (let i = 1; i <= n; i++) yield i;
        },
        { namespace: 'zod', params: z.tuple([z.number().int().max(10)]) },
      );
    }));
    proxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'zod' });
  });
  after(async () => {
    await proxy.close().catch(() => undefined);
    await stopAll(server);
  });

  test('invalid arguments reject with ValidationError (ERR_VALIDATION) and issues', async () => {
    received.length = 0;
    const error = await rejectsWith(
      proxy.call('scaled', 2, -3),
      ValidationError,
      ErrorCode.VALIDATION,
    );
    const issues = (error.data as { issues: { message: string; path: string[] }[] }).issues;
    assert.ok(Array.isArray(issues) && issues.length === 1, JSON.stringify(issues));
    const [issue] = issues;
    assert.ok(issue !== undefined);
    assert.deepEqual(issue.path, ['1']);
    assert.equal(typeof issue.message, 'string');
    assert.ok(issue.message.length > 0);
    assert.match(error.message, /1: /);
    const nested = await rejectsWith(
      proxy.call('register', { name: '', age: -1 }),
      ValidationError,
      ErrorCode.VALIDATION,
    );
    const paths = (nested.data as { issues: { path: string[] }[] }).issues
      .map((entry) => entry.path.join('.'))
      .sort();
    assert.deepEqual(paths, ['0.age', '0.name']);
    await rejectsWith(
      proxy.call('scaled', 'not a number', 2),
      ValidationError,
      ErrorCode.VALIDATION,
    );
    assert.equal(received.length, 0, 'the function never ran with invalid arguments');
  });

  test('valid arguments pass, and the function receives the transformed values', async () => {
    received.length = 0;
    assert.equal(await proxy.call('scaled', '4', 2), 8);
    assert.deepEqual(received, [[4, 2]]);
    assert.equal(typeof received[0]?.[0], 'number', 'coerced from a string');
    assert.equal(await proxy.call('shout', 'hey'), 'HEY!');
    assert.equal(await proxy.call('register', { name: 'ann', age: 30 }), 'ann (30)');
  });

  test('async refinements run on the server', async () => {
    assert.equal(await proxy.call('asyncChecked', 'id-7'), 'ok id-7');
    const error = await rejectsWith(
      proxy.call('asyncChecked', 'x'),
      ValidationError,
      ErrorCode.VALIDATION,
    );
    assert.match(error.message, /must start with id-/);
  });

  test('generators are validated too', async () => {
    assert.deepEqual(await collect(proxy.stream('countTo', 3)), [1, 2, 3]);
    await rejectsWith(collect(proxy.stream('countTo', 11)), ValidationError, ErrorCode.VALIDATION);
  });

  test('server.rpc validates the same way', async () => {
    const local = await server.rpc('zod');
    await rejectsWith(local.call('scaled', 1, 0), ValidationError, ErrorCode.VALIDATION);
    assert.equal(await local.call('scaled', '3', 3), 9);
  });
});

describe('createNamespaceGroup', () => {
  let server: Server;
  let url: string;
  const opened: { close(): Promise<void> }[] = [];

  before(async () => {
    ({ server, url } = await serve({ serverSecret: SECRET }, (s) => {
      s.createNamespaceGroup('everyone', 'red', 'blue');
      s.origin(
        function who() {
          return 'red';
        },
        { namespace: 'red' },
      );
      s.origin(
        function who() {
          return 'blue';
        },
        { namespace: 'blue' },
      );
      s.origin(
        function onlyBlue() {
          return 'blue only';
        },
        { namespace: 'blue' },
      );
      s.origin(
        function shared(x: number) {
          return x * 10;
        },
        { namespace: 'everyone' },
      );
    }));
  });
  after(async () => {
    for (const proxy of opened) await proxy.close().catch(() => undefined);
    await stopAll(server);
  });

  async function proxyFor(namespace: string): Promise<RpcProxy> {
    const proxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace });
    opened.push(proxy);
    return proxy;
  }

  test('a function registered to the group lands in every member', async () => {
    const red = await proxyFor('red');
    const blue = await proxyFor('blue');
    assert.deepEqual(names(red.functions), ['shared', 'who']);
    assert.deepEqual(names(blue.functions), ['onlyBlue', 'shared', 'who']);
    assert.equal(await red.call('shared', 2), 20);
    assert.equal(await blue.call('shared', 3), 30);
    assert.equal(await red.call('who'), 'red');
    assert.equal(await blue.call('who'), 'blue');
  });

  test('a proxy to the group sees all member functions; the first member wins', async () => {
    const group = await proxyFor('everyone');
    assert.deepEqual(names(group.functions), ['onlyBlue', 'shared', 'who']);
    assert.equal(await group.call('who'), 'red');
    assert.equal(await group.call('onlyBlue'), 'blue only');
    assert.equal(await group.call('shared', 4), 40);
  });

  test('a name taken in one member refuses the group registration everywhere', async () => {
    assert.throws(
      () =>
        server.origin(
          function onlyBlue() {
            return 'again';
          },
          { namespace: 'everyone' },
        ),
      (error: unknown) =>
        error instanceof DuplicateNameError && error.code === ErrorCode.DUPLICATE_NAME,
    );
    const red = await proxyFor('red');
    assert.ok(
      !red.functions.some((info) => info.name === 'onlyBlue'),
      'nothing was half-registered',
    );
  });

  test('group and member proxies get later registrations pushed', async () => {
    const group = await proxyFor('everyone');
    const red = await proxyFor('red');
    server.origin(
      function lateRed() {
        return 'late red';
      },
      { namespace: 'red' },
    );
    server.origin(
      function lateAll() {
        return 'late all';
      },
      { namespace: 'everyone' },
    );
    await waitFor(
      () =>
        group.functions.some((info) => info.name === 'lateRed') &&
        group.functions.some((info) => info.name === 'lateAll'),
      5000,
      'group proxy updated',
    );
    await waitFor(
      () => red.functions.some((info) => info.name === 'lateAll'),
      5000,
      'member proxy updated',
    );
    assert.equal(await group.call('lateRed'), 'late red');
    assert.equal(await red.call('lateAll'), 'late all');
  });

  test('a group name that is already a namespace is refused', () => {
    assert.throws(
      () => server.createNamespaceGroup('red', 'blue'),
      (error: unknown) => error instanceof InvalidArgumentError,
    );
    assert.throws(
      () => server.createNamespaceGroup('empty'),
      (error: unknown) => error instanceof InvalidArgumentError,
    );
  });
});

describe('registerLogger', () => {
  test('shares info, warning, error, debug and exception (with warn/error fallbacks)', async () => {
    const calls: [string, unknown[]][] = [];
    const fallbackLogger = {
      info: (...args: unknown[]) => calls.push(['info', args]),
      warn: (...args: unknown[]) => calls.push(['warn', args]),
      error: (...args: unknown[]) => calls.push(['error', args]),
      debug: (...args: unknown[]) => calls.push(['debug', args]),
    };
    class FullLogger {
      readonly lines: string[] = [];
      info(message: string): void {
        this.lines.push(`info ${message}`);
      }
      warning(message: string): void {
        this.lines.push(`warning ${message}`);
      }
      warn(): void {
        throw new Error('warn should not be used when warning exists');
      }
      error(message: string): void {
        this.lines.push(`error ${message}`);
      }
      debug(message: string): void {
        this.lines.push(`debug ${message}`);
      }
      exception(message: string): void {
        this.lines.push(`exception ${message}`);
      }
    }
    const full = new FullLogger();
    const { server, url } = await serve({ serverSecret: SECRET }, (s) => {
      s.registerLogger(fallbackLogger, { namespace: 'logs' });
      s.registerLogger(full, { namespace: 'full-logs' });
      s.registerLogger({ info: () => undefined });
    });
    const proxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'logs' });
    const fullProxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'full-logs' });
    const defaultProxy = await RpcProxy.create({ url, serverSecret: SECRET });
    try {
      assert.deepEqual(names(proxy.functions), ['debug', 'error', 'exception', 'info', 'warning']);
      assert.equal(
        infoOf(proxy.functions, 'info').maxArgs,
        null,
        'loggers take any number of arguments',
      );
      assert.equal(await proxy.call('info', 'hello', 1), null);
      await proxy.call('warning', 'careful');
      await proxy.call('error', 'bad', { code: 7 });
      await proxy.call('debug');
      await proxy.call('exception', 'crash');
      assert.deepEqual(calls, [
        ['info', ['hello', 1]],
        ['warn', ['careful']],
        ['error', ['bad', { code: 7 }]],
        ['debug', []],
        ['error', ['crash']],
      ]);
      await fullProxy.call('info', 'a');
      await fullProxy.call('warning', 'b');
      await fullProxy.call('error', 'c');
      await fullProxy.call('debug', 'd');
      await fullProxy.call('exception', 'e');
      assert.deepEqual(full.lines, ['info a', 'warning b', 'error c', 'debug d', 'exception e']);
      assert.deepEqual(
        names(defaultProxy.functions),
        ['info'],
        'default namespace, only what exists',
      );
    } finally {
      await proxy.close();
      await fullProxy.close();
      await defaultProxy.close();
      await server.stop();
    }
  });
});

describe('client.rpc over a Client connection', () => {
  test('works with the server secret; without it RPC is refused with AuthError', async () => {
    const { server, url } = await serve({ serverSecret: SECRET }, (s) => {
      shareFixtures(s, 'tools');
      s.addRoute({ route: 'echo', handler: ({ data }) => data });
    });
    const withSecret = await startClient(url, { serverSecret: SECRET });
    const withoutSecret = await startClient(url);
    try {
      const tools = await withSecret.rpc<typeof fixtures>('tools');
      assert.equal(await tools.add(1, 2), 3);
      assert.deepEqual(await collect(tools.range(0, 3)), [0, 1, 2]);
      assert.deepEqual(names(tools.functions), [
        'add',
        'greet',
        'range',
        'slowEcho',
        'sum',
        'ticks',
      ]);
      // The client keeps its messaging side.
      assert.equal(await withSecret.sendMes({ route: 'echo', data: 'hi', awaitRes: true }), 'hi');
      await tools.close();
      assert.equal(withSecret.connected, true, 'closing a client.rpc proxy keeps the client');
      assert.equal(
        await withSecret.sendMes({ route: 'echo', data: 'still', awaitRes: true }),
        'still',
      );

      await rejectsWith(withoutSecret.rpc('tools'), AuthError, ErrorCode.AUTH);
      assert.equal(withoutSecret.connected, true, 'messaging does not need the secret');
      assert.equal(await withoutSecret.sendMes({ route: 'echo', data: 'x', awaitRes: true }), 'x');
      // Raw RPC frames from an unauthorized connection are refused too (no listing needed).
      const unchecked = withoutSecret['rpcCaller'];
      await rejectsWith(unchecked.call('tools', 'add', [1, 2]), AuthError, ErrorCode.AUTH);
      await rejectsWith(
        collect(unchecked.stream('tools', 'range', [0, 3])),
        AuthError,
        ErrorCode.AUTH,
      );
    } finally {
      await stopAll(withSecret, withoutSecret, server);
    }
  });

  test('a server without a secret serves client.rpc to any client', async () => {
    const { server, url } = await serve({}, (s) => shareFixtures(s, DEFAULT_NAMESPACE));
    const client = await startClient(url);
    try {
      const proxy = await client.rpc<typeof fixtures>();
      assert.equal(proxy.namespace, 'DEFAULT');
      assert.equal(await proxy.greet('you'), 'Hello, you!');
      assert.deepEqual(callerSnapshot(client), { streams: 0, pending: 0 });
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('function lists are pushed', () => {
  test('proxy.functions updates without refresh when a function is registered later', async () => {
    const { server, url } = await serve({ serverSecret: SECRET });
    const proxy = await RpcProxy.create({ url, serverSecret: SECRET, namespace: 'growing' });
    const client = await startClient(url, { serverSecret: SECRET });
    const viaClient = await client.rpc('growing');
    try {
      assert.deepEqual(proxy.functions, []);
      await rejectsWith(proxy.call('newcomer'), NoRouteError, ErrorCode.NO_ROUTE);
      const started = Date.now();
      server.origin(
        function newcomer(x: number) {
          return x + 100;
        },
        { namespace: 'growing' },
      );
      server.origin(
        function* newStream(n: number) {
          for (let i = 0; i < n; i++) yield i;
        },
        { namespace: 'growing' },
      );
      await waitFor(() => proxy.functions.length === 2, 5000, 'RpcProxy got the new list');
      await waitFor(
        () => viaClient.functions.length === 2,
        5000,
        'client.rpc proxy got the new list',
      );
      assert.ok(since(started) < 2000, `the push took ${since(started)} ms`);
      assert.deepEqual(infoOf(proxy.functions, 'newcomer').arity, 1);
      assert.equal(infoOf(proxy.functions, 'newStream').kind, 'generator');
      assert.equal(await proxy.call('newcomer', 1), 101);
      assert.deepEqual(await collect(proxy.stream('newStream', 3)), [0, 1, 2]);
      // Arity of the pushed function is enforced locally as well.
      await rejectsWith(
        viaClient.call('newcomer'),
        InvalidArgumentError,
        ErrorCode.INVALID_ARGUMENT,
      );
    } finally {
      await proxy.close();
      await stopAll(client, server);
    }
  });
});

describe('codecs', () => {
  test('msgpack: calls, streams and binary data', async () => {
    const { server, url } = await serve({ serverSecret: SECRET }, (s) => {
      shareFixtures(s, 'packed');
      s.origin(
        function reverseBytes(bytes: Uint8Array) {
          return Uint8Array.from(bytes).reverse();
        },
        { namespace: 'packed' },
      );
    });
    type PackedApi = typeof fixtures & { reverseBytes(bytes: Uint8Array): Uint8Array };
    const proxy = await RpcProxy.create<PackedApi>({
      url,
      serverSecret: SECRET,
      namespace: 'packed',
      codec: 'msgpack',
    });
    try {
      assert.equal([...server.clients.values()][0]?.codec, 'msgpack');
      assert.equal(await proxy.add(1, 2), 3);
      assert.deepEqual(await collect(proxy.range(0, 4)), [0, 1, 2, 3]);
      const reversed = await proxy.reverseBytes(new Uint8Array([1, 2, 3, 255]));
      assert.ok(reversed instanceof Uint8Array, 'binary stays binary');
      assert.deepEqual([...reversed], [255, 3, 2, 1]);
      await rejectsWith(fnOf(proxy, 'missing')(), NoRouteError, ErrorCode.NO_ROUTE);
    } finally {
      await proxy.close();
      await server.stop();
    }
  });
});
