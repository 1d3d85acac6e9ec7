/**
 * The accepting side of the wsmesh handshake. Every connection goes through the same steps:
 * HELLO, then the admission plan (src/handshake/admission.ts) says what the peer must prove:
 * CHALLENGE and AUTH (secret proof, a clone's authValue), the `authenticate` hook; then
 * WELCOME, and the connection opens as one typed peer with its grants. Frames that arrive
 * meanwhile wait, bounded in number and bytes (handshake-hold.ts); the whole handshake has
 * one deadline (handshake-pending.ts).
 * @module
 */
import { AuthError, ErrorCode, ProtocolError } from '../errors.js';
import { checkAuthIn } from '../cluster/auth.js';
import type { LinkManager } from '../cluster/link-manager.js';
import { grantsFor, isOpen, planAdmission, type SecuritySetup } from '../handshake/admission.js';
import {
  cipherSalt,
  randomNonce,
  serverProof,
  verifyPeerProof,
  type ProofContext,
} from '../handshake/proof.js';
import type { WirePayload } from '../protocol/codec.js';
import {
  CloseCode,
  FrameType,
  PROTOCOL_VERSION,
  type AuthBody,
  type Frame,
  type HelloBody,
  type WelcomeBody,
} from '../protocol/frames.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import { deadlines } from '../transport/deadline-queue.js';
import { CIPHER_SCHEME, type FrameCipher } from '../transport/frame-cipher.js';
import type { HeartbeatMonitor } from '../transport/heartbeat.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import type { ServerLog } from '../ops/logger.js';
import { isHandshaking, PendingHandshake, type PendingAdmission } from './handshake-pending.js';
import { dropHeld, holdFrame, replayHeld } from './handshake-hold.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore, ServerEventMap } from './server-types.js';

export { PendingHandshake };

/** Parts of the server the handshake uses that are not in `ServerCore`. */
export interface HandshakeParts<S> {
  /** The connections still handshaking, with what their handshake keeps meanwhile. */
  readonly pending: Map<ServerConnection, PendingHandshake>;
  /** The heartbeat of client connections; mesh peers leave it for their own, faster one. */
  readonly heartbeat: HeartbeatMonitor;
  /** Takes over inbound server links once they are admitted. */
  readonly links: LinkManager;
  readonly logger: ServerLog;
  /** The server's (protected) `emit`. */
  readonly emit: <K extends keyof ServerEventMap<S>>(
    event: K,
    payload: ServerEventMap<S>[K],
  ) => boolean;
}

/** Takes the connections of one server through the handshake. */
export class ServerHandshake<S extends ServerCore> {
  constructor(
    private readonly server: S,
    private readonly parts: HandshakeParts<S>,
  ) {}

  /** The server's security options, as the admission policy reads them for `ws`. */
  security(ws: ServerConnection): SecuritySetup {
    return this.setup(this.parts.pending.get(ws)?.entry ?? 'any');
  }

  /** True when the server has no security option at all: any peer may join as a clone or link. */
  get open(): boolean {
    return isOpen(this.setup('any'));
  }

  private setup(entry: SecuritySetup['entry']): SecuritySetup {
    const { options } = this.server;
    return {
      secret: options.serverSecret !== undefined,
      authenticate: options.authenticate !== undefined,
      authFnIn: options.authFnIn !== undefined,
      encryption: options.encryption,
      entry,
    };
  }

  /**
   * A connection was accepted on endpoint `entry`: its whole handshake must end within
   * `handshakeTimeout`.
   */
  begin(ws: ServerConnection, entry: SecuritySetup['entry']): void {
    const pending = new PendingHandshake(ws, entry);
    this.parts.pending.set(ws, pending);
    deadlines.add(pending, this.server.options.handshakeTimeout);
  }

  /** A connection closed or opened: its deadline and held frames, if any, go. */
  end(ws: ServerConnection): void {
    const pending = this.parts.pending.get(ws);
    if (pending !== undefined) {
      deadlines.remove(pending);
      this.parts.pending.delete(ws);
    }
  }

  /** The server stops: every deadline goes. */
  clear(): void {
    for (const entry of this.parts.pending.values()) deadlines.remove(entry);
    this.parts.pending.clear();
  }

  /** A frame of a connection that is not open yet. */
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void {
    switch (ws.state) {
      case 'handshaking':
        this.hello(ws, frame);
        return;
      case 'challenged':
        if (frame[0] !== FrameType.AUTH) {
          this.fail(ws, 'The frame after CHALLENGE must be AUTH');
          return;
        }
        ws.state = 'authenticating';
        void this.admit(ws, frame[1]);
        return;
      case 'authenticating':
        // Frames of an encrypted connection are sealed from WELCOME on: a clear frame before
        // it was not sent by the peer that proved the secret, but added by someone in between.
        if (this.parts.pending.get(ws)?.admission?.hello.enc !== undefined) {
          this.fail(ws, 'An encrypted connection sends nothing between AUTH and WELCOME');
          return;
        }
        holdFrame(this.parts.pending.get(ws), frame, raw, this.server.options.maxPayload);
        return;
      default:
        return;
    }
  }

