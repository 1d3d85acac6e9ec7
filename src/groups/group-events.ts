/**
 * Events of `server.groups`, for room lists and member counts.
 * @module
 */
import type { Group } from './group.js';
import type { Subscriber } from './subscriber.js';

/** Payload of every group event. */
export interface GroupEvent<Member extends Subscriber = Subscriber> {
  /** The group. */
  group: Group<Member>;
  /** The member that joined or left, or whose subscription created the group. */
  ws?: Member;
}

/** Events of `server.groups`. Each payload is `{group, ws?}`. */
export interface GroupManagerEvents<Member extends Subscriber = Subscriber> {
  /** A group was created: by `groups.add`, or by a first subscription (then with `ws`). */
  add: GroupEvent<Member>;
  /**
   * A group was deleted: by `groups.delete` (here or on a clone), or because the last member
   * of a group that exists only for its members left. Its members get `unsubscribe` first.
   */
  delete: GroupEvent<Member>;
  /** `ws` joined the group. */
  subscribe: GroupEvent<Member> & { ws: Member };
  /** `ws` left the group (also when it disconnected, or the group was deleted). */
  unsubscribe: GroupEvent<Member> & { ws: Member };
}
