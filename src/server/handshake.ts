/**
 * The server side of the wsmesh handshake: the HELLO checks, the `authenticate` hook, the
 * server secret proof (and encryption), clone authentication, WELCOME, and the frames that
 * wait meanwhile. A connection leaves it open, or closed.
 * @module
 */
import { AuthError, ErrorCode, ProtocolError } from '../errors.js';
import { checkAuthIn } from '../cluster/auth.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { WirePayload } from '../protocol/codec.js';
import {
  CloseCode,
  FrameType,
  PROTOCOL_VERSION,
  type Frame,
  type HelloBody,
  type WelcomeBody,
} from '../protocol/frames.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import { NonceCache, serverProof, verifyProof } from '../rpc/secret.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';
import { CIPHER_SCHEME, type FrameCipher } from '../transport/frame-cipher.js';
import type { HeartbeatMonitor } from '../transport/heartbeat.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import type { ServerLog } from '../ops/logger.js';
import type { AuthenticateHook } from './options.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerEvents } from './server-types.js';
import type { Server } from './server.js';

/** Frames a connection may send while it is being authenticated, before it is closed. */
const MAX_HELD_FRAMES = 10_000;

/** Closes a connection that sent no HELLO within `handshakeTimeout`. */
export class HandshakeDeadline extends DeadlineEntry {
  constructor(private readonly ws: ServerConnection) {
    super();
  }
  override expire(): void {
    if (this.ws.state === 'handshaking') {
      this.ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'no HELLO in time');
    }
  }
}

/** Parts of the server the handshake uses that are not public members of `Server`. */
export interface HandshakeParts {
  /** HELLO deadlines of the connections still handshaking (the server's bookkeeping). */
  readonly pending: Map<ServerConnection, HandshakeDeadline>;
  /** The heartbeat of client connections; links leave it for their own, faster one. */
  readonly heartbeat: HeartbeatMonitor;
  /** Takes over inbound server links once they are authenticated. */
  readonly links: LinkManager;
  readonly logger: ServerLog;
  /** The server's (protected) `emit`. */
  readonly emit: <K extends keyof ServerEvents>(event: K, payload: ServerEvents[K]) => boolean;
}

/** Takes the connections of one server through the handshake. */
export class ServerHandshake {
  /** Nonces of accepted secret proofs, so a proof cannot be replayed. */
  private readonly nonces = new NonceCache();

  constructor(
    private readonly server: Server,
    private readonly parts: HandshakeParts,
  ) {}

  /** A connection was accepted: it must send HELLO within `handshakeTimeout`. */
  begin(ws: ServerConnection): void {
    const deadline = new HandshakeDeadline(ws);
    this.parts.pending.set(ws, deadline);
    deadlines.add(deadline, this.server.options.handshakeTimeout);
  }

  /** A connection closed: its HELLO deadline, if any, goes. */
  end(ws: ServerConnection): void {
    const deadline = this.parts.pending.get(ws);
    if (deadline !== undefined) {
      deadlines.remove(deadline);
      this.parts.pending.delete(ws);
    }
  }

  /** The server stops: every HELLO deadline goes. */
  clear(): void {
    for (const entry of this.parts.pending.values()) deadlines.remove(entry);
    this.parts.pending.clear();
  }

