/**
 * Acknowledgements and presence over NATS.
 *
 * Subscription: after subscribing to a group's subjects and a `flush()` (the NATS server has
 * the interest), this node asks every other node, on its inbox, for its presence members of
 * the group. NATS forwards a subscription's interest on a route before any message that
 * follows it, so once a node has answered, its server knows the new interest and anything
 * that node publishes afterwards reaches this one; the answers are the presence snapshots.
 *
 * Acknowledged publish: the envelope is marked; after publishing, this node asks every other
 * node for its deliveries of that message. The question travels behind the message, so a node
 * that has it answers its count, a node with subscribers that lacks it answers -1 (lost), and
 * a node without subscribers for the target answers null (not counted).
 *
 * Presence changes go on the group's presence subject, which only nodes subscribed to the
 * group receive.
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type {
  BackplaneDeliveries,
  BackplaneHost,
  BackplaneMessage,
} from '../backplane/backplane.js';
import type { PresenceMember } from '../groups/presence-table.js';
import type { Codec } from '../protocol/codec.js';
import type { GroupTarget, PresenceEntry } from '../protocol/frames.js';
import type { NatsGroups } from './groups.js';
import type { NodeEntry } from './nodes.js';
import type { Subjects } from './subjects.js';

/** Inbox suffix of presence requests (`[groupId]` -> `[nodeId, entries]`). */
export const PRESENCE_SUFFIX = 'i';
/** Inbox suffix of delivery requests (`[instance, seq, target]` -> count, -1 or null). */
export const DELIVERED_SUFFIX = 'a';

function isEntries(value: unknown): value is PresenceEntry[] {
  return (
    Array.isArray(value) &&
    value.every(
      (entry) =>
        Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string',
    )
  );
}

function isTarget(value: unknown): value is GroupTarget {
  return (
    value === null ||
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((id) => typeof id === 'string'))
  );
}

