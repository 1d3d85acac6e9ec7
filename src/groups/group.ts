/**
 * A group: an id, user data and a map of subscribers.
 * @module
 */
import type { GroupTarget } from '../protocol/frames.js';
import type { FanoutMessage } from './fanout-message.js';
import { GroupTick } from './group-tick.js';
import type { Subscriber } from './subscriber.js';

/** Options of `group.sendMes` and `server.groups.sendMes`. */
export interface GroupSendOptions {
  /** Route name. @default undefined */
  route?: string | undefined;
  /** Action within the route. @default undefined */
  act?: string | undefined;
  /** Payload. @default undefined */
  data?: unknown;
  /** Id of a subscriber (connection id) that must not get the message. @default undefined */
  withoutId?: string | undefined;
}

/** Hooks a group calls on its manager. @internal */
export interface GroupOwner {
  memberAdded(group: Group, subscriber: Subscriber): void;
  memberRemoved(group: Group, subscriber: Subscriber): void;
  publish(target: GroupTarget, options: GroupSendOptions): number;
}

/** A group of subscribers. */
export class Group<Member extends Subscriber = Subscriber> {
  /** Subscribers by id. */
  readonly subscribers = new Map<string, Member>();
  /**
   * Groups made with `groups.add` stay until `groups.delete`; groups that exist only because
   * someone subscribed disappear with their last subscriber.
   */
  persistent: boolean;
  /** Presence on or off for this group; undefined: the server's default. */
  presence: boolean | undefined;
  /** This tick's fan-out, until the sockets write it. */
  private tick: GroupTick | undefined;

  /** @internal */
  constructor(
    /** Group id. */
    readonly id: string,
    /** User data of the group. */
    public data: unknown,
    private readonly owner: GroupOwner,
    persistent: boolean,
  ) {
    this.persistent = persistent;
  }

  /** Adds a subscriber. Returns false if it was already a member. */
  addSubscriber(subscriber: Member): boolean {
    if (this.subscribers.has(subscriber.id)) return false;
    this.subscribers.set(subscriber.id, subscriber);
    subscriber.groups.add(this.id);
    if (this.tick?.open === true) this.tick.add(subscriber);
    this.owner.memberAdded(this, subscriber);
    subscriber.membershipChanged?.(this.id, true);
    return true;
  }

  /** The subscribers as an array. */
  getSubscribers(): Member[] {
    return [...this.subscribers.values()];
  }

  /** Removes a subscriber. Returns false if it was not a member. */
  deleteSubscriber(subscriber: Pick<Member, 'id' | 'groups'>): boolean {
    const member = this.subscribers.get(subscriber.id);
    if (member === undefined) return false;
    this.subscribers.delete(subscriber.id);
    member.groups.delete(this.id);
    if (this.tick?.open === true) this.tick.remove(member);
    this.owner.memberRemoved(this, member);
    member.membershipChanged?.(this.id, false);
    return true;
  }

  /**
   * @internal Delivers `message` to every local subscriber but `withoutId`, through this
   * tick's fan-out. Returns the number of deliveries.
   */
  fanOut(message: FanoutMessage, withoutId: string | undefined): number {
    let tick = this.tick;
    if (tick === undefined || !tick.open) {
      const started: GroupTick = new GroupTick(this.subscribers, () => {
        if (this.tick === started) this.tick = undefined;
      });
      tick = started;
      this.tick = started;
    }
    return tick.publish(message, withoutId);
  }

  /** Sends a message to every subscriber of this group (on every clone). Returns local deliveries. */
  sendMes(options: GroupSendOptions = {}): number {
    return this.owner.publish(this.id, options);
  }
}

/** Delivers `message` to each member of several groups once. Returns the number of deliveries. */
function deliverToMembers(
  groups: Iterable<Group>,
  message: FanoutMessage,
  withoutId: string | undefined,
): number {
  let delivered = 0;
  // A subscriber of several target groups gets the message once.
  const seen = new Set<string>();
  if (withoutId !== undefined) seen.add(withoutId);
  for (const group of groups) {
    for (const subscriber of group.subscribers.values()) {
      if (seen.has(subscriber.id)) continue;
      seen.add(subscriber.id);
      if (subscriber.deliver(message)) delivered++;
    }
  }
  return delivered;
}

/**
 * Delivers `message` to the local members of its target (one group, several, or all), each
 * member once. Returns the number of deliveries. @internal
 */
export function deliverToTarget<Member extends Subscriber>(
  groups: ReadonlyMap<string, Group<Member>>,
  message: FanoutMessage,
  withoutId: string | undefined,
): number {
  const { target } = message;
  if (typeof target === 'string') {
    const group = groups.get(target);
    return group === undefined ? 0 : group.fanOut(message, withoutId);
  }
  if (target === null) return deliverToMembers(groups.values(), message, withoutId);
  const found: Group<Member>[] = [];
  for (const id of new Set(target)) {
    const group = groups.get(id);
    if (group !== undefined) found.push(group);
  }
  const [only] = found;
  if (found.length === 1 && only !== undefined) return only.fanOut(message, withoutId);
  return deliverToMembers(found, message, withoutId);
}
