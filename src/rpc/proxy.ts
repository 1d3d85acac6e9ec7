/**
 * The proxy object users call remote functions through: `proxy.fn(...)`, `proxy['fn'](...)`,
 * `proxy.call('fn', ...)`, `proxy.stream('fn', ...)`, `proxy.with({signal, timeout}).fn(...)`.
 * Types flow from the API type given to `RpcProxy.create<Api>()`; generators come back as
 * async iterables.
 * @module
 */
import { InvalidArgumentError, type WsMeshError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { checkArity } from './call-target.js';
import { PendingResult } from './pending-result.js';
import type { CallOptions } from './rpc-caller.js';

/** What a proxy needs underneath (a connection's caller, or the server itself). */
export interface RpcBackend {
  call(namespace: string, name: string, args: unknown[], options: CallOptions): Promise<unknown>;
  stream(
    namespace: string,
    name: string,
    args: unknown[],
    options: CallOptions,
  ): AsyncIterableIterator<unknown>;
  list(namespace: string): Promise<FunctionInfo[]>;
  watch(namespace: string, listener: (functions: FunctionInfo[]) => void): () => void;
}

/** Any function type, for API shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parameter lists of user functions vary
type AnyFn = (...args: any[]) => unknown;

/**
 * What an untyped `proxy.fn(...)` returns: a call when awaited, a stream when iterated (the
 * use decides, see {@link RemoteResult}).
 */
export type CallOrStream = Promise<unknown> & AsyncIterableIterator<unknown>;

/**
 * What calling a remote function returns: an async iterable for generators, else a promise;
 * {@link CallOrStream} when the return type is not declared. At run time every result is
 * both, and the caller's use (iterate or await) decides whether a stream or a call is sent.
 */
export type RemoteResult<R> = unknown extends R
  ? CallOrStream
  : R extends Generator<infer T, unknown, unknown>
    ? AsyncIterableIterator<T>
    : R extends AsyncGenerator<infer T, unknown, unknown>
      ? AsyncIterableIterator<T>
      : Promise<Awaited<R>>;

/** Item type of a generator's return type `R`; `unknown` when `R` is not declared. */
export type StreamItem<R> = unknown extends R
  ? unknown
  : R extends Generator<infer T, unknown, unknown>
    ? T
    : R extends AsyncGenerator<infer T, unknown, unknown>
      ? T
      : never;

/** Names `Api` declares as generators; any name when `Api` is untyped. */
export type StreamName<Api> = {
  [K in keyof Api & string]: [StreamItem<ReturnType<Extract<Api[K], AnyFn>>>] extends [never]
    ? never
    : K;
}[keyof Api & string];

/** A remote function as seen through a proxy. */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => RemoteResult<R>
  : never;

/** Members every proxy has besides the remote functions. */
export interface RpcProxyMembers<Api> {
  /** Namespace this proxy calls into. */
  readonly namespace: string;
  /** The functions of the namespace: name, parameter names, arity, kind. Kept up to date. */
  readonly functions: FunctionInfo[];
  /**
   * Calls a function by name; the same as `proxy[name](...args)`: a call when awaited, a
   * stream when iterated.
   */
  call<K extends keyof Api & string>(
    name: K,
    ...args: Parameters<Extract<Api[K], AnyFn>>
  ): RemoteResult<ReturnType<Extract<Api[K], AnyFn>>>;
  /**
   * Opens a stream from the generator `name` at once; with a typed `Api` only names declared
   * as generators are accepted.
   */
  stream<K extends StreamName<Api>>(
    name: K,
    ...args: Parameters<Extract<Api[K], AnyFn>>
  ): AsyncIterableIterator<StreamItem<ReturnType<Extract<Api[K], AnyFn>>>>;
  /** A proxy whose calls use these options (`signal`, `timeout`). */
  with(options: CallOptions): RpcProxy<Api>;
  /** Fetches the function list again. */
  refresh(): Promise<FunctionInfo[]>;
  /** Closes the proxy (and its connection, when it owns one). */
  close(): Promise<void>;
}

/** Untyped API: any name, any arguments. */
export type UntypedApi = Record<string, (...args: unknown[]) => unknown>;

/** A typed RPC proxy for `Api` (an object type of functions). */
export type RpcProxy<Api = UntypedApi> = RpcProxyMembers<Api> & {
  readonly [K in keyof Api as K extends keyof RpcProxyMembers<Api> ? never : K]: RemoteFunction<
    Api[K]
  >;
};

/** Shared state of a proxy and the proxies made from it with `with()`. */
interface ProxyState {
  readonly backend: RpcBackend;
  readonly namespace: string;
  functions: Map<string, FunctionInfo>;
  readonly close: () => Promise<void>;
}

const MEMBERS = new Set(['namespace', 'functions', 'call', 'stream', 'with', 'refresh', 'close']);

function failingIterator(error: WsMeshError): AsyncIterableIterator<unknown> {
  const iterator: AsyncIterableIterator<unknown> = {
    next: () => Promise.reject(error),
    return: (value?: unknown) => Promise.resolve({ done: true, value }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** The arity failure of a call to a listed function, or undefined when the arguments fit. */
function arityError(state: ProxyState, name: string, args: unknown[]): WsMeshError | undefined {
  const info = state.functions.get(name);
  if (info === undefined) return undefined;
  try {
    checkArity(info, args);
    return undefined;
  } catch (error) {
    return error as InvalidArgumentError;
  }
}

/**
 * `proxy.fn(...)` and `proxy.call('fn', ...)`: a {@link PendingResult}, a call when awaited
 * and a stream when iterated, as the declared type says; the function list only checks the
 * number of arguments before anything is sent.
 */
function invoke(state: ProxyState, name: string, args: unknown[], options: CallOptions): unknown {
  const invalid = arityError(state, name, args);
  if (invalid !== undefined)
    return new PendingResult(
      () => Promise.reject(invalid),
      () => failingIterator(invalid),
    );
  return new PendingResult(
    () => state.backend.call(state.namespace, name, args, options),
    () => state.backend.stream(state.namespace, name, args, options),
  );
}

/** `proxy.stream('fn', ...)`: always a stream, checked against the list when it knows `fn`. */
function openStream(
  state: ProxyState,
  name: string,
  args: unknown[],
  options: CallOptions,
): AsyncIterableIterator<unknown> {
  const invalid = arityError(state, name, args);
  if (invalid !== undefined) return failingIterator(invalid);
  return state.backend.stream(state.namespace, name, args, options);
}

function makeProxy<Api>(state: ProxyState, options: CallOptions): RpcProxy<Api> {
  const callers = new Map<string, (...args: unknown[]) => unknown>();
  const members = {
    get namespace() {
      return state.namespace;
    },
    get functions() {
      return [...state.functions.values()];
    },
    call: (name: string, ...args: unknown[]) => {
      if (typeof name !== 'string')
        return Promise.reject(new InvalidArgumentError('call() takes a function name'));
      return invoke(state, name, args, options);
    },
    stream: (name: string, ...args: unknown[]) => {
      if (typeof name !== 'string')
        return failingIterator(new InvalidArgumentError('stream() takes a function name'));
      return openStream(state, name, args, options);
    },
    with: (more: CallOptions) => makeProxy<Api>(state, { ...options, ...more }),
    refresh: async () => {
      const list = await state.backend.list(state.namespace);
      state.functions = new Map(list.map((info) => [info.name, info]));
      return list;
    },
    close: () => state.close(),
  };
  return new Proxy(members, {
    get(target, property) {
      if (typeof property === 'symbol') return undefined;
      if (MEMBERS.has(property)) return target[property as keyof typeof members];
      // Not a thenable: `await proxy` must give the proxy, not call a remote "then".
      if (property === 'then') return undefined;
      let caller = callers.get(property);
      if (caller === undefined) {
        caller = (...args: unknown[]) => invoke(state, property, args, options);
        callers.set(property, caller);
      }
      return caller;
    },
    has(_target, property) {
      return (
        typeof property === 'string' && (MEMBERS.has(property) || state.functions.has(property))
      );
    },
    ownKeys() {
      return [...state.functions.keys()];
    },
    getOwnPropertyDescriptor(_target, property) {
      if (typeof property !== 'string' || !state.functions.has(property)) return undefined;
      return { enumerable: true, configurable: true, writable: false, value: undefined };
    },
  }) as unknown as RpcProxy<Api>;
}

/** Builds a proxy for `namespace` once its function list is known. */
export async function createProxy<Api = UntypedApi>(
  backend: RpcBackend,
  namespace: string,
  close: () => Promise<void>,
): Promise<RpcProxy<Api>> {
  const list = await backend.list(namespace);
  const state: ProxyState = {
    backend,
    namespace,
    functions: new Map(list.map((info) => [info.name, info])),
    close: async () => {
      unwatch();
      await close();
    },
  };
  const unwatch = backend.watch(namespace, (functions) => {
    state.functions = new Map(functions.map((info) => [info.name, info]));
  });
  return makeProxy<Api>(state, {});
}
