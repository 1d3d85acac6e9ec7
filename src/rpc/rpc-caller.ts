/**
 * The calling side of RPC over one connection (client, proxy, or a server link): calls,
 * streams with credit, function lists kept up to date by the server's pushes.
 * @module
 */
import { AbortError, ConnectionClosedError, NotConnectedError, WsMeshError } from '../errors.js';
import {
  FrameType,
  type Frame,
  type FunctionInfo,
  type RequestBuilder,
  type RpcCallFrame,
  type RpcStreamFrame,
} from '../protocol/frames.js';
import type { Codec } from '../protocol/codec.js';
import { EncodedValue } from '../protocol/encoded-value.js';
import { fromWireError } from '../protocol/wire-error.js';
import { StreamConsumer, STREAM_WINDOW } from './stream-consumer.js';
import { StreamRelay, type RelaySink } from './stream-relay.js';

/** What receives a stream's frames: a consumer (the end of the stream) or a relay (a hop). */
interface StreamReceiver {
  push(items: unknown[]): void;
  end(value: unknown): void;
  fail(error: WsMeshError): void;
}

/** Per-call options. */
export interface CallOptions {
  /** Reply timeout in ms (calls only; use `signal` to bound a stream). */
  timeout?: number | undefined;
  /** Cancels the call or stream. */
  signal?: AbortSignal | undefined;
  /** @internal Forwarding hops left (server links). */
  hops?: number | undefined;
  /**
   * @internal The reply may come as an {@link EncodedValue} (a server forwarding the call
   * passes it on undecoded).
   */
  encoded?: boolean | undefined;
}

/** What the caller needs from its connection owner. */
export interface RpcTransport {
  /**
   * Sends a request and resolves with the reply; `build` makes the frame around the request
   * id the transport picks (called when the frame is sent, which may be later).
   */
  request(build: RequestBuilder, options: CallOptions): Promise<unknown>;
  /** Sends a frame on the live connection; throws `NotConnectedError` when there is none. */
  send(frame: Frame): void;
}

/** `RPC_CALL` with `hops` and `timeout` only when given (`hops` null = default, to reach `timeout`). */
function callFrame(
  id: number,
  namespace: string,
  name: string,
  args: unknown[],
  options: CallOptions,
): RpcCallFrame {
  const { hops, timeout } = options;
  if (timeout !== undefined) {
    return [FrameType.RPC_CALL, id, namespace, name, args, hops ?? null, timeout];
  }
  if (hops !== undefined) return [FrameType.RPC_CALL, id, namespace, name, args, hops];
  return [FrameType.RPC_CALL, id, namespace, name, args];
}

/** Calls remote functions over one transport. */
export class RpcCaller {
  private readonly streams = new Map<number, StreamReceiver>();
  private readonly watchers = new Map<string, Set<(functions: FunctionInfo[]) => void>>();
  private nextStreamId = 1;

  constructor(private readonly transport: RpcTransport) {}

