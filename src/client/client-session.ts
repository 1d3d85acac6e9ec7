/**
 * One connection attempt of a client, from dialing to close: the subprotocol the server
 * chose, HELLO, WELCOME with the server's secret proof (frames right behind it wait until the
 * proof is checked) and encryption, then every frame of the connection to the client's frame
 * router. The client decides what happens before (urls, credentials) and after (reconnect).
 * @module
 */
import { AuthError, ErrorCode, ProtocolError, TimeoutError, WsMeshError } from '../errors.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { codecForSubprotocol } from '../protocol/codecs.js';
import {
  CloseCode,
  FrameType,
  PROTOCOL_VERSION,
  type Frame,
  type HelloBody,
  type PeerKind,
  type SecretProof,
  type WelcomeBody,
} from '../protocol/frames.js';
import { verifyServerProof } from '../rpc/secret.js';
import { Connection, type ConnectionHandler } from '../transport/connection.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';
import type { DialEvents, Dialer } from '../transport/dialer.js';
import { CIPHER_SCHEME, type CipherFactory } from '../transport/frame-cipher.js';
import type { WireSocket } from '../transport/wire-socket.js';
import type { FrameSink } from './client-router.js';
import type { ResolvedClientOptions } from './options.js';

/** Closes a socket whose wsmesh handshake did not complete in time. */
class WelcomeDeadline extends DeadlineEntry {
  constructor(
    private readonly session: ClientSession,
    private readonly timeout: number,
  ) {
    super();
  }
  override expire(): void {
    this.session.timedOut(this.timeout);
  }
}

/** What sessions need from their client; one object serves every session of a client. */
export interface SessionHost {
  /** The client id, announced in HELLO. */
  readonly id: string;
  readonly kind: PeerKind;
  readonly options: ResolvedClientOptions;
  readonly dialer: Dialer;
  /** Payload encryption of this platform, when it has one (Node). */
  readonly cipherFactory: CipherFactory | undefined;
  /** Takes the frames of the connection once it is open. */
  readonly frames: FrameSink;
  /** WELCOME arrived (and the server proved the secret, when there is one). */
  welcomed(url: string, body: WelcomeBody): void;
  /** The socket of the current session closed (`wasOpen`: after WELCOME). */
  socketClosed(url: string, wasOpen: boolean, code: number, reason: string): void;
  /** Why the attempt is failing; reported if the socket closes before WELCOME. */
  failed(error: Error): void;
  /** The server refused authentication, or did not prove the secret: no point retrying. */
  refused(error: AuthError): void;
  reportError(error: unknown): void;
}

/**
 * One dialed socket and its wsmesh connection. It reports to its client only while it is the
 * client's current session (`current`); events of a replaced session are ignored.
 */
export class ClientSession implements DialEvents, ConnectionHandler {
  /** Set by the client while this is its current session. */
  current = false;
  /** The dialed socket. */
  readonly socket: WireSocket;
  /** The wsmesh connection, made once the WebSocket is open. */
  connection: Connection | undefined;
  /** Set by WELCOME: the connection was established. */
  private welcomed = false;
  /** Frames that arrived behind WELCOME while the server's proof is checked. */
  private held: [Frame, WirePayload][] | undefined;
  /** When the connection closed itself (heartbeat, slow consumer...), its code is the one to report. */
  private localClose: [number, string] | undefined;
  private deadline: WelcomeDeadline | undefined;
  private readonly frames: FrameSink;

  /** Dials `url` offering `codec`; throws what the dialer throws. */
  constructor(
    private readonly host: SessionHost,
    /** The url dialed. */
    readonly url: string,
    private readonly codec: Codec,
    private readonly proof: SecretProof | undefined,
    private readonly credentials: unknown,
  ) {
    this.frames = host.frames;
    const { options } = host;
    this.socket = host.dialer(
      url,
      [codec.subprotocol],
      {
        maxPayload: options.maxPayload,
        handshakeTimeout: options.handshakeTimeout,
        tls: options.tls,
      },
      this,
    );
    // Covers the wsmesh handshake after the WebSocket one (the dialer covers that part).
    this.deadline = new WelcomeDeadline(this, options.handshakeTimeout);
    deadlines.add(this.deadline, options.handshakeTimeout);
  }

  /** The handshake is over (WELCOME, close, stop): the deadline goes. */
  clearDeadline(): void {
    if (this.deadline !== undefined) deadlines.remove(this.deadline);
    this.deadline = undefined;
  }

  /** The handshake took longer than `handshakeTimeout`: the attempt fails. */
  timedOut(timeout: number): void {
    if (this.current) {
      this.host.failed(new TimeoutError(`No wsmesh handshake within ${timeout} ms`));
    }
    this.socket.terminate();
  }

