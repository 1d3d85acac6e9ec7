/**
 * SUBSCRIBE, UNSUBSCRIBE and SUBSCRIBE_SINCE of a client: middlewares first, then the
 * membership limits, presence, the resume from a position, and a reply that waits until every
 * node knows of this node's interest in the group.
 * @module
 */
import { LimitError } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import { FrameType, type SubscribeBody, type WireGroupPosition } from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { checkPresenceData, joinGroup } from './presence-requests.js';
import type { RequestRunner } from './request-runner.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** The membership requests of one server's client connections. */
export class MembershipRequests<S extends ServerCore> {
  /** Subscriptions refused by the server-wide `maxGroups` or `maxSubscriptions`. */
  refused = 0;

  constructor(
    private readonly server: S,
    private readonly runner: RequestRunner<S>,
  ) {}

  handle(
    ws: ServerConnection,
    type: typeof FrameType.SUBSCRIBE | typeof FrameType.UNSUBSCRIBE,
    id: number,
    groupId: string,
    raw: WirePayload,
    options?: SubscribeBody,
    /** SUBSCRIBE_SINCE: where to resume from (null: fresh); undefined for SUBSCRIBE. */
    since?: WireGroupPosition | null,
  ): void {
    const subscribe = type === FrameType.SUBSCRIBE;
    // A subscription may wait (async middleware, cluster confirmation, resume): bounded, with
    // room for a client that subscribes to all its groups at once (after a reconnect).
    if (subscribe && this.runner.full(ws, id, this.server.options.maxGroupsPerConnection)) return;
    const presence = subscribe && options?.presence === true;
    const mes: WsMeshMessage = {
      kind: subscribe ? 'subscribe' : 'unsubscribe',
      route: null,
      act: null,
      // A resume shows its position, so a middleware can refuse reading back history.
      data: {
        id: groupId,
        ...(presence ? { presence, data: options?.data ?? null } : {}),
        ...(since === undefined || since === null ? {} : { since }),
      },
      group: groupId,
      awaitRes: id !== 0,
    };
    this.runner.runMiddlewaresOnly(ws, mes, raw, id, (stopped) => {
      if (ws.open && !stopped) {
        if (subscribe) {
          const { groups } = this.server;
          if (presence) checkPresenceData(this.server, ws, groupId, options?.data);
          if (!ws.groups.has(groupId)) this.checkLimits(ws, groupId);
          // The reply waits until every node knows of this node's interest in the group, so
          // a message published anywhere after it reaches the new member.
          const wait: { confirmed?: Promise<string[]> | undefined } = {};
          const join = (): void => {
            if (presence) joinGroup(groups, ws, groupId, options?.data);
            else groups.addSubscriber({ id: groupId, ws });
            wait.confirmed = groups.observer?.confirmInterest?.(groupId);
          };
          const listen = (): boolean => {
            // Events start once the member's view is complete: no joins for those already there.
            if (presence) groups.presenceTable?.listen(groupId, ws);
            return ws.groups.has(groupId);
          };
          if (since !== undefined) {
            return this.resume(ws, groupId, since, join).then(async () => {
              await wait.confirmed;
              return listen();
            });
          }
          join();
          if (wait.confirmed !== undefined) return wait.confirmed.then(listen);
          return listen();
        } else this.server.groups.deleteSubscriber({ id: groupId, ws });
      }
      // The reply is the membership after processing, so the client knows whether it applied.
      return ws.groups.has(groupId);
    });
  }

  /**
   * SUBSCRIBE_SINCE: joins, delivers what was missed, then RECOVER (when the group keeps
   * history here); resolves with the membership, the REPLY (PROTOCOL.md 2.10).
   */
  private async resume(
    ws: ServerConnection,
    groupId: string,
    since: WireGroupPosition | null,
    join: () => void,
  ): Promise<boolean> {
    const result = await this.server.resumes.resume(ws, groupId, since, join);
    if (result !== undefined && ws.open && ws.groups.has(groupId)) {
      try {
        ws.connection.send([FrameType.RECOVER, groupId, result.recovered, result.position]);
      } catch {
        // Closed or slow consumer: the close handler cleans up.
      }
    }
    return ws.groups.has(groupId);
  }

  /**
   * Throws `LimitError` when joining `groupId` would pass a limit: groups per connection,
   * subscriptions on the server, or groups on the server (a new group only).
   */
  private checkLimits(ws: ServerConnection, groupId: string): void {
    const { maxGroupsPerConnection, maxSubscriptions, maxGroups } = this.server.options;
    const { groups } = this.server;
    if (ws.groups.size >= maxGroupsPerConnection) {
      throw new LimitError(`A connection may be in at most ${maxGroupsPerConnection} groups`);
    }
    if (maxSubscriptions > 0 && groups.subscriptions >= maxSubscriptions) {
      this.refused++;
      throw new LimitError(`This server holds its maximum of ${maxSubscriptions} subscriptions`);
    }
    if (maxGroups > 0 && groups.size >= maxGroups && groups.get({ id: groupId }) === undefined) {
      this.refused++;
      throw new LimitError(`This server holds its maximum of ${maxGroups} groups`);
    }
  }
}
