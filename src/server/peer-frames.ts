/**
 * Hands a frame of an open peer to the part of the server its role's table names
 * (src/handshake/frame-table.ts), after the rate limit; a frame the table does not name is
 * refused with ERR_PROTOCOL.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import { frameSink } from '../handshake/frame-table.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { WirePayload } from '../protocol/codec.js';
import { FrameType, type Frame } from '../protocol/frames.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { MessageDispatcher } from './dispatcher.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** The parts of a server that take frames of open peers. */
export interface PeerFrameParts<S extends ServerCore> {
  readonly dispatcher: MessageDispatcher<S>;
  readonly responder: RpcResponder;
  readonly clones: CloneManager;
  readonly links: LinkManager;
  readonly rateLimit: { messages: number; interval: number } | undefined;
  /** A peer reported an error not tied to a request. */
  peerError(ws: ServerConnection, error: Error): void;
}

/** Routes one frame of an open peer. */
export function routePeerFrame<S extends ServerCore>(
  parts: PeerFrameParts<S>,
  ws: ServerConnection,
  frame: Frame,
  raw: WirePayload,
): void {
  const { grants } = ws;
  const { rateLimit } = parts;
  if (
    rateLimit !== undefined &&
    grants.rateLimited &&
    !parts.dispatcher.admitFrame(ws, frame, rateLimit)
  )
    return;
  switch (frameSink(grants.role, frame[0])) {
    case 'dispatcher':
      parts.dispatcher.handleFrame(ws, frame, raw);
      return;
    case 'responder':
      // Clients and proxies spend their own `maxInFlight`; mesh peers carry many clients' calls.
      parts.responder.handle(
        ws.connection,
        grants.rpc,
        frame,
        grants.role === 'client' ? ws : undefined,
      );
      return;
    case 'clones':
      parts.clones.inboundFrame(ws.connection, frame);
      return;
    case 'links':
      if (grants.role === 'clone') parts.links.cloneLinkFrame(ws.connection, frame);
      else parts.links.inboundFrame(ws.connection, frame);
      return;
    case 'report':
      if (frame[0] === FrameType.ERROR) {
        parts.peerError(
          ws,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Peer reported ${frame[2].code}: ${frame[2].message}`,
          ),
        );
      }
      return;
    case undefined:
      ws.connection.replyError(
        0,
        new ProtocolError(
          ErrorCode.PROTOCOL,
          `Frame type ${frame[0]} is not accepted from a ${grants.role} peer`,
        ),
      );
  }
}
