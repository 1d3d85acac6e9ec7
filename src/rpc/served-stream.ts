/**
 * One stream a server serves to a consumer on one of its connections: a generator run here,
 * pulled as the consumer grants credit ({@link StreamProducer}), or, for a function on
 * another server, a relay that passes items and credit through (see stream-relay.ts).
 * @module
 */
import type { EncodedValue } from '../protocol/encoded-value.js';
import { FrameType } from '../protocol/frames.js';
import { toWireError } from '../protocol/wire-error.js';
import type { Connection } from '../transport/connection.js';
import { CallContext } from './call-context.js';
import type { CallTarget } from './call-target.js';
import { sendEnd, sendItems } from './encoded-frames.js';
import { StreamProducer, type StreamSink } from './stream-producer.js';
import type { OpenStream } from './stream-relay.js';

/** How a served stream reports back to the responder. */
export interface ServedStreamHooks {
  /** The stream ended with an error (it is finished too). */
  failed(): void;
  /** The stream is over, however it ended (end, error, cancel, closed connection). Once. */
  finished(): void;
}

/** A stream ready to be registered and started. */
export interface ServedStream {
  readonly stream: OpenStream;
  /** Starts pulling (a generator run here); nothing for a relay, which is already open. */
  start(): void;
}

/** A sink that also takes items still encoded (from a relay). */
interface ForwardingSink extends StreamSink {
  items(id: number, items: unknown[] | EncodedValue): void;
}

/** Ends stream `id` with an error (RPC_STREAM_ERROR). */
export function sendStreamError(
  connection: Connection,
  id: number,
  error: unknown,
  serverId: string,
): void {
  try {
    connection.send([FrameType.RPC_STREAM_ERROR, id, toWireError(error, serverId)]);
  } catch {
    // Closed: the consumer learns it from its own connection.
  }
}

/**
 * Serves stream `id` of `connection` from the generator `target` with the consumer's first
 * `credit`. Throws as `target.stream` or `target.relay` does (nothing is open then).
 */
export function serveStream(
  connection: Connection,
  serverId: string,
  id: number,
  target: CallTarget,
  args: unknown[],
  credit: number,
  hops: number,
  hooks: ServedStreamHooks,
): ServedStream {
  let stream: OpenStream | undefined;
  let over = false;
  const finished = (): void => {
    if (over) return;
    over = true;
    hooks.finished();
  };
  // Items from a generator here, or still encoded from a relay (passed on as they are).
  const sink: ForwardingSink = {
    items: (streamId, items) => {
      try {
        sendItems(connection, streamId, items);
      } catch (error) {
        stream?.cancel();
        sendStreamError(connection, streamId, error, serverId);
      }
    },
    end: (streamId, value) => {
      try {
        sendEnd(connection, streamId, value);
      } catch (error) {
        sendStreamError(connection, streamId, error, serverId);
      }
    },
    error: (streamId, error) => {
      hooks.failed();
      sendStreamError(connection, streamId, error, serverId);
    },
  };
  if (target.relay !== undefined) {
    // Forwarded: items and credit pass through, so the consumer's window is the only one.
    const relayed = target.relay(args, hops, credit, {
      items: (items) => sink.items(id, items),
      end: (value) => {
        sink.end(id, value);
        finished();
      },
      error: (error) => {
        sink.error(id, error);
        finished();
      },
    });
    stream = {
      addCredit: (n) => relayed.addCredit(n),
      cancel: () => {
        relayed.cancel();
        finished();
      },
    };
    return { stream, start: () => undefined };
  }
  const context = new CallContext();
  const iterator = target.stream(args, context, hops);
  const producer = new StreamProducer(id, iterator, credit, sink, () => {
    finished();
    context.abort();
  });
  stream = producer;
  return { stream, start: () => producer.start() };
}
