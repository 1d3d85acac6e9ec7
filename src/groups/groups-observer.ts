/**
 * What the groups of a server tell the cluster layer (the backplane relays it to the other
 * nodes), and what they ask of it: interest, publishes, deletions, acknowledgements and
 * presence.
 * @module
 */
import type { FanoutMessage } from './fanout-message.js';
import type { PresenceEntry, PresenceMember } from './presence-table.js';

/** Deliveries of an acknowledged publish, per node (this one included). */
export interface ClusterDeliveries {
  /** Deliveries on each node that answered, by node id. */
  nodes: Record<string, number>;
  /** Nodes that should have answered and did not in time. */
  missing: string[];
}

/** Observer of group changes, used by the cluster layer to relay across clones. @internal */
export interface GroupsObserver {
  /** A group got its first member on this server. */
  interestAdded?(groupId: string): void;
  /** A group lost its last member on this server. */
  interestRemoved?(groupId: string): void;
  /** A message was published on this server (not one relayed from a clone). */
  published?(message: FanoutMessage, withoutId: string | undefined): void;
  /** A group was deleted on this server by user code. */
  deleted?(groupId: string): void;
  /**
   * Resolves once every other node knows that this node has subscribers in `groupId` (so a
   * message published anywhere from then on reaches them), with the ids of the nodes that did
   * not confirm within the cluster's acknowledgement timeout.
   */
  confirmInterest?(groupId: string): Promise<string[]>;
  /** Like `published`, and resolves with the deliveries of every node the message went to. */
  publishAcked?(message: FanoutMessage, timeout: number): Promise<ClusterDeliveries>;
  /** Local presence members of `groupId` joined or left. */
  presenceChanged?(groupId: string, joins: PresenceEntry[], leaves: string[]): void;
  /** The presence of a group this node keeps no copy of, asked of the other nodes. */
  fetchPresence?(groupId: string, timeout: number): Promise<PresenceMember[]>;
}
