/**
 * How the server runs a client request: the bound on requests in flight per connection,
 * middlewares (sync or async) before the work, the reply or error once the work settles,
 * and errors of requests that want no reply reported through the server's `error` event.
 * @module
 */
import { LimitError } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import type { Router } from '../routing/router.js';
import { ServerMessageContext } from './context.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** Runs the requests of one server's client connections. */
export class RequestRunner<S extends ServerCore> {
  constructor(
    private readonly server: S,
    private readonly router: Router<ServerMessageContext<S>>,
  ) {}

  /**
   * True (and request `id` refused with ERR_LIMIT) when `ws` has `maxInFlight` requests
   * running, plus `allowance` more.
   */
  full(ws: ServerConnection, id: number, allowance = 0): boolean {
    const { maxInFlight } = this.server.options;
    if (ws.inFlight < maxInFlight + allowance) return false;
    if (id !== 0) {
      ws.connection.replyError(
        id,
        new LimitError(
          `More than ${maxInFlight + allowance} requests in flight on this connection`,
        ),
      );
    }
    return true;
  }

  /**
   * Runs middlewares for a subscription, publish or presence query, then `apply` (told
   * whether one stopped), and replies with what `apply` returns once it settles.
   */
  runMiddlewaresOnly(
    ws: ServerConnection,
    mes: WsMeshMessage,
    raw: WirePayload,
    id: number,
    apply: (stopped: boolean, value: unknown) => unknown,
  ): void {
    // Without middlewares (the usual case) no context is made: nothing would read it.
    if (!this.router.hasMiddlewares) {
      this.settle(ws, id, apply, false, undefined);
      return;
    }
    const context = new ServerMessageContext(mes, raw, ws, this.server);
    this.runMiddlewares(context, id, (result) => {
      this.settle(ws, id, apply, context.stopped, result);
    });
  }

  /** Runs `apply` once the middlewares ran, and replies with what it returns once settled. */
  private settle(
    ws: ServerConnection,
    id: number,
    apply: (stopped: boolean, value: unknown) => unknown,
    stopped: boolean,
    result: unknown,
  ): void {
    let value: unknown;
    try {
      value = apply(stopped, result);
    } catch (error) {
      this.failed(ws, id, error);
      return;
    }
    if (!(value instanceof Promise)) {
      if (id !== 0) ws.connection.reply(id, value);
      return;
    }
    // Cluster-wide waits (subscribe confirmation, acknowledged publish, presence query).
    ws.inFlight++;
    value.then(
      (settled: unknown) => {
        ws.inFlight--;
        if (id !== 0 && ws.open) ws.connection.reply(id, settled);
      },
      (error: unknown) => {
        ws.inFlight--;
        if (ws.open) this.failed(ws, id, error);
      },
    );
  }

  /** Request `id` failed: an ERROR reply, or the `error` event when no reply is wanted. */
  failed(ws: ServerConnection, id: number, error: unknown): void {
    if (id !== 0) ws.connection.replyError(id, error);
    else this.server.reportError(error, ws);
  }

  /** Runs the middlewares and hands the (possibly async) result to `done`; errors become replies. */
  private runMiddlewares(
    context: ServerMessageContext<S>,
    id: number,
    done: (result: unknown) => void,
  ): void {
    let result: unknown;
    try {
      result = this.router.dispatchMiddlewares(context);
    } catch (error) {
      this.failed(context.ws, id, error);
      return;
    }
    if (result instanceof Promise) {
      const { ws } = context;
      ws.inFlight++;
      result.then(
        (value) => {
          ws.inFlight--;
          done(value);
        },
        (error: unknown) => {
          ws.inFlight--;
          this.failed(ws, id, error);
        },
      );
      return;
    }
    done(result);
  }
}
