/**
 * Dials one remote clone and keeps a link to it: HELLO with the authValue from `authFnOut`,
 * WELCOME must come from the expected id, then frames go to the owner. A dropped link is
 * redialed soon; failures back off exponentially (harder after an authentication refusal)
 * so an unreachable or hostile peer is not hammered.
 * @module
 */
import { AuthError, ErrorCode, ProtocolError, WsMeshError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { CloseCode, FrameType, PROTOCOL_VERSION, type Frame } from '../protocol/frames.js';
import { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import { nodeDialer } from '../transport/node-dialer.js';
import type { WireSocket } from '../transport/wire-socket.js';
import { CloneLink } from './clone-link.js';
import type { RemoteClone } from './remote-clone.js';

/** What a dialer needs from the clone manager. */
export interface DialerOwner {
  readonly selfId: string;
  readonly instance: string;
  readonly codec: Codec;
  readonly cloneInterval: number;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly tls: TlsOptions | undefined;
  authValueFor(clone: RemoteClone): Promise<unknown>;
  linkOpened(link: CloneLink): void;
  linkFrame(link: CloneLink, frame: Frame): void;
  linkClosed(link: CloneLink): void;
  dialFailed(clone: RemoteClone, error: Error, authRefused: boolean): void;
}

/** Longest wait between two attempts. */
export const MAX_BACKOFF_MS = 30_000;

/** Keeps one outbound link to a remote clone. */
export class CloneDialer {
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private socket: WireSocket | undefined;
  private link: CloneLink | undefined;
  private stopped = false;

  constructor(
    private readonly owner: DialerOwner,
    /** The clone dialed. */
    readonly clone: RemoteClone,
  ) {}

  /** True while dialing or linked. */
  get busy(): boolean {
    return this.socket !== undefined;
  }

  /** Dials now (or after `delay` ms). */
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

  /** Stops dialing and closes the link. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.link !== undefined) this.link.close(CloseCode.GOING_AWAY, 'clone link stopped');
    else this.socket?.terminate();
  }

  private async dial(): Promise<void> {
    const url = this.clone.url;
    if (this.stopped || url === null) return;
    let authValue: unknown;
    try {
      authValue = await this.owner.authValueFor(this.clone);
    } catch (error) {
      this.failed(new AuthError(`authFnOut failed: ${error instanceof Error ? error.message : String(error)}`), true);
      return;
    }
    if (this.stopped || this.socket !== undefined) return;
    const owner = this.owner;
    let connection: Connection | undefined;
    let link: CloneLink | undefined;
    let lastError: Error | undefined;
    const socket = nodeDialer(
      url,
      [owner.codec.subprotocol],
      { maxPayload: owner.maxPayload, handshakeTimeout: Math.max(owner.cloneInterval, 5000), tls: owner.tls },
      {
        open: () => {
          connection = new Connection(
            socket,
            {
              onFrame: (frame) => {
                if (link !== undefined) {
                  owner.linkFrame(link, frame);
                  return;
                }
                if (frame[0] === FrameType.WELCOME && connection !== undefined) {
                  if (frame[1].serverId !== this.clone.id) {
                    lastError = new WsMeshError(
                      'ERR_CLONE_ID_MISMATCH',
                      `${url} answered as "${frame[1].serverId}", not "${this.clone.id}"`,
                    );
                    connection.close(CloseCode.POLICY_VIOLATION, 'clone id mismatch');
                    return;
                  }
                  connection.peerMaxPayload = frame[1].maxPayload;
                  link = new CloneLink(this.clone.id, 'out', connection, owner.selfId);
                  this.link = link;
                  this.failures = 0;
                  owner.linkOpened(link);
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
              codec: owner.codec,
              maxBufferedBytes: owner.maxBufferedBytes,
              requestTimeout: Math.max(owner.cloneInterval, 5000),
              localId: owner.selfId,
            },
          );
          try {
            connection.send([
              FrameType.HELLO,
              {
                v: PROTOCOL_VERSION,
                id: owner.selfId,
                kind: 'clone',
                auth: authValue,
                maxPayload: owner.maxPayload,
                instance: owner.instance,
              },
            ]);
          } catch (error) {
            lastError = error instanceof Error ? error : new Error(String(error));
            socket.terminate();
          }
        },
        message: (payload) => connection?.receive(payload),
        close: (code, reason) => {
          connection?.handleClosed(code, reason);
          this.socket = undefined;
          if (link !== undefined) {
            this.link = undefined;
            link.closed = true;
            owner.linkClosed(link);
            // A link that was up is redialed soon: the peer may be back in a moment.
            this.schedule(this.failures === 0 ? 50 + Math.random() * 200 : this.backoff());
            this.failures++;
            return;
          }
          const authRefused = code === CloseCode.AUTH_FAILED || lastError instanceof AuthError;
          if (code === CloseCode.DUPLICATE_ID) {
            lastError = new WsMeshError(
              'ERR_DUPLICATE_ID',
              `${url} refused this clone: another server with id "${owner.selfId}" is linked there`,
              { id: owner.selfId },
            );
          }
          this.failed(lastError ?? new WsMeshError('ERR_CLONE_UNREACHABLE', `Cannot reach clone ${this.clone.id} at ${url} (${code})`), authRefused);
        },
        error: (error) => {
          lastError = error;
        },
      },
    );
    this.socket = socket;
  }

  private failed(error: Error, authRefused: boolean): void {
    this.socket = undefined;
    // An authentication refusal will not fix itself quickly: back off harder.
    this.failures += authRefused ? 4 : 1;
    this.owner.dialFailed(this.clone, error, authRefused);
    this.schedule(this.backoff());
  }

  private backoff(): number {
    const base = Math.min(this.owner.cloneInterval / 4 * 2 ** Math.min(this.failures, 16), MAX_BACKOFF_MS);
    return base / 2 + Math.random() * (base / 2);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.start(Math.max(1, delay));
  }
}
