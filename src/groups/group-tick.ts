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
import { TickFanout } from '../transport/tick-fanout.js';
import type { FanoutMessage } from './fanout-message.js';
import type { Subscriber } from './subscriber.js';

/** A group's fan-out from the first message of a tick until the sockets write the tick. */
export class GroupTick {
  private readonly fanout = new TickFanout();
  /** Members that take the tick's messages through their socket. */
  private takers = 0;
  /** Members delivered to message by message. */
  private readonly others: Subscriber[] = [];
  /** Codecs of the takers: a message must fit one batch in each. */
  private readonly codecs: Codec[] = [];

  /**
   * @param members the group's members, by id (the group's own map: read at the tick's first
   * message and to find a member left out of a message)
   */
  constructor(
    private readonly members: ReadonlyMap<string, Subscriber>,
    onRelease: () => void,
  ) {
    this.fanout.onRelease = onRelease;
    for (const member of members.values()) this.add(member);
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
    this.takers++;
    const { codec } = registration;
    if (!this.codecs.includes(codec)) this.codecs.push(codec);
  }

  /** A member that left the group during the tick: it gets nothing after now. */
  remove(member: Subscriber): void {
    const index = this.others.indexOf(member);
    if (index !== -1) {
      this.others.splice(index, 1);
      return;
    }
    // A taker (its socket may have dropped its place already, closed as a slow consumer).
    member.tickIn?.(this.fanout)?.leave();
    this.takers--;
  }

  /**
   * Delivers `message` to every member but `withoutId`. Returns the number of deliveries.
   * Throws `SerializationError` when the message cannot be encoded.
   */
  publish(message: FanoutMessage, withoutId: string | undefined): number {
    if (this.takers > 0 && !this.batchable(message)) {
      // Larger than a batch: each socket writes it alone, after what it holds.
      let delivered = 0;
      for (const member of this.members.values()) {
        if (member.id !== withoutId && member.deliver(message)) delivered++;
      }
      return delivered;
    }
    let delivered = this.takers > 0 ? this.append(message, withoutId) : 0;
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
    const left = withoutId === undefined ? undefined : this.members.get(withoutId);
    const skipped = left?.tickIn?.(this.fanout);
    // The left-out socket writes what it has before the message it must not get.
    skipped?.catchUp();
    this.fanout.append(message);
    if (skipped === undefined) return this.takers;
    skipped.from = this.fanout.count;
    return this.takers - 1;
  }
}
