/**
 * `server.groups`: the groups of one server and the fan-out of group messages.
 * @module
 */
import { ErrorCode, InvalidArgumentError, TimeoutError, WsMeshError } from '../errors.js';
import type { GroupTarget } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import { Emitter } from '../util/emitter.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';
import { FanoutMessage } from './fanout-message.js';
import { deliverToTarget, Group, type GroupOwner, type GroupSendOptions } from './group.js';
import { HistoryStore, resolveHistory, type HistoryOptions } from './history.js';
import type { PresenceMember, PresenceTable } from './presence-table.js';
import type { GroupManagerEvents } from './group-events.js';
import type { GroupsObserver } from './groups-observer.js';
import type { Subscriber } from './subscriber.js';

export type { GroupEvent, GroupManagerEvents } from './group-events.js';
export type { ClusterDeliveries } from './groups-observer.js';

/** What `sendMesToGroup({ ack: 'cluster' })` resolves with. */
export interface ClusterDelivery {
  /** Deliveries over the whole cluster. */
  delivered: number;
  /** Deliveries by node id (every node with subscribers, this one included). */
  nodes: Record<string, number>;
}

/** Options of `groups.sendMes`: a target plus the message. */
export interface GroupsSendOptions extends GroupSendOptions {
  /** One group id, several, or none for every group. @default undefined (every group) */
  id?: string | string[] | undefined;
}

const GROUPS_SEND_KEYS: OptionKeys<GroupsSendOptions> = {
  id: true,
  route: true,
  act: true,
  data: true,
  withoutId: true,
};

function checkId(id: unknown, method: string): string {
  if (!isName(id))
    throw new InvalidArgumentError(`groups.${method}: id must be a non-empty string`);
  return id;
}

function checkOptionalName(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isName(value)) throw new InvalidArgumentError(`${what} must be a non-empty string`);
  return value;
}

// The GroupOwner hooks are left out of the published declarations, so the interface is not
// declared here (its members are checked where the groups hand `this` over).
/** The groups of a server. */
export class GroupManager<Member extends Subscriber = Subscriber> extends Emitter<
  GroupManagerEvents<Member>
