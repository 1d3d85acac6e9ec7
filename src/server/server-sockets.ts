/**
 * The sockets of one server, from upgrade to close: an accepted socket becomes a
 * ServerConnection that goes through the handshake; once open, its frames go to their handler
 * by peer kind (peer-frames.ts); client connections get the heartbeat; a closed connection
 * leaves every table it was in; `closeAll` ends them on stop.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { LinkManager } from '../cluster/link-manager.js';
import { frameName, type ServerLog } from '../ops/logger.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { CloseCode, type Frame } from '../protocol/frames.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { Connection, ConnectionOptions } from '../transport/connection.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { NodeWireSocket } from '../transport/node-socket.js';
import type { MessageDispatcher } from './dispatcher.js';
import { waitForSocketsClosed, type EndpointEntry } from './endpoint.js';
import { ServerHandshake, type HandshakeParts, type PendingHandshake } from './handshake.js';
import { generateId } from './options.js';
import { routePeerFrame, type PeerFrameParts } from './peer-frames.js';
import { ServerConnection, type ServerConnectionOwner } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** The parts of a server its sockets use. */
export interface ServerSocketsParts<S extends ServerCore> {
  readonly dispatcher: MessageDispatcher<S>;
  readonly responder: RpcResponder;
  readonly links: LinkManager;
  readonly logger: ServerLog;
  readonly emit: HandshakeParts<S>['emit'];
  /** True when text frames need no check (the endpoint's `trustTextFrames`). */
  trustTextFrames(): boolean;
}

/**
 * The connections the server's heartbeat watches, found in its set of sockets (no set of the
 * heartbeat's own): handshaking ones and open clients. Open clones and links are watched by
 * the link layer's faster heartbeat.
 */
function* heartbeatWatched(all: Iterable<ServerConnection>): Iterable<Connection> {
  for (const ws of all) {
    if (ws.state === 'closed' || (ws.state === 'open' && ws.grants.role !== 'client')) continue;
    yield ws.connection;
  }
}

/** Every socket of one server, handshaking or open. */
export class ServerSockets<
  S extends ServerCore & ServerConnectionOwner & { readonly active: boolean },
> {
  /** Open sockets, handshaking ones included; an entry goes once its socket has closed. */
  readonly all = new Set<ServerConnection>();
  private readonly heartbeat: HeartbeatMonitor;
  /** The connections still handshaking (kept by `handshake`). */
  private readonly handshakes = new Map<ServerConnection, PendingHandshake>();
  private readonly handshake: ServerHandshake<S>;
  private readonly peerFrameParts: PeerFrameParts<S>;
  private readonly optionsByCodec = new Map<Codec, ConnectionOptions>();

  constructor(
    private readonly server: S,
    private readonly parts: ServerSocketsParts<S>,
  ) {
    const { options } = server;
    // Untimed: nothing reads the round trip of a client connection (links time their own).
    this.heartbeat = new HeartbeatMonitor(options.heartbeatInterval, false, () =>
      heartbeatWatched(this.all),
    );
    this.peerFrameParts = {
      dispatcher: parts.dispatcher,
      responder: parts.responder,
      clones: server.clones,
      links: parts.links,
      rateLimit: options.rateLimit,
      peerError: (ws, error) => server.connectionError(ws, error),
    };
    this.handshake = new ServerHandshake(server, {
      pending: this.handshakes,
      heartbeat: this.heartbeat,
      links: parts.links,
      logger: parts.logger,
      emit: parts.emit,
    });
  }

  /** True when the server admits clones and server links without any proof. */
  get open(): boolean {
    return this.handshake.open;
  }

  /**
   * A WebSocket upgrade completed: the connection starts its handshake, or is closed at once
   * when the server is not `active`.
   */
  accept(
    ws: WebSocket,
    socket: Duplex,
    request: IncomingMessage,
    codec: Codec,
    entry: EndpointEntry,
  ): void {
    const wire = new NodeWireSocket(ws, socket, true);
    const client = new ServerConnection(
      this.server,
      wire,
      request,
      generateId('conn'),
      this.connectionOptions(codec),
    );
    wire.attach(client.connection, !this.parts.trustTextFrames());
    if (!this.server.active) {
      client.connection.close(CloseCode.GOING_AWAY, 'server stopping');
      return;
    }
    this.all.add(client);
    this.handshake.begin(client, entry);
    this.heartbeat.add(client.connection);
  }

  /** The options of the connections of `codec`: one frozen object for all (each keeps it). */
  private connectionOptions(codec: Codec): ConnectionOptions {
    let shared = this.optionsByCodec.get(codec);
    if (shared === undefined) {
      const { options, id } = this.server;
      shared = Object.freeze({
        codec,
        maxBufferedBytes: options.maxBufferedBytes,
        requestTimeout: options.awaitResTimeout,
        localId: id,
        accepting: true,
      });
      this.optionsByCodec.set(codec, shared);
    }
    return shared;
  }

  /** A frame from `ws`: to the handshake until the connection is open, then by peer kind. */
  frame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    const { logger } = this.parts;
    if (logger.debugEnabled)
      logger.debug('frame in', { conn: ws.id, kind: ws.kind, frame: frameName(frame[0]) });
    if (ws.state !== 'open') {
      this.handshake.handleFrame(ws, frame, raw);
      return;
    }
    routePeerFrame(this.peerFrameParts, ws, frame, raw);
  }

  /** `ws` closed: it leaves every table. True when it was an open client. */
  closed(ws: ServerConnection): boolean {
    const { server } = this;
    this.handshake.end(ws);
    this.heartbeat.delete(ws.connection);
    server.groups.deleteSubscriber({ ws });
    if (ws.grants.role === 'clone') server.clones.inboundClosed(ws.connection);
    if (ws.grants.role === 'link') this.parts.links.inboundClosed(ws.connection);
    this.parts.responder.connectionClosed(ws.connection);
    const wasOpen = server.clients.delete(ws.id);
    ws.state = 'closed';
    // The socket entry goes when the socket itself is closed, so stop() can wait for it.
    if (ws.socket.ws.readyState === 3) this.all.delete(ws);
    else ws.socket.ws.once('close', () => this.all.delete(ws));
    return wasOpen;
  }

  /** An error on `ws`: a connection still handshaking fails its handshake. */
  failed(ws: ServerConnection, error: Error): void {
    if (ws.state !== 'open' && ws.state !== 'closed') this.handshake.invalidFrame(ws, error);
  }

  /** Closes every socket (code 1001), waits up to a second for them, stops the heartbeat. */
  async closeAll(): Promise<void> {
    const sockets = [...this.all];
    for (const ws of sockets) ws.connection.close(CloseCode.GOING_AWAY, 'server stopping');
    await waitForSocketsClosed(sockets, 1000);
    this.heartbeat.stop();
    this.handshake.clear();
  }
}
