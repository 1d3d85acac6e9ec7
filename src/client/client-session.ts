/**
 * One connection attempt of a client, from dialing to close: the subprotocol the server
 * chose, the handshake (src/handshake/dialing.ts: HELLO, CHALLENGE and AUTH when a secret is
 * proved both ways, WELCOME with encryption), then every frame of the connection to the
 * client's frame router. The client decides what happens before (urls, credentials) and
 * after (reconnect).
 * @module
 */
import { AuthError, ErrorCode, ProtocolError, TimeoutError } from '../errors.js';
import { DialingHandshake, handshakeError } from '../handshake/dialing.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { codecForSubprotocol } from '../protocol/codecs.js';
import {
  CloseCode,
  FrameType,
  type ChallengeBody,
  type Frame,
  type PeerKind,
  type WelcomeBody,
} from '../protocol/frames.js';
import { Connection, type ConnectionHandler } from '../transport/connection.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';
import type { DialEvents, Dialer } from '../transport/dialer.js';
import type { CipherFactory } from '../transport/frame-cipher.js';
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
  /** HELLO, CHALLENGE and AUTH, WELCOME. */
  private readonly handshake: DialingHandshake;
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
    credentials: unknown,
  ) {
    this.frames = host.frames;
    const { options } = host;
    this.handshake = new DialingHandshake({
      id: host.id,
      kind: host.kind,
      maxPayload: options.maxPayload,
      secret: options.serverSecret,
      encryption: options.encryption,
      cipherFactory: host.cipherFactory,
      credentials,
      // Several frames per message from the server, group messages packed (PROTOCOL.md 2.9).
      batch: true,
      pack: true,
    });
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
      if (this.handshake.readsBatches) connection.readBatches();
      connection.send([FrameType.HELLO, this.handshake.hello]);
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
    if (this.welcomed) {
      this.frames.handleFrame(frame, raw, this.connection);
      return;
    }
    switch (frame[0]) {
      case FrameType.CHALLENGE:
        void this.answer(frame[1]);
        return;
      case FrameType.WELCOME:
        this.welcome(frame[1]);
        return;
      case FrameType.ERROR: {
        const error = handshakeError(frame[2]);
        if (error instanceof AuthError) this.host.refused(error);
        else this.host.failed(error);
        return;
      }
      default:
        this.abort(new ProtocolError(ErrorCode.PROTOCOL, `Frame type ${frame[0]} before WELCOME`));
    }
  }

  /** ConnectionHandler: the connection closed (maybe by itself, before the socket did). */
  onClose(code: number, reason: string): void {
    this.localClose ??= [code, reason];
  }

  /** ConnectionHandler: a problem worth reporting. */
  onError(error: Error): void {
    this.host.reportError(error);
  }

  /** CHALLENGE: checks the server, then proves the secret back with AUTH. */
  private async answer(challenge: ChallengeBody): Promise<void> {
    let auth;
    try {
      auth = await this.handshake.answer(challenge);
    } catch (error) {
      this.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (!this.current || this.connection === undefined || this.connection.closed) return;
    try {
      this.connection.send([FrameType.AUTH, auth]);
    } catch (error) {
      this.host.reportError(error);
    }
  }

  /** WELCOME: the server is who it must be; encryption switches on here when agreed. */
  private welcome(body: WelcomeBody): void {
    let cipher;
    try {
      ({ cipher } = this.handshake.welcome(body));
    } catch (error) {
      this.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.welcomed = true;
    this.connection?.negotiated({
      peerMaxPayload: body.maxPayload,
      cipher,
      peerReadsBatches: body.batch === true,
    });
    this.host.welcomed(this.url, body);
  }

  /** The server is not who it must be, or broke the handshake: report and close. */
  private abort(error: Error): void {
    if (error instanceof AuthError) {
      this.host.refused(error);
      this.socket.close(CloseCode.AUTH_FAILED, error.message.slice(0, 100));
    } else {
      this.host.failed(error);
      this.socket.close(CloseCode.HANDSHAKE_FAILED, error.message.slice(0, 100));
    }
  }
}
