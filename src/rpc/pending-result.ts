/**
 * What a proxy returns for a name its function list does not know (yet): the caller's use
 * decides. Awaiting it makes a call; iterating it opens a stream. Nothing is sent until then,
 * so a name meant as a stream never turns into a call by accident.
 * @module
 */

/** A result that is a call when awaited and a stream when iterated. */
export class PendingResult implements PromiseLike<unknown>, AsyncIterableIterator<unknown> {
  private promise: Promise<unknown> | undefined;
  private iterator: AsyncIterableIterator<unknown> | undefined;

  constructor(
    private readonly startCall: () => Promise<unknown>,
    private readonly startStream: () => AsyncIterableIterator<unknown>,
  ) {}

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
    // Stopping a stream that never started sends nothing.
    if (this.iterator === undefined) return Promise.resolve({ done: true, value });
    return this.iterator.return?.(value) ?? Promise.resolve({ done: true, value });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
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
