/**
 * The calling side of RPC over one connection (client, proxy, or a server link): calls,
 * streams with credit, function lists kept up to date by the server's pushes.
 * @module
 */
import { AbortError, ConnectionClosedError, NotConnectedError, WsMeshError } from '../errors.js';
import { FrameType, type Frame, type FunctionInfo } from '../protocol/frames.js';
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
}

/** What the caller needs from its connection owner. */
export interface RpcTransport {
  /** Sends a request frame (index 1 is the id slot) and resolves with the reply. */
  request(frame: unknown[], options: CallOptions): Promise<unknown>;
  /** Sends a frame on the live connection; throws `NotConnectedError` when there is none. */
  send(frame: unknown[]): void;
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
    const frame: unknown[] = [FrameType.RPC_CALL, 0, namespace, name, args];
    if (options.hops !== undefined || options.timeout !== undefined)
      frame.push(options.hops ?? null);
    if (options.timeout !== undefined) frame.push(options.timeout);
    const reply = this.transport.request(frame, options);
    // A caller that stops waiting tells the far side, which may be forwarding the call.
    reply.catch((error: unknown) => {
      if (
        error instanceof WsMeshError &&
        error.code === 'ERR_TIMEOUT' &&
        typeof frame[1] === 'number' &&
        frame[1] > 0
      ) {
        this.trySend([FrameType.RPC_CANCEL, frame[1]]);
      }
    });
    const { signal } = options;
    if (signal !== undefined) {
      // Tell the far side to stop (it matters for calls forwarded through other servers).
      const onAbort = (): void => {
        if (typeof frame[1] === 'number' && frame[1] > 0)
          this.trySend([FrameType.RPC_CANCEL, frame[1]]);
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
      const open: unknown[] = [FrameType.RPC_STREAM, id, namespace, name, args, STREAM_WINDOW];
      if (options.hops !== undefined) open.push(options.hops);
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
    const reply = (await this.transport.request([FrameType.RPC_LIST, 0, namespace], options)) as {
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

  private trySend(frame: unknown[]): void {
    try {
      this.transport.send(frame);
    } catch {
      // Not connected: the stream or call is failed by the connection's close anyway.
    }
  }
}
