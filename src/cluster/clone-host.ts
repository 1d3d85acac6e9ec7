/**
 * What the clone layer needs from its server. A leaf module, so every clone unit can name
 * the server's options without importing the clone manager.
 * @module
 */
import type { GroupManager } from '../groups/group-manager.js';
import type { Subscriber } from '../groups/subscriber.js';
import type { BackplaneMessage } from '../backplane/backplane.js';
import type { Frame } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import type { AuthFnOut } from './auth.js';

/** What the clone manager needs from its server. */
export interface CloneHost {
  readonly id: string;
  readonly url: string | undefined;
  /** Engine of the server's backplane when it is not the mesh (`nats`...): the mesh stays idle. */
  readonly backplaneKind: string | undefined;
  /** The server's groups: presence and history between clones read them. */
  readonly groups: GroupManager<Subscriber>;
  readonly cloneOptions: {
    cloneInterval: number;
    maxPayload: number;
    maxBufferedBytes: number;
    authFnOut: AuthFnOut | undefined;
    tls: TlsOptions | undefined;
    serverSecret: string | undefined;
    encryption: boolean;
    /** How long a subscription or an acknowledged publish waits for the other clones, in ms. */
    clusterAckTimeout: number;
    /** Most clones (records, and clones known by name) kept besides linked and added ones. */
    maxClones: number;
  };
  emitAuthError(clone: { id: string; url: string | null }, error: Error): void;
  reportError(error: unknown): void;
  /** Logs a warning (nothing is emitted). */
  logWarning(message: string, fields: Record<string, unknown>): void;
  /** A group message relayed by another clone, for this server's subscribers. */
  deliver(message: BackplaneMessage): number;
  /** Another clone deleted a group: delete it here without telling anyone. */
  groupDeleted(groupId: string): void;
  /** A clone joined or left `clones`. */
  nodesChanged(): void;
  /** A clone link is up: clones also share RPC functions over it. */
  cloneLinkUp(connection: Connection, peerId: string, direction: 'in' | 'out'): void;
  /** A clone link that was up closed. */
  cloneLinkDown(connection: Connection): void;
  /** An RPC or route frame arrived on a clone link. */
  cloneLinkFrame(connection: Connection, frame: Frame): void;
}
