/**
 * What the server does with the frames of an open client connection: messages through
 * middlewares and routes, subscriptions and publishes through middlewares, the per-connection
 * limits (rate, requests in flight, groups) and the replies.
 * @module
 */
import { ErrorCode, LimitError, ProtocolError, RateLimitError } from '../errors.js';
import { checkPresenceData, joinGroup } from './presence-requests.js';
import type { WirePayload } from '../protocol/codec.js';
import {
  FrameType,
  type Frame,
  type MessageFrame,
  type PublishFrame,
  type SubscribeBody,
  type WireGroupPosition,
} from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { NOT_ROUTED, noRouteError, type Router } from '../routing/router.js';
import { ServerMessageContext } from './context.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** Dispatches client frames for one server. */
export class MessageDispatcher<S extends ServerCore> {
  /** MESSAGE frames received. */
  messagesIn = 0;
  /** PUBLISH frames received. */
  publishes = 0;
  /** Frames refused by the rate limit. */
  rateLimited = 0;
  /** Subscriptions refused by the server-wide `maxGroups` or `maxSubscriptions`. */
  subscriptionsRefused = 0;

  constructor(
    private readonly server: S,
    private readonly router: Router<ServerMessageContext<S>>,
  ) {}

  /**
   * A frame of an open client (or RPC proxy) connection, after the rate limit, that the frame
   * table gives the dispatcher: messages, memberships, publishes.
   */
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    switch (frame[0]) {
      case FrameType.MESSAGE:
        this.handleMessage(ws, frame, raw);
        return;
      case FrameType.SUBSCRIBE:
        this.handleMembership(ws, frame[0], frame[1], frame[2], raw, frame[3]);
        return;
      case FrameType.UNSUBSCRIBE:
        this.handleMembership(ws, frame[0], frame[1], frame[2], raw);
        return;
      case FrameType.SUBSCRIBE_SINCE:
        this.handleMembership(ws, FrameType.SUBSCRIBE, frame[1], frame[2], raw, frame[4], frame[3]);
        return;
      case FrameType.PRESENCE: {
        const [, id, groupId, countOnly] = frame;
        if (this.full(ws, id)) return;
        const mes: WsMeshMessage = {
          kind: 'presence',
          route: null,
          act: null,
          data: { id: groupId, countOnly },
          group: groupId,
          awaitRes: true,
        };
        this.runMiddlewaresOnly(ws, mes, raw, id, (stopped, value) => {
          if (stopped) return value;
          const { groups } = this.server;
          return countOnly
            ? groups.presenceCount({ id: groupId })
            : groups
                .presence({ id: groupId })
                .then((members) =>
                  members.map((member) => [member.clientId, member.data, member.node]),
                );
        });
        return;
      }
      case FrameType.PUBLISH:
        this.handlePublish(ws, frame, raw);
        return;
      default:
        ws.connection.replyError(
          0,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Frame type ${frame[0]} is not accepted by a server`,
          ),
        );
    }
  }

  /** Applies the rate limit to a frame that asks for work; false when it was refused. */
  admitFrame(
    ws: ServerConnection,
    frame: Frame,
    limit: { messages: number; interval: number },
  ): boolean {
    const type = frame[0];
    // Answers, and RPC frames about work already admitted (credit, cancels), are not new work.
    if (
      type === FrameType.PING ||
      type === FrameType.PONG ||
      type === FrameType.REPLY ||
      type === FrameType.ERROR ||
      type === FrameType.RPC_CREDIT ||
      type === FrameType.RPC_CANCEL ||
      type === FrameType.RPC_STREAM_CANCEL
    )
      return true;
    if (ws.takeToken(limit, Date.now())) return true;
    this.rateLimited++;
    const refusal = new RateLimitError(
      `More than ${limit.messages} messages per ${limit.interval} ms`,
    );
    if (type === FrameType.RPC_STREAM) {
      ws.connection.streamError(frame[1], refusal);
      return false;
    }
    const id =
      type === FrameType.MESSAGE ||
      type === FrameType.SUBSCRIBE ||
      type === FrameType.SUBSCRIBE_SINCE ||
      type === FrameType.UNSUBSCRIBE ||
      type === FrameType.PUBLISH ||
      type === FrameType.PRESENCE ||
      type === FrameType.RPC_CALL ||
      type === FrameType.RPC_LIST
        ? frame[1]
        : 0;
    if (id !== 0) ws.connection.replyError(id, refusal);
    return false;
  }

  handleMessage(ws: ServerConnection, frame: MessageFrame, raw: WirePayload): void {
    this.messagesIn++;
    this.server.routeCounters.countIn(frame[2]);
    const id = frame[1];
    if (this.full(ws, id)) return;
    const mes: WsMeshMessage = {
      kind: 'message',
      route: frame[2],
      act: frame[3],
      data: frame[4],
      awaitRes: id !== 0,
    };
    const context = new ServerMessageContext(mes, raw, ws, this.server);
    let result: unknown;
    try {
      result = this.router.dispatch(context);
    } catch (error) {
      this.failed(ws, id, error);
      return;
    }
    // The common case (a synchronous handler) allocates no closure.
    if (!(result instanceof Promise)) {
      this.answer(context, id, result);
      return;
    }
    ws.inFlight++;
    result.then(
      (value) => {
        ws.inFlight--;
        this.answer(context, id, value);
      },
      (error: unknown) => {
        ws.inFlight--;
        this.failed(ws, id, error);
      },
    );
  }

  /**
   * True (and request `id` refused with ERR_LIMIT) when `ws` has `maxInFlight` requests
   * running, plus `allowance` more.
   */
  private full(ws: ServerConnection, id: number, allowance = 0): boolean {
    const { maxInFlight } = this.server.options;
    if (ws.inFlight < maxInFlight + allowance) return false;
    if (id !== 0) {
      ws.connection.replyError(
        id,
        new LimitError(
          `More than ${maxInFlight + allowance} requests in flight on this connection`,
        ),
      );
    }
    return true;
  }

  /** Replies to a routed message (or reports that nothing routed it). */
  private answer(context: ServerMessageContext<S>, id: number, result: unknown): void {
    const { ws, mes, raw } = context;
    if (result === NOT_ROUTED) {
      this.server.emitNoRouting(ws, mes, raw);
      if (id !== 0) ws.connection.replyError(id, noRouteError(mes.route, mes.act));
      return;
    }
    if (id !== 0) ws.connection.reply(id, result);
  }

  handleMembership(
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
    if (subscribe && this.full(ws, id, this.server.options.maxGroupsPerConnection)) return;
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
    this.runMiddlewaresOnly(ws, mes, raw, id, (stopped) => {
      if (ws.open && !stopped) {
        if (subscribe) {
          const { groups } = this.server;
          if (presence) checkPresenceData(this.server, ws, groupId, options?.data);
          if (!ws.groups.has(groupId)) this.checkSubscriptionLimits(ws, groupId);
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
  private checkSubscriptionLimits(ws: ServerConnection, groupId: string): void {
    const { maxGroupsPerConnection, maxSubscriptions, maxGroups } = this.server.options;
    const { groups } = this.server;
    if (ws.groups.size >= maxGroupsPerConnection) {
      throw new LimitError(`A connection may be in at most ${maxGroupsPerConnection} groups`);
    }
    if (maxSubscriptions > 0 && groups.subscriptions >= maxSubscriptions) {
      this.subscriptionsRefused++;
      throw new LimitError(`This server holds its maximum of ${maxSubscriptions} subscriptions`);
    }
    if (maxGroups > 0 && groups.size >= maxGroups && groups.get({ id: groupId }) === undefined) {
      this.subscriptionsRefused++;
      throw new LimitError(`This server holds its maximum of ${maxGroups} groups`);
    }
  }

  handlePublish(ws: ServerConnection, frame: PublishFrame, raw: WirePayload): void {
    this.publishes++;
    const [, id, target, route, act, data, notSendMe, ack] = frame;
    if (this.full(ws, id)) return;
    const mes: WsMeshMessage = {
      kind: 'publish',
      route,
      act,
      data,
      group: target,
      notSendMe,
      awaitRes: id !== 0,
    };
    this.runMiddlewaresOnly(ws, mes, raw, id, (stopped, value) => {
      if (stopped) return value;
      const options = {
        route: route ?? undefined,
        act: act ?? undefined,
        data,
        withoutId: notSendMe ? ws.id : undefined,
      };
      const { groups } = this.server;
      return ack === 'cluster'
        ? groups.publishAcked(
            target,
            options,
            this.server.id,
            this.server.options.clusterAckTimeout,
          )
        : groups.publish(target, options);
    });
  }

  /** Runs middlewares for a subscription or publish, then `apply` (told whether one stopped). */
  private runMiddlewaresOnly(
    ws: ServerConnection,
    mes: WsMeshMessage,
    raw: WirePayload,
    id: number,
    apply: (stopped: boolean, value: unknown) => unknown,
  ): void {
    const context = new ServerMessageContext(mes, raw, ws, this.server);
    this.runMiddlewares(context, id, (result) => {
      let value: unknown;
      try {
        value = apply(context.stopped, result);
      } catch (error) {
        this.failed(ws, id, error);
        return;
      }
      if (!(value instanceof Promise)) {
        if (id !== 0) ws.connection.reply(id, value);
        return;
      }
      // Cluster-wide waits (subscribe confirmation, acknowledged publish, presence query).
      ws.inFlight++;
      value.then(
        (settled: unknown) => {
          ws.inFlight--;
          if (id !== 0 && ws.open) ws.connection.reply(id, settled);
        },
        (error: unknown) => {
          ws.inFlight--;
          if (ws.open) this.failed(ws, id, error);
        },
      );
    });
  }

  /** Runs the middlewares and hands the (possibly async) result to `done`; errors become replies. */
  private runMiddlewares(
    context: ServerMessageContext<S>,
    id: number,
    done: (result: unknown) => void,
  ): void {
    let result: unknown;
    try {
      result = this.router.dispatchMiddlewares(context);
    } catch (error) {
      this.failed(context.ws, id, error);
      return;
    }
    if (result instanceof Promise) {
      const { ws } = context;
      ws.inFlight++;
      result.then(
        (value) => {
          ws.inFlight--;
          done(value);
        },
        (error: unknown) => {
          ws.inFlight--;
          this.failed(ws, id, error);
        },
      );
      return;
    }
    done(result);
  }

  private failed(ws: ServerConnection, id: number, error: unknown): void {
    if (id !== 0) ws.connection.replyError(id, error);
    else this.server.reportError(error, ws);
  }
}
