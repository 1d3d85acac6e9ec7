/**
 * What a server knows about one remote clone (the values of `server.clones.clones`).
 * @module
 */
import type { AuthFnOut } from './auth.js';

/** Connection state of a remote clone as seen from this server. */
export type RemoteCloneState = 'linked' | 'connecting' | 'unreachable' | 'routed';

/** A remote clone. */
export class RemoteClone {
  /** Remote clone id. */
  readonly id: string;
  /** Address to dial, when known. */
  url: string | null;
  /** True when added with `addClone` (never forgotten, only deleted). */
  explicit: boolean;
  /** Per-clone `authFnOut` given to `addClone`. */
  authFnOut: AuthFnOut | undefined;
  /**
   * `linked`: a direct link is up; `routed`: reachable through other clones; `connecting`:
   * being dialed; `unreachable`: no path right now.
   */
  state: RemoteCloneState = 'unreachable';
  /** Epoch ms when the clone was last linked or reachable. */
  lastSeen: number;

  constructor(id: string, url: string | null, explicit: boolean, authFnOut?: AuthFnOut) {
    this.id = id;
    this.url = url;
    this.explicit = explicit;
    this.authFnOut = authFnOut;
    this.lastSeen = Date.now();
  }
}
