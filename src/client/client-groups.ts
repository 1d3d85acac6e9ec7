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
}

const GROUP_MESSAGE_KEYS: OptionKeys<GroupMessageOptions> = {
  id: true,
  route: true,
  act: true,
  data: true,
  notSendMe: true,
  awaitRes: true,
  timeout: true,
};

/** The PUBLISH frame of `sendMesToGroup`; throws `InvalidArgumentError` for bad options. */
export function publishFrame(options: GroupMessageOptions): (id: number) => PublishFrame {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('sendMesToGroup() takes an options object');
  }
  refuseUnknownOptions(options, GROUP_MESSAGE_KEYS, 'sendMesToGroup()');
  const { id, route, act, data, notSendMe, timeout } = options;
  if (
    id !== undefined &&
    !isName(id) &&
    !(Array.isArray(id) && id.length > 0 && id.every(isName))
  ) {
    throw new InvalidArgumentError('sendMesToGroup: id must be a group id or ids');
  }
  checkSendOptions({ route, act, timeout });
  return (requestId) => [
    FrameType.PUBLISH,
    requestId,
    id ?? null,
    route ?? null,
    act ?? null,
    data === undefined ? null : data,
    notSendMe === true,
  ];
}

/** True for the error of a request cut short by its connection closing. */
function connectionClosed(error: unknown): boolean {
  return error instanceof WsMeshError && error.code === ErrorCode.CONNECTION_CLOSED;
}

/** The group memberships of one client. */
export class ClientGroups {
  private readonly ids = new Set<string>();
  /** Positions in groups that keep history (docs/recovery.md). */
  readonly positions = new ClientPositions();
  /** The live server takes SUBSCRIBE_SINCE (its WELCOME said `recovery`). */
  private recovery = false;
  /** Told when a resumed group is live again. */
  onRecover: ((event: RecoverEvent) => void) | undefined;

  constructor(
    /** Reply timeout of SUBSCRIBE and UNSUBSCRIBE requests. */
    private readonly timeout: number,
    private readonly reportError: (error: unknown) => void,
  ) {}

  /** SUBSCRIBE, or SUBSCRIBE_SINCE with the group's position when the server takes it. */
  private subscribeFrame(groupId: string): RequestBuilder {
    if (!this.recovery) return (requestId) => [FrameType.SUBSCRIBE, requestId, groupId];
    const since = this.positions.get(groupId);
    return (requestId) => [FrameType.SUBSCRIBE_SINCE, requestId, groupId, since];
  }

  /** RECOVER: the group is live; its position from the server; `recover` after a resume. */
  recovered(groupId: string, recovered: boolean | null, position: GroupPosition): void {
    if (!this.ids.has(groupId)) return;
    this.positions.set(groupId, position);
    if (recovered !== null) this.onRecover?.({ group: groupId, recovered });
  }

  /** Ids of the groups the client is in. */
  list(): string[] {
    return [...this.ids];
  }

  /**
   * Joins a group: at once on `connection` (the live one, if any), else when the next
   * connection opens. Refused subscriptions reject.
   */
  async subscribe(options: SubscribeOptions, connection: Connection | undefined): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('subscribe: id must be a non-empty string');
    const since = options.since === undefined ? undefined : sinceFor(options.since, id);
    if (typeof since === 'string') throw new InvalidArgumentError(since);
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (since !== undefined) this.positions.set(id, since);
    if (connection === undefined) return; // applied when the connection opens
    let member: unknown;
    try {
      member = await connection.request(this.subscribeFrame(id), { timeout: this.timeout });
    } catch (error) {
      if (connectionClosed(error)) return;
      this.ids.delete(id);
      this.positions.delete(id);
      throw error;
    }
    if (member === false) {
      this.ids.delete(id);
      this.positions.delete(id);
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
    if (!this.ids.delete(id)) return;
    this.positions.delete(id);
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
    for (const groupId of this.ids) {
      connection.request(this.subscribeFrame(groupId)).then(
        (member) => {
          if (member !== false) return;
          this.ids.delete(groupId);
          this.positions.delete(groupId);
          this.reportError(
            new WsMeshError(ErrorCode.SUBSCRIBE_REFUSED, `The server did not restore "${groupId}"`),
          );
        },
        (error: unknown) => {
          if (connectionClosed(error)) return;
          this.ids.delete(groupId);
          this.positions.delete(groupId);
          this.reportError(error);
        },
      );
    }
  }

  /** The server changed a membership itself (a route, a group deletion...): follow it. */
  membershipChanged(groupId: string, joined: boolean): void {
    if (joined) this.ids.add(groupId);
    else {
      this.ids.delete(groupId);
      this.positions.delete(groupId);
    }
  }
}
