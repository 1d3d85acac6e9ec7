/**
 * RPC over NATS. Every node holds one queue subscription per function it offers, all in one
 * queue group, so NATS hands each call to one of the nodes that have the function
 * (load-balanced, and a node that disconnects stops receiving at once). Replies, stream items
 * and stream controls go to per-process inbox subjects:
 * - call `[0, namespace, name, args]` → reply to `<caller inbox>.r.<id>`: `[0, value]` or `[1, error]`;
 * - stream `[1, namespace, name, args, credit]` → items to `<caller inbox>.s.<id>`:
 *   `[2, producer, items]`, `[3, producer, value]` (end) or `[4, producer, error]`;
 *   the consumer sends `[0, replySubject, n]` (credit) or `[1, replySubject]` (cancel) to
 *   `<producer inbox>.c`.
 * A call to a function no node subscribes to any more gets NATS' no-responders status back at
 * once and fails with `NoRouteError`.
 * @module
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import {
  AbortError,
  ConnectionClosedError,
  ErrorCode,
  NoRouteError,
  ProtocolError,
  StoppedError,
  TimeoutError,
  WsMeshError,
} from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { FunctionInfo, WireError } from '../protocol/frames.js';
import { fromWireError, toWireError } from '../protocol/wire-error.js';
import {
  callableTarget,
  DEFAULT_HOPS,
  type CallTarget,
  type PullIterator,
} from '../rpc/call-target.js';
import { StreamConsumer, STREAM_WINDOW } from '../rpc/stream-consumer.js';
import { StreamProducer } from '../rpc/stream-producer.js';
import { isThenable } from '../util/thenable.js';
import type { Subjects } from './subjects.js';

const Kind = { CALL: 0, STREAM: 1 } as const;
const Reply = { OK: 0, ERROR: 1, ITEMS: 2, END: 3, STREAM_ERROR: 4 } as const;
const Control = { CREDIT: 0, CANCEL: 1 } as const;

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface OpenStream {
  consumer: StreamConsumer;
  /** Inbox of the producing process, once its first message came. */
  producer: string | undefined;
  credit: number;
  cancelled: boolean;
}

function asWireError(value: unknown): WireError {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WireError).code === 'string' &&
    typeof (value as WireError).message === 'string'
  ) {
    return value as WireError;
  }
  return { code: ErrorCode.PROTOCOL, message: 'Malformed error from another node' };
}