  /** Calls `namespace.name(...args)`. */
  call(
    namespace: string,
    name: string,
    args: unknown[],
    options: CallOptions = {},
  ): Promise<unknown> {
    // 0 until the call is sent (it may wait offline): nothing to cancel remotely before that.
    let sentId = 0;
    const reply = this.transport.request((id) => {
      sentId = id;
      return callFrame(id, namespace, name, args, options);
    }, options);
    // A caller that stops waiting tells the far side, which may be forwarding the call.
    reply.catch((error: unknown) => {
      if (error instanceof WsMeshError && error.code === 'ERR_TIMEOUT' && sentId > 0) {
        this.trySend([FrameType.RPC_CANCEL, sentId]);
      }
    });
    const { signal } = options;
    if (signal !== undefined) {
      // Tell the far side to stop (it matters for calls forwarded through other servers).
      const onAbort = (): void => {
        if (sentId > 0) this.trySend([FrameType.RPC_CANCEL, sentId]);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      reply.then(
        () => signal.removeEventListener('abort', onAbort),
        () => signal.removeEventListener('abort', onAbort),
      );
    }
    return reply;
  }

  /** Opens a stream from a remote generator. */
  stream<T = unknown>(
    namespace: string,
    name: string,
    args: unknown[],
    options: CallOptions = {},
  ): StreamConsumer<T> {
    const id = this.streamId();
    const { signal } = options;
    // One listener, added and removed as the same function, so finished streams leave none.
    const onAbort = (): void => {
      this.trySend([FrameType.RPC_STREAM_CANCEL, id]);
      consumer.fail(new AbortError('The stream was aborted'));
    };
    const consumer = new StreamConsumer<T>(id, {
      credit: (n) => this.trySend([FrameType.RPC_CREDIT, id, n]),
      cancel: () => this.trySend([FrameType.RPC_STREAM_CANCEL, id]),
      done: () => {
        this.streams.delete(id);
        signal?.removeEventListener('abort', onAbort);
      },
    });
    if (signal?.aborted === true) {
      consumer.fail(new AbortError());
      return consumer;
    }
    this.streams.set(id, consumer);
    try {
      const open: RpcStreamFrame =
        options.hops === undefined
          ? [FrameType.RPC_STREAM, id, namespace, name, args, STREAM_WINDOW]
          : [FrameType.RPC_STREAM, id, namespace, name, args, STREAM_WINDOW, options.hops];
      this.transport.send(open);
    } catch (error) {
      consumer.fail(error instanceof WsMeshError ? error : new NotConnectedError(String(error)));
      return consumer;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    return consumer;
  }

  /**
   * Forwards a stream: opens it on the far side with the `credit` the downstream consumer
   * granted, hands what comes back to `sink`, and grants upstream only what the relay is
   * given (see {@link StreamRelay}). Throws when the stream cannot be sent.
   */
  relay(
    namespace: string,
    name: string,
    args: unknown[],
    credit: number,
    hops: number,
    sink: RelaySink,
  ): StreamRelay {
    const id = this.streamId();
    const relay = new StreamRelay(id, sink, {
      credit: (n) => this.trySend([FrameType.RPC_CREDIT, id, n]),
      cancel: () => this.trySend([FrameType.RPC_STREAM_CANCEL, id]),
      done: () => {
        this.streams.delete(id);
      },
    });
    this.transport.send([FrameType.RPC_STREAM, id, namespace, name, args, credit, hops]);
    this.streams.set(id, relay);
    return relay;
  }

  /** Lists the functions of `namespace` and asks the server to push changes. */
  async list(namespace: string, options: CallOptions = {}): Promise<FunctionInfo[]> {
    const reply = (await this.transport.request(
      (id) => [FrameType.RPC_LIST, id, namespace],
      options,
    )) as {
      functions?: FunctionInfo[];
    } | null;
    return Array.isArray(reply?.functions) ? reply.functions : [];
  }

  /** Calls `listener` with the new list whenever the server pushes one for `namespace`. */
  watch(namespace: string, listener: (functions: FunctionInfo[]) => void): () => void {
    let set = this.watchers.get(namespace);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(namespace, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Handles RPC frames addressed to the caller side. Returns false for other frames. */
  handleFrame(frame: Frame): boolean {
    switch (frame[0]) {
      case FrameType.RPC_ITEMS:
        this.streams.get(frame[1])?.push(frame[2]);
        return true;
      case FrameType.RPC_END:
        this.streams.get(frame[1])?.end(frame[2]);
        return true;
      case FrameType.RPC_STREAM_ERROR:
        this.streams.get(frame[1])?.fail(fromWireError(frame[2]));
        return true;
      case FrameType.RPC_FUNCTIONS:
        for (const listener of this.watchers.get(frame[1]) ?? []) listener(frame[2]);
        return true;
      default:
        return false;
    }
  }

  /**
   * An RPC_ITEMS or RPC_END frame read up to its value (see transport/encoded-tap.ts): taken,
   * still encoded, when the stream is relayed to another connection; false otherwise (a
   * consumer here needs it decoded). Items must be an array.
   */
  receiveEncoded(type: number, id: number, value: Uint8Array, codec: Codec): boolean {
    const receiver = this.streams.get(id);
    if (!(receiver instanceof StreamRelay)) return false;
    if (type === FrameType.RPC_ITEMS) {
      const head = value[0] ?? 0;
      // fixarray, array 16, array 32: anything else is refused by the ordinary path.
      if (!((head >= 0x90 && head <= 0x9f) || head === 0xdc || head === 0xdd)) return false;
      receiver.push(new EncodedValue(codec, value));
      return true;
    }
    if (type !== FrameType.RPC_END) return false;
    receiver.end(new EncodedValue(codec, value));
    return true;
  }

  /** Fails every open stream (the connection closed). */
  connectionClosed(): void {
    if (this.streams.size === 0) return;
    const error = new ConnectionClosedError('The connection closed during the stream');
    for (const stream of [...this.streams.values()]) stream.fail(error);
  }

  private streamId(): number {
    const id = this.nextStreamId;
    this.nextStreamId = id >= 2 ** 31 - 1 ? 1 : id + 1;
    return id;
  }

  private trySend(frame: Frame): void {
    try {
      this.transport.send(frame);
    } catch {
      // Not connected: the stream or call is failed by the connection's close anyway.
    }
  }
}
