/**
 * What a client does with the frames of an open connection: messages (direct and group ones)
 * through its middlewares and routes with the replies, errors the server reports, membership
 * changes the server made, and RPC frames to the RPC caller.
 * @module
 */
import { ErrorCode, ProtocolError, WsMeshError, isErrorCode } from '../errors.js';
import type { WirePayload } from '../protocol/codec.js';
import { FrameType, type Frame, type FrameOf } from '../protocol/frames.js';
import type { IncomingMessage } from '../routing/message.js';
import { NOT_ROUTED, noRouteError, Router } from '../routing/router.js';
import type { RpcCaller } from '../rpc/rpc-caller.js';
import type { Connection } from '../transport/connection.js';
import type { ClientGroups } from './client-groups.js';
import { ClientMessageContext, MessageOrigin } from './context.js';

/** Where a session hands the frames of its connection. */
export interface FrameSink {
  /** One frame; replies go to `connection`, the connection it came on. */
  handleFrame(frame: Frame, raw: WirePayload, connection: Connection | undefined): void;
}

/**
 * Routes the frames a server sends to one client (`C` is the client type handlers see), and
 * is the client's router of messages (middlewares and routes) itself: a subscriber with many
 * connections reads the state of the frame sink and of the router for every message it gets,
 * and one object is one cold read less than two (bench/client-receive.ts `--clients`).
 */
export class ClientFrameRouter<C> extends Router<ClientMessageContext<C>> implements FrameSink {
  constructor(
    /** The client handed to middlewares and handlers. */
    private readonly client: C,
    private readonly groups: ClientGroups,
    private readonly rpcCaller: RpcCaller,
    private readonly reportError: (error: unknown) => void,
  ) {
    super();
  }

  handleFrame(frame: Frame, raw: WirePayload, connection: Connection | undefined): void {
    switch (frame[0]) {
      case FrameType.MESSAGE: {
        const id = frame[1];
        const mes: IncomingMessage = {
          kind: 'message',
          route: frame[2],
          act: frame[3],
          data: frame[4],
          awaitRes: id !== 0,
        };
        this.route(mes, raw, id, connection);
        return;
      }
      case FrameType.GROUP_MESSAGE: {
        if (frame[5] === undefined) {
          const [, group, route, act, data] = frame;
          const origin = new MessageOrigin(raw, this.client, group, route, act);
          this.routeGroupMessage(new ClientMessageContext(origin, undefined, data), route, act);
          return;
        }
        const mes: IncomingMessage = {
          kind: 'message',
          route: frame[2],
          act: frame[3],
          data: frame[4],
          awaitRes: false,
          group: frame[1],
        };
        const position = this.groups.positions.advance(frame[1], frame[5]);
        if (position !== undefined) mes.position = position;
        this.route(mes, raw, 0, connection);
        return;
      }
      case FrameType.GROUP_MESSAGES:
        this.routePack(frame, raw, connection);
        return;
      case FrameType.RECOVER:
        this.groups.recovered(frame[1], frame[2], frame[3]);
        return;
      case FrameType.ERROR:
        this.reportError(
          new WsMeshError(
            isErrorCode(frame[2].code) ? frame[2].code : ErrorCode.UNKNOWN,
            `Server error: ${frame[2].message}`,
            frame[2].data,
          ),
        );
        return;
      case FrameType.PRESENCE_EVENT: {
        const [, group, joined, clientId, data, node] = frame;
        this.groups.onPresenceEvent?.({ group, clientId, data: data ?? null, node }, joined);
        return;
      }
      case FrameType.MEMBERSHIP:
        // The server changed a membership itself (a route, group deletion...): follow it.
        this.groups.membershipChanged(frame[1], frame[2]);
        return;
      default:
        if (this.rpcCaller.handleFrame(frame)) return;
        connection?.replyError(
          0,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Frame type ${frame[0]} is not accepted by a client`,
          ),
        );
    }
  }

  /**
   * A pack: each message handled as its own GROUP_MESSAGE would be (a closed connection hands
   * out no more frames; each message gets its own target array, made with its `mes`); `raw`
   * is the pack. Routes and middlewares added by a message apply to the next ones.
   */
  private routePack(
    frame: FrameOf<typeof FrameType.GROUP_MESSAGES>,
    raw: WirePayload,
    connection: Connection | undefined,
  ): void {
    const [, group, route, act, datas] = frame;
    const origin = new MessageOrigin(raw, this.client, group, route, act);
    for (const data of datas) {
      if (connection?.closed === true) return;
      this.routeGroupMessage(new ClientMessageContext(origin, undefined, data), route, act);
    }
  }

  /** A group message without position: nobody awaits a reply, errors are reported. */
  private routeGroupMessage(
    context: ClientMessageContext<C>,
    route: string | null,
    act: string | null,
  ): void {
    let result: unknown;
    try {
      result = this.dispatchMessage(context, route, act);
    } catch (error) {
      this.reportError(error);
      return;
    }
    if (result instanceof Promise) result.then(undefined, this.reportError);
  }

  private route(
    mes: IncomingMessage,
    raw: WirePayload,
    id: number,
    // Replies go to the connection the message came on, even if another one is up by then.
    connection: Connection | undefined,
  ): void {
    const origin = new MessageOrigin(raw, this.client, null, null, null);
    const context = new ClientMessageContext(origin, mes);
    let result: unknown;
    try {
      result = this.dispatch(context);
    } catch (error) {
      this.routeFailed(connection, id, error);
      return;
    }
    // Closures only for results that arrive later; group messages are mostly synchronous.
    if (result instanceof Promise) {
      result.then(
        (value) => this.routeDone(connection, mes, id, value),
        (error: unknown) => this.routeFailed(connection, id, error),
      );
    } else this.routeDone(connection, mes, id, result);
  }

  private routeDone(
    connection: Connection | undefined,
    mes: IncomingMessage,
    id: number,
    result: unknown,
  ): void {
    if (id === 0) return;
    if (result === NOT_ROUTED) connection?.replyError(id, noRouteError(mes.route, mes.act));
    else connection?.reply(id, result);
  }

  private routeFailed(connection: Connection | undefined, id: number, error: unknown): void {
    if (id !== 0) connection?.replyError(id, error);
    else this.reportError(error);
  }
}
