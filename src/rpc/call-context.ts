/**
 * The cancellation of one call or stream as the function that serves it sees it: `this`
 * inside a shared function is its {@link RpcCallContext}.
 * @module
 */

/**
 * `this` of a shared function while it runs. Declare it to use it:
 * `async function slow(this: RpcCallContext, ms: number) { ... this.signal ... }`.
 */
export interface RpcCallContext {
  /**
   * Aborted when the call is called off: the caller aborted it or stopped waiting (its
   * timeout), its connection closed, or, for a generator, the stream ended or was cancelled.
   */
  readonly signal: AbortSignal;
}

/**
 * A call's cancellation. The AbortController is only made when the function (or a forwarded
 * call) asks for the signal, so calls that never look cost no controller.
 */
export class CallContext implements RpcCallContext {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  /** With `signal`, the context simply hands out that signal (a caller that has its own). */
  constructor(private readonly parent?: AbortSignal) {}

  get signal(): AbortSignal {
    if (this.parent !== undefined) return this.parent;
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Calls the call off (once; a context made from a caller's signal follows that signal). */
  abort(reason?: unknown): void {
    if (this.aborted || this.parent !== undefined) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
