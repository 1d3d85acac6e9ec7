/**
 * A function on another server, reached through a server link: calls and streams are
 * forwarded hop by hop, with the hop budget decreasing at each server.
 * @module
 */
import { NoRouteError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { CallContext } from '../rpc/call-context.js';
import type { CallTarget, PullIterator } from '../rpc/call-target.js';
import type { OpenStream, RelaySink } from '../rpc/stream-relay.js';
import type { ServerLink } from './server-link.js';

/** A route through `link` to function `name`. */
export class RemoteTarget implements CallTarget {
  readonly remote = true;

  constructor(
    private readonly link: ServerLink,
    /** Namespace to call into on the peer. */
    private readonly namespace: string,
    readonly info: FunctionInfo,
    private readonly timeout: number,
  ) {}

  call(args: unknown[], context: CallContext | undefined, hops: number, timeout?: number): unknown {
    if (hops <= 0) throw new NoRouteError(`Hop limit reached calling "${this.info.name}"`);
    const signal = context?.signal;
    const { link } = this;
    link.inFlight++;
    const done = (): void => {
      link.inFlight--;
    };
    const reply = link.caller.call(this.namespace, this.info.name, args, {
      signal,
      // What is left of the caller's timeout when it sent one (the next hop learns it), so
      // no hop waits longer than the caller; else this link's own timeout.
      timeout: timeout ?? this.timeout,
      hops: hops - 1,
      // The value may come back still encoded, to be passed on as it is.
      encoded: true,
    });
    reply.then(done, done);
    return reply;
  }

  /** The stream counts in the link's `inFlight` (the load balancer's measure) until it ends. */
  stream(args: unknown[], context: CallContext | undefined, hops: number): PullIterator {
    if (hops <= 0) throw new NoRouteError(`Hop limit reached calling "${this.info.name}"`);
    const { link } = this;
    const inner = link.caller.stream(this.namespace, this.info.name, args, {
      signal: context?.signal,
      hops: hops - 1,
    });
    link.inFlight++;
    let open = true;
    const release = (): void => {
      if (!open) return;
      open = false;
      link.inFlight--;
    };
    return {
      next: () =>
        inner.next().then(
          (step) => {
            if (step.done === true) release();
            return step;
          },
          (error: unknown) => {
            release();
            throw error;
          },
        ),
      return: (value?: unknown) => {
        release();
        return inner.return(value);
      },
    };
  }

  /**
   * A stream forwarded through this server: credit passes through (end to end), and the
   * stream counts in the link's `inFlight` until it ends or is cancelled.
   */
  relay(args: unknown[], hops: number, credit: number, sink: RelaySink): OpenStream {
    if (hops <= 0) throw new NoRouteError(`Hop limit reached calling "${this.info.name}"`);
    const { link } = this;
    let open = true;
    const release = (): void => {
      if (!open) return;
      open = false;
      link.inFlight--;
    };
    const relay = link.caller.relay(this.namespace, this.info.name, args, credit, hops - 1, {
      items: (items) => sink.items(items),
      end: (value) => {
        release();
        sink.end(value);
      },
      error: (error) => {
        release();
        sink.error(error);
      },
    });
    link.inFlight++;
    return {
      addCredit: (n) => relay.addCredit(n),
      cancel: () => {
        release();
        relay.cancel();
      },
    };
  }
}
