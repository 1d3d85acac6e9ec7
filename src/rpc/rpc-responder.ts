/**
 * The answering side of RPC on a server: runs calls and streams that arrive on any
 * connection, lists namespaces and pushes changes to connections that watch them. Calls on one
 * connection overlap freely (nothing waits for the previous call), so a function may call
 * back over the link its own call came in on.
 * @module
 */
import {
  AuthError,
  ConnectionClosedError,
  ErrorCode,
  LimitError,
  ProtocolError,
} from '../errors.js';
import {
  FrameType,
  type Frame,
  type FunctionInfo,
  type RpcFunctionsFrame,
} from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import { CallContext } from './call-context.js';
import {
  DEFAULT_HOPS,
  resolveCallable,
  type CallTarget,
  type FunctionResolver,
} from './call-target.js';
import { replyValue } from './encoded-frames.js';
import { sendStreamError, serveStream, type ServedStream } from './served-stream.js';
import type { OpenStream } from './stream-relay.js';
import { isThenable } from '../util/thenable.js';

export type { FunctionResolver };

/**
 * Told when each call or stream of a known function finishes (the server sets one for
 * metrics). Without an observer, calls are not timed at all.
 */
export interface RpcObserver {
  callFinished(namespace: string, name: string, ms: number, ok: boolean): void;
}

/**
 * What a connection has running, shared with its plain requests: calls still running and open
 * streams count here, and new ones are refused with `ERR_LIMIT` once it reaches the
 * responder's `maxInFlight`.
 */
export interface InFlightBudget {
  inFlight: number;
}

/** Most namespaces one connection may watch (RPC_LIST); more are refused with `ERR_LIMIT`. */
export const MAX_WATCHED_NAMESPACES = 256;

interface PeerState {
  /** Open streams by id: generators run here, or streams relayed to another server. */
  readonly producers: Map<number, OpenStream>;
  /** Calls still running, by request id. */
  readonly calls: Map<number, CallContext>;
  readonly watching: Set<string>;
}

/** Serves RPC frames for one server. */
export class RpcResponder {
  private readonly peers = new Map<Connection, PeerState>();
  private readonly watchers = new Map<string, Set<Connection>>();
  /** Calls and streams served, for stats. */
  callsServed = 0;
  callErrors = 0;
  /** Per-call figures (metrics, dashboard); undefined keeps the call path free of timing. */
  observer: RpcObserver | undefined;

