/**
 * Type test of typed proxies (issue 5 item 4): `RpcProxy.create<Api>()` types every call from
 * `Api` (arguments, awaited results, generators as async iterables). The real check is
 * `tsc --noEmit` (run by `npm test` over test/): every `@ts-expect-error` below must be an
 * error, and every plain line must compile. The runtime part runs the positive lines against
 * a real server so the types describe what actually happens.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RpcProxy,
  type CallOrStream,
  type FunctionInfo,
  type RemoteFunction,
  type RemoteResult,
  type RpcProxyMembers,
  type Server,
  type StreamItem,
  type StreamName,
} from '../src/index.js';
import * as fixtures from './fixtures/rpc-functions.js';
import { startServer } from './helpers.js';

interface User {
  id: number;
  name: string;
}

/** The API as the server implements it. */
type Api = {
  add(a: number, b: number): number;
  greet(name: string, greeting?: string): Promise<string>;
  findUser(id: number): Promise<User | null>;
  countdown(from: number): AsyncGenerator<number>;
  letters(word: string): Generator<string, number, unknown>;
  sum(...values: number[]): number;
  /** Collides with a proxy member: reached through `call('close', ...)`. */
  close(reason: string): string;
};

/** Compile-time equality of two types. */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_check?: T): void {}

// Static shape of the proxy type, checked without running anything.
assertType<Equals<RemoteResult<number>, Promise<number>>>();
assertType<Equals<RemoteResult<Promise<string>>, Promise<string>>>();
assertType<Equals<RemoteResult<AsyncGenerator<number>>, AsyncIterableIterator<number>>>();
assertType<
  Equals<RemoteResult<Generator<string, number, unknown>>, AsyncIterableIterator<string>>
>();
assertType<Equals<RemoteFunction<Api['add']>, (a: number, b: number) => Promise<number>>>();
assertType<Equals<ReturnType<RpcProxy<Api>['countdown']>, AsyncIterableIterator<number>>>();
assertType<Equals<RpcProxy<Api>['close'], RpcProxyMembers<Api>['close']>>();
assertType<Equals<RpcProxy<Api>['functions'], FunctionInfo[]>>();
assertType<Equals<StreamName<Api>, 'countdown' | 'letters'>>();
assertType<Equals<StreamItem<AsyncGenerator<number>>, number>>();
assertType<Equals<StreamItem<unknown>, unknown>>();
assertType<Equals<ReturnType<RpcProxy['stream']>, AsyncIterableIterator<unknown>>>();
// Untyped: the result is both, and the use decides (docs/rpc.md "Call or stream").
assertType<Equals<RemoteResult<unknown>, CallOrStream>>();
assertType<Equals<ReturnType<RpcProxy['call']>, CallOrStream>>();
// @ts-expect-error -- a promise of a number is not a promise of a string
assertType<Equals<RemoteResult<number>, Promise<string>>>();

/** Uses the proxy the way application code would; every line is checked by tsc. */
async function useTypedProxy(proxy: RpcProxy<Api>): Promise<void> {
  const n: number = await proxy.add(1, 2);
  const viaIndex: number = await proxy['add'](3, 4);
  const viaCall: number = await proxy.call('add', 5, 6);
  const hello: string = await proxy.greet('ann');
  const helloWithGreeting: string = await proxy.greet('ann', 'Hey');
  const user: User | null = await proxy.findUser(1);
  const total: number = await proxy.sum(1, 2, 3);
  const none: number = await proxy.sum();
  const closed: string = await proxy.call('close', 'bye');
  const timed: number = await proxy
    .with({ timeout: 500, signal: AbortSignal.timeout(1000) })
    .add(1, 1);
  for await (const x of proxy.countdown(3)) {
    const value: number = x;
    // @ts-expect-error -- items of countdown are numbers
    const wrong: string = x;
    void value;
    void wrong;
  }
  for await (const letter of proxy.letters('ab')) {
    const value: string = letter;
    void value;
  }
  for await (const item of proxy.call('countdown', 2)) {
    const value: number = item;
    void value;
  }
  for await (const item of proxy.stream('countdown', 2)) {
    const value: number = item;
    void value;
  }
  for await (const letter of proxy.with({ timeout: 500 }).stream('letters', 'ab')) {
    const value: string = letter;
    void value;
  }
  const iterator: AsyncIterableIterator<number> = proxy.countdown(1);
  const step: IteratorResult<number> = await iterator.next();
  const names: string[] = proxy.functions.map((info) => info.name);
  const namespace: string = proxy.namespace;
  const refreshed: FunctionInfo[] = await proxy.refresh();
  void [
    n,
    viaIndex,
    viaCall,
    hello,
    helloWithGreeting,
    user,
    total,
    none,
    closed,
    timed,
    step,
    names,
    namespace,
    refreshed,
  ];
}