  /** DialEvents: the WebSocket is open; the connection starts with HELLO. */
  open(protocol: string): void {
    if (!this.current) return;
    const chosen =
      protocol === '' ? codecForSubprotocol(this.codec.subprotocol) : codecForSubprotocol(protocol);
    if (chosen === undefined) {
      this.host.failed(
        new ProtocolError(ErrorCode.PROTOCOL, `Server chose unknown subprotocol ${protocol}`),
      );
      this.socket.close(CloseCode.PROTOCOL_ERROR, 'unknown subprotocol');
      return;
    }
    const { options } = this.host;
    const connection = new Connection(this.socket, this, {
      codec: chosen,
      maxBufferedBytes: options.maxBufferedBytes,
      requestTimeout: options.awaitResTimeout,
      localId: this.host.id,
    });
    this.connection = connection;
    try {
      const hello: HelloBody = {
        v: PROTOCOL_VERSION,
        id: this.host.id,
        kind: this.host.kind,
        maxPayload: options.maxPayload,
      };
      if (this.proof !== undefined) hello.auth = this.proof;
      if (options.encryption) hello.enc = CIPHER_SCHEME;
      else {
        // Several frames per message from the server (PROTOCOL.md, "Batches").
        hello.batch = true;
        connection.acceptsBatches = true;
      }
      if (this.credentials !== undefined) hello.credentials = this.credentials;
      connection.send([FrameType.HELLO, hello]);
    } catch (error) {
      this.host.reportError(error);
    }
  }

  /** DialEvents: one message from the server. */
  message(payload: WirePayload): void {
    if (this.current) this.connection?.receive(payload);
  }

  /** DialEvents: a text message that is not valid UTF-8. */
  invalidText(): void {
    if (this.current) this.connection?.refuseInvalidText();
  }

  /** DialEvents: the socket closed (also after a failed dial). */
  close(code: number, reason: string): void {
    if (!this.current) return;
    if (this.connection !== undefined) this.connection.handleClosed(code, reason);
    const [finalCode, finalReason] = this.localClose ?? [code, reason];
    this.host.socketClosed(this.url, this.welcomed, finalCode, finalReason);
  }

  /** DialEvents: a socket error (`close` follows). */
  error(error: Error): void {
    if (this.current) this.host.failed(error);
  }

  /** ConnectionHandler: one frame of the connection. */
  onFrame(frame: Frame, raw: WirePayload): void {
    if (this.held !== undefined) {
      this.held.push([frame, raw]);
      return;
    }
    if (frame[0] === FrameType.WELCOME) {
      if (!this.welcomed) this.welcome(frame[1]);
      return;
    }
    if (!this.welcomed && frame[0] === FrameType.ERROR) {
      const { code, message, data } = frame[2];
      // Before WELCOME an error is the server refusing this attempt; the close follows.
      if (code === ErrorCode.AUTH) this.host.refused(new AuthError(message));
      else this.host.failed(new WsMeshError(code, message, data));
      return;
    }
    this.frames.handleFrame(frame, raw, this.connection);
  }

  /** ConnectionHandler: the connection closed (maybe by itself, before the socket did). */
  onClose(code: number, reason: string): void {
    this.localClose ??= [code, reason];
  }

  /** ConnectionHandler: a problem worth reporting. */
  onError(error: Error): void {
    this.host.reportError(error);
  }

  /** The first WELCOME: with a server secret, the server must prove it too. */
  private welcome(body: WelcomeBody): void {
    this.welcomed = true;
    const secret = this.host.options.serverSecret;
    const { proof } = this;
    if (secret === undefined || proof === undefined) {
      this.host.welcomed(this.url, body);
      return;
    }
    // Frames right behind WELCOME wait until the server's proof is checked.
    this.held = [];
    if (this.host.options.encryption) {
      const { cipherFactory } = this.host;
      if (body.enc !== CIPHER_SCHEME || cipherFactory === undefined) {
        this.host.refused(new AuthError('The server did not agree to encrypt'));
        this.socket.close(CloseCode.AUTH_FAILED, 'encryption refused');
        return;
      }
      if (this.connection !== undefined) {
        this.connection.cipher = cipherFactory(secret, proof.nonce, body.serverId, this.host.id);
      }
    }
    void this.checkServer(secret, proof.nonce, body.serverId, body.auth?.proof).then((ok) => {
      const waiting = this.held ?? [];
      this.held = undefined;
      if (!ok) return;
      this.host.welcomed(this.url, body);
      // A session replaced meanwhile has no connection of the client's to reply on.
      const connection = this.current ? this.connection : undefined;
      for (const [next, nextRaw] of waiting) this.frames.handleFrame(next, nextRaw, connection);
    });
  }

  /** Checks that the server proved the secret too (so it is not an impostor collecting calls). */
  private async checkServer(
    secret: string,
    nonce: string,
    serverId: string,
    proof: string | undefined,
  ): Promise<boolean> {
    const ok = proof !== undefined && (await verifyServerProof(secret, serverId, nonce, proof));
    if (!ok) {
      this.host.refused(new AuthError(`Server "${serverId}" did not prove the server secret`));
      this.socket.close(CloseCode.AUTH_FAILED, 'server failed authentication');
    }
    return ok;
  }
}
