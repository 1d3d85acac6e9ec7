/**
 * The groups of a client: the ids it is in, kept across reconnects (restored on every new
 * connection), subscribing and leaving, memberships the server changes, and the PUBLISH frame
 * of `sendMesToGroup`.
 * @module
 */
import { ErrorCode, InvalidArgumentError, WsMeshError } from '../errors.js';
import { FrameType, type PublishFrame, type RequestBuilder } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import { checkSendOptions } from '../routing/send-message.js';
import type { Connection } from '../transport/connection.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';
import { ClientPositions, sinceFor, type MessagePosition } from './client-positions.js';
import type { GroupPosition } from '../groups/positions.js';

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Group id. */
  id: string;
  /**
   * Resume from a saved position (`mes.position` of a message of this group): the server
   * sends what the client missed since, then `recover` tells whether it was complete.
   * @default undefined (from now)
   */
  since?: MessagePosition | undefined;
  /**
   * List this client (its id and `data`) in the group's presence, and receive `join` and
   * `leave` events of the group's presence. The group must have presence on.
   * @default false
   */
  presence?: boolean | undefined;
}

/** Payload of the client's `recover` event. */
export interface RecoverEvent {
  /** The group that was resumed. */
  group: string;
  /** False: messages were missed that no node could give back; resync the group. */
  recovered: boolean;
}

/** Options of `sendMesToGroup`. */
export interface GroupMessageOptions {
  /** One group id, several, or none for every group. @default undefined (every group) */
  id?: string | string[] | undefined;
  /** Route name. @default undefined */
  route?: string | undefined;
  /** Action within the route. @default undefined */
  act?: string | undefined;
  /** Payload. @default undefined */
  data?: unknown;
  /** Do not deliver the message back to this client. @default false */
  notSendMe?: boolean | undefined;
  /** Resolve with the server's answer (number of deliveries on that server). @default false */
  awaitRes?: boolean | undefined;
  /** Reply timeout in ms. @default the client's `awaitResTimeout` */
  timeout?: number | undefined;
  /**
   * `'cluster'` (with `awaitRes: true`): resolve with `{ delivered, nodes }` once every node
   * with subscribers in the target delivered the message; reject with `TimeoutError` naming
   * the nodes that did not within the server's `clusterAckTimeout` (`error.data.missing`).
   * @default undefined (the reply counts the deliveries of the client's own server)
   */
  ack?: 'cluster' | undefined;
}

/** Payload of the client's `join` and `leave` events. */
export interface PresenceEvent {
  /** The group. */
  group: string;
  /** Client id of the member that joined or left. */
  clientId: string;
  /** What that member attached (its client `data`). */
  data: unknown;
  /** Id of the node the member is (or was) connected to. */
  node: string;
}

/** A member of a group's presence, as `client.presence()` lists it. */
export interface PresenceListEntry {
  clientId: string;
  data: unknown;
  node: string;
}

/** Turns the rows of a PRESENCE reply into members. */
export function presenceRows(reply: unknown): PresenceListEntry[] {
  if (!Array.isArray(reply)) return [];
  const members: PresenceListEntry[] = [];
  const rows: unknown[] = reply;
  for (const row of rows) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[2] !== 'string') continue;
    members.push({ clientId: row[0], data: row[1] ?? null, node: row[2] });
  }
  return members;
}

const GROUP_MESSAGE_KEYS: OptionKeys<GroupMessageOptions> = {
  id: true,
  route: true,
  act: true,
  data: true,
  notSendMe: true,
  awaitRes: true,
  timeout: true,
  ack: true,
};

const SUBSCRIBE_KEYS: OptionKeys<SubscribeOptions> = { id: true, since: true, presence: true };

/** The PUBLISH frame of `sendMesToGroup`; throws `InvalidArgumentError` for bad options. */
export function publishFrame(options: GroupMessageOptions): (id: number) => PublishFrame {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('sendMesToGroup() takes an options object');
  }
  refuseUnknownOptions(options, GROUP_MESSAGE_KEYS, 'sendMesToGroup()');
  const { id, route, act, data, notSendMe, timeout, ack } = options;
  if (ack !== undefined && ack !== 'cluster')
    throw new InvalidArgumentError("sendMesToGroup: ack must be 'cluster'");
  if (ack !== undefined && options.awaitRes !== true)
    throw new InvalidArgumentError("sendMesToGroup: ack: 'cluster' needs awaitRes: true");
  if (
    id !== undefined &&
    !isName(id) &&
    !(Array.isArray(id) && id.length > 0 && id.every(isName))
  ) {
    throw new InvalidArgumentError('sendMesToGroup: id must be a group id or ids');
  }
  checkSendOptions({ route, act, timeout });
  const target = id ?? null;
  const body = data === undefined ? null : data;
  const quiet = notSendMe === true;
  if (ack === undefined)
    return (requestId) => [
      FrameType.PUBLISH,
      requestId,
      target,
      route ?? null,
      act ?? null,
      body,
      quiet,
    ];
  return (requestId) => [
    FrameType.PUBLISH,
    requestId,
    target,
    route ?? null,
    act ?? null,
    body,
    quiet,
    ack,
  ];
}

/** True for the error of a request cut short by its connection closing. */
function connectionClosed(error: unknown): boolean {
  return error instanceof WsMeshError && error.code === ErrorCode.CONNECTION_CLOSED;
}

