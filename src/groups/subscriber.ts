/**
 * What a group member is: anything that can take a fan-out message. Local connections are
 * subscribers; a remote clone can be one too.
 * @module
 */
import type { TickFanout, TickRegistration } from '../transport/tick-fanout.js';
import type { FanoutMessage } from './fanout-message.js';

/** A member of groups. */
export interface Subscriber {
  /** Unique id among subscribers of this server. */
  readonly id: string;
  /** Ids of the groups this subscriber is in (kept in step by the group manager). */
  readonly groups: Set<string>;
  /** @internal Delivers a message; returns false when the subscriber could not take it. */
  deliver(message: FanoutMessage): boolean;
  /**
   * @internal Takes the messages of `fanout` from now on, this tick, through its socket
   * (see groups/group-tick.ts); undefined when each message must go through `deliver`.
   */
  joinTick?(fanout: TickFanout): TickRegistration | undefined;
  /** @internal Its place in `fanout`, when it joined it. */
  tickIn?(fanout: TickFanout): TickRegistration | undefined;
  /** @internal Told when it joins or leaves a group, whoever made the change. */
  membershipChanged?(groupId: string, joined: boolean): void;
}
