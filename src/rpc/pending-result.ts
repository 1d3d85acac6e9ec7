/**
 * What `proxy.fn(...)` returns: the caller's use decides, as the declared API type says.
 * Awaiting it (or `then`) makes a call; iterating it opens a stream; the function list plays
 * no part. A result used neither way by the end of the turn it was made in is sent as a
 * call, so `void proxy.log('x')` still runs; nobody can see that call fail, so its failure
 * is dropped unless the result is awaited later.
 * @module
 */

/** A result that is a call when awaited and a stream when iterated. */
export class PendingResult implements Promise<unknown>, AsyncIterableIterator<unknown> {
  readonly [Symbol.toStringTag] = 'PendingResult';
  private promise: Promise<unknown> | undefined;
  private iterator: AsyncIterableIterator<unknown> | undefined;

  constructor(
    private readonly startCall: () => Promise<unknown>,
    private readonly startStream: () => AsyncIterableIterator<unknown>,
  ) {
    queueMicrotask(() => {
      if (this.promise !== undefined || this.iterator !== undefined) return;
      this.call().catch(() => undefined);
    });
  }

  then<T = unknown, E = never>(
    onFulfilled?: ((value: unknown) => T | PromiseLike<T>) | null,
    onRejected?: ((reason: unknown) => E | PromiseLike<E>) | null,
  ): Promise<T | E> {
    return this.call().then(onFulfilled, onRejected);
  }

  catch<E = never>(
    onRejected?: ((reason: unknown) => E | PromiseLike<E>) | null,
  ): Promise<unknown> {
    return this.call().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.call().finally(onFinally);
  }

  next(): Promise<IteratorResult<unknown>> {
    return this.stream().next();
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    // Stopping a stream that never started sends nothing, and it stays stopped.
    this.iterator ??= finished();
    return this.iterator.return?.(value) ?? Promise.resolve({ done: true, value });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    // Asking for the iterator is the decision: it is a stream, even if read later.
    this.stream();
    return this;
  }

  private call(): Promise<unknown> {
    this.promise ??= this.startCall();
    return this.promise;
  }

  private stream(): AsyncIterableIterator<unknown> {
    this.iterator ??= this.startStream();
    return this.iterator;
  }
}

/** An iterator that is already done. */
function finished(): AsyncIterableIterator<unknown> {
  const iterator: AsyncIterableIterator<unknown> = {
    next: () => Promise.resolve({ done: true, value: undefined }),
    return: (value?: unknown) => Promise.resolve({ done: true, value }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
