/**
 * `server.rpc(namespace)`: calls made from inside the server, without a socket. Resolution and
 * checks are the responder's own ({@link resolveCallable}): local functions first, then the
 * cluster; no such function, the wrong kind or the wrong number of arguments fail the same way.
 * @module
 */
import { AbortError, TimeoutError } from '../errors.js';
import { decodedValue } from '../protocol/encoded-value.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { CallContext } from './call-context.js';
import {
  DEFAULT_HOPS,
  resolveCallable,
  type CallTarget,
  type FunctionResolver,
  type PullIterator,
} from './call-target.js';
import type { RpcBackend } from './proxy.js';
import type { CallOptions } from './rpc-caller.js';

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
    const target = resolveCallable(this.resolver, namespace, name, 'function', args);
    const { signal, timeout } = options;
    if (signal?.aborted === true) throw new AbortError();
    // A call forwarded over a link may answer with its value still encoded.
    if (timeout === undefined)
      return decodedValue(await target.call(args, new CallContext(signal), DEFAULT_HOPS));
    // `with({timeout})`: give up after `timeout` ms and cancel the call where it can be
    // cancelled (a call forwarded through server links is cancelled hop by hop).
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const context = new CallContext(controller.signal, timeout);
    try {
      return decodedValue(
        await Promise.race([
          // The timeout goes along, so a forwarded call waits as long as this caller, not
          // the link's default.
          Promise.resolve(target.call(args, context, DEFAULT_HOPS, context.remaining())),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              reject(new TimeoutError(`No reply within ${timeout} ms`));
              controller.abort(new TimeoutError(`No reply within ${timeout} ms`));
            }, timeout);
          }),
        ]),
      );
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
    let target: CallTarget;
    try {
      target = resolveCallable(this.resolver, namespace, name, 'generator', args);
    } catch (error) {
      // Failures come out of the iteration, as they do for a stream over a connection.
      return toAsyncIterator({ next: () => Promise.reject(error) }, undefined);
    }
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
