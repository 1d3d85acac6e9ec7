/**
 * Telling a promise-like result from a plain one, so synchronous handlers and generators
 * need no microtask.
 * @module
 */

/** True for anything with a `then` method (promises and other thenables). */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
