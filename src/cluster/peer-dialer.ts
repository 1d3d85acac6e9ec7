/**
 * Keeps one outbound server-to-server connection (a clone link or an RPC server link) up:
 * dials, runs the dialing handshake (src/handshake/dialing.ts), hands frames to its owner,
 * and redials with
 * exponential backoff and jitter (harder after an authentication refusal) so an unreachable
 * or hostile peer is not hammered.
 * @module
 */
import { AuthError, ErrorCode, ProtocolError, WsMeshError } from '../errors.js';
import { DialingHandshake, handshakeError, type DialingSetup } from '../handshake/dialing.js';
import { frameSink } from '../handshake/frame-table.js';
import type { Codec } from '../protocol/codec.js';
import { CloseCode, FrameType, type Frame, type WelcomeBody } from '../protocol/frames.js';
import { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import { nodeDialer } from '../transport/node-dialer.js';
import type { WireSocket } from '../transport/wire-socket.js';

/** Longest wait between two attempts. */
export const MAX_BACKOFF_MS = 30_000;

/** What a dialer needs from its owner. */
export interface PeerDialerHooks {
  readonly selfId: string;
  /** What the dialed peer is: the frames it may send are that role's (frame-table.ts). */
  readonly role: 'clone' | 'link';
  readonly codec: Codec;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly tls: TlsOptions | undefined;
  /** First wait after a failure, in ms (doubles per failure up to 30 s). */
  readonly retryBase: number;
  /** Current url to dial, or null to stop trying. */
  url(): string | null;
  /** What the handshake announces and checks (without `batch`, which links always read). */
  handshake(): DialingSetup;
  /** Checks WELCOME beyond the handshake's own checks; an error refuses the link. */
  accept?(welcome: WelcomeBody): Error | undefined;
  opened(connection: Connection, welcome: WelcomeBody): void;
  frame(connection: Connection, frame: Frame): void;
  closed(connection: Connection): void;
  failed(error: Error, authRefused: boolean): void;
  /**
   * Asked before every redial; false leaves the dialer idle (its owner starts it again when
   * needed). Clones use it so a link closed as a duplicate is not redialed while the other
   * link to the same clone is up.
   */
  wanted?(): boolean;
}

/** Dials one peer and keeps the connection up. */
export class PeerDialer {
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private socket: WireSocket | undefined;
  private live: Connection | undefined;
  private stopped = false;

  constructor(private readonly hooks: PeerDialerHooks) {}

  /** True while dialing or connected. */
  get busy(): boolean {
    return this.socket !== undefined;
  }

  /** The live connection, once accepted. */
  get connection(): Connection | undefined {
    return this.live;
  }

  /** Dials now (or after `delay` ms) unless already busy or scheduled. */
  start(delay = 0): void {
    if (this.stopped || this.socket !== undefined || this.timer !== undefined) return;
    if (delay <= 0) {
      void this.dial();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.dial();
    }, delay);
  }

  /** Stops for good and closes the connection. */
  stop(code: number = CloseCode.GOING_AWAY, reason = 'link stopped'): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live !== undefined) this.live.close(code, reason);
    else this.socket?.terminate();
  }

  private async dial(): Promise<void> {
    const { hooks } = this;
    const url = hooks.url();
    if (this.stopped || url === null) return;
    let handshake: DialingHandshake;
    try {
      // Links read batches unless they encrypt (PROTOCOL.md, "Batches").
      handshake = new DialingHandshake({ ...hooks.handshake(), batch: true });
    } catch (error) {
      this.failed(error instanceof Error ? error : new AuthError(String(error)), true);
      return;
    }
    if (this.stopped || this.socket !== undefined) return;
    let connection: Connection | undefined;
    let accepted = false;
    let lastError: Error | undefined;
    const refuse = (opened: Connection, error: Error): void => {
      lastError = error;
      opened.close(
        error instanceof AuthError ? CloseCode.AUTH_FAILED : CloseCode.POLICY_VIOLATION,
        error.message.slice(0, 100),
      );
    };
    const timeout = Math.max(hooks.retryBase * 2, 5000);
    let deadline: ReturnType<typeof setTimeout> | undefined = undefined;
    const socket = nodeDialer(
      url,
      [hooks.codec.subprotocol],
      { maxPayload: hooks.maxPayload, handshakeTimeout: timeout, tls: hooks.tls },
      {
        open: () => {
          const opened = new Connection(
            socket,
            {
              onFrame: (frame) => {
                if (accepted) {
                  if (frameSink(hooks.role, frame[0]) !== undefined) hooks.frame(opened, frame);
                  else
                    opened.replyError(
                      0,
                      new ProtocolError(
                        ErrorCode.PROTOCOL,
                        `Frame type ${frame[0]} is not accepted from a ${hooks.role} peer`,
                      ),
                    );
                  return;
                }
                switch (frame[0]) {
                  case FrameType.CHALLENGE:
                    handshake.answer(frame[1]).then(
                      (auth) => {
                        if (!opened.closed) opened.send([FrameType.AUTH, auth]);
                      },
                      (error: unknown) =>
                        refuse(opened, error instanceof Error ? error : new Error(String(error))),
                    );
                    return;
                  case FrameType.WELCOME: {
                    const error = this.welcome(opened, handshake, frame[1]);
                    if (error !== undefined) refuse(opened, error);
                    else accepted = true;
                    return;
                  }
                  case FrameType.ERROR:
                    lastError = handshakeError(frame[2]);
                    return;
                  default:
                    refuse(opened, new AuthError(`Frame type ${frame[0]} before WELCOME`));
                }
              },
              onClose: () => undefined,
              onError: (error) => {
                lastError = error;
              },
            },
            {
              codec: hooks.codec,
              maxBufferedBytes: hooks.maxBufferedBytes,
              requestTimeout: timeout,
              localId: hooks.selfId,
            },
          );
          connection = opened;
          if (handshake.readsBatches) opened.readBatches();
          try {
            opened.send([FrameType.HELLO, handshake.hello]);
          } catch (error) {
            lastError = error instanceof Error ? error : new Error(String(error));
            socket.terminate();
          }
        },
        message: (payload) => connection?.receive(payload),
        invalidText: () => connection?.refuseInvalidText(),
        close: (code, reason) => {
          clearTimeout(deadline);
          connection?.handleClosed(code, reason);
          this.socket = undefined;
          if (accepted && connection !== undefined) {
            this.live = undefined;
            hooks.closed(connection);
            // A link that was up is redialed soon: the peer may be back in a moment.
            this.schedule(this.failures === 0 ? 50 + Math.random() * 200 : this.backoff());
            this.failures++;
            return;
          }
          const authRefused = code === CloseCode.AUTH_FAILED || lastError instanceof AuthError;
          if (code === CloseCode.DUPLICATE_ID) {
            lastError = new WsMeshError(
              ErrorCode.DUPLICATE_ID,
              `${url} refused this server: another server with id "${hooks.selfId}" is linked there`,
              { id: hooks.selfId },
            );
          }
          this.failed(
            lastError ??
              new WsMeshError(ErrorCode.PEER_UNREACHABLE, `Cannot reach ${url} (${code})`),
            authRefused,
          );
        },
        error: (error) => {
          lastError = error;
        },
      },
    );
    this.socket = socket;
    // The dialer's own timeout covers the WebSocket upgrade; this covers the wsmesh handshake
    // after it, so a peer that upgrades and then says nothing does not park the link forever.
    deadline = setTimeout(() => {
      if (!accepted) {
        lastError ??= new WsMeshError(
          ErrorCode.PEER_UNREACHABLE,
          `${url} did not finish the handshake`,
        );
        socket.terminate();
      }
    }, timeout);
  }

  /** WELCOME: the handshake's checks and the owner's; the link is up when both pass. */
  private welcome(
    connection: Connection,
    handshake: DialingHandshake,
    body: WelcomeBody,
  ): Error | undefined {
    let cipher;
    try {
      ({ cipher } = handshake.welcome(body));
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    const error = this.hooks.accept?.(body);
    if (error !== undefined) return error;
    if (connection.closed) return new WsMeshError(ErrorCode.PEER_UNREACHABLE, 'closed');
    connection.negotiated({
      peerMaxPayload: body.maxPayload,
      cipher,
      peerReadsBatches: body.batch === true,
    });
    this.live = connection;
    this.failures = 0;
    this.hooks.opened(connection, body);
    return undefined;
  }

  private failed(error: Error, authRefused: boolean): void {
    this.socket = undefined;
    // An authentication refusal will not fix itself quickly: back off harder.
    this.failures += authRefused ? 4 : 1;
    this.hooks.failed(error, authRefused);
    this.schedule(this.backoff());
  }

  private backoff(): number {
    const base = Math.min(
      (this.hooks.retryBase / 2) * 2 ** Math.min(this.failures, 16),
      MAX_BACKOFF_MS,
    );
    return base / 2 + Math.random() * (base / 2);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.hooks.wanted?.() === false) {
      this.failures = 0;
      return;
    }
    this.start(Math.max(1, delay));
  }
}
