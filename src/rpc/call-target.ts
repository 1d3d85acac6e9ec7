/**
 * Something a call can be run against: a local function now, a function on another server
 * (reached through links) in a cluster. The responder and `server.rpc()` only see this.
 * @module
 */
import { ErrorCode, InvalidArgumentError, NoRouteError, ProtocolError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { CallContext } from './call-context.js';
import type { OpenStream, RelaySink } from './stream-relay.js';

/** What a local call target runs: a registered function (the registry's `LocalFunction`). */
export interface LocalCallable {
  /** What callers see. */
  readonly info: FunctionInfo;
  /** The function itself. */
  readonly fn: unknown;
  /** The arguments, checked against the function's schema (a promise when it is async). */
  prepareArgs(args: unknown[]): unknown[] | Promise<unknown[]>;
}

/** An iterator a stream can pull from. */
export type PullIterator =
  Iterator<unknown, unknown, undefined> | AsyncIterator<unknown, unknown, undefined>;

/** A resolved function. */
export interface CallTarget {
  /** Description (name, params, arity, kind). */
  readonly info: FunctionInfo;
  /** True when the call leaves this server (so cancelling it is worth telling the far side). */
  readonly remote: boolean;
  /**
   * Runs a plain function; returns its value or a promise of it. `context` says when the
   * call is called off (a local function gets it as `this`); `hops` is how many more servers
   * a forwarded call may cross; `timeout` is how long (ms) the caller still waits, when it
   * said (a forwarded call takes it to the next hop).
   */
  call(args: unknown[], context: CallContext | undefined, hops: number, timeout?: number): unknown;
  /** Runs a generator function; returns the iterator to pull from. */
  stream(args: unknown[], context: CallContext | undefined, hops: number): PullIterator;
  /**
   * @internal Remote targets only: forwards a stream opened with `credit` to where the
   * generator runs, passing items to `sink` and later credit upstream as they come, without
   * a window of its own at this hop. Throws when the stream cannot be sent.
   */
  relay?(args: unknown[], hops: number, credit: number, sink: RelaySink): OpenStream;
}

/** Finds functions by namespace and name (local first, then the cluster). */
export interface FunctionResolver {
  resolve(namespace: string, name: string): CallTarget | undefined;
  list(namespace: string): FunctionInfo[];
}

/** Forwarding hops a call may take by default (a guard against routing loops). */
export const DEFAULT_HOPS = 16;

/**
 * The target a call or stream of `name` may run against: it exists (else `NoRouteError`,
 * `where` ends the message), it is of `kind` (else `ERR_PROTOCOL`), and `args` fit it. `args`
 * undefined skips the arity check: the call was checked where it entered the cluster.
 */
export function callableTarget(
  target: CallTarget | undefined,
  namespace: string,
  name: string,
  kind: FunctionInfo['kind'],
  args: readonly unknown[] | undefined,
  where = '',
): CallTarget {
  if (target === undefined) {
    throw new NoRouteError(`No function "${name}" in namespace "${namespace}"${where}`, {
      namespace,
      name,
    });
  }
  if (target.info.kind !== kind) {
    throw new ProtocolError(
      ErrorCode.PROTOCOL,
      kind === 'function' ? `"${name}" is a generator: iterate it` : `"${name}" is not a generator`,
    );
  }
  if (args !== undefined) checkArity(target.info, args);
  return target;
}

/**
 * The one way a call or stream is resolved on a server, for remote callers (the responder)
 * and in-process ones (`server.rpc()`): found through `resolver`, then checked by
 * {@link callableTarget}.
 */
export function resolveCallable(
  resolver: FunctionResolver,
  namespace: string,
  name: string,
  kind: FunctionInfo['kind'],
  args: readonly unknown[] | undefined,
): CallTarget {
  return callableTarget(resolver.resolve(namespace, name), namespace, name, kind, args);
}

/** Throws {@link InvalidArgumentError} when `args` does not fit `info`. */
export function checkArity(info: FunctionInfo, args: readonly unknown[]): void {
  if (args.length < info.arity || (info.maxArgs !== null && args.length > info.maxArgs)) {
    const expected =
      info.maxArgs === null
        ? `at least ${info.arity}`
        : info.arity === info.maxArgs
          ? `${info.arity}`
          : `${info.arity} to ${info.maxArgs}`;
    throw new InvalidArgumentError(
      `${info.name}(${info.params.join(', ')}) takes ${expected} argument(s), got ${args.length}`,
      { name: info.name, params: info.params, got: args.length },
    );
  }
}

type Callable = (this: CallContext, ...args: unknown[]) => unknown;

/** `this` of a local function called without a context: never aborted. */
const UNCANCELLED = new CallContext();

/** A function registered on this server. */
export class LocalTarget implements CallTarget {
  readonly remote = false;
  constructor(private readonly local: LocalCallable) {}

  get info(): FunctionInfo {
    return this.local.info;
  }

  call(args: unknown[], context: CallContext = UNCANCELLED): unknown {
    const fn = this.local.fn as Callable;
    const prepared = this.local.prepareArgs(args);
    return Array.isArray(prepared)
      ? fn.apply(context, prepared)
      : prepared.then((valid) => fn.apply(context, valid));
  }

  stream(args: unknown[], context: CallContext = UNCANCELLED): PullIterator {
    const fn = this.local.fn as Callable;
    const prepared = this.local.prepareArgs(args);
    if (Array.isArray(prepared)) return fn.apply(context, prepared) as PullIterator;
    // Validation is async: start the generator once the arguments passed.
    let inner: PullIterator | undefined;
    const ready = prepared.then((valid) => {
      inner = fn.apply(context, valid) as PullIterator;
      return inner;
    });
    return {
      next: async () => (inner ?? (await ready)).next(),
      return: async (value?: unknown) => {
        const iterator = inner ?? (await ready.catch(() => undefined));
        return iterator?.return !== undefined ? iterator.return(value) : { done: true, value };
      },
    };
  }
}
