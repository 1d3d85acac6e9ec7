/**
 * A group's fan-out during one tick. The first message of a tick registers every member once:
 * members whose socket takes whole ticks (see transport/tick-fanout.ts) get the tick's
 * messages from one shared list when the socket writes; the others (resuming, encrypted, not
 * batching, remote) get each message delivered as it comes. The messages after the first
 * thus cost the group O(1) each instead of O(members).
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { BATCH_MAX_BYTES } from '../transport/outbound.js';
import { TickFanout, type TickRegistration } from '../transport/tick-fanout.js';
import type { FanoutMessage } from './fanout-message.js';
import type { Subscriber } from './subscriber.js';

/** A group's fan-out from the first message of a tick until the sockets write the tick. */
export class GroupTick {
  private readonly fanout = new TickFanout();
  /** Members that take the tick's messages through their socket: their places, by member id. */
  private readonly takers = new Map<string, TickRegistration>();
  /** The same members. */
  private readonly takerMembers: Subscriber[] = [];
  /** Members delivered to message by message. */
  private readonly others: Subscriber[] = [];
  /** Codecs of the takers: a message must fit one batch in each. */
  private readonly codecs: Codec[] = [];

  /** @param members the group's members when its first message of the tick is published */
  constructor(members: Iterable<Subscriber>, onRelease: () => void) {
    this.fanout.onRelease = onRelease;
    for (const member of members) this.add(member);
  }

  /** False once the sockets write the tick: the group's next message starts a new one. */
  get open(): boolean {
    return !this.fanout.closed;
  }

  /** A member that joined the group during the tick: it gets the messages after now. */
  add(member: Subscriber): void {
    const registration = member.joinTick?.(this.fanout);
    if (registration === undefined) {
      this.others.push(member);
      return;
    }
    this.takers.set(member.id, registration);
    this.takerMembers.push(member);
    const { codec } = registration;
    if (!this.codecs.includes(codec)) this.codecs.push(codec);
  }

  /** A member that left the group during the tick: it gets nothing after now. */
  remove(member: Pick<Subscriber, 'id'>): void {
    const registration = this.takers.get(member.id);
    if (registration !== undefined) {
      this.takers.delete(member.id);
      registration.leave();
    }
    const list = registration !== undefined ? this.takerMembers : this.others;
    const index = list.findIndex((other) => other.id === member.id);
    if (index !== -1) list.splice(index, 1);
  }

  /**
   * Delivers `message` to every member but `withoutId`. Returns the number of deliveries.
   * Throws `SerializationError` when the message cannot be encoded.
   */
  publish(message: FanoutMessage, withoutId: string | undefined): number {
    let delivered = 0;
    if (this.takers.size > 0) {
      if (this.batchable(message)) delivered += this.append(message, withoutId);
      else {
        // Larger than a batch: each socket writes it alone, after what it holds.
        for (const member of this.takerMembers) {
          if (member.id !== withoutId && member.deliver(message)) delivered++;
        }
      }
    }
    for (const member of this.others) {
      if (member.id !== withoutId && member.deliver(message)) delivered++;
    }
    return delivered;
  }

  private batchable(message: FanoutMessage): boolean {
    for (const codec of this.codecs) {
      if (message.frameFor(codec).bound > BATCH_MAX_BYTES) return false;
    }
    return true;
  }

  private append(message: FanoutMessage, withoutId: string | undefined): number {
    const skipped = withoutId === undefined ? undefined : this.takers.get(withoutId);
    // The sender's socket writes what it has before the message it must not get.
    skipped?.catchUp();
    this.fanout.append(message);
    if (skipped === undefined) return this.takers.size;
    skipped.from = this.fanout.count;
    return this.takers.size - 1;
  }
}
