/**
 * Node adapter from a `ws` WebSocket to {@link WireSocket}, with one write per socket per
 * tick: the first send of a tick corks the underlying TCP socket and a single `nextTick`
 * uncorks every socket written during that tick, so many small frames leave in one syscall.
 * When the peer reads batches, the messages of a tick are also joined into one WebSocket
 * message, which saves the peer a frame parse, a UTF-8 check and an event per message.
 * @module
 */
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { Codec, WirePayload } from '../protocol/codec.js';
import type { Connection } from './connection.js';
import { BATCH_MAX_BYTES } from './outbound.js';
import { addToBatch, PreparedFrame, payloadBound } from './prepared-frame.js';
import {
  closeOpenFanouts,
  earliestPending,
  openRegistrations,
  releaseFanouts,
  TickRegistration,
  withoutRegistration,
  withRegistration,
  type Registrations,
  type TickFanout,
  type TickSocket,
} from './tick-fanout.js';
import { decodeUtf8 } from './utf8.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

export { PreparedFrame } from './prepared-frame.js';

/** Batches `enqueueShared` completed (one array for all sockets, not one per frame). */
const completeBatches: PreparedFrame[] = [];
const scheduledSockets: NodeWireSocket[] = [];
let flushScheduled = false;

function flushScheduledSockets(): void {
  flushScheduled = false;
  // Group messages appended from here on start new fan-outs, written next tick.
  const fanouts = closeOpenFanouts();
  // Sockets written while flushing (by a write in an 'drain' callback) wait for the next tick.
  const batch = scheduledSockets.splice(0, scheduledSockets.length);
  for (const socket of batch) socket.flush();
  releaseFanouts(fanouts);
}

const SCHEDULED = 1;
const RAW_CORKED = 2;
const NO_UTF8_CHECK = 4;
const PACKS = 8;
/** `knownBuffered` holds the socket's buffered bytes, unchanged since read this tick. */
const BUFFERED_KNOWN = 16;
/** Queuing the messages of its tick fan-outs (a slow-consumer close must not recurse). */
const CATCHING_UP = 32;
/** Closed or closing (by either side): takes no more tick fan-outs. */
const CLOSED = 64;

const WIRE: unique symbol = Symbol('wsmesh.wire');
type AttachedWebSocket = WebSocket & { [WIRE]?: NodeWireSocket };

function onWsMessage(this: AttachedWebSocket, data: Buffer, isBinary: boolean): void {
  this[WIRE]?.received(data, isBinary);
}

function onWsClose(this: AttachedWebSocket, code: number, reason: Buffer): void {
  const wire = this[WIRE];
  if (wire === undefined) return;
  wire.closed();
  wire.attached?.handleClosed(code, reason.toString('utf8'));
}

function onWsError(this: AttachedWebSocket, error: Error): void {
  this[WIRE]?.attached?.reportError(error);
}

/** A server- or client-side `ws` socket seen as a {@link WireSocket}. */
export class NodeWireSocket implements WireSocket, TickSocket {
  /** SCHEDULED, RAW_CORKED, NO_UTF8_CHECK, PACKS, BUFFERED_KNOWN, CATCHING_UP, CLOSED bits. */
  private flags = 0;
  private knownBuffered = 0;
  /** Largest batch, in bytes; 0 while the peer has not said it reads batches. */
  private batchLimit = 0;
  /** The codec batches are joined with; undefined while the socket does not batch. */
  private codec: Codec | undefined;
  /** Queued this tick while every queued message is a shared frame: their shared batch. */
  private queuedShared: PreparedFrame | undefined;
  /** Queued this tick otherwise: the payloads, in order. */
  private queued: WirePayload[] | undefined;
  private queuedBound = 0;
  /** The group fan-outs of this tick it takes messages from (see tick-fanout.ts). */
  private ticks: Registrations;
  /** The connection fed by this socket's events (see {@link attach}). @internal */
  attached: Connection | undefined;

  /**
   * @param ws the `ws` WebSocket
   * @param raw the TCP/TLS socket `ws` writes to (needed for corking and pre-framed writes)
   * @param isServer server-side sockets may take pre-framed (unmasked) frames
   */
  constructor(
    readonly ws: WebSocket,
    private rawSocket: Duplex | undefined,
    private readonly isServer: boolean,
    private readonly getRaw?: () => Duplex | undefined,
  ) {}

  private get raw(): Duplex | undefined {
    if (this.rawSocket === undefined && this.getRaw !== undefined) this.rawSocket = this.getRaw();
    return this.rawSocket;
  }

  /**
   * Routes the socket's events to `connection`. `checkUtf8` validates text messages while
   * decoding them (the `ws` server runs with `skipUTF8Validation`, see utf8.ts); false
   * trusts the peer. The listeners are module functions, not closures: an idle connection
   * should cost as little memory as possible.
   */
  attach(connection: Connection, checkUtf8 = true): void {
    this.attached = connection;
    if (!checkUtf8) this.flags |= NO_UTF8_CHECK;
    (this.ws as AttachedWebSocket)[WIRE] = this;
    this.ws.on('message', onWsMessage);
    this.ws.on('close', onWsClose);
    this.ws.on('error', onWsError);
  }

