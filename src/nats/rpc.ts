/**
 * RPC over NATS for one node: the calling side (rpc-calls.ts), the serving side
 * (rpc-serve.ts) and this process's inbox, which routes replies, stream items and stream
 * controls to them. Frames are in rpc-wire.ts. A call to a function no node subscribes to
 * any more gets NATS' no-responders status back at once and fails with `NoRouteError`.
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import { ConnectionClosedError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import { NatsCalls } from './rpc-calls.js';
import { NatsServe } from './rpc-serve.js';
import type { Subjects } from './subjects.js';

/** Calls, streams and the serving side of one node. */
export class NatsRpc {
  private readonly calls: NatsCalls;
  private readonly serving: NatsServe;

  constructor(
    nc: NatsConnection,
    codec: Codec,
    private readonly subjects: Subjects,
    host: BackplaneHost,
  ) {
    this.calls = new NatsCalls(nc, codec, subjects, host);
    this.serving = new NatsServe(nc, codec, subjects, host);
  }

  /** Remote calls and streams made. */
  get callsOut(): number {
    return this.calls.sent;
  }

  /** Calls and streams served for other nodes. */
  get callsIn(): number {
    return this.serving.received;
  }

  /** Handles a message to this process's inbox (`suffix` is what follows the inbox subject). */
  inbox(suffix: string, msg: Msg): void {
    if (suffix.startsWith('r.')) this.calls.reply(Number(suffix.slice(2)), msg);
    else if (suffix.startsWith('s.')) this.calls.streamMessage(Number(suffix.slice(2)), msg);
    else if (suffix === 'c') this.serving.control(msg);
  }

  /** A call cancellation from some node (`<prefix>.cancel`): stops the call if it runs here. */
  cancelled(msg: Msg): void {
    this.serving.cancelled(msg);
  }

  /** Offers local function `name` of `namespace` to the other nodes. */
  serve(namespace: string, name: string): void {
    this.serving.serve(namespace, name);
  }

  /** Stops offering a function. */
  unserve(namespace: string, name: string): void {
    this.serving.unserve(namespace, name);
  }

  /**
   * A call target for a function of other nodes; `providers` are the ids of the nodes that
   * offer it (a call fails at once when the only one leaves).
   */
  target(namespace: string, info: FunctionInfo, providers: readonly string[]): CallTarget {
    const onlyAt = providers.length === 1 ? providers[0] : undefined;
    return {
      info,
      remote: true,
      call: (args, context, _hops, timeout) =>
        this.calls.call(namespace, info.name, args, context?.signal, timeout, onlyAt),
      stream: (args, context) => this.calls.stream(namespace, info.name, args, context?.signal),
    };
  }

  /** A process is gone: fail what only it could answer, stop the streams it consumed. */
  processGone(instance: string, nodeId: string): void {
    const inbox = this.subjects.inboxOf(instance);
    this.calls.nodeGone(inbox, nodeId);
    this.serving.consumerGone(inbox);
  }

  /**
   * The connection to NATS dropped: what is in flight cannot complete (replies, items and
   * credit sent meanwhile are lost: the NATS client drops what is published while it is
   * disconnected), so it fails now instead of at its timeout. Replies this node owes are
   * held until the connection is back.
   */
  disconnected(server: string | null): void {
    const where = server === null ? 'NATS' : `NATS server ${server}`;
    const error = new ConnectionClosedError(
      `Lost the connection to ${where}; the call may or may not have run on the other node`,
    );
    this.calls.failAll(error);
    this.serving.disconnected(
      new ConnectionClosedError(`Node lost the connection to ${where} while streaming`),
    );
  }

  /** The connection to NATS is back: replies held meanwhile go out. */
  reconnected(): void {
    this.serving.reconnected();
  }

  /** Fails everything in flight. */
  stop(): void {
    this.calls.stop();
    this.serving.stop();
  }
}
