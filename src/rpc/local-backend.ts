/**
 * `server.rpc(namespace)`: calls made from inside the server, without a socket. Resolution is
 * the same as for remote callers (local functions first, then the cluster).
 * @module
 */
import { AbortError, NoRouteError, TimeoutError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { CallContext } from './call-context.js';
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
    const { signal, timeout } = options;
    if (signal?.aborted === true) throw new AbortError();
    if (timeout === undefined) return target.call(args, new CallContext(signal), DEFAULT_HOPS);
    // `with({timeout})`: give up after `timeout` ms and cancel the call where it can be
    // cancelled (a call forwarded through server links is cancelled hop by hop).
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        // The timeout goes along, so a forwarded call waits as long as this caller, not
        // the link's default.
        Promise.resolve(
          target.call(args, new CallContext(controller.signal), DEFAULT_HOPS, timeout),
        ),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            reject(new TimeoutError(`No reply within ${timeout} ms`));
            controller.abort();
          }, timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
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
    const context = new CallContext(options.signal);
    return toAsyncIterator(target.stream(args, context, DEFAULT_HOPS), options.signal);
  }

  async list(namespace: string): Promise<FunctionInfo[]> {
    return this.resolver.list(namespace);
  }

  watch(namespace: string, listener: (functions: FunctionInfo[]) => void): () => void {
    return this.subscribe(namespace, listener);
  }
}