> {
  private readonly groups = new Map<string, Group<Member>>();
  /** @internal Where a throwing listener is reported (the server's `error` event). */
  listenerError: ((error: unknown) => void) | undefined;
  /** @internal */
  observer: GroupsObserver | undefined;
  /** Deliveries made to local subscribers so far. */
  deliveries = 0;
  /** Deliveries skipped because the message exceeds the subscriber's announced maxPayload. */
  tooLarge = 0;
  /** Memberships (subscriber-group pairs) over all groups, for the server's `maxSubscriptions`. */
  subscriptions = 0;
  /** @internal Counts each publish under its route (the server's route counters). */
  routeCounters: { countOut(route: string | null): void } | undefined;
  /** @internal What this node keeps of each group's messages (docs/recovery.md). */
  history = new HistoryStore(undefined);
  /** @internal Presence of this server's groups (set by the server). */
  presenceTable: PresenceTable | undefined;
  /** @internal Groups have presence unless `groups.add` says otherwise (server option). */
  presenceByDefault = false;
  /** @internal How long a presence query waits for other nodes, in ms. */
  presenceTimeout = 5000;

  /** Number of groups. */
  get size(): number {
    return this.groups.size;
  }

  /**
   * Creates a group (kept until deleted), or updates its data; `ws` joins it when given.
   * `history` keeps the group's last `size` messages for `ttl` ms on this node (set it alike
   * on every clone), overriding the server's `history` option. `presence` turns the group's
   * presence on or off (default: the server's `presence.allGroups`).
   */
  add(options: {
    id: string;
    ws?: Member;
    data?: unknown;
    history?: HistoryOptions | undefined;
    presence?: boolean;
  }): Group<Member> {
    const id = checkId(options?.id, 'add');
    if (options.presence !== undefined && typeof options.presence !== 'boolean')
      throw new InvalidArgumentError('groups.add: presence must be a boolean');
    if (options.history !== undefined) {
      const config = resolveHistory(options.history, 'groups.add: history');
      if (typeof config === 'string') throw new InvalidArgumentError(config);
      this.history.configure(id, config);
    }
    let group = this.groups.get(id);
    if (group === undefined) {
      group = new Group<Member>(id, options.data, this as GroupOwner, true);
      if (options.presence !== undefined) group.presence = options.presence;
      this.groups.set(id, group);
      this.emitGroup('add', group, options.ws);
    } else {
      group.persistent = true;
      if (options.data !== undefined) group.data = options.data;
      if (options.presence !== undefined) group.presence = options.presence;
    }
    if (options.ws !== undefined) group.addSubscriber(options.ws);
    return group;
  }

  /** Deletes a group (on every clone, once clones are linked). Returns false if unknown. */
  delete(options: { id: string }): boolean {
    const id = checkId(options?.id, 'delete');
    const existed = this.remove(id);
    this.observer?.deleted?.(id);
    return existed;
  }

  /** @internal Deletes a group locally without telling observers. */
  remove(id: string): boolean {
    this.history.forget(id);
    const group = this.groups.get(id);
    if (group === undefined) return false;
    const hadMembers = group.subscribers.size > 0;
    this.subscriptions -= group.subscribers.size;
    this.groups.delete(id);
    const members = [...group.subscribers.values()];
    group.subscribers.clear();
    for (const subscriber of members) {
      subscriber.groups.delete(id);
      this.presenceTable?.leave(id, subscriber.id);
      subscriber.membershipChanged?.(id, false);
    }
    if (hadMembers) {
      this.presenceTable?.dropRemote(id);
      this.observer?.interestRemoved?.(id);
    }
    for (const subscriber of members) this.emitGroup('unsubscribe', group, subscriber);
    this.emitGroup('delete', group, undefined);
    return true;
  }

  /** The group with `id`, or undefined; without `id`, a Map of all groups. */
  get(options: { id: string }): Group<Member> | undefined;
  get(options?: { id?: undefined }): Map<string, Group<Member>>;
  get(options?: { id?: string }): Group<Member> | undefined | Map<string, Group<Member>> {
    if (options?.id === undefined) return new Map(this.groups);
    return this.groups.get(options.id);
  }

  /** Adds `ws` to group `id`, creating the group if needed. */
  addSubscriber(options: { id: string; ws: Member }): Group<Member> {
    const id = checkId(options?.id, 'addSubscriber');
    let group = this.groups.get(id);
    if (group === undefined) {
      group = new Group<Member>(id, undefined, this as GroupOwner, false);
      this.groups.set(id, group);
      this.emitGroup('add', group, options.ws);
    }
    group.addSubscriber(options.ws);
    return group;
  }

  /** Removes `ws` from group `id`, or from every group when `id` is omitted. */
  deleteSubscriber(options: { id?: string; ws: Pick<Member, 'id' | 'groups'> }): boolean {
    const { id, ws } = options;
    if (id === undefined) {
      let removed = false;
      const groups = ws.groups;
      if (groups.size === 0) return false;
      for (const groupId of [...groups]) {
        if (this.groups.get(groupId)?.deleteSubscriber(ws) === true) removed = true;
      }
      groups.clear();
      return removed;
    }
    return this.groups.get(checkId(id, 'deleteSubscriber'))?.deleteSubscriber(ws) ?? false;
  }

  /**
   * Sends a message to the subscribers of one group, several, or all (no `id`). A subscriber
   * of several target groups gets it once. Returns the number of local deliveries.
   */
  sendMes(options: GroupsSendOptions = {}): number {
    refuseUnknownOptions(options, GROUPS_SEND_KEYS, 'groups.sendMes()', {
      notSendMe: 'give the connection id to leave out as withoutId',
    });
    const { id } = options;
    if (id !== undefined && !isName(id) && !(Array.isArray(id) && id.every(isName))) {
      throw new InvalidArgumentError('groups.sendMes: id must be a group id or an array of ids');
    }
    return this.publish(id ?? null, options);
  }

  /** @internal */
  publish(target: GroupTarget, options: GroupSendOptions): number {
    const message = this.outgoing(target, options);
    const delivered = this.fanOutCounted(message, options.withoutId);
    this.observer?.published?.(message, options.withoutId);
    return delivered;
  }

  /** A message published on this node: numbered and kept when its groups keep history. */
  private outgoing(target: GroupTarget, options: GroupSendOptions): FanoutMessage {
    const route = checkOptionalName(options.route, 'route');
    const act = checkOptionalName(options.act, 'act');
    const { history } = this;
    const position = history.off ? undefined : history.stamp(target);
    const message = FanoutMessage.fromFields(
      target,
      route,
      act,
      options.data === undefined ? null : options.data,
      position,
    );
    this.routeCounters?.countOut(route);
    if (position !== undefined) history.keepPublished(message, position);
    return message;
  }

  /**
   * @internal Publishes like `publish`, then waits until every other node the message went to
   * reported its deliveries; rejects with `TimeoutError` naming the nodes that did not within
   * `timeout` ms (`error.data.missing`, and `error.data.nodes` for those that did).
   */
  async publishAcked(
    target: GroupTarget,
    options: GroupSendOptions,
    selfId: string,
    timeout: number,
  ): Promise<ClusterDelivery> {
    const message = this.outgoing(target, options);
    const local = this.fanOutCounted(message, options.withoutId);
    const nodes: Record<string, number> = { [selfId]: local };
    const remote = this.observer?.publishAcked?.(message, timeout);
    if (remote === undefined) {
      this.observer?.published?.(message, options.withoutId);
      return { delivered: local, nodes };
    }
    const { nodes: others, missing } = await remote;
    Object.assign(nodes, others);
    if (missing.length > 0) {
      throw new TimeoutError(
        `No delivery acknowledgement within ${timeout} ms from node${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
        { missing, nodes },
      );
    }
    let delivered = 0;
    for (const count of Object.values(nodes)) delivered += count;
    return { delivered, nodes };
  }

  /**
   * @internal Lists `ws` in the presence of `groupId` (it must be a member already). Throws
   * when the group's presence is off or full.
   */
  joinPresence(
    groupId: string,
    ws: Member & { presenceEvent(groupId: string, joined: boolean, who: PresenceMember): void },
    clientId: string,
    data: unknown,
  ): void {
    const table = this.presenceTable;
    const group = this.groups.get(groupId);
    if (table === undefined || !(group?.presence ?? this.presenceByDefault)) {
      throw new WsMeshError(
        ErrorCode.PRESENCE_OFF,
        `Group "${groupId}" has no presence (server option presence.allGroups, or groups.add({ id, presence: true }))`,
      );
    }
    table.join(groupId, ws.id, clientId, data, undefined);
  }

  /** True when `groupId` lists presence (its own setting, else the server's default). */
  presenceEnabled(groupId: string): boolean {
    return this.groups.get(groupId)?.presence ?? this.presenceByDefault;
  }

  /**
   * Who is in the presence of group `id`, on every node: from this node's copy when it has
   * subscribers in the group, else asked of the other nodes.
   */
  async presence(options: { id: string }): Promise<PresenceMember[]> {
    const id = checkId(options?.id, 'presence');
    const table = this.presenceTable;
    if (table === undefined) return [];
    if ((this.groups.get(id)?.subscribers.size ?? 0) > 0) return table.list(id);
    return (await this.observer?.fetchPresence?.(id, this.presenceTimeout)) ?? [];
  }

  /** Number of members in the presence of group `id` on every node, without the list. */
  async presenceCount(options: { id: string }): Promise<number> {
    const id = checkId(options?.id, 'presenceCount');
    const table = this.presenceTable;
    if (table === undefined) return 0;
    if ((this.groups.get(id)?.subscribers.size ?? 0) > 0) return table.count(id);
    return (await this.presence({ id })).length;
  }

  /**
   * Delivers a message from another node to local subscribers of its target, once: a copy
   * already kept in history is dropped. @internal
   */
  deliverLocal(message: FanoutMessage, withoutId: string | undefined): number {
    const { history } = this;
    // A copy already kept is dropped; a message a heal holds back is delivered by the heal.
    if (!history.off && (!history.keepReceived(message) || history.held(message.target))) return 0;
    return this.fanOutCounted(message, withoutId);
  }

  /** Delivers to local subscribers without the history checks (a heal's messages). @internal */
  fanOutCounted(message: FanoutMessage, withoutId: string | undefined): number {
    const delivered = deliverToTarget(this.groups, message, withoutId);
    this.deliveries += delivered;
    this.tooLarge += message.tooLarge;
    return delivered;
  }

  /** @internal */
  memberAdded(group: Group, subscriber: Subscriber): void {
    this.subscriptions++;
    if (group.subscribers.size === 1) this.observer?.interestAdded?.(group.id);
    this.emitGroup('subscribe', group as Group<Member>, subscriber as Member);
  }

  /** @internal */
  memberRemoved(group: Group, subscriber: Subscriber): void {
    this.subscriptions--;
    const emptied = group.subscribers.size === 0;
    const deleted = emptied && !group.persistent && this.groups.get(group.id) === group;
    if (deleted) this.groups.delete(group.id);
    this.presenceTable?.leave(group.id, subscriber.id);
    if (emptied) {
      this.presenceTable?.dropRemote(group.id);
      this.observer?.interestRemoved?.(group.id);
    }
    this.emitGroup('unsubscribe', group as Group<Member>, subscriber as Member);
    if (deleted) this.emitGroup('delete', group as Group<Member>, undefined);
  }

  /** Emits a group event, skipping the payload when nobody listens. */
  private emitGroup(
    event: keyof GroupManagerEvents,
    group: Group<Member>,
    ws: Member | undefined,
  ): void {
    if (this.listenerCount(event) === 0) return;
    const payload = ws === undefined ? { group } : { group, ws };
    this.emit(event, payload as GroupManagerEvents<Member>['subscribe']);
  }

  protected override reportListenerError(error: unknown): void {
    this.listenerError?.(error);
  }
}