  /** @internal */
  received(data: Buffer, isBinary: boolean): void {
    const connection = this.attached;
    if (connection === undefined) return;
    if (isBinary) {
      connection.receive(data);
      return;
    }
    const text = (this.flags & NO_UTF8_CHECK) === 0 ? decodeUtf8(data) : data.toString('utf8');
    if (text === undefined) connection.refuseInvalidText();
    else connection.receive(text);
  }

  get bufferedAmount(): number {
    if ((this.flags & BUFFERED_KNOWN) !== 0) return this.knownBuffered;
    const amount = this.raw !== undefined ? this.raw.writableLength : this.ws.bufferedAmount;
    // A batching socket writes nothing until the end of the tick (or a batch overflows, which
    // forgets this): fan-out asks once per tick, not once per message, and touches one object.
    if ((this.flags & SCHEDULED) !== 0 && this.batchLimit > 0) {
      this.knownBuffered = amount;
      this.flags |= BUFFERED_KNOWN;
    }
    return amount;
  }

  startBatching(maxBytes: number, codec: Codec, packs = false): void {
    this.batchLimit = maxBytes;
    this.codec = codec;
    if (packs) this.flags |= PACKS;
  }

  send(payload: WirePayload): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ticks !== undefined) this.catchUpTicks();
    this.schedule();
    if (this.batchLimit === 0) this.ws.send(payload);
    else this.enqueue(payload);
  }

  /** Writes a frame prepared once for many sockets (pre-framed bytes on the server side). */
  sendShared(frame: SharedFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ticks !== undefined) this.catchUpTicks();
    this.schedule();
    if (this.batchLimit === 0) this.writeShared(frame);
    else if (frame instanceof PreparedFrame) this.queueShared(frame);
    else this.enqueue(frame.payload);
  }

  /** Queues a shared frame on a batching socket. */
  private queueShared(frame: PreparedFrame): void {
    if (this.queued === undefined) this.enqueueShared(frame);
    else this.enqueue(frame.payload);
  }

  close(code: number, reason: string): void {
    // Messages of this tick go before the close frame.
    if (this.ticks !== undefined) this.catchUpTicks();
    this.ticks = undefined;
    this.flags |= CLOSED;
    this.writeQueued();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ticks = undefined;
    this.flags |= CLOSED;
    this.queued = undefined;
    this.queuedShared = undefined;
    this.ws.terminate();
  }

  /** The socket closed, or its peer's close frame arrived (see `onWsClose`). @internal */
  closed(): void {
    this.flags |= CLOSED;
  }

  /** Writes what this tick queued and uncorks. @internal */
  flush(): void {
    // Still scheduled while catching up, so the slow-consumer check reads the buffer once.
    if (this.ticks !== undefined) this.catchUpTicks();
    const corked = (this.flags & RAW_CORKED) !== 0;
    this.flags &= ~(SCHEDULED | RAW_CORKED | BUFFERED_KNOWN);
    if (this.ticks !== undefined) {
      // A fan-out opened while sockets write (a handler publishing on a close) goes on
      // taking messages: this socket stays in it and writes again next tick.
      this.ticks = openRegistrations(this.ticks);
      if (this.ticks !== undefined) this.schedule();
    }
    this.writeQueued();
    if (corked) this.rawSocket?.uncork();
  }

  /**
   * Takes the messages `fanout` gets from now on, this tick; undefined (the group delivers each
   * message itself) unless it batches unsealed frames in batches its peer takes whole and is
   * open, which its own fields tell: the group asks every member at each tick's first message.
   * A socket closing later is counted and written nothing (see `writable`). @internal
   */
  joinTick(fanout: TickFanout): TickRegistration | undefined {
    const { codec } = this;
    if (codec === undefined || this.batchLimit < BATCH_MAX_BYTES || (this.flags & CLOSED) !== 0)
      return undefined;
    const registration = new TickRegistration(fanout, codec, fanout.count, this);
    this.ticks = withRegistration(this.ticks, registration);
    this.schedule();
    return registration;
  }

  /** Its registration in `fanout`, if any. @internal */
  registrationIn(fanout: TickFanout): TickRegistration | undefined {
    const ticks = this.ticks;
    if (ticks === undefined || !Array.isArray(ticks))
      return ticks?.fanout === fanout ? ticks : undefined;
    return ticks.find((registration) => registration.fanout === fanout);
  }

  /** @internal */
  leaveTick(registration: TickRegistration): void {
    this.ticks = withoutRegistration(this.ticks, registration);
  }

  /**
   * Queues every message of its fan-outs not queued yet, in the order they were appended
   * (across groups), so whatever is sent next follows them. @internal
   */
  catchUpTicks(): void {
    const ticks = this.ticks;
    if (ticks === undefined || (this.flags & CATCHING_UP) !== 0) return;
    this.flags |= CATCHING_UP;
    try {
      if (ticks instanceof TickRegistration) this.catchUpOne(ticks);
      else this.catchUpMany(ticks);
    } finally {
      this.flags &= ~CATCHING_UP;
    }
  }

  /** False (and this socket's fan-outs dropped) once the connection is closed or too slow. */
  private writable(): boolean {
    if (this.ws.readyState === WebSocket.OPEN) {
      // Nothing waiting (the usual case) is under any cap; an open WebSocket means an open
      // connection, as a connection closes its socket first.
      if (this.rawSocket?.writableLength === 0) return true;
      if (this.attached?.admitWrite() ?? true) return true;
    }
    this.ticks = undefined;
    return false;
  }

  private catchUpOne(registration: TickRegistration): void {
    const { fanout, codec } = registration;
    const end = fanout.count;
    let index = registration.from;
    if (index >= end) return;
    registration.from = end;
    if (!this.writable()) return;
    const join = this.codec?.join;
    if (index === 0 && join !== undefined && this.queuedShared === undefined && !this.queued) {
      // Same batches as every socket of its kind that takes the whole tick: built once.
      const packs = (this.flags & PACKS) !== 0;
      const lane = fanout.lane(codec, packs, this.batchLimit, join, end);
      const { full } = lane;
      const fullCount = full.length;
      for (let at = 0; at < fullCount; at++) {
        if (at > 0 && !this.writable()) return;
        this.writeShared(full[at] as PreparedFrame);
      }
      if (fullCount > 0 && !this.writable()) return;
      this.queuedShared = lane.tail;
      return;
    }
    for (; index < end; index++) {
      if (!this.writable()) return;
      this.queueShared(fanout.frame(index, codec));
    }
  }

  /** Merges the fan-outs' messages by the order they were appended in. */
  private catchUpMany(ticks: TickRegistration[]): void {
    for (;;) {
      const next = earliestPending(ticks);
      if (next === undefined || !this.writable()) return;
      this.queueShared(next.fanout.frame(next.from, next.codec));
      next.from++;
    }
  }

  private schedule(): void {
    if ((this.flags & SCHEDULED) !== 0) return;
    this.flags |= SCHEDULED;
    // A batching socket writes one message per tick (ws corks its own header and payload),
    // so corking would only add a buffered write; without batches it joins the tick's writes.
    const raw = this.batchLimit === 0 ? this.raw : undefined;
    if (raw !== undefined) {
      raw.cork();
      this.flags |= RAW_CORKED;
    }
    scheduledSockets.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushScheduledSockets);
    }
  }

  private writeShared(frame: SharedFrame): void {
    this.flags &= ~BUFFERED_KNOWN;
    const { framed } = frame;
    const raw = this.raw;
    if (framed === undefined || !this.isServer || raw === undefined) this.ws.send(frame.payload);
    else for (const buffer of framed) raw.write(buffer);
  }

  private enqueueShared(frame: PreparedFrame): void {
    const join = this.codec?.join;
    if (join === undefined) {
      this.writeShared(frame);
      return;
    }
    const complete = completeBatches;
    const packs = (this.flags & PACKS) !== 0;
    this.queuedShared = addToBatch(
      this.queuedShared,
      frame,
      this.batchLimit,
      join,
      packs,
      complete,
    );
    // Emptied before writing: a write must not see another socket's batches.
    if (complete.length > 0) for (const batch of complete.splice(0)) this.writeShared(batch);
  }

  private enqueue(payload: WirePayload): void {
    const shared = this.queuedShared;
    if (shared !== undefined) {
      // A message of this socket's own joins frames shared with others: the batch is its own.
      this.queuedShared = undefined;
      this.queued = [...shared.payloads];
      this.queuedBound = shared.bound;
    }
    const bound = payloadBound(payload);
    if (this.queued !== undefined && this.queuedBound + 1 + bound > this.batchLimit) {
      this.writeQueued();
    }
    if (bound > this.batchLimit) {
      this.flags &= ~BUFFERED_KNOWN;
      this.ws.send(payload);
      return;
    }
    if (this.queued === undefined) {
      this.queued = [payload];
      this.queuedBound = bound;
    } else {
      this.queued.push(payload);
      this.queuedBound += 1 + bound;
    }
  }

  private writeQueued(): void {
    this.flags &= ~BUFFERED_KNOWN;
    const shared = this.queuedShared;
    const queued = this.queued;
    this.queuedShared = undefined;
    this.queued = undefined;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (shared !== undefined) this.writeShared(shared);
    else if (queued !== undefined) {
      const [first] = queued;
      if (queued.length === 1 && first !== undefined) this.ws.send(first);
      else if (this.codec !== undefined) this.ws.send(this.codec.join(queued));
    }
  }
}
