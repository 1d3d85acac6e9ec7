/**
 * What the server does with the frames of an open client connection: the rate limit, then
 * messages through middlewares and routes, publishes and presence queries through
 * middlewares; memberships go to membership-requests.ts, and every request runs through
 * request-runner.ts (requests in flight, middlewares, replies).
 * @module
 */
import { ErrorCode, ProtocolError, RateLimitError } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import { FrameType, type Frame, type MessageFrame, type PublishFrame } from '../protocol/frames.js';
import type { IncomingMessage as WsMeshMessage } from '../routing/message.js';
import { NOT_ROUTED, noRouteError, type Router } from '../routing/router.js';
import { ServerMessageContext } from './context.js';
import { MembershipRequests } from './membership-requests.js';
import { RequestRunner } from './request-runner.js';
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
  private readonly runner: RequestRunner<S>;
  private readonly memberships: MembershipRequests<S>;

  constructor(
    private readonly server: S,
    private readonly router: Router<ServerMessageContext<S>>,
  ) {
    this.runner = new RequestRunner(server, router);
    this.memberships = new MembershipRequests(server, this.runner);
  }

  /** Subscriptions refused by the server-wide `maxGroups` or `maxSubscriptions`. */
  get subscriptionsRefused(): number {
    return this.memberships.refused;
  }

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
        this.memberships.handle(ws, frame[0], frame[1], frame[2], raw, frame[3]);
        return;
      case FrameType.UNSUBSCRIBE:
        this.memberships.handle(ws, frame[0], frame[1], frame[2], raw);
        return;
      case FrameType.SUBSCRIBE_SINCE:
        this.memberships.handle(
          ws,
          FrameType.SUBSCRIBE,
          frame[1],
          frame[2],
          raw,
          frame[4],
          frame[3],
        );
        return;
      case FrameType.PRESENCE: {
        const [, id, groupId, countOnly] = frame;
        if (this.runner.full(ws, id)) return;
        const mes: WsMeshMessage = {
          kind: 'presence',
          route: null,
          act: null,
          data: { id: groupId, countOnly },
          group: groupId,
          awaitRes: true,
        };
        this.runner.runMiddlewaresOnly(ws, mes, raw, id, (stopped, value) => {
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

  private handleMessage(ws: ServerConnection, frame: MessageFrame, raw: WirePayload): void {
    this.messagesIn++;
    this.server.routeCounters.countIn(frame[2]);
    const id = frame[1];
    if (this.runner.full(ws, id)) return;
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
      this.runner.failed(ws, id, error);
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
        this.runner.failed(ws, id, error);
      },
    );
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

  private handlePublish(ws: ServerConnection, frame: PublishFrame, raw: WirePayload): void {
    this.publishes++;
    const [, id, target, route, act, data, notSendMe, ack] = frame;
    if (this.runner.full(ws, id)) return;
    const mes: WsMeshMessage = {
      kind: 'publish',
      route,
      act,
      data,
      group: target,
      notSendMe,
      awaitRes: id !== 0,
    };
    this.runner.runMiddlewaresOnly(ws, mes, raw, id, (stopped, value) => {
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
}