/** This node's acknowledgements and presence on NATS. */
export class NatsClusterAcks {
  /**
   * Confirmations of this node's groups, made or under way: later members of a group wait
   * for the same one instead of asking every node again. Dropped with the subscription, and
   * when a confirmation came back incomplete (the next subscription asks again).
   */
  private readonly confirmations = new Map<string, Promise<string[]>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly instance: string,
    private readonly host: BackplaneHost,
    private readonly groups: NatsGroups,
    private readonly nodes: () => Iterable<NodeEntry>,
  ) {
    groups.onPresence = (data) => this.presenceMessage(data);
  }

  /** A request on this node's inbox; false when the suffix is not one of these. */
  inbox(suffix: string, msg: Msg): boolean {
    if (suffix === PRESENCE_SUFFIX) {
      const value = this.decode(msg.data);
      const groupId = Array.isArray(value) ? value[0] : undefined;
      if (typeof groupId !== 'string') return true;
      this.respond(msg, [this.host.id, this.host.presence?.localEntries(groupId) ?? []]);
      return true;
    }
    if (suffix === DELIVERED_SUFFIX) {
      const value = this.decode(msg.data);
      if (!Array.isArray(value)) return true;
      const [instance, seq, target]: unknown[] = value;
      if (typeof instance !== 'string' || typeof seq !== 'number' || !isTarget(target)) return true;
      const count = this.groups.deliveredCount(instance, seq);
      this.respond(msg, [count ?? (this.interested(target) ? -1 : null)]);
      return true;
    }
    return false;
  }

  /**
   * Resolves once every other node confirmed this node's (flushed) interest in `groupId`;
   * their presence members are applied on the way. With the nodes that did not answer.
   */
  confirm(groupId: string, timeout: number): Promise<string[]> {
    const known = this.confirmations.get(groupId);
    if (known !== undefined) return known;
    const confirmation = this.ask(groupId, timeout);
    this.confirmations.set(groupId, confirmation);
    void confirmation.then(
      (missing) => {
        if (missing.length > 0 && this.confirmations.get(groupId) === confirmation)
          this.confirmations.delete(groupId);
      },
      () => {
        if (this.confirmations.get(groupId) === confirmation) this.confirmations.delete(groupId);
      },
    );
    return confirmation;
  }

  /** This node left `groupId`: a later first member confirms afresh. */
  forget(groupId: string): void {
    this.confirmations.delete(groupId);
  }

  private async ask(groupId: string, timeout: number): Promise<string[]> {
    await this.nc.flush();
    const answers = await this.askPresence(groupId, timeout);
    const missing: string[] = [];
    for (const [node, entries] of answers) {
      if (entries === undefined) missing.push(node);
      else this.host.presence?.applyRemote(node, groupId, true, entries, []);
    }
    return missing;
  }

  /** The presence members of `groupId` on every other node that answers in time. */
  async fetch(groupId: string, timeout: number): Promise<PresenceMember[]> {
    const members: PresenceMember[] = [];
    for (const [node, entries] of await this.askPresence(groupId, timeout))
      for (const entry of entries ?? [])
        members.push({ clientId: entry[1], data: entry[2] ?? null, node });
    return members;
  }

  /** Publishes and asks every other node for its deliveries. */
  async publishAcked(message: BackplaneMessage, timeout: number): Promise<BackplaneDeliveries> {
    const seq = this.groups.publish(message, true);
    const question = this.codec.encode([this.instance, seq, message.target]) as Uint8Array;
    const result: BackplaneDeliveries = { nodes: {}, missing: [] };
    await Promise.all(
      [...this.nodes()].map(async (node) => {
        try {
          const reply = await this.nc.request(
            `${this.subjects.inboxOf(node.instance)}.${DELIVERED_SUFFIX}`,
            question,
            { timeout },
          );
          const value = this.decode(reply.data);
          const count = Array.isArray(value) ? (value[0] as unknown) : undefined;
          if (count === null) return;
          if (typeof count === 'number' && count >= 0) result.nodes[node.id] = count;
          else result.missing.push(node.id);
        } catch {
          result.missing.push(node.id);
        }
      }),
    );
    return result;
  }

  /** This node's members of `groupId` changed: nodes subscribed to the group hear. */
  presenceChanged(groupId: string, joins: PresenceEntry[], leaves: string[], reset = false): void {
    try {
      const bytes = this.codec.encode([
        this.host.id,
        this.instance,
        groupId,
        reset,
        joins,
        leaves,
      ]) as Uint8Array;
      this.nc.publish(this.subjects.presence(groupId), bytes);
    } catch (error) {
      this.host.reportError(error);
    }
  }

  /**
   * A node joined (or came back after the others timed it out and dropped its members): every
   * group's members of this node go out again, as snapshots.
   */
  republish(): void {
    const table = this.host.presence;
    if (table === undefined) return;
    for (const groupId of table.localGroups())
      this.presenceChanged(groupId, table.localEntries(groupId), [], true);
  }

  private presenceMessage(data: Uint8Array): void {
    const value = this.decode(data);
    if (!Array.isArray(value)) return;
    const [node, instance, groupId, reset, joins, leaves]: unknown[] = value;
    if (
      instance === this.instance ||
      typeof node !== 'string' ||
      typeof groupId !== 'string' ||
      typeof reset !== 'boolean' ||
      !isEntries(joins) ||
      !Array.isArray(leaves) ||
      !leaves.every((key) => typeof key === 'string')
    )
      return;
    this.host.presence?.applyRemote(node, groupId, reset, joins, leaves as string[]);
  }

  /** Each other node's answer to a presence request: its entries, or undefined (no answer). */
  private async askPresence(
    groupId: string,
    timeout: number,
  ): Promise<[string, PresenceEntry[] | undefined][]> {
    const question = this.codec.encode([groupId]) as Uint8Array;
    return Promise.all(
      [...this.nodes()].map(async (node): Promise<[string, PresenceEntry[] | undefined]> => {
        try {
          const reply = await this.nc.request(
            `${this.subjects.inboxOf(node.instance)}.${PRESENCE_SUFFIX}`,
            question,
            { timeout },
          );
          const value = this.decode(reply.data);
          const entries = Array.isArray(value) ? (value[1] as unknown) : undefined;
          return [node.id, isEntries(entries) ? entries : undefined];
        } catch {
          return [node.id, undefined];
        }
      }),
    );
  }

  private interested(target: GroupTarget): boolean {
    if (target === null) return this.groups.size > 0;
    if (typeof target === 'string') return this.groups.has(target);
    return target.some((id) => this.groups.has(id));
  }

  private respond(msg: Msg, value: readonly unknown[]): void {
    if (msg.reply === undefined) return;
    try {
      msg.respond(this.codec.encode(value) as Uint8Array);
    } catch (error) {
      this.host.reportError(error);
    }
  }

  private decode(data: Uint8Array): unknown {
    try {
      return this.codec.decode(data);
    } catch {
      return undefined;
    }
  }
}
