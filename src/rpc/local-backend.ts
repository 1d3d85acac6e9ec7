/**
 * `server.rpc(namespace)`: calls made from inside the server, without a socket. Resolution is
 * the same as for remote callers (local functions first, then the cluster).
 * @module
 */
import { AbortError, NoRouteError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { checkArity, DEFAULT_HOPS, type PullIterator } from './call-target.js';
import type { RpcBackend } from './proxy.js';
import type { CallOptions } from './rpc-caller.js';
import type { FunctionResolver } from './rpc-responder.js';

function toAsyncIterator(
  iterator: PullIterator,
  signal: AbortSignal | undefined,
): AsyncIterableIterator<unknown> {
  const wrapped: AsyncIterableIterator<unknown> = {
    next: async () => {
      if (signal?.aborted === true) throw new AbortError();
      return iterator.next();
    },
    return: async (value?: unknown) =>
      iterator.return !== undefined ? iterator.return(value) : { done: true, value },
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}

/** A backend that resolves and runs functions in-process. */
export class LocalBackend implements RpcBackend {
  constructor(
    private readonly resolver: FunctionResolver,
    private readonly subscribe: (
      namespace: string,
      listener: (functions: FunctionInfo[]) => void,
    ) => () => void,
  ) {}

  async call(
    namespace: string,
    name: string,
    args: unknown[],
    options: CallOptions,
  ): Promise<unknown> {
    const target = this.resolver.resolve(namespace, name);
    if (target === undefined)
      throw new NoRouteError(`No function "${name}" in namespace "${namespace}"`);
    checkArity(target.info, args);
    if (options.signal?.aborted === true) throw new AbortError();
    return target.call(args, options.signal, DEFAULT_HOPS);
  }

  stream(
    namespace: string,
    name: string,
    args: unknown[],
    options: CallOptions,
  ): AsyncIterableIterator<unknown> {
    const target = this.resolver.resolve(namespace, name);
    if (target === undefined) {
      const error = new NoRouteError(`No function "${name}" in namespace "${namespace}"`);
      return toAsyncIterator({ next: () => Promise.reject(error) }, undefined);
    }
    checkArity(target.info, args);
    return toAsyncIterator(target.stream(args, options.signal, DEFAULT_HOPS), options.signal);
  }

  async list(namespace: string): Promise<FunctionInfo[]> {
    return this.resolver.list(namespace);
  }

  watch(namespace: string, listener: (functions: FunctionInfo[]) => void): () => void {
    return this.subscribe(namespace, listener);
  }
}
