/**
 * Keeps one outbound server-to-server connection (a clone link or an RPC server link) up:
 * dials, sends HELLO, checks WELCOME, hands frames to its owner, and redials with
 * exponential backoff and jitter (harder after an authentication refusal) so an unreachable
 * or hostile peer is not hammered.
 * @module
 */
import { AuthError, ErrorCode, ProtocolError, WsMeshError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import {
  CloseCode,
  FrameType,
  type Frame,
  type HelloBody,
  type WelcomeBody,
} from '../protocol/frames.js';
import { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import type { FrameCipher } from '../transport/frame-cipher.js';
import { nodeDialer } from '../transport/node-dialer.js';
import type { WireSocket } from '../transport/wire-socket.js';

/** Longest wait between two attempts. */
export const MAX_BACKOFF_MS = 30_000;

/** What a dialer needs from its owner. */
export interface PeerDialerHooks {
  readonly selfId: string;
  readonly codec: Codec;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly tls: TlsOptions | undefined;
  /** First wait after a failure, in ms (doubles per failure up to 30 s). */
  readonly retryBase: number;
  /** Current url to dial, or null to stop trying. */
  url(): string | null;
  /** Builds the HELLO body (credentials included). */
  hello(): Promise<HelloBody>;
  /** Checks WELCOME; an error refuses the link. */
  accept(welcome: WelcomeBody): Promise<Error | undefined>;
  /** The cipher to switch to as soon as WELCOME arrives, when encryption was agreed. */
  cipherFor?(welcome: WelcomeBody): FrameCipher | undefined;
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
    let hello: HelloBody;
    try {
      hello = await hooks.hello();
    } catch (error) {
      this.failed(error instanceof Error ? error : new AuthError(String(error)), true);
      return;
    }
    if (this.stopped || this.socket !== undefined) return;
    // Links read batches unless they encrypt (PROTOCOL.md, "Batches").
    const batch = hello.enc === undefined;
    if (batch) hello = { ...hello, batch: true };
    let connection: Connection | undefined;
    let accepted = false;
    // Frames right behind WELCOME (the peer's first CLONE_SYNC) wait while it is checked.
    let held: Frame[] | undefined;
    let lastError: Error | undefined;
    const timeout = Math.max(hooks.retryBase * 2, 5000);
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
                  hooks.frame(opened, frame);
                  return;
                }
                if (held !== undefined) {
                  held.push(frame);
                  return;
                }
                if (frame[0] === FrameType.WELCOME) {
                  held = [];
                  opened.cipher = hooks.cipherFor?.(frame[1]);
                  void this.welcome(opened, frame[1]).then((error) => {
                    if (error !== undefined) {
                      lastError = error;
                      opened.close(
                        error instanceof AuthError
                          ? CloseCode.AUTH_FAILED
                          : CloseCode.POLICY_VIOLATION,
                        error.message.slice(0, 100),
                      );
                      return;
                    }
                    accepted = true;
                    const frames = held ?? [];
                    held = undefined;
                    for (const next of frames) hooks.frame(opened, next);
                  });
                } else if (frame[0] === FrameType.ERROR) {
                  lastError =
                    frame[2].code === ErrorCode.AUTH
                      ? new AuthError(frame[2].message)
                      : new ProtocolError(ErrorCode.PROTOCOL, frame[2].message);
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
          opened.acceptsBatches = batch;
          try {
            opened.send([FrameType.HELLO, hello]);
          } catch (error) {
            lastError = error instanceof Error ? error : new Error(String(error));
            socket.terminate();
          }
        },
        message: (payload) => connection?.receive(payload),
        invalidText: () => connection?.refuseInvalidText(),
        close: (code, reason) => {
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
              'ERR_DUPLICATE_ID',
              `${url} refused this server: another server with id "${hooks.selfId}" is linked there`,
              { id: hooks.selfId },
            );
          }
          this.failed(
            lastError ?? new WsMeshError('ERR_PEER_UNREACHABLE', `Cannot reach ${url} (${code})`),
            authRefused,
          );
        },
        error: (error) => {
          lastError = error;
        },
      },
    );
    this.socket = socket;
  }

  private async welcome(connection: Connection, body: WelcomeBody): Promise<Error | undefined> {
    const error = await this.hooks.accept(body);
    if (error !== undefined || connection.closed)
      return error ?? new WsMeshError('ERR_PEER_UNREACHABLE', 'closed');
    connection.peerMaxPayload = body.maxPayload;
    if (body.batch === true) connection.startBatching();
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
