/**
 * What a server knows about one remote clone (the values of `server.clones.clones`).
 * @module
 */
import type { AuthFnOut } from './auth.js';

/** Connection state of a remote clone as seen from this server. */
export type RemoteCloneState = 'linked' | 'connecting' | 'unreachable' | 'routed';

/**
 * A remote clone. Its state moves only through the event methods below, so every rule about
 * which state follows which (a dial never hides a live link, `connecting` survives a refresh
 * until the dial ends) lives here.
 */
export class RemoteClone {
  /** Remote clone id. */
  readonly id: string;
  /** Address to dial, when known. */
  url: string | null;
  /** True when added with `addClone` (never forgotten, only deleted). */
  explicit: boolean;
  /** Per-clone `authFnOut` given to `addClone`. */
  authFnOut: AuthFnOut | undefined;
  private current: RemoteCloneState = 'unreachable';
  private seen: number;
  private unlinked: number;

  constructor(id: string, url: string | null, explicit: boolean, authFnOut?: AuthFnOut) {
    this.id = id;
    this.url = url;
    this.explicit = explicit;
    this.authFnOut = authFnOut;
    this.seen = Date.now();
    this.unlinked = this.seen;
  }

  /**
   * `linked`: a direct link is up; `routed`: reachable through other clones; `connecting`:
   * being dialed; `unreachable`: no path right now.
   */
  get state(): RemoteCloneState {
    return this.current;
  }

  /** Epoch ms when the clone was last linked or reachable. */
  get lastSeen(): number {
    return this.seen;
  }

  /** @internal Epoch ms since when this server has had no direct link to the clone. */
  get unlinkedSince(): number {
    return this.current === 'linked' ? Number.POSITIVE_INFINITY : this.unlinked;
  }

  /** @internal A direct link to this clone is up (or proved alive by its CLONE_SYNC). */
  linkUp(now = Date.now()): void {
    this.move('linked', now);
  }

  /** @internal The direct link closed; a refresh finds any path through other clones. */
  linkDown(): void {
    this.unlinked = Date.now();
    this.move('unreachable');
  }

  /** @internal A dial starts. */
  dialing(): void {
    if (this.current === 'unreachable') this.move('connecting');
  }

  /** @internal A dial failed; `routed` tells whether a path through other clones exists. */
  dialFailed(routed: boolean): void {
    // Another link (the clone dialed in meanwhile) may be up: a failed dial does not hide it.
    if (this.current !== 'linked') this.move(routed ? 'routed' : 'unreachable');
  }

  /** @internal Periodic refresh from the link table and the routes. */
  refresh(linked: boolean, routed: boolean, now: number): void {
    if (linked) this.move('linked', now);
    else if (routed) this.move('routed', now);
    // A dial in progress keeps `connecting` until it succeeds or fails.
    else if (this.current !== 'connecting') this.move('unreachable');
  }

  private move(state: RemoteCloneState, seenAt?: number): void {
    this.current = state;
    if (seenAt !== undefined) this.seen = seenAt;
  }
}
