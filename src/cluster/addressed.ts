/**
 * Clone frames addressed to one clone (frames 50-53: acknowledgements and presence). They
 * travel like relays, along the sender's shortest path; a clone that is not the addressee
 * passes the frame on towards it, never back over the link it came on.
 * @module
 */
import type { CloneAddressedFrame } from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';
import type { RouteTable } from './routes.js';

/** Sends and forwards addressed frames. */
export class AddressedFrames {
  constructor(
    private readonly selfId: string,
    private readonly links: ReadonlyMap<string, CloneLink>,
    private readonly routes: RouteTable,
  ) {}

  /** True when clone `id` can be reached now (a live link or a path through other clones). */
  reachable(id: string): boolean {
    return this.routes.hop(id) !== undefined;
  }

  /** Sends `frame` towards its addressee (`frame[2]`); false when there is no path. */
  send(frame: CloneAddressedFrame): boolean {
    const hop = this.routes.hop(frame[2]);
    if (hop === undefined) return false;
    return this.links.get(hop)?.send(frame) ?? false;
  }

  /**
   * A frame that arrived on `from`: true when it is for this clone; otherwise it is passed on
   * (dropped when the only way on is back, or there is none).
   */
  arrived(from: CloneLink, frame: CloneAddressedFrame): boolean {
    const to = frame[2];
    if (to === this.selfId) return true;
    // A frame of this clone that came back (routes changed while it travelled) stops here.
    if (frame[1] === this.selfId) return false;
    const hop = this.routes.hop(to);
    if (hop !== undefined && hop !== from.peerId) this.links.get(hop)?.send(frame);
    return false;
  }
}