  /** The first frame of a connection: it must be a HELLO this server can accept. */
  handleHello(ws: ServerConnection, frame: Frame): void {
    const deadline = this.parts.pending.get(ws);
    if (deadline !== undefined) deadlines.remove(deadline);
    this.parts.pending.delete(ws);
    if (frame[0] !== FrameType.HELLO) {
      ws.connection.replyError(
        0,
        new ProtocolError(ErrorCode.PROTOCOL, 'The first frame must be HELLO'),
      );
      ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'first frame must be HELLO');
      return;
    }
    const hello: HelloBody = frame[1];
    if (hello.v !== PROTOCOL_VERSION) {
      ws.connection.replyError(
        0,
        new ProtocolError(
          ErrorCode.PROTOCOL,
          `Unsupported protocol version ${hello.v}; this server speaks ${PROTOCOL_VERSION}`,
        ),
      );
      ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'unsupported protocol version');
      return;
    }
    ws.clientId = hello.id;
    ws.kind = hello.kind ?? 'client';
    ws.linkNamespace = hello.namespace ?? DEFAULT_NAMESPACE;
    if (hello.maxPayload !== undefined) ws.connection.peerMaxPayload = hello.maxPayload;
    // Both sides batch when the peer reads batches (WELCOME says the server does too);
    // encrypted connections seal frame by frame and do not batch.
    if (hello.batch === true && hello.enc === undefined) {
      ws.connection.acceptsBatches = true;
      ws.connection.startBatching();
    }
    if (ws.kind === 'clone') {
      ws.state = 'authenticating';
      void this.authenticateClone(ws, hello);
      return;
    }
    const secret = this.server.options.serverSecret;
    const presentsProof = ws.kind === 'rpc' || ws.kind === 'link' || hello.auth !== undefined;
    const authenticate = ws.kind === 'link' ? undefined : this.server.options.authenticate;
    if ((secret !== undefined && presentsProof) || authenticate !== undefined) {
      ws.state = 'authenticating';
      void this.admit(ws, hello, authenticate, presentsProof ? secret : undefined);
      return;
    }
    ws.rpcAuthorized = secret === undefined;
    this.opened(ws, undefined);
  }

  /**
   * A frame of a handshaking connection failed validation. A first frame that fails is "not
   * HELLO" (PROTOCOL.md 2.1): the transport sends the error reply right after this call; then
   * close with 4001. Undecodable input is closed by the transport itself (1003/1007) before
   * the microtask runs.
   */
  invalidFrame(ws: ServerConnection, error: Error): void {
    if (!(error instanceof ProtocolError)) return;
    queueMicrotask(() => {
      if (ws.state === 'handshaking' && !ws.connection.closed) {
        ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'first frame must be a valid HELLO');
      }
    });
  }

  /** Frames that arrive while authentication runs wait, in order, up to a bound. */
  hold(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    ws.backlog ??= [];
    if (ws.backlog.length >= MAX_HELD_FRAMES) {
      ws.connection.close(CloseCode.POLICY_VIOLATION, 'too many frames before authentication');
      return;
    }
    ws.backlog.push([frame, raw]);
  }

  /** Runs the `authenticate` hook, then checks the secret proof; frames wait meanwhile. */
  private async admit(
    ws: ServerConnection,
    hello: HelloBody,
    authenticate: AuthenticateHook | undefined,
    secret: string | undefined,
  ): Promise<void> {
    if (authenticate !== undefined) {
      let result: unknown;
      try {
        result = await authenticate({ credentials: hello.credentials, request: ws.request, ws });
      } catch {
        result = false;
      }
      if (ws.state !== 'authenticating') return;
      if (result === false) {
        const error = new AuthError('The server refused the credentials');
        this.server.reportError(error, ws);
        ws.connection.replyError(0, error);
        ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
        return;
      }
      ws.auth = result;
    }
    if (secret === undefined) {
      ws.rpcAuthorized = this.server.options.serverSecret === undefined;
      this.opened(ws, undefined);
      return;
    }
    await this.authenticateSecret(ws, hello, secret);
  }

  /** The handshake succeeded: WELCOME, then the frames that waited. */
  private opened(
    ws: ServerConnection,
    auth: { proof: string } | undefined,
    cipher?: FrameCipher,
  ): void {
    const { server } = this;
    ws.state = 'open';
    if (ws.kind === 'link') {
      // A server link is not a client: it is watched by the link layer's faster heartbeat.
      this.welcome(ws, auth, cipher);
      this.parts.heartbeat.delete(ws.connection);
      this.parts.links.acceptInbound(ws.connection, ws.clientId ?? ws.id, ws.linkNamespace);
      this.replayBacklog(ws);
      return;
    }
    server.clients.set(ws.id, ws);
    this.welcome(ws, auth, cipher);
    this.parts.logger.info(`connection ${ws.id} (${ws.kind} ${ws.clientId ?? '?'})`);
    this.parts.emit('connection', { server, ws });
    this.replayBacklog(ws);
  }

  /** RPC proxies and server links prove the server secret (HMAC with nonce; no replay). */
  private async authenticateSecret(
    ws: ServerConnection,
    hello: HelloBody,
    secret: string,
  ): Promise<void> {
    const kind = hello.kind ?? 'client';
    let nonce: string | undefined;
    try {
      nonce = await verifyProof(secret, kind, hello.id, hello.auth, this.nonces);
    } catch {
      nonce = undefined;
    }
    if (ws.state !== 'authenticating') return;
    if (nonce === undefined) {
      const error = new AuthError('Wrong or missing server secret proof');
      this.server.reportError(error, ws);
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
      return;
    }
    const wantsEncryption = hello.enc === CIPHER_SCHEME;
    if (this.server.options.encryption && !wantsEncryption && ws.kind !== 'client') {
      const error = new AuthError('This server requires encryption (encryption: true)');
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'encryption required');
      return;
    }
    ws.rpcAuthorized = true;
    const proof = await serverProof(secret, this.server.id, nonce);
    if (ws.state !== 'authenticating') return;
    const cipher = wantsEncryption
      ? nodeCipherFactory(secret, nonce, this.server.id, hello.id)
      : undefined;
    this.opened(ws, { proof }, cipher);
  }

  /** A clone dialing in: `authFnIn` decides, and one live link per clone id. */
  private async authenticateClone(ws: ServerConnection, hello: HelloBody): Promise<void> {
    const { server } = this;
    const clone = { id: hello.id, url: null };
    const accepted = await checkAuthIn(server.options.authFnIn, hello.auth);
    if (ws.state !== 'authenticating') return;
    if (!accepted) {
      const error = new AuthError(`Clone "${hello.id}" failed authentication`);
      this.parts.logger.info(`authError clone ${hello.id}`);
      this.parts.emit('authError', { server, clone, error });
      ws.connection.replyError(0, error);
      ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
      return;
    }
    this.parts.emit('auth', { server, clone });
    // Refuse a duplicate id before WELCOME: a dialer that got WELCOME counts the link as up
    // and redials within milliseconds instead of backing off.
    if (!server.clones.canAcceptInbound(hello.id, hello.instance)) {
      const deleted = server.clones.isDeleted(hello.id);
      ws.connection.close(
        deleted ? CloseCode.POLICY_VIOLATION : CloseCode.DUPLICATE_ID,
        deleted ? 'clone deleted here' : 'duplicate clone id',
      );
      return;
    }
    ws.state = 'open';
    ws.rpcAuthorized = true; // an authenticated clone is trusted with RPC
    this.welcome(ws);
    // Clone links are watched by the link layer's faster heartbeat (one monitor per connection).
    this.parts.heartbeat.delete(ws.connection);
    if (!server.clones.acceptInbound(ws.connection, hello.id, hello.instance)) {
      ws.connection.close(CloseCode.DUPLICATE_ID, 'duplicate clone id');
      return;
    }
    this.replayBacklog(ws);
  }

  /** Sends WELCOME (in clear), then switches the connection to encryption when agreed. */
  private welcome(ws: ServerConnection, auth?: { proof: string }, cipher?: FrameCipher): void {
    const body: WelcomeBody = {
      v: PROTOCOL_VERSION,
      serverId: this.server.id,
      connectionId: ws.id,
      maxPayload: this.server.options.maxPayload,
    };
    if (auth !== undefined) body.auth = auth;
    if (cipher !== undefined) body.enc = CIPHER_SCHEME;
    else if (ws.connection.acceptsBatches) body.batch = true;
    try {
      ws.connection.send([FrameType.WELCOME, body]);
    } catch {
      // Closed meanwhile: the close handler cleans up.
    }
    ws.connection.cipher = cipher;
  }

  /** Handles the frames that waited for the handshake, in order, as if they came now. */
  private replayBacklog(ws: ServerConnection): void {
    const backlog = ws.backlog ?? [];
    ws.backlog = undefined;
    for (const [frame, raw] of backlog) this.server.handleFrame(ws, frame, raw);
  }
}
