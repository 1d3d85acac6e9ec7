/**
 * The cancellation of one call or stream as the function that serves it sees it: `this`
 * inside a shared function is its {@link RpcCallContext}.
 * @module
 */
import { TimeoutError } from '../errors.js';

/** Longest delay `setTimeout` holds. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * `this` of a shared function while it runs. Declare it to use it:
 * `async function slow(this: RpcCallContext, ms: number) { ... this.signal ... }`.
 */
export interface RpcCallContext {
  /**
   * Aborted when the call is called off: the caller aborted it or stopped waiting (its
   * timeout passed, here or at the caller), its connection closed, or, for a generator, the
   * stream ended or was cancelled.
   */
  readonly signal: AbortSignal;
}

/**
 * A call's cancellation and deadline. The AbortController (and the timer of the deadline) is
 * only made when the function (or a forwarded call) asks for the signal, so calls that never
 * look cost neither.
 */
export class CallContext implements RpcCallContext {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;
  /** `performance.now()` at which the caller stops waiting; 0 without a deadline. */
  private readonly deadline: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settled = false;
  private abortsAtDeadline = false;

  /**
   * With `signal`, the context simply hands out that signal (a caller that has its own).
   * With `timeout` (ms from now), the call has a deadline: {@link remaining} counts down to
   * it, and, for a function run here ({@link abortAtDeadline}), the signal aborts with
   * `TimeoutError` when it passes.
   */
  constructor(
    private readonly parent?: AbortSignal,
    timeout?: number,
  ) {
    this.deadline = timeout === undefined ? 0 : performance.now() + timeout;
  }

  get signal(): AbortSignal {
    if (this.parent !== undefined) return this.parent;
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else if (this.abortsAtDeadline) this.armDeadline();
    }
    return this.controller.signal;
  }

  /**
   * @internal The call runs here (a local function): its signal aborts with `TimeoutError`
   * when the deadline passes. A call forwarded to another server has its own timeout instead.
   */
  abortAtDeadline(): void {
    if (this.deadline === 0 || this.abortsAtDeadline) return;
    this.abortsAtDeadline = true;
    if (this.controller !== undefined && !this.aborted) this.armDeadline();
  }

  private armDeadline(): void {
    if (this.settled) return;
    const left = this.deadline - performance.now();
    if (left <= 0) {
      this.timeUp();
      return;
    }
    // A timer holds at most MAX_TIMER ms (a longer one fires at once): a deadline farther off
    // (a call over NATS carries whatever its caller waits) is re-armed on the way.
    this.timer =
      left > MAX_TIMER
        ? setTimeout(() => this.armDeadline(), MAX_TIMER)
        : setTimeout(() => this.timeUp(), left);
    // A call left running must not keep the process alive for its deadline.
    this.timer.unref?.();
  }

  /** Ms left before the caller's deadline (at least 1), or undefined without one. */
  remaining(): number | undefined {
    if (this.deadline === 0) return undefined;
    return Math.max(1, Math.ceil(this.deadline - performance.now()));
  }

  /** Calls the call off (once; a context made from a caller's signal follows that signal). */
  abort(reason?: unknown): void {
    if (this.aborted || this.parent !== undefined) return;
    this.aborted = true;
    this.reason = reason;
    this.settle();
    this.controller?.abort(reason);
  }

  /** @internal The call finished (or was called off): its deadline no longer matters. */
  settle(): void {
    this.settled = true;
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private timeUp(): void {
    this.abort(new TimeoutError('The caller stopped waiting: its timeout passed'));
  }
}