/** Calls, streams and the serving side of one node. */
export class NatsRpc {
  private readonly served = new Map<string, Subscription>();
  private readonly calls = new Map<number, PendingCall>();
  private readonly streams = new Map<number, OpenStream>();
  private readonly producers = new Map<string, StreamProducer>();
  private nextId = 1;
  private stopped = false;
  callsOut = 0;
  callsIn = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly host: BackplaneHost,
  ) {}

  /** Handles a message to this process's inbox (`suffix` is what follows the inbox subject). */
  inbox(suffix: string, msg: Msg): void {
    if (suffix.startsWith('r.')) this.callReply(Number(suffix.slice(2)), msg);
    else if (suffix.startsWith('s.')) this.streamMessage(Number(suffix.slice(2)), msg);
    else if (suffix === 'c') this.control(msg);
  }

  /** Offers local function `name` of `namespace` to the other nodes. */
  serve(namespace: string, name: string): void {
    const key = `${namespace}\u0000${name}`;
    if (this.served.has(key)) return;
    const subscription = this.nc.subscribe(this.subjects.rpc(namespace, name), {
      queue: this.subjects.rpcQueue,
      callback: (_error, msg) => this.request(msg),
    });
    this.served.set(key, subscription);
  }

  /** Stops offering a function. */
  unserve(namespace: string, name: string): void {
    const key = `${namespace}\u0000${name}`;
    this.served.get(key)?.unsubscribe();
    this.served.delete(key);
  }

  /** A call target for a function of another node. */
  target(namespace: string, info: FunctionInfo): CallTarget {
    return {
      info,
      remote: true,
      call: (args, context, _hops, timeout) =>
        this.call(namespace, info.name, args, context?.signal, timeout),
      stream: (args, context) => this.stream(namespace, info.name, args, context?.signal),
    };
  }

  /** A process is gone: fail the streams it produced, stop those it consumed. */
  processGone(instance: string, nodeId: string): void {
    const inbox = this.subjects.inboxOf(instance);
    for (const [id, stream] of this.streams) {
      if (stream.producer === inbox) {
        this.streams.delete(id);
        stream.consumer.fail(new ConnectionClosedError(`Node ${nodeId} left the cluster`));
      }
    }
    for (const [reply, producer] of this.producers)
      if (reply.startsWith(`${inbox}.`)) producer.cancel();
  }

  /** Fails everything in flight. */
  stop(): void {
    this.stopped = true;
    const error = new StoppedError('The backplane stopped');
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
    for (const stream of this.streams.values()) stream.consumer.fail(error);
    this.streams.clear();
    for (const producer of [...this.producers.values()]) producer.cancel();
    for (const subscription of this.served.values()) subscription.unsubscribe();
    this.served.clear();
  }

  private call(
    namespace: string,
    name: string,
    args: unknown[],
    signal: AbortSignal | undefined,
    timeout: number | undefined,
  ): Promise<unknown> {
    if (this.stopped) return Promise.reject(new StoppedError('The backplane stopped'));
    if (signal?.aborted === true) return Promise.reject(new AbortError());
    const id = this.nextId++;
    const wait = timeout ?? this.host.callTimeout;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.calls.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new AbortError());
      };
      const timer = setTimeout(() => {
        finish();
        reject(new TimeoutError(`No reply from the cluster within ${wait} ms calling "${name}"`));
      }, wait);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.calls.set(id, {
        resolve: (value) => {
          finish();
          resolve(value);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
      try {
        this.nc.publish(
          this.subjects.rpc(namespace, name),
          this.codec.encode([Kind.CALL, namespace, name, args]) as Uint8Array,
          { reply: `${this.subjects.inbox}.r.${id}` },
        );
        this.callsOut++;
      } catch (error) {
        finish();
        reject(error);
      }
    });
  }

  private stream(
    namespace: string,
    name: string,
    args: unknown[],
    signal: AbortSignal | undefined,
  ): PullIterator {
    const id = this.nextId++;
    const stream: OpenStream = {
      consumer: new StreamConsumer(id, {
        credit: (n) => {
          if (stream.producer === undefined) stream.credit += n;
          else this.sendControl(stream.producer, [Control.CREDIT, this.streamReply(id), n]);
        },
        cancel: () => {
          stream.cancelled = true;
          if (stream.producer !== undefined)
            this.sendControl(stream.producer, [Control.CANCEL, this.streamReply(id)]);
        },
        done: () => {
          this.streams.delete(id);
          signal?.removeEventListener('abort', onAbort);
        },
      }),
      producer: undefined,
      credit: 0,
      cancelled: false,
    };
    const onAbort = (): void => {
      stream.consumer.fail(new AbortError());
      stream.cancelled = true;
      if (stream.producer !== undefined)
        this.sendControl(stream.producer, [Control.CANCEL, this.streamReply(id)]);
    };
    if (this.stopped) {
      stream.consumer.fail(new StoppedError('The backplane stopped'));
      return stream.consumer;
    }
    if (signal?.aborted === true) {
      stream.consumer.fail(new AbortError());
      return stream.consumer;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.streams.set(id, stream);
    try {
      this.nc.publish(
        this.subjects.rpc(namespace, name),
        this.codec.encode([Kind.STREAM, namespace, name, args, STREAM_WINDOW]) as Uint8Array,
        { reply: this.streamReply(id) },
      );
      this.callsOut++;
    } catch (error) {
      stream.consumer.fail(
        error instanceof WsMeshError ? error : new ProtocolError(ErrorCode.PROTOCOL, String(error)),
      );
    }
    return stream.consumer;
  }

  private streamReply(id: number): string {
    return `${this.subjects.inbox}.s.${id}`;
  }

  private sendControl(producerInbox: string, frame: unknown[]): void {
    try {
      this.nc.publish(`${producerInbox}.c`, this.codec.encode(frame) as Uint8Array);
    } catch (error) {
      this.host.reportError(error);
    }
  }

  private decode(msg: Msg): unknown[] | undefined {
    try {
      const value = this.codec.decode(msg.data);
      return Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** True for NATS' "no responders" status: nobody subscribes to the function any more. */
  private static noResponders(msg: Msg): boolean {
    return msg.headers?.hasError === true && msg.headers.code === 503;
  }

  private callReply(id: number, msg: Msg): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    if (NatsRpc.noResponders(msg)) {
      call.reject(new NoRouteError('No node offers this function any more'));
      return;
    }
    const reply = this.decode(msg);
    if (reply?.[0] === Reply.OK) call.resolve(reply[1]);
    else if (reply?.[0] === Reply.ERROR) call.reject(fromWireError(asWireError(reply[1])));
    else call.reject(new ProtocolError(ErrorCode.BAD_FRAME, 'Malformed reply from another node'));
  }

  private streamMessage(id: number, msg: Msg): void {
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (NatsRpc.noResponders(msg)) {
      stream.consumer.fail(new NoRouteError('No node offers this function any more'));
      return;
    }
    const reply = this.decode(msg);
    if (reply === undefined || typeof reply[1] !== 'string') {
      stream.consumer.fail(new ProtocolError(ErrorCode.BAD_FRAME, 'Malformed stream message'));
      return;
    }
    if (stream.producer === undefined) {
      stream.producer = reply[1];
      // What the consumer did before it knew where the producer runs.
      if (stream.cancelled) {
        this.sendControl(stream.producer, [Control.CANCEL, this.streamReply(id)]);
        return;
      }
      if (stream.credit > 0)
        this.sendControl(stream.producer, [Control.CREDIT, this.streamReply(id), stream.credit]);
    }
    switch (reply[0]) {
      case Reply.ITEMS:
        if (Array.isArray(reply[2])) stream.consumer.push(reply[2]);
        return;
      case Reply.END:
        stream.consumer.end(reply[2]);
        return;
      case Reply.STREAM_ERROR:
        stream.consumer.fail(fromWireError(asWireError(reply[2])));
        return;
      default:
        stream.consumer.fail(new ProtocolError(ErrorCode.BAD_FRAME, 'Malformed stream message'));
    }
  }

  private control(msg: Msg): void {
    const frame = this.decode(msg);
    if (frame === undefined || typeof frame[1] !== 'string') return;
    const producer = this.producers.get(frame[1]);
    if (producer === undefined) return;
    if (frame[0] === Control.CREDIT && typeof frame[2] === 'number' && frame[2] > 0)
      producer.addCredit(frame[2]);
    else if (frame[0] === Control.CANCEL) producer.cancel();
  }

  /** A call or stream from another node. */
  private request(msg: Msg): void {
    const reply = msg.reply;
    if (reply === undefined) return;
    const frame = this.decode(msg);
    if (
      frame === undefined ||
      typeof frame[1] !== 'string' ||
      typeof frame[2] !== 'string' ||
      !Array.isArray(frame[3])
    ) {
      return;
    }
    this.callsIn++;
    const [kind, namespace, name, args] = frame as [number, string, string, unknown[]];
    if (kind === Kind.STREAM) {
      this.serveStream(reply, namespace, name, args, typeof frame[4] === 'number' ? frame[4] : 0);
      return;
    }
    let result: unknown;
    try {
      const target = this.localTarget(namespace, name, 'function', args);
      result = target.call(args, undefined, DEFAULT_HOPS);
    } catch (error) {
      this.respond(reply, [Reply.ERROR, toWireError(error, this.host.id)]);
      return;
    }
    if (!isThenable(result)) {
      this.respond(reply, [Reply.OK, result === undefined ? null : result]);
      return;
    }
    Promise.resolve(result).then(
      (value) => this.respond(reply, [Reply.OK, value === undefined ? null : value]),
      (error: unknown) => this.respond(reply, [Reply.ERROR, toWireError(error, this.host.id)]),
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
    try {
      this.nc.publish(subject, bytes);
      return sent;
    } catch (error) {
      // Too large for NATS: the caller still gets an answer.
      try {
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
    let iterator: PullIterator;
    try {
      iterator = this.localTarget(namespace, name, 'generator', args).stream(
        args,
        undefined,
        DEFAULT_HOPS,
      );
    } catch (error) {
      this.respond(reply, [Reply.STREAM_ERROR, me, toWireError(error, this.host.id)]);
      return;
    }
    if (this.producers.has(reply)) return;
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
      },
    );
    this.producers.set(reply, producer);
    producer.start();
  }
}