/** Misuses that must not compile. Never called: it only has to type-check. */
async function misuses(proxy: RpcProxy<Api>): Promise<void> {
  // @ts-expect-error -- wrong argument type
  await proxy.add('1', 2);
  // @ts-expect-error -- too few arguments
  await proxy.add(1);
  // @ts-expect-error -- too many arguments
  await proxy.add(1, 2, 3);
  // @ts-expect-error -- wrong argument type through call()
  await proxy.call('add', 1, '2');
  // @ts-expect-error -- unknown function through call()
  await proxy.call('subtract', 1, 2);
  // @ts-expect-error -- unknown function
  await proxy.subtract(1, 2);
  // @ts-expect-error -- the result is a number, not a string
  const wrongResult: string = await proxy.add(1, 2);
  // @ts-expect-error -- the result is a promise: it must be awaited
  const notAwaited: number = proxy.add(1, 2);
  // @ts-expect-error -- a user may be null
  const userName: string = (await proxy.findUser(1)).name;
  // @ts-expect-error -- a generator result is not a promise
  const notAPromise: number = await proxy.countdown(3).then((x: number) => x);
  // @ts-expect-error -- stream() takes generators only: add is a call
  proxy.stream('add', 1, 2);
  // @ts-expect-error -- stream() of an undeclared name
  proxy.stream('subtract', 1, 2);
  // @ts-expect-error -- stream() checks the arguments too
  proxy.stream('countdown', '3');
  // @ts-expect-error -- a stream is not a promise
  await proxy.stream('countdown', 3).then(() => undefined);
  // @ts-expect-error -- sum takes numbers only
  await proxy.sum(1, 'two');
  // @ts-expect-error -- `close` is the proxy member: it takes no argument
  await proxy.close('bye');
  // @ts-expect-error -- unknown per-call option
  proxy.with({ retries: 3 });
  // @ts-expect-error -- members are read-only
  proxy.namespace = 'other';
  for await (const x of proxy.countdown(3)) {
    // @ts-expect-error -- items are numbers
    x.toUpperCase();
  }
  void [wrongResult, notAwaited, userName, notAPromise];
}
void misuses;

/** Untyped proxies: any name streams through stream(), and items are unknown. */
async function useUntypedProxy(proxy: RpcProxy): Promise<void> {
  for await (const item of proxy.stream('anything', 1, 'two')) {
    // @ts-expect-error -- items of an untyped stream are unknown
    const wrong: number = item;
    void wrong;
  }
  // @ts-expect-error -- the name must be a string
  proxy.stream(1);
  const result: unknown = await proxy.call('anything');
  void result;
}
void useUntypedProxy;

/** An API taken from an object of functions (`typeof`), with a generator. */
async function useTypeofApi(proxy: RpcProxy<typeof fixtures>): Promise<void> {
  const sum: number = await proxy.add(1, 2);
  const echoed: Promise<unknown> = proxy.slowEcho('x', 1);
  for await (const value of proxy.range(0, 2)) {
    const typed: number = value;
    void typed;
  }
  for await (const tick of proxy.ticks(1, 1)) {
    const typed: { tick: number } = tick;
    void typed;
  }
  // @ts-expect-error -- range takes numbers
  proxy.range('0', 2);
  void [sum, await echoed];
}

test('typed proxies behave as their types say', async () => {
  const { server } = await startServer({ serverSecret: 'types' }, (s: Server) => {
    const namespace = 'typed';
    s.origin(
      function add(a: number, b: number) {
        return a + b;
      },
      { namespace },
    );
    s.origin(
      async function greet(name: string, greeting = 'Hello') {
        return `${greeting}, ${name}`;
      },
      { namespace },
    );
    s.origin(
      async function findUser(id: number): Promise<User | null> {
        return id === 1 ? { id, name: 'ann' } : null;
      },
      { namespace },
    );
    s.origin(
      async function* countdown(from: number) {
        for (let i = from; i > 0; i--) yield i;
      },
      { namespace },
    );
    s.origin(
      function* letters(word: string) {
        for (const letter of word) yield letter;
        return word.length;
      },
      { namespace },
    );
    s.origin(
      function sum(...values: number[]) {
        return values.reduce((total, value) => total + value, 0);
      },
      { namespace },
    );
    s.origin(
      function close(reason: string) {
        return `closed: ${reason}`;
      },
      { namespace },
    );
    for (const fn of [fixtures.add, fixtures.slowEcho, fixtures.range, fixtures.ticks]) {
      s.origin(fn, { namespace: 'fixtures' });
    }
  });
  const port = server.port;
  assert.ok(port !== undefined);
  const proxy = await RpcProxy.create<Api>({
    host: '127.0.0.1',
    port,
    serverSecret: 'types',
    namespace: 'typed',
  });
  const fromTypeof = await RpcProxy.create<typeof fixtures>({
    host: '127.0.0.1',
    port,
    serverSecret: 'types',
    namespace: 'fixtures',
  });
  try {
    await useTypedProxy(proxy);
    await useTypeofApi(fromTypeof);
    assert.equal(await proxy.call('close', 'bye'), 'closed: bye');
    assert.deepEqual(await proxy.findUser(2), null);
  } finally {
    await proxy.close();
    await fromTypeof.close();
    await server.stop();
  }
});
