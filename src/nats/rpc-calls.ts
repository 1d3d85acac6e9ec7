/**
 * The calling side of RPC over NATS: calls and streams this node makes to functions of other
 * nodes, and their replies, stream items and controls (frames in rpc-wire.ts). What is in
 * flight fails at once, with a clear error, when the NATS connection drops, the backplane
 * stops, or the producing node leaves.
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
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
import { fromWireError } from '../protocol/wire-error.js';
import type { PullIterator } from '../rpc/call-target.js';
import { StreamConsumer, STREAM_WINDOW } from '../rpc/stream-consumer.js';
import { asWireError, Control, decodeArray, Kind, noResponders, Reply } from './rpc-wire.js';
import type { Subjects } from './subjects.js';

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** The only node that offered the function when the call was made, if only one did. */
  onlyAt: string | undefined;
}

interface OpenStream {
  consumer: StreamConsumer;
  /** Inbox of the producing process, once its first message came. */
  producer: string | undefined;
  credit: number;
  cancelled: boolean;
}

/** Calls and streams this node makes to other nodes. */
export class NatsCalls {
  private readonly calls = new Map<number, PendingCall>();
  private readonly streams = new Map<number, OpenStream>();
  private nextId = 1;
  private stopped = false;
  /** Calls and stream openings sent. */
  sent = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly host: BackplaneHost,
  ) {}

  /** Calls and streams waiting for a reply or an end. */
  get inFlight(): number {
    return this.calls.size + this.streams.size;
  }

  /**
   * Calls `name` on whichever node NATS hands it to; rejects on timeout, abort, disconnect,
   * or when `onlyAt`, the one node offering the function, leaves.
   */
  call(
    namespace: string,
    name: string,
    args: unknown[],
    signal: AbortSignal | undefined,
    timeout: number | undefined,
    onlyAt?: string,
  ): Promise<unknown> {
    if (this.stopped) return Promise.reject(new StoppedError('The backplane stopped'));
    if (signal?.aborted === true) return Promise.reject(new AbortError());
    const id = this.nextId++;
    const wait = timeout ?? this.host.callTimeout;
    const reply = `${this.subjects.inbox}.r.${id}`;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.calls.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        this.cancel(reply);
        reject(new AbortError());
      };
      const timer = setTimeout(() => {
        finish();
        this.cancel(reply);
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
        onlyAt,
      });
      try {
        this.nc.publish(
          this.subjects.rpc(namespace, name),
          // The node that runs it aborts the function's signal when the caller's wait is over.
          this.codec.encode([Kind.CALL, namespace, name, args, wait]) as Uint8Array,
          { reply },
        );
        this.sent++;
      } catch (error) {
        finish();
        reject(error);
      }
    });
  }

  /** Opens a stream of generator `name`; the iterator grants credit as it is read. */
  stream(
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
      this.sent++;
    } catch (error) {
      stream.consumer.fail(
        error instanceof WsMeshError ? error : new ProtocolError(ErrorCode.PROTOCOL, String(error)),
      );
    }
    return stream.consumer;
  }

  /** A call reply arrived at `<inbox>.r.<id>`. */
  reply(id: number, msg: Msg): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    if (noResponders(msg)) {
      call.reject(new NoRouteError('No node offers this function any more'));
      return;
    }
    const reply = decodeArray(this.codec, msg);
    if (reply?.[0] === Reply.OK) call.resolve(reply[1]);
    else if (reply?.[0] === Reply.ERROR) call.reject(fromWireError(asWireError(reply[1])));
    else call.reject(new ProtocolError(ErrorCode.BAD_FRAME, 'Malformed reply from another node'));
  }

  /** A stream message arrived at `<inbox>.s.<id>`. */
  streamMessage(id: number, msg: Msg): void {
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (noResponders(msg)) {
      stream.consumer.fail(new NoRouteError('No node offers this function any more'));
      return;
    }
    const reply = decodeArray(this.codec, msg);
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

  /**
   * Node `nodeId` (process inbox `producerInbox`) is gone: fail the streams it produced and
   * the calls only it could answer (a call to a function several nodes offer may be running
   * on another one: it waits for its reply or its timeout).
   */
  nodeGone(producerInbox: string, nodeId: string): void {
    for (const call of [...this.calls.values()])
      if (call.onlyAt === nodeId)
        call.reject(new ConnectionClosedError(`Node ${nodeId} left the cluster during the call`));
    for (const [id, stream] of this.streams) {
      if (stream.producer === producerInbox) {
        this.streams.delete(id);
        stream.consumer.fail(new ConnectionClosedError(`Node ${nodeId} left the cluster`));
      }
    }
  }

  /**
   * Fails every call and stream in flight with `error`. Used when the connection to NATS
   * drops: replies sent meanwhile are lost (core NATS keeps nothing), so waiting for them
   * would only end in a timeout.
   */
  failAll(error: WsMeshError): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(error);
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.consumer.fail(error);
  }

  /** Fails everything in flight and refuses new calls. */
  stop(): void {
    this.stopped = true;
    this.failAll(new StoppedError('The backplane stopped'));
  }

  /**
   * Tells every node that the call answering to `reply` is called off: the caller does not
   * know which node of the queue group took it, and only that one is running it.
   */
  private cancel(reply: string): void {
    try {
      this.nc.publish(this.subjects.cancel, this.codec.encode([reply]) as Uint8Array);
    } catch (error) {
      this.host.reportError(error);
    }
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
}
