/**
 * Dials one remote clone: HELLO with the authValue from `authFnOut`; the WELCOME must come
 * from the expected id. Reconnection and backoff are the {@link PeerDialer}'s.
 * @module
 */
import { AuthError, WsMeshError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { PROTOCOL_VERSION, type Frame } from '../protocol/frames.js';
import type { TlsOptions } from '../transport/dialer.js';
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
      hello: async () => {
        let auth: unknown;
        try {
          auth = await owner.authValueFor(clone);
        } catch (error) {
          throw new AuthError(
            `authFnOut failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        return {
          v: PROTOCOL_VERSION,
          id: owner.selfId,
          kind: 'clone',
          auth,
          maxPayload: owner.maxPayload,
          instance: owner.instance,
        };
      },
      accept: async (welcome) =>
        welcome.serverId === clone.id
          ? undefined
          : new WsMeshError(
              'ERR_CLONE_ID_MISMATCH',
              `${String(clone.url)} answered as "${welcome.serverId}", not "${clone.id}"`,
            ),
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
