/**
 * One group's fan-out during one tick, handed to each subscriber's socket once per tick
 * instead of once per message: the group appends its messages here, each subscribed socket
 * holds a {@link TickRegistration} that says from which message on it takes them, and the
 * socket turns the messages into its batches when it writes (at the end of the tick, or
 * earlier when anything else is sent on it, so every socket keeps its send order). Sockets
 * that read the same messages from the start share their batches through a {@link TickLane}.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { addToBatch, type JoinPayloads, type PreparedFrame } from './prepared-frame.js';

/** A message with its frame prepared once per codec (a group message). */
export interface TickMessage {
  /** The framed bytes for `codec` (the same object on every call). */
  frameFor(codec: Codec): PreparedFrame;
}

/**
 * The batches that a socket with an empty queue makes of a tick's messages from the first
 * on, built once for every socket with the same codec, packs and batch limit. `full` holds
 * the batches such a socket writes as it goes (each at most the limit), `tail` the batch it
 * still holds after message `upto`.
 */
export class TickLane {
  readonly full: PreparedFrame[] = [];
  tail: PreparedFrame | undefined;
  upto = 0;

  constructor(
    readonly codec: Codec,
    readonly packs: boolean,
    readonly limit: number,
    private readonly join: JoinPayloads,
  ) {}

  /** Continues the batches up to message `end` (exclusive), as a socket's own queue would. */
  extend(fanout: TickFanout, end: number): void {
    const { limit, join, packs, codec, full } = this;
    let tail = this.tail;
    for (let index = this.upto; index < end; index++) {
      tail = addToBatch(tail, fanout.frame(index, codec), limit, join, packs, full);
    }
    this.tail = tail;
    this.upto = end;
  }
}

/** The tick fan-outs messages were appended to since sockets last wrote. */
const openFanouts: TickFanout[] = [];
const NONE: readonly TickFanout[] = [];
/** Order of the next message appended to any fan-out. */
let nextOrder = 0;
/**
 * Closes every open fan-out to more messages (a group appending later starts a new one):
 * called when the sockets write the tick, before they do. Returns the closed ones, for
 * {@link releaseFanouts} once the sockets wrote.
 */
export function closeOpenFanouts(): readonly TickFanout[] {
  if (openFanouts.length === 0) return NONE;
  const closed = openFanouts.splice(0, openFanouts.length);
  for (const fanout of closed) fanout.closed = true;
  return closed;
}

/** Lets closed fan-outs drop their messages and tell their group. */
export function releaseFanouts(closed: readonly TickFanout[]): void {
  for (const fanout of closed) fanout.release();
}

/** The messages one group sent during one tick, in order. */
export class TickFanout {
  /** No more messages: the sockets are writing (or wrote) this tick. */
  closed = false;
  private messages: TickMessage[] = [];
  /** Order of each message among all fan-outs' messages, for sockets in several groups. */
  private order: number[] = [];
  private lanes: TickLane[] = [];
  /** Called once the sockets wrote this fan-out. */
  onRelease: (() => void) | undefined;

  constructor() {
    openFanouts.push(this);
  }

  /** Messages appended so far. */
  get count(): number {
    return this.messages.length;
  }

  /** Appends a message (never once {@link closed}). */
  append(message: TickMessage): void {
    this.messages.push(message);
    this.order.push(nextOrder++);
  }

  /** Message `index` framed for `codec`. */
  frame(index: number, codec: Codec): PreparedFrame {
    return (this.messages[index] as TickMessage).frameFor(codec);
  }

  /** Order of message `index` among the messages of every fan-out. */
  orderOf(index: number): number {
    return this.order[index] as number;
  }

  /** The shared batches of messages `0` to `end` for sockets of this kind. */
  lane(codec: Codec, packs: boolean, limit: number, join: JoinPayloads, end: number): TickLane {
    let lane: TickLane | undefined;
    for (const candidate of this.lanes) {
      if (candidate.codec === codec && candidate.packs === packs && candidate.limit === limit) {
        lane = candidate;
        break;
      }
    }
    if (lane === undefined) {
      lane = new TickLane(codec, packs, limit, join);
      this.lanes.push(lane);
    }
    if (lane.upto < end) lane.extend(this, end);
    return lane;
  }

  /** @internal */
  release(): void {
    this.messages = [];
    this.order = [];
    this.lanes = [];
    const done = this.onRelease;
    this.onRelease = undefined;
    done?.();
  }
}

/**
 * A socket's place in one fan-out: it takes messages `from` on. The socket moves `from`
 * as it writes them; the group moves it past a message the socket must not get.
 */
export class TickRegistration {
  constructor(
    readonly fanout: TickFanout,
    readonly codec: Codec,
    public from: number,
    private readonly socket: TickSocket,
  ) {}

  /** Has the socket write (queue) what it has of every fan-out so far, in order. */
  catchUp(): void {
    this.socket.catchUpTicks();
  }

  /** Writes what the socket has so far and takes no more of this fan-out. */
  leave(): void {
    this.socket.catchUpTicks();
    this.socket.leaveTick(this);
  }
}

/** A socket's registrations: none, one, or several (a member of several groups). */
export type Registrations = TickRegistration | TickRegistration[] | undefined;

/** `list` with `added`. */
export function withRegistration(list: Registrations, added: TickRegistration): Registrations {
  if (list === undefined) return added;
  if (!Array.isArray(list)) return [list, added];
  list.push(added);
  return list;
}

/** `list` without `removed`. */
export function withoutRegistration(list: Registrations, removed: TickRegistration): Registrations {
  if (list === removed) return undefined;
  if (Array.isArray(list)) {
    const index = list.indexOf(removed);
    if (index !== -1) list.splice(index, 1);
  }
  return list;
}

/** The registrations in fan-outs that still take messages. */
export function openRegistrations(list: Registrations): Registrations {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return list.fanout.closed ? undefined : list;
  const open = list.filter((registration) => !registration.fanout.closed);
  return open.length === 0 ? undefined : open.length === 1 ? open[0] : open;
}

/** The registration whose next message was appended first, among those that have one. */
export function earliestPending(list: readonly TickRegistration[]): TickRegistration | undefined {
  let earliest: TickRegistration | undefined;
  let order = Infinity;
  for (const registration of list) {
    const { fanout, from } = registration;
    if (from < fanout.count && fanout.orderOf(from) < order) {
      earliest = registration;
      order = fanout.orderOf(from);
    }
  }
  return earliest;
}

/** What a socket that takes tick fan-outs does for its registrations. */
export interface TickSocket {
  /** Queues, in order, every message of its fan-outs it has not queued yet. */
  catchUpTicks(): void;
  /** Forgets `registration`. */
  leaveTick(registration: TickRegistration): void;
}