  constructor(
    private readonly resolver: FunctionResolver,
    private readonly serverId: string,
    /** Most calls and streams (with the plain requests) one budgeted connection has running. */
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {}

  /** True for the frame types this responder handles. */
  static accepts(type: number): boolean {
    return (
      type === FrameType.RPC_CALL ||
      type === FrameType.RPC_CANCEL ||
      type === FrameType.RPC_STREAM ||
      type === FrameType.RPC_CREDIT ||
      type === FrameType.RPC_STREAM_CANCEL ||
      type === FrameType.RPC_LIST
    );
  }

  /**
   * Handles one RPC frame from `connection`; `authorized` is false without a valid secret
   * proof. With a `budget`, calls and streams count in it and are refused past `maxInFlight`
   * (server links and clone links have none: they carry the calls of many clients, each
   * counted where it entered).
   */
  handle(connection: Connection, authorized: boolean, frame: Frame, budget?: InFlightBudget): void {
    if (!authorized) {
      const id = frame[0] === FrameType.RPC_CALL || frame[0] === FrameType.RPC_LIST ? frame[1] : 0;
      const error = new AuthError('RPC on this server needs the server secret');
      if (frame[0] === FrameType.RPC_STREAM) this.sendStreamError(connection, frame[1], error);
      else connection.replyError(id, error);
      return;
    }
    switch (frame[0]) {
      case FrameType.RPC_CALL:
        this.call(
          connection,
          budget,
          frame[1],
          frame[2],
          frame[3],
          frame[4],
          frame[5] ?? DEFAULT_HOPS,
          frame[6],
        );
        return;
      case FrameType.RPC_STREAM:
        this.openStream(
          connection,
          budget,
          frame[1],
          frame[2],
          frame[3],
          frame[4],
          frame[5],
          frame[6] ?? DEFAULT_HOPS,
        );
        return;
      case FrameType.RPC_CREDIT:
        this.peers.get(connection)?.producers.get(frame[1])?.addCredit(frame[2]);
        return;
      case FrameType.RPC_STREAM_CANCEL:
        this.peers.get(connection)?.producers.get(frame[1])?.cancel();
        return;
      case FrameType.RPC_CANCEL:
        this.peers.get(connection)?.calls.get(frame[1])?.abort();
        return;
      case FrameType.RPC_LIST:
        this.list(connection, frame[1], frame[2]);
        return;
      default:
        connection.replyError(
          0,
          new ProtocolError(ErrorCode.PROTOCOL, `Frame ${frame[0]} is not an RPC request`),
        );
    }
  }

  /** Pushes the new function list of `namespace` to every connection watching it. */
  notify(namespace: string): void {
    const set = this.watchers.get(namespace);
    if (set === undefined || set.size === 0) return;
    const frame: RpcFunctionsFrame = [
      FrameType.RPC_FUNCTIONS,
      namespace,
      this.resolver.list(namespace),
    ];
    for (const connection of set) {
      try {
        connection.send(frame);
      } catch {
        // Closed: cleaned up by connectionClosed.
      }
    }
  }

  /** Stops every stream and forgets every call of a closed connection. */
  connectionClosed(connection: Connection): void {
    const state = this.peers.get(connection);
    if (state === undefined) return;
    this.peers.delete(connection);
    for (const producer of [...state.producers.values()]) producer.cancel();
    for (const controller of state.calls.values()) controller.abort(new ConnectionClosedError());
    for (const namespace of state.watching) this.unwatch(namespace, connection);
  }

  /**
   * RPC_LIST: answers the namespace's functions and watches it for changes, refusing with
   * `ERR_LIMIT` a connection that already watches {@link MAX_WATCHED_NAMESPACES} others.
   */
  private list(connection: Connection, id: number, namespace: string): void {
    const { watching } = this.state(connection);
    if (!watching.has(namespace)) {
      if (watching.size >= MAX_WATCHED_NAMESPACES) {
        connection.replyError(
          id,
          new LimitError(`A connection may watch at most ${MAX_WATCHED_NAMESPACES} namespaces`),
        );
        return;
      }
      watching.add(namespace);
      let set = this.watchers.get(namespace);
      if (set === undefined) {
        set = new Set();
        this.watchers.set(namespace, set);
      }
      set.add(connection);
    }
    connection.reply(id, { namespace, functions: this.resolver.list(namespace) });
  }

  private unwatch(namespace: string, connection: Connection): void {
    const set = this.watchers.get(namespace);
    if (set === undefined) return;
    set.delete(connection);
    // An empty entry would outlive every connection that ever listed the namespace.
    if (set.size === 0) this.watchers.delete(namespace);
  }

  private state(connection: Connection): PeerState {
    let state = this.peers.get(connection);
    if (state === undefined) {
      state = { producers: new Map(), calls: new Map(), watching: new Set() };
      this.peers.set(connection, state);
    }
    return state;
  }

  /**
   * The target of a call or stream. Arity is checked where a call enters the cluster: a call
   * from a server or clone link (no `budget`) was checked by the server that first took it.
   */
  private target(
    namespace: string,
    name: string,
    kind: FunctionInfo['kind'],
    args: unknown[],
    budget: InFlightBudget | undefined,
  ): CallTarget {
    return resolveCallable(
      this.resolver,
      namespace,
      name,
      kind,
      budget === undefined ? undefined : args,
    );
  }

  /** True (after refusing with `ERR_LIMIT` through `refuse`) when `budget` is spent. */
  private overBudget(
    budget: InFlightBudget | undefined,
    refuse: (error: LimitError) => void,
  ): boolean {
    if (budget === undefined || budget.inFlight < this.maxInFlight) return false;
    this.callErrors++;
    refuse(
      new LimitError(
        `More than ${this.maxInFlight} requests, calls and streams in flight on this connection`,
      ),
    );
    return true;
  }

  private call(
    connection: Connection,
    budget: InFlightBudget | undefined,
    id: number,
    namespace: string,
    name: string,
    args: unknown[],
    hops: number,
    timeout?: number,
  ): void {
    this.callsServed++;
    if (this.overBudget(budget, (error) => connection.replyError(id, error))) return;
    const observer = this.observer;
    let started = 0;
    let result: unknown;
    // The caller's timeout is a deadline here: the function's signal aborts when it passes,
    // and a forwarded call takes what is left of it to the next hop.
    const context = new CallContext(undefined, timeout);
    try {
      const target = this.target(namespace, name, 'function', args, budget);
      if (!target.remote) context.abortAtDeadline();
      if (observer !== undefined) started = performance.now();
      result = target.call(args, context, hops, context.remaining());
    } catch (error) {
      context.settle();
      this.callErrors++;
      // started is set once the function was found: only known functions are observed.
      if (observer !== undefined && started !== 0)
        observer.callFinished(namespace, name, performance.now() - started, false);
      connection.replyError(id, error);
      return;
    }
    if (!isThenable(result)) {
      context.settle();
      observer?.callFinished(namespace, name, performance.now() - started, true);
      replyValue(connection, id, result);
      return;
    }
    if (budget !== undefined) budget.inFlight++;
    // Still running: RPC_CANCEL (or the connection closing) calls it off through `context`.
    const { calls } = this.state(connection);
    calls.set(id, context);
    const settled = (): void => {
      context.settle();
      if (budget !== undefined) budget.inFlight--;
      if (calls.get(id) === context) calls.delete(id);
    };
    Promise.resolve(result).then(
      (value) => {
        settled();
        observer?.callFinished(namespace, name, performance.now() - started, true);
        // A forwarded call's value comes still encoded: it passes on as it is where it can.
        replyValue(connection, id, value);
      },
      (error: unknown) => {
        settled();
        this.callErrors++;
        observer?.callFinished(namespace, name, performance.now() - started, false);
        connection.replyError(id, error);
      },
    );
  }

  private openStream(
    connection: Connection,
    budget: InFlightBudget | undefined,
    id: number,
    namespace: string,
    name: string,
    args: unknown[],
    credit: number,
    hops: number,
  ): void {
    this.callsServed++;
    if (this.overBudget(budget, (error) => this.sendStreamError(connection, id, error))) return;
    const state = this.state(connection);
    const open = state.producers.get(id);
    if (open !== undefined) {
      // The consumer can no longer tell the two apart: both end, with one error.
      open.cancel();
      this.sendStreamError(
        connection,
        id,
        new ProtocolError(ErrorCode.BAD_FRAME, `Stream ${id} is already open`),
      );
      return;
    }
    const observer = this.observer;
    let started = 0;
    let failed = false;
    let served: ServedStream;
    try {
      const target = this.target(namespace, name, 'generator', args, budget);
      if (observer !== undefined) started = performance.now();
      served = serveStream(connection, this.serverId, id, target, args, credit, hops, {
        failed: () => {
          this.callErrors++;
          failed = true;
        },
        finished: () => {
          if (budget !== undefined) budget.inFlight--;
          observer?.callFinished(namespace, name, performance.now() - started, !failed);
          if (state.producers.get(id) === served.stream) state.producers.delete(id);
        },
      });
    } catch (error) {
      this.callErrors++;
      if (observer !== undefined && started !== 0)
        observer.callFinished(namespace, name, performance.now() - started, false);
      this.sendStreamError(connection, id, error);
      return;
    }
    state.producers.set(id, served.stream);
    // Counted before it starts: a short generator can finish within start().
    if (budget !== undefined) budget.inFlight++;
    served.start();
  }

  private sendStreamError(connection: Connection, id: number, error: unknown): void {
    sendStreamError(connection, id, error, this.serverId);
  }
}
