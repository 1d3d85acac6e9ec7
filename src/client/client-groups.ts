/**
 * The groups of a client: the ids it is in, kept across reconnects (restored on every new
 * connection), subscribing and leaving, memberships the server changes, and the PUBLISH frame
 * of `sendMesToGroup`.
 * @module
 */
import { ErrorCode, InvalidArgumentError, WsMeshError } from '../errors.js';
import { FrameType, type PublishFrame } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import { checkSendOptions } from '../routing/send-message.js';
import type { Connection } from '../transport/connection.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';

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

  constructor(
    /** Reply timeout of SUBSCRIBE and UNSUBSCRIBE requests. */
    private readonly timeout: number,
    private readonly reportError: (error: unknown) => void,
  ) {}

  /** Ids of the groups the client is in. */
  list(): string[] {
    return [...this.ids];
  }

  /**
   * Joins a group: at once on `connection` (the live one, if any), else when the next
   * connection opens. Refused subscriptions reject.
   */
  async subscribe(options: { id: string }, connection: Connection | undefined): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('subscribe: id must be a non-empty string');
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (connection === undefined) return; // applied when the connection opens
    let member: unknown;
    try {
      member = await connection.request((requestId) => [FrameType.SUBSCRIBE, requestId, id], {
        timeout: this.timeout,
      });
    } catch (error) {
      if (connectionClosed(error)) return;
      this.ids.delete(id);
      throw error;
    }
    if (member === false) {
      this.ids.delete(id);
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

  /** A new connection is open: subscribes it to every group; refusals are reported. */
  restore(connection: Connection): void {
    for (const groupId of this.ids) {
      connection
        .request((requestId) => [FrameType.SUBSCRIBE, requestId, groupId])
        .then(
          (member) => {
            if (member !== false) return;
            this.ids.delete(groupId);
            this.reportError(
              new WsMeshError(
                ErrorCode.SUBSCRIBE_REFUSED,
                `The server did not restore "${groupId}"`,
              ),
            );
          },
          (error: unknown) => {
            if (connectionClosed(error)) return;
            this.ids.delete(groupId);
            this.reportError(error);
          },
        );
    }
  }

  /** The server changed a membership itself (a route, a group deletion...): follow it. */
  membershipChanged(groupId: string, joined: boolean): void {
    if (joined) this.ids.add(groupId);
    else this.ids.delete(groupId);
  }
}
