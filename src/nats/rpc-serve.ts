/**
 * The serving side of RPC over NATS: one queue subscription per local function, all in one
 * queue group, so NATS hands each call to exactly one of the nodes that have the function
 * (load-balanced, and a node that disconnects stops receiving at once). Calls run against the
 * host's local functions; streams are produced with the consumer's credit (frames in
 * rpc-wire.ts).
 * @module
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import { ConnectionClosedError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { MAX_CALL_TIMEOUT } from '../protocol/read-rpc-frames.js';
import { toWireError } from '../protocol/wire-error.js';
import {
  callableTarget,
  DEFAULT_HOPS,
  type CallTarget,
  type PullIterator,
} from '../rpc/call-target.js';
import { CallContext } from '../rpc/call-context.js';
import { StreamProducer } from '../rpc/stream-producer.js';
import { isThenable } from '../util/thenable.js';
import { Control, decodeArray, Kind, Reply } from './rpc-wire.js';
import type { Subjects } from './subjects.js';

/** Most replies held while the connection to NATS is down. */
const MAX_HELD = 10_000;

/** The functions this node offers to the other nodes, and the streams it produces for them. */
export class NatsServe {
  private readonly served = new Map<string, Subscription>();
  /** Streams produced here, by the consumer's stream subject. */
  private readonly producers = new Map<string, StreamProducer>();
  /**
   * Replies held while the connection to NATS is down: the NATS client drops what is
   * published then, and a caller would wait for its timeout (a stream consumer for ever).
   */
  private held: { subject: string; bytes: Uint8Array }[] | undefined;
  /**
   * The calls running here (async functions not settled yet), by reply subject, with what
   * calls them off: the caller's cancel, its deadline, its process leaving, this node stopping.
   */
  private readonly running = new Map<string, CallContext>();
  /** Calls and stream openings received. */
  received = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly host: BackplaneHost,
  ) {}

  /** Offers local function `name` of `namespace` to the other nodes. */
  serve(namespace: string, name: string): void {
    const key = `${namespace}\u0000${name}`;
    if (this.served.has(key)) return;
    const subscription = this.nc.subscribe(this.subjects.rpc(namespace, name), {
      queue: this.subjects.rpcQueue,
      callback: (error, msg) => {
        // A denied subject: reported through the connection's status.
        if (error === null) this.request(msg);
      },
    });
    this.served.set(key, subscription);
  }

  /** Stops offering a function. */
  unserve(namespace: string, name: string): void {
    const key = `${namespace}\u0000${name}`;
    this.served.get(key)?.unsubscribe();
    this.served.delete(key);
  }

  /** Functions offered right now. */
  get size(): number {
    return this.served.size;
  }

  /** A credit or cancel from a consumer, at `<inbox>.c`. */
  control(msg: Msg): void {
    const frame = decodeArray(this.codec, msg);
    if (frame === undefined || typeof frame[1] !== 'string') return;
    const producer = this.producers.get(frame[1]);
    if (producer === undefined) return;
    if (frame[0] === Control.CREDIT && typeof frame[2] === 'number' && frame[2] > 0)
      producer.addCredit(frame[2]);
    else if (frame[0] === Control.CANCEL) producer.cancel();
  }

  /** A caller cancelled a call, at `<prefix>.cancel`: abort its signal if it runs here. */
  cancelled(msg: Msg): void {
    const frame = decodeArray(this.codec, msg);
    if (typeof frame?.[0] === 'string') this.running.get(frame[0])?.abort();
  }

  /**
   * The process with inbox `consumerInbox` is gone: stop the streams produced for it, and
   * call off the calls it made (nobody waits for them any more).
   */
  consumerGone(consumerInbox: string): void {
    const prefix = `${consumerInbox}.`;
    for (const [reply, producer] of [...this.producers])
      if (reply.startsWith(prefix)) producer.cancel();
    const gone = new ConnectionClosedError('The calling node left the cluster');
    for (const [reply, context] of this.running) if (reply.startsWith(prefix)) context.abort(gone);
  }

  /**
   * The connection to NATS dropped: replies are held until it is back, and every stream
   * produced here stops with `error` (held for its consumer too): credit sent meanwhile is
   * lost, so the streams could never resume.
   */
  disconnected(error: unknown): void {
    this.held ??= [];
    for (const [reply, producer] of [...this.producers]) {
      this.producers.delete(reply);
      producer.cancel();
      this.respond(reply, [
        Reply.STREAM_ERROR,
        this.subjects.inbox,
        toWireError(error, this.host.id),
      ]);
    }
  }

  /** The connection to NATS is back: sends the replies held meanwhile. */
  reconnected(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { subject, bytes } of held) this.publish(subject, bytes);
  }

  /**
   * Stops serving: unsubscribes, stops every stream, and answers the calls still running
   * with `ConnectionClosedError` (their callers would otherwise wait for their timeout).
   */
  stop(): void {
    this.held = undefined;
    const stopped = toWireError(
      new ConnectionClosedError(`Node ${this.host.id} stopped during the call`),
      this.host.id,
    );
    const running = [...this.running];
    this.running.clear();
    for (const [reply, context] of running) {
      context.abort(new ConnectionClosedError(`Node ${this.host.id} stopped`));
      this.respond(reply, [Reply.ERROR, stopped]);
    }
    for (const producer of [...this.producers.values()]) producer.cancel();
    for (const subscription of this.served.values()) subscription.unsubscribe();
    this.served.clear();
  }

  /** A call or stream opening from another node. */
  private request(msg: Msg): void {
    const reply = msg.reply;
    if (reply === undefined) return;
    const frame = decodeArray(this.codec, msg);
    if (
      frame === undefined ||
      typeof frame[1] !== 'string' ||
      typeof frame[2] !== 'string' ||
      !Array.isArray(frame[3])
    ) {
      return;
    }
    this.received++;
    const [kind, namespace, name, args] = frame as [number, string, string, unknown[]];
    const extra = typeof frame[4] === 'number' && frame[4] > 0 ? frame[4] : undefined;
    if (kind === Kind.STREAM) {
      this.serveStream(reply, namespace, name, args, extra ?? 0);
      return;
    }
    // The caller's wait is a deadline here: the function's signal aborts when it passes. At
    // most a day, as RPC_CALL's timeout.
    const wait = extra === undefined ? undefined : Math.min(extra, MAX_CALL_TIMEOUT);
    const context = new CallContext(undefined, wait);
    context.abortAtDeadline();
    let result: unknown;
    try {
      const target = this.localTarget(namespace, name, 'function', args);
      result = target.call(args, context, DEFAULT_HOPS);
    } catch (error) {
      context.settle();
      this.respond(reply, [Reply.ERROR, toWireError(error, this.host.id)]);
      return;
    }
    if (!isThenable(result)) {
      context.settle();
      this.respond(reply, [Reply.OK, result === undefined ? null : result]);
      return;
    }
    // Running: answered when it settles, or with an error if this node stops first; a cancel
    // from the caller aborts its signal meanwhile.
    this.running.set(reply, context);
    const answer = (frame: unknown[]): void => {
      context.settle();
      if (this.running.get(reply) !== context) return;
      this.running.delete(reply);
      this.respond(reply, frame);
    };
    Promise.resolve(result).then(
      (value) => answer([Reply.OK, value === undefined ? null : value]),
      (error: unknown) => answer([Reply.ERROR, toWireError(error, this.host.id)]),
    );
  }

  private localTarget(
    namespace: string,
    name: string,
    kind: FunctionInfo['kind'],
    args: unknown[],
  ): CallTarget {
    const target = this.host.localTarget(namespace, name);
    return callableTarget(target, namespace, name, kind, args, ` on ${this.host.id}`);
  }

  /**
   * Publishes a reply; a value the codec cannot carry, or too large for NATS, becomes an error
   * reply. Returns false when the frame itself did not go out.
   */
  private respond(subject: string, frame: unknown[]): boolean {
    let bytes: Uint8Array;
    let sent = true;
    try {
      bytes = this.codec.encode(frame) as Uint8Array;
    } catch (error) {
      sent = false;
      bytes = this.codec.encode(this.errorFrame(frame, error)) as Uint8Array;
    }
    return this.publish(subject, bytes, frame) && sent;
  }

  /**
   * Publishes, or holds while disconnected (at most {@link MAX_HELD}: a reply past that is
   * dropped and its caller times out). A payload too large for NATS becomes an error reply
   * when `frame` says what kind. Returns false when the payload did not go out.
   */
  private publish(subject: string, bytes: Uint8Array, frame?: unknown[]): boolean {
    if (this.held !== undefined) {
      if (this.held.length >= MAX_HELD) return false;
      this.held.push({ subject, bytes });
      return true;
    }
    try {
      this.nc.publish(subject, bytes);
      return true;
    } catch (error) {
      // Too large for NATS: the caller still gets an answer.
      try {
        if (frame !== undefined)
          this.nc.publish(subject, this.codec.encode(this.errorFrame(frame, error)) as Uint8Array);
      } catch {
        this.host.reportError(error);
      }
      return false;
    }
  }

  /** The error reply that replaces `frame` when it cannot be sent. */
  private errorFrame(frame: unknown[], error: unknown): unknown[] {
    const wire = toWireError(error, this.host.id);
    return frame[0] === Reply.OK || frame[0] === Reply.ERROR
      ? [Reply.ERROR, wire]
      : [Reply.STREAM_ERROR, this.subjects.inbox, wire];
  }

  private serveStream(
    reply: string,
    namespace: string,
    name: string,
    args: unknown[],
    credit: number,
  ): void {
    const me = this.subjects.inbox;
    if (this.producers.has(reply)) return;
    // Aborted when the stream ends or is cancelled, as on the mesh.
    const context = new CallContext();
    let iterator: PullIterator;
    try {
      iterator = this.localTarget(namespace, name, 'generator', args).stream(
        args,
        context,
        DEFAULT_HOPS,
      );
    } catch (error) {
      this.respond(reply, [Reply.STREAM_ERROR, me, toWireError(error, this.host.id)]);
      return;
    }
    const producer = new StreamProducer(
      0,
      iterator,
      credit,
      {
        items: (_id, items) => {
          if (!this.respond(reply, [Reply.ITEMS, me, items])) producer.cancel();
        },
        end: (_id, value) =>
          this.respond(reply, [Reply.END, me, value === undefined ? null : value]),
        error: (_id, error) =>
          this.respond(reply, [Reply.STREAM_ERROR, me, toWireError(error, this.host.id)]),
      },
      () => {
        if (this.producers.get(reply) === producer) this.producers.delete(reply);
        context.abort();
      },
    );
    this.producers.set(reply, producer);
    producer.start();
  }
}
