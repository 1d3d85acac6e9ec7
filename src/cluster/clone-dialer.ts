/**
 * Dials one remote clone. The peer must answer with the expected id, and prove the server
 * secret when there is one, before the authValue from `authFnOut` is sent. Reconnection and
 * backoff are the {@link PeerDialer}'s.
 * @module
 */
import { AuthError, ErrorCode, WsMeshError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { Frame } from '../protocol/frames.js';
import type { TlsOptions } from '../transport/dialer.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { CloneLink } from './clone-link.js';
import { PeerDialer } from './peer-dialer.js';
import type { RemoteClone } from './remote-clone.js';

/** What a clone dialer needs from the clone manager. */
export interface DialerOwner {
  readonly selfId: string;
  readonly instance: string;
  readonly codec: Codec;
  readonly cloneInterval: number;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly tls: TlsOptions | undefined;
  /** The server secret: clones prove it to each other, both ways, when it is set. */
  readonly secret: string | undefined;
  /** Ask for payload encryption on clone links (needs `secret`). */
  readonly encryption: boolean;
  authValueFor(clone: RemoteClone): Promise<unknown>;
  linkOpened(link: CloneLink): void;
  linkFrame(link: CloneLink, frame: Frame): void;
  linkClosed(link: CloneLink): void;
  dialFailed(clone: RemoteClone, error: Error, authRefused: boolean): void;
  /** False when no dial is needed now (a link to that clone is up, or it was forgotten). */
  wantsDial(id: string): boolean;
}

export { MAX_BACKOFF_MS } from './peer-dialer.js';

/** Keeps one outbound link to a remote clone. */
export class CloneDialer {
  private readonly dialer: PeerDialer;
  private link: CloneLink | undefined;

  constructor(
    owner: DialerOwner,
    /** The clone dialed. */
    readonly clone: RemoteClone,
  ) {
    this.dialer = new PeerDialer({
      role: 'clone',
      get selfId() {
        return owner.selfId;
      },
      get codec() {
        return owner.codec;
      },
      get maxPayload() {
        return owner.maxPayload;
      },
      get maxBufferedBytes() {
        return owner.maxBufferedBytes;
      },
      get tls() {
        return owner.tls;
      },
      get retryBase() {
        return owner.cloneInterval;
      },
      url: () => clone.url,
      handshake: () => ({
        id: owner.selfId,
        kind: 'clone',
        maxPayload: owner.maxPayload,
        instance: owner.instance,
        expectServerId: clone.id,
        mismatch: (serverId) =>
          new WsMeshError(
            ErrorCode.CLONE_ID_MISMATCH,
            `${String(clone.url)} answered as "${serverId}", not "${clone.id}"`,
          ),
        secret: owner.secret,
        encryption: owner.encryption && owner.secret !== undefined,
        cipherFactory: nodeCipherFactory,
        authValue: async () => {
          try {
            return await owner.authValueFor(clone);
          } catch (error) {
            throw new AuthError(
              `authFnOut failed: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        },
      }),
      opened: (connection) => {
        this.link = new CloneLink(clone.id, 'out', connection, owner.selfId);
        owner.linkOpened(this.link);
      },
      frame: (_connection, frame) => {
        if (this.link !== undefined) owner.linkFrame(this.link, frame);
      },
      closed: () => {
        const link = this.link;
        this.link = undefined;
        if (link === undefined) return;
        link.closed = true;
        owner.linkClosed(link);
      },
      failed: (error, authRefused) => owner.dialFailed(clone, error, authRefused),
      wanted: () => owner.wantsDial(clone.id),
    });
  }

  /** True while dialing or linked. */
  get busy(): boolean {
    return this.dialer.busy;
  }

  /** Dials now (or after `delay` ms). */
  start(delay = 0): void {
    this.dialer.start(delay);
  }

  /** Stops dialing and closes the link. */
  stop(): void {
    this.dialer.stop(undefined, 'clone link stopped');
  }
}