/** The group memberships of one client. */
export class ClientGroups {
  /** Group ids, each with whether the client asked for presence in it. */
  private readonly ids = new Map<string, boolean>();
  /** Positions in groups that keep history (docs/recovery.md). */
  readonly positions = new ClientPositions();
  /** The live server takes SUBSCRIBE_SINCE (its WELCOME said `recovery`). */
  private recovery = false;
  /** Told when a resumed group is live again. */
  onRecover: ((event: RecoverEvent) => void) | undefined;
  /** A PRESENCE_EVENT: handed to the client's `join`/`leave` listeners. */
  onPresenceEvent: ((event: PresenceEvent, joined: boolean) => void) | undefined;

  constructor(
    /** Reply timeout of SUBSCRIBE and UNSUBSCRIBE requests. */
    private readonly timeout: number,
    private readonly reportError: (error: unknown) => void,
    /** The client's `data`, listed in presence. */
    private readonly presenceData: () => unknown = () => null,
  ) {}

  /** Ids of the groups the client is in. */
  list(): string[] {
    return [...this.ids.keys()];
  }

  /**
   * SUBSCRIBE, or SUBSCRIBE_SINCE with the group's position when the server takes it; with
   * presence options when asked for.
   */
  private subscribeFrame(groupId: string, presence: boolean): RequestBuilder {
    const options = presence ? { presence: true, data: this.presenceData() ?? null } : undefined;
    if (this.recovery) {
      const since = this.positions.get(groupId);
      return options === undefined
        ? (requestId) => [FrameType.SUBSCRIBE_SINCE, requestId, groupId, since]
        : (requestId) => [FrameType.SUBSCRIBE_SINCE, requestId, groupId, since, options];
    }
    return options === undefined
      ? (requestId) => [FrameType.SUBSCRIBE, requestId, groupId]
      : (requestId) => [FrameType.SUBSCRIBE, requestId, groupId, options];
  }

  /** RECOVER: the group is live; its position from the server; `recover` after a resume. */
  recovered(groupId: string, recovered: boolean | null, position: GroupPosition): void {
    if (!this.ids.has(groupId)) return;
    this.positions.set(groupId, position);
    if (recovered !== null) this.onRecover?.({ group: groupId, recovered });
  }

  /**
   * Joins a group: at once on `connection` (the live one, if any), else when the next
   * connection opens. Refused subscriptions reject.
   */
  async subscribe(options: SubscribeOptions, connection: Connection | undefined): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('subscribe: id must be a non-empty string');
    refuseUnknownOptions(options, SUBSCRIBE_KEYS, 'subscribe()');
    if (options.presence !== undefined && typeof options.presence !== 'boolean')
      throw new InvalidArgumentError('subscribe: presence must be a boolean');
    const since = options.since === undefined ? undefined : sinceFor(options.since, id);
    if (typeof since === 'string') throw new InvalidArgumentError(since);
    const presence = options.presence === true;
    const known = this.ids.get(id);
    if (known === true || (known === false && !presence)) return;
    this.ids.set(id, presence);
    if (since !== undefined) this.positions.set(id, since);
    if (connection === undefined) return; // applied when the connection opens
    let member: unknown;
    try {
      member = await connection.request(this.subscribeFrame(id, presence), {
        timeout: this.timeout,
      });
    } catch (error) {
      if (connectionClosed(error)) return;
      if (known === undefined) this.forget(id);
      else this.ids.set(id, known);
      throw error;
    }
    if (member === false) {
      this.forget(id);
      throw new WsMeshError(
        ErrorCode.SUBSCRIBE_REFUSED,
        `The server did not apply the subscription to "${id}"`,
      );
    }
  }

  /** Leaves a group (telling the server on `connection`, the live one, if any). */
  async unsubscribe(options: { id: string }, connection: Connection | undefined): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('unsubscribe: id must be a non-empty string');
    if (!this.ids.has(id)) return;
    this.forget(id);
    if (connection === undefined) return;
    try {
      await connection.request((requestId) => [FrameType.UNSUBSCRIBE, requestId, id], {
        timeout: this.timeout,
      });
    } catch (error) {
      if (connectionClosed(error)) return;
      throw error;
    }
  }

  /**
   * A new connection is open: subscribes it to every group, from each group's position when
   * the server takes positions (`recovery`); refusals are reported.
   */
  restore(connection: Connection, recovery: boolean): void {
    this.recovery = recovery;
    for (const [groupId, presence] of this.ids) {
      connection.request(this.subscribeFrame(groupId, presence)).then(
        (member) => {
          if (member !== false) return;
          this.forget(groupId);
          this.reportError(
            new WsMeshError(ErrorCode.SUBSCRIBE_REFUSED, `The server did not restore "${groupId}"`),
          );
        },
        (error: unknown) => {
          if (connectionClosed(error)) return;
          this.forget(groupId);
          this.reportError(error);
        },
      );
    }
  }

  /** The server changed a membership itself (a route, a group deletion...): follow it. */
  membershipChanged(groupId: string, joined: boolean): void {
    if (!joined) this.forget(groupId);
    else if (!this.ids.has(groupId)) this.ids.set(groupId, false);
  }

  /** Drops a group and the client's position in it. */
  private forget(groupId: string): void {
    this.ids.delete(groupId);
    this.positions.delete(groupId);
  }
}
