/**
 * What the client connector needs from its client: its options and parts, and where events
 * and errors go.
 * @module
 */
import type { PeerKind } from '../protocol/frames.js';
import type { RpcCaller } from '../rpc/rpc-caller.js';
import type { Dialer } from '../transport/dialer.js';
import type { CipherFactory } from '../transport/frame-cipher.js';
import type { ClientEventMap } from './client-events.js';
import type { ClientGroups } from './client-groups.js';
import type { FrameSink } from './client-router.js';
import type { ResolvedClientOptions } from './options.js';
import type { Outbox } from './outbox.js';

/** The part of the client the connector reads: whether its errors are listened to. */
export interface ErrorListened {
  listenerCount(event: 'error' | 'connect_error'): number;
}

/** What the connector needs from its client (`C`, as events name it). */
export interface ConnectorHost<C extends ErrorListened> {
  /** The client, as events name it. */
  readonly client: C;
  readonly options: ResolvedClientOptions;
  /** What the client announces itself as (`rpc` for RpcProxy). */
  readonly kind: PeerKind;
  readonly dialer: Dialer;
  /** Payload encryption of this platform, when it has one (Node). */
  readonly cipherFactory: CipherFactory | undefined;
  /** Takes the frames of open connections. */
  readonly frames: FrameSink;
  readonly groups: ClientGroups;
  readonly outbox: Outbox;
  readonly rpcCaller: RpcCaller;
  /** The client's (protected) `emit`. */
  readonly emit: <K extends keyof ClientEventMap<C>>(
    event: K,
    payload: ClientEventMap<C>[K],
  ) => boolean;
  reportError(error: unknown): void;
}