  /**
   * A frame of a handshaking connection failed validation: the transport sends the error
   * reply right after this call; then close with 4001 (PROTOCOL.md 2.1). Undecodable input is
   * closed by the transport itself (1003/1007) before the microtask runs.
   */
  invalidFrame(ws: ServerConnection, error: Error): void {
    if (!(error instanceof ProtocolError)) return;
    queueMicrotask(() => {
      if (isHandshaking(ws) && !ws.connection.closed) {
        ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'invalid handshake frame');
      }
    });
  }

  /** The first frame of a connection: it must be a HELLO this server can accept. */
  private hello(ws: ServerConnection, frame: Frame): void {
    if (frame[0] !== FrameType.HELLO) {
      this.fail(ws, 'The first frame must be HELLO');
      return;
    }
    const hello: HelloBody = frame[1];
    if (hello.v !== PROTOCOL_VERSION) {
      this.fail(
        ws,
        `Unsupported protocol version ${hello.v}; this server speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    ws.clientId = hello.id;
    ws.kind = hello.kind ?? 'client';
    const plan = planAdmission(hello, this.security(ws));
    if (plan.refuse !== undefined) {
      this.refuse(ws, new AuthError(plan.refuse));
      return;
    }
    if (plan.requireEncryption && hello.enc === undefined) {
      this.refuse(ws, new AuthError('This server requires encryption (encryption: true)'));
      return;
    }
    const admission: PendingAdmission = { hello, plan };
    const pending = this.parts.pending.get(ws);
    if (pending !== undefined) pending.admission = admission;
    if (!plan.challenge) {
      ws.state = 'authenticating';
      void this.admit(ws, undefined);
      return;
    }
    ws.state = 'challenged';
    void this.challenge(ws, admission);
  }

  /** Sends CHALLENGE: this server's id and nonce, and its proof when the peer asked. */
  private async challenge(ws: ServerConnection, admission: PendingAdmission): Promise<void> {
    const serverNonce = randomNonce();
    admission.serverNonce = serverNonce;
    const body: { serverId: string; nonce: string; proof?: string } = {
      serverId: this.server.id,
      nonce: serverNonce,
    };
    const secret = this.server.options.serverSecret;
    if (admission.plan.proveServer && secret !== undefined) {
      body.proof = await serverProof(secret, this.context(admission, serverNonce));
    }
    if (ws.state !== 'challenged') return;
    try {
      ws.connection.send([FrameType.CHALLENGE, body]);
    } catch {
      // Closed meanwhile: the close handler cleans up.
    }
  }

  private context(admission: PendingAdmission, serverNonce: string): ProofContext {
    const { hello } = admission;
    return {
      kind: hello.kind ?? 'client',
      peerId: hello.id,
      serverId: this.server.id,
      peerNonce: hello.challenge ?? '',
      serverNonce,
    };
  }

  /** Checks everything the plan asks for, in order; the first failure refuses. */
  private async admit(ws: ServerConnection, auth: AuthBody | undefined): Promise<void> {
    const admission = this.parts.pending.get(ws)?.admission;
    if (admission === undefined) return;
    const { hello, plan } = admission;
    const { options } = this.server;
    const secret = options.serverSecret;
    let context: ProofContext | undefined;
    if (plan.requireProof) {
      context = this.context(admission, admission.serverNonce ?? '');
      const ok = secret !== undefined && (await verifyPeerProof(secret, context, auth?.proof));
      if (ws.state !== 'authenticating') return;
      if (!ok) {
        this.refuse(ws, new AuthError('Wrong or missing server secret proof'));
        return;
      }
    }
    if (plan.checkAuthFnIn) {
      const accepted = await checkAuthIn(options.authFnIn, auth?.authValue);
      if (ws.state !== 'authenticating') return;
      if (!accepted) {
        const error = new AuthError(`Clone "${hello.id}" failed authentication`);
        this.parts.logger.info(`authError clone ${hello.id}`);
        this.parts.emit('authError', {
          server: this.server,
          clone: { id: hello.id, url: null },
          error,
        });
        this.refuse(ws, error, false);
        return;
      }
    }
    if (plan.runAuthenticate && options.authenticate !== undefined) {
      let result: unknown;
      try {
        result = await options.authenticate({
          credentials: plan.challenge ? auth?.credentials : hello.credentials,
          request: ws.request,
          ws,
        });
      } catch {
        result = false;
      }
      if (ws.state !== 'authenticating') return;
      if (result === false) {
        this.refuse(ws, new AuthError('The server refused the credentials'));
        return;
      }
      ws.auth = result;
    }
    const cipher =
      context !== undefined && secret !== undefined && hello.enc === CIPHER_SCHEME
        ? nodeCipherFactory(secret, cipherSalt(context), this.server.id, hello.id, 'accepting')
        : undefined;
    ws.grants = grantsFor(hello, this.security(ws), context !== undefined);
    this.opened(ws, hello, cipher);
  }

  /** The handshake succeeded: WELCOME, then the frames that waited. */
  private opened(ws: ServerConnection, hello: HelloBody, cipher: FrameCipher | undefined): void {
    const { server } = this;
    const held = this.parts.pending.get(ws)?.held ?? [];
    this.end(ws);
    switch (ws.grants.role) {
      case 'clone': {
        // A node on a backplane is in no clone mesh: say so instead of half-accepting.
        if (server.backplaneKind !== undefined) {
          ws.connection.close(
            CloseCode.POLICY_VIOLATION,
            `this node runs on the ${server.backplaneKind} backplane, not a clone mesh`,
          );
          return;
        }
        // It proved who it is (`auth`), even if it is refused below as deleted or duplicate.
        this.parts.emit('auth', { server, clone: { id: hello.id, url: null } });
        // Refuse a duplicate id before WELCOME: a dialer that got WELCOME counts the link as
        // up and redials within milliseconds instead of backing off.
        if (!server.clones.canAcceptInbound(hello.id, hello.instance)) {
          const deleted = server.clones.isDeleted(hello.id);
          ws.connection.close(
            deleted ? CloseCode.POLICY_VIOLATION : CloseCode.DUPLICATE_ID,
            deleted ? 'clone deleted here' : 'duplicate clone id',
          );
          return;
        }
        ws.state = 'open';
        this.welcome(ws, hello, cipher);
        // Mesh peers are watched by the link layer's faster heartbeat.
        this.parts.heartbeat.delete(ws.connection);
        if (!server.clones.acceptInbound(ws.connection, hello.id, hello.instance)) {
          ws.connection.close(CloseCode.DUPLICATE_ID, 'duplicate clone id');
          return;
        }
        break;
      }
      case 'link':
        ws.state = 'open';
        this.welcome(ws, hello, cipher);
        this.parts.heartbeat.delete(ws.connection);
        this.parts.links.acceptInbound(
          ws.connection,
          hello.id,
          hello.namespace ?? DEFAULT_NAMESPACE,
        );
        break;
      case 'client':
        ws.state = 'open';
        server.clients.set(ws.id, ws);
        this.welcome(ws, hello, cipher);
        this.parts.logger.info(`connection ${ws.id} (${ws.kind} ${hello.id})`);
        this.parts.emit('connection', { server, ws });
        break;
    }
    replayHeld(ws, held, (frame, raw) => this.server.handleFrame(ws, frame, raw));
  }

  /**
   * Sends WELCOME (in clear), then applies what was agreed: the peer's frame limit, batches
   * both ways when the peer reads them (WELCOME says this server does too) and packs of group
   * messages for clients that read them, or encryption, which seals frame by frame and does
   * not batch.
   */
  private welcome(ws: ServerConnection, hello: HelloBody, cipher: FrameCipher | undefined): void {
    const batches = hello.batch === true && hello.enc === undefined;
    const body: WelcomeBody = {
      v: PROTOCOL_VERSION,
      serverId: this.server.id,
      connectionId: ws.id,
      maxPayload: this.server.options.maxPayload,
    };
    if (cipher !== undefined) body.enc = CIPHER_SCHEME;
    else if (batches) body.batch = true;
    const packs = batches && hello.pack === true && ws.kind === 'client';
    if (packs) body.pack = true;
    if (batches) ws.connection.readBatches();
    if (ws.kind === 'client') body.recovery = true;
    try {
      ws.connection.negotiated(
        {
          peerMaxPayload: hello.maxPayload,
          cipher,
          peerReadsBatches: batches,
          peerReadsPacks: packs,
        },
        [FrameType.WELCOME, body],
      );
    } catch {
      // Closed meanwhile: the close handler cleans up.
    }
  }

  /** A broken handshake: ERROR `ERR_PROTOCOL`, close 4001. */
  private fail(ws: ServerConnection, message: string): void {
    ws.connection.replyError(0, new ProtocolError(ErrorCode.PROTOCOL, message));
    ws.connection.close(CloseCode.HANDSHAKE_FAILED, message.slice(0, 100));
  }

  /** A refused peer: ERROR `ERR_AUTH`, close 4003; nothing it sent is handled. */
  private refuse(ws: ServerConnection, error: AuthError, report = true): void {
    if (report) this.server.reportError(error, ws);
    dropHeld(this.parts.pending.get(ws));
    ws.connection.replyError(0, error);
    ws.connection.close(CloseCode.AUTH_FAILED, 'authentication failed');
  }
}
